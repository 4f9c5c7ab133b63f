#include "harness/report/compare.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fmt/core.h>

#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace fl::report {
namespace {

namespace fs = std::filesystem;

struct Measured {
  double ops_per_sec = 1000;
  double p50 = 1, p99 = 5, p999 = 9;
  int64_t ok = 10000, fail = 0, info = 0;
};

RunReport run_of(const Measured& m, std::string workload = {}) {
  RunReport r;
  r.plan = "perf";
  r.verdict = "valid";
  r.exit_code = 0;
  PhaseMetrics p;
  p.name = workload.empty() ? "main" : workload + "/main";
  p.ok = m.ok;
  p.fail = m.fail;
  p.info = m.info;
  p.ops_per_sec = m.ops_per_sec;
  p.latency = {m.p50, m.p50 * 2, m.p99, m.p999, m.p999 * 2};
  r.phases.push_back(p);
  return r;
}

// One run per entry of `p99s`, the other metrics steady.
RunSet p99_runs(std::vector<double> p99s, std::string_view name) {
  RunSet set;
  for (size_t i = 0; i < p99s.size(); ++i) {
    set.dirs.push_back(fmt::format("{}/rep-{}", name, i + 1));
    set.reports.push_back(run_of({.ops_per_sec = 1000 + static_cast<double>(i), .p99 = p99s[i]}));
  }
  return set;
}

std::vector<plan::Gate> gates(std::initializer_list<const char*> texts) {
  std::vector<plan::Gate> out;
  for (const char* t : texts) out.push_back(plan::parse_gate(t).value());
  return out;
}

const CompareRow& row_for(const Comparison& c, plan::GateMetric m) {
  for (const auto& r : c.rows) {
    if (r.metric == m) return r;
  }
  throw std::runtime_error("no row");
}

TEST(Compare, SameDistributionPasses) {
  auto base = p99_runs({5.0, 5.2, 4.9, 5.1, 5.3}, "base");
  auto cand = p99_runs({5.1, 4.8, 5.2, 5.0, 5.4}, "cand");
  auto c = compare_runs(base, cand, {.gates = default_gates()}).value();
  EXPECT_EQ(c.exit_code, 0) << c.headline;
  EXPECT_EQ(row_for(c, plan::GateMetric::p99).verdict, RowVerdict::pass);
  EXPECT_NE(c.headline.find("no regression: 5 gates passed"), std::string::npos) << c.headline;
  ASSERT_EQ(c.rows.size(), 5u);
  EXPECT_TRUE(c.rows[0].gate.has_value());
  EXPECT_EQ(c.rows[0].metric, plan::GateMetric::throughput);
  // Gates first, in order, then the usual metrics no gate covers, for context.
  auto p99_only = compare_runs(base, cand, {.gates = gates({"regression p99 < 20%"})}).value();
  ASSERT_EQ(p99_only.rows.size(), 5u);
  EXPECT_EQ(p99_only.rows[0].metric, plan::GateMetric::p99);
  EXPECT_FALSE(p99_only.rows[1].gate.has_value());
  EXPECT_EQ(p99_only.rows[1].metric, plan::GateMetric::throughput);
  EXPECT_EQ(p99_only.rows[1].verdict, RowVerdict::info);
}

TEST(Compare, SeparatedSlowdownBeyondTheLimitIsARegression) {
  auto base = p99_runs({5.0, 5.2, 4.9, 5.1, 5.3}, "base");
  auto cand = p99_runs({7.0, 7.5, 6.9, 7.2, 8.0}, "cand");  // median 7.2 vs 5.1: +41%
  auto c = compare_runs(base, cand, {.gates = gates({"regression p99 < 20%"})}).value();
  EXPECT_EQ(c.exit_code, 1);
  const auto& r = row_for(c, plan::GateMetric::p99);
  EXPECT_EQ(r.verdict, RowVerdict::regression);
  EXPECT_NEAR(r.p, 1.0 / 252, 1e-12);
  EXPECT_NEAR(r.change, 7.2 / 5.1 - 1, 1e-12);
  EXPECT_NEAR(r.worsening, r.change, 1e-12);
  EXPECT_EQ(r.cliffs_delta, 1.0);
  EXPECT_NEAR(r.shift, 2.1, 1e-9);  // median of every candidate - baseline difference
  EXPECT_EQ(r.baseline.min, 4.9);
  EXPECT_EQ(r.candidate.max, 8.0);
  EXPECT_NE(c.headline.find("regression: p99 +41.2% (p = 0.00397)"), std::string::npos)
      << c.headline;
  // The same slowdown within a wider limit passes.
  auto wide = compare_runs(base, cand, {.gates = gates({"regression p99 < 50%"})}).value();
  EXPECT_EQ(wide.exit_code, 0);
  EXPECT_EQ(row_for(wide, plan::GateMetric::p99).verdict, RowVerdict::pass);
}

TEST(Compare, OverlappingSlowdownIsNotSignificant) {
  // The medians differ by 30%, but the runs overlap: p > 0.05.
  auto base = p99_runs({5.0, 9.0, 4.0, 5.2, 8.0}, "base");
  auto cand = p99_runs({6.5, 4.5, 9.5, 7.0, 5.1}, "cand");
  auto c = compare_runs(base, cand, {.gates = gates({"regression p99 < 20%"})}).value();
  const auto& r = row_for(c, plan::GateMetric::p99);
  EXPECT_GT(r.worsening, 0.2);
  EXPECT_GE(r.p, 0.05);
  EXPECT_EQ(r.verdict, RowVerdict::not_significant);
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_NE(c.headline.find("not significant"), std::string::npos) << c.headline;
}

TEST(Compare, SignificantButSmallerThanMinEffectPasses) {
  auto base = p99_runs({5.00, 5.01, 5.02, 5.03, 5.04}, "base");
  auto cand = p99_runs({5.15, 5.16, 5.17, 5.18, 5.19}, "cand");  // +3%, p = 1/252
  auto c = compare_runs(base, cand, {.gates = gates({"regression p99 < 1%"}), .min_effect = 0.05})
               .value();
  EXPECT_EQ(row_for(c, plan::GateMetric::p99).verdict, RowVerdict::pass);
  EXPECT_EQ(c.exit_code, 0);
  auto strict =
      compare_runs(base, cand, {.gates = gates({"regression p99 < 1%"}), .min_effect = 0.01})
          .value();
  EXPECT_EQ(strict.exit_code, 1);
}

TEST(Compare, ThroughputIsWorseWhenLower) {
  RunSet base, faster, slower;
  for (int i = 0; i < 5; ++i) {
    base.dirs.emplace_back("b");
    base.reports.push_back(run_of({.ops_per_sec = 1000.0 + i}));
    faster.dirs.emplace_back("f");
    faster.reports.push_back(run_of({.ops_per_sec = 2000.0 + i}));
    slower.dirs.emplace_back("s");
    slower.reports.push_back(run_of({.ops_per_sec = 500.0 + i}));
  }
  auto g = gates({"regression throughput < 10%"});
  auto up = compare_runs(base, faster, {.gates = g}).value();
  EXPECT_EQ(up.exit_code, 0);
  EXPECT_NEAR(row_for(up, plan::GateMetric::throughput).p, 1.0, 1e-12);
  auto down = compare_runs(base, slower, {.gates = g}).value();
  EXPECT_EQ(down.exit_code, 1);
  const auto& r = row_for(down, plan::GateMetric::throughput);
  EXPECT_NEAR(r.change, -0.5, 0.01);
  EXPECT_NEAR(r.worsening, 0.5, 0.01);
  EXPECT_EQ(r.cliffs_delta, -1.0);
}

TEST(Compare, ErrorRatioChangesAreAbsolute) {
  auto runs = [](int64_t fail) {
    RunSet s;
    for (int i = 0; i < 5; ++i) {
      s.dirs.emplace_back("r");
      s.reports.push_back(run_of({.ok = 10000 - fail - i, .fail = fail + i}));
    }
    return s;
  };
  auto g = gates({"regression error_ratio < 1%"});
  // 0.0-0.04% against 0.5%: worse every time, but by half a percentage point: within 1%.
  auto small = compare_runs(runs(0), runs(50), {.gates = g}).value();
  const auto& r = row_for(small, plan::GateMetric::error_ratio);
  EXPECT_TRUE(r.absolute);
  EXPECT_NEAR(r.change, 0.005, 1e-9);
  EXPECT_LT(r.p, 0.05);
  EXPECT_EQ(r.verdict, RowVerdict::pass);
  // 2% more errors is a regression.
  auto big = compare_runs(runs(0), runs(200), {.gates = g}).value();
  EXPECT_EQ(row_for(big, plan::GateMetric::error_ratio).verdict, RowVerdict::regression);
  EXPECT_EQ(big.exit_code, 1);
}

TEST(Compare, TooFewRunsIsInconclusive) {
  auto base = p99_runs({5.0, 5.1}, "base");
  auto cand = p99_runs({50.0, 51.0}, "cand");  // ten times slower, but 2 vs 2: p >= 1/6
  auto c = compare_runs(base, cand, {.gates = gates({"regression p99 < 20%"})}).value();
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_EQ(c.repetitions_needed, 4u);
  EXPECT_NEAR(c.min_p, 1.0 / 6, 1e-12);
  EXPECT_EQ(row_for(c, plan::GateMetric::p99).verdict, RowVerdict::inconclusive);
  EXPECT_NE(c.headline.find("run at least 4 repetitions"), std::string::npos) << c.headline;
  // 3 against 3 reaches only 0.05; 3 against 4 reaches 1/35.
  EXPECT_EQ(compare_runs(p99_runs({1, 1, 1}, "b"), p99_runs({2, 2, 2}, "c"),
                         {.gates = gates({"regression p99 < 20%"})})
                .value()
                .exit_code,
            2);
  EXPECT_EQ(compare_runs(p99_runs({1, 1.1, 1.2}, "b"), p99_runs({2, 2.1, 2.2, 2.3}, "c"),
                         {.gates = gates({"regression p99 < 20%"})})
                .value()
                .exit_code,
            1);
}

TEST(Compare, FixedGateJudgesTheCandidatesMedian) {
  auto base = p99_runs({5.0, 5.1}, "base");
  auto cand = p99_runs({6.0, 7.0, 20.0}, "cand");  // median 7ms
  auto missed = compare_runs(base, cand, {.gates = gates({"p99 < 6.5ms"})}).value();
  EXPECT_EQ(row_for(missed, plan::GateMetric::p99).verdict, RowVerdict::missed);
  EXPECT_EQ(missed.exit_code, 1);  // a missed fixed gate needs no statistics
  EXPECT_NE(missed.headline.find("missed: p99 < 6.5ms (candidate median 7ms)"), std::string::npos)
      << missed.headline;
  auto met = compare_runs(base, cand, {.gates = gates({"p99 < 7.5ms"})}).value();
  EXPECT_EQ(met.exit_code, 0);
  auto throughput = compare_runs(base, cand, {.gates = gates({"throughput > 2000/s"})}).value();
  EXPECT_EQ(throughput.exit_code, 1);
}

TEST(Compare, WorkloadGatesReadThatWorkloadsPhase) {
  RunSet base, cand;
  for (int i = 0; i < 4; ++i) {
    base.dirs.emplace_back("b");
    base.reports.push_back(run_of({.p99 = 1.0 + i * 0.01}, "ingest"));
    cand.dirs.emplace_back("c");
    cand.reports.push_back(run_of({.p99 = 3.0 + i * 0.01}, "ingest"));
  }
  auto c = compare_runs(base, cand, {.gates = gates({"regression ingest/p99 < 20%"})}).value();
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_EQ(c.rows[0].workload, "ingest");
  EXPECT_NEAR(c.rows[0].p, 1.0 / 70, 1e-12);
  auto missing = compare_runs(base, cand, {.gates = gates({"regression other/p99 < 20%"})});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("has no other/main phase"), std::string::npos)
      << missing.error().message;
}

TEST(Compare, NotesDifferentPlansAndFailedChecks) {
  auto base = p99_runs({5, 5, 5, 5}, "base");
  auto cand = p99_runs({5, 5, 5, 5}, "cand");
  cand.reports[1].verdict = "invalid";
  for (auto& r : cand.reports) r.plan = "other";
  auto c = compare_runs(base, cand, {.gates = default_gates()}).value();
  ASSERT_EQ(c.notes.size(), 2u);
  EXPECT_NE(c.notes[0].find("plan 'perf', the candidate plan 'other'"), std::string::npos);
  EXPECT_NE(c.notes[1].find("cand/rep-2: verdict invalid"), std::string::npos) << c.notes[1];
}

TEST(Compare, NotesATestDelayFromResultsJson) {
  auto base = p99_runs({5, 5, 5, 5}, "base");
  auto cand = p99_runs({5, 5, 5, 5}, "cand");
  EXPECT_TRUE(compare_runs(base, cand, {.gates = default_gates()}).value().notes.empty());
  for (size_t i = 1; i < cand.reports.size(); ++i) {
    RunReport r = cand.reports[i];
    r.versions.test_delay = "10ms";
    // Through results.json, as compare reads it.
    const auto path = fs::temp_directory_path() / fmt::format("fl-delay-{}.json", ::getpid());
    std::ofstream(path) << results_json(r);
    auto back = read_results(path);
    fs::remove(path);
    ASSERT_TRUE(back) << back.error().message;
    cand.reports[i] = std::move(*back);
  }
  auto c = compare_runs(base, cand, {.gates = default_gates()}).value();
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].find("candidate runs: 3 of 4 had FAULTLINE_TEST_DELAY=10ms"),
            std::string::npos)
      << c.notes[0];
}

TEST(Compare, MarkdownAndJson) {
  auto base = p99_runs({5.0, 5.2, 4.9, 5.1, 5.3}, "base");
  auto cand = p99_runs({7.0, 7.5, 6.9, 7.2, 8.0}, "cand");
  auto c = compare_runs(base, cand, {.gates = gates({"regression p99 < 20%"})}).value();
  const std::string md = comparison_markdown(c);
  EXPECT_EQ(md.rfind("### ❌ faultline compare: regression: p99 +41.2%", 0), 0u) << md;
  EXPECT_NE(md.find("| metric | baseline median [min–max] | candidate median [min–max] | change "
                    "| p-value | effect (Cliff's δ) | gate | verdict |"),
            std::string::npos);
  EXPECT_NE(md.find("| p99 | 5.1ms [4.9ms–5.3ms] | 7.2ms [6.9ms–8ms] | +41.2% | 0.00397 "
                    "| +1.00 large | `regression p99 < 20%` | ❌ regression |"),
            std::string::npos)
      << md;
  const std::string table = comparison_table(c, false);
  EXPECT_NE(table.find("regression"), std::string::npos);
  EXPECT_EQ(table.find("\x1b["), std::string::npos);
  auto j = boost::json::parse(comparison_json(c)).as_object();
  EXPECT_EQ(j.at("exit_code").as_int64(), 1);
  const auto& row = j.at("rows").as_array().at(0).as_object();
  EXPECT_EQ(row.at("gate").as_string(), "regression p99 < 20%");
  EXPECT_EQ(row.at("verdict").as_string(), "regression");
  EXPECT_EQ(row.at("candidate").as_object().at("values").as_array().size(), 5u);
}

class RunDirs : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / fmt::format("fl-compare-test-{}", ::getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path write_run(const fs::path& dir, const std::string& verdict = "valid") {
    fs::create_directories(dir);
    RunReport r = run_of({});
    r.verdict = verdict;
    if (verdict == "error") r.error = "node db-0 did not start";
    std::ofstream(dir / "results.json") << results_json(r);
    return dir;
  }
  fs::path root_;
};

TEST_F(RunDirs, ResolvesRunDirectoriesRepeatOutputsAndLists) {
  for (int i : {1, 2, 10, 3}) write_run(root_ / "repeat" / fmt::format("rep-{}", i));
  fs::create_directories(root_ / "repeat" / "not-a-run");
  write_run(root_ / "single");
  auto dirs = resolve_run_dirs((root_ / "repeat").string()).value();
  ASSERT_EQ(dirs.size(), 4u);
  EXPECT_EQ(dirs[0].filename(), "rep-1");
  EXPECT_EQ(dirs[2].filename(), "rep-3");
  EXPECT_EQ(dirs[3].filename(), "rep-10");
  auto listed =
      resolve_run_dirs(fmt::format("{},{}", (root_ / "single").string(),
                                   (root_ / "repeat" / "rep-2" / "results.json").string()))
          .value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0], root_ / "single");
  EXPECT_EQ(listed[1], root_ / "repeat" / "rep-2");
  auto none = resolve_run_dirs((root_ / "repeat" / "not-a-run").string());
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("neither a run directory"), std::string::npos);
  EXPECT_FALSE(resolve_run_dirs((root_ / "absent").string()));
  auto set = load_run_set((root_ / "repeat").string()).value();
  EXPECT_EQ(set.reports.size(), 4u);
  EXPECT_EQ(set.reports[0].plan, "perf");
}

// A sweep's output or a runs/ directory holds different configurations: not repetitions.
TEST_F(RunDirs, ADirectoryOfRunsMustBeARepeatOutput) {
  write_run(root_ / "sweep" / "rate=100");
  write_run(root_ / "sweep" / "rate=200");
  write_run(root_ / "sweep" / "rep-1");
  auto sweep = resolve_run_dirs((root_ / "sweep").string());
  ASSERT_FALSE(sweep);
  const std::string& m = sweep.error().message;
  EXPECT_NE(m.find((root_ / "sweep").string() + ": not the output of `faultline run --repeat`"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("rate=100, rate=200"), std::string::npos) << m;
  EXPECT_EQ(m.find("rep-1"), std::string::npos) << m;
  EXPECT_FALSE(load_run_set((root_ / "sweep").string()));

  // repeat.json marks a --repeat output whatever its runs are called.
  write_run(root_ / "marked" / "first");
  write_run(root_ / "marked" / "second");
  std::ofstream(root_ / "marked" / "repeat.json") << "{}";
  auto marked = resolve_run_dirs((root_ / "marked").string());
  ASSERT_TRUE(marked) << marked.error().message;
  EXPECT_EQ(marked->size(), 2u);

  // A run directory itself is taken as one run, whatever sits beside or under it.
  EXPECT_EQ(resolve_run_dirs((root_ / "sweep" / "rate=100").string()).value().size(), 1u);
  // "rep-x" and "rep-" are not repetitions' names.
  write_run(root_ / "odd" / "rep-x");
  EXPECT_FALSE(resolve_run_dirs((root_ / "odd").string()));
}

TEST_F(RunDirs, RefusesARunThatEndedInAnError) {
  write_run(root_ / "runs" / "rep-1");
  write_run(root_ / "runs" / "rep-2", "error");
  auto set = load_run_set((root_ / "runs").string());
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("rep-2: the run ended in an error (node db-0 did not start)"),
            std::string::npos)
      << set.error().message;
}

}  // namespace
}  // namespace fl::report
