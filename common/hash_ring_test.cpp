#include "common/hash_ring.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <set>

namespace fl {
namespace {

TEST(RingHash, IsStable) {
  // Pinned values: every process and build must place keys identically, so a change here is a
  // change of the on-disk and on-wire placement contract.
  EXPECT_EQ(ring_hash(""), ring_hash(""));
  EXPECT_NE(ring_hash("k1"), ring_hash("k2"));
  EXPECT_EQ(ring_hash("k1"), 0x944712965cad3bb0ull);
}

TEST(HashRing, SpreadsKeysEvenly) {
  HashRing ring(shard_ring_members(4));
  std::vector<int> count(4);
  const int keys = 40000;
  for (int i = 0; i < keys; ++i) ++count[ring.owner(fmt::format("k{}", i))];
  for (int c : count) {
    EXPECT_GT(c, keys / 4 * 0.85);
    EXPECT_LT(c, keys / 4 * 1.15);
  }
}

TEST(HashRing, AddingAMemberMovesAboutOneNth) {
  HashRing three({"a", "b", "c"});
  HashRing four({"a", "b", "c", "d"});
  int moved = 0;
  const int keys = 20000;
  for (int i = 0; i < keys; ++i) {
    const auto k = fmt::format("key:{}", i);
    const auto before = three.members()[three.owner(k)];
    const auto after = four.members()[four.owner(k)];
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, "d") << "a key moved between old members";
    }
  }
  EXPECT_GT(moved, keys / 4 * 0.8);
  EXPECT_LT(moved, keys / 4 * 1.2);
}

TEST(HashRing, PreferenceListIsDistinctAndStartsWithOwner) {
  HashRing ring({"n0", "n1", "n2", "n3", "n4"});
  for (int i = 0; i < 1000; ++i) {
    const auto k = fmt::format("k{}", i);
    auto pl = ring.preference_list(k, 3);
    ASSERT_EQ(pl.size(), 3u);
    EXPECT_EQ(pl[0], ring.owner(k));
    EXPECT_EQ(std::set<size_t>(pl.begin(), pl.end()).size(), 3u);
  }
  EXPECT_EQ(ring.preference_list("k", 9).size(), 5u);
}

TEST(ShardOf, MatchesTheRingAndHandlesOneShard) {
  HashRing ring(shard_ring_members(3));
  for (int i = 0; i < 100; ++i) {
    const auto k = fmt::format("k{}", i);
    EXPECT_EQ(shard_of(k, 3), static_cast<int>(ring.owner(k)));
    EXPECT_EQ(shard_of(k, 1), 0);
  }
}

}  // namespace
}  // namespace fl
