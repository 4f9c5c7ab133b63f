#include "harness/check/perf.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using namespace testing;
const std::vector<RunEvent> kNoEvents;

PerfReport run(const HistoryBuilder& h) { return check_perf(Input{compacted(h.ops), kNoEvents}); }

TEST(Quantiles, NearestRank) {
  std::vector<int64_t> samples;
  for (int64_t i = 1000; i >= 1; --i) samples.push_back(i);
  Quantiles q = quantiles(samples);
  EXPECT_EQ(q.count, 1000u);
  EXPECT_EQ(q.min, 1);
  EXPECT_EQ(q.p50, 500);
  EXPECT_EQ(q.p90, 900);
  EXPECT_EQ(q.p99, 990);
  EXPECT_EQ(q.p999, 999);
  EXPECT_EQ(q.max, 1000);
  EXPECT_DOUBLE_EQ(q.mean, 500.5);

  std::vector<int64_t> one = {7};
  EXPECT_EQ(quantiles(one).p50, 7);
  EXPECT_EQ(quantiles(one).p999, 7);
  std::vector<int64_t> none;
  EXPECT_EQ(quantiles(none).count, 0u);
  EXPECT_EQ(quantiles(none).max, 0);
}

TEST(Perf, LatencyPerFunctionAndOverall) {
  HistoryBuilder h;
  // 100 reads taking 1..100 ms, 10 writes taking 200 ms, failures and timeouts not in latency.
  for (int i = 1; i <= 100; ++i) h.op(1, 1000.0 * i, 1000.0 * i + i, Type::ok, "read", {});
  for (int i = 0; i < 10; ++i)
    h.op(2, 1000.0 * i, 1000.0 * i + 200, Type::ok, "write", Value::of(i));
  h.op(3, 0, 5000, Type::info, "write", Value::of(1));
  h.op(3, 6000, 6001, Type::fail, "read", {});
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid);
  ASSERT_EQ(r.by_f.size(), 2u);
  const auto& read = r.by_f[0];
  const auto& write = r.by_f[1];
  EXPECT_EQ(read.f, "read");
  EXPECT_EQ(read.ok, 100u);
  EXPECT_EQ(read.fail, 1u);
  EXPECT_EQ(read.latency.count, 100u);
  EXPECT_EQ(read.latency.p50, ms(50));
  EXPECT_EQ(read.latency.p90, ms(90));
  EXPECT_EQ(read.latency.p99, ms(99));
  EXPECT_EQ(read.latency.max, ms(100));
  EXPECT_EQ(write.f, "write");
  EXPECT_EQ(write.ok, 10u);
  EXPECT_EQ(write.info, 1u);
  EXPECT_EQ(write.latency.p50, ms(200));
  EXPECT_EQ(r.overall.ok, 110u);
  EXPECT_EQ(r.overall.latency.count, 110u);
  EXPECT_EQ(r.overall.latency.max, ms(200));
  EXPECT_EQ(r.overall.latency.p90, ms(99));  // the 99th of 110 sorted samples
}

TEST(Perf, ThroughputOverTheSpan) {
  HistoryBuilder h;
  for (int i = 0; i < 10; ++i) h.op(1, 200.0 * i, 200.0 * i + 10, Type::ok, "read", {});
  h.op(1, 1990, 2000, Type::fail, "read", {});
  auto r = run(h);
  EXPECT_EQ(r.span_ns, ms(2000));
  EXPECT_DOUBLE_EQ(r.throughput, 5.0);  // 10 ok ops in 2 s
  EXPECT_DOUBLE_EQ(r.by_f.at(0).throughput, 5.0);
}

TEST(Perf, FinalReadPhaseIsNotLoad) {
  HistoryBuilder h;
  for (int i = 0; i < 10; ++i) h.op(1, 200.0 * i, 200.0 * i + 10, Type::ok, "write", {});
  // The final reads start at 5 s and are slow; they must not count.
  for (int i = 0; i < 5; ++i)
    h.op(2, 5000.0 + i * 600, 5000.0 + i * 600 + 500, Type::ok, "read", {});
  const std::vector<RunEvent> events{{ms(4000), "phase.final-reads", "", ""}};
  auto r = check_perf(Input{compacted(h.ops), events});
  EXPECT_EQ(r.overall.ok, 10u);
  EXPECT_EQ(r.overall.latency.max, ms(10));
  EXPECT_EQ(r.span_ns, ms(1810));
  ASSERT_EQ(r.by_f.size(), 1u);
  EXPECT_EQ(r.by_f[0].f, "write");
}

TEST(Perf, EmptyOrMalformedIsUnknown) {
  EXPECT_EQ(run(HistoryBuilder{}).verdict, Verdict::unknown);
  HistoryBuilder twice;
  twice.invoke(1, 0, "read").invoke(1, 1, "read");
  // A malformed history is the reader's error (history::compact), before any checker.
  auto c = history::compact(twice.ops);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("still pending"), std::string::npos) << c.error().message;
  HistoryBuilder nothing_ok;
  nothing_ok.op(1, 0, 1, Type::fail, "read", {});
  EXPECT_EQ(run(nothing_ok).verdict, Verdict::valid);
  EXPECT_EQ(run(nothing_ok).throughput, 0);
}

TEST(Perf, ThroughTheRegistry) {
  plan::CheckSpec spec;
  spec.kind = "perf";
  auto checker = make_checker(spec);
  ASSERT_TRUE(checker) << checker.error().message;
  HistoryBuilder h;
  h.op(1, 0, 2, Type::ok, "read", {});
  h.op(1, 1000, 1004, Type::ok, "write", Value::of(1));
  Result res = (*checker)->check(Input{compacted(h.ops), kNoEvents});
  EXPECT_EQ(res.name, "perf");
  EXPECT_EQ(res.verdict, Verdict::valid);
  EXPECT_NE(res.summary.find("ok ops/s"), std::string::npos) << res.summary;
  auto details = boost::json::parse(res.details_json).as_object();
  EXPECT_EQ(details.at("by_f").at("write").at("latency_ns").at("max").to_number<int64_t>(), ms(4));
  EXPECT_EQ(details.at("overall").at("ok").to_number<int64_t>(), 2);
}

TEST(Registry, KnowsEveryCheckerKind) {
  auto kinds = checker_kinds();
  for (std::string_view k :
       {"linearizable", "set-full", "counter", "total-queue", "availability", "perf"}) {
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), k), kinds.end()) << k;
  }
}

}  // namespace
}  // namespace fl::check
