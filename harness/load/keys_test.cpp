#include "harness/load/keys.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace fl::load {
namespace {

plan::WorkloadSpec spec_of(plan::KeyDistribution d, int keys) {
  plan::WorkloadSpec s;
  s.kind = "register";
  s.keys = keys;
  s.distribution = d;
  return s;
}

std::vector<int> histogram_of(KeyChooser& c, Rng& rng, int n, int draws, bool write = false) {
  std::vector<int> counts(static_cast<size_t>(n));
  for (int i = 0; i < draws; ++i) {
    uint64_t k = c.next(rng, write);
    EXPECT_LT(k, static_cast<uint64_t>(n));
    if (k < static_cast<uint64_t>(n)) ++counts[k];
  }
  return counts;
}

TEST(Keys, UniformCoversEveryKeyEvenly) {
  auto c = make_key_chooser(spec_of(plan::KeyDistribution::uniform, 10));
  Rng rng(1);
  auto counts = histogram_of(*c, rng, 10, 100000);
  for (int n : counts) EXPECT_NEAR(n, 10000, 600);
}

TEST(Keys, SameSeedSameSequence) {
  for (auto d : {plan::KeyDistribution::uniform, plan::KeyDistribution::zipfian,
                 plan::KeyDistribution::latest, plan::KeyDistribution::hotspot}) {
    auto a = make_key_chooser(spec_of(d, 1000));
    auto b = make_key_chooser(spec_of(d, 1000));
    Rng ra(77), rb(77);
    for (int i = 0; i < 1000; ++i) {
      bool write = i % 3 == 0;
      ASSERT_EQ(a->next(ra, write), b->next(rb, write));
    }
  }
}

// P(k) = k^-s / H(n, s): the sampler's frequencies match the exact law within a few percent.
void check_zipf(uint64_t n, double s) {
  ZipfSampler z(n, s);
  Rng rng(12345);
  constexpr int kDraws = 400000;
  std::vector<int> counts(n + 1);
  for (int i = 0; i < kDraws; ++i) {
    uint64_t k = z.sample(rng);
    ASSERT_GE(k, 1u);
    ASSERT_LE(k, n);
    ++counts[k];
  }
  double h = 0;
  for (uint64_t k = 1; k <= n; ++k) h += std::pow(static_cast<double>(k), -s);
  for (uint64_t k : {1, 2, 3, 10}) {
    if (k > n) continue;
    double expected = kDraws * std::pow(static_cast<double>(k), -s) / h;
    EXPECT_NEAR(counts[k], expected, 5 * std::sqrt(expected) + 0.01 * expected)
        << "n=" << n << " s=" << s << " k=" << k;
  }
}

TEST(Keys, ZipfMatchesTheLaw) {
  check_zipf(100, 0.99);
  check_zipf(100, 1.0);
  check_zipf(1000, 0.5);
  check_zipf(10, 2.0);
  check_zipf(1, 0.99);
}

TEST(Keys, ZipfHandlesHugeKeySpacesWithoutATable) {
  ZipfSampler z(uint64_t{1} << 40, 0.99);
  Rng rng(3);
  uint64_t ones = 0;
  for (int i = 0; i < 10000; ++i) ones += z.sample(rng) == 1;
  EXPECT_GT(ones, 0u);
}

TEST(Keys, ZipfianKeyZeroIsHottest) {
  auto c = make_key_chooser(spec_of(plan::KeyDistribution::zipfian, 100));
  Rng rng(5);
  auto counts = histogram_of(*c, rng, 100, 100000);
  EXPECT_GT(counts[0], counts[1]);
  EXPECT_GT(counts[1], counts[10]);
  EXPECT_GT(counts[10], counts[99]);
}

TEST(Keys, HotspotSendsHotOpsToHotKeys) {
  auto s = spec_of(plan::KeyDistribution::hotspot, 100);
  s.hot_keys = 0.1;
  s.hot_ops = 0.9;
  auto c = make_key_chooser(s);
  Rng rng(9);
  auto counts = histogram_of(*c, rng, 100, 100000);
  int hot = 0;
  for (int k = 0; k < 10; ++k) hot += counts[static_cast<size_t>(k)];
  EXPECT_NEAR(hot, 90000, 1000);
  for (int k = 10; k < 100; ++k) EXPECT_GT(counts[static_cast<size_t>(k)], 0);
}

TEST(Keys, LatestWritesTakeKeysInTurnAndReadsFavourRecentOnes) {
  auto c = make_key_chooser(spec_of(plan::KeyDistribution::latest, 50));
  Rng rng(11);
  std::vector<uint64_t> writes;
  for (int i = 0; i < 60; ++i) writes.push_back(c->next(rng, true));
  for (size_t i = 1; i < writes.size(); ++i) EXPECT_EQ(writes[i], (writes[i - 1] + 1) % 50);
  uint64_t latest = writes.back();
  auto counts = histogram_of(*c, rng, 50, 50000, false);
  EXPECT_GT(counts[latest], counts[(latest + 50 - 1) % 50]);
  EXPECT_GT(counts[(latest + 50 - 1) % 50], counts[(latest + 50 - 25) % 50]);
}

TEST(Keys, SequentialScansTheKeysInOrderAndCycles) {
  auto c = make_sequential_keys(4);
  Rng rng(3);
  std::vector<uint64_t> got;
  for (int i = 0; i < 10; ++i) got.push_back(c->next(rng, i % 2 == 0));
  EXPECT_EQ(got, (std::vector<uint64_t>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1}));
}

}  // namespace
}  // namespace fl::load
