// The invalidation feed of a real faultline-cache against a fake broker (an in-process
// RespServer answering XGROUP/XREADGROUP/XACK): entries other nodes changed are dropped, the
// cache's own changes are not, the skip-invalidation bug keeps stale entries, and losing the
// feed drops everything.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include "common/hash_ring.h"
#include "common/resp/resp.h"
#include "nodes/common/command_table.h"
#include "nodes/common/resp_server.h"
#include "tests/cache/cache_fixture.h"

namespace fl::cachetest {
namespace {

using resp::Value;

class FakeBroker {
 public:
  FakeBroker() {
    nodes::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.handle_signals = false;
    o.pipeline_deferred = true;
    table_.add("xgroup", -2, [this](nodes::CommandContext& c) {
      ++groups_created_;
      c.out.simple("OK");
    });
    table_.add("xreadgroup", -2, [this](nodes::CommandContext& c) {
      pending_.push_back({c.defer(), std::chrono::steady_clock::now()});
    });
    table_.add("xack", -4, [this](nodes::CommandContext& c) {
      acked_ += c.argv.size() - 3;
      c.out.integer(static_cast<int64_t>(c.argv.size() - 3));
    });
    table_.add("xrange", -4, [this](nodes::CommandContext& c) {
      std::lock_guard lock(mu_);
      std::vector<Value> entries;
      if (c.argv[2] == "-") {
        for (auto& [id, key] : log_) {
          entries.push_back(Value::array(
              {Value::bulk(id), Value::array({Value::bulk("key"), Value::bulk(key)})}));
        }
      }
      c.reply_encoded(resp::encode(Value::array(std::move(entries))));
    });
    table_.add("ping", -1, [](nodes::CommandContext& c) { c.out.simple("PONG"); });
    server_ = std::make_unique<nodes::RespServer>(o, table_, stats_);
    auto p = server_->listen();
    if (!p) std::abort();
    port_ = *p;
    server_->every(std::chrono::milliseconds(10), [this] { deliver(); });
    thread_ = std::thread([this] { server_->run(); });
  }
  ~FakeBroker() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    server_->post_stop();
    thread_.join();
  }

  // Appends a change event to the log and (when `deliver`) queues it for the next XREADGROUP.
  void publish(const std::string& key, const std::string& origin, bool deliver = true) {
    std::lock_guard lock(mu_);
    if (deliver) events_.push_back({key, origin});
    log_.push_back({"0-" + std::to_string(log_.size()), key});
    ++published_;
  }
  uint64_t published() const { return published_; }
  uint64_t acked() const { return acked_; }
  uint16_t port() const { return port_; }

 private:
  struct Pending {
    nodes::DeferredReply reply;
    std::chrono::steady_clock::time_point since;
  };

  void deliver() {
    const auto now = std::chrono::steady_clock::now();
    while (!pending_.empty()) {
      std::vector<std::pair<std::string, std::string>> batch;
      {
        std::lock_guard lock(mu_);
        batch.assign(events_.begin(), events_.end());
        events_.clear();
      }
      Pending& p = pending_.front();
      if (batch.empty()) {
        if (now - p.since < std::chrono::milliseconds(200)) return;
        p.reply.complete("*-1\r\n");  // BLOCK ran out
      } else {
        std::vector<Value> entries;
        for (auto& [key, origin] : batch) {
          entries.push_back(Value::array(
              {Value::bulk("0-" + std::to_string(next_id_++)),
               Value::array({Value::bulk("key"), Value::bulk(key), Value::bulk("op"),
                             Value::bulk("set"), Value::bulk("origin"), Value::bulk(origin)})}));
        }
        p.reply.complete(resp::encode(Value::array(
            {Value::array({Value::bulk("changes"), Value::array(std::move(entries))})})));
      }
      pending_.pop_front();
    }
  }

  nodes::CommandTable table_;
  nodes::ServerStats stats_;
  std::unique_ptr<nodes::RespServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::deque<Pending> pending_;  // server thread only
  std::mutex mu_;
  std::deque<std::pair<std::string, std::string>> events_;
  std::vector<std::pair<std::string, std::string>> log_;  // (id, key) of every event
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> groups_created_{0};
  uint64_t next_id_ = 0;
};

class CacheFeed : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(db_.start()) << db_.logs(); }

  CacheProcess& start_cache(std::vector<std::string> extra = {}) {
    extra.push_back("--broker");
    extra.push_back("127.0.0.1:" + std::to_string(broker_.port()));
    cache_ = std::make_unique<CacheProcess>("c0", db_list(db_), std::move(extra), dir_.path);
    EXPECT_TRUE(cache_->start()) << cache_->log();
    EXPECT_TRUE(eventually([&] { return cache_->info("feed_connected") == 1; }))
        << cache_->info_text();
    return *cache_;
  }
  void db_set(const std::string& k, const std::string& v) {
    ASSERT_EQ(db_.call_routed(0, {"SET", k, v}), Value::simple("OK"));
  }
  // Publishes an event and waits until the cache acknowledged it.
  void publish_and_wait(const std::string& key, const std::string& origin) {
    broker_.publish(key, origin);
    const uint64_t want = broker_.published();
    ASSERT_TRUE(eventually([&] { return broker_.acked() >= want; }));
  }

  ScratchDir dir_;
  DbCluster db_{2, 1};
  FakeBroker broker_;
  std::unique_ptr<CacheProcess> cache_;
};

TEST_F(CacheFeed, DropsEntriesOtherNodesChangedButNotItsOwn) {
  auto& c = start_cache();
  db_set("a", "1");
  db_set("b", "1");
  ASSERT_EQ(c.call({"GET", "a"}), Value::bulk("1"));
  ASSERT_EQ(c.call({"GET", "b"}), Value::bulk("1"));
  db_set("a", "2");
  EXPECT_EQ(c.call({"GET", "a"}), Value::bulk("1"));  // stale until the event arrives
  publish_and_wait("a", "some-other-cache");
  EXPECT_EQ(c.call({"CACHE.PEEK", "a"}), Value::nil());
  EXPECT_EQ(c.call({"GET", "a"}), Value::bulk("2"));
  EXPECT_EQ(c.info("invalidations"), 1);
  publish_and_wait("b", "c0");  // the cache's own write: its entry is current
  EXPECT_EQ(c.call({"CACHE.PEEK", "b"}), Value::bulk("1"));
  EXPECT_EQ(c.info("invalidations"), 1);
}

TEST_F(CacheFeed, SkipInvalidationBugServesStaleValues) {
  auto& c = start_cache({"--bug", "skip-invalidation"});
  db_set("a", "1");
  ASSERT_EQ(c.call({"GET", "a"}), Value::bulk("1"));
  db_set("a", "2");
  publish_and_wait("a", "some-other-cache");
  EXPECT_EQ(c.call({"GET", "a"}), Value::bulk("1"));
  EXPECT_EQ(c.info("invalidations"), 0);
}

TEST_F(CacheFeed, LosingTheFeedDropsEveryEntry) {
  auto& c = start_cache();
  db_set("a", "1");
  db_set("b", "1");
  ASSERT_EQ(c.call({"GET", "a"}), Value::bulk("1"));
  ASSERT_EQ(c.call({"GET", "b"}), Value::bulk("1"));
  ASSERT_EQ(c.info("entries"), 2);
  broker_.stop();
  EXPECT_TRUE(eventually([&] { return c.info("feed_connected") == 0; })) << c.info_text();
  EXPECT_EQ(c.info("entries"), 0);
  EXPECT_GE(c.info("feed_drops"), 1);
  EXPECT_EQ(c.call({"GET", "a"}), Value::bulk("1"));  // still serves, from the DB
}

TEST_F(CacheFeed, WarmFillsTheKeysOfRecentChangeEvents) {
  db_set("w1", "x");
  db_set("w2", "y");
  // In the log only: delivered, they would race the warming fills (and win, by design).
  broker_.publish("w1", "db", false);
  broker_.publish("w2", "db", false);
  broker_.publish("w1", "db", false);
  auto& c = start_cache({"--warm", "10"});
  EXPECT_TRUE(eventually([&] { return c.info("warmed") == 2 && c.info("entries") == 2; }))
      << c.info_text();
  EXPECT_EQ(c.call({"CACHE.PEEK", "w1"}), Value::bulk("x"));
  EXPECT_EQ(c.call({"CACHE.PEEK", "w2"}), Value::bulk("y"));
}

}  // namespace
}  // namespace fl::cachetest
