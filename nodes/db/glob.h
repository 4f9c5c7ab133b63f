// Redis-style glob matching for SCAN/SSCAN MATCH and CONFIG GET: `*`, `?`, `[abc]`, `[^a-z]`
// and backslash escapes.
#pragma once

#include <string_view>

namespace fl::db {

// True when `text` matches `pattern` as a whole. Runs in O(|pattern| * |text|) worst case.
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false) noexcept;

}  // namespace fl::db
