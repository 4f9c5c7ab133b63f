#include "chaos/schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace fl::chaos {
namespace {

using plan::FaultSpec;
using plan::SelectMode;

constexpr size_t kMaxFirings = 100000;

}  // namespace

Rng fault_rng(uint64_t seed, size_t index) {
  return Rng(seed).fork("faults").fork(std::to_string(index));
}

std::vector<Duration> fire_times(const FaultSpec& f, Duration main, Rng& rng) {
  std::vector<Duration> out;
  const Duration stop = std::min(f.stop.value_or(main), main);
  switch (f.timing) {
    case FaultSpec::Timing::at:
      for (Duration t : f.times.empty() ? std::vector<Duration>{f.at} : f.times) {
        if (t >= Duration(0) && t < main) out.push_back(t);
      }
      break;
    case FaultSpec::Timing::every: {
      if (f.every <= Duration(0)) break;
      const int64_t jitter = f.jitter.count();
      for (Duration nominal = f.start; nominal < stop && out.size() < kMaxFirings;
           nominal += f.every) {
        int64_t shift = 0;
        if (jitter > 0) {
          shift = static_cast<int64_t>(rng.uniform(0, 2 * static_cast<uint64_t>(jitter))) - jitter;
        }
        out.push_back(std::clamp(nominal + Duration(shift), f.start, stop - Duration(1)));
      }
      break;
    }
    case FaultSpec::Timing::poisson: {
      if (!(f.rate > 0)) break;
      double t = std::chrono::duration<double>(f.start).count();
      const double end = std::chrono::duration<double>(stop).count();
      while (out.size() < kMaxFirings) {
        t += -std::log1p(-rng.unit()) / f.rate;
        if (!(t < end)) break;
        out.push_back(std::min(Duration(static_cast<int64_t>(t * 1e9)), stop - Duration(1)));
      }
      break;
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t select_count(SelectMode mode, double percent, size_t n) {
  if (n == 0) return 0;
  size_t k = n;
  switch (mode) {
    case SelectMode::all:
      k = n;
      break;
    case SelectMode::one:
      k = 1;
      break;
    case SelectMode::minority:
      k = std::max<size_t>(1, (n - 1) / 2);
      break;
    case SelectMode::majority:
      k = n / 2 + 1;
      break;
    case SelectMode::percent:
      k = std::max<size_t>(1, static_cast<size_t>(std::ceil(static_cast<double>(n) * percent / 100 -
                                                            1e-9)));
      break;
  }
  return std::min(k, n);
}

std::vector<std::string> select_nodes(const std::vector<std::string>& candidates,
                                      SelectMode mode, double percent, Rng& rng) {
  const size_t k = select_count(mode, percent, candidates.size());
  if (k == candidates.size()) return candidates;
  // A partial Fisher-Yates over the indexes; the chosen ones keep the candidates' order.
  std::vector<size_t> idx(candidates.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  for (size_t i = 0; i < k; ++i) std::swap(idx[i], idx[rng.uniform(i, idx.size() - 1)]);
  std::sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k));
  std::vector<std::string> out;
  for (size_t i = 0; i < k; ++i) out.push_back(candidates[idx[i]]);
  return out;
}

}  // namespace fl::chaos
