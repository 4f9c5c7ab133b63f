#include "harness/check/paired.h"

#include <fmt/core.h>

#include <unordered_map>

namespace fl::check {

const history::Value& PairedOp::out() const {
  static const history::Value kNull;
  return completion ? completion->value : kNull;
}

result<std::vector<PairedOp>> pair_ops(const std::vector<history::Op>& ops) {
  std::vector<PairedOp> out;
  out.reserve(ops.size() / 2 + 1);
  std::unordered_map<int64_t, size_t> pending;  // process -> position in `out`
  auto err = [](const history::Op& op, std::string_view what) {
    return Error(errc::parse_error,
                 fmt::format("op index {} (process {}, {} {}): {}", op.index, op.process,
                             history::to_string(op.type), op.f, what));
  };
  for (const auto& op : ops) {
    if (op.process == history::kNemesis) continue;
    if (op.type == history::Type::invoke) {
      auto [it, fresh] = pending.try_emplace(op.process, out.size());
      if (!fresh) {
        return err(op, fmt::format("invoked while the op at index {} is still pending",
                                   out[it->second].invoke->index));
      }
      PairedOp p;
      p.invoke = &op;
      p.call = op.time;
      out.push_back(p);
      continue;
    }
    auto it = pending.find(op.process);
    if (it == pending.end()) return err(op, "a completion with no pending invoke");
    PairedOp& p = out[it->second];
    if (op.f != p.invoke->f) {
      return err(op, fmt::format("completes an invoke of f '{}'", p.invoke->f));
    }
    if (op.time < p.call) return err(op, "completes earlier than its invoke");
    p.completion = &op;
    p.outcome = op.type;
    p.ret = op.time;
    pending.erase(it);
  }
  return out;
}

}  // namespace fl::check
