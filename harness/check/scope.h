// The part of a run's history one [[check]] judges. Workloads running side by side use disjoint
// history process ids (plan::workload_process), so a check scoped to one workload is given only
// that workload's operations.
#pragma once

#include <cstddef>

#include "harness/history/compact.h"

namespace fl::check {

// A copy of `h` holding only the operations of workload `index` of `count`
// (plan::workload_owns_process); keys, functions, errors and values are kept whole, so ids stay
// valid. REQUIRES: index < count.
history::Compact workload_ops(const history::Compact& h, size_t index, size_t count);

}  // namespace fl::check
