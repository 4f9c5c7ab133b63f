// "Did you mean ...?" for misspelled keys, enum values and template names.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fl::plan {

// The candidate closest to `word` by edit distance (an adjacent swap counts as one edit), if it
// is close enough to be a likely typo: at most 2 edits and fewer edits than `word` has letters.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates);

}  // namespace fl::plan
