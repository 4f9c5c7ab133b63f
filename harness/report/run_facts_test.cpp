#include "harness/report/run_facts.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "common/hash_ring.h"

namespace fl::report {
namespace {

TEST(FaultTimeline, PairsPlanFaultsByIndexAndNode) {
  // Two nodes paused by one [[fault]], resumed in the other order; a partition; a kill for good.
  const std::string events = R"ev({"time":1,"type":"run.start"}
{"time":100,"type":"fault.start","fault":0,"action":"pause","target":"db","node":"db-0","nodes":["db-0"],"detail":"pause db for 1s"}
{"time":110,"type":"fault.start","fault":0,"action":"pause","target":"db","node":"db-1","nodes":["db-1"],"detail":"pause db for 1s"}
{"time":150,"type":"fault.start","fault":1,"action":"partition","target":"db","nodes":["db-0","db-1"],"detail":"partition isolate (2 cut links)"}
{"time":200,"type":"fault.end","fault":0,"action":"pause","target":"db","node":"db-1","nodes":["db-1"],"detail":"resume after 1s"}
not json at all
{"time":210,"type":"fault.end","fault":0,"action":"pause","target":"db","node":"db-0","nodes":["db-0"],"detail":"resume after 1s"}
{"time":300,"type":"fault.end","fault":1,"action":"partition","target":"db","nodes":["db-0","db-1"],"handle":1}
{"time":400,"type":"fault.start","fault":2,"action":"kill","target":"lb","node":"lb-0","nodes":["lb-0"],"detail":"kill lb"}
{"time":500,"type":"fault.skipped","fault":3,"detail":"no node selected"}
)ev";
  auto t = fault_timeline(events);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].nodes, std::vector<std::string>{"db-0"});
  EXPECT_EQ(t[0].start_ns, 100);
  EXPECT_EQ(t[0].end_ns, std::optional<int64_t>(210));
  EXPECT_EQ(t[1].nodes, std::vector<std::string>{"db-1"});
  EXPECT_EQ(t[1].end_ns, std::optional<int64_t>(200));
  EXPECT_EQ(t[2].action, "partition");
  EXPECT_EQ(t[2].end_ns, std::optional<int64_t>(300));
  EXPECT_EQ(t[2].detail, "partition isolate (2 cut links)");
  EXPECT_EQ(t[3].index, 2);
  EXPECT_EQ(t[3].target, "lb");
  EXPECT_EQ(t[3].source, "plan");
  EXPECT_FALSE(t[3].end_ns);
}

TEST(FaultTimeline, PairsControlApiFaultsByHandleNodeOrHealAll) {
  const std::string events =
      R"ev({"time":10,"type":"fault.start","action":"partition","shape":"halves","nodes":["a","b"],"handle":1}
{"time":20,"type":"fault.start","action":"link","from":["a"],"to":["c"],"handle":2}
{"time":30,"type":"fault.start","action":"pause","nodes":["b"]}
{"time":40,"type":"fault.end","action":"link","handle":2}
{"time":50,"type":"fault.end","action":"pause","nodes":["b"]}
{"time":60,"type":"fault.start","action":"kill","nodes":["c"]}
{"time":70,"type":"fault.start","action":"restart","nodes":["c"]}
{"time":80,"type":"fault.start","action":"terminate","nodes":["a"]}
{"time":90,"type":"fault.end","action":"all","links":true,"resumed":[],"restarted":["a"]}
)ev";
  auto t = fault_timeline(events);
  ASSERT_EQ(t.size(), 6u);
  for (const auto& w : t) {
    EXPECT_EQ(w.source, "control");
    EXPECT_EQ(w.index, -1);
  }
  EXPECT_EQ(t[0].end_ns, std::optional<int64_t>(90));  // healed by "all"
  EXPECT_EQ(t[1].nodes, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(t[1].end_ns, std::optional<int64_t>(40));
  EXPECT_EQ(t[2].end_ns, std::optional<int64_t>(50));
  EXPECT_EQ(t[3].end_ns, std::optional<int64_t>(70));  // the restart brought it back
  EXPECT_EQ(t[4].action, "restart");
  EXPECT_EQ(t[4].end_ns, std::optional<int64_t>(70));
  EXPECT_EQ(t[5].end_ns, std::optional<int64_t>(90));
  EXPECT_EQ(t[2].detail, "pause b");
}

TEST(ShardMetrics, CountsLatencyAndRateOfEachShardInTheMainPhase) {
  // Keys of shard 0 and shard 1 of two, found with the db's own function.
  std::string k0, k1;
  for (int i = 0; k0.empty() || k1.empty(); ++i) {
    const std::string k = fmt::format("k{}", i);
    (shard_of(k, 2) == 0 ? k0 : k1) = k;
  }
  std::string text;
  int64_t index = 0;
  auto op = [&](int process, const char* type, const std::string& key, int64_t time) {
    text += fmt::format(
        R"({{"index":{},"time":{},"process":{},"type":"{}","f":"write","key":"{}","value":1}})"
        "\n",
        index++, time, process, type, key);
  };
  // Shard 0: ok ops of 1ms, 2ms, 3ms, a fail of 10ms; shard 1: one ok of 4ms and an info.
  op(0, "invoke", k0, 0);
  op(0, "ok", k0, 1'000'000);
  op(1, "invoke", k0, 1'000'000'000);
  op(1, "ok", k0, 1'002'000'000);
  op(2, "invoke", k0, 2'000'000'000);
  op(2, "fail", k0, 2'010'000'000);
  op(3, "invoke", k0, 1'500'000'000);
  op(3, "ok", k0, 1'503'000'000);
  op(4, "invoke", k1, 100);
  op(4, "ok", k1, 4'000'100);
  op(5, "invoke", k1, 500);
  op(5, "info", k1, 1'000'000'500);
  // After the main phase (final reads): not counted.
  op(6, "invoke", k1, 5'000'000'000);
  op(6, "ok", k1, 5'000'001'000);
  auto h = history::read_compact(text, history::Format::jsonl, "test");
  ASSERT_TRUE(h) << h.error().message;
  auto m = shard_metrics(*h, 2, 4'000'000'000);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].shard, 0);
  EXPECT_EQ(m[0].ok, 3);
  EXPECT_EQ(m[0].fail, 1);
  EXPECT_EQ(m[0].info, 0);
  // 4 completed between 0 and 2.01s.
  EXPECT_NEAR(m[0].ops_per_sec, 4 / 2.01, 1e-9);
  // Of 1, 2, 3, 10 the nearest rank: the smallest with at least half at or below it.
  EXPECT_DOUBLE_EQ(m[0].p50_ms, 2);
  EXPECT_DOUBLE_EQ(m[0].p99_ms, 10);
  EXPECT_EQ(m[1].ok, 1);
  EXPECT_EQ(m[1].info, 1);
  EXPECT_DOUBLE_EQ(m[1].p50_ms, 4);  // the info has no latency
  // Without a phase boundary, the final read counts.
  EXPECT_EQ(shard_metrics(*h, 2, std::nullopt)[1].ok, 2);
}

TEST(NodeVersions, FromInfoFaultlineVersionElseRedisVersion) {
  std::vector<NodeInfo> nodes(3);
  nodes[0].id = "db-0";
  nodes[0].info = {{"redis_version", "7.0.0"}, {"faultline_version", "0.1.0"}};
  nodes[1].id = "redis";
  nodes[1].info = {{"redis_version", "7.0.15"}};
  nodes[2].id = "down";
  auto v = node_versions(nodes);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].second, "0.1.0");
  EXPECT_EQ(v[1].second, "redis 7.0.15");
}

TEST(BuildVersions, NameTheCompilerAndBoost) {
  auto v = build_versions("9.9.9");
  EXPECT_EQ(v.faultline, "9.9.9");
  EXPECT_EQ(v.boost.rfind("1.", 0), 0u) << v.boost;
  EXPECT_FALSE(v.compiler.empty());
}

}  // namespace
}  // namespace fl::report
