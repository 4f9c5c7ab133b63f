#include "harness/report/results.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace fl::report {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class ResultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "fl-results-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& text) {
    const fs::path p = dir_ / "results.json";
    std::ofstream(p) << text;
    return p;
  }

  fs::path dir_;
};

// Every field results.json has, with values that differ from the defaults.
RunReport full_report() {
  RunReport r;
  r.faultline_version = "0.1.0";
  r.plan = "quickstart";
  r.plan_file = "plans/quickstart.toml";
  r.seed = 18446744073709551615ull;  // the largest seed survives as an integer
  r.run_dir = "runs/quickstart-20261128T100000";
  r.started_at = "2026-11-28T10:00:00Z";
  r.planned_seconds = 5;
  r.elapsed_seconds = 7.25;
  r.workload = "register";
  r.mode = "open";
  r.target_rate = 1000;
  r.concurrency = 32;
  r.phases.push_back({"main", 4000, 30, 10, 2, 998.25, {0.5, 0.9, 2.5, 7.75, 12}});
  r.phases.push_back({"final-reads", 50, 0, 0, 0, 250, {0.25, 0.3, 0.4, 0.4, 0.4}});
  r.checks.push_back({"linearizable", "cas-register", "invalid", "1 key of 50 not linearizable",
                      R"({"keys":50,"invalid_keys":["k7"]})", 0.125, "reg"});
  r.checks.push_back({"availability", "", "valid", "ok ratio 0.99", "{}", 0.001, ""});
  r.gates.push_back({"p99 < 5ms", "p99", 5, 2.5, true, "p99 2.5ms, limit < 5ms: passed"});
  r.gates.push_back({"ingest/p50 < 1ms", "ingest/p50", 1, std::nan(""), false, "no such metric"});
  r.nodes.push_back(
      {"db-s0-r0",
       "db",
       "127.0.0.1:4000",
       123,
       "db",
       0,
       {{"faultline_version", "0.1.0"}, {"role", "master"}, {"keys", "17"}, {"hit_ratio", "0.5"}},
       ""});
  r.nodes.push_back({"redis", "external", "127.0.0.1:6379", 456, "redis", -1, {}, "not running"});
  r.versions = {"0.1.0", "g++ 12.2.0", "1.81.0", {{"db-s0-r0", "0.1.0"}}, ""};
  r.cluster.network = "proxy";
  r.cluster.groups.push_back(
      {"db", "db", 9, {{"shards", "3"}, {"replicas", "3"}, {"replication", "sync"}}});
  r.cluster.groups.push_back({"cache", "cache", 3, {{"write_policy", "write-through"}}});
  r.cluster.external = {"redis"};
  r.shards.push_back({0, 1300, 10, 3, 330.5, 0.5, 2.25});
  r.shards.push_back({1, 1400, 20, 7, 350, 0.75, 3});
  r.faults.push_back({0,
                      "kill",
                      "db:shard=0:master",
                      {"db-s0-r0"},
                      1'000'000'000,
                      3'000'000'000,
                      "plan",
                      "kill db:shard=0:master (master) for 2s"});
  r.faults.push_back({-1,
                      "partition",
                      "",
                      {"db-s0-r1", "db-s0-r2"},
                      4'000'000'000,
                      std::nullopt,
                      "control",
                      "partition db-s0-r1,db-s0-r2"});
  r.history_ops = 8123;
  r.harness_cpu_seconds = 1.5;
  r.harness_max_rss_bytes = 50'000'000;
  r.verdict = "invalid";
  r.exit_code = 1;
  return r;
}

TEST_F(ResultsTest, ResultsJsonRoundTripsThroughReadResults) {
  const RunReport r = full_report();
  const std::string text = results_json(r);
  auto back = read_results(write(text));
  ASSERT_TRUE(back) << back.error().message;
  // Nothing is lost: written again, it is the same file.
  EXPECT_EQ(results_json(*back), text);

  EXPECT_EQ(back->seed, r.seed);
  EXPECT_EQ(back->versions.faultline, "0.1.0");
  EXPECT_EQ(back->versions.compiler, "g++ 12.2.0");
  EXPECT_EQ(back->versions.boost, "1.81.0");
  EXPECT_EQ(back->versions.test_delay, "") << "absent when FAULTLINE_TEST_DELAY was unset";
  ASSERT_EQ(back->versions.nodes.size(), 1u);
  EXPECT_EQ(back->versions.nodes[0], (std::pair<std::string, std::string>{"db-s0-r0", "0.1.0"}));
  EXPECT_EQ(back->cluster.network, "proxy");
  ASSERT_EQ(back->cluster.groups.size(), 2u);
  EXPECT_EQ(back->cluster.groups[0].nodes, 9);
  EXPECT_EQ(back->cluster.groups[0].settings, r.cluster.groups[0].settings);
  EXPECT_EQ(back->cluster.external, std::vector<std::string>{"redis"});
  ASSERT_EQ(back->shards.size(), 2u);
  EXPECT_EQ(back->shards[1].shard, 1);
  EXPECT_EQ(back->shards[1].fail, 20);
  EXPECT_EQ(back->shards[1].info, 7);
  EXPECT_DOUBLE_EQ(back->shards[0].ops_per_sec, 330.5);
  EXPECT_DOUBLE_EQ(back->shards[0].p99_ms, 2.25);
  ASSERT_EQ(back->faults.size(), 2u);
  EXPECT_EQ(back->faults[0].index, 0);
  EXPECT_EQ(back->faults[0].nodes, std::vector<std::string>{"db-s0-r0"});
  EXPECT_EQ(back->faults[0].start_ns, 1'000'000'000);
  EXPECT_EQ(back->faults[0].end_ns, std::optional<int64_t>(3'000'000'000));
  EXPECT_EQ(back->faults[0].source, "plan");
  EXPECT_EQ(back->faults[1].index, -1);
  EXPECT_FALSE(back->faults[1].end_ns);
  EXPECT_EQ(back->faults[1].source, "control");
  EXPECT_EQ(back->faults[1].detail, "partition db-s0-r1,db-s0-r2");
  EXPECT_TRUE(std::isnan(back->gates[1].value));
  ASSERT_EQ(back->nodes[0].info.size(), 4u);
  EXPECT_EQ(back->nodes[0].info[3].second, "0.5");
  EXPECT_EQ(back->nodes[1].info_error, "not running");
}

TEST_F(ResultsTest, PhasesCarryTheirRatios) {
  auto root = json::parse(results_json(full_report())).as_object();
  const auto& main = root.at("phases").as_array()[0].as_object();
  // 4000 ok, 30 fail, 10 info.
  EXPECT_DOUBLE_EQ(main.at("error_ratio").as_double(), 40.0 / 4040);
  EXPECT_DOUBLE_EQ(main.at("fail_ratio").as_double(), 30.0 / 4040);
  EXPECT_DOUBLE_EQ(main.at("info_ratio").as_double(), 10.0 / 4040);
  const auto& reads = root.at("phases").as_array()[1].as_object();
  EXPECT_EQ(reads.at("error_ratio").to_number<double>(), 0.0);
  // A phase with no operations has ratios of 0, not NaN.
  EXPECT_EQ(PhaseMetrics{}.error_ratio(), 0.0);
  // An end never reached is null; a control fault has no index.
  const auto& faults = root.at("faults").as_array();
  EXPECT_TRUE(faults[1].at("end_ns").is_null());
  EXPECT_TRUE(faults[1].at("fault").is_null());
  EXPECT_EQ(root.at("cluster").at("node_count").as_int64(), 2);
  EXPECT_EQ(root.at("cluster").at("groups").as_array()[0].at("settings").at("shards").as_int64(),
            3);
}

TEST_F(ResultsTest, AnOlderResultsJsonWithoutTheNewFieldsStillReads) {
  auto back = read_results(write(R"({"plan":"old","seed":3,"verdict":"valid","exit_code":0})"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->plan, "old");
  EXPECT_TRUE(back->faults.empty());
  EXPECT_TRUE(back->shards.empty());
  EXPECT_TRUE(back->cluster.groups.empty());
}

TEST_F(ResultsTest, AWrongTypeIsAnErrorNamingTheKey) {
  auto back = read_results(write(R"({"plan":"p","faults":[{"start_ns":"soon"}]})"));
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().message.find("'start_ns' is not a number"), std::string::npos)
      << back.error().message;
}

TEST(TerminalSummary, ShowsHeadlineChecksAndGates) {
  const RunReport r = full_report();
  const std::string plain = terminal_summary(r, false);
  EXPECT_EQ(plain.find("\x1b["), std::string::npos) << plain;
  // The headline: main phase throughput (served: 998 ops/s of which 4000 of 4040 ok),
  // percentiles and error ratio.
  EXPECT_NE(plain.find("988 ops/s served  p50 0.50ms  p99 2.50ms  p999 7.75ms  error ratio 0.99%"),
            std::string::npos)
      << plain;
  // Checks judging different workloads name theirs; gates follow the checks.
  const size_t check = plain.find("linearizable(cas-register) @reg");
  const size_t gate = plain.find("gate: p99 < 5ms");
  const size_t missed = plain.find("gate: ingest/p50 < 1ms");
  ASSERT_NE(check, std::string::npos) << plain;
  ASSERT_NE(gate, std::string::npos) << plain;
  ASSERT_NE(missed, std::string::npos) << plain;
  EXPECT_LT(check, gate);
  EXPECT_NE(plain.find("passed    p99 2.5ms, limit < 5ms: passed"), std::string::npos) << plain;
  EXPECT_NE(plain.find("missed    no such metric"), std::string::npos) << plain;
  EXPECT_NE(plain.find("Result: invalid (exit 1)"), std::string::npos) << plain;
  const std::string coloured = terminal_summary(r, true);
  EXPECT_NE(coloured.find("\x1b[31mmissed  \x1b[0m"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("\x1b[32mpassed  \x1b[0m"), std::string::npos) << coloured;
}

}  // namespace
}  // namespace fl::report
