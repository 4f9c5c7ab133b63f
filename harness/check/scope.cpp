#include "harness/check/scope.h"

#include "harness/plan/plan.h"

namespace fl::check {

history::Compact workload_ops(const history::Compact& h, size_t index, size_t count) {
  history::Compact out;
  out.keys = h.keys;
  out.functions = h.functions;
  out.errors = h.errors;
  out.values = h.values;
  out.nemesis_ops = h.nemesis_ops;
  for (const auto& op : h.ops) {
    if (plan::workload_owns_process(index, count, op.process)) out.ops.push_back(op);
  }
  return out;
}

}  // namespace fl::check
