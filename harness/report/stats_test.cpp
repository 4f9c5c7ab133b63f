#include "harness/report/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace fl::report {
namespace {

using V = std::vector<double>;

// Exact tail probabilities by brute force: every way to split the pooled values into samples
// of x's and y's sizes, U counted pair by pair.
std::pair<double, double> enumerate_tails(const V& x, const V& y) {
  V all = x;
  all.insert(all.end(), y.begin(), y.end());
  const size_t n = all.size(), k = x.size();
  auto u_of = [&](uint32_t mask) {
    double u = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!(mask >> i & 1)) continue;
      for (size_t j = 0; j < n; ++j) {
        if (mask >> j & 1) continue;
        u += all[i] > all[j] ? 1 : all[i] == all[j] ? 0.5 : 0;
      }
    }
    return u;
  };
  const double observed = u_of((1u << k) - 1);
  double total = 0, at_most = 0, at_least = 0;
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    if (static_cast<size_t>(__builtin_popcount(mask)) != k) continue;
    const double u = u_of(mask);
    ++total;
    if (u <= observed + 1e-9) ++at_most;
    if (u >= observed - 1e-9) ++at_least;
  }
  return {at_most / total, at_least / total};
}

TEST(MannWhitney, FiveAgainstFiveSeparatedIsOneIn252) {
  const V x{10, 11, 12, 13, 14}, y{1, 2, 3, 4, 5};
  auto greater = mann_whitney_u(x, y, Alternative::greater);
  EXPECT_TRUE(greater.exact);
  EXPECT_EQ(greater.u, 25);
  EXPECT_NEAR(greater.p, 1.0 / 252, 1e-12);                                       // 0.00397
  EXPECT_NEAR(mann_whitney_u(x, y, Alternative::two_sided).p, 2.0 / 252, 1e-12);  // 0.00794
  EXPECT_NEAR(mann_whitney_u(x, y, Alternative::less).p, 1.0, 1e-12);
  // The same with the samples swapped.
  auto less = mann_whitney_u(y, x, Alternative::less);
  EXPECT_EQ(less.u, 0);
  EXPECT_NEAR(less.p, 1.0 / 252, 1e-12);
}

TEST(MannWhitney, ThreeAgainstThreeSeparatedIsOneIn20) {
  const V x{4, 5, 6}, y{1, 2, 3};
  EXPECT_NEAR(mann_whitney_u(x, y, Alternative::greater).p, 0.05, 1e-12);
  EXPECT_NEAR(mann_whitney_u(x, y, Alternative::two_sided).p, 0.10, 1e-12);
}

TEST(MannWhitney, TableCriticalValueFiveAgainstFive) {
  // Textbook tables give U = 4 as the one-sided 5% critical value for n1 = n2 = 5:
  // P(U <= 4) = 12/252 = 0.0476, P(U <= 5) = 19/252 = 0.0754.
  const V y{5, 6, 7, 8, 9};
  auto four = mann_whitney_u(V{1, 2, 3, 4, 8.5}, y, Alternative::less);
  EXPECT_EQ(four.u, 4);
  EXPECT_NEAR(four.p, 12.0 / 252, 1e-12);
  auto five = mann_whitney_u(V{1, 2, 3, 4, 9.5}, y, Alternative::less);
  EXPECT_EQ(five.u, 5);
  EXPECT_NEAR(five.p, 19.0 / 252, 1e-12);
}

TEST(MannWhitney, UnequalSizes) {
  // 2 against 4, separated: 1 / C(6, 2) = 1/15, whichever sample is the smaller.
  EXPECT_NEAR(mann_whitney_u(V{9, 8}, V{1, 2, 3, 4}, Alternative::greater).p, 1.0 / 15, 1e-12);
  EXPECT_NEAR(mann_whitney_u(V{1, 2, 3, 4}, V{9, 8}, Alternative::less).p, 1.0 / 15, 1e-12);
  EXPECT_NEAR(mann_whitney_u(V{1, 2, 3, 4}, V{9, 8}, Alternative::greater).p, 1.0, 1e-12);
}

TEST(MannWhitney, ExactWithTiesByHand) {
  // x = {1, 2}, y = {2, 3}: midranks 1, 2.5, 2.5, 4. The six 2-subsets have rank sums 3.5, 3.5,
  // 5, 5, 6.5, 6.5; x's is 3.5, so P(S <= 3.5) = 2/6.
  auto r = mann_whitney_u(V{1, 2}, V{2, 3}, Alternative::less);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.u, 0.5);
  EXPECT_NEAR(r.p, 1.0 / 3, 1e-12);
  EXPECT_NEAR(mann_whitney_u(V{1, 2}, V{2, 3}, Alternative::greater).p, 1.0, 1e-12);
  EXPECT_NEAR(mann_whitney_u(V{1, 2}, V{2, 3}, Alternative::two_sided).p, 2.0 / 3, 1e-12);
  // x = {1, 1, 2}, y = {2, 3, 3}: midranks 1.5 1.5 3.5 3.5 5.5 5.5; only the two subsets
  // {1.5, 1.5, 3.5} reach x's rank sum 6.5: 2/20.
  EXPECT_NEAR(mann_whitney_u(V{1, 1, 2}, V{2, 3, 3}, Alternative::less).p, 0.1, 1e-12);
}

TEST(MannWhitney, ExactMatchesEnumerationWithAndWithoutTies) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n1 = 1 + rng() % 7, n2 = 1 + rng() % 7;
    const int spread = trial % 2 ? 4 : 1000;  // many ties, or almost none
    V x(n1), y(n2);
    for (auto& v : x) v = static_cast<double>(rng() % spread);
    for (auto& v : y) v = static_cast<double>(rng() % spread) + (trial % 3 == 0 ? 1 : 0);
    auto [at_most, at_least] = enumerate_tails(x, y);
    SCOPED_TRACE(testing::Message() << "trial " << trial);
    EXPECT_NEAR(mann_whitney_u(x, y, Alternative::less, MwuMethod::exact).p, at_most, 1e-9);
    EXPECT_NEAR(mann_whitney_u(x, y, Alternative::greater, MwuMethod::exact).p, at_least, 1e-9);
    EXPECT_NEAR(mann_whitney_u(x, y, Alternative::two_sided, MwuMethod::exact).p,
                std::min(1.0, 2 * std::min(at_most, at_least)), 1e-9);
  }
}

TEST(MannWhitney, NormalApproximationByHand) {
  // 10 against 10 separated: U = 100, mu = 50, sigma^2 = 100 * 21 / 12 = 175,
  // z = (100 - 50 - 0.5) / sqrt(175) = 3.74185, p = 9.1336e-5 (exact: 1/184756 = 5.4e-6).
  V x, y;
  for (int i = 0; i < 10; ++i) {
    x.push_back(100 + i);
    y.push_back(i);
  }
  auto r = mann_whitney_u(x, y, Alternative::greater, MwuMethod::normal);
  EXPECT_FALSE(r.exact);
  EXPECT_NEAR(r.z, 3.7418483, 1e-6);
  EXPECT_NEAR(r.p, 9.13359e-5, 1e-9);
  EXPECT_NEAR(mann_whitney_u(x, y, Alternative::greater).p, 1.0 / 184756, 1e-15);
  // With ties: x = {1, 1, 2}, y = {2, 3, 3}: U = 0.5, three tie groups of 2 (t^3 - t = 6
  // each), sigma^2 = 9/12 * (7 - 18/30) = 4.8, z = (0.5 - 4.5 + 0.5) / sqrt(4.8) = -1.59752,
  // p = Phi(z) = 0.055074.
  auto t = mann_whitney_u(V{1, 1, 2}, V{2, 3, 3}, Alternative::less, MwuMethod::normal);
  EXPECT_NEAR(t.z, -1.5975241, 1e-6);
  EXPECT_NEAR(t.p, 0.0550745, 1e-6);
  auto two = mann_whitney_u(V{1, 1, 2}, V{2, 3, 3}, Alternative::two_sided, MwuMethod::normal);
  EXPECT_NEAR(two.p, 2 * 0.0550745, 2e-6);
}

TEST(MannWhitney, EveryValueEqualIsNoEvidence) {
  const V zeros{0, 0, 0, 0, 0};
  for (auto method : {MwuMethod::exact, MwuMethod::normal}) {
    EXPECT_NEAR(mann_whitney_u(zeros, zeros, Alternative::greater, method).p, 1.0, 1e-12);
    EXPECT_NEAR(mann_whitney_u(zeros, zeros, Alternative::less, method).p, 1.0, 1e-12);
    EXPECT_NEAR(mann_whitney_u(zeros, zeros, Alternative::two_sided, method).p, 1.0, 1e-12);
  }
}

TEST(MannWhitney, NormalApproachesExactForLargerSamples) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 1);
  V x, y;
  for (int i = 0; i < 25; ++i) {
    x.push_back(noise(rng) + 0.6);
    y.push_back(noise(rng));
  }
  const auto exact = mann_whitney_u(x, y, Alternative::greater, MwuMethod::exact);
  const auto normal = mann_whitney_u(x, y, Alternative::greater, MwuMethod::normal);
  EXPECT_LT(exact.p, 0.2);  // the shift shows: the comparison is not of two p-values near 1
  EXPECT_NEAR(exact.p, normal.p, 0.005);
  EXPECT_EQ(exact.u, normal.u);
  // Beyond kExactMwuLimit values the automatic method is the normal one.
  for (int i = 0; i < 20; ++i) {
    x.push_back(noise(rng) + 0.6);
    y.push_back(noise(rng));
  }
  EXPECT_FALSE(mann_whitney_u(x, y, Alternative::greater).exact);
}

TEST(MannWhitney, MinimumPValueAndRepetitionsNeeded) {
  EXPECT_NEAR(min_p_value(1, 1, Alternative::less), 0.5, 1e-12);
  EXPECT_NEAR(min_p_value(2, 2, Alternative::less), 1.0 / 6, 1e-12);
  EXPECT_NEAR(min_p_value(3, 3, Alternative::less), 1.0 / 20, 1e-12);
  EXPECT_NEAR(min_p_value(4, 4, Alternative::less), 1.0 / 70, 1e-12);
  EXPECT_NEAR(min_p_value(5, 5, Alternative::greater), 1.0 / 252, 1e-12);
  EXPECT_NEAR(min_p_value(5, 5, Alternative::two_sided), 2.0 / 252, 1e-12);
  EXPECT_NEAR(min_p_value(3, 10, Alternative::less), 1.0 / 286, 1e-12);
  EXPECT_NEAR(min_p_value(1, 1, Alternative::two_sided), 1.0, 1e-12);
  // 3 against 3 gives exactly 0.05, which is not below it.
  EXPECT_EQ(repetitions_needed(0.05, Alternative::less), 4u);
  EXPECT_EQ(repetitions_needed(0.05, Alternative::two_sided), 4u);
  EXPECT_EQ(repetitions_needed(0.051, Alternative::less), 3u);
  EXPECT_EQ(repetitions_needed(0.01, Alternative::less), 5u);
  EXPECT_EQ(repetitions_needed(0.001, Alternative::less), 7u);  // 1/3432; 6 vs 6: 1/924
}

TEST(EffectSize, CliffsDeltaIsTheRankBiserialCorrelation) {
  EXPECT_EQ(cliffs_delta(V{10, 11, 12}, V{1, 2, 3}), 1.0);
  EXPECT_EQ(cliffs_delta(V{1, 2, 3}, V{10, 11, 12}), -1.0);
  EXPECT_EQ(cliffs_delta(V{1, 2}, V{2, 3}), -0.75);  // 0 above, 3 below, 1 tie of 4 pairs
  EXPECT_EQ(cliffs_delta(V{1, 4}, V{2, 3}), 0.0);
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    V x(1 + rng() % 9), y(1 + rng() % 9);
    for (auto& v : x) v = rng() % 5;
    for (auto& v : y) v = rng() % 5;
    const double u = mann_whitney_u(x, y, Alternative::greater).u;
    const double n = static_cast<double>(x.size() * y.size());
    EXPECT_NEAR(cliffs_delta(x, y), 2 * u / n - 1, 1e-12);
  }
  EXPECT_EQ(cliffs_magnitude(0.1), "negligible");
  EXPECT_EQ(cliffs_magnitude(-0.2), "small");
  EXPECT_EQ(cliffs_magnitude(0.4), "medium");
  EXPECT_EQ(cliffs_magnitude(-1.0), "large");
}

TEST(EffectSize, MedianAndHodgesLehmann) {
  EXPECT_EQ(median(V{3, 1, 2}), 2);
  EXPECT_EQ(median(V{4, 1, 3, 2}), 2.5);
  EXPECT_EQ(median(V{7}), 7);
  // Differences 10-1 .. 12-3 are 7..11 (9 of them); their median is 9.
  EXPECT_EQ(hodges_lehmann(V{10, 11, 12}, V{1, 2, 3}), 9);
  EXPECT_EQ(hodges_lehmann(V{1, 2, 3}, V{10, 11, 12}), -9);
  // A shift of 5 is recovered exactly.
  EXPECT_EQ(hodges_lehmann(V{6, 7, 9, 13}, V{1, 2, 4, 8}), 5);
}

}  // namespace
}  // namespace fl::report
