#include "harness/plan/plan.h"
#include "harness/plan/fault.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace fl::plan {
namespace {

namespace fs = std::filesystem;

// Diagnostics name files by the path given to load_plan_file; the fixtures' .expected files use
// paths relative to the source tree, so the tests load them from there.
class InSourceDir : public ::testing::Environment {
 public:
  void SetUp() override { fs::current_path(FL_SOURCE_DIR); }
};
const auto* const kInSourceDir = ::testing::AddGlobalTestEnvironment(new InSourceDir);

std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.errors) out += d.str() + "\n";
  return out;
}

Plan load_good(const std::string& path) {
  auto r = load_plan_file(path);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.plan.has_value());
  return r.plan ? *r.plan : Plan{};
}

std::vector<std::string> ids(const std::vector<Instance>& instances) {
  std::vector<std::string> out;
  for (const auto& i : instances) out.push_back(i.id);
  return out;
}

const Instance& find(const std::vector<Instance>& instances, std::string_view id) {
  auto it = std::find_if(instances.begin(), instances.end(), [&](auto& i) { return i.id == id; });
  EXPECT_NE(it, instances.end()) << id;
  return *it;
}

TEST(PlanLoad, MinimalPlanHasDefaults) {
  Plan p = load_good("tests/plans/good/minimal.toml");
  EXPECT_EQ(p.name, "minimal");
  EXPECT_FALSE(p.seed.has_value());
  EXPECT_EQ(p.duration, std::chrono::seconds(30));
  EXPECT_FALSE(p.cluster.db.enabled);
  EXPECT_EQ(p.cluster.db.node_count(), 0);
  EXPECT_EQ(p.cluster.db.max_bulk, 512ull * 1024 * 1024);
  EXPECT_TRUE(p.faults.empty());
  EXPECT_TRUE(p.nodes.empty());
  EXPECT_TRUE(p.instances().empty());
  EXPECT_EQ(p.source, fs::path("tests/plans/good/minimal.toml"));
}

TEST(PlanLoad, FullPlan) {
  Plan p = load_good("tests/plans/good/full.toml");
  EXPECT_EQ(p.name, "full-example");
  EXPECT_EQ(p.seed, 42u);
  EXPECT_EQ(p.duration, std::chrono::seconds(90));
  const DbCluster& c = p.cluster.db;
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.shards, 1);
  EXPECT_EQ(c.replicas, 3);
  EXPECT_EQ(c.node_count(), 3);
  EXPECT_EQ(c.replication, Replication::sync);
  EXPECT_EQ(c.reads, ReadRouting::any);
  EXPECT_EQ(c.fsync, FsyncPolicy::always);
  EXPECT_EQ(c.heartbeat, std::chrono::milliseconds(40));
  EXPECT_EQ(c.election_timeout, std::chrono::milliseconds(400));
  EXPECT_EQ(c.lease, std::chrono::milliseconds(300));
  EXPECT_EQ(c.snapshot_every, 5000);
  EXPECT_EQ(c.bugs, (std::vector<std::string>{"no-fencing", "ack-before-log"}));
  EXPECT_EQ(c.max_bulk, 64ull * 1024 * 1024);
  EXPECT_EQ(c.max_clients, 500);
  EXPECT_EQ(c.idle_timeout, std::chrono::minutes(2));
  EXPECT_EQ(c.scan_count, 100);
  ASSERT_EQ(p.nodes.size(), 4u);

  const NodeSpec& db = p.nodes[0];
  EXPECT_EQ(db.id, "db");
  EXPECT_EQ(db.kind, "db");
  EXPECT_EQ(db.replicas, 3);
  EXPECT_EQ(db.ready.kind, ProbeKind::resp);
  ASSERT_EQ(db.members.size(), 3u);
  EXPECT_EQ(db.members[1].id, "db-s0-r1");
  EXPECT_EQ(db.members[1].shard, 0);
  const std::vector<std::string> db_cmd = {"{bindir}/faultline-db",
                                           "--id",
                                           "{id}",
                                           "--host",
                                           "{host}",
                                           "--port",
                                           "{port}",
                                           "--dir",
                                           "{dir}",
                                           "--shard",
                                           "0",
                                           "--member",
                                           "db-s0-r0,0,{addr:db-s0-r0}",
                                           "--member",
                                           "db-s0-r1,0,{addr:db-s0-r1}",
                                           "--member",
                                           "db-s0-r2,0,{addr:db-s0-r2}",
                                           "--replication",
                                           "sync",
                                           "--reads",
                                           "any",
                                           "--fsync",
                                           "always",
                                           "--heartbeat",
                                           "40ms",
                                           "--election-timeout",
                                           "400ms",
                                           "--lease",
                                           "300ms",
                                           "--snapshot-every",
                                           "5000",
                                           "--bug",
                                           "no-fencing",
                                           "--bug",
                                           "ack-before-log",
                                           "--max-bulk",
                                           "67108864",
                                           "--max-clients",
                                           "500",
                                           "--idle-timeout",
                                           "2m",
                                           "--scan-count",
                                           "100"};
  EXPECT_EQ(db.members[1].command, db_cmd);

  const NodeSpec& redis = p.nodes[1];
  EXPECT_EQ(redis.id, "redis");
  EXPECT_EQ(redis.kind, "external");
  EXPECT_EQ(redis.replicas, 2);
  EXPECT_EQ(redis.command.back(), "");
  EXPECT_EQ(redis.env.at("REDIS_ID"), "{id}");
  ASSERT_EQ(redis.depends_on.size(), 2u);
  EXPECT_EQ(redis.depends_on[0].node, "db");
  EXPECT_EQ(redis.depends_on[0].condition, DependCondition::ready);
  EXPECT_EQ(redis.depends_on[1].node, "db-s0-r0");
  EXPECT_EQ(redis.depends_on[1].condition, DependCondition::started);
  EXPECT_EQ(redis.stop_signal, SIGINT);
  EXPECT_EQ(redis.stop_grace, std::chrono::seconds(2));
  EXPECT_EQ(redis.ready.kind, ProbeKind::resp);
  EXPECT_EQ(redis.ready.interval, std::chrono::milliseconds(50));
  EXPECT_EQ(redis.ready.timeout, std::chrono::seconds(10));
  EXPECT_EQ(redis.restart.policy, RestartPolicy::on_failure);
  EXPECT_EQ(redis.restart.max_restarts, 3);
  EXPECT_EQ(redis.restart.backoff, std::chrono::milliseconds(200));
  EXPECT_EQ(redis.restart.max_backoff, std::chrono::seconds(2));
  EXPECT_EQ(redis.where.line, 23u);

  const NodeSpec& web = p.nodes[2];
  EXPECT_EQ(web.stop_signal, SIGTERM);
  EXPECT_EQ(web.stop_grace, std::chrono::seconds(5));
  EXPECT_EQ(web.ready.kind, ProbeKind::http);
  EXPECT_EQ(web.ready.path, "/health");
  EXPECT_EQ(web.restart.policy, RestartPolicy::always);
  EXPECT_EQ(web.restart.max_restarts, 5);

  const NodeSpec& tail = p.nodes[3];
  EXPECT_EQ(tail.ready.kind, ProbeKind::log);
  EXPECT_EQ(tail.ready.pattern, "^started \\{ok\\}$");
  EXPECT_EQ(tail.ready.interval, std::chrono::milliseconds(20));
  EXPECT_EQ(tail.ready.timeout, std::chrono::seconds(30));
  EXPECT_EQ(tail.restart.policy, RestartPolicy::no);
}

TEST(PlanInstances, ReplicasAndDependencies) {
  Plan p = load_good("tests/plans/good/full.toml");
  auto inst = p.instances();
  EXPECT_EQ(ids(inst), (std::vector<std::string>{"db-s0-r0", "db-s0-r1", "db-s0-r2", "redis-0",
                                                 "redis-1", "web", "tail"}));
  const Instance& r1 = find(inst, "redis-1");
  EXPECT_EQ(r1.group, "redis");
  EXPECT_EQ(r1.kind, "external");
  EXPECT_EQ(r1.replica, 1);
  using Dep = std::pair<std::string, DependCondition>;
  // "db" expands to every replica; "db-s0-r0" is also named with condition started, and the
  // stronger "ready" wins.
  EXPECT_EQ(r1.depends_on, (std::vector<Dep>{{"db-s0-r0", DependCondition::ready},
                                             {"db-s0-r1", DependCondition::ready},
                                             {"db-s0-r2", DependCondition::ready}}));
  EXPECT_EQ(find(inst, "web").depends_on, (std::vector<Dep>{{"redis-1", DependCondition::ready}}));
  EXPECT_EQ(find(inst, "db-s0-r1").replica, 1);
  EXPECT_EQ(find(inst, "db-s0-r1").kind, "db");
  EXPECT_EQ(find(inst, "db-s0-r1").shard, 0);
  EXPECT_EQ(find(inst, "db-s0-r1").command[10], "0");
  EXPECT_EQ(find(inst, "redis-0").shard, -1);
}

TEST(PlanInstances, SingleReplicaKeepsTheId) {
  Plan p = load_good("tests/plans/good/single-db.toml");
  EXPECT_EQ(ids(p.instances()), std::vector<std::string>{"db-s0-r0"});
}

TEST(PlanInstances, TopologicalOrderIsStable) {
  Plan p = load_good("tests/plans/good/order.toml");
  auto inst = p.instances();
  // a first (c needs it), then c as the earliest ready in file order, then b, e, d-0 before d-1.
  EXPECT_EQ(ids(inst), (std::vector<std::string>{"a", "c", "b", "e", "d-0", "d-1", "d-2"}));
  EXPECT_TRUE(find(inst, "d-0").depends_on.empty());
  using Dep = std::pair<std::string, DependCondition>;
  EXPECT_EQ(find(inst, "d-2").depends_on, (std::vector<Dep>{{"d-0", DependCondition::ready}}));
}

TEST(PlanInstances, StartedDependency) {
  auto r = load_plan_string(R"(
name = "x"
[[node]]
id = "a"
command = ["a"]
depends_on = [{ node = "b", condition = "started" }]
[[node]]
id = "b"
command = ["b"]
)",
                            "inline");
  ASSERT_TRUE(r.plan) << all_errors(r);
  auto inst = r.plan->instances();
  EXPECT_EQ(ids(inst), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(inst[1].depends_on[0].second, DependCondition::started);
}

TEST(PlanLoad, StringSourceNamesDiagnostics) {
  auto r = load_plan_string("name = 3\n", "<inline>");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(), "<inline>:1:8: 'name' must be a string, got integer");
  EXPECT_FALSE(r.plan);
}

TEST(PlanLoad, EmptyNodeArray) {
  auto r = load_plan_string("name = \"x\"\nnode = []\n", "inline");
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
}

TEST(PlanLoad, EverySignalSpelling) {
  const std::pair<const char*, int> cases[] = {
      {"SIGINT", SIGINT},   {"INT", SIGINT},   {"SIGTERM", SIGTERM}, {"TERM", SIGTERM},
      {"SIGQUIT", SIGQUIT}, {"QUIT", SIGQUIT}, {"SIGKILL", SIGKILL}, {"KILL", SIGKILL},
      {"SIGHUP", SIGHUP},   {"HUP", SIGHUP},   {"SIGUSR1", SIGUSR1}, {"USR1", SIGUSR1},
      {"SIGUSR2", SIGUSR2}, {"USR2", SIGUSR2},
  };
  for (auto [name, number] : cases) {
    auto r = load_plan_string(
        std::string("name = \"x\"\n[[node]]\nid = \"a\"\ncommand = [\"a\"]\nstop_signal = \"") +
            name + "\"\n",
        "inline");
    ASSERT_TRUE(r.plan) << name << ": " << all_errors(r);
    EXPECT_EQ(r.plan->nodes[0].stop_signal, number) << name;
  }
}

TEST(PlanLoad, CollectsErrorsInFileOrder) {
  // Whole-plan errors (found after reading) are sorted in among per-key ones.
  auto r = load_plan_string(R"(name = "x"
[[node]]
id = "a"
command = ["a"]
depends_on = ["zz"]
[[node]]
id = "b"
command = ["b"]
replicas = 0
)",
                            "p.toml");
  EXPECT_EQ(all_errors(r),
            "p.toml:5:15: 'depends_on' in [[node]] #1 names unknown node 'zz'\n"
            "p.toml:9:12: 'replicas' in [[node]] #2 must be between 1 and 1000, got 0\n");
}

TEST(PlanLoad, MissingFile) {
  auto r = load_plan_file("tests/plans/no-such-plan.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(),
            "tests/plans/no-such-plan.toml: cannot read plan: No such file or directory");
}

TEST(PlanWorkload, FullWorkloadAndChecks) {
  Plan p = load_good("tests/plans/good/workload.toml");
  ASSERT_EQ(p.workloads.size(), 1u);
  const WorkloadSpec& w = p.workloads.front();
  EXPECT_EQ(w.kind, "register");
  EXPECT_EQ(w.mode, LoadMode::open);
  EXPECT_DOUBLE_EQ(w.rate, 2500.5);
  EXPECT_EQ(w.concurrency, 32);
  EXPECT_EQ(w.connections, 8);
  EXPECT_EQ(w.pipeline, 4);
  EXPECT_EQ(w.targets, (std::vector<std::string>{"db", "redis"}));
  EXPECT_EQ(w.keys, 1000);
  EXPECT_EQ(w.distribution, KeyDistribution::zipfian);
  EXPECT_DOUBLE_EQ(w.skew, 1.1);
  EXPECT_EQ(w.mix, (std::map<std::string, double>{{"read", 2}, {"write", 1}, {"cas", 0.5}}));
  EXPECT_EQ(w.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(w.warmup, std::chrono::seconds(2));
  EXPECT_FALSE(w.final_reads);
  EXPECT_EQ(w.where.line, 15u);

  ASSERT_EQ(p.checks.size(), 4u);
  EXPECT_EQ(p.checks[0].kind, "linearizable");
  EXPECT_EQ(p.checks[0].model, "cas-register");  // the register workload's default
  EXPECT_EQ(p.checks[0].time_budget, std::chrono::seconds(60));
  EXPECT_EQ(p.checks[0].memory_budget, 4ull << 30);
  EXPECT_EQ(p.checks[1].model, "register");
  EXPECT_EQ(p.checks[1].time_budget, std::chrono::minutes(5));
  EXPECT_EQ(p.checks[1].memory_budget, 1ull << 30);
  EXPECT_EQ(p.checks[2].kind, "availability");
  EXPECT_DOUBLE_EQ(p.checks[2].min_ok_ratio, 0.95);
  EXPECT_EQ(p.checks[3].kind, "perf");
  EXPECT_EQ(p.checks[3].model, "");
  EXPECT_EQ(p.checks[3].where.line, 44u);

  const auto targets = p.target_instances();
  ASSERT_EQ(targets.size(), 10u);
  EXPECT_EQ(targets.front(), "db-s0-r0");
  EXPECT_EQ(targets[8], "db-s2-r2");
  EXPECT_EQ(targets.back(), "redis");
}

TEST(PlanWorkload, DefaultsAndNoChecks) {
  auto r = load_plan_string(R"(
name = "w"
[[node]]
id = "r"
replicas = 2
command = ["redis-server"]
[workload]
kind = "set"
)",
                            "w.toml");
  ASSERT_TRUE(r.plan) << all_errors(r);
  const WorkloadSpec& w = r.plan->workloads.front();
  const WorkloadSpec d;
  EXPECT_EQ(w.kind, "set");
  EXPECT_EQ(w.mode, LoadMode::open);
  EXPECT_EQ(w.rate, d.rate);
  EXPECT_EQ(w.concurrency, 10);
  EXPECT_EQ(w.connections, 0);
  EXPECT_EQ(w.pipeline, 1);
  EXPECT_TRUE(w.targets.empty());
  EXPECT_EQ(w.keys, 100);
  EXPECT_EQ(w.distribution, KeyDistribution::uniform);
  EXPECT_TRUE(w.mix.empty());
  EXPECT_EQ(w.timeout, std::chrono::seconds(1));
  EXPECT_EQ(w.warmup, std::chrono::seconds(0));
  EXPECT_TRUE(w.final_reads);
  EXPECT_EQ(w.value_size, 16u);
  EXPECT_TRUE(r.plan->checks.empty());
  // No targets and no db nodes: every [[node]] instance.
  EXPECT_EQ(r.plan->target_instances(), (std::vector<std::string>{"r-0", "r-1"}));
}

TEST(PlanWorkload, EveryKindWithItsOwnMix) {
  const std::pair<std::string, std::string> kinds[] = {
      {"register", "{ read = 1, write = 1, cas = 1 }"},
      {"set", "{ add = 3, read = 1 }"},
      {"counter", "{ add = 1, read = 0 }"},
      {"kv-mix", "{ get = 0.9, set = 0.1 }"},
      {"queue", "{ enqueue = 1, dequeue = 1 }"},
  };
  for (const auto& [kind, mix] : kinds) {
    SCOPED_TRACE(kind);
    auto r = load_plan_string(
        "name = \"w\"\n[cluster.db]\n[workload]\nkind = \"" + kind + "\"\nmix = " + mix,
        "w.toml");
    ASSERT_TRUE(r.plan) << all_errors(r);
    EXPECT_EQ(r.plan->workloads.front().mix.size(), 2u + (kind == "register"));
    EXPECT_EQ(r.plan->target_instances(), (std::vector<std::string>{"db-s0-r0"}));
  }
}

TEST(PlanWorkload, ClosedLoopHotspotAndValueSize) {
  auto r = load_plan_string(R"(
name = "w"
[cluster.db]
shards = 2
[[node]]
id = "other"
command = ["x"]
[workload]
kind = "queue"
mode = "closed"
concurrency = 4
distribution = "hotspot"
hot_keys = 0.1
hot_ops = 1
value_size = "1KiB"
targets = ["db-s1-r0"]
[[check]]
kind = "linearizable"
[[check]]
kind = "total-queue"
)",
                            "w.toml");
  ASSERT_TRUE(r.plan) << all_errors(r);
  const WorkloadSpec& w = r.plan->workloads.front();
  EXPECT_EQ(w.mode, LoadMode::closed);
  EXPECT_EQ(w.concurrency, 4);
  EXPECT_EQ(w.distribution, KeyDistribution::hotspot);
  EXPECT_DOUBLE_EQ(w.hot_keys, 0.1);
  EXPECT_DOUBLE_EQ(w.hot_ops, 1.0);
  EXPECT_EQ(w.value_size, 1024u);
  EXPECT_EQ(r.plan->target_instances(), (std::vector<std::string>{"db-s1-r0"}));
  ASSERT_EQ(r.plan->checks.size(), 2u);
  EXPECT_EQ(r.plan->checks[0].model, "fifo-queue");
  EXPECT_EQ(r.plan->checks[1].kind, "total-queue");
}

TEST(PlanWorkload, DefaultModelPerWorkloadKind) {
  EXPECT_EQ(default_model("register"), "cas-register");
  EXPECT_EQ(default_model("set"), "set");
  EXPECT_EQ(default_model("queue"), "fifo-queue");
  EXPECT_EQ(default_model("counter"), "");
  EXPECT_EQ(default_model("kv-mix"), "");
  EXPECT_EQ(workload_operations("register").size(), 3u);
  EXPECT_EQ(workload_operations("queue")[0], "enqueue");
  EXPECT_TRUE(workload_operations("nope").empty());
}

TEST(PlanWorkload, DefaultChecksPerWorkloadKind) {
  auto kinds_of = [](std::string kind) {
    WorkloadSpec w;
    w.kind = std::move(kind);
    std::vector<std::string> out;
    for (const auto& c : default_checks(w))
      out.push_back(c.model.empty() ? c.kind : c.kind + ":" + c.model);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(kinds_of("register"), (V{"linearizable:cas-register", "availability", "perf"}));
  EXPECT_EQ(kinds_of("set"), (V{"set-full", "availability", "perf"}));
  EXPECT_EQ(kinds_of("counter"), (V{"counter", "availability", "perf"}));
  EXPECT_EQ(kinds_of("kv-mix"), (V{"availability", "perf"}));
  EXPECT_EQ(kinds_of("queue"), (V{"total-queue", "availability", "perf"}));
  for (const auto& c : default_checks(WorkloadSpec{})) {
    EXPECT_EQ(c.min_ok_ratio, 0);
    EXPECT_EQ(c.time_budget, std::chrono::seconds(60));
  }
}

TEST(PlanWorkload, PlanWithoutWorkloadHasNoTargets) {
  Plan p = load_good("tests/plans/good/full.toml");
  EXPECT_TRUE(p.workloads.empty());
  EXPECT_TRUE(p.checks.empty());
  EXPECT_TRUE(p.target_instances().empty());
}

TEST(PlanLoad, SeveralWorkloadsWithNamesPrefixesAndScopedChecks) {
  auto r = load_plan_string(R"(
name = "w"
[cluster.db]
replicas = 2
[[workload]]
kind = "register"
rate = 500
balance = "round-robin"
[[workload]]
name = "sets"
kind = "set"
mode = "closed"
concurrency = 3
targets = ["db-s0-r1"]
[[check]]
kind = "linearizable"
workload = "register"
[[check]]
kind = "set-full"
workload = "sets"
[[check]]
kind = "availability"
)",
                            "w.toml");
  ASSERT_TRUE(r.plan) << all_errors(r);
  const Plan& p = *r.plan;
  ASSERT_EQ(p.workloads.size(), 2u);
  EXPECT_EQ(p.workloads[0].name, "register");  // the kind by default
  EXPECT_EQ(p.workloads[0].key_prefix, "register:");
  EXPECT_EQ(p.workloads[0].rate, 500);
  EXPECT_EQ(p.workloads[0].balance, Balance::round_robin);
  EXPECT_EQ(p.workloads[1].name, "sets");
  EXPECT_EQ(p.workloads[1].key_prefix, "sets:");
  EXPECT_EQ(p.workloads[1].mode, LoadMode::closed);
  EXPECT_EQ(p.workloads[1].balance, Balance::first);
  EXPECT_EQ(p.target_instances(p.workloads[0]),
            (std::vector<std::string>{"db-s0-r0", "db-s0-r1"}));
  EXPECT_EQ(p.target_instances(p.workloads[1]), (std::vector<std::string>{"db-s0-r1"}));
  ASSERT_EQ(p.checks.size(), 3u);
  EXPECT_EQ(p.checks[0].workload, "register");
  EXPECT_EQ(p.checks[0].model, "cas-register");  // the named workload's default
  EXPECT_EQ(p.checks[1].workload, "sets");
  EXPECT_EQ(p.checks[2].workload, "");  // every operation
  EXPECT_EQ(p.find_workload("sets"), &p.workloads[1]);
  EXPECT_EQ(p.find_workload("nope"), nullptr);
}

TEST(PlanLoad, OneWorkloadKeepsItsKeysAndGetsDefaultChecksPerWorkload) {
  for (std::string_view form : {"[workload]", "[[workload]]"}) {
    auto r = load_plan_string(
        fmt::format("name = \"w\"\n[cluster.db]\n{}\nkind = \"set\"\n", form), "w.toml");
    ASSERT_TRUE(r.plan) << all_errors(r);
    ASSERT_EQ(r.plan->workloads.size(), 1u);
    EXPECT_EQ(r.plan->workloads[0].name, "set");
    EXPECT_EQ(r.plan->workloads[0].key_prefix, "");
    auto checks = run_checks(*r.plan);
    ASSERT_EQ(checks.size(), 3u);
    for (const auto& c : checks) EXPECT_EQ(c.workload, "set") << c.kind;
  }
  auto two = load_plan_string(R"(
name = "w"
[cluster.db]
[[workload]]
kind = "register"
[[workload]]
kind = "kv-mix"
)",
                              "w.toml");
  ASSERT_TRUE(two.plan) << all_errors(two);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& c : run_checks(*two.plan)) got.emplace_back(c.kind, c.workload);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{
                     {"linearizable", "register"},
                     {"availability", "register"},
                     {"perf", "register"},
                     {"availability", "kv-mix"},
                     {"perf", "kv-mix"}}));
}

TEST(PlanLoad, WorkloadProcessIdsInterleave) {
  EXPECT_EQ(workload_process(0, 1, 7), 7);
  EXPECT_EQ(workload_process(1, 3, 2), 7);
  EXPECT_TRUE(workload_owns_process(1, 3, 7));
  EXPECT_FALSE(workload_owns_process(0, 3, 7));
  EXPECT_FALSE(workload_owns_process(0, 1, -1));  // the nemesis
}

TEST(PlanDb, QuorumModeInlineAndTableForms) {
  for (const char* quorum : {"quorum = { n = 3, w = 1, r = 1, timeout = \"200ms\" }\n",
                             "[cluster.db.quorum]\nn = 3\nw = 1\nr = 1\ntimeout = \"200ms\"\n"}) {
    SCOPED_TRACE(quorum);
    auto r = load_plan_string(std::string("name = \"q\"\n[cluster.db]\nreplicas = 5\n"
                                          "replication = \"quorum\"\n") +
                                  quorum,
                              "q.toml");
    ASSERT_TRUE(r.plan) << all_errors(r);
    const DbCluster& db = r.plan->cluster.db;
    EXPECT_EQ(db.replication, Replication::quorum);
    EXPECT_EQ(db.quorum.n, 3);
    EXPECT_EQ(db.quorum.w, 1);
    EXPECT_EQ(db.quorum.r, 1);
    EXPECT_EQ(db.quorum.timeout, std::chrono::milliseconds(200));
    auto inst = r.plan->instances();
    ASSERT_EQ(inst.size(), 5u);
    EXPECT_EQ(inst[4].id, "db-s0-r4");
    const auto& cmd = inst[4].command;
    auto flag = [&](std::string_view name) {
      auto it = std::find(cmd.begin(), cmd.end(), name);
      return it == cmd.end() || it + 1 == cmd.end() ? std::string("<absent>") : *(it + 1);
    };
    EXPECT_EQ(flag("--replication"), "quorum");
    EXPECT_EQ(flag("--quorum-n"), "3");
    EXPECT_EQ(flag("--quorum-w"), "1");
    EXPECT_EQ(flag("--quorum-r"), "1");
    EXPECT_EQ(flag("--quorum-timeout"), "200ms");
    EXPECT_EQ(std::count(cmd.begin(), cmd.end(), "--member"), 5);
  }
}

TEST(PlanDb, DefaultsAndShardedCommandLines) {
  auto r = load_plan_string("name = \"d\"\n[cluster.db]\nshards = 2\nreplicas = 2\n", "d.toml");
  ASSERT_TRUE(r.plan) << all_errors(r);
  const DbCluster& db = r.plan->cluster.db;
  const DbCluster d;
  EXPECT_EQ(db.replication, Replication::sync);
  EXPECT_EQ(db.reads, ReadRouting::master);
  EXPECT_EQ(db.fsync, FsyncPolicy::everysec);
  EXPECT_EQ(db.heartbeat, d.heartbeat);
  EXPECT_EQ(db.election_timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(db.lease, std::chrono::milliseconds(250));
  EXPECT_TRUE(db.bugs.empty());
  auto inst = r.plan->instances();
  EXPECT_EQ(ids(inst),
            (std::vector<std::string>{"db-s0-r0", "db-s0-r1", "db-s1-r0", "db-s1-r1"}));
  for (const auto& i : inst) {
    EXPECT_EQ(i.group, "db");
    EXPECT_EQ(i.ready.kind, ProbeKind::resp);
  }
  EXPECT_EQ(inst[2].shard, 1);
  const std::vector<std::string> head = {"{bindir}/faultline-db", "--id", "{id}", "--host",
                                         "{host}", "--port", "{port}", "--dir", "{dir}",
                                         "--shard", "1", "--member",
                                         "db-s0-r0,0,{addr:db-s0-r0}", "--member",
                                         "db-s0-r1,0,{addr:db-s0-r1}", "--member",
                                         "db-s1-r0,1,{addr:db-s1-r0}", "--member",
                                         "db-s1-r1,1,{addr:db-s1-r1}", "--replication",
                                         "sync"};
  EXPECT_EQ(std::vector<std::string>(inst[3].command.begin(), inst[3].command.begin() + 21), head);
  EXPECT_EQ(std::count(inst[3].command.begin(), inst[3].command.end(), "--quorum-n"), 0);
  // Templates expand against the instances' ports: {port:db-s1-r1} is a known instance.
  TemplateContext ctx;
  ctx.port_of = [](std::string_view id) -> std::optional<uint16_t> {
    return id == "db-s1-r1" ? std::optional<uint16_t>(7001) : std::nullopt;
  };
  EXPECT_EQ(expand_template(inst[3].command[18], ctx).value(), "db-s1-r1,1,127.0.0.1:7001");
}

TEST(PlanFault, EveryActionAndSelector) {
  Plan p = load_good("tests/plans/good/workload.toml");
  ASSERT_EQ(p.faults.size(), 4u);
  const FaultSpec& kill = p.faults[0];
  EXPECT_EQ(kill.at, std::chrono::seconds(5));
  EXPECT_EQ(kill.action, FaultAction::kill);
  EXPECT_EQ(kill.target.kind, Selector::Kind::master);
  EXPECT_EQ(kill.target.shard, 1);
  EXPECT_FALSE(kill.target.random);
  EXPECT_EQ(kill.target.text, "db:shard=1:master");
  EXPECT_EQ(kill.duration, std::chrono::seconds(2));
  const FaultSpec& pause = p.faults[1];
  EXPECT_EQ(pause.action, FaultAction::pause);
  EXPECT_EQ(pause.target.kind, Selector::Kind::slaves);
  EXPECT_EQ(pause.target.shard, 2);
  EXPECT_TRUE(pause.target.random);
  EXPECT_EQ(pause.duration, std::chrono::milliseconds(500));
  const FaultSpec& wipe = p.faults[2];
  EXPECT_EQ(wipe.action, FaultAction::restart_wiped);
  EXPECT_EQ(wipe.target.kind, Selector::Kind::group);  // "redis" names a group
  EXPECT_FALSE(wipe.duration.has_value());
  const FaultSpec& term = p.faults[3];
  EXPECT_EQ(term.action, FaultAction::terminate);
  EXPECT_EQ(term.target.kind, Selector::Kind::instance);
  EXPECT_EQ(term.target.name, "db-s0-r1");
  EXPECT_EQ(term.where.line, 64u);

  auto inst = p.instances();
  auto names = [](const std::vector<const Instance*>& v) {
    std::vector<std::string> out;
    for (const auto* i : v) out.push_back(i->id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(selector_candidates(kill.target, inst)), (V{"db-s1-r0", "db-s1-r1", "db-s1-r2"}));
  EXPECT_EQ(names(selector_candidates(wipe.target, inst)), (V{"redis"}));
  EXPECT_EQ(names(selector_candidates(term.target, inst)), (V{"db-s0-r1"}));
}

TEST(PlanFault, SelectorSyntax) {
  auto ok = [](std::string_view text) {
    auto s = parse_selector(text);
    EXPECT_TRUE(s) << text;
    return s ? *s : Selector{};
  };
  EXPECT_EQ(ok("redis-0").kind, Selector::Kind::instance);
  EXPECT_EQ(ok("db:shard=12").kind, Selector::Kind::shard);
  EXPECT_EQ(ok("db:shard=12").shard, 12);
  EXPECT_EQ(ok("db:shard=0:slaves").kind, Selector::Kind::slaves);
  const Selector r = ok("random(db)");
  EXPECT_TRUE(r.random);
  EXPECT_EQ(r.name, "db");
  EXPECT_EQ(r.text, "random(db)");
  for (std::string_view bad : {"", "random(db", "random()", "db:", "db:shard=", "db:shard=-1",
                               "db:shard=1:", "db:shard=1x", "DB", "db:replica=1"}) {
    EXPECT_FALSE(parse_selector(bad)) << bad;
  }
}

TEST(PlanFault, RegionAndClientSelectors) {
  const Selector east = parse_selector("region:east").value();
  EXPECT_EQ(east.kind, Selector::Kind::region);
  EXPECT_EQ(east.name, "east");
  EXPECT_EQ(parse_selector("client").value().kind, Selector::Kind::client);
  for (std::string_view bad : {"region:", "region:East", "random(client)", "regions:east"}) {
    EXPECT_FALSE(parse_selector(bad)) << bad;
  }
}

TEST(PlanFault, StaticMembers) {
  Plan p = load_good("tests/plans/good/workload.toml");
  using V = std::vector<std::string>;
  auto members = [&](std::string_view text) {
    return static_members(p, parse_selector(text).value());
  };
  EXPECT_EQ(members("db:shard=1:master"), (V{"db-s1-r0", "db-s1-r1", "db-s1-r2"}));
  EXPECT_EQ(members("db:shard=0:slave"), (V{"db-s0-r0", "db-s0-r1", "db-s0-r2"}));
  EXPECT_EQ(members("db:shard=2"), (V{"db-s2-r0", "db-s2-r1", "db-s2-r2"}));
  EXPECT_EQ(members("db-s0-r1"), (V{"db-s0-r1"}));
  EXPECT_EQ(members("redis"), (V{"redis"}));
  EXPECT_EQ(members("random(db:shard=2)").size(), 3u);
  EXPECT_EQ(members("client"), (V{"client"}));
  EXPECT_TRUE(members("nosuch").empty());
  EXPECT_TRUE(members("region:east").empty());  // no such region
  // A region expands its selectors, in plan order, each node once; one naming itself (through
  // another) adds nothing more.
  Region east{"east", {}, {}};
  for (auto t : {"db-s1-r2", "db:shard=0", "db-s0-r1", "region:west", "region:east"}) {
    east.nodes.push_back(parse_selector(t).value());
  }
  Region west{"west", {parse_selector("redis").value(), parse_selector("client").value()}, {}};
  p.network.regions = {east, west};
  EXPECT_EQ(members("region:east"),
            (V{"db-s0-r0", "db-s0-r1", "db-s0-r2", "db-s1-r2", "redis", "client"}));
  EXPECT_EQ(members("region:west"), (V{"redis", "client"}));
}

TEST(PlanFault, NetworkAndScheduleKeys) {
  Plan p = load_good("tests/plans/good/faults-network.toml");
  using namespace std::chrono_literals;
  EXPECT_EQ(p.recovery, Duration(2s));
  EXPECT_EQ(p.recovery_time(), Duration(2s));
  EXPECT_EQ(p.network.backend, NetworkBackend::proxy);
  ASSERT_EQ(p.network.regions.size(), 2u);
  EXPECT_EQ(static_members(p, parse_selector("region:west").value()),
            (std::vector<std::string>{"db-s1-r0", "db-s1-r1", "db-s1-r2", "lb-1", "client"}));
  ASSERT_EQ(p.network.links.size(), 2u);
  const LinkRule& east_west = p.network.links[0];
  EXPECT_EQ(east_west.from.kind, Selector::Kind::region);
  ASSERT_EQ(east_west.toxics.size(), 1u);
  EXPECT_EQ(east_west.toxics[0].kind, Toxic::Kind::latency);
  EXPECT_EQ(east_west.toxics[0].latency, Duration(20ms));
  EXPECT_EQ(east_west.toxics[0].jitter, Duration(2ms));
  EXPECT_EQ(east_west.toxics[0].distribution, Toxic::Distribution::pareto);
  const LinkRule& west_east = p.network.links[1];
  EXPECT_EQ(west_east.direction, Direction::up);
  ASSERT_EQ(west_east.toxics.size(), 2u);
  EXPECT_EQ(west_east.toxics[0].bytes_per_second, 1024u * 1024u);
  EXPECT_EQ(west_east.toxics[1].probability, 0.01);
  EXPECT_EQ(west_east.toxics[1].burst, 3);

  ASSERT_EQ(p.faults.size(), 6u);
  const FaultSpec& halves = p.faults[0];
  EXPECT_EQ(halves.action, FaultAction::partition);
  EXPECT_EQ(halves.shape, PartitionShape::halves);
  EXPECT_EQ(halves.timing, FaultSpec::Timing::at);
  EXPECT_EQ(halves.times, (std::vector<Duration>{5s, 25s}));
  EXPECT_EQ(halves.at, Duration(5s));
  EXPECT_EQ(halves.mode, CutMode::reject);
  EXPECT_TRUE(halves.target.text.empty());  // the default: the db group
  const FaultSpec& one_way = p.faults[1];
  EXPECT_EQ(one_way.shape, PartitionShape::one_way);
  EXPECT_EQ(one_way.target.kind, Selector::Kind::master);
  ASSERT_TRUE(one_way.to.has_value());
  EXPECT_EQ(one_way.to->kind, Selector::Kind::slaves);
  EXPECT_EQ(one_way.timing, FaultSpec::Timing::every);
  EXPECT_EQ(one_way.every, Duration(10s));
  EXPECT_EQ(one_way.jitter, Duration(1s));
  EXPECT_EQ(one_way.start, Duration(2s));
  EXPECT_EQ(one_way.stop, Duration(50s));
  const FaultSpec& groups = p.faults[2];
  ASSERT_EQ(groups.groups.size(), 2u);
  EXPECT_EQ(groups.groups[1].size(), 2u);
  EXPECT_EQ(groups.groups[1][1].name, "db-s0-r2");
  EXPECT_EQ(groups.mode, CutMode::drop);
  const FaultSpec& link = p.faults[3];
  EXPECT_EQ(link.action, FaultAction::link);
  EXPECT_EQ(link.target.kind, Selector::Kind::group);
  EXPECT_EQ(link.to->kind, Selector::Kind::region);
  EXPECT_EQ(link.direction, Direction::down);
  EXPECT_EQ(link.timing, FaultSpec::Timing::poisson);
  EXPECT_EQ(link.rate, 0.2);
  EXPECT_FALSE(link.stop.has_value());  // the end of the main phase
  ASSERT_EQ(link.toxics.size(), 3u);
  EXPECT_EQ(link.toxics[0].kind, Toxic::Kind::latency);
  EXPECT_EQ(link.toxics[0].jitter, Duration(10ms));
  EXPECT_EQ(link.toxics[1].kind, Toxic::Kind::loss);
  EXPECT_EQ(link.toxics[1].probability, 0.2);
  EXPECT_EQ(link.toxics[2].kind, Toxic::Kind::reset);
  EXPECT_EQ(link.toxics[2].after, Duration(1s));
  EXPECT_EQ(link.toxics[2].toxicity, 0.25);
  const FaultSpec& clock = p.faults[4];
  EXPECT_EQ(clock.action, FaultAction::clock);
  EXPECT_EQ(clock.clock_offset, Duration(-2s));
  EXPECT_EQ(clock.clock_rate, 1.5);
  EXPECT_EQ(clock.timing, FaultSpec::Timing::at);  // `rate` is the clock's here
  EXPECT_EQ(clock.select, SelectMode::percent);
  EXPECT_EQ(clock.percent, 50);
  const FaultSpec& kill = p.faults[5];
  EXPECT_EQ(kill.timing, FaultSpec::Timing::poisson);
  EXPECT_EQ(kill.start, Duration(40s));
  EXPECT_EQ(kill.at, Duration(40s));
  EXPECT_EQ(kill.select, SelectMode::minority);
}

TEST(PlanFault, RecoveryDefaultsAndBackend) {
  auto plan = [](std::string_view text) {
    auto r = load_plan_string(text, "t.toml");
    EXPECT_TRUE(r.errors.empty()) << all_errors(r);
    return r.plan ? *r.plan : Plan{};
  };
  const Plan quiet = plan("name = \"q\"\n[cluster.db]\n");
  EXPECT_EQ(quiet.recovery_time(), Duration(0));
  EXPECT_EQ(network_backend(quiet), NetworkBackend::direct);
  const Plan killing = plan(
      "name = \"k\"\n[cluster.db]\n[[fault]]\naction = \"kill\"\ntarget = \"db\"\nat = \"1s\"\n");
  EXPECT_EQ(killing.recovery_time(), Duration(std::chrono::seconds(1)));
  EXPECT_EQ(network_backend(killing), NetworkBackend::direct);
  const Plan cutting = plan(
      "name = \"c\"\n[cluster.db]\nreplicas = 3\n[[fault]]\naction = \"partition\"\n"
      "shape = \"majorities-ring\"\nat = \"1s\"\n");
  EXPECT_EQ(network_backend(cutting), NetworkBackend::proxy);
}

// The argv values that follow each occurrence of `flag`.
std::vector<std::string> flag_values(const std::vector<std::string>& argv, std::string_view flag) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag) out.push_back(argv[i + 1]);
  }
  return out;
}

TEST(PlanReference, WholeClusterTablesAndDefaults) {
  Plan p = load_good("tests/plans/good/reference.toml");
  const Cluster& c = p.cluster;
  EXPECT_TRUE(c.broker.enabled);
  EXPECT_EQ(c.broker.partitions, 8);
  EXPECT_EQ(c.broker.fsync, FsyncPolicy::everysec);
  EXPECT_EQ(c.broker.ack_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.broker.compact, std::vector<std::string>{"changes"});
  EXPECT_TRUE(c.broker.changes);
  EXPECT_EQ(c.broker.changes_topic, "changes");
  ASSERT_EQ(c.caches.size(), 2u);
  EXPECT_EQ(c.caches[0].name, "hot");
  EXPECT_EQ(c.caches[0].eviction, Eviction::lfu);
  EXPECT_EQ(c.caches[0].write_policy, WritePolicy::write_through);
  EXPECT_EQ(c.caches[0].capacity, 64ull << 20);
  EXPECT_EQ(c.caches[1].write_policy, WritePolicy::write_back);
  EXPECT_EQ(c.caches[1].capacity, 1ull << 20);
  EXPECT_EQ(c.caches[1].flush_interval, std::chrono::milliseconds(50));
  EXPECT_EQ(c.caches[1].bugs, std::vector<std::string>{"skip-invalidation"});
  EXPECT_EQ(c.find_cache("front"), &c.caches[1]);
  EXPECT_EQ(c.find_cache("cache"), nullptr);
  EXPECT_TRUE(c.lb.enabled);
  EXPECT_EQ(c.lb.nodes, 2);
  EXPECT_EQ(c.lb.backends, "front");
  EXPECT_EQ(c.lb.policy, LbPolicy::round_robin);
  EXPECT_EQ(c.lb.health_interval, std::chrono::milliseconds(100));

  ASSERT_EQ(p.checks.size(), 4u);
  EXPECT_EQ(p.checks[1].max_stale_ratio, 0.01);
  EXPECT_EQ(p.checks[1].max_staleness, std::chrono::milliseconds(200));
  EXPECT_EQ(p.checks[2].quiet, std::chrono::seconds(2));
  EXPECT_EQ(p.checks[2].deadline, std::chrono::seconds(5));
  EXPECT_EQ(p.checks[3].aggregate, "mean");
  EXPECT_EQ(p.checks[2].workload, "");
  EXPECT_EQ(p.checks[3].group, "hot");
  EXPECT_EQ(p.checks[3].stat, "hit_ratio");
  EXPECT_EQ(p.checks[3].min, 0.5);
  EXPECT_FALSE(p.checks[3].max);
  EXPECT_EQ(p.workloads[1].distribution, KeyDistribution::sequential);
}

TEST(PlanReference, InstancesStartInLayersWithTheirWiring) {
  Plan p = load_good("tests/plans/good/reference.toml");
  auto inst = p.instances();
  EXPECT_EQ(ids(inst), (std::vector<std::string>{
                           "broker", "db-s0-r0", "db-s0-r1", "db-s0-r2", "db-s1-r0", "db-s1-r1",
                           "db-s1-r2", "hot", "front-0", "front-1", "lb-0", "lb-1"}));
  using Dep = std::pair<std::string, DependCondition>;
  using S = std::vector<std::string>;
  const auto started = DependCondition::started;

  const Instance& broker = find(inst, "broker");
  EXPECT_EQ(broker.kind, "broker");
  EXPECT_EQ(broker.command[0], "{bindir}/faultline-broker");
  EXPECT_EQ(flag_values(broker.command, "--partitions"), S{"8"});
  EXPECT_EQ(flag_values(broker.command, "--fsync"), S{"everysec"});
  EXPECT_EQ(flag_values(broker.command, "--compact"), S{"changes"});
  EXPECT_EQ(broker.ready.kind, ProbeKind::resp);
  EXPECT_TRUE(broker.depends_on.empty());

  const Instance& db = find(inst, "db-s1-r2");
  EXPECT_EQ(flag_values(db.command, "--broker"), S{"{addr:broker}"});
  EXPECT_EQ(flag_values(db.command, "--changes-topic"), S{"changes"});
  EXPECT_EQ(db.depends_on, (std::vector<Dep>{{"broker", started}}));

  const Instance& front = find(inst, "front-1");
  EXPECT_EQ(front.kind, "cache");
  EXPECT_EQ(front.group, "front");
  EXPECT_EQ(front.command[0], "{bindir}/faultline-cache");
  EXPECT_EQ(flag_values(front.command, "--db"),
            (S{"db-s0-r0,0,{addr:db-s0-r0}", "db-s0-r1,0,{addr:db-s0-r1}",
               "db-s0-r2,0,{addr:db-s0-r2}", "db-s1-r0,1,{addr:db-s1-r0}",
               "db-s1-r1,1,{addr:db-s1-r1}", "db-s1-r2,1,{addr:db-s1-r2}"}));
  EXPECT_EQ(flag_values(front.command, "--write-policy"), S{"write-back"});
  EXPECT_EQ(flag_values(front.command, "--capacity"), S{"1048576"});
  EXPECT_EQ(flag_values(front.command, "--flush-interval"), S{"50ms"});
  EXPECT_EQ(flag_values(front.command, "--broker"), S{"{addr:broker}"});
  EXPECT_EQ(flag_values(front.command, "--bug"), S{"skip-invalidation"});
  EXPECT_EQ(flag_values(find(inst, "hot").command, "--bug"), S{});
  EXPECT_EQ(flag_values(find(inst, "hot").command, "--eviction"), S{"lfu"});
  std::vector<Dep> cache_deps;
  for (const auto& d : {"db-s0-r0", "db-s0-r1", "db-s0-r2", "db-s1-r0", "db-s1-r1", "db-s1-r2"}) {
    cache_deps.emplace_back(d, started);
  }
  cache_deps.emplace_back("broker", started);
  EXPECT_EQ(front.depends_on, cache_deps);

  const Instance& lb = find(inst, "lb-1");
  EXPECT_EQ(lb.kind, "lb");
  EXPECT_EQ(lb.command[0], "{bindir}/faultline-lb");
  EXPECT_EQ(flag_values(lb.command, "--backend"),
            (S{"front-0,{addr:front-0}", "front-1,{addr:front-1}"}));
  EXPECT_EQ(flag_values(lb.command, "--policy"), S{"round-robin"});
  EXPECT_EQ(flag_values(lb.command, "--bug"), S{"retry-writes"});
  EXPECT_EQ(lb.depends_on, (std::vector<Dep>{{"front-0", DependCondition::ready},
                                             {"front-1", DependCondition::ready}}));

  // Default targets: the register workload enters at the LBs, the log workload at the broker.
  EXPECT_EQ(p.target_instances(p.workloads[0]), (S{"lb-0", "lb-1"}));
  EXPECT_EQ(p.target_instances(p.workloads[1]), S{"broker"});
}

TEST(PlanReference, DefaultsWithoutLbOrBroker) {
  using S = std::vector<std::string>;
  Plan p = load_good("tests/plans/good/cache-only.toml");
  EXPECT_EQ(p.cluster.caches.at(0).name, "cache");
  auto inst = p.instances();
  EXPECT_EQ(ids(inst), (S{"db-s0-r0", "cache"}));
  EXPECT_EQ(flag_values(find(inst, "cache").command, "--broker"), S{});
  EXPECT_EQ(flag_values(find(inst, "db-s0-r0").command, "--broker"), S{});
  EXPECT_EQ(p.target_instances(), S{"cache"});
  // The kv-mix workload's default checks are unchanged; a log workload's include the log check.
  WorkloadSpec log;
  log.kind = "log";
  log.name = "log";
  EXPECT_EQ(default_checks(log).front().kind, "log");

  Plan q = load_good("tests/plans/good/lb-db.toml");
  EXPECT_EQ(q.cluster.lb.backends, "db");
  auto qi = q.instances();
  EXPECT_EQ(ids(qi), (S{"broker", "db-s0-r0", "db-s1-r0", "lb"}));
  EXPECT_EQ(flag_values(find(qi, "lb").command, "--backend"),
            (S{"db-s0-r0,{addr:db-s0-r0}", "db-s1-r0,{addr:db-s1-r0}"}));
  // changes = false: the db publishes nothing, so it neither gets --broker nor waits for it.
  EXPECT_EQ(flag_values(find(qi, "db-s0-r0").command, "--broker"), S{});
  EXPECT_TRUE(find(qi, "db-s0-r0").depends_on.empty());
}

TEST(PlanLoad, EveryGoodPlanLoads) {
  for (const auto& e : fs::directory_iterator("tests/plans/good")) {
    if (e.path().extension() != ".toml") continue;
    auto r = load_plan_file(fs::relative(e.path()));
    EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  }
}

// Each tests/plans/bad/<case>.toml must produce exactly the lines of <case>.expected.
std::vector<std::string> bad_cases() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fs::path(FL_SOURCE_DIR) / "tests/plans/bad")) {
    if (e.path().extension() == ".toml") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class BadPlan : public ::testing::TestWithParam<std::string> {};

TEST_P(BadPlan, ReportsExactlyTheExpectedDiagnostics) {
  const std::string base = "tests/plans/bad/" + GetParam();
  std::ifstream in(base + ".expected");
  ASSERT_TRUE(in) << "missing " << base << ".expected";
  std::stringstream expected;
  expected << in.rdbuf();
  auto r = load_plan_file(base + ".toml");
  EXPECT_FALSE(r.plan);
  EXPECT_EQ(all_errors(r), expected.str());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadPlan, ::testing::ValuesIn(bad_cases()),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace fl::plan

namespace fl::plan {
namespace {

TEST(PlanFaults, AClockFaultOnAnExternalNodeNeedsFaketime) {
  const std::string plan = R"(name = "x"
[[node]]
id = "app"
command = ["sleep", "100"]
FAKETIME
[[fault]]
at = "1s"
action = "clock"
target = "app"
offset = "2s"
)";
  auto without = load_plan_string(std::regex_replace(plan, std::regex("FAKETIME\n"), ""), "p.toml");
  ASSERT_FALSE(without.plan);
  EXPECT_NE(all_errors(without).find("p.toml:8:10: 'target' in [[fault]]: [[node]] 'app' is an "
                                     "external program, which takes clock faults only under "
                                     "libfaketime: add faketime = true to it"),
            std::string::npos)
      << all_errors(without);
  auto with = load_plan_string(std::regex_replace(plan, std::regex("FAKETIME"), "faketime = true"),
                               "p.toml");
  EXPECT_TRUE(with.plan) << all_errors(with);
}

}  // namespace
}  // namespace fl::plan
