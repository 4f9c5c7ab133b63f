// The compact form of a history that checkers search: each invoke paired with its completion
// into one fixed-size operation with call and return times, and keys, function names and values
// interned to small integers, so a checker compares ids instead of strings and walks a dense
// array. sizeof(CompactOp) is 48 bytes.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "harness/history/history.h"

namespace fl::history {

// The return time of an operation that never completed or ended `info`: it may take effect at
// any later time.
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
inline constexpr uint32_t kNoPosition = std::numeric_limits<uint32_t>::max();

// Values interned by their JSON text; id 0 is null. Equal values get equal ids.
class ValueTable {
 public:
  ValueTable();
  uint32_t intern(const Value& v);
  // The id of `v`, or kNoPosition when it was never interned.
  uint32_t find(const Value& v) const;
  const Value& operator[](uint32_t id) const { return values_[id]; }
  size_t size() const { return values_.size(); }

 private:
  std::vector<Value> values_;
  std::unordered_map<std::string, uint32_t> ids_;
};

struct CompactOp {
  int64_t call = 0;                 // time of the invoke
  int64_t ret = kNever;             // time of the completion; kNever for info or never completed
  uint32_t key = 0;                 // index into Compact::keys; 0 is "no key"
  int32_t process = 0;              // the invoking process
  uint32_t invoke = 0;              // position of the invoke in the source vector
  uint32_t complete = kNoPosition;  // position of the completion, kNoPosition if none
  uint32_t a = 0;                   // the invoke's value; for f "cas" with [x y], x
  uint32_t b = 0;                   // for f "cas" with [x y], y; else 0 (null)
  uint32_t out = 0;                 // the completion's value (what a read returned)
  uint16_t f = 0;                   // index into Compact::functions
  Type outcome = Type::info;        // ok, fail or info
  // The invoke's value was an [x y] pair, split into a and b.
  bool pair : 1 = false;
  // A `fail` whose error is not history::kPreconditionFailed (nor empty): the system refused the
  // op (-READONLY, -MOVED, refused connection), so it neither happened nor observed anything.
  bool refused : 1 = false;
};

struct Compact {
  std::vector<CompactOp> ops;          // in invoke order (as the source lists them)
  std::vector<std::string> keys;       // keys[0] == "" stands for "no key"
  std::vector<std::string> functions;  // "read", "write", "cas", ...
  ValueTable values;
  size_t nemesis_ops = 0;  // fault events skipped
};

// Pairs each invoke with the next completion of the same process. Ops of the nemesis are
// counted and skipped. An invoke without a completion becomes `info`. Errors (naming the op's
// index): a completion with no pending invoke, an invoke while the process has one pending, a
// completion whose f differs from its invoke's, a completion earlier than its invoke.
result<Compact> compact(const std::vector<Op>& ops);

}  // namespace fl::history
