// The [gates] table: limits and regression lists, alpha and min_effect, with errors that name
// file:line:col and the key like every plan error.
#include <gtest/gtest.h>

#include <string>

#include "harness/plan/plan.h"

namespace fl::plan {
namespace {

std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.errors) out += d.str() + "\n";
  return out;
}

LoadResult load(const std::string& gates, const std::string& extra = {}) {
  return load_plan_string(
      "name = \"g\"\n[cluster.db]\n[[workload]]\nname = \"ingest\"\n"
      "kind = \"register\"\n" +
          extra + "[gates]\n" + gates,
      "g.toml");
}

TEST(PlanGates, AFullTable) {
  auto r = load(R"(limits = ["p99 < 5ms", "throughput > 800/s", "ingest/error_ratio < 1%"]
regression = ["throughput < 10%", "regression p99 < 25%"]
alpha = 0.01
min_effect = "2.5%"
)");
  ASSERT_TRUE(r.plan) << all_errors(r);
  const GatesSpec& g = r.plan->gates;
  ASSERT_EQ(g.limits.size(), 3u);
  EXPECT_EQ(g.limits[0].metric, GateMetric::p99);
  EXPECT_DOUBLE_EQ(g.limits[0].limit, 5);
  EXPECT_TRUE(g.limits[0].below);
  EXPECT_FALSE(g.limits[0].regression);
  EXPECT_FALSE(g.limits[1].below);
  EXPECT_EQ(g.limits[2].workload, "ingest");
  EXPECT_DOUBLE_EQ(g.limits[2].limit, 0.01);
  ASSERT_EQ(g.regressions.size(), 2u);
  EXPECT_TRUE(g.regressions[0].regression) << "the prefix is implied in 'regression'";
  EXPECT_EQ(g.regressions[0].metric, GateMetric::throughput);
  EXPECT_DOUBLE_EQ(g.regressions[0].limit, 0.10);
  EXPECT_DOUBLE_EQ(g.regressions[1].limit, 0.25);
  EXPECT_DOUBLE_EQ(g.alpha, 0.01);
  EXPECT_DOUBLE_EQ(g.min_effect, 0.025);
}

TEST(PlanGates, DefaultsAndANumericMinEffect) {
  auto none = load_plan_string("name = \"g\"\n", "g.toml");
  ASSERT_TRUE(none.plan) << all_errors(none);
  EXPECT_TRUE(none.plan->gates.empty());
  EXPECT_DOUBLE_EQ(none.plan->gates.alpha, 0.05);
  EXPECT_DOUBLE_EQ(none.plan->gates.min_effect, 0.05);
  auto r = load("min_effect = 0.1\n");
  ASSERT_TRUE(r.plan) << all_errors(r);
  EXPECT_DOUBLE_EQ(r.plan->gates.min_effect, 0.1);
}

TEST(PlanGates, ABadMetricNamesFileLineColumnAndKey) {
  auto r = load("limits = [\"p99 < 5ms\", \"p42 < 1ms\"]\n");
  ASSERT_FALSE(r.plan);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  // [gates] is on line 6; the bad element starts at column 24.
  EXPECT_EQ(r.errors[0].str(),
            "g.toml:7:24: 'limits' in [gates]: gate 'p42 < 1ms': unknown metric 'p42' "
            "(throughput, p50, p90, p99, p999, max, error_ratio, fail_ratio, info_ratio)");
}

TEST(PlanGates, BadAlphaAndMinEffect) {
  for (const char* alpha : {"0", "1", "1.5", "-0.1"}) {
    auto r = load(std::string("alpha = ") + alpha + "\n");
    ASSERT_FALSE(r.plan) << alpha;
    EXPECT_NE(all_errors(r).find("g.toml:7:9: 'alpha' in [gates] must be greater than 0"),
              std::string::npos)
        << all_errors(r);
  }
  auto typed = load("alpha = \"5%\"\n");
  EXPECT_NE(all_errors(typed).find("'alpha' in [gates] must be a number, got string"),
            std::string::npos)
      << all_errors(typed);
  for (const char* m : {"\"lots\"", "\"100%\"", "\"500%\"", "1.0", "5", "\"0.05\"", "true"}) {
    auto r = load(std::string("min_effect = ") + m + "\n");
    ASSERT_FALSE(r.plan) << m;
    EXPECT_NE(all_errors(r).find("g.toml:7:14: 'min_effect' in [gates] must be"), std::string::npos)
        << all_errors(r);
  }
}

// One percentage reader for gates, min_effect and `faultline compare --min-effect`.
TEST(PlanGates, ParseFraction) {
  EXPECT_EQ(parse_fraction("10%", false), 0.10);
  EXPECT_EQ(parse_fraction(" 2.5 % ", false), 0.025);
  EXPECT_EQ(parse_fraction("500%", false), 5.0) << "the caller bounds it";
  EXPECT_EQ(parse_fraction("0.1", true), 0.1);
  EXPECT_EQ(parse_fraction("0.1", false), std::nullopt) << "a bare number only when allowed";
  for (const char* bad : {"", "%", "-5%", "five%", "5%%", "nan%", "inf", "1e999"}) {
    EXPECT_EQ(parse_fraction(bad, true), std::nullopt) << bad;
  }
  auto spaced = load("min_effect = \"5 %\"\n");
  ASSERT_TRUE(spaced.plan) << all_errors(spaced);
  EXPECT_DOUBLE_EQ(spaced.plan->gates.min_effect, 0.05) << "as a gate's '10 %' reads";
}

TEST(PlanGates, UnknownKeysAndWorkloadsAreSuggested) {
  auto key = load("limit = [\"p99 < 5ms\"]\n");
  EXPECT_NE(
      all_errors(key).find("g.toml:7:1: unknown key 'limit' in [gates] (did you mean 'limits'?)"),
      std::string::npos)
      << all_errors(key);
  auto table = load_plan_string("name = \"g\"\n[gate]\nlimits = []\n", "g.toml");
  EXPECT_NE(all_errors(table).find("g.toml:2:2: unknown table [gate] (did you mean [gates]?)"),
            std::string::npos)
      << all_errors(table);
  auto workload = load("limits = [\"ingets/p99 < 5ms\"]\n");
  EXPECT_NE(all_errors(workload).find("g.toml:7:11: 'limits' in [gates]: gate 'ingets/p99 < "
                                      "5ms' names no workload 'ingets' of this plan (did you "
                                      "mean 'ingest'?)"),
            std::string::npos)
      << all_errors(workload);
}

TEST(PlanGates, ARegressionInLimitsAndAFixedLimitInRegression) {
  auto r = load("limits = [\"regression p99 < 10%\"]\nregression = [\"p99 < 5ms\", 3]\n");
  ASSERT_FALSE(r.plan);
  const std::string e = all_errors(r);
  EXPECT_NE(e.find("g.toml:7:11: 'limits' in [gates]: \"regression p99 < 10%\" is a regression "
                   "limit; put it in 'regression'"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("g.toml:8:15: 'regression' in [gates]: gate 'p99 < 5ms': '5ms' is not a "
                   "percentage (e.g. 10%)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("g.toml:8:28: 'regression' in [gates] must be an array of gate strings"),
            std::string::npos)
      << e;
}

}  // namespace
}  // namespace fl::plan
