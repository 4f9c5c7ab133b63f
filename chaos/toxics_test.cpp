#include "chaos/toxics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fl::chaos {
namespace {

using namespace std::chrono_literals;
using plan::Toxic;

Toxic make(Toxic::Kind kind) {
  Toxic t;
  t.kind = kind;
  return t;
}

TEST(ToxicApplies, ToxicityIsAChancePerDraw) {
  Rng rng(7);
  Toxic t = make(Toxic::Kind::latency);
  t.toxicity = 0;
  for (int i = 0; i < 10000; ++i) ASSERT_FALSE(toxic_applies(t, rng));
  t.toxicity = 1;
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(toxic_applies(t, rng));
  t.toxicity = 0.3;
  int yes = 0;
  for (int i = 0; i < 100000; ++i) yes += toxic_applies(t, rng);
  EXPECT_NEAR(yes / 100000.0, 0.3, 0.01);
}

// Loss ratio and the mean length of runs of drops over `n` chunks.
std::pair<double, double> loss_stats(double p, double burst, int n, uint64_t seed) {
  LossModel m(p, burst);
  Rng rng(seed);
  int dropped = 0, bursts = 0;
  bool prev = false;
  for (int i = 0; i < n; ++i) {
    const bool d = m.drop(rng);
    dropped += d;
    if (d && !prev) ++bursts;
    prev = d;
  }
  return {static_cast<double>(dropped) / n, bursts ? static_cast<double>(dropped) / bursts : 0};
}

TEST(LossModel, IndependentLossesHaveTheRatio) {
  auto [ratio, mean_burst] = loss_stats(0.1, 1, 400000, 1);
  EXPECT_NEAR(ratio, 0.1, 0.005);
  EXPECT_NEAR(mean_burst, 1 / 0.9, 0.03);  // independent: 1 / (1 - p)
}

TEST(LossModel, BurstsHaveTheirMeanLengthAndTheRatioHolds) {
  for (double burst : {3.0, 8.0}) {
    auto [ratio, mean_burst] = loss_stats(0.1, burst, 1000000, 2);
    EXPECT_NEAR(ratio, 0.1, 0.01) << "burst " << burst;
    EXPECT_NEAR(mean_burst, burst, burst * 0.08) << "burst " << burst;
  }
}

TEST(LossModel, EdgesDropNothingOrEverything) {
  EXPECT_EQ(loss_stats(0, 4, 10000, 3).first, 0);
  EXPECT_EQ(loss_stats(1, 4, 10000, 3).first, 1);
}

TEST(TokenBucket, ChunksLeaveAtTheRate) {
  TokenBucket b(1000, 0);  // 1000 B/s: 100 B takes 100 ms
  EXPECT_EQ(b.release(0s, 100), 100ms);
  EXPECT_EQ(b.release(0s, 100), 200ms);
  EXPECT_EQ(b.release(50ms, 100), 300ms);
  EXPECT_EQ(b.release(2s, 100), 2100ms);  // idle: no credit beyond the burst (0)
}

TEST(TokenBucket, BurstPassesAtOnceThenTheRate) {
  TokenBucket b(1000, 500);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.release(10s, 100), 10s) << i;
  EXPECT_EQ(b.release(10s, 100), 10100ms);
  EXPECT_EQ(b.release(10s, 100), 10200ms);
}

TEST(TokenBucket, LongRunRateHoldsForUnevenChunks) {
  TokenBucket b(1 << 20, 16 << 10);
  Rng rng(5);
  uint64_t total = 0;
  Duration last{0};
  for (int i = 0; i < 10000; ++i) {
    const size_t n = rng.uniform(1, 65536);
    total += n;
    last = b.release(0s, n);
  }
  const double rate = static_cast<double>(total) / std::chrono::duration<double>(last).count();
  EXPECT_NEAR(rate, 1 << 20, (1 << 20) * 0.01);
}

std::vector<double> latency_ms(Toxic::Distribution d, int n) {
  Toxic t = make(Toxic::Kind::latency);
  t.latency = 10ms;
  t.jitter = 2ms;
  t.distribution = d;
  Rng rng(11);
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    v.push_back(std::chrono::duration<double, std::milli>(draw_latency(t, rng)).count());
  }
  std::sort(v.begin(), v.end());
  return v;
}

double quantile(const std::vector<double>& sorted, double q) {
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

TEST(Latency, UniformStaysWithinJitter) {
  auto v = latency_ms(Toxic::Distribution::uniform, 100000);
  EXPECT_GE(v.front(), 8.0);
  EXPECT_LE(v.back(), 12.0);
  EXPECT_NEAR(quantile(v, 0.5), 10.0, 0.05);
  EXPECT_NEAR(quantile(v, 0.25), 9.0, 0.05);
  EXPECT_NEAR(quantile(v, 0.75), 11.0, 0.05);
}

TEST(Latency, NormalHasJitterAsStandardDeviation) {
  auto v = latency_ms(Toxic::Distribution::normal, 100000);
  EXPECT_NEAR(quantile(v, 0.5), 10.0, 0.05);
  EXPECT_NEAR(quantile(v, 0.8413), 12.0, 0.05);  // one standard deviation
  EXPECT_NEAR(quantile(v, 0.1587), 8.0, 0.05);
  EXPECT_GE(v.front(), 0.0);
}

TEST(Latency, ParetoNeverBelowLatencyWithMeanLatencyPlusJitter) {
  auto v = latency_ms(Toxic::Distribution::pareto, 200000);
  EXPECT_GE(v.front(), 10.0);
  // Lomax(shape 3, scale 4 ms): median 4 * (2^(1/3) - 1) = 1.04 ms, p99 4 * (100^(1/3) - 1).
  EXPECT_NEAR(quantile(v, 0.5), 10.0 + 4 * (std::cbrt(2.0) - 1), 0.05);
  EXPECT_NEAR(quantile(v, 0.99), 10.0 + 4 * (std::cbrt(100.0) - 1), 0.6);
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  EXPECT_NEAR(mean, 12.0, 0.1);
}

TEST(Latency, NoJitterIsExactAndNegativeNeverHappens) {
  Toxic t = make(Toxic::Kind::latency);
  t.latency = 5ms;
  Rng rng(1);
  EXPECT_EQ(draw_latency(t, rng), 5ms);
  t.latency = 0ms;
  t.jitter = 10ms;
  for (int i = 0; i < 1000; ++i) ASSERT_GE(draw_latency(t, rng), 0ns);
}

TEST(DirectionToxics, JitteredChunksNeverOvertakeEachOther) {
  DirectionToxics d(0s);
  Toxic t = make(Toxic::Kind::latency);
  t.latency = 10ms;
  t.jitter = 5ms;
  d.add(1, t);
  Rng rng(3);
  Duration last{0};
  bool reordered_draw = false;
  for (int i = 0; i < 1000; ++i) {
    const Duration now = i * 100us;
    Verdict v = d.on_chunk(now, 10, rng);
    ASSERT_EQ(v.kind, Verdict::Kind::deliver);
    ASSERT_GE(v.at, last);
    ASSERT_GE(v.at, now);
    if (v.at == last) reordered_draw = true;  // a draw that would have overtaken was held back
    last = v.at;
  }
  EXPECT_TRUE(reordered_draw);
}

TEST(DirectionToxics, LatencyThenBandwidth) {
  DirectionToxics d(0s);
  Toxic lat = make(Toxic::Kind::latency);
  lat.latency = 50ms;
  Toxic bw = make(Toxic::Kind::bandwidth);
  bw.bytes_per_second = 100000;  // 1000 B burst, 10 us per byte
  d.add(1, lat);
  d.add(2, bw);
  Rng rng(1);
  EXPECT_EQ(d.on_chunk(0s, 1000, rng).at, 50ms);  // within the burst
  EXPECT_EQ(d.on_chunk(0s, 1000, rng).at, 60ms);  // 1000 B at 10 us
  EXPECT_TRUE(d.remove(2));
  EXPECT_FALSE(d.remove(2));
  EXPECT_EQ(d.on_chunk(20ms, 1000, rng).at, 70ms);  // latency only, yet in order
  EXPECT_EQ(d.on_chunk(100ms, 1000, rng).at, 150ms);
}

TEST(DirectionToxics, BlackholeDropsStallHoldsAfterItsTime) {
  Rng rng(1);
  DirectionToxics d(10s);
  Toxic stall = make(Toxic::Kind::stall);
  stall.after = 1s;
  d.add(1, stall);
  EXPECT_EQ(d.on_chunk(10500ms, 10, rng).kind, Verdict::Kind::deliver);
  EXPECT_FALSE(d.stalled(10500ms));
  EXPECT_TRUE(d.stalled(11s));
  EXPECT_EQ(d.on_chunk(11s, 10, rng).kind, Verdict::Kind::hold);
  d.add(2, make(Toxic::Kind::blackhole));
  EXPECT_TRUE(d.blackholed());
  EXPECT_EQ(d.on_chunk(12s, 10, rng).kind, Verdict::Kind::drop);
  d.remove(1);
  d.remove(2);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.on_chunk(12s, 10, rng).kind, Verdict::Kind::deliver);
}

TEST(DirectionToxics, SlowCloseDelayIsTheLongest) {
  DirectionToxics d(0s);
  EXPECT_EQ(d.close_delay(), 0s);
  Toxic a = make(Toxic::Kind::slow_close);
  a.after = 300ms;
  Toxic b = a;
  b.after = 1s;
  d.add(1, a);
  d.add(2, b);
  EXPECT_EQ(d.close_delay(), 1s);
  Rng rng(1);
  EXPECT_EQ(d.on_chunk(5s, 10, rng).at, 5s);  // bytes are not delayed
}

TEST(DirectionToxics, LossDropsAboutItsShare) {
  DirectionToxics d(0s);
  Toxic t = make(Toxic::Kind::loss);
  t.probability = 0.25;
  t.burst = 4;
  d.add(1, t);
  Rng rng(9);
  int dropped = 0;
  for (int i = 0; i < 200000; ++i) dropped += d.on_chunk(0s, 1, rng).kind == Verdict::Kind::drop;
  EXPECT_NEAR(dropped / 200000.0, 0.25, 0.02);
}

}  // namespace
}  // namespace fl::chaos
