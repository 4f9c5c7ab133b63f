#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "harness/load/runner.h"
#include "harness/load/workload.h"

namespace fl::load {
namespace {

Error invalid(std::string msg) { return Error(errc::invalid_argument, std::move(msg)); }

}  // namespace

result<void> validate(const plan::WorkloadSpec& spec) {
  const WorkloadKind* kind = find_workload(spec.kind);
  if (!kind) {
    std::string known;
    for (const auto& k : workload_kinds())
      known += fmt::format("{}{}", known.empty() ? "" : ", ", k.name);
    return invalid(fmt::format("workload kind '{}' is unknown (known: {})", spec.kind, known));
  }
  double total = 0;
  for (const auto& [name, weight] : spec.mix) {
    if (std::find(kind->operations.begin(), kind->operations.end(), name) ==
        kind->operations.end()) {
      std::string ops;
      for (auto op : kind->operations) ops += fmt::format("{}{}", ops.empty() ? "" : ", ", op);
      return invalid(fmt::format("mix: '{}' is not an operation of the {} workload ({})", name,
                                 spec.kind, ops));
    }
    if (!std::isfinite(weight) || weight < 0) {
      return invalid(fmt::format("mix: the weight of '{}' must be a non-negative number", name));
    }
    total += weight;
  }
  if (!spec.mix.empty() && !(total > 0))
    return invalid("mix: at least one weight must be positive");
  if (spec.mode == plan::LoadMode::open && !(std::isfinite(spec.rate) && spec.rate > 0)) {
    return invalid("rate must be a positive number of operations per second");
  }
  if (spec.rate > 10'000'000) return invalid("rate must be at most 10000000 operations per second");
  if (spec.concurrency < 1 || spec.concurrency > 100'000) {
    return invalid("concurrency must be between 1 and 100000");
  }
  if (spec.connections < 0 || spec.connections > 10'000) {
    return invalid("connections must be between 0 (one per process, up to 64) and 10000");
  }
  if (spec.pipeline < 1 || spec.pipeline > 100'000)
    return invalid("pipeline must be between 1 and 100000");
  if (spec.keys < 1) return invalid("keys must be at least 1");
  if (spec.distribution == plan::KeyDistribution::zipfian ||
      spec.distribution == plan::KeyDistribution::latest) {
    if (!(std::isfinite(spec.skew) && spec.skew > 0))
      return invalid("skew must be a positive number");
  }
  if (spec.distribution == plan::KeyDistribution::hotspot) {
    if (!(spec.hot_keys > 0 && spec.hot_keys <= 1)) return invalid("hot_keys must be in (0, 1]");
    if (!(spec.hot_ops >= 0 && spec.hot_ops <= 1)) return invalid("hot_ops must be in [0, 1]");
  }
  if (spec.timeout <= Duration::zero()) return invalid("timeout must be positive");
  if (spec.warmup < Duration::zero()) return invalid("warmup must not be negative");
  if (spec.value_size > 64u * 1024 * 1024) return invalid("value_size must be at most 64MiB");
  return {};
}

}  // namespace fl::load
