#include "nodes/db/quorum.h"

#include <gtest/gtest.h>

namespace fl::db::quorum {
namespace {

TEST(HybridClock, TickIsMonotonic) {
  HybridClock c;
  const Timestamp a = c.tick(100);
  const Timestamp b = c.tick(50);
  EXPECT_LT(a, b);
}

}  // namespace
}  // namespace fl::db::quorum
