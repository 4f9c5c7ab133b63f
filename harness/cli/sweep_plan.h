// What `faultline sweep` does to a plan's text before each run: one key set to one value.
#pragma once

#include "common/error.h"

#include <string>
#include <string_view>
#include <vector>

namespace fl::cli {

// "1,2,4" -> {"1", "2", "4"}; empty parts are kept (the caller refuses them).
std::vector<std::string> split_values(std::string_view list);

// The plan `toml_text` with the dotted `key` set to `value`, as TOML text (comments and the
// original layout are not kept; keys come out sorted). The value takes the type the key has in
// the plan (integer, float, boolean or string: "two" for an integer key is an error); a key the
// plan does not have is added as an integer, float or boolean when the value reads as one, else
// a string, and missing tables on its path are created. An element of an array of tables is
// named by its index ("workload.1.rate"). Errors: TOML syntax, a path through a value, an
// array element not named by an index, a value of the wrong type. The result is not validated
// as a plan: load it with plan::load_plan_string / load_plan_file.
result<std::string> with_key_set(std::string_view toml_text, std::string_view key,
                                 std::string_view value);

}  // namespace fl::cli
