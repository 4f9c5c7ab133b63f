// set-full (after Jepsen's checker of that name): a `set` workload adds unique elements to each
// key's set (f "add", value = the element) and reads whole sets (f "read", value = the list of
// elements). Every element is judged on its own against the reads that began after its add was
// acknowledged: stable, stale, lost or never read. Any lost or unexpected element is a
// violation. Semantics in docs/checkers.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/check/checker.h"
#include "harness/check/quantiles.h"

namespace fl::check {

struct SetFullOptions {
  std::chrono::nanoseconds time_budget = std::chrono::seconds(60);
  uint64_t memory_budget = 4ull << 30;
  // Most elements listed per outcome in the report (counts are always complete).
  size_t max_listed = 100;
};

// One element worth showing: lost, stale or unexpected.
struct SetElement {
  std::string key;
  history::Value element;
  int64_t add_index = -1;   // index of the add's invoke; -1 when never added (unexpected)
  int64_t known_time = 0;   // when it was known to be in the set (add ok, or first seen)
  int64_t read_index = -1;  // lost/stale: the last read missing it; unexpected: the first with it
  int64_t stale_ns = 0;     // stale: from known_time to the start of the last read missing it
};

struct SetFullReport {
  Verdict verdict = Verdict::unknown;
  std::string reason;  // why unknown
  size_t keys = 0;
  size_t reads = 0;         // ok reads
  size_t attempted = 0;     // distinct elements added (ok, info or fail)
  size_t acknowledged = 0;  // added ok
  size_t stable = 0;        // present in every read that began after it was known
  size_t stale = 0;         // missing from some of those reads, present in a later one
  size_t lost = 0;          // known, then missing from every read after its last sighting
  size_t never_read = 0;    // known, but no read began after that
  size_t unconfirmed = 0;   // added with an unknown outcome (info) and never seen: no verdict
  size_t unexpected = 0;    // read but never added, or added with a fail
  std::vector<SetElement> lost_elements, stale_elements, unexpected_elements;
  // From the add's invoke to the completion of the first read containing the element.
  Quantiles visible_latency;
  int64_t max_stale_ns = 0;
  double elapsed_ms = 0;
};

SetFullReport check_set_full(const Input& in, const SetFullOptions& opts);
std::string report_json(const SetFullReport& report);

// The [[check]] kind "set-full".
result<std::unique_ptr<Checker>> make_set_full_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
