// perf: throughput and latency of a history. Throughput is ok operations per second over the
// span from the first invoke to the last completion; latency is invoke-to-completion time of ok
// operations, as exact quantiles (every sample sorted), per operation kind (f) and overall.
// Operations invoked after the "phase.final-reads" event (when Input::events has one) are left
// out: the final reads check data, they are not part of the measured load.
// Always valid unless the history has no operations (unknown); gates come later.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/check/checker.h"
#include "harness/check/quantiles.h"

namespace fl::check {

struct PerfReport {
  Verdict verdict = Verdict::unknown;
  std::string reason;
  int64_t span_ns = 0;    // first invoke to last completion
  double throughput = 0;  // ok operations per second over the span
  struct PerF {
    std::string f;  // "read", "write", ...; "" for the overall line
    size_t ok = 0, fail = 0, info = 0;
    double throughput = 0;
    Quantiles latency;  // of ok operations
  };
  PerF overall;
  std::vector<PerF> by_f;  // sorted by f
};

PerfReport check_perf(const Input& in);
std::string report_json(const PerfReport& report);

// The [[check]] kind "perf".
result<std::unique_ptr<Checker>> make_perf_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
