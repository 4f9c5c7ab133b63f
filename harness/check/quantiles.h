// Exact latency quantiles of a list of durations, the form perf and set-full report them in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fl::check {

struct Quantiles {
  size_t count = 0;
  int64_t min = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;  // nanoseconds
  double mean = 0;
};

// Sorts `samples` and reads the quantiles off it by nearest rank (the smallest sample with at
// least q of all samples at or below it). All zero for no samples.
Quantiles quantiles(std::vector<int64_t>& samples);

// "p50 1.2ms p99 8ms max 31ms" for summaries.
std::string brief(const Quantiles& q);

}  // namespace fl::check
