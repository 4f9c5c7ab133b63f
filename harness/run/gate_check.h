// Fixed gates judged on a finished run: each [gates] limit (and `faultline run --gate`) against
// the run's main-phase metrics (report::metric_value).
#pragma once

#include <vector>

#include "harness/plan/gates.h"
#include "harness/report/results.h"

namespace fl::run {

// One outcome per fixed gate, in order: the value measured, whether it met the limit, and a
// one-line summary ("p99 11.5ms, limit < 5ms: missed"). A gate whose metric the run does not
// have (no main phase for it) is missed with value NaN: a limit nobody measured is not met.
// Regression gates are skipped (they belong to `faultline compare`).
std::vector<report::GateOutcome> evaluate_gates(const report::RunReport& r,
                                                const std::vector<plan::Gate>& gates);

}  // namespace fl::run
