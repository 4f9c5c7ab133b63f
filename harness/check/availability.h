// availability: how much of the load succeeded and when it did not. The ok ratio overall (ok
// over completed operations; fail and info count as not ok, and so does an operation the history
// ends before completing) and per second, the longest stretch with no ok completion while
// operations were being attempted, and the time to recover after each run event (a fault, a
// process exit): until the first ok completion of an operation invoked after it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/check/checker.h"

namespace fl::check {

struct AvailabilityOptions {
  // Lowest acceptable overall ok ratio; 0 reports without judging.
  double min_ok_ratio = 0;
};

struct AvailabilityReport {
  Verdict verdict = Verdict::unknown;
  std::string reason;
  // `ok` counts operations the system served: ok ones, and fails it answered on purpose
  // (history::kPreconditionFailed, e.g. a cas that saw another value). `fail` counts the rest
  // of the fails; info includes operations never completed.
  size_t ok = 0, fail = 0, info = 0;
  double ok_ratio = 0;                // ok / (ok + fail + info); 0 with no operations
  struct Second {
    int64_t second = 0;  // the window [second, second + 1) s of the run's clock
    size_t ok = 0;
    size_t total = 0;  // operations that ended in it (or began in it, if they never ended)
  };
  std::vector<Second> per_second;  // every second from the first operation to the last
  // The longest time with no ok completion while operations were in flight or failing: from
  // the first attempt after an ok completion (or the start) to the next ok completion (or the
  // end of the history, then `recovered` is false).
  int64_t longest_unavailable_ns = 0;
  int64_t longest_unavailable_from = 0;
  bool longest_recovered = true;
  struct Recovery {
    RunEvent event;
    std::optional<int64_t> recovered_after_ns;  // nullopt: no ok completion after it
  };
  std::vector<Recovery> recoveries;  // one per run event, in time order
};

AvailabilityReport check_availability(const Input& in, const AvailabilityOptions& opts);
std::string report_json(const AvailabilityReport& report);

// The [[check]] kind "availability" (CheckSpec::min_ok_ratio).
result<std::unique_ptr<Checker>> make_availability_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
