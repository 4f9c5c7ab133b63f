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
    if (fresh) seqs_.push_back(seq);
    return it->second;
  }
  const std::vector<uint32_t>& operator[](uint32_t id) const { return seqs_[id]; }

 private:
  std::vector<std::vector<uint32_t>> seqs_;
  std::unordered_map<std::string, uint32_t> ids_;
};

// Memoized transitions (state, argument) -> state for models whose next state is built.
class Transitions {
 public:
  template <class Make>
  uint32_t get(uint32_t s, uint32_t a, Make&& make) {
    uint64_t k = (uint64_t{s} << 32) | a;
    auto it = memo_.find(k);
    if (it != memo_.end()) return it->second;
    uint32_t n = make();
    memo_.emplace(k, n);
    return n;
  }

 private:
  std::unordered_map<uint64_t, uint32_t> memo_;
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
        next =
            s == kAny ? kAny : memo_.get(s, op.a, [&] { return intern(strs_[s] + strs_[op.a]); });
        return true;
      default:
        return false;
    }
  }

 private:
  uint32_t intern(const std::string& s);
  uint32_t intern_value(uint32_t value_id);
  const history::Compact& h_;
  std::vector<std::string> strs_;
  std::unordered_map<std::string, uint32_t> ids_;
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

 private:
  const history::Compact& h_;
  SeqTable sets_;
  Transitions memo_;
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
};

}  // namespace fl::check::lin
