// `faultline run --repeat N`: the bookkeeping around N runs of one plan with one seed (each a
// complete run directory <out>/rep-I): the worst exit code, a line per repetition, the summary
// over them (median and min-max), and <out>/repeat.json. The runs themselves are execute()'s.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fl::run {

struct Repetition {
  int index = 0;              // 1-based
  std::filesystem::path dir;  // <out>/rep-<index>
  int exit_code = 3;
  std::string verdict;  // results.json's, or "error" when it could not be read
  std::string error;    // why, for verdict "error"
  // The main phase(s)' figures (report::metric_value); nullopt when the run has none.
  std::optional<double> throughput, p50_ms, p99_ms, p999_ms, error_ratio;
};

// The one seed of a series of runs (--repeat, sweep): `given` (--seed), else the plan's, else
// one drawn now. Called once per series, so every run in it gets the same seed.
uint64_t series_seed(std::optional<uint64_t> given, std::optional<uint64_t> plan_seed);

// Reads <dir>/results.json into a Repetition; `exit_code` is the run's own (execute()'s).
Repetition read_repetition(int index, const std::filesystem::path& dir, int exit_code);

// DESIGN's exit codes combined over runs: a harness error (3) outranks a violation or missed
// gate (1), which outranks unknown (2), which outranks passing (0).
int worst_exit_code(int a, int b);

// "rep 2/5  valid    12034 ops/s  p50 0.41ms  p99 1.92ms  runs/x/rep-2"
std::string repetition_line(const Repetition& r, int total);

// The lines after the last repetition: how many ran and their verdicts, then for throughput,
// p50, p99 and p999 the median and the min-max over the repetitions that have it.
std::string repeat_summary(const std::vector<Repetition>& reps, int requested, bool interrupted);

// <out>/repeat.json: plan, seed, requested and completed counts, interrupted, exit_code, and
// one object per repetition {index, dir (relative to out), exit_code, verdict, error?,
// throughput, p50_ms, p99_ms, p999_ms (null when absent)}.
std::string repeat_json(const std::string& plan, uint64_t seed, int requested, bool interrupted,
                        const std::vector<Repetition>& reps, int exit_code);

}  // namespace fl::run
