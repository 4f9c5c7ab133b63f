// faultline-cache in front of a real 2-shard faultline-db cluster: read-through counting, the
// visible behaviour of each write policy, capacity-bound eviction and -MOVED following.
#include <gtest/gtest.h>
#include <signal.h>

#include "common/hash_ring.h"
#include "tests/cache/cache_fixture.h"

namespace fl::cachetest {
namespace {

using resp::Type;
using resp::Value;

class CacheCluster : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(db_.start()) << db_.logs(); }

  // Starts a cache with `extra` flags in front of the cluster.
  CacheProcess& start_cache(std::vector<std::string> extra, std::vector<std::string> db = {}) {
    if (db.empty()) db = db_list(db_);
    cache_ = std::make_unique<CacheProcess>("c0", db, std::move(extra), dir_.path);
    EXPECT_TRUE(cache_->start()) << cache_->log();
    return *cache_;
  }
  // The DB's value of a key (through the right shard).
  std::optional<Value> db_get(const std::string& key) { return db_.call_routed(0, {"GET", key}); }
  // A key of `shard` (of the 2 shards).
  static std::string key_of_shard(int shard, const std::string& prefix = "k") {
    for (int i = 0;; ++i) {
      std::string k = prefix + std::to_string(i);
      if (fl::shard_of(k, 2) == shard) return k;
    }
  }

  ScratchDir dir_;
  DbCluster db_{2, 1};
  std::unique_ptr<CacheProcess> cache_;
};

TEST_F(CacheCluster, ReadThroughCountsMissesFillsAndHits) {
  auto& c = start_cache({});
  for (int s = 0; s < 2; ++s) {
    const std::string k = key_of_shard(s);
    ASSERT_TRUE(db_.call_routed(0, {"SET", k, "v" + std::to_string(s)}));
  }
  for (int s = 0; s < 2; ++s) {
    const std::string k = key_of_shard(s);
    EXPECT_EQ(c.call({"CACHE.PEEK", k}), Value::nil());
    EXPECT_EQ(c.call({"GET", k}), Value::bulk("v" + std::to_string(s)));  // miss, fill
    EXPECT_EQ(c.call({"GET", k}), Value::bulk("v" + std::to_string(s)));  // hit
    EXPECT_EQ(c.call({"CACHE.PEEK", k}), Value::bulk("v" + std::to_string(s)));
  }
  EXPECT_EQ(c.call({"GET", "absent"}), Value::nil());  // a miss, nothing to install
  // Reads the cache forwards leave the entries alone.
  EXPECT_EQ(c.call({"EXISTS", key_of_shard(0), "absent"}), Value::integer_value(1));
  EXPECT_EQ(c.call({"TYPE", key_of_shard(1)}), Value::simple("string"));
  EXPECT_EQ(c.call({"MGET", key_of_shard(0), "absent", key_of_shard(1)}),
            Value::array({Value::bulk("v0"), Value::nil(), Value::bulk("v1")}));
  EXPECT_EQ(c.info("misses"), 4);  // MGET's "absent" too
  EXPECT_EQ(c.info("hits"), 4);
  EXPECT_EQ(c.info("fills"), 2);
  EXPECT_EQ(c.info("entries"), 2);
  auto keys = c.call({"CACHE.KEYS", "0", "COUNT", "100"});
  ASSERT_TRUE(keys && keys->type == Type::array && keys->elements.size() == 2);
  EXPECT_EQ(keys->elements[1].elements.size(), 2u);
  EXPECT_EQ(c.call({"CACHE.FLUSH"}), Value::simple("OK"));
  EXPECT_EQ(c.info("entries"), 0);
}

TEST_F(CacheCluster, WriteThroughUpdatesTheDbAndTheEntry) {
  auto& c = start_cache({"--write-policy", "write-through"});
  for (int s = 0; s < 2; ++s) {
    const std::string k = key_of_shard(s);
    ASSERT_EQ(c.call({"SET", k, "a"}), Value::simple("OK"));
    EXPECT_EQ(db_get(k), Value::bulk("a"));
    EXPECT_EQ(c.call({"CACHE.PEEK", k}), Value::bulk("a"));
    EXPECT_EQ(c.call({"GET", k}), Value::bulk("a"));
    // A conditional write that fails leaves the DB and drops nothing stale into the cache.
    EXPECT_EQ(c.call({"SET", k, "b", "IFEQ", "zzz"}), Value::nil());
    EXPECT_EQ(c.call({"GET", k}), Value::bulk("a"));
    ASSERT_EQ(c.call({"INCRBY", "n" + k, "5"}), Value::integer_value(5));
    EXPECT_EQ(c.call({"GET", "n" + k}), Value::bulk("5"));
  }
  EXPECT_GE(c.info("hits"), 2);
}

TEST_F(CacheCluster, WriteAroundLeavesNoEntry) {
  auto& c = start_cache({"--write-policy", "write-around"});
  const std::string k = key_of_shard(1);
  ASSERT_TRUE(db_.call_routed(0, {"SET", k, "old"}));
  EXPECT_EQ(c.call({"GET", k}), Value::bulk("old"));
  EXPECT_EQ(c.call({"CACHE.PEEK", k}), Value::bulk("old"));
  ASSERT_EQ(c.call({"SET", k, "new"}), Value::simple("OK"));
  EXPECT_EQ(c.call({"CACHE.PEEK", k}), Value::nil());
  EXPECT_EQ(db_get(k), Value::bulk("new"));
  const int64_t misses = c.info("misses");
  EXPECT_EQ(c.call({"GET", k}), Value::bulk("new"));
  EXPECT_EQ(c.info("misses"), misses + 1);
  EXPECT_EQ(c.call({"DEL", k}), Value::integer_value(1));
  EXPECT_EQ(c.call({"GET", k}), Value::nil());
}

TEST_F(CacheCluster, WriteBackAcknowledgesFirstAndFlushesWithinTheInterval) {
  // A long interval makes "not yet in the DB" observable right after the acknowledgement.
  auto& c = start_cache({"--write-policy", "write-back", "--flush-interval", "3s"});
  const std::string k = key_of_shard(0), k2 = key_of_shard(1);
  ASSERT_EQ(c.call({"SET", k, "wb"}), Value::simple("OK"));
  ASSERT_EQ(c.call({"SET", k2, "wb2"}), Value::simple("OK"));
  EXPECT_EQ(db_get(k), Value::nil());
  EXPECT_EQ(c.info("dirty"), 2);
  EXPECT_EQ(c.call({"GET", k}), Value::bulk("wb"));  // served from the cache meanwhile
  EXPECT_TRUE(eventually([&] { return db_get(k) == Value::bulk("wb"); }));
  EXPECT_TRUE(eventually([&] { return db_get(k2) == Value::bulk("wb2"); }));
  EXPECT_TRUE(eventually([&] { return c.info("dirty") == 0; }));
  EXPECT_EQ(c.info("flushed"), 2);
  // A command the cache forwards waits for the dirty key's flush, so it sees the write.
  ASSERT_EQ(c.call({"SET", k, "41"}), Value::simple("OK"));
  EXPECT_EQ(c.call({"INCR", k}), Value::integer_value(42));
  EXPECT_EQ(db_get(k), Value::bulk("42"));
  // A delete is buffered the same way.
  ASSERT_EQ(c.call({"DEL", k2}), Value::integer_value(1));
  EXPECT_EQ(c.call({"GET", k2}), Value::nil());
  EXPECT_TRUE(eventually([&] { return db_get(k2) == Value::nil(); }));
}

TEST_F(CacheCluster, CapacityBoundsTheEntriesAndEvicts) {
  auto& c = start_cache({"--capacity", "4KiB", "--eviction", "lfu"});
  const std::string value(100, 'x');
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(c.call({"SET", "e" + std::to_string(i), value}), Value::simple("OK"));
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(c.call({"GET", "e" + std::to_string(i)}), Value::bulk(value));
  }
  EXPECT_LE(c.info("used_bytes"), 4096);
  EXPECT_GT(c.info("used_bytes"), 0);
  EXPECT_LT(c.info("entries"), 100);
  EXPECT_GT(c.info("evictions"), 50);
  EXPECT_GT(c.info("thrash_evictions"), 0);
}

TEST_F(CacheCluster, FollowsMovedToTheShardMaster) {
  // The cache is told that shard 1 starts at shard 0's node: that node answers -MOVED.
  const std::vector<std::string> db = {db_.spec(0).id + ",0," + db_.address(0),
                                       "wrong,1," + db_.address(0)};
  auto& c = start_cache({}, db);
  const std::string k = key_of_shard(1);
  ASSERT_EQ(c.call({"SET", k, "m"}), Value::simple("OK"));
  EXPECT_EQ(c.call({"GET", k}), Value::bulk("m"));
  EXPECT_EQ(db_.call(1, {"GET", k}), Value::bulk("m"));  // it is on shard 1's node
  EXPECT_GE(c.info("db_moved"), 1);
  const std::string text = c.info_text();
  EXPECT_NE(text.find("shard_1_master:" + db_.address(1)), std::string::npos) << text;
  // Remembered: later requests go straight to the master.
  const int64_t moved = c.info("db_moved");
  ASSERT_EQ(c.call({"SET", key_of_shard(1, "x"), "m2"}), Value::simple("OK"));
  EXPECT_EQ(c.info("db_moved"), moved);
}

TEST_F(CacheCluster, UnreachableShardIsClusterdown) {
  auto& c = start_cache({"--timeout", "300ms"});
  db_.process(1).kill();
  auto v = c.call({"GET", key_of_shard(1)});
  EXPECT_TRUE(is_error(v, "CLUSTERDOWN")) << (v ? v->str : "no reply");
  EXPECT_EQ(c.call({"SET", key_of_shard(0), "ok"}), Value::simple("OK"));
}

TEST_F(CacheCluster, SilentShardIsTimeout) {
  auto& c = start_cache({"--timeout", "300ms"});
  const std::string k = key_of_shard(1);
  db_.process(1).signal(SIGSTOP);
  auto v = c.call({"SET", k, "maybe"});
  db_.process(1).signal(SIGCONT);
  EXPECT_TRUE(is_error(v, "TIMEOUT")) << (v ? v->str : "no reply");
  // The connection was closed on the timeout; the cache reconnects for later requests.
  EXPECT_TRUE(eventually([&] { return c.call({"SET", k, "later"}) == Value::simple("OK"); }));
  EXPECT_EQ(c.call({"GET", k}), Value::bulk("later"));
  EXPECT_GE(c.info("db_timeouts"), 1);
}

TEST_F(CacheCluster, EntriesExpireAfterTheTtl) {
  auto& c = start_cache({"--ttl", "200ms"});
  const std::string k = key_of_shard(0);
  ASSERT_TRUE(db_.call_routed(0, {"SET", k, "t"}));
  ASSERT_EQ(c.call({"GET", k}), Value::bulk("t"));
  ASSERT_EQ(c.call({"CACHE.PEEK", k}), Value::bulk("t"));
  EXPECT_TRUE(eventually([&] { return c.call({"CACHE.PEEK", k}) == Value::nil(); }));
  EXPECT_EQ(c.call({"GET", k}), Value::bulk("t"));  // refilled
  EXPECT_EQ(c.info("expired"), 1);
  EXPECT_EQ(c.info("fills"), 2);
}

}  // namespace
}  // namespace fl::cachetest
