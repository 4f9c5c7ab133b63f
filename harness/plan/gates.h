// Performance gates: fixed limits a run must meet ("p99 < 5ms", "throughput > 20000/s") and
// regression limits a candidate must meet against a baseline ("regression p99 < 10%"). Written
// in a plan's [gates] table or on the command line (`faultline run --gate`, `faultline compare
// --gate`); docs/gating.md.
#pragma once

#include "common/error.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::plan {

enum class GateMetric { throughput, p50, p90, p99, p999, max, error_ratio, fail_ratio, info_ratio };

struct Gate {
  std::string text;          // as written: "p99 < 5ms", "regression throughput < 10%"
  bool regression = false;   // a limit on the change from a baseline, not on the value
  GateMetric metric = GateMetric::p99;
  // The workload whose phases it reads ("ingest/p99 < 5ms"); empty: every workload's main
  // phase together (throughput summed, latency the worst, ratios pooled).
  std::string workload;
  // Fixed limits: true for "<" (the value must stay below), false for ">". Regressions: always
  // true (the worsening must stay below `limit`).
  bool below = true;
  // Fixed limits in the metric's unit: milliseconds for latency, operations per second for
  // throughput, a fraction for ratios ("1%" = 0.01). Regressions: the largest allowed
  // worsening ("10%" = 0.10): for throughput and latency a fraction of the baseline (lower
  // throughput, higher latency); for ratios an absolute rise in points ("1%": from 0.2% to
  // 1.2%), since a relative change from a zero baseline means nothing.
  double limit = 0;

  // A fixed limit: does `value` (in the metric's unit) meet it? Strict: a value on the limit
  // misses it. Meaningless for a regression limit (compare judges the worsening).
  bool met(double value) const { return below ? value < limit : value > limit; }
  // "< 5.00ms", "> 20000/s", "< 1.00%"; a regression limit "< 10%".
  std::string limit_text() const;
};

// "p99 < 5ms", "p999 < 20ms", "throughput > 20000/s", "error_ratio < 1%", "fail_ratio < 0.5%",
// "ingest/p99 < 2ms", "regression p99 < 10%", "regression throughput < 5%". Latency takes any
// duration unit (ns .. s); throughput "N/s" or a bare number; ratios a fraction or "N%".
result<Gate> parse_gate(std::string_view text);
// `regression`: the text is a regression limit even without the "regression " prefix (the
// [gates] `regression` list).
result<Gate> parse_gate(std::string_view text, bool regression);

std::string_view to_string(GateMetric m);
std::optional<GateMetric> gate_metric(std::string_view name);
// error_ratio, fail_ratio, info_ratio: fractions of operations (the rest are throughput and
// latency).
bool is_ratio(GateMetric m);
// Throughput is better higher; latency and ratios lower.
bool higher_is_better(GateMetric m);
// "4.87ms", "20000/s", "1.00%": a metric's value in its unit, for people.
std::string format_metric(GateMetric m, double value);

// The one reader of percentages for gates, [gates] alpha/min_effect and `faultline compare
// --min-effect`: "10%" -> 0.10; a bare number ("0.1") is read as a fraction only when
// `allow_bare`. Nullopt for anything else, a negative or a non-finite value. Callers check
// their own upper bound (min_effect and ratios below 1).
std::optional<double> parse_fraction(std::string_view text, bool allow_bare);

// A plan's [gates] table.
struct GatesSpec {
  std::vector<Gate> limits;       // `limits = [...]`: every run must meet them
  std::vector<Gate> regressions;  // `regression = [...]`: `faultline compare` checks them
  // `faultline compare`: a change counts only when a one-sided Mann-Whitney U test over the
  // repetitions gives p < alpha AND the medians differ by at least min_effect (relative).
  double alpha = 0.05;
  double min_effect = 0.05;
  bool empty() const { return limits.empty() && regressions.empty(); }
};

}  // namespace fl::plan
