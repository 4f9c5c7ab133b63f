#include "harness/check/models.h"

#include <fmt/core.h>

#include <algorithm>

namespace fl::check::lin {
namespace {

using history::CompactOp;
using history::Type;

std::string_view fname(const history::Compact& h, const CompactOp& co) { return h.functions[co.f]; }

}  // namespace

std::string unknown_f(const history::Compact& h, const CompactOp& co, std::string_view model,
                      std::string_view expected) {
  return fmt::format("model {}: op index {} has f '{}'; expected {}", model, co.invoke,
                     fname(h, co), expected);
}

// ---- register / cas-register ----

RegisterModel::RegisterModel(const history::Compact& h, bool cas, std::string_view name)
    : h_(h), cas_(cas), name_(name) {}

bool RegisterModel::convert(const CompactOp& co, POpK& out, std::string& error) const {
  std::string_view f = fname(h_, co);
  out.op = POp{co.call, co.ret, 0, co.a, co.b, co.out};
  if (f == "read" || f == "get") {
    if (co.outcome != Type::ok) return false;  // a read that failed or timed out observed nothing
    out.kind = kRead;
    return true;
  }
  if (f == "write" || f == "put") {
    if (co.outcome == Type::fail) return false;
    out.kind = kWrite;
    return true;
  }
  if (cas_ && f == "cas") {
    if (!co.pair) {
      error = fmt::format("model {}: op index {}: a cas value must be [expected, new]", name_,
                          co.invoke);
      return false;
    }
    out.kind = co.outcome == Type::ok ? kCasOk : co.outcome == Type::fail ? kCasFail : kCasUnknown;
    return true;
  }
  error = unknown_f(h_, co, name_, cas_ ? "read, write or cas" : "read or write");
  return false;
}

bool RegisterModel::make_pending(POpK& op) const {
  op.op.ret = history::kNever;
  if (op.kind == kRead) return false;
  if (op.kind == kCasOk || op.kind == kCasFail) op.kind = kCasUnknown;
  return true;
}

// ---- kv-append ----

KvAppendModel::KvAppendModel(const history::Compact& h) : h_(h) { intern(""); }

uint32_t KvAppendModel::intern(const std::string& s) {
  auto [it, fresh] = ids_.try_emplace(s, static_cast<uint32_t>(strs_.size()));
  if (fresh) strs_.push_back(s);
  return it->second;
}

uint32_t KvAppendModel::intern_value(uint32_t value_id) {
  const history::Value& v = h_.values[value_id];
  if (v.is_null()) return 0;  // an absent key reads as ""
  if (v.kind == history::Value::Kind::string) return intern(v.string);
  return intern(history::to_string(v));
}

bool KvAppendModel::convert(const CompactOp& co, POpK& out, std::string& error) {
  std::string_view f = fname(h_, co);
  out.op = POp{co.call, co.ret, 0, 0, 0, 0};
  if (f == "get" || f == "read") {
    if (co.outcome != Type::ok) return false;
    out.kind = kRead;
    out.op.out = intern_value(co.out);
    return true;
  }
  if (f == "put" || f == "write" || f == "append") {
    if (co.outcome == Type::fail) return false;
    out.kind = f == "append" ? kAppend : kWrite;
    out.op.a = intern_value(co.a);
    return true;
  }
  error = unknown_f(h_, co, "kv-append", "get, put or append");
  return false;
}

bool KvAppendModel::make_pending(POpK& op) const {
  op.op.ret = history::kNever;
  return op.kind != kRead;
}

// ---- set ----

SetModel::SetModel(const history::Compact& h)
    : h_(h), fresh_(static_cast<uint32_t>(h.values.size())) {}

bool SetModel::convert(const CompactOp& co, POpK& out, std::string& error) {
  std::string_view f = fname(h_, co);
  out.op = POp{co.call, co.ret, 0, co.a, 0, 0};
  if (f == "add") {
    if (co.outcome == Type::fail) return false;
    out.kind = kAdd;
    return true;
  }
  if (f == "read") {
    if (co.outcome != Type::ok) return false;
    const history::Value& v = h_.values[co.out];
    if (!v.is_null() && v.kind != history::Value::Kind::list) {
      error =
          fmt::format("model set: op index {}: a read must return a list of elements", co.invoke);
      return false;
    }
    std::vector<uint32_t> elems;
    for (const auto& e : v.list) {
      uint32_t id = h_.values.find(e);
      elems.push_back(id == history::kNoPosition ? fresh_++ : id);
    }
    std::sort(elems.begin(), elems.end());
    elems.erase(std::unique(elems.begin(), elems.end()), elems.end());
    out.kind = kRead;
    out.op.out = sets_.intern(elems);
    return true;
  }
  error = unknown_f(h_, co, "set", "add or read");
  return false;
}

bool SetModel::make_pending(POpK& op) const {
  op.op.ret = history::kNever;
  return op.kind != kRead;
}

bool SetModel::step(uint32_t s, const POp& op, Kind kind, uint32_t& next) {
  if (kind == kRead) {
    next = op.out;
    return s == kAny || s == op.out;
  }
  if (s == kAny) {
    next = kAny;
    return true;
  }
  next = memo_.get(s, op.a, [&] {
    std::vector<uint32_t> elems = sets_[s];
    auto it = std::lower_bound(elems.begin(), elems.end(), op.a);
    if (it == elems.end() || *it != op.a) elems.insert(it, op.a);
    return sets_.intern(elems);
  });
  return true;
}

// ---- fifo-queue ----

FifoQueueModel::FifoQueueModel(const history::Compact& h) : h_(h) {}

bool FifoQueueModel::convert(const CompactOp& co, POpK& out, std::string& error) {
  std::string_view f = fname(h_, co);
  out.op = POp{co.call, co.ret, 0, co.a, 0, co.out};
  if (f == "enqueue") {
    if (co.outcome == Type::fail) return false;
    out.kind = kEnqueue;
    return true;
  }
  if (f == "dequeue") {
    if (co.outcome == Type::fail) return false;
    out.kind = co.outcome == Type::ok ? kDequeue : kDequeueUnknown;
    return true;
  }
  error = unknown_f(h_, co, "fifo-queue", "enqueue or dequeue");
  return false;
}

bool FifoQueueModel::make_pending(POpK& op) const {
  op.op.ret = history::kNever;
  if (op.kind == kDequeue) op.kind = kDequeueUnknown;
  return true;
}

bool FifoQueueModel::step(uint32_t s, const POp& op, Kind kind, uint32_t& next) {
  if (s == kAny) {
    next = kAny;
    return true;
  }
  if (kind == kEnqueue) {
    next = push_.get(s, op.a, [&] {
      std::vector<uint32_t> q = seqs_[s];
      q.push_back(op.a);
      return seqs_.intern(q);
    });
    return true;
  }
  const std::vector<uint32_t>& q = seqs_[s];
  if (q.empty()) {
    next = s;
    return kind == kDequeueUnknown || op.out == 0;
  }
  if (kind == kDequeue && q.front() != op.out) return false;
  auto it = pop_.find(s);
  if (it != pop_.end()) {
    next = it->second;
  } else {
    next = seqs_.intern(std::vector<uint32_t>(q.begin() + 1, q.end()));
    pop_.emplace(s, next);
  }
  return true;
}

}  // namespace fl::check::lin
