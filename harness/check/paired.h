// Each invoke of a history paired with its completion, for the checkers that judge counts,
// sums and times (set-full, counter, total-queue, availability, perf) and need neither the
// search nor the interned values of compact.h. The pairing rules are compact()'s: a process runs
// one operation at a time, the next completion of a process completes its pending invoke, an
// invoke left without a completion is `info`, and fault events (the nemesis) are skipped.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "harness/history/history.h"

namespace fl::check {

// The return time of an operation that never completed.
inline constexpr int64_t kNoReturn = std::numeric_limits<int64_t>::max();

struct PairedOp {
  const history::Op* invoke = nullptr;          // never null
  const history::Op* completion = nullptr;      // null when the history ends before it completes
  history::Type outcome = history::Type::info;  // ok, fail or info
  int64_t call = 0;                             // time of the invoke
  int64_t ret = kNoReturn;  // time of the completion (also for fail and info); kNoReturn if none

  bool ok() const { return outcome == history::Type::ok; }
  // Ok, or a fail the system answered on purpose (history::kPreconditionFailed): it was served.
  bool answered() const {
    return ok() || (outcome == history::Type::fail && completion &&
                    completion->error == history::kPreconditionFailed);
  }
  std::string_view f() const { return invoke->f; }
  std::string_view key() const { return invoke->key ? std::string_view(*invoke->key) : ""; }
  // The value an operation carries in (a write's value, an add's element).
  const history::Value& in() const { return invoke->value; }
  // The value it came back with (what a read returned); null without a completion.
  const history::Value& out() const;
};

// Pairs `ops` in invoke order. Errors name the op's index: a completion with no pending invoke,
// an invoke while its process has one pending, a completion whose f differs from its invoke's, a
// completion earlier than its invoke. `ops` must outlive the result.
result<std::vector<PairedOp>> pair_ops(const std::vector<history::Op>& ops);

}  // namespace fl::check
