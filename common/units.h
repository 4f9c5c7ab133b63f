// Parsing and printing of the human units used in plans: durations ("250ms", "1.5s", "2m") and
// sizes ("64MiB", "1GB"). Errors say what was wrong and which units are accepted.
#pragma once

#include "common/error.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace fl {

using Duration = std::chrono::nanoseconds;

// Accepts a non-negative decimal number followed by a unit: ns, us (or µs), ms, s, m, h.
// Compound forms such as "1m30s" are accepted too. The result is rounded to whole nanoseconds.
result<Duration> parse_duration(std::string_view text);

// Accepts a non-negative decimal number with an optional unit: B, KB, MB, GB, TB (powers of
// 1000) or KiB, MiB, GiB, TiB (powers of 1024); no unit means bytes. The result must be a
// whole number of bytes that fits in 64 bits.
result<uint64_t> parse_size(std::string_view text);

// "250ms", "1.5s", "2m", "1h30m": the shortest exact form parse_duration accepts back.
std::string format_duration(Duration d);
// For people, not round trips: three significant digits in the largest fitting unit
// ("70.2us", "4.87ms", "12.1s", "850ns").
std::string format_duration_brief(Duration d);
// "64MiB", "1GB", "1234B": exact when possible, else one decimal ("1.5KiB").
std::string format_size(uint64_t bytes);

}  // namespace fl
