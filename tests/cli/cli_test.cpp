// End-to-end tests of the `faultline` executable: real plans, real processes, real signals.
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_process.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

const fs::path kSource = FL_SOURCE_DIR;

using fl::test::alive;
using fl::test::eventually;
using fl::test::slurp;

// `faultline args...` in the source directory with stdout/stderr to `dir`/stdout and `dir`/stderr.
class Faultline : public fl::test::Process {
 public:
  Faultline(const std::vector<std::string>& args, const fs::path& dir)
      : Process(args, kSource, dir / "stdout", dir / "stderr") {}
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fl::test::make_temp_dir("fl-cli-");
    ASSERT_FALSE(tmp_.empty());
  }
  void TearDown() override {
    fl::test::kill_alive(node_pids_);
    fs::remove_all(tmp_);
  }

  // Waits for cluster.json and returns its nodes; remembers their pids for cleanup.
  json::array wait_cluster(Faultline& f, const fs::path& run) {
    bool ready = eventually([&] { return fs::exists(run / "cluster.json"); }, 90s);
    EXPECT_TRUE(ready) << "no cluster.json; stderr:\n" << f.err();
    if (!ready) return {};
    auto nodes = json::parse(slurp(run / "cluster.json")).as_object().at("nodes").as_array();
    for (const auto& n : nodes) node_pids_.push_back(static_cast<int>(n.at("pid").as_int64()));
    return nodes;
  }

  std::vector<json::object> events(const fs::path& run) {
    std::vector<json::object> out;
    std::istringstream in(slurp(run / "events.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
  }

  // Node ids in the order their events of `type` appear.
  std::vector<std::string> order_of(const fs::path& run, std::string_view type) {
    std::vector<std::string> ids;
    for (const auto& e : events(run)) {
      if (e.at("type").as_string() == type) ids.emplace_back(e.at("node").as_string());
    }
    return ids;
  }

  fs::path tmp_;
  std::vector<int> node_pids_;
};

TEST_F(CliTest, ValidateAcceptsShippedPlansAndPrintsTopology) {
  Faultline f({"validate", "plans/boot-20.toml"}, tmp_);
  ASSERT_EQ(f.wait(60s), 0) << f.err();
  EXPECT_NE(f.out().find("plan 'boot-20', 20 nodes"), std::string::npos) << f.out();
  EXPECT_NE(f.out().find("redis-edge-4"), std::string::npos) << f.out();
}

TEST_F(CliTest, ValidateBadFixturesPrintTheExpectedDiagnostics) {
  int fixtures = 0;
  for (const auto& e : fs::directory_iterator(kSource / "tests/plans/bad")) {
    if (e.path().extension() != ".toml") continue;
    ++fixtures;
    fs::path rel = fs::path("tests/plans/bad") / e.path().filename();
    fs::path expected = e.path();
    expected.replace_extension(".expected");
    Faultline f({"validate", rel.string()}, tmp_);
    EXPECT_EQ(f.wait(60s), 3) << rel;
    EXPECT_EQ(f.err(), slurp(expected)) << rel;
    EXPECT_EQ(f.out(), "") << rel;
  }
  EXPECT_GE(fixtures, 10);
}

TEST_F(CliTest, UnknownCommandAndBadOptionsExit3) {
  Faultline a({"frobnicate"}, tmp_);
  EXPECT_EQ(a.wait(30s), 3);
  EXPECT_NE(a.err().find("unknown command 'frobnicate'"), std::string::npos);
  Faultline b({"up"}, tmp_);
  EXPECT_EQ(b.wait(30s), 3);
  Faultline c({"validate", "--help"}, tmp_);
  EXPECT_EQ(c.wait(30s), 0);
  EXPECT_NE(c.out().find("Usage: faultline validate"), std::string::npos);
}

TEST_F(CliTest, UpStartsInDependencyOrderAndSigtermStopsInReverse) {
  const fs::path run = tmp_ / "run";
  Faultline f({"up", "tests/plans/good/chain.toml", "--out", run.string()}, tmp_);
  auto nodes = wait_cluster(f, run);
  ASSERT_EQ(nodes.size(), 3u);
  for (const auto& n : nodes) {
    EXPECT_TRUE(alive(static_cast<int>(n.at("pid").as_int64()))) << json::serialize(n);
    EXPECT_GT(n.at("port").as_int64(), 0);
  }
  EXPECT_TRUE(fs::exists(run / "plan.toml"));
  EXPECT_TRUE(fs::exists(run / "nodes/a/output.log"));
  EXPECT_EQ(order_of(run, "node.ready"), (std::vector<std::string>{"a", "b", "c"}));

  f.signal(SIGTERM);
  ASSERT_EQ(f.wait(60s), 0) << f.err();
  for (int pid : node_pids_) EXPECT_FALSE(alive(pid)) << pid;
  EXPECT_EQ(order_of(run, "node.exited"), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(events(run).back().at("type").as_string(), "run.stop");
}

TEST_F(CliTest, CtrlCStopsEveryNodeCleanly) {
  const fs::path run = tmp_ / "run";
  Faultline f({"up", "plans/quickstart.toml", "--out", run.string()}, tmp_);
  auto nodes = wait_cluster(f, run);
  // The whole reference cluster: broker, 3 x 3 db, 3 caches, 2 LBs.
  ASSERT_EQ(nodes.size(), 15u);
  // cluster.json is written before `up` prints its table of endpoints.
  EXPECT_TRUE(eventually([&] { return f.out().find("Press Ctrl-C") != std::string::npos; }, 10s))
      << f.out();
  // The table lists the LBs first (where a client connects), each with its role, and says
  // how to reach the first one.
  const std::string out = f.out();
  const size_t header = out.find("  ID ");
  ASSERT_NE(header, std::string::npos) << out;
  const size_t first_row = out.find('\n', header) + 1;
  EXPECT_EQ(out.substr(first_row, 8), "  lb-0  ") << out;
  EXPECT_NE(out.find("lb key-hash -> cache"), std::string::npos) << out;
  EXPECT_NE(out.find("cache write-through lru"), std::string::npos) << out;
  EXPECT_NE(out.find("db master shard 2"), std::string::npos) << out;
  EXPECT_NE(out.find("Try: redis-cli -p "), std::string::npos) << out;
  f.signal(SIGINT);
  ASSERT_EQ(f.wait(60s), 0) << f.err();
  for (int pid : node_pids_) EXPECT_FALSE(alive(pid)) << pid;
  for (const auto& e : events(run)) {
    if (e.at("type").as_string() == "node.exited") {
      EXPECT_EQ(e.at("exit_code").as_int64(), 0) << json::serialize(e);
    }
  }
}

TEST_F(CliTest, SigkillOfUpLeavesNoNodeAliveTwoSecondsLater) {
  const fs::path run = tmp_ / "run";
  Faultline f({"up", "plans/boot-20.toml", "--out", run.string()}, tmp_);
  auto nodes = wait_cluster(f, run);
  ASSERT_EQ(nodes.size(), 20u);
  f.signal(SIGKILL);
  ASSERT_EQ(f.wait(30s), -SIGKILL);
  EXPECT_TRUE(eventually([&] {
    for (int pid : node_pids_) {
      if (alive(pid)) return false;
    }
    return true;
  }, 2s));
}

TEST_F(CliTest, NodeThatFailsToStartIsReportedWithItsLogAndEverythingStops) {
  const fs::path run = tmp_ / "run";
  Faultline f({"up", "tests/plans/good/never-ready.toml", "--out", run.string()}, tmp_);
  ASSERT_EQ(f.wait(90s), 3) << f.err();
  EXPECT_NE(f.err().find("broken"), std::string::npos) << f.err();
  // redis-server explains what it did not like; the tail of its log must reach the user.
  EXPECT_NE(f.err().find("no-such-option-for-redis"), std::string::npos) << f.err();
  EXPECT_FALSE(fs::exists(run / "cluster.json"));
  for (const auto& e : events(run)) {
    if (e.at("type").as_string() == "node.spawned") {
      EXPECT_FALSE(alive(static_cast<int>(e.at("pid").as_int64()))) << json::serialize(e);
    }
  }
}

TEST_F(CliTest, RunDirectoryIsNeverOverwritten) {
  fs::create_directories(tmp_ / "run");
  std::ofstream(tmp_ / "run" / "results.json") << "{}";
  Faultline f({"up", "plans/quickstart.toml", "--out", (tmp_ / "run").string()}, tmp_);
  EXPECT_EQ(f.wait(30s), 3);
  EXPECT_NE(f.err().find("never overwritten"), std::string::npos) << f.err();
  EXPECT_EQ(slurp(tmp_ / "run" / "results.json"), "{}");
}

TEST_F(CliTest, RunQuickstartWritesACompleteRunDirectoryAndPasses) {
  const fs::path run = tmp_ / "run";
  Faultline f({"run", "plans/quickstart.toml", "--duration", "3s", "--quiet", "--out", run.string()},
              tmp_);
  ASSERT_EQ(f.wait(180s), 0) << f.out() << f.err();
  for (const char* file :
       {"plan.toml", "cluster.json", "history.jsonl", "events.jsonl", "results.json", "junit.xml",
        "nodes/db-s0-r0/output.log", "nodes/lb-0/output.log", "nodes/cache-2/output.log",
        "nodes/broker/output.log"}) {
    EXPECT_TRUE(fs::exists(run / file)) << file;
  }
  auto results = json::parse(slurp(run / "results.json")).as_object();
  EXPECT_EQ(results.at("verdict").as_string(), "valid");
  EXPECT_EQ(results.at("seed").as_int64(), 1);
  auto checks = results.at("checks").as_array();
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_EQ(checks[0].at("kind").as_string(), "linearizable");
  EXPECT_EQ(checks[2].at("kind").as_string(), "convergence");
  EXPECT_GT(results.at("workload").at("history_ops").as_int64(), 1000);
  EXPECT_NE(f.out().find("Result: valid (exit 0)"), std::string::npos) << f.out();
  // The new facts of results.json: versions, cluster, per-shard metrics of the 3-shard db (every
  // shard served operations), and no fault in a plan without [[fault]].
  EXPECT_EQ(results.at("versions").at("nodes").at("db-s0-r0").as_string(),
            results.at("versions").at("faultline").as_string());
  EXPECT_EQ(results.at("cluster").at("node_count").as_int64(), 15);
  const auto& shards = results.at("shards").as_array();
  ASSERT_EQ(shards.size(), 3u);
  for (const auto& sh : shards) EXPECT_GT(sh.at("ok").as_int64(), 0) << json::serialize(sh);
  EXPECT_TRUE(results.at("faults").as_array().empty());
  // junit.xml validates against the common JUnit shape and lists every check as a test case.
  const int lint = std::system(
      ("xmllint --noout --schema '" + (kSource / "tests/data/junit.xsd").string() + "' '" +
       (run / "junit.xml").string() + "' 2>'" + (tmp_ / "xmllint.err").string() + "'")
          .c_str());
  EXPECT_EQ(lint, 0) << slurp(tmp_ / "xmllint.err");
  const std::string junit = slurp(run / "junit.xml");
  EXPECT_NE(junit.find(R"(<testsuite name="faultline.quickstart" tests="4" failures="0")"),
            std::string::npos)
      << junit;
  for (const auto& c : checks) {
    std::string name(c.at("kind").as_string());
    if (const auto* m = c.as_object().if_contains("model")) {
      name += "(" + std::string(m->as_string()) + ")";
    }
    EXPECT_NE(junit.find("name=\"" + name + "\""), std::string::npos) << name << "\n" << junit;
  }
  // The history on disk is what `faultline check` reads, with the same verdict.
  Faultline check({"check", (run / "history.jsonl").string(), "--model", "cas-register"}, tmp_);
  EXPECT_EQ(check.wait(120s), 0) << check.out() << check.err();
  // Every node was stopped.
  for (const auto& e : events(run)) {
    if (e.at("type").as_string() == "node.spawned") {
      EXPECT_FALSE(alive(static_cast<int>(e.at("pid").as_int64())));
    }
  }
  // The same seed replays the same operation sequence.
  const fs::path again = tmp_ / "again";
  Faultline g({"run", (run / "plan.toml").string(), "--duration", "1s", "--quiet", "--out",
               again.string()},
              tmp_);
  ASSERT_EQ(g.wait(180s), 0) << g.out() << g.err();
  auto first_ops = [](const fs::path& history, size_t n) {
    std::vector<std::string> out;
    std::istringstream in(slurp(history));
    for (std::string line; std::getline(in, line) && out.size() < n;) {
      auto o = json::parse(line).as_object();
      if (o.at("type").as_string() != "invoke") continue;
      out.push_back(json::serialize(o.at("f")) + json::serialize(o.at("key")) +
                    json::serialize(o.at("value")));
    }
    return out;
  };
  EXPECT_EQ(first_ops(run / "history.jsonl", 200), first_ops(again / "history.jsonl", 200));
}

TEST_F(CliTest, RunAgainstARealRedisServerPasses) {
  const fs::path run = tmp_ / "run";
  Faultline f(
      {"run", "plans/redis-register.toml", "--duration", "3s", "--quiet", "--out", run.string()},
      tmp_);
  ASSERT_EQ(f.wait(180s), 0) << f.out() << f.err();
  auto results = json::parse(slurp(run / "results.json")).as_object();
  EXPECT_EQ(results.at("verdict").as_string(), "valid");
}

TEST_F(CliTest, RunKilledMidWayLeavesAHistoryThatCheckReads) {
  const fs::path run = tmp_ / "run";
  Faultline f({"run", "plans/quickstart.toml", "--duration", "60s", "--quiet", "--out",
               run.string()},
              tmp_);
  // Wait until a good part of the history is on disk (the writer flushes every 200ms).
  ASSERT_TRUE(eventually([&] { return slurp(run / "history.jsonl").size() > 200'000; }, 120s))
      << f.err();
  auto nodes = wait_cluster(f, run);
  f.signal(SIGKILL);
  ASSERT_EQ(f.wait(30s), -SIGKILL);
  Faultline check({"check", (run / "history.jsonl").string(), "--model", "cas-register"}, tmp_);
  EXPECT_EQ(check.wait(120s), 0) << check.out() << check.err();
  EXPECT_NE(check.out().find("valid"), std::string::npos) << check.out();
  EXPECT_TRUE(eventually([&] {
    for (int pid : node_pids_) {
      if (alive(pid)) return false;
    }
    return true;
  }, 2s));
}

// Two workloads side by side: each check judges its own workload's operations and says which.
TEST_F(CliTest, RunTwoWorkloadsSideBySideChecksEachAndPasses) {
  const fs::path run = tmp_ / "run";
  Faultline f({"run", "tests/plans/good/two-workloads.toml", "--quiet", "--out", run.string()},
              tmp_);
  ASSERT_EQ(f.wait(180s), 0) << f.out() << f.err();
  auto results = json::parse(slurp(run / "results.json")).as_object();
  EXPECT_EQ(results.at("verdict").as_string(), "valid");
  std::vector<std::pair<std::string, std::string>> checks;
  for (const auto& c : results.at("checks").as_array()) {
    EXPECT_EQ(c.at("verdict").as_string(), "valid") << json::serialize(c);
    checks.emplace_back(std::string(c.at("kind").as_string()),
                        std::string(c.at("workload").as_string()));
  }
  EXPECT_EQ(checks, (std::vector<std::pair<std::string, std::string>>{{"linearizable", "reg"},
                                                                      {"availability", "reg"},
                                                                      {"perf", "reg"},
                                                                      {"set-full", "sets"},
                                                                      {"availability", "sets"},
                                                                      {"perf", "sets"}}));
  // Each checker was given only its workload's operations: 10 register keys, 4 sets.
  const auto& judged = results.at("checks").as_array();
  EXPECT_NE(judged[0].at("summary").as_string().find(" 10 keys"), std::string::npos)
      << json::serialize(judged[0]);
  EXPECT_NE(judged[3].at("summary").as_string().find(" on 4 keys"), std::string::npos)
      << json::serialize(judged[3]);
  // Process ids interleave (reg even, sets odd) and keys carry the workload's name.
  std::map<std::string, int64_t> ops_of;
  std::istringstream in(slurp(run / "history.jsonl"));
  for (std::string line; std::getline(in, line);) {
    auto op = json::parse(line).as_object();
    if (!op.at("process").is_int64()) continue;  // the nemesis
    const int64_t p = op.at("process").as_int64();
    const std::string key(op.at("key").as_string());
    const std::string want = p % 2 == 0 ? "reg:k" : "sets:s";
    EXPECT_TRUE(key.starts_with(want)) << line;
    ++ops_of[want];
  }
  EXPECT_GT(ops_of["reg:k"], 100);
  EXPECT_GT(ops_of["sets:s"], 100);
  EXPECT_NE(f.out().find("linearizable(cas-register) @reg"), std::string::npos) << f.out();
}

// Sharded and replicated: after the kill of a shard's master no operation ends with a MOVED
// error (the client follows routes and waits out the election), and every check passes.
TEST_F(CliTest, RunShardedFailoverFollowsTheNewMaster) {
  const fs::path run = tmp_ / "run";
  Faultline f({"run", "tests/plans/good/sharded-failover.toml", "--quiet", "--out", run.string()},
              tmp_);
  ASSERT_EQ(f.wait(240s), 0) << f.out() << f.err();
  auto results = json::parse(slurp(run / "results.json")).as_object();
  EXPECT_EQ(results.at("verdict").as_string(), "valid");
  bool killed = false;
  for (const auto& e : events(run)) killed |= e.at("type").as_string() == "fault.start";
  EXPECT_TRUE(killed);
  std::map<std::string, int64_t> ok_by_workload;
  std::istringstream in(slurp(run / "history.jsonl"));
  for (std::string line; std::getline(in, line);) {
    auto op = json::parse(line).as_object();
    if (!op.at("process").is_int64()) continue;  // the nemesis
    if (auto* e = op.if_contains("error"); e && e->is_string()) {
      EXPECT_FALSE(e->as_string().starts_with("MOVED")) << line;
    }
    if (op.at("type").as_string() == "ok")
      ++ok_by_workload[op.at("process").as_int64() % 2 ? "sets" : "reg"];
  }
  EXPECT_GT(ok_by_workload["reg"], 100);
  EXPECT_GT(ok_by_workload["sets"], 100);
}

TEST_F(CliTest, RunWithoutAWorkloadIsAHarnessError) {
  Faultline f({"run", "tests/plans/good/chain.toml", "--out", (tmp_ / "run").string()}, tmp_);
  EXPECT_EQ(f.wait(60s), 3);
  EXPECT_NE(f.out().find("has no [workload]"), std::string::npos) << f.out();
}

}  // namespace
