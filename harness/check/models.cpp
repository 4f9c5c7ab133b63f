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
  if (f == "write" || f == "put" || f == "set") {
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
    if (co.refused) return false;  // refused up front: it observed nothing
    out.kind = co.outcome == Type::ok ? kCasOk : co.outcome == Type::fail ? kCasFail : kCasUnknown;
    return true;
  }
  error = unknown_f(
      h_, co, name_,
      cas_ ? "read (or get), write (or put, set) or cas" : "read (or get) or write (or put, set)");
  return false;
}

bool RegisterModel::make_pending(POpK& op) const {
  op.op.ret = history::kNever;
  if (op.kind == kRead) return false;
  if (op.kind == kCasOk || op.kind == kCasFail) op.kind = kCasUnknown;
  return true;
}

// ---- kv-append ----

namespace {

constexpr uint64_t kMod = (uint64_t{1} << 61) - 1;
constexpr uint64_t kBase = 1'000'003;

uint64_t mulmod(uint64_t a, uint64_t b) {
  __extension__ using u128 = unsigned __int128;
  u128 p = static_cast<u128>(a) * b;
  uint64_t lo = static_cast<uint64_t>(p & kMod);
  uint64_t hi = static_cast<uint64_t>(p >> 61);
  uint64_t r = lo + hi;
  return r >= kMod ? r - kMod : r;
}

uint64_t addmod(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r >= kMod ? r - kMod : r;
}

}  // namespace

KvAppendModel::KvAppendModel(const history::Compact& h) : h_(h) {
  pieces_.emplace_back();
  piece_hash_.push_back(0);
  piece_pow_.push_back(1);
  root(0);  // state 0: ""
}

uint32_t KvAppendModel::piece_of(uint32_t value_id) {
  auto [it, fresh] = piece_of_value_.try_emplace(value_id, static_cast<uint32_t>(pieces_.size()));
  if (!fresh) return it->second;
  const history::Value& v = h_.values[value_id];
  std::string s = v.is_null() ? std::string()  // an absent key reads as ""
                  : v.kind == history::Value::Kind::string ? v.string
                                                           : history::to_string(v);
  uint64_t hash = 0, pow = 1;
  for (unsigned char c : s) {
    hash = addmod(mulmod(hash, kBase), c + 1u);
    pow = mulmod(pow, kBase);
  }
  pieces_.push_back(std::move(s));
  piece_hash_.push_back(hash);
  piece_pow_.push_back(pow);
  return it->second;
}

std::string KvAppendModel::materialize(uint32_t state) const {
  std::vector<uint32_t> chain;
  for (uint32_t s = state; s != kRoot; s = nodes_[s].parent) chain.push_back(nodes_[s].piece);
  std::string out;
  out.reserve(nodes_[state].len);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) out += pieces_[*it];
  return out;
}

uint32_t KvAppendModel::add(const Node& n) {
  uint64_t key = n.hash ^ (uint64_t{n.len} * 0x9e3779b97f4a7c15ULL);
  const uint32_t* head = by_hash_.find(key);
  Node node = n;
  node.same = head ? *head : kRoot;
  if (head) {
    // Same hash and length: compare the strings themselves.
    nodes_.push_back(node);
    std::string mine = materialize(static_cast<uint32_t>(nodes_.size() - 1));
    nodes_.pop_back();
    for (uint32_t id = *head; id != kRoot; id = nodes_[id].same) {
      if (nodes_[id].len == n.len && materialize(id) == mine) return id;
    }
  }
  auto id = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back(node);
  by_hash_.put(key, id);
  return id;
}

uint32_t KvAppendModel::root(uint32_t piece) {
  return add(
      Node{piece_hash_[piece], static_cast<uint32_t>(pieces_[piece].size()), kRoot, piece, kRoot});
}

uint32_t KvAppendModel::append(uint32_t s, uint32_t piece) {
  if (pieces_[piece].empty()) return s;
  const Node& base = nodes_[s];
  return add(Node{addmod(mulmod(base.hash, piece_pow_[piece]), piece_hash_[piece]),
                  base.len + static_cast<uint32_t>(pieces_[piece].size()), s, piece, kRoot});
}

bool KvAppendModel::may_reach(uint32_t s, const POp& op) {
  if (s == kAny) return true;
  const Node& node = nodes_[s];
  const Node& target = nodes_[op.out];
  if (node.len > target.len) return false;
  if (node.len == target.len) return s == op.out;
  auto [it, fresh] = prefixes_.try_emplace(op.out);
  if (fresh) {
    std::string str = materialize(op.out);
    it->second.reserve(str.size() + 1);
    uint64_t h = 0;
    it->second.push_back(h);
    for (unsigned char c : str) {
      h = addmod(mulmod(h, kBase), c + 1u);
      it->second.push_back(h);
    }
    prefix_bytes_ += it->second.capacity() * sizeof(uint64_t) + 64;
  }
  return it->second[node.len] == node.hash;
}

bool KvAppendModel::convert(const CompactOp& co, POpK& out, std::string& error) {
  std::string_view f = fname(h_, co);
  out.op = POp{co.call, co.ret, 0, 0, 0, 0};
  if (f == "get" || f == "read") {
    if (co.outcome != Type::ok) return false;
    out.kind = kRead;
    out.op.out = root(piece_of(co.out));
    return true;
  }
  if (f == "put" || f == "write") {
    if (co.outcome == Type::fail) return false;
    out.kind = kWrite;
    out.op.a = root(piece_of(co.a));
    return true;
  }
  if (f == "append") {
    if (co.outcome == Type::fail) return false;
    out.kind = kAppend;
    out.op.a = piece_of(co.a);
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

bool SetModel::may_reach(uint32_t s, const POp& op) const {
  if (s == kAny) return true;
  const auto& have = sets_[s];
  const auto& want = sets_[op.out];
  return have.size() <= want.size() &&
         std::includes(want.begin(), want.end(), have.begin(), have.end());
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
