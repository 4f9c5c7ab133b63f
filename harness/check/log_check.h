// log: judges a `log` workload's history (docs/history-format.md): produces of unique values
// with the ID the broker answered, consumes through one consumer group, and a final replay of
// the whole topic in pages. Each key (topic) is judged on its own. IDs are `<partition>-<offset>`.
//   lost          an acknowledged produce whose value is neither in the replay nor consumed
//   unexpected    a consumed or replayed value never produced, or produced with a `fail`
//   mismatched    the replay holds another value at the ID an acknowledged produce was given
//   not replayed  a consumed entry the replay lacks (or holds with another value): replay must
//                 equal what was consumed
//   reordered     an entry delivered for the first time after a consume that had already
//                 returned (completed before it began) a later offset of the same partition,
//                 when no consume of unknown outcome could have taken it in between
//   duplicates    entries delivered more than once (at-least-once: counted, not a violation),
//                 and values stored at more than one ID (a produce retried)
// Linear in the history plus n log n to order the consumes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/check/checker.h"

namespace fl::check {

struct LogOptions {
  // Most items listed per outcome in the report (counts are always complete).
  size_t max_listed = 100;
};

struct LogItem {
  std::string topic;
  std::string id;   // the entry's ID ("" when none is known)
  int64_t value = 0;
  int64_t index = -1;  // the history index of the op that shows it
  std::string why;     // for reordered / mismatched / not replayed: what was seen instead
};

struct LogReport {
  Verdict verdict = Verdict::unknown;
  std::string reason;  // why unknown
  size_t topics = 0;
  size_t attempted = 0;     // distinct values produced (ok, info or fail)
  size_t acknowledged = 0;  // produced ok
  size_t consumed = 0;      // distinct entries consumed
  size_t deliveries = 0;    // entries returned by consumes, redeliveries included
  size_t replayed = 0;      // entries in the replay
  bool replay_complete = true;  // every topic's replay ended with a short page
  size_t recovered = 0;     // produces of unknown outcome (info) whose value was seen
  size_t unconsumed = 0;    // acknowledged, replayed, never consumed (not a violation)
  size_t redelivered = 0;   // entries delivered more than once
  size_t log_duplicates = 0;  // values stored at more than one ID
  size_t lost = 0, unexpected = 0, mismatched = 0, not_replayed = 0, reordered = 0;
  // Reorderings a consume of unknown outcome may explain (not counted in `reordered`).
  size_t maybe_redelivered = 0;
  // Acknowledged values unseen while a replay was incomplete: maybe lost.
  size_t unseen = 0;
  std::vector<LogItem> lost_items, unexpected_items, mismatched_items, not_replayed_items,
      reordered_items;
};

LogReport check_log(const Input& in, const LogOptions& opts);
std::string report_json(const LogReport& report);

// The [[check]] kind "log".
result<std::unique_ptr<Checker>> make_log_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
