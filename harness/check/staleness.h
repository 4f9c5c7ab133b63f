// staleness: how often and how far reads of a register-style workload (f read / write / cas,
// each key its own register) lag behind acknowledged writes. A read is stale when a write that
// completed ok before the read began had itself begun after the write of the value the read
// returned had completed: the returned value was certainly superseded before the read started.
// Its staleness is the time from the first such supersession (that write's completion) to the
// read's invoke. A read of null (the key absent) is superseded by the first acknowledged write.
// Reads of a value no acknowledged write wrote (an `info` write, or garbage) are not judged.
// Repeated values are allowed: of the writes of the value, the one that makes the read least
// stale is taken. Valid unless max_stale_ratio / max_staleness are given and exceeded.
// O(n log n).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/units.h"
#include "harness/check/checker.h"
#include "harness/check/quantiles.h"

namespace fl::check {

struct StalenessOptions {
  // Largest acceptable share of judged reads that are stale. Absent: report only.
  std::optional<double> max_stale_ratio;
  // Largest acceptable staleness of any one read. Absent: report only.
  std::optional<Duration> max_staleness;
  // Most stale reads listed in the report.
  size_t max_listed = 20;
};

struct StaleRead {
  std::string key;
  int64_t index = -1;         // the read's invoke
  int64_t staleness = 0;      // ns from supersession to the read's invoke
  std::string value;          // what it read (JSON)
  int64_t superseded_by = -1; // the invoke index of the write that superseded it
};

struct StalenessReport {
  Verdict verdict = Verdict::unknown;
  std::string reason;
  size_t keys = 0;
  size_t reads = 0;      // ok reads
  size_t judged = 0;     // reads whose value an acknowledged write (or the initial null) explains
  size_t unjudged = 0;   // reads of a value no acknowledged write wrote
  size_t stale = 0;
  double stale_ratio = 0;  // stale / judged
  Quantiles staleness;     // over stale reads, ns
  std::vector<StaleRead> worst;  // the stalest reads, stalest first
};

StalenessReport check_staleness(const Input& in, const StalenessOptions& opts);
std::string report_json(const StalenessReport& report, const StalenessOptions& opts);

// The [[check]] kind "staleness".
result<std::unique_ptr<Checker>> make_staleness_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
