#include "harness/check/quantiles.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "common/units.h"

namespace fl::check {

Quantiles quantiles(std::vector<int64_t>& samples) {
  Quantiles q;
  q.count = samples.size();
  if (samples.empty()) return q;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double p) {
    auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(samples.size())));
    return samples[std::clamp<size_t>(rank, 1, samples.size()) - 1];
  };
  q.min = samples.front();
  q.p50 = at(0.5);
  q.p90 = at(0.9);
  q.p99 = at(0.99);
  q.p999 = at(0.999);
  q.max = samples.back();
  long double sum = 0;
  for (int64_t s : samples) sum += static_cast<long double>(s);
  q.mean = static_cast<double>(sum / static_cast<long double>(samples.size()));
  return q;
}

std::string brief(const Quantiles& q) {
  auto d = [](int64_t ns) { return format_duration_brief(Duration(ns)); };
  return fmt::format("p50 {} p99 {} max {}", d(q.p50), d(q.p99), d(q.max));
}

}  // namespace fl::check
