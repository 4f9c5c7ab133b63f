// The whole invalidation path with real processes: faultline-db masters publish change events
// to a real faultline-broker, and two faultline-cache nodes consume them: a write through one
// cache drops the other's entry and keeps its own; a restarted cache warms from the log.
#include <gtest/gtest.h>

#include "tests/cache/cache_fixture.h"

namespace fl::cachetest {
namespace {

using resp::Value;

class CacheE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = ports_.allocate();
    ASSERT_TRUE(p);
    broker_port_ = *p;
    broker_ = std::make_unique<DbProcess>(
        std::vector<std::string>{std::string(FL_BIN_DIR) + "/faultline-broker", "--id", "broker",
                                 "--host", "127.0.0.1", "--port", std::to_string(broker_port_),
                                 "--dir", (dir_.path / "broker").string(), "--fsync", "never"},
        dir_.path / "broker.log");
    broker_->start();
    RespClient probe("127.0.0.1", broker_port_);
    ASSERT_TRUE(eventually([&] {
      auto v = probe.call({"PING"});
      return v && v->str == "PONG";
    })) << broker_->log_tail();
    db_ = std::make_unique<DbCluster>(
        2, 1, std::vector<std::string>{"--broker", "127.0.0.1:" + std::to_string(broker_port_)});
    ASSERT_TRUE(db_->start()) << db_->logs();
  }

  std::unique_ptr<CacheProcess> cache(const std::string& id, std::vector<std::string> extra = {}) {
    extra.push_back("--broker");
    extra.push_back("127.0.0.1:" + std::to_string(broker_port_));
    auto c = std::make_unique<CacheProcess>(id, db_list(*db_), std::move(extra), dir_.path);
    EXPECT_TRUE(c->start()) << c->log();
    EXPECT_TRUE(eventually([&] { return c->info("feed_connected") == 1; })) << c->info_text();
    return c;
  }

  ScratchDir dir_;
  supervisor::PortAllocator ports_;
  uint16_t broker_port_ = 0;
  std::unique_ptr<DbProcess> broker_;
  std::unique_ptr<DbCluster> db_;
};

TEST_F(CacheE2E, AWriteThroughOneCacheInvalidatesTheOther) {
  auto a = cache("cache-0");
  auto b = cache("cache-1");
  for (const char* k : {"k1", "k2"}) ASSERT_EQ(a->call({"SET", k, "v1"}), Value::simple("OK"));
  // Once b has had those writes' events, its fills stay until something changes.
  ASSERT_TRUE(eventually([&] { return b->info("feed_received") >= 2; })) << b->info_text();
  for (const char* k : {"k1", "k2"}) ASSERT_EQ(b->call({"GET", k}), Value::bulk("v1"));
  ASSERT_EQ(a->call({"SET", "k1", "v2"}), Value::simple("OK"));
  EXPECT_TRUE(eventually([&] { return b->call({"CACHE.PEEK", "k1"}) == Value::nil(); }))
      << b->info_text();
  EXPECT_EQ(b->call({"GET", "k1"}), Value::bulk("v2"));
  EXPECT_EQ(b->call({"CACHE.PEEK", "k2"}), Value::bulk("v1"));  // untouched
  // The writer's own entry survives its own events (3 of them: k1, k2, k1).
  ASSERT_TRUE(eventually([&] { return a->info("own_events") >= 3; })) << a->info_text();
  EXPECT_EQ(a->call({"CACHE.PEEK", "k1"}), Value::bulk("v2"));
  EXPECT_EQ(a->info("invalidations"), 0);
}

TEST_F(CacheE2E, SkipInvalidationBugLeavesTheOtherCacheStale) {
  auto a = cache("cache-0");
  auto b = cache("cache-1", {"--bug", "skip-invalidation"});
  ASSERT_EQ(a->call({"SET", "k", "v1"}), Value::simple("OK"));
  ASSERT_EQ(b->call({"GET", "k"}), Value::bulk("v1"));
  ASSERT_EQ(a->call({"SET", "k", "v2"}), Value::simple("OK"));
  // b receives the events (2 SETs) and ignores them.
  EXPECT_TRUE(eventually([&] { return b->info("feed_received") >= 2; })) << b->info_text();
  EXPECT_EQ(b->call({"GET", "k"}), Value::bulk("v1"));
  EXPECT_EQ(b->info("invalidations"), 0);
}

TEST_F(CacheE2E, ARestartedCacheWarmsFromRecentChangeEvents) {
  auto a = cache("cache-0");
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(a->call({"SET", "w" + std::to_string(i), std::to_string(i)}), Value::simple("OK"));
  }
  RespClient broker("127.0.0.1", broker_port_);
  ASSERT_TRUE(eventually([&] {
    auto n = broker.call({"XLEN", "changes"});
    return n && n->integer >= 20;
  }));
  auto b = cache("cache-1", {"--warm", "5"});
  EXPECT_TRUE(eventually([&] { return b->info("entries") == 5; })) << b->info_text();
  EXPECT_EQ(b->info("warmed"), 5);
  EXPECT_EQ(b->info("misses"), 0);
}

}  // namespace
}  // namespace fl::cachetest
