// Internal: the sequential models the linearizability search runs. A model's state is a
// uint32_t id (values and composite states are interned, so equal states have equal ids and the
// search hashes and compares 4 bytes). kAny is the "any state" a failing-window search starts
// from: stepping from it is as permissive as the model allows, so a window that fails from kAny
// fails from every real state.
//
// Each model has one instance per key (its intern tables are private to that key's search) and:
//   uint32_t init() const;
//   // Converts a compact op; returns false to drop it (it did not happen or observes nothing),
//   // or sets `error` for an op the model has no meaning for.
//   bool convert(const history::CompactOp& co, POp& out, std::string& error);
//   // The op with its outcome unknown (still running at a cut); false to drop it.
//   bool make_pending(POp& op) const;
//   bool step(uint32_t state, const POp& op, uint32_t& next);
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "harness/history/compact.h"

namespace fl::check::lin {

inline constexpr uint32_t kAny = 0xffffffffu;

// One operation of a key's sub-history in a model's terms. 32 bytes.
struct POp {
  int64_t call = 0;
  int64_t ret = history::kNever;  // kNever: no return entry (info, pending or optional)
  uint32_t src = 0;               // position in Compact::ops
  uint32_t a = 0, b = 0, out = 0;
};

// Interns variable-length sequences of ids (sets as sorted sequences, queues in order).
class SeqTable {
 public:
  SeqTable() { intern({}); }
  uint32_t intern(const std::vector<uint32_t>& seq) {
    std::string key(seq.size() * sizeof(uint32_t), '\0');
    if (!seq.empty()) std::memcpy(key.data(), seq.data(), key.size());
    auto [it, fresh] = ids_.try_emplace(std::move(key), static_cast<uint32_t>(seqs_.size()));
    if (fresh) {
      seqs_.push_back(seq);
      bytes_ += 2 * seq.size() * sizeof(uint32_t) + 96;
    }
    return it->second;
  }
  const std::vector<uint32_t>& operator[](uint32_t id) const { return seqs_[id]; }
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_ = 0;
  std::vector<std::vector<uint32_t>> seqs_;
  std::unordered_map<std::string, uint32_t> ids_;
};

// A uint64 -> uint32 open-addressing hash table: one or two cache lines per lookup, no
// allocation per entry.
class FlatMap64 {
 public:
  FlatMap64() : slots_(1024) {}
  size_t bytes() const { return slots_.size() * sizeof(Slot); }
  // The value for `key`, or nullptr.
  const uint32_t* find(uint64_t key) const {
    size_t mask = slots_.size() - 1;
    for (size_t i = hash(key) & mask; slots_[i].used; i = (i + 1) & mask) {
      if (slots_[i].key == key) return &slots_[i].value;
    }
    return nullptr;
  }
  // Inserts or overwrites.
  void put(uint64_t key, uint32_t value) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    size_t i = hash(key) & mask;
    for (; slots_[i].used; i = (i + 1) & mask) {
      if (slots_[i].key == key) {
        slots_[i].value = value;
        return;
      }
    }
    slots_[i] = Slot{key, value, true};
    ++count_;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t value = 0;
    bool used = false;
  };
  static uint64_t hash(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    size_t mask = slots_.size() - 1;
    for (const Slot& sl : old) {
      if (!sl.used) continue;
      size_t i = hash(sl.key) & mask;
      while (slots_[i].used) i = (i + 1) & mask;
      slots_[i] = sl;
    }
  }
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

// Memoized transitions (state, argument) -> state for models whose next state is built.
class Transitions {
 public:
  size_t bytes() const { return map_.bytes(); }
  template <class Make>
  uint32_t get(uint32_t s, uint32_t a, Make&& make) {
    uint64_t k = (uint64_t{s} << 32) | a;
    if (const uint32_t* v = map_.find(k)) return *v;
    uint32_t n = make();
    map_.put(k, n);
    return n;
  }

 private:
  FlatMap64 map_;
};

enum Kind : uint8_t {
  kRead,
  kWrite,
  kCasOk,
  kCasFail,
  kCasUnknown,
  kAppend,
  kAdd,
  kEnqueue,
  kDequeue,
  kDequeueUnknown,
};

// Kinds whose step never changes the state (pure observations).
inline bool preserves_state(Kind k) { return k == kRead || k == kCasFail; }

// Ops carry their kind in a parallel array in the search; POpK bundles both for conversion.
struct POpK {
  POp op;
  Kind kind = kRead;
};

std::string unknown_f(const history::Compact& h, const history::CompactOp& co,
                      std::string_view model, std::string_view expected);

// register (read, write) and cas-register (read, write, cas): the state is the value id; 0 is
// null, the absent register the history starts with.
class RegisterModel {
 public:
  RegisterModel(const history::Compact& h, bool cas, std::string_view name);
  uint32_t init() const { return 0; }
  bool convert(const history::CompactOp& co, POpK& out, std::string& error) const;
  bool make_pending(POpK& op) const;
  bool step(uint32_t s, const POp& op, Kind kind, uint32_t& next) const {
    switch (kind) {
      case kRead:
        next = op.out;
        return s == kAny || s == op.out;
      case kWrite:
        next = op.a;
        return true;
      case kCasOk:
        next = op.b;
        return s == kAny || s == op.a;
      case kCasFail:
        next = s;
        return s != op.a;
      case kCasUnknown:
        next = s == kAny ? kAny : (s == op.a ? op.b : s);
        return true;
      default:
        return false;
    }
  }

 private:
  const history::Compact& h_;
  bool cas_;
  std::string_view name_;
  int16_t f_read_ = -1, f_get_ = -1, f_write_ = -1, f_put_ = -1, f_cas_ = -1;
};

// kv-append (Porcupine's kv model): get, put and append on strings; a key starts as "".
// A state is a chain (previous state, appended piece) or a root string, never a materialized
// string: appending is O(1). Each state carries a polynomial hash (mod 2^61-1) and length of its
// string; states with equal hash and length are compared exactly (by materializing both, which
// only happens when the strings are really equal), so equal strings always share one id and a
// get compares ids.
class KvAppendModel {
 public:
  explicit KvAppendModel(const history::Compact& h);
  uint32_t init() const { return 0; }
  bool convert(const history::CompactOp& co, POpK& out, std::string& error);
  bool make_pending(POpK& op) const;
  bool step(uint32_t s, const POp& op, Kind kind, uint32_t& next) {
    switch (kind) {
      case kRead:
        next = op.out;
        return s == kAny || s == op.out;
      case kWrite:
        next = op.a;
        return true;
      case kAppend:
        next = s == kAny ? kAny : memo_.get(s, op.a, [&] { return append(s, op.a); });
        return true;
      default:
        return false;
    }
  }
  size_t bytes() const {
    return nodes_.capacity() * sizeof(Node) + memo_.bytes() + by_hash_.bytes() + prefix_bytes_;
  }
  // Appends only extend a string: a get of `op.out` can still be satisfied from `s` (before any
  // put) only if s is a prefix of it. By hash, so a rare false "yes" is possible, never a false
  // "no".
  bool may_reach(uint32_t s, const POp& op);
  static bool may_reset(const POp&, Kind k, const POp&) { return k == kWrite; }
  size_t charged = 0;  // bytes() already charged to the budget
  // The string a state stands for.
  std::string materialize(uint32_t state) const;

 private:
  static constexpr uint32_t kRoot = 0xffffffffu;
  struct Node {
    uint64_t hash;
    uint32_t len;
    uint32_t parent;  // kRoot for a root string
    uint32_t piece;   // index into pieces_
    uint32_t same;    // the previous state with the same hash and length, or kRoot
  };
  uint32_t piece_of(uint32_t value_id);
  uint32_t root(uint32_t piece);
  uint32_t append(uint32_t s, uint32_t piece);
  uint32_t add(const Node& n);

  const history::Compact& h_;
  std::vector<std::string> pieces_;
  std::vector<uint64_t> piece_hash_, piece_pow_;
  std::unordered_map<uint32_t, uint32_t> piece_of_value_;
  std::vector<Node> nodes_;
  FlatMap64 by_hash_;  // (hash, len) -> the latest state with them
  // Root state -> hashes of its string's prefixes (index = length), built on first use.
  std::unordered_map<uint32_t, std::vector<uint64_t>> prefixes_;
  size_t prefix_bytes_ = 0;

  Transitions memo_;
};

// set: add(x) and read (returning every element); the set starts empty.
class SetModel {
 public:
  explicit SetModel(const history::Compact& h);
  uint32_t init() const { return 0; }
  bool convert(const history::CompactOp& co, POpK& out, std::string& error);
  bool make_pending(POpK& op) const;
  bool step(uint32_t s, const POp& op, Kind kind, uint32_t& next);
  // Sets only grow: a read can still be satisfied from `s` only if s is a subset of it.
  bool may_reach(uint32_t s, const POp& op) const;
  static bool may_reset(const POp&, Kind, const POp&) { return false; }

 private:
  const history::Compact& h_;
  SeqTable sets_;
  Transitions memo_;

 public:
  size_t bytes() const { return sets_.bytes() + memo_.bytes(); }
  size_t charged = 0;

 private:
  uint32_t fresh_ = 0;  // ids for elements read but never added
};

// fifo-queue: enqueue(x), dequeue -> x (null when empty); the queue starts empty.
class FifoQueueModel {
 public:
  explicit FifoQueueModel(const history::Compact& h);
  uint32_t init() const { return 0; }
  bool convert(const history::CompactOp& co, POpK& out, std::string& error);
  bool make_pending(POpK& op) const;
  bool step(uint32_t s, const POp& op, Kind kind, uint32_t& next);

 private:
  const history::Compact& h_;
  SeqTable seqs_;
  Transitions push_;
  std::unordered_map<uint32_t, uint32_t> pop_;

 public:
  size_t bytes() const { return seqs_.bytes() + push_.bytes() + pop_.size() * 24; }
  size_t charged = 0;
};

// A whole map as one object (no split per key), for comparison with checkers that cannot split:
// the state is the vector of every key's state under `Inner`, interned.
template <class Inner>
class MapModel {
 public:
  template <class... Args>
  explicit MapModel(const history::Compact& h, Args&&... args) : h_(h) {
    inner_.reserve(h.keys.size());
    for (size_t k = 0; k < h.keys.size(); ++k) inner_.emplace_back(h, args...);
    std::vector<uint32_t> init(h.keys.size()), any(h.keys.size(), kAny);
    for (size_t k = 0; k < h.keys.size(); ++k) init[k] = inner_[k].init();
    init_ = states_.intern(init);
    any_ = states_.intern(any);
  }
  uint32_t init() const { return init_; }
  bool convert(const history::CompactOp& co, POpK& out, std::string& error) {
    return inner_[co.key].convert(co, out, error);
  }
  bool make_pending(POpK& op) const { return inner_.front().make_pending(op); }
  bool step(uint32_t s, const POp& op, Kind kind, uint32_t& next) {
    if (s == kAny) s = any_;
    uint32_t k = h_.ops[op.src].key;
    uint32_t ks = states_[s][k], nk;
    if (!inner_[k].step(ks, op, kind, nk)) return false;
    if (nk == ks) {
      next = s;
      return true;
    }
    scratch_ = states_[s];
    scratch_[k] = nk;
    next = states_.intern(scratch_);
    return true;
  }
  bool may_reach(uint32_t s, const POp& op) requires requires(Inner& m) { m.may_reach(s, op); }
  {
    if (s == kAny) return true;
    uint32_t k = h_.ops[op.src].key;
    return inner_[k].may_reach(states_[s][k], op);
  }
  // Only an op on the read's own key can reset what the read sees.
  bool may_reset(const POp& x, Kind k, const POp& read) const requires requires {
    Inner::may_reset(x, k, read);
  }
  { return h_.ops[x.src].key == h_.ops[read.src].key && Inner::may_reset(x, k, read); }
  size_t bytes() const {
    size_t b = states_.bytes();
    for (const auto& m : inner_) b += charged_bytes(m);
    return b;
  }
  size_t charged = 0;

 private:
  template <class M>
  static size_t charged_bytes(const M& m) {
    if constexpr (requires { m.bytes(); }) {
      return m.bytes();
    } else {
      return 0;
    }
  }
  const history::Compact& h_;
  std::vector<Inner> inner_;
  SeqTable states_;
  std::vector<uint32_t> scratch_;
  uint32_t init_ = 0, any_ = 0;
};

}  // namespace fl::check::lin
