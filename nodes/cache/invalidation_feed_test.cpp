#include "nodes/cache/invalidation_feed.h"

#include <gtest/gtest.h>

#include "common/resp/resp.h"

namespace fl::cache {
namespace {

using resp::Value;

Value entry(const std::string& id, std::vector<std::string> fields) {
  std::vector<Value> f;
  for (auto& s : fields) f.push_back(Value::bulk(s));
  return Value::array({Value::bulk(id), Value::array(std::move(f))});
}

TEST(InvalidationFeed, ParsesXreadgroupReplies) {
  const std::string reply = resp::encode(Value::array({Value::array(
      {Value::bulk("changes"),
       Value::array({entry("0-1", {"key", "a", "op", "set", "shard", "0", "origin", "c1"}),
                     entry("1-7", {"op", "del", "key", "b"}), entry("2-0", {"other", "x"})})})}));
  std::vector<std::string> ids;
  std::vector<ChangeEvent> events;
  ASSERT_TRUE(parse_change_events(reply, ids, events));
  EXPECT_EQ(ids, (std::vector<std::string>{"0-1", "1-7", "2-0"}));  // every id is acked
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].key, "a");
  EXPECT_EQ(events[0].origin, "c1");
  EXPECT_EQ(events[1].key, "b");
  EXPECT_EQ(events[1].origin, "");

  ids.clear();
  events.clear();
  EXPECT_TRUE(parse_change_events("*-1\r\n", ids, events));  // BLOCK ran out
  EXPECT_TRUE(ids.empty());
  EXPECT_FALSE(parse_change_events(":1\r\n", ids, events));
  EXPECT_FALSE(parse_change_events("*1\r\n:1\r\n", ids, events));
}

TEST(InvalidationFeed, RecentKeysTakesEachPartitionsNewestInTurn) {
  const std::string reply = resp::encode(Value::array(
      {entry("0-0", {"key", "a"}), entry("0-1", {"key", "b"}), entry("1-0", {"key", "c"}),
       entry("1-1", {"key", "d"}), entry("1-2", {"key", "b"})}));
  std::vector<std::string> ids;
  std::vector<ChangeEvent> events;
  ASSERT_TRUE(parse_range_events(reply, ids, events));
  // The last 3 events: b (partition 0), b (partition 1), a; a key counts once.
  EXPECT_EQ(recent_keys(ids, events, 3), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(recent_keys(ids, events, 4), (std::vector<std::string>{"b", "a", "d"}));
  EXPECT_EQ(recent_keys(ids, events, 100), (std::vector<std::string>{"b", "a", "d", "c"}));
  EXPECT_TRUE(recent_keys(ids, events, 0).empty());
}

}  // namespace
}  // namespace fl::cache
