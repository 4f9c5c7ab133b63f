#include "nodes/lb/latency.h"

#include <gtest/gtest.h>

namespace fl::lb {
namespace {

TEST(LatencyHistogramTest, BucketsCoverEveryValueInOrder) {
  uint64_t prev_upper = 0;
  for (size_t i = 1; i < 16 + 60 * 8; ++i) {
    const uint64_t up = LatencyHistogram::upper_bound(i);
    EXPECT_EQ(LatencyHistogram::index(up), i);
    EXPECT_EQ(LatencyHistogram::index(prev_upper + 1), i);
    prev_upper = up;
  }
  EXPECT_EQ(prev_upper, UINT64_MAX);
}

TEST(LatencyHistogramTest, QuantilesWithinOneEighth) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantile(0.5), 0u);
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 1000u);
  const uint64_t p50 = h.quantile(0.5), p99 = h.quantile(0.99);
  EXPECT_GE(p50, 500u);
  EXPECT_LE(p50, 500u * 9 / 8);
  EXPECT_GE(p99, 990u);
  EXPECT_LE(p99, 990u * 9 / 8);
}

}  // namespace
}  // namespace fl::lb
