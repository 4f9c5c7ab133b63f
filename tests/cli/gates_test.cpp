// End-to-end tests of gating with the `faultline` executable: fixed gates on a run (`--gate`,
// [gates] limits) into results.json and the exit code, `--repeat` into rep-1..rep-N and
// repeat.json, and FAULTLINE_TEST_DELAY reaching the nodes the harness starts.
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/test_process.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

const fs::path kSource = FL_SOURCE_DIR;
constexpr const char* kSmallPlan = "tests/cli/data/gates-db.toml";

using fl::test::slurp;

class Faultline : public fl::test::Process {
 public:
  Faultline(const std::vector<std::string>& args, const fs::path& dir)
      : Process(args, kSource, dir / "stdout", dir / "stderr") {}
};

class GatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("FAULTLINE_TEST_DELAY");
    tmp_ = fl::test::make_temp_dir("fl-gates-");
    ASSERT_FALSE(tmp_.empty());
  }
  void TearDown() override {
    ::unsetenv("FAULTLINE_TEST_DELAY");
    fs::remove_all(tmp_);
  }
  static json::object results(const fs::path& run) {
    return json::parse(slurp(run / "results.json")).as_object();
  }
  // results.json's gate whose text is `text`.
  static json::object gate(const json::object& results, std::string_view text) {
    for (const auto& g : results.at("gates").as_array()) {
      if (g.at("gate").as_string() == text) return g.as_object();
    }
    ADD_FAILURE() << "no gate '" << text << "' in " << json::serialize(results.at("gates"));
    return {};
  }
  fs::path tmp_;
};

TEST_F(GatesTest, AMissedGateFailsQuickstartAndIsInResults) {
  const fs::path run = tmp_ / "run";
  Faultline f({"run", "plans/quickstart.toml", "--gate", "p99 < 1ns", "--gate",
               "throughput > 1/s", "--duration", "2s", "--quiet", "--out", run.string()},
              tmp_);
  ASSERT_EQ(f.wait(180s), 1) << f.out() << f.err();
  auto r = results(run);
  EXPECT_EQ(r.at("verdict").as_string(), "invalid");
  for (const auto& c : r.at("checks").as_array()) {
    EXPECT_EQ(c.at("verdict").as_string(), "valid") << "only the gate fails the run";
  }
  auto missed = gate(r, "p99 < 1ns");
  EXPECT_EQ(missed.at("passed"), false);
  EXPECT_EQ(missed.at("metric").as_string(), "p99");
  EXPECT_GT(missed.at("value").to_number<double>(), 0);
  EXPECT_NE(std::string(missed.at("summary").as_string()).find("missed"), std::string::npos);
  EXPECT_EQ(gate(r, "throughput > 1/s").at("passed"), true);
}

TEST_F(GatesTest, AMetGateLeavesQuickstartPassing) {
  const fs::path run = tmp_ / "run";
  Faultline f({"run", "plans/quickstart.toml", "--gate", "p99 < 10s", "--duration", "1s",
               "--quiet", "--out", run.string()},
              tmp_);
  ASSERT_EQ(f.wait(180s), 0) << f.out() << f.err();
  auto r = results(run);
  EXPECT_EQ(r.at("verdict").as_string(), "valid");
  ASSERT_EQ(r.at("gates").as_array().size(), 1u);
  EXPECT_EQ(gate(r, "p99 < 10s").at("passed"), true);
}

TEST_F(GatesTest, RepeatRunsWithOneSeedIntoRepDirectories) {
  const fs::path out = tmp_ / "reps";
  Faultline f({"run", kSmallPlan, "--repeat", "2", "--gate", "p99 < 10s", "--duration", "1s",
               "--quiet", "--out", out.string()},
              tmp_);
  ASSERT_EQ(f.wait(180s), 0) << f.out() << f.err();
  auto rep = json::parse(slurp(out / "repeat.json")).as_object();
  EXPECT_EQ(rep.at("requested").to_number<int>(), 2);
  EXPECT_EQ(rep.at("exit_code").to_number<int>(), 0);
  const auto& list = rep.at("repetitions").as_array();
  ASSERT_EQ(list.size(), 2u);
  const uint64_t seed = rep.at("seed").to_number<uint64_t>();
  for (int i = 1; i <= 2; ++i) {
    const fs::path dir = out / ("rep-" + std::to_string(i));
    auto r = results(dir);
    EXPECT_EQ(r.at("seed").to_number<uint64_t>(), seed) << "the plan has no seed: one is drawn "
                                                           "once for every repetition";
    // The plan's own [gates] limit and the --gate both apply.
    EXPECT_EQ(r.at("gates").as_array().size(), 2u);
    EXPECT_EQ(list[i - 1].at("dir").as_string(), "rep-" + std::to_string(i));
    EXPECT_EQ(list[i - 1].at("verdict").as_string(), "valid");
    EXPECT_TRUE(list[i - 1].at("throughput").is_double());
    EXPECT_NE(f.out().find("rep " + std::to_string(i) + "/2  valid"), std::string::npos)
        << f.out();
  }
  EXPECT_NE(f.out().find("with seed " + std::to_string(seed)), std::string::npos) << f.out();
  EXPECT_NE(f.out().find("2 of 2 repetitions: 2 valid"), std::string::npos) << f.out();
  EXPECT_NE(f.out().find("throughput median"), std::string::npos) << f.out();
}

TEST_F(GatesTest, TestDelayReachesTheNodesAndSlowsEveryReply) {
  ASSERT_EQ(::setenv("FAULTLINE_TEST_DELAY", "30ms", 1), 0);
  const fs::path run = tmp_ / "run";
  Faultline f({"run", kSmallPlan, "--gate", "p50 > 30ms", "--duration", "1s", "--quiet",
               "--out", run.string()},
              tmp_);
  ASSERT_TRUE(f.wait(180s)) << f.out() << f.err();
  auto g = gate(results(run), "p50 > 30ms");
  EXPECT_EQ(g.at("passed"), true) << json::serialize(g);
  EXPECT_GE(g.at("value").to_number<double>(), 30.0);
  EXPECT_NE(slurp(run / "nodes" / "db-s0-r0" / "output.log").find("FAULTLINE_TEST_DELAY=30ms"),
            std::string::npos);
}

TEST_F(GatesTest, ABadTestDelayKeepsTheNodesFromStarting) {
  ASSERT_EQ(::setenv("FAULTLINE_TEST_DELAY", "slow", 1), 0);
  Faultline f({"run", kSmallPlan, "--quiet", "--out", (tmp_ / "run").string()}, tmp_);
  EXPECT_EQ(f.wait(120s), 3) << f.out() << f.err();
  // The summary names the node that did not start and the tail of its log: the node's reason.
  EXPECT_NE(f.out().find("faultline-db: FAULTLINE_TEST_DELAY 'slow': invalid duration"),
            std::string::npos)
      << f.out() << f.err();
}

TEST_F(GatesTest, BadGatesExit3BeforeAnythingStarts) {
  for (const char* bad : {"p42 < 1ms", "regression p99 < 10%", "nope/p99 < 1ms"}) {
    SCOPED_TRACE(bad);
    const fs::path run = tmp_ / "never";
    Faultline f({"run", kSmallPlan, "--gate", bad, "--out", run.string()}, tmp_);
    EXPECT_EQ(f.wait(30s), 3) << f.err();
    EXPECT_NE(f.err().find("--gate '"), std::string::npos) << f.err();
    EXPECT_FALSE(fs::exists(run));
  }
  Faultline zero({"run", kSmallPlan, "--repeat", "0"}, tmp_);
  EXPECT_EQ(zero.wait(30s), 3);
  EXPECT_NE(zero.err().find("--repeat 0 is out of range"), std::string::npos) << zero.err();
}

}  // namespace
