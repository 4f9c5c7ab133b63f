#include "harness/check/paired.h"

namespace fl::check {

result<std::vector<PairedOp>> pair_ops(const history::Compact& h) {
  std::vector<PairedOp> out;
  out.reserve(h.ops.size());
  for (const auto& op : h.ops) out.emplace_back(h, op);
  return out;
}

}  // namespace fl::check
