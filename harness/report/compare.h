// `faultline compare`: repetitions of a baseline against repetitions of a candidate, judged by
// gates (docs/gating.md). A regression gate is missed only when the candidate is worse by more
// than the gate allows AND a one-sided Mann-Whitney U test over the runs says the difference is
// real (p < alpha) AND the change is at least min_effect; a fixed gate is missed when the
// candidate runs' median misses its limit.
#pragma once

#include "common/error.h"
#include "harness/plan/gates.h"
#include "harness/report/results.h"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::report {

// One side of a comparison: its run directories and what each one's results.json says.
struct RunSet {
  std::vector<std::filesystem::path> dirs;
  std::vector<RunReport> reports;  // same order as dirs
};

// The run directories an argument names: a run directory (it holds results.json), a directory
// of run directories (what `faultline run --repeat N` writes: rep-1 .. rep-N, in numeric
// order), or several of either separated by commas. Errors name the path that holds no run.
result<std::vector<std::filesystem::path>> resolve_run_dirs(std::string_view arg);
// Resolves `arg` and reads every run's results.json. Refuses a run whose verdict is "error":
// the harness did not do its job, so its numbers measure nothing.
result<RunSet> load_run_set(std::string_view arg);

struct CompareOptions {
  // Fixed limits ("p99 < 5ms") and regression limits ("regression p99 < 10%").
  std::vector<plan::Gate> gates;
  // A one-sided Mann-Whitney U p-value below alpha counts as a real difference.
  double alpha = 0.05;
  // Latency and throughput: the smallest relative change of medians that counts (0.05 = 5%),
  // however significant. Ratios are judged by their gate's limit alone.
  double min_effect = 0.05;
};

// The regression gates that apply when neither the command line nor the plan names any:
// throughput 10%, p50 20%, p99 20%, p999 30%, error_ratio 1 percentage point (docs/gating.md).
std::vector<plan::Gate> default_gates();

enum class RowVerdict {
  pass,             // a gate met
  regression,       // a regression gate missed: worse beyond its limit, significantly
  not_significant,  // worse beyond the limit, but p >= alpha: not shown to be real (exit 0)
  missed,           // a fixed gate missed by the candidate's median
  inconclusive,     // too few runs for the test ever to reach alpha
  info,             // no gate: shown for context
};
std::string_view to_string(RowVerdict v);

struct Distribution {
  std::vector<double> values;  // one per run, in run order
  double median = 0, min = 0, max = 0;
};

struct CompareRow {
  plan::GateMetric metric = plan::GateMetric::p99;
  std::string workload;            // "" for every workload's main phases together
  std::optional<plan::Gate> gate;  // none for an information row
  Distribution baseline, candidate;
  // Latency and throughput: (candidate - baseline) / baseline of the medians (+inf when the
  // baseline's is 0 and the candidate's is not). Ratios: candidate - baseline, absolute.
  double change = 0;
  bool absolute = false;  // `change` is absolute (a ratio metric)
  // `change` signed so that positive is worse (lower throughput, higher latency or ratio).
  double worsening = 0;
  // One-sided Mann-Whitney U: the probability of candidates at least this much worse than the
  // baseline if both came from the same distribution.
  double p = 1;
  bool exact = true;  // p from the exact distribution (else the normal approximation)
  // Cliff's delta of candidate against baseline (positive: the candidate's values are higher),
  // and the Hodges-Lehmann shift (candidate - baseline) in the metric's unit.
  double cliffs_delta = 0;
  double shift = 0;
  RowVerdict verdict = RowVerdict::info;
};

struct Comparison {
  std::string baseline_plan, candidate_plan;
  std::vector<std::string> baseline_dirs, candidate_dirs;
  double alpha = 0.05, min_effect = 0.05;
  // The smallest p-value these numbers of runs can give, and the repetitions per side that
  // could reach p < alpha.
  double min_p = 1;
  size_t repetitions_needed = 0;
  std::vector<CompareRow> rows;    // gates in the order given, then information rows
  std::vector<std::string> notes;  // warnings: different plans, runs whose checks failed
  std::string headline;            // one line, for people
  int exit_code = 0;  // 0 no regression, 1 a regression or a missed fixed gate, 2 inconclusive
};

// Errors (errc::invalid_argument): a gate's metric that some run does not have (no main phase,
// no such workload).
result<Comparison> compare_runs(const RunSet& baseline, const RunSet& candidate,
                                const CompareOptions& options);

// A table for the terminal, coloured when `color`.
std::string comparison_table(const Comparison& c, bool color);
// A pull-request comment: a headline and a table with ✅/❌ per gate.
std::string comparison_markdown(const Comparison& c);
// Everything in Comparison as one JSON object (docs/gating.md).
std::string comparison_json(const Comparison& c);

}  // namespace fl::report
