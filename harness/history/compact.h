// The compact form of a history that checkers judge: each invoke paired with its completion into
// one fixed-size operation with call and return times, and keys, function names, errors and
// values interned to small integers, so a checker compares ids instead of strings and walks a
// dense array. A CompactOp carries everything checkers and their reports need (history indexes,
// times, process, f, key, values, error), so a history is read straight into this form
// (read_compact) and the ops of the file are never held whole. sizeof(CompactOp) is 64 bytes.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "harness/history/history.h"

namespace fl::history {

// The return time of an operation that never completed or ended `info`: it may take effect at
// any later time.
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
inline constexpr uint32_t kNoPosition = std::numeric_limits<uint32_t>::max();

// Values interned by structure; id 0 is null. Equal values get equal ids, ids are dense (0 ..
// size()-1). Each distinct value is stored once, with no text key beside it; an integer (every
// register write, every kv-mix sequence number) costs about 17 bytes: its Value object is only
// made when someone asks for it with operator[] (kept from then on, so references stay valid).
// Thread-safe for readers once built.
class ValueTable {
 public:
  ValueTable();
  ValueTable(const ValueTable& other);
  ValueTable& operator=(const ValueTable& other);
  ValueTable(ValueTable&&) noexcept;
  ValueTable& operator=(ValueTable&&) noexcept;
  ~ValueTable();

  uint32_t intern(const Value& v);
  uint32_t intern(Value&& v);
  // The id of `v`, or kNoPosition when it was never interned.
  uint32_t find(const Value& v) const;
  // The value of `id`; the reference stays valid as long as the table.
  const Value& operator[](uint32_t id) const;
  bool is_integer(uint32_t id) const { return kinds_[id] == Value::Kind::integer; }
  size_t size() const { return kinds_.size(); }

 private:
  struct IntCache;
  template <class V>
  uint32_t intern_impl(V&& v);
  bool equals(uint32_t id, const Value& v) const;
  uint64_t hash_of(uint32_t id) const;
  size_t slot_of(const Value& v, uint64_t hash) const;
  void grow();

  std::vector<Value::Kind> kinds_;  // per id
  std::vector<int64_t> data_;       // per id: the integer, or the position in others_
  std::deque<Value> others_;        // null, strings and lists; stable as it grows
  std::vector<uint32_t> slots_;     // open addressing over ids; kNoPosition is empty
  std::unique_ptr<IntCache> ints_;  // integers made into Values by operator[]
};

struct CompactOp {
  int64_t call = 0;       // time of the invoke
  int64_t ret = kNever;   // time of the completion; kNever for info or never completed
  int64_t done = kNever;  // time of the completion whatever its type; kNever if none
  int64_t invoke = 0;     // history index of the invoke
  // History index of the completion minus the invoke's; 0 if the op never completed.
  uint32_t complete_gap = 0;
  uint32_t key = 0;           // index into Compact::keys; 0 is "no key"
  int32_t process = 0;        // the invoking process
  uint32_t a = 0;             // the invoke's value; for f "cas" with [x y], x
  uint32_t b = 0;             // for f "cas" with [x y], y; else 0 (null)
  uint32_t out = 0;           // the completion's value (what a read returned); 0 for info or echo
  uint32_t error = 0;         // index into Compact::errors: the completion's error; 0 is none
  uint16_t f = 0;             // index into Compact::functions
  Type outcome = Type::info;  // ok, fail or info
  // The invoke's value was an [x y] pair, split into a and b.
  bool pair : 1 = false;
  // A `fail` whose error is not history::kPreconditionFailed (nor empty): the system refused the
  // op (-READONLY, -MOVED, refused connection), so it neither happened nor observed anything.
  bool refused : 1 = false;
  // A `fail` whose error is history::kPreconditionFailed: answered on purpose.
  bool precondition : 1 = false;
  // The completion of a split pair came back with the same [x y] (a cas echoing its value):
  // `out` is 0 and the pair is not interned a second time as a whole.
  bool echo : 1 = false;

  bool completed() const { return complete_gap != 0; }
  // The history index of the completion; -1 if none.
  int64_t complete() const { return completed() ? invoke + complete_gap : -1; }
};

struct Compact {
  std::vector<CompactOp> ops;          // in invoke order (as the source lists them)
  std::vector<std::string> keys;       // keys[0] == "" stands for "no key"
  std::vector<std::string> functions;  // "read", "write", "cas", ...
  std::vector<std::string> errors;     // errors[0] == "" stands for "no error"
  ValueTable values;
  size_t nemesis_ops = 0;  // fault events skipped
};

// The invoke's value as the history had it (a split cas pair put back together).
Value invoke_value(const Compact& c, const CompactOp& op);
// The invoke and the completion as Ops (for reports); the completion is nullopt if none.
Op invoke_op(const Compact& c, const CompactOp& op);
std::optional<Op> completion_op(const Compact& c, const CompactOp& op);

// Builds a Compact from ops given one at a time in history order, with compact()'s rules.
class CompactBuilder {
 public:
  CompactBuilder();
  void reserve(size_t ops) { c_.ops.reserve(ops); }
  // Adds the next op (an op without an index gets its position); an error names the op's index
  // and stops the build.
  std::optional<Error> add(const Op& op);
  Compact finish() &&;

 private:
  Compact c_;
  std::unordered_map<std::string, uint32_t> key_ids_;
  std::unordered_map<std::string, uint16_t> f_ids_;
  std::unordered_map<std::string, uint32_t> error_ids_;
  // Process -> position in c_.ops of its pending operation.
  std::unordered_map<int64_t, uint32_t> pending_;
  int64_t position_ = 0;
};

// Pairs each invoke with the next completion of the same process. Ops of the nemesis are
// counted and skipped. An invoke without a completion becomes `info`. Errors (naming the op's
// index): a completion with no pending invoke, an invoke while the process has one pending, a
// completion whose f differs from its invoke's, a completion earlier than its invoke (in time, or
// in index).
result<Compact> compact(const std::vector<Op>& ops);

// Reads a history file (read()'s formats and rules) straight into the compact form, one line at
// a time: the file's ops are never all in memory. Errors name the file (and line or op index).
result<Compact> read_compact(const std::filesystem::path& path, Format format);
// The same from text in memory (tests, small inputs).
result<Compact> read_compact(std::string_view text, Format format, std::string_view source_name);

}  // namespace fl::history
