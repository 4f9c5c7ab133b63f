// Internal: the pieces of to_json_line, shared by the Writer (which prepends the index under its
// lock and formats the rest outside it).
#pragma once

#include <string>

#include "harness/history/history.h"

namespace fl::history {

// Appends `value` as JSON.
void append_json_value(std::string& out, const Value& v);
// Appends everything after `{"index":N,` up to and including the closing brace.
void append_json_body(std::string& out, const Op& op);

}  // namespace fl::history
