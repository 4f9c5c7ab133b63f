#include "nodes/lb/chooser.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/hash_ring.h"

namespace fl::lb {
namespace {

std::vector<std::string> ids(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("b" + std::to_string(i));
  return out;
}

const std::vector<size_t> kIdle(kMaxBackends, 0);

TEST(PolicyTest, ParsesAndPrints) {
  for (Policy p : {Policy::round_robin, Policy::least_connections, Policy::key_hash}) {
    auto parsed = parse_policy(to_string(p));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_FALSE(parse_policy("random"));
}

TEST(ChooserTest, RoundRobinCyclesOverHealthyBackends) {
  BackendChooser c(ids(3), Policy::round_robin, 128);
  std::vector<size_t> got;
  for (int i = 0; i < 6; ++i) got.push_back(*c.choose("k", kIdle));
  EXPECT_EQ(got, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
  c.set_healthy({true, false, true});
  std::set<size_t> seen;
  for (int i = 0; i < 6; ++i) seen.insert(*c.choose("k", kIdle));
  EXPECT_EQ(seen, (std::set<size_t>{0, 2}));
  // A retry avoids the backends already tried.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(*c.choose("k", kIdle, bit(0)), 2u);
  EXPECT_FALSE(c.choose("k", kIdle, bit(0) | bit(2)));
  c.set_healthy({false, false, false});
  EXPECT_FALSE(c.choose("k", kIdle));
  EXPECT_EQ(c.healthy_count(), 0u);
}

TEST(ChooserTest, LeastConnectionsPicksFewestInFlight) {
  BackendChooser c(ids(3), Policy::least_connections, 128);
  std::vector<size_t> in_flight = {5, 2, 7};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*c.choose(std::nullopt, in_flight), 1u);
  EXPECT_EQ(*c.choose(std::nullopt, in_flight, bit(1)), 0u);
  c.set_healthy({false, false, true});
  EXPECT_EQ(*c.choose(std::nullopt, in_flight), 2u);
  // Ties spread over every backend instead of piling onto the first.
  c.set_healthy({true, true, true});
  std::map<size_t, int> count;
  for (int i = 0; i < 30; ++i) ++count[*c.choose(std::nullopt, kIdle)];
  EXPECT_EQ(count.size(), 3u);
  for (auto& [b, n] : count) EXPECT_EQ(n, 10) << b;
}

TEST(ChooserTest, KeyHashIsStickyAndMatchesTheRing) {
  BackendChooser c(ids(4), Policy::key_hash, 128);
  HashRing ring(ids(4), 128);
  std::map<size_t, int> per_backend;
  for (int k = 0; k < 2000; ++k) {
    const std::string key = "user:" + std::to_string(k);
    const size_t b = *c.choose(key, kIdle);
    EXPECT_EQ(b, ring.owner(key));
    EXPECT_EQ(*c.choose(key, kIdle), b);
    EXPECT_EQ(*c.route(key), b);
    ++per_backend[b];
  }
  EXPECT_EQ(per_backend.size(), 4u);
  // Keyless commands spread round-robin.
  std::set<size_t> keyless;
  for (int i = 0; i < 4; ++i) keyless.insert(*c.choose(std::nullopt, kIdle));
  EXPECT_EQ(keyless.size(), 4u);
  EXPECT_FALSE(BackendChooser(ids(2), Policy::round_robin, 8).route("k"));
}

TEST(ChooserTest, AnEjectedBackendsKeysGoToTheNextOnTheRingAndComeBack) {
  BackendChooser c(ids(4), Policy::key_hash, 128);
  std::vector<std::string> keys;
  for (int k = 0; k < 4000; ++k) keys.push_back("k" + std::to_string(k));
  std::vector<size_t> before, retry_target;
  for (const auto& key : keys) {
    before.push_back(*c.route(key));
    // Where a retry of this key goes: the next member clockwise.
    retry_target.push_back(*c.choose(key, kIdle, bit(before.back())));
    EXPECT_NE(retry_target.back(), before.back());
  }
  c.set_healthy({true, true, false, true});
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t now = *c.route(keys[i]);
    EXPECT_NE(now, 2u);
    // Keys of the ejected backend go where a retry would have; the others do not move.
    EXPECT_EQ(now, before[i] == 2 ? retry_target[i] : before[i]) << keys[i];
  }
  c.set_healthy({true, true, true, true});
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(*c.route(keys[i]), before[i]);
  EXPECT_EQ(c.ring_changes(), 2u);
}

// The promise: removing or adding one of N backends moves about 1/N of the keys, only
// keys of that backend move, and ring_moved_ratio says how much moved.
TEST(ChooserTest, RemovingOrAddingOneOfNMovesAboutOneNthOfTenThousandKeys) {
  constexpr int kKeys = 10000;
  for (int n : {3, 4, 5}) {
    for (int changed = 0; changed < n; ++changed) {
      BackendChooser c(ids(n), Policy::key_hash, 128);
      std::vector<size_t> before(kKeys);
      for (int k = 0; k < kKeys; ++k) before[k] = *c.route("key:" + std::to_string(k));

      std::vector<bool> healthy(n, true);
      healthy[changed] = false;
      c.set_healthy(healthy);
      int moved = 0;
      for (int k = 0; k < kKeys; ++k) {
        const size_t now = *c.route("key:" + std::to_string(k));
        if (now == before[k]) continue;
        ++moved;
        ASSERT_EQ(before[k], static_cast<size_t>(changed)) << "a key not on the removed node moved";
      }
      const double share = static_cast<double>(moved) / kKeys;
      EXPECT_GT(share, 0.6 / n) << "n=" << n << " removed " << changed;
      EXPECT_LT(share, 1.4 / n) << "n=" << n << " removed " << changed;
      EXPECT_NEAR(c.ring_moved_ratio(), share, 0.02);

      // Adding it back: only keys that move to it move, and they are exactly those that left.
      std::vector<size_t> without(kKeys);
      for (int k = 0; k < kKeys; ++k) without[k] = *c.route("key:" + std::to_string(k));
      c.set_healthy(std::vector<bool>(n, true));
      int back = 0;
      for (int k = 0; k < kKeys; ++k) {
        const size_t now = *c.route("key:" + std::to_string(k));
        EXPECT_EQ(now, before[k]);
        if (now != without[k]) {
          ++back;
          ASSERT_EQ(now, static_cast<size_t>(changed)) << "a key moved to a node not added";
        }
      }
      EXPECT_EQ(back, moved);
      EXPECT_NEAR(c.ring_moved_ratio(), share, 0.02);
      EXPECT_EQ(c.ring_changes(), 2u);
    }
  }
}

}  // namespace
}  // namespace fl::lb
