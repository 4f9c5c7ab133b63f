#include "harness/history/compact.h"

#include <fmt/core.h>

namespace fl::history {

static_assert(sizeof(CompactOp) == 48, "CompactOp: keep it small, the checker walks arrays of it");

ValueTable::ValueTable() {
  values_.push_back(Value::null());
  ids_.emplace("null", 0);
}

uint32_t ValueTable::intern(const Value& v) {
  if (v.is_null()) return 0;
  auto [it, inserted] = ids_.try_emplace(to_string(v), static_cast<uint32_t>(values_.size()));
  if (inserted) values_.push_back(v);
  return it->second;
}

uint32_t ValueTable::find(const Value& v) const {
  if (v.is_null()) return 0;
  auto it = ids_.find(to_string(v));
  return it == ids_.end() ? kNoPosition : it->second;
}

result<Compact> compact(const std::vector<Op>& ops) {
  Compact c;
  c.keys.push_back("");
  std::unordered_map<std::string, uint32_t> key_ids;
  std::unordered_map<std::string, uint16_t> f_ids;
  // Process -> position in c.ops of its pending operation.
  std::unordered_map<int64_t, uint32_t> pending;
  c.ops.reserve(ops.size() / 2 + 1);

  auto err = [](const Op& op, std::string msg) {
    return Error(errc::parse_error, fmt::format("op index {} (process {}, {} {}): {}", op.index,
                                                op.process, to_string(op.type), op.f, msg));
  };

  if (ops.size() >= kNoPosition) {
    return Error(errc::limit_exceeded, "history has more than 4 billion ops");
  }
  for (uint32_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.process == kNemesis) {
      ++c.nemesis_ops;
      continue;
    }
    if (op.process < 0 || op.process > INT32_MAX) return err(op, "process id out of range");
    if (op.type == Type::invoke) {
      auto [it, fresh] = pending.try_emplace(op.process, static_cast<uint32_t>(c.ops.size()));
      if (!fresh) {
        return err(op, fmt::format("process {} invoked while its op at index {} is still pending",
                                   op.process, ops[c.ops[it->second].invoke].index));
      }
      CompactOp co;
      co.call = op.time;
      co.process = static_cast<int32_t>(op.process);
      co.invoke = i;
      if (op.key) {
        auto [kit, knew] = key_ids.try_emplace(*op.key, static_cast<uint32_t>(c.keys.size()));
        if (knew) c.keys.push_back(*op.key);
        co.key = kit->second;
      }
      auto [fit, fnew] = f_ids.try_emplace(op.f, static_cast<uint16_t>(c.functions.size()));
      if (fnew) {
        if (c.functions.size() >= UINT16_MAX) return err(op, "more than 65535 distinct f names");
        c.functions.push_back(op.f);
      }
      co.f = fit->second;
      if (op.f == "cas" && op.value.kind == Value::Kind::list && op.value.list.size() == 2) {
        co.a = c.values.intern(op.value.list[0]);
        co.b = c.values.intern(op.value.list[1]);
        co.pair = true;
      } else {
        co.a = c.values.intern(op.value);
      }
      c.ops.push_back(co);
      continue;
    }
    auto it = pending.find(op.process);
    if (it == pending.end()) return err(op, "completion without a pending invoke");
    CompactOp& co = c.ops[it->second];
    pending.erase(it);
    if (c.functions[co.f] != op.f) {
      return err(op, fmt::format("completes a '{}' invoke with f '{}'", c.functions[co.f], op.f));
    }
    if (op.time < co.call) return err(op, "completes before its invoke (time goes backwards)");
    co.complete = i;
    co.outcome = op.type;
    co.refused = op.type == Type::fail && !op.error.empty() && op.error != kPreconditionFailed;
    co.ret = op.type == Type::info ? kNever : op.time;
    co.out = op.type == Type::info ? 0 : c.values.intern(op.value);
  }
  return c;
}

}  // namespace fl::history
