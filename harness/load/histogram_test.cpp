#include "harness/load/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace fl::load {
namespace {

TEST(Histogram, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.quantile(0.99), 0);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (int64_t v = 0; v < 256; ++v) h.record(v);
  EXPECT_EQ(h.count(), 256u);
  EXPECT_EQ(h.quantile(0.5), 127);
  EXPECT_EQ(h.quantile(1.0), 255);
  EXPECT_EQ(h.min(), 0);
  EXPECT_DOUBLE_EQ(h.mean(), 127.5);
}

TEST(Histogram, BucketsAreContiguousAndWithinOnePercent) {
  // Every index maps back to a range containing the values that map to it.
  for (size_t i = 0; i < Histogram::kBuckets; ++i) {
    int64_t lo = Histogram::lowest_of(i), hi = Histogram::highest_of(i);
    ASSERT_LE(lo, hi);
    ASSERT_EQ(Histogram::index_of(lo), i);
    ASSERT_EQ(Histogram::index_of(hi), i);
    if (i + 1 < Histogram::kBuckets) {
      ASSERT_EQ(Histogram::lowest_of(i + 1), hi + 1) << i;
    }
    ASSERT_LE(static_cast<double>(hi - lo), 0.01 * static_cast<double>(lo) + 1) << i;
  }
  EXPECT_EQ(Histogram::highest_of(Histogram::kBuckets - 1), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Histogram::index_of(std::numeric_limits<int64_t>::max()), Histogram::kBuckets - 1);
  EXPECT_EQ(Histogram::index_of(-5), 0u);
}

TEST(Histogram, QuantilesOfAUniformSpreadAreWithinOnePercent) {
  Histogram h;
  for (int64_t v = 1; v <= 1'000'000; ++v) h.record(v * 1000);  // 1us .. 1s
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double expected = q * 1e9;
    EXPECT_NEAR(static_cast<double>(h.quantile(q)), expected, expected * 0.01) << q;
  }
  EXPECT_EQ(h.max(), 1'000'000'000);  // exact
  EXPECT_EQ(h.min(), 1000);
  EXPECT_NEAR(h.mean(), 500'000'500.0, 1.0);
}

TEST(Histogram, MaxIsExactAndQuantilesNeverExceedIt) {
  Histogram h;
  h.record(1'234'567'891);
  EXPECT_EQ(h.max(), 1'234'567'891);
  EXPECT_EQ(h.quantile(0.5), 1'234'567'891);
  EXPECT_EQ(h.quantile_ns(0.99).count(), 1'234'567'891);
}

TEST(Histogram, MergeAddsCounts) {
  Histogram a, b, both;
  for (int64_t v = 0; v < 1000; ++v) {
    a.record(v * 7);
    both.record(v * 7);
  }
  for (int64_t v = 0; v < 500; ++v) {
    b.record_n(v * 1'000'003, 2);
    both.record_n(v * 1'000'003, 2);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.max(), both.max());
  EXPECT_EQ(a.min(), both.min());
  for (double q : {0.1, 0.5, 0.9, 0.99}) EXPECT_EQ(a.quantile(q), both.quantile(q));
  Histogram empty;
  a.merge(empty);
  EXPECT_EQ(a.count(), both.count());
  empty.merge(b);
  EXPECT_EQ(empty.min(), b.min());
}

TEST(Histogram, CopyAndResetAreIndependent) {
  Histogram a;
  a.record(std::chrono::milliseconds(5));
  Histogram b = a;
  a.reset();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(b.count(), 1u);
  EXPECT_NEAR(static_cast<double>(b.quantile(0.5)), 5e6, 5e4);
  a = b;
  EXPECT_EQ(a.max(), 5'000'000);
}

}  // namespace
}  // namespace fl::load
