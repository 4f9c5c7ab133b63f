// --repeat's bookkeeping: the worst exit code, the summary's medians and ranges, repeat.json, and
// a repetition read back from a results.json written by report::results_json.
#include "harness/run/repeat.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "harness/report/results.h"

namespace fl::run {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

TEST(Repeat, WorstExitCodeOrdersHarnessThenViolationThenUnknown) {
  EXPECT_EQ(worst_exit_code(0, 0), 0);
  EXPECT_EQ(worst_exit_code(0, 2), 2);
  EXPECT_EQ(worst_exit_code(2, 1), 1);
  EXPECT_EQ(worst_exit_code(1, 2), 1);
  EXPECT_EQ(worst_exit_code(1, 3), 3);
  EXPECT_EQ(worst_exit_code(3, 0), 3);
}

Repetition rep(int i, std::string verdict, int code, double tput, double p50, double p99) {
  Repetition r;
  r.index = i;
  r.dir = fs::path("out") / ("rep-" + std::to_string(i));
  r.verdict = std::move(verdict);
  r.exit_code = code;
  r.throughput = tput;
  r.p50_ms = p50;
  r.p99_ms = p99;
  return r;
}

TEST(Repeat, SummaryGivesMedianAndRangeOverRepetitions) {
  std::vector<Repetition> reps{rep(1, "valid", 0, 1000, 0.5, 2.0),
                               rep(2, "invalid", 1, 3000, 0.7, 9.0),
                               rep(3, "valid", 0, 2000, 0.6, 4.0)};
  const std::string s = repeat_summary(reps, 5, true);
  EXPECT_NE(s.find("3 of 5 repetitions (stopped early): 2 valid 1 invalid"), std::string::npos)
      << s;
  EXPECT_NE(s.find("median     2000 ops/s   min-max 1000-3000 ops/s"), std::string::npos) << s;
  EXPECT_NE(s.find("p99        median      4.000ms   min-max 2.000-9.000ms"), std::string::npos)
      << s;
  EXPECT_EQ(s.find("p999"), std::string::npos) << "no repetition has p999: no row";
  const std::string line = repetition_line(reps[1], 5);
  EXPECT_NE(line.find("rep 2/5  invalid"), std::string::npos) << line;
  EXPECT_NE(line.find("3000 ops/s  p50 0.70ms  p99 9.00ms"), std::string::npos) << line;
}

TEST(Repeat, JsonListsEveryRepetition) {
  std::vector<Repetition> reps{rep(1, "valid", 0, 1000, 0.5, 2.0),
                               rep(2, "unknown", 2, 1100, 0.5, 2.5)};
  auto v = json::parse(repeat_json("quickstart", 42, 2, false, reps, 2)).as_object();
  EXPECT_EQ(v.at("plan").as_string(), "quickstart");
  EXPECT_EQ(v.at("seed").to_number<uint64_t>(), 42u);
  EXPECT_EQ(v.at("completed").to_number<int>(), 2);
  EXPECT_EQ(v.at("exit_code").to_number<int>(), 2);
  const auto& list = v.at("repetitions").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].at("dir").as_string(), "rep-2");
  EXPECT_EQ(list[1].at("verdict").as_string(), "unknown");
  EXPECT_EQ(list[1].at("p99_ms").as_double(), 2.5);
  EXPECT_TRUE(list[1].at("p999_ms").is_null());
}

TEST(Repeat, ReadsARepetitionBackFromResultsJson) {
  char tmpl[] = "/tmp/fl-repeat-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  report::RunReport r;
  r.verdict = "invalid";
  r.exit_code = 1;
  report::PhaseMetrics m;
  m.name = "main";
  m.ok = 100;
  m.ops_per_sec = 1234;
  m.latency = {0.4, 0.8, 1.5, 3.0, 4.0};
  r.phases.push_back(m);
  std::ofstream(dir / "results.json") << report::results_json(r);
  auto got = read_repetition(3, dir, 1);
  EXPECT_EQ(got.verdict, "invalid");
  EXPECT_EQ(got.exit_code, 1);
  ASSERT_TRUE(got.throughput);
  EXPECT_DOUBLE_EQ(*got.throughput, 1234);
  EXPECT_DOUBLE_EQ(*got.p99_ms, 1.5);
  EXPECT_DOUBLE_EQ(*got.p999_ms, 3.0);
  auto missing = read_repetition(4, dir / "nope", 0);
  EXPECT_EQ(missing.verdict, "error");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_FALSE(missing.error.empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fl::run
