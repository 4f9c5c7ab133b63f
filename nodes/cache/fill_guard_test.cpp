#include "nodes/cache/fill_guard.h"

#include <gtest/gtest.h>

namespace fl::cache {
namespace {

TEST(FillGuard, UndisturbedFillInstalls) {
  FillGuard g;
  auto t = g.begin("k");
  EXPECT_EQ(g.tracked(), 1u);
  EXPECT_TRUE(g.finish("k", t));
  EXPECT_EQ(g.tracked(), 0u);
}

TEST(FillGuard, WriteDuringFillBlocksInstall) {
  FillGuard g;
  auto t = g.begin("k");
  g.changed("other");
  g.changed("k");
  EXPECT_FALSE(g.finish("k", t));
}

TEST(FillGuard, ChangeBeforeTheFillStartedDoesNotBlockIt) {
  FillGuard g;
  g.changed("k");  // nothing in flight: not remembered
  auto t = g.begin("k");
  EXPECT_TRUE(g.finish("k", t));
}

TEST(FillGuard, OverlappingOperationsEachJudgedByTheirOwnStart) {
  FillGuard g;
  auto fill1 = g.begin("k");
  g.changed("k");
  auto fill2 = g.begin("k");  // started after the change
  EXPECT_FALSE(g.finish("k", fill1));
  EXPECT_TRUE(g.finish("k", fill2));
  EXPECT_EQ(g.tracked(), 0u);
}

TEST(FillGuard, ChangedAllBlocksEveryFill) {
  FillGuard g;
  auto a = g.begin("a");
  auto b = g.begin("b");
  g.changed_all();
  auto c = g.begin("c");
  EXPECT_FALSE(g.finish("a", a));
  EXPECT_FALSE(g.finish("b", b));
  EXPECT_TRUE(g.finish("c", c));
}

TEST(FillGuard, UnmatchedFinishRefuses) {
  FillGuard g;
  EXPECT_FALSE(g.finish("never", FillGuard::Ticket{}));
}

}  // namespace
}  // namespace fl::cache
