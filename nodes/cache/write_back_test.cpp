#include "nodes/cache/write_back.h"

#include <gtest/gtest.h>

namespace fl::cache {
namespace {

WriteBackBuffer make(size_t batch = 3, int64_t interval = 100) {
  return WriteBackBuffer(WriteBackOptions{batch, interval});
}

TEST(WriteBack, DirtyUntilFlushed) {
  auto b = make();
  b.write("k", "v1", 0);
  ASSERT_TRUE(b.dirty("k"));
  EXPECT_EQ(**b.find("k"), "v1");
  b.write("d", std::nullopt, 0);
  ASSERT_TRUE(b.dirty("d"));
  EXPECT_FALSE(b.find("d")->has_value());
  auto batch = b.take_batch();
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].key, "k");
  EXPECT_EQ(*batch[0].value, "v1");
  EXPECT_FALSE(batch[1].value.has_value());
  EXPECT_TRUE(b.dirty("k"));  // in flight is still dirty
  b.flushed(batch[0], true, 10);
  b.flushed(batch[1], true, 10);
  EXPECT_FALSE(b.dirty("k"));
  EXPECT_EQ(b.dirty_count(), 0u);
  EXPECT_EQ(b.flushed_total(), 2u);
}

TEST(WriteBack, FlushDueBySizeOrInterval) {
  auto b = make(3, 100);
  EXPECT_FALSE(b.flush_due(0));
  b.write("a", "1", 1000);
  EXPECT_FALSE(b.flush_due(1099));
  EXPECT_TRUE(b.flush_due(1100));
  b.write("b", "1", 1050);
  b.write("c", "1", 1050);
  EXPECT_TRUE(b.flush_due(1050));  // batch full
  b.write("d", "1", 1060);
  EXPECT_EQ(b.take_batch().size(), 3u);
  EXPECT_EQ(b.waiting(), 1u);
  EXPECT_FALSE(b.flush_due(1100));
  EXPECT_TRUE(b.flush_due(1160));
}

TEST(WriteBack, RepeatedWritesCoalesce) {
  auto b = make();
  b.write("k", "1", 0);
  b.write("k", "2", 0);
  b.write("k", std::nullopt, 0);
  b.write("k", "3", 0);
  auto batch = b.take_batch();
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(*batch[0].value, "3");
}

TEST(WriteBack, RewriteDuringFlushStaysDirtyAndIsFlushedAgain) {
  auto b = make();
  b.write("k", "1", 0);
  auto first = b.take_batch();
  b.write("k", "2", 5);
  b.flushed(first[0], true, 10);
  ASSERT_TRUE(b.dirty("k"));
  EXPECT_EQ(**b.find("k"), "2");
  auto second = b.take_batch();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(*second[0].value, "2");
  b.flushed(second[0], true, 20);
  EXPECT_FALSE(b.dirty("k"));
}

TEST(WriteBack, FailedFlushIsRetriedFirstAfterAnInterval) {
  auto b = make(3, 100);
  b.write("a", "1", 0);
  b.write("b", "1", 0);
  auto batch = b.take_batch();
  b.write("c", "1", 50);
  b.flushed(batch[0], false, 60);
  b.flushed(batch[1], true, 60);
  EXPECT_EQ(b.failures(), 1u);
  EXPECT_TRUE(b.dirty("a"));
  EXPECT_FALSE(b.dirty("b"));
  EXPECT_FALSE(b.flush_due(100));
  EXPECT_TRUE(b.flush_due(160));
  auto retry = b.take_batch();
  ASSERT_EQ(retry.size(), 2u);
  EXPECT_EQ(retry[0].key, "a");
  EXPECT_EQ(retry[1].key, "c");
}

TEST(WriteBack, WaitersRunWhenTheKeyIsClean) {
  auto b = make();
  int ran = 0;
  EXPECT_FALSE(b.wait_clean("k", [&] { ++ran; }));  // clean: not kept
  b.write("k", "1", 0);
  EXPECT_TRUE(b.wait_clean("k", [&] { ++ran; }));
  auto first = b.take_batch();
  b.write("k", "2", 1);
  b.flushed(first[0], true, 2);
  EXPECT_EQ(ran, 0);  // rewritten meanwhile: still dirty
  auto second = b.take_batch();
  b.flushed(second[0], false, 3);
  EXPECT_EQ(ran, 0);
  auto third = b.take_batch();
  b.flushed(third[0], true, 4);
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace fl::cache
