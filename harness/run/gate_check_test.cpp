// Fixed gates on a run's metrics: met, missed, per workload, and a metric the run lacks.
#include "harness/run/gate_check.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fl::run {
namespace {

report::PhaseMetrics phase(std::string name, double ops, double p99_ms, int64_t ok, int64_t fail) {
  report::PhaseMetrics m;
  m.name = std::move(name);
  m.ops_per_sec = ops;
  m.ok = ok;
  m.fail = fail;
  m.latency = {p99_ms / 4, p99_ms / 2, p99_ms, p99_ms * 2, p99_ms * 3};
  return m;
}

std::vector<plan::Gate> gates(std::initializer_list<const char*> texts) {
  std::vector<plan::Gate> out;
  for (const char* t : texts) {
    auto g = plan::parse_gate(t);
    EXPECT_TRUE(g) << t;
    if (g) out.push_back(*g);
  }
  return out;
}

TEST(GateCheck, MetAndMissedWithSummaries) {
  report::RunReport r;
  r.phases = {phase("main", 900, 11.5, 99, 1), phase("final-reads", 5, 100, 10, 0)};
  auto out = evaluate_gates(
      r, gates({"p99 < 5ms", "throughput > 800/s", "error_ratio < 0.5%", "regression p99 < 10%"}));
  ASSERT_EQ(out.size(), 3u) << "regression gates are compare's";
  EXPECT_FALSE(out[0].passed);
  EXPECT_DOUBLE_EQ(out[0].value, 11.5);
  EXPECT_DOUBLE_EQ(out[0].limit, 5);
  EXPECT_EQ(out[0].metric, "p99");
  EXPECT_EQ(out[0].summary, "p99 11.5ms, limit < 5ms: missed");
  EXPECT_TRUE(out[1].passed);
  // Served operations: 900 ops/s of which 99 of 100 ok.
  EXPECT_EQ(out[1].summary, "throughput 891/s, limit > 800/s: met");
  EXPECT_FALSE(out[2].passed);
  EXPECT_DOUBLE_EQ(out[2].value, 0.01);
}

TEST(GateCheck, AValueOnTheLimitMissesIt) {
  report::RunReport r;
  r.phases = {phase("main", 800, 5, 1, 0)};
  auto out = evaluate_gates(r, gates({"p99 < 5ms", "throughput > 800/s"}));
  EXPECT_FALSE(out[0].passed);
  EXPECT_FALSE(out[1].passed);
}

TEST(GateCheck, WorkloadGatesReadThatWorkloadsPhase) {
  report::RunReport r;
  r.phases = {phase("ingest/main", 100, 1, 1, 0), phase("query/main", 50, 30, 1, 0)};
  auto out = evaluate_gates(r, gates({"ingest/p99 < 2ms", "query/p99 < 2ms", "p99 < 20ms"}));
  EXPECT_TRUE(out[0].passed);
  EXPECT_EQ(out[0].metric, "ingest/p99");
  EXPECT_FALSE(out[1].passed);
  EXPECT_FALSE(out[2].passed) << "together: the worst workload's latency";
}

TEST(GateCheck, AMetricTheRunLacksIsMissedWithNaN) {
  report::RunReport r;
  r.phases = {phase("main", 100, 1, 1, 0)};
  auto out = evaluate_gates(r, gates({"other/p99 < 2ms"}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].passed);
  EXPECT_TRUE(std::isnan(out[0].value));
  EXPECT_NE(out[0].summary.find("not measured"), std::string::npos) << out[0].summary;
  report::RunReport empty;
  EXPECT_FALSE(evaluate_gates(empty, gates({"throughput > 1/s"}))[0].passed);
}

}  // namespace
}  // namespace fl::run
