#include "chaos/schedule.h"

#include <gtest/gtest.h>

#include <set>

namespace fl::chaos {
namespace {

using namespace std::chrono_literals;
using plan::FaultSpec;
using plan::SelectMode;

FaultSpec every(Duration period, Duration jitter, Duration start = 0s,
                std::optional<Duration> stop = std::nullopt) {
  FaultSpec f;
  f.timing = FaultSpec::Timing::every;
  f.every = period;
  f.jitter = jitter;
  f.start = start;
  f.stop = stop;
  return f;
}

TEST(FireTimes, ListedTimesSortedAndThoseAfterTheMainPhaseLeftOut) {
  FaultSpec f;
  f.times = {15s, 5s, 40s};
  f.at = 15s;
  Rng rng(1);
  EXPECT_EQ(fire_times(f, 30s, rng), (std::vector<Duration>{5s, 15s}));
  FaultSpec one;
  one.at = 3s;  // a FaultSpec built in code with `at` only
  EXPECT_EQ(fire_times(one, 30s, rng), (std::vector<Duration>{3s}));
}

TEST(FireTimes, EveryWithoutJitterIsExact) {
  Rng rng(1);
  EXPECT_EQ(fire_times(every(10s, 0s, 2s), 35s, rng), (std::vector<Duration>{2s, 12s, 22s, 32s}));
  EXPECT_EQ(fire_times(every(10s, 0s, 0s, 25s), 60s, rng), (std::vector<Duration>{0s, 10s, 20s}));
}

TEST(FireTimes, EveryWithJitterStaysWithinJitterOfEachPeriodAndFollowsTheSeed) {
  const FaultSpec f = every(10s, 2s, 5s, 95s);
  std::set<int64_t> distinct;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Rng a = fault_rng(seed, 3), b = fault_rng(seed, 3);
    const auto times = fire_times(f, 100s, a);
    EXPECT_EQ(times, fire_times(f, 100s, b)) << "same seed, same times";
    ASSERT_EQ(times.size(), 9u);
    for (size_t k = 0; k < times.size(); ++k) {
      const Duration nominal = 5s + 10s * static_cast<int64_t>(k);
      EXPECT_LE(std::chrono::abs(times[k] - nominal), 2s);
      EXPECT_GE(times[k], 5s);
      EXPECT_LT(times[k], 95s);
      distinct.insert(times[k].count());
    }
  }
  EXPECT_GT(distinct.size(), 80u) << "jitter moves the firings";
}

TEST(FireTimes, PoissonHasTheRateOnAverageInsideItsWindow) {
  FaultSpec f;
  f.timing = FaultSpec::Timing::poisson;
  f.rate = 2;
  f.start = 100s;
  f.stop = 1100s;
  Rng rng = fault_rng(42, 0);
  const auto times = fire_times(f, 2000s, rng);
  // 2000 expected; a Poisson count has a standard deviation of about 45.
  EXPECT_GT(times.size(), 1800u);
  EXPECT_LT(times.size(), 2200u);
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
  EXPECT_GE(times.front(), 100s);
  EXPECT_LT(times.back(), 1100s);
  Rng again = fault_rng(42, 0);
  EXPECT_EQ(fire_times(f, 2000s, again), times);
  Rng other = fault_rng(42, 1);
  EXPECT_NE(fire_times(f, 2000s, other), times) << "each fault has its own stream";
  // The window ends with the main phase when `stop` is absent or later.
  f.stop.reset();
  Rng short_run = fault_rng(42, 0);
  const auto shortened = fire_times(f, 150s, short_run);
  ASSERT_FALSE(shortened.empty());
  EXPECT_LT(shortened.back(), 150s);
}

TEST(Select, CountsPerMode) {
  EXPECT_EQ(select_count(SelectMode::all, 0, 5), 5u);
  EXPECT_EQ(select_count(SelectMode::one, 0, 5), 1u);
  EXPECT_EQ(select_count(SelectMode::minority, 0, 5), 2u);
  EXPECT_EQ(select_count(SelectMode::minority, 0, 4), 1u);
  EXPECT_EQ(select_count(SelectMode::minority, 0, 2), 1u);
  EXPECT_EQ(select_count(SelectMode::majority, 0, 5), 3u);
  EXPECT_EQ(select_count(SelectMode::majority, 0, 4), 3u);
  EXPECT_EQ(select_count(SelectMode::majority, 0, 1), 1u);
  EXPECT_EQ(select_count(SelectMode::percent, 30, 10), 3u);
  EXPECT_EQ(select_count(SelectMode::percent, 25, 10), 3u);  // rounded up
  EXPECT_EQ(select_count(SelectMode::percent, 1, 10), 1u);   // at least one
  EXPECT_EQ(select_count(SelectMode::percent, 100, 10), 10u);
  EXPECT_EQ(select_count(SelectMode::one, 0, 0), 0u);
}

TEST(Select, DrawsFromTheSeedAndKeepsCandidateOrder) {
  const std::vector<std::string> c = {"a", "b", "c", "d", "e"};
  std::set<std::vector<std::string>> seen;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Rng r1(seed), r2(seed);
    const auto picked = select_nodes(c, SelectMode::majority, 0, r1);
    EXPECT_EQ(picked, select_nodes(c, SelectMode::majority, 0, r2));
    ASSERT_EQ(picked.size(), 3u);
    EXPECT_TRUE(std::is_sorted(picked.begin(), picked.end()));
    seen.insert(picked);
  }
  EXPECT_GT(seen.size(), 5u) << "different seeds pick different majorities";
  Rng rng(1);
  EXPECT_EQ(select_nodes(c, SelectMode::all, 0, rng), c);
}

}  // namespace
}  // namespace fl::chaos
