// Each invoke of a history paired with its completion, for the checkers that judge counts,
// sums and times (set-full, counter, total-queue, availability, perf) and need neither the
// search nor the interned ids of compact.h: a view of one history::CompactOp with the accessors
// those checkers use. The pairing rules are compact()'s: a process runs one operation at a time,
// the next completion of a process completes its pending invoke, an invoke left without a
// completion is `info`, and fault events (the nemesis) are skipped.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "harness/history/compact.h"
#include "harness/history/history.h"

namespace fl::check {

// The return time of an operation that never completed.
inline constexpr int64_t kNoReturn = std::numeric_limits<int64_t>::max();
static_assert(kNoReturn == history::kNever);

class PairedOp {
 public:
  PairedOp(const history::Compact& h, const history::CompactOp& op) : h_(&h), op_(&op) {}

  const history::CompactOp& op() const { return *op_; }
  history::Type outcome() const { return op_->outcome; }  // ok, fail or info
  int64_t call() const { return op_->call; }              // time of the invoke
  // Time of the completion (also for fail and info); kNoReturn if none.
  int64_t ret() const { return op_->done; }
  bool completed() const { return op_->completed(); }
  int64_t invoke_index() const { return op_->invoke; }
  int64_t completion_index() const { return op_->complete(); }  // -1 if none

  bool ok() const { return outcome() == history::Type::ok; }
  // Ok, or a fail the system answered on purpose (history::kPreconditionFailed): it was served.
  bool answered() const { return ok() || op_->precondition; }
  std::string_view f() const { return h_->functions[op_->f]; }
  std::string_view key() const { return h_->keys[op_->key]; }
  // The value an operation carries in (a write's value, an add's element). A cas whose value
  // was an [expected new] pair is kept split (compact.h): its in() is null; see
  // history::invoke_value.
  const history::Value& in() const { return h_->values[op_->pair ? 0 : op_->a]; }
  // The value it came back with (what a read returned); null without a completion, for info,
  // and for a split cas pair echoed back (CompactOp::echo).
  const history::Value& out() const { return h_->values[op_->out]; }

 private:
  const history::Compact* h_;
  const history::CompactOp* op_;
};

// The ops of `h` in invoke order. `h` must outlive the result. (A result for the callers' sake:
// the pairing errors are found when the history is compacted.)
result<std::vector<PairedOp>> pair_ops(const history::Compact& h);

}  // namespace fl::check
