#include "nodes/broker/broker.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace fl::broker {
namespace {

namespace fs = std::filesystem;

class BrokerTest : public ::testing::Test {
 protected:
  BrokerTest() {
    dir_ = fs::temp_directory_path() /
           ("fl-broker-core-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  ~BrokerTest() override { fs::remove_all(dir_); }

  std::unique_ptr<Broker> open(uint32_t partitions = 1) {
    BrokerOptions o;
    o.dir = dir_;
    o.partitions = partitions;
    o.ack_timeout_ms = 1000;
    auto b = Broker::open(o);
    EXPECT_TRUE(b.has_value()) << (b ? "" : b.error().message);
    return b ? std::move(*b) : nullptr;
  }

  static StreamId add(Broker& b, std::string_view topic, std::string_view key, std::string_view v) {
    std::vector<std::string_view> f = {"key", key, "v", v};
    auto id = b.add(topic, f);
    EXPECT_TRUE(id.has_value());
    // As the node's commit does after each batch: buffered entries become visible once written.
    EXPECT_TRUE(b.write_buffered().has_value());
    return id ? *id : StreamId{};
  }

  static std::vector<uint64_t> offsets(const std::vector<Delivery>& d) {
    std::vector<uint64_t> out;
    for (const auto& x : d) out.push_back(x.entry->offset);
    return out;
  }

  fs::path dir_;
};

TEST(StreamIds, ParseAndFormat) {
  EXPECT_EQ(format_id({3, 17}), "3-17");
  EXPECT_EQ(parse_id("3-17"), (StreamId{3, 17}));
  EXPECT_EQ(parse_id("2", 9), (StreamId{2, 9}));
  EXPECT_FALSE(parse_id("x-1"));
  EXPECT_FALSE(parse_id("1-"));
  EXPECT_FALSE(parse_id("-1"));
  EXPECT_EQ(unescape_topic(escape_topic("fl:q/0 x%")), "fl:q/0 x%");
  EXPECT_EQ(escape_topic("a:b"), "a%3Ab");
}

TEST_F(BrokerTest, KeyedEntriesStayInOnePartitionAndRangePagesCoverTheLog) {
  auto b = open(4);
  std::map<uint32_t, int> used;
  for (int i = 0; i < 40; ++i) {
    StreamId id = add(*b, "t", "k" + std::to_string(i % 8), std::to_string(i));
    ++used[id.partition];
    EXPECT_EQ(add(*b, "u", "same", "x").partition, add(*b, "u", "same", "y").partition);
  }
  EXPECT_GT(used.size(), 1u);
  // Pages of 7 with an exclusive start cover every entry once, in ID order.
  Topic* t = b->find("t");
  ASSERT_NE(t, nullptr);
  std::vector<StreamId> seen;
  StreamId from{0, 0};
  for (;;) {
    auto page = b->range(*t, from, kMaxId, 7);
    if (page.empty()) break;
    for (const auto& d : page) seen.push_back({d.partition, d.entry->offset});
    StreamId last = seen.back();
    from = {last.partition, last.offset + 1};
  }
  ASSERT_EQ(seen.size(), 40u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(BrokerTest, UnkeyedEntriesGoRoundRobin) {
  auto b = open(3);
  std::vector<std::string_view> f = {"v", "1"};
  EXPECT_EQ(b->add("t", f)->partition, 0u);
  EXPECT_EQ(b->add("t", f)->partition, 1u);
  EXPECT_EQ(b->add("t", f)->partition, 2u);
  EXPECT_EQ(b->add("t", f)->partition, 0u);
}

TEST_F(BrokerTest, GroupResumesFromCommittedOffsetsAfterReopen) {
  {
    auto b = open();
    for (int i = 0; i < 10; ++i) add(*b, "t", "k" + std::to_string(i), "v");
    ASSERT_EQ(*b->create_group("t", "g", /*from_end=*/false, false), Broker::GroupCreate::created);
    ASSERT_EQ(*b->create_group("t", "g", false, false), Broker::GroupCreate::exists);
    Topic* t = b->find("t");
    ConsumerGroup& g = t->groups.at("g");
    auto got = g.read_new(t->logs, "c1", 10, 0, 1000);
    ASSERT_EQ(got.size(), 10u);
    std::vector<StreamId> ids = {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 7}, {0, 7}, {0, 42}};
    EXPECT_EQ(*b->ack(*t, g, ids), 6);
    EXPECT_EQ(g.partitions()[0].committed(), 5u);
    ASSERT_TRUE(b->sync().has_value());
  }
  auto b = open();
  Topic* t = b->find("t");
  ASSERT_NE(t, nullptr);
  ConsumerGroup& g = t->groups.at("g");
  EXPECT_EQ(g.partitions()[0].next, 5u);
  // Unacknowledged deliveries come again; the acknowledged 7 does not.
  EXPECT_EQ(offsets(g.read_new(t->logs, "c2", 100, 0, 1000)), (std::vector<uint64_t>{5, 6, 8, 9}));
  EXPECT_TRUE(g.read_new(t->logs, "c2", 100, 0, 1000).empty());
  add(*b, "t", "k", "new");
  EXPECT_EQ(offsets(g.read_new(t->logs, "c2", 100, 0, 1000)), (std::vector<uint64_t>{10}));
}

TEST_F(BrokerTest, GroupFromEndSkipsOldEntriesAndSurvivesReopen) {
  {
    auto b = open();
    add(*b, "t", "a", "1");
    ASSERT_EQ(*b->create_group("t", "g", true, false), Broker::GroupCreate::created);
    EXPECT_EQ(*b->create_group("nope", "g", true, false), Broker::GroupCreate::no_topic);
  }
  auto b = open();
  Topic* t = b->find("t");
  add(*b, "t", "a", "2");
  EXPECT_EQ(offsets(t->groups.at("g").read_new(t->logs, "c", 10, 0, 1000)),
            (std::vector<uint64_t>{1}));
}

TEST_F(BrokerTest, ExpiredDeliveriesAreRedeliveredFirst) {
  auto b = open();
  for (int i = 0; i < 3; ++i) add(*b, "t", "k", std::to_string(i));
  ASSERT_TRUE(b->create_group("t", "g", false, false).has_value());
  Topic* t = b->find("t");
  ConsumerGroup& g = t->groups.at("g");
  EXPECT_EQ(offsets(g.read_new(t->logs, "c1", 2, 0, 1000)), (std::vector<uint64_t>{0, 1}));
  std::vector<StreamId> one = {{0, 1}};
  EXPECT_EQ(*b->ack(*t, g, one), 1);
  // Before the timeout only new entries come; after it, the unacknowledged 0 comes first.
  EXPECT_EQ(offsets(g.read_new(t->logs, "c2", 5, 999, 1000)), (std::vector<uint64_t>{2}));
  EXPECT_FALSE(g.has_deliverable(t->logs, 999, 1000));
  EXPECT_TRUE(g.has_deliverable(t->logs, 1000, 1000));
  EXPECT_EQ(offsets(g.read_new(t->logs, "c2", 5, 1000, 1000)), (std::vector<uint64_t>{0}));
  EXPECT_EQ(g.redeliveries(), 1u);
  PendingSummary s = g.pending_summary();
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.per_consumer.at("c2"), 2u);
  EXPECT_EQ(offsets(g.read_pending(t->logs, "c2", {0, 0}, true, 10)),
            (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(offsets(g.read_pending(t->logs, "c2", {0, 0}, false, 10)), (std::vector<uint64_t>{2}));
}

TEST_F(BrokerTest, CompactionDropsPendingEntriesItRemoved) {
  auto b = open();
  add(*b, "t", "a", "1");
  add(*b, "t", "a", "2");
  ASSERT_TRUE(b->create_group("t", "g", false, false).has_value());
  Topic* t = b->find("t");
  ConsumerGroup& g = t->groups.at("g");
  EXPECT_EQ(g.read_new(t->logs, "c", 10, 0, 1000).size(), 2u);
  auto r = b->compact(*t);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->after, 1u);
  EXPECT_EQ(offsets(g.read_new(t->logs, "c", 10, 5000, 1000)), (std::vector<uint64_t>{1}));
  EXPECT_EQ(g.pending_summary().count, 1u);
}

TEST_F(BrokerTest, DeletedTopicStaysDeletedAndStartsOverWhenRecreated) {
  {
    auto b = open();
    add(*b, "t", "a", "1");
    ASSERT_TRUE(b->create_group("t", "g", false, false).has_value());
    EXPECT_TRUE(*b->remove_topic("t"));
    EXPECT_FALSE(*b->remove_topic("t"));
    EXPECT_EQ(b->find("t"), nullptr);
  }
  auto b = open();
  EXPECT_EQ(b->find("t"), nullptr);
  EXPECT_EQ(add(*b, "t", "a", "2").offset, 0u);
  EXPECT_TRUE(b->find("t")->groups.empty());
}

TEST_F(BrokerTest, GroupLogRewriteKeepsState) {
  {
    auto b = open();
    ASSERT_TRUE(b->create_group("t", "g", false, true).has_value());
    Topic* t = b->find("t");
    ConsumerGroup& g = t->groups.at("g");
    for (int i = 0; i < 12000; ++i) {
      add(*b, "t", "k", "v");
      auto d = g.read_new(t->logs, "c", 1, 0, 1000);
      ASSERT_EQ(d.size(), 1u);
      if (i == 11990) continue;  // left pending
      std::vector<StreamId> id = {{0, d[0].entry->offset}};
      ASSERT_EQ(*b->ack(*t, g, id), 1);
    }
    const auto before = fs::file_size(t->dir / "groups.log");
    ASSERT_TRUE(b->tick(2000).has_value());
    EXPECT_LT(fs::file_size(t->dir / "groups.log"), before / 10);
  }
  auto b = open();
  Topic* t = b->find("t");
  EXPECT_EQ(offsets(t->groups.at("g").read_new(t->logs, "c", 10, 0, 1000)),
            (std::vector<uint64_t>{11990}));
}

}  // namespace
}  // namespace fl::broker

namespace fl::broker {
namespace {

TEST(GroupLogTest, ReplaysCreatesAcksAndDestroysAndCutsATornTail) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("fl-broker-grouplog-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto path = dir / "groups.log";
  std::map<std::string, GroupState> state;
  {
    auto log = GroupLog::open(path, state);
    ASSERT_TRUE(log.has_value());
    EXPECT_TRUE(state.empty());
    (*log)->create("a", {0, 5});
    (*log)->create("b", {1, 1});
    (*log)->ack("a", 1, 7);
    (*log)->ack("a", 0, 2);
    (*log)->destroy("b");
    (*log)->ack("a", 1, 9);
    ASSERT_TRUE((*log)->write().has_value());
    ASSERT_TRUE((*log)->sync().has_value());
  }
  // The last ack torn in half.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 6);
  uint64_t torn = 0;
  {
    auto log = GroupLog::open(path, state, &torn);
    ASSERT_TRUE(log.has_value());
    EXPECT_GT(torn, 0u);
    ASSERT_EQ(state.size(), 1u);
    EXPECT_EQ(state.at("a").committed, (std::vector<uint64_t>{0, 5}));
    EXPECT_EQ(state.at("a").acked[0], (std::vector<uint64_t>{2}));
    EXPECT_EQ(state.at("a").acked[1], (std::vector<uint64_t>{7}));
    (*log)->ack("a", 1, 10);
    ASSERT_TRUE((*log)->write().has_value());
  }
  auto log = GroupLog::open(path, state, &torn);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(torn, 0u);
  EXPECT_EQ(state.at("a").acked[1], (std::vector<uint64_t>{7, 10}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fl::broker

namespace fl::broker {
namespace {

TEST_F(BrokerTest, OffsetsAreNotReusedWhenTheLogLostWhatAGroupSaw) {
  {
    auto b = open();
    ASSERT_TRUE(b->create_group("t", "g", false, true).has_value());
    Topic* t = b->find("t");
    for (int i = 0; i < 5; ++i) add(*b, "t", "k", std::to_string(i));
    ConsumerGroup& g = t->groups.at("g");
    std::vector<StreamId> ids;
    for (const auto& d : g.read_new(t->logs, "c", 10, 0, 1000)) ids.push_back({0, d.entry->offset});
    ASSERT_EQ(*b->ack(*t, g, ids), 5);
    ASSERT_TRUE(b->sync().has_value());
  }
  // The partition's records are lost (as a machine crash under fsync never could do).
  for (const auto& de : fs::directory_iterator(dir_ / "topics" / "t" / "p0")) fs::remove(de.path());
  auto b = open();
  EXPECT_EQ(b->stats().offset_gaps, 1u);
  EXPECT_EQ(add(*b, "t", "k", "new").offset, 5u);
  Topic* t = b->find("t");
  EXPECT_EQ(offsets(t->groups.at("g").read_new(t->logs, "c", 10, 0, 1000)),
            (std::vector<uint64_t>{5}));
}

}  // namespace
}  // namespace fl::broker
