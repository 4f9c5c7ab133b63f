#include "common/rng.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace fl {
namespace {

TEST(Rng, SameSeedSameSequence) {
  Rng a(42), b(42), c(43);
  std::vector<uint64_t> xa, xb, xc;
  for (int i = 0; i < 100; ++i) {
    xa.push_back(a.next());
    xb.push_back(b.next());
    xc.push_back(c.next());
  }
  EXPECT_EQ(xa, xb);
  EXPECT_NE(xa, xc);
}

TEST(Rng, UniformStaysInRangeAndCoversIt) {
  Rng r(7);
  std::map<uint64_t, int> seen;
  for (int i = 0; i < 60000; ++i) {
    uint64_t v = r.uniform(10, 15);
    ASSERT_GE(v, 10u);
    ASSERT_LE(v, 15u);
    ++seen[v];
  }
  ASSERT_EQ(seen.size(), 6u);
  // Each bucket expects 10000; a fair generator stays far inside +-10%.
  for (auto [v, n] : seen) EXPECT_NEAR(n, 10000, 1000) << v;
}

TEST(Rng, UnitIsInHalfOpenInterval) {
  Rng r(1);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    double u = r.unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.01);
}

TEST(Rng, ForksAreDeterministicAndIndependent) {
  Rng root(99);
  Rng f1 = root.fork("faults"), f2 = root.fork("faults"), g = root.fork("load");
  EXPECT_EQ(f1.next(), f2.next());
  EXPECT_NE(root.fork("faults").next(), g.next());
  // Forking does not advance the parent.
  Rng fresh(99);
  EXPECT_EQ(root.next(), fresh.next());
}

}  // namespace
}  // namespace fl
