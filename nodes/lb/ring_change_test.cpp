#include "nodes/lb/ring_change.h"

#include <gtest/gtest.h>

#include <string>

#include "common/hash_ring.h"

namespace fl::lb {
namespace {

std::vector<std::string> names(int n, const std::string& prefix = "cache-") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// The share of `keys` sample keys whose owner differs between the two rings, by HashRing.
double sampled_share(const std::vector<std::string>& a, const std::vector<std::string>& b,
                     int keys, int vnodes) {
  HashRing ra(a, vnodes), rb(b, vnodes);
  int moved = 0;
  for (int k = 0; k < keys; ++k) {
    const std::string key = "key:" + std::to_string(k);
    if (a[ra.owner(key)] != b[rb.owner(key)]) ++moved;
  }
  return static_cast<double>(moved) / keys;
}

TEST(RingMovedShareTest, EdgeCases) {
  EXPECT_EQ(ring_moved_share(names(3), names(3), 128), 0.0);
  EXPECT_EQ(ring_moved_share({}, {}, 128), 0.0);
  EXPECT_EQ(ring_moved_share({}, names(2), 128), 1.0);
  EXPECT_EQ(ring_moved_share(names(2), {}, 128), 1.0);
  // No member in common: every arc changes owner, and the arcs add up to the whole ring.
  EXPECT_DOUBLE_EQ(ring_moved_share(names(3, "a"), names(2, "b"), 16), 1.0);
  // Member order does not matter, only names.
  EXPECT_EQ(ring_moved_share({"x", "y", "z"}, {"z", "x", "y"}, 64), 0.0);
  // A single point per ring still covers the whole ring.
  EXPECT_DOUBLE_EQ(ring_moved_share({"x"}, {"y"}, 1), 1.0);
}

TEST(RingMovedShareTest, AgreesWithHashRingOwnersOnSampledKeys) {
  const auto five = names(5);
  std::vector<std::string> four = {five[0], five[1], five[3], five[4]};
  std::vector<std::string> six = names(6);
  std::vector<std::string> other = {five[0], "x", five[2], "y"};
  for (const auto& [a, b] : {std::pair{five, four}, std::pair{four, five}, std::pair{five, six},
                             std::pair{five, other}}) {
    const double exact = ring_moved_share(a, b, 128);
    const double sampled = sampled_share(a, b, 20000, 128);
    EXPECT_NEAR(exact, sampled, 0.015) << a.size() << " -> " << b.size();
    // Symmetric: the arcs whose owner differs are the same both ways.
    EXPECT_DOUBLE_EQ(exact, ring_moved_share(b, a, 128));
  }
}

TEST(RingMovedShareTest, RemovingOneOfNMovesAboutOneNth) {
  for (int n : {2, 3, 4, 5, 8}) {
    auto all = names(n);
    for (int gone = 0; gone < n; ++gone) {
      auto rest = all;
      rest.erase(rest.begin() + gone);
      const double share = ring_moved_share(all, rest, 128);
      EXPECT_GT(share, 0.6 / n) << n << " " << gone;
      EXPECT_LT(share, 1.4 / n) << n << " " << gone;
    }
  }
  // And the shares of all members (what each removal moves) add up to the whole ring.
  auto all = names(4);
  double sum = 0;
  for (int gone = 0; gone < 4; ++gone) {
    auto rest = all;
    rest.erase(rest.begin() + gone);
    sum += ring_moved_share(all, rest, 128);
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
}

}  // namespace
}  // namespace fl::lb
