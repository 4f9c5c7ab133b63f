// The linearizability checker: Wing & Gong's search with Lowe's memoization of (linearized set,
// model state), as in Porcupine, applied to each key's sub-history on its own
// (P-compositionality) with keys checked in parallel. Semantics (docs/checkers.md): the object
// starts absent (null); an `info` op may take effect at any later time or never; a failed cas
// observed a mismatch; any other `fail` op did not happen; failed reads are dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "harness/check/checker.h"
#include "harness/history/compact.h"

namespace fl::check {

// register | cas-register | kv | kv-append | set | fifo-queue.
std::vector<std::string_view> linearizable_models();
bool is_linearizable_model(std::string_view model);

struct LinearizableOptions {
  std::string model = "cas-register";
  // Wall time and memory (search caches) the check may use before it answers unknown.
  std::chrono::nanoseconds time_budget = std::chrono::seconds(60);
  uint64_t memory_budget = 4ull << 30;
  // Worker threads for keys; 0 means one per hardware thread.
  unsigned threads = 0;
  // Check each key on its own (P-compositionality). false checks the whole map as one object
  // (models kv and kv-append only): far slower, for comparison with checkers that cannot split.
  bool split_keys = true;
  // For a violation, also find the longest linearizable prefix and the smallest failing window.
  bool explain = true;
};

// One operation of a violation report, as the source history had it.
struct ReportOp {
  uint32_t op = 0;        // position in Compact::ops
  bool pending = false;   // still running at the failing point (its outcome is not used)
  bool optional = false;  // began before the window; may have taken effect before it
};

struct LinearizableReport {
  Verdict verdict = Verdict::unknown;
  size_t ops = 0;   // operations checked (after dropping fails and failed reads)
  size_t keys = 0;  // independent keys
  // Keys found not linearizable. Keys are searched in rounds of growing effort and the first
  // round that finds a violation is the last (the verdict is settled), so this is a lower bound.
  size_t keys_invalid = 0;
  size_t keys_unknown = 0;  // keys the budget ran out on
  std::string reason;       // why unknown ("time budget of 30s exhausted on key k7", ...)
  double elapsed_ms = 0;
  uint64_t search_steps = 0;  // search loop iterations, all keys (explanation excluded)
  size_t cache_entries = 0;   // (linearized set, state) pairs memoized, all keys

  // Set for an invalid verdict: the first failing key (by first appearance).
  uint32_t key = 0;  // index into Compact::keys
  // The operation whose completion no linearization can explain, and the longest prefix of the
  // key's history (in events) that is still linearizable.
  uint32_t failing_op = history::kNoPosition;
  size_t prefix_ops = 0;        // operations that completed within the linearizable prefix
  int64_t prefix_end_time = 0;  // time of the prefix's last event
  // The smallest failing window: these ops alone, from any starting state, cannot be
  // linearized (or, if no shorter window was found, the whole failing prefix from the initial
  // state; `window_from_start` says which).
  std::vector<ReportOp> window;
  bool window_from_start = false;
};

// Checks `history` under `opts.model`. Errors only for an unknown model or an op the model does
// not know (an f it has no meaning for); a budget running out is a verdict (unknown).
result<LinearizableReport> check_linearizable(const history::Compact& history,
                                              const LinearizableOptions& opts);

// Renders one op readably: "process 3: cas [1,2] -> fail (index 12..15)".
std::string describe_op(const history::Compact& history, const ReportOp& op);
// The report as a JSON object (results.json's details): verdict, counts, and for a violation the
// key, the failing op, the prefix and the window ops (as history.jsonl-style objects).
std::string report_json(const history::Compact& history, const LinearizableReport& report);

// The [[check]] kind "linearizable".
std::unique_ptr<Checker> make_linearizable_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
