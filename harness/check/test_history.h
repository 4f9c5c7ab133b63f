// Test support: builds histories by hand for the checkers' unit tests. Times are given in
// milliseconds and stored in nanoseconds; indexes are positions.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/check/checker.h"
#include "harness/history/compact.h"
#include "harness/history/history.h"

namespace fl::check::testing {

using history::Type;
using history::Value;

inline Value list(std::initializer_list<int64_t> xs) {
  std::vector<Value> out;
  for (int64_t x : xs) out.push_back(Value::of(x));
  return Value::of(std::move(out));
}

class HistoryBuilder {
 public:
  // Further ops act on `key` (nullopt: no key).
  HistoryBuilder& key(std::optional<std::string> k) {
    key_ = std::move(k);
    return *this;
  }
  HistoryBuilder& invoke(int64_t process, double ms, std::string f, Value v = {}) {
    return push(process, ms, Type::invoke, std::move(f), std::move(v));
  }
  HistoryBuilder& complete(int64_t process, double ms, Type type, std::string f, Value v = {}) {
    return push(process, ms, type, std::move(f), std::move(v));
  }
  // An invoke at `call` and its completion at `ret`; `out` is the completion's value (by
  // default the invoke's).
  HistoryBuilder& op(int64_t process, double call, double ret, Type type, std::string f, Value in,
                     std::optional<Value> out = std::nullopt) {
    Value done = out ? *out : in;
    invoke(process, call, f, std::move(in));
    return complete(process, ret, type, std::move(f), std::move(done));
  }
  std::vector<history::Op> ops;

 private:
  HistoryBuilder& push(int64_t process, double ms, Type type, std::string f, Value v) {
    history::Op op;
    op.index = static_cast<int64_t>(ops.size());
    op.time = static_cast<int64_t>(ms * 1e6);
    op.process = process;
    op.type = type;
    op.f = std::move(f);
    op.key = key_;
    op.value = std::move(v);
    ops.push_back(std::move(op));
    return *this;
  }
  std::optional<std::string> key_;
};

// The compact form of `ops`, for a checker's Input; a malformed history throws (a test's bug).
inline history::Compact compacted(const std::vector<history::Op>& ops) {
  auto c = history::compact(ops);
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

constexpr int64_t ms(double x) { return static_cast<int64_t>(x * 1e6); }

}  // namespace fl::check::testing
