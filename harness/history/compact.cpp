#include "harness/history/compact.h"

#include <fmt/core.h>

#include <functional>
#include <mutex>

namespace fl::history {

static_assert(sizeof(CompactOp) <= 64, "CompactOp: keep it small, the checker walks arrays of it");

namespace {

uint64_t mix(uint64_t h, uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

uint64_t hash_value(const Value& v) {
  uint64_t h = static_cast<uint64_t>(v.kind) + 1;
  switch (v.kind) {
    case Value::Kind::null:
      break;
    case Value::Kind::integer:
      h = mix(h, static_cast<uint64_t>(v.integer) * 0xff51afd7ed558ccdULL);
      break;
    case Value::Kind::string:
      h = mix(h, std::hash<std::string_view>{}(v.string));
      break;
    case Value::Kind::list:
      h = mix(h, v.list.size());
      for (const auto& e : v.list) h = mix(h, hash_value(e));
      break;
  }
  return h;
}

}  // namespace

struct ValueTable::IntCache {
  std::mutex mu;
  std::unordered_map<uint32_t, Value> values;  // node-based: references stay valid
};

ValueTable::ValueTable() : slots_(64, kNoPosition), ints_(std::make_unique<IntCache>()) {
  kinds_.push_back(Value::Kind::null);
  data_.push_back(0);
  others_.push_back(Value::null());
}

ValueTable::ValueTable(const ValueTable& o)
    : kinds_(o.kinds_),
      data_(o.data_),
      others_(o.others_),
      slots_(o.slots_),
      ints_(std::make_unique<IntCache>()) {}

ValueTable& ValueTable::operator=(const ValueTable& o) {
  if (this != &o) *this = ValueTable(o);
  return *this;
}

ValueTable::ValueTable(ValueTable&&) noexcept = default;
ValueTable& ValueTable::operator=(ValueTable&&) noexcept = default;
ValueTable::~ValueTable() = default;

const Value& ValueTable::operator[](uint32_t id) const {
  if (kinds_[id] != Value::Kind::integer) return others_[static_cast<size_t>(data_[id])];
  std::lock_guard lock(ints_->mu);
  auto [it, fresh] = ints_->values.try_emplace(id);
  if (fresh) it->second = Value::of(data_[id]);
  return it->second;
}

bool ValueTable::equals(uint32_t id, const Value& v) const {
  if (kinds_[id] != v.kind) return false;
  if (v.kind == Value::Kind::integer) return data_[id] == v.integer;
  return others_[static_cast<size_t>(data_[id])] == v;
}

uint64_t ValueTable::hash_of(uint32_t id) const {
  if (kinds_[id] == Value::Kind::integer) return hash_value(Value::of(data_[id]));
  return hash_value(others_[static_cast<size_t>(data_[id])]);
}

size_t ValueTable::slot_of(const Value& v, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  size_t i = static_cast<size_t>(hash) & mask;
  while (slots_[i] != kNoPosition && !equals(slots_[i], v)) i = (i + 1) & mask;
  return i;
}

void ValueTable::grow() {
  std::vector<uint32_t> old = std::move(slots_);
  slots_.assign(old.size() * 2, kNoPosition);
  const size_t mask = slots_.size() - 1;
  for (uint32_t id : old) {
    if (id == kNoPosition) continue;
    size_t i = static_cast<size_t>(hash_of(id)) & mask;
    while (slots_[i] != kNoPosition) i = (i + 1) & mask;
    slots_[i] = id;
  }
}

template <class V>
uint32_t ValueTable::intern_impl(V&& v) {
  if (v.is_null()) return 0;
  const uint64_t h = hash_value(v);
  size_t i = slot_of(v, h);
  if (slots_[i] != kNoPosition) return slots_[i];
  const auto id = static_cast<uint32_t>(kinds_.size());
  kinds_.push_back(v.kind);
  if (v.kind == Value::Kind::integer) {
    data_.push_back(v.integer);
  } else {
    data_.push_back(static_cast<int64_t>(others_.size()));
    others_.push_back(std::forward<V>(v));
  }
  slots_[i] = id;
  // Load at most 1/2 (the null value, id 0, has no slot).
  if (2 * kinds_.size() > slots_.size()) grow();
  return id;
}

uint32_t ValueTable::intern(const Value& v) { return intern_impl(v); }
uint32_t ValueTable::intern(Value&& v) { return intern_impl(std::move(v)); }

uint32_t ValueTable::find(const Value& v) const {
  if (v.is_null()) return 0;
  size_t i = slot_of(v, hash_value(v));
  return slots_[i];
}

Value invoke_value(const Compact& c, const CompactOp& op) {
  if (op.pair) return Value::of(std::vector<Value>{c.values[op.a], c.values[op.b]});
  return c.values[op.a];
}

Op invoke_op(const Compact& c, const CompactOp& co) {
  Op op;
  op.index = co.invoke;
  op.time = co.call;
  op.process = co.process;
  op.type = Type::invoke;
  op.f = c.functions[co.f];
  if (co.key != 0) op.key = c.keys[co.key];
  op.value = invoke_value(c, co);
  return op;
}

std::optional<Op> completion_op(const Compact& c, const CompactOp& co) {
  if (!co.completed()) return std::nullopt;
  Op op;
  op.index = co.complete();
  op.time = co.done;
  op.process = co.process;
  op.type = co.outcome;
  op.f = c.functions[co.f];
  if (co.key != 0) op.key = c.keys[co.key];
  op.value = co.echo ? invoke_value(c, co) : c.values[co.out];
  op.error = c.errors[co.error];
  return op;
}

CompactBuilder::CompactBuilder() {
  c_.keys.push_back("");
  c_.errors.push_back("");
}

std::optional<Error> CompactBuilder::add(const Op& op) {
  const int64_t index = op.index >= 0 ? op.index : position_;
  ++position_;
  auto err = [&](std::string msg) {
    return Error(errc::parse_error, fmt::format("op index {} (process {}, {} {}): {}", op.index,
                                                op.process, to_string(op.type), op.f, msg));
  };
  if (op.process == kNemesis) {
    ++c_.nemesis_ops;
    return std::nullopt;
  }
  if (op.process < 0 || op.process > INT32_MAX) return err("process id out of range");
  if (op.type == Type::invoke) {
    if (c_.ops.size() >= kNoPosition - 1) {
      return Error(errc::limit_exceeded, "history has more than 4 billion ops");
    }
    auto [it, fresh] = pending_.try_emplace(op.process, static_cast<uint32_t>(c_.ops.size()));
    if (!fresh) {
      return err(fmt::format("process {} invoked while its op at index {} is still pending",
                             op.process, c_.ops[it->second].invoke));
    }
    CompactOp co;
    co.call = op.time;
    co.process = static_cast<int32_t>(op.process);
    co.invoke = index;
    if (op.key) {
      auto [kit, knew] = key_ids_.try_emplace(*op.key, static_cast<uint32_t>(c_.keys.size()));
      if (knew) c_.keys.push_back(*op.key);
      co.key = kit->second;
    }
    auto [fit, fnew] = f_ids_.try_emplace(op.f, static_cast<uint16_t>(c_.functions.size()));
    if (fnew) {
      if (c_.functions.size() >= UINT16_MAX) {
        f_ids_.erase(fit);
        return err("more than 65535 distinct f names");
      }
      c_.functions.push_back(op.f);
    }
    co.f = fit->second;
    if (op.f == "cas" && op.value.kind == Value::Kind::list && op.value.list.size() == 2) {
      co.a = c_.values.intern(op.value.list[0]);
      co.b = c_.values.intern(op.value.list[1]);
      co.pair = true;
    } else {
      co.a = c_.values.intern(op.value);
    }
    c_.ops.push_back(co);
    return std::nullopt;
  }
  auto it = pending_.find(op.process);
  if (it == pending_.end()) return err("completion without a pending invoke");
  CompactOp& co = c_.ops[it->second];
  if (c_.functions[co.f] != op.f) {
    return err(fmt::format("completes a '{}' invoke with f '{}'", c_.functions[co.f], op.f));
  }
  if (op.time < co.call) return err("completes before its invoke (time goes backwards)");
  if (index <= co.invoke || index - co.invoke >= int64_t{UINT32_MAX}) {
    return err(fmt::format("index must come after its invoke's ({}) and within 4 billion of it",
                           co.invoke));
  }
  pending_.erase(it);
  co.complete_gap = static_cast<uint32_t>(index - co.invoke);
  co.outcome = op.type;
  co.refused = op.type == Type::fail && !op.error.empty() && op.error != kPreconditionFailed;
  co.precondition = op.type == Type::fail && op.error == kPreconditionFailed;
  co.done = op.time;
  co.ret = op.type == Type::info ? kNever : op.time;
  co.echo = co.pair && op.type != Type::info && op.value.kind == Value::Kind::list &&
            op.value.list.size() == 2 && c_.values.find(op.value.list[0]) == co.a &&
            c_.values.find(op.value.list[1]) == co.b;
  co.out = op.type == Type::info || co.echo ? 0 : c_.values.intern(op.value);
  if (!op.error.empty()) {
    auto [eit, enew] = error_ids_.try_emplace(op.error, static_cast<uint32_t>(c_.errors.size()));
    if (enew) c_.errors.push_back(op.error);
    co.error = eit->second;
  }
  return std::nullopt;
}

Compact CompactBuilder::finish() && {
  key_ids_.clear();
  f_ids_.clear();
  error_ids_.clear();
  pending_.clear();
  return std::move(c_);
}

result<Compact> compact(const std::vector<Op>& ops) {
  CompactBuilder b;
  b.reserve(ops.size() / 2 + 1);
  for (const Op& op : ops) {
    if (auto e = b.add(op)) return *e;
  }
  return std::move(b).finish();
}

}  // namespace fl::history
