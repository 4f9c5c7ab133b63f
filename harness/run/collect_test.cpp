// The end-of-run collection against fake nodes: RespServers on loopback answering INFO, ROLE,
// DIGEST, GET, CACHE.KEYS and CACHE.PEEK as the reference nodes do (docs/reference-*.md).
#include "harness/run/collect.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "common/hash_ring.h"
#include "common/resp/resp.h"
#include "nodes/common/resp_server.h"

namespace fl::run {
namespace {

using namespace std::chrono_literals;

// A node on its own thread; its data may be changed from the test thread.
class FakeNode {
 public:
  FakeNode(std::string role, std::string digest) : role_(std::move(role)), digest_(std::move(digest)) {
    table_.add("INFO", -1, [this](nodes::CommandContext& ctx) {
      std::lock_guard l(mu_);
      ctx.out.bulk(fmt::format("# Stats\r\nkeys:{}\r\npeeks:{}\r\n", data_.size(), peeks_));
    });
    table_.add("ROLE", 1, [this](nodes::CommandContext& ctx) {
      ctx.out.array_header(1);
      ctx.out.bulk(role_);
    });
    table_.add("DIGEST", 1, [this](nodes::CommandContext& ctx) { ctx.out.bulk(digest_); });
    table_.add("GET", 2, [this](nodes::CommandContext& ctx) { reply_value(ctx, ctx.argv[1]); });
    table_.add("CACHE.PEEK", 2, [this](nodes::CommandContext& ctx) {
      {
        std::lock_guard l(mu_);
        ++peeks_;
        auto f = flush_on_peek_.find(std::string(ctx.argv[1]));
        if (f != flush_on_peek_.end() && --f->second.first <= 0) {
          data_[f->first] = f->second.second;
        }
      }
      reply_value(ctx, ctx.argv[1]);
    });
    table_.add("CACHE.KEYS", -2, [this](nodes::CommandContext& ctx) {
      std::lock_guard l(mu_);
      size_t from = std::stoul(std::string(ctx.argv[1]));
      size_t count = ctx.argv.size() >= 4 ? std::stoul(std::string(ctx.argv[3])) : 10;
      std::vector<std::string> page;
      auto it = data_.begin();
      std::advance(it, static_cast<ptrdiff_t>(std::min(from, data_.size())));
      for (; it != data_.end() && page.size() < count; ++it) page.push_back(it->first);
      size_t next = from + page.size();
      ctx.out.array_header(2);
      ctx.out.bulk(next >= data_.size() ? "0" : std::to_string(next));
      ctx.out.array_header(page.size());
      for (const auto& k : page) ctx.out.bulk(k);
    });
    nodes::ServerOptions o;
    o.port = 0;
    o.handle_signals = false;
    server_ = std::make_unique<nodes::RespServer>(o, table_, stats_);
    port_ = *server_->listen();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~FakeNode() {
    server_->post_stop();
    thread_.join();
  }
  void set(std::string k, std::string v) {
    std::lock_guard l(mu_);
    data_[std::move(k)] = std::move(v);
  }
  // The value of `k` becomes `v` at its n-th CACHE.PEEK (a write-back flush, a late
  // invalidation).
  void change_on_peek(std::string k, int n, std::string v) {
    std::lock_guard l(mu_);
    flush_on_peek_[std::move(k)] = {n, std::move(v)};
  }
  uint16_t port() const { return port_; }

 private:
  void reply_value(nodes::CommandContext& ctx, std::string_view key) {
    std::lock_guard l(mu_);
    auto it = data_.find(std::string(key));
    if (it == data_.end()) {
      ctx.out.null();
    } else {
      ctx.out.bulk(it->second);
    }
  }
  std::string role_, digest_;
  std::mutex mu_;
  std::map<std::string, std::string> data_;
  std::map<std::string, std::pair<int, std::string>> flush_on_peek_;
  int peeks_ = 0;
  nodes::CommandTable table_;
  nodes::ServerStats stats_;
  std::unique_ptr<nodes::RespServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

CollectTarget target(std::string id, std::string group, std::string kind, int shard,
                     const FakeNode& n) {
  return {std::move(id), std::move(group), std::move(kind), shard, "127.0.0.1", n.port(), true};
}

// Two shards of two replicas (the master listed second, so ROLE must find it) and one cache.
struct Cluster {
  Cluster() {
    // Spread keys over both shards with the real shard function.
    for (int i = 0; keys.size() < 40; ++i) keys.push_back("key" + std::to_string(i));
    for (const auto& k : keys) {
      db(shard_of(k, 2)).set(k, "v-" + k);
      cache.set(k, "v-" + k);
    }
    targets = {target("db-s0-r0", "db", "db", 0, s0_slave), target("db-s0-r1", "db", "db", 0, s0_master),
               target("db-s1-r0", "db", "db", 1, s1_master), target("db-s1-r1", "db", "db", 1, s1_slave),
               target("cache-0", "cache", "cache", -1, cache)};
    opts.shards = 2;
    opts.batch = 7;  // several pages and batches
    opts.retry_pause = 1ms;
  }
  FakeNode& db(int shard) { return shard == 0 ? s0_master : s1_master; }
  FakeNode s0_slave{"slave", "d0"}, s0_master{"master", "d0"}, s1_master{"master", "d1"},
      s1_slave{"slave", "d1"}, cache{"master", ""};
  std::vector<std::string> keys;
  std::vector<CollectTarget> targets;
  CollectOptions opts;
};

TEST(Collect, InfoOfEveryReferenceNode) {
  Cluster c;
  c.targets.push_back({"redis", "redis", "external", -1, "127.0.0.1", c.cache.port(), true});
  c.targets[3].running = false;
  auto stats = collect_info(c.targets, c.opts);
  ASSERT_EQ(stats.size(), 5u);  // the external node is not asked
  EXPECT_EQ(stats[0].id, "db-s0-r0");
  ASSERT_NE(stats[4].field("keys"), nullptr);
  EXPECT_EQ(*stats[4].field("keys"), "40");
  EXPECT_EQ(stats[1].shard, 0);
  EXPECT_FALSE(stats[3].running);
  EXPECT_TRUE(stats[3].info.empty());
}

TEST(Collect, AgreeingClusterHasEqualDigestsAndNoMismatch) {
  Cluster c;
  auto e = collect_convergence(c.targets, c.opts);
  ASSERT_EQ(e.shards.size(), 2u);
  EXPECT_EQ(e.shards[0].replicas[0].digest, "d0");
  EXPECT_EQ(e.shards[0].replicas[1].digest, "d0");
  EXPECT_EQ(e.shards[1].replicas[0].digest, "d1");
  ASSERT_EQ(e.caches.size(), 1u);
  EXPECT_EQ(e.caches[0].error, "");
  EXPECT_EQ(e.caches[0].entries, 40u);
  EXPECT_EQ(e.caches[0].compared, 40u);
  EXPECT_TRUE(e.caches[0].mismatches.empty());
  EXPECT_EQ(e.attempts, 1);
}

TEST(Collect, AStaleEntryIsReportedAtTheDeadlineAndALateFlushIsWaitedFor) {
  Cluster c;
  c.cache.set(c.keys[3], "stale");                  // never fixed
  c.cache.set(c.keys[5], "dirty");                  // fixed at its third PEEK
  c.cache.change_on_peek(c.keys[5], 3, "v-" + c.keys[5]);
  c.cache.set("only-cached", "x");                  // the DB has nothing: a mismatch too
  c.opts.deadline = 300ms;
  auto e = collect_convergence(c.targets, c.opts);
  ASSERT_EQ(e.caches.size(), 1u);
  const auto& m = e.caches[0].mismatches;
  ASSERT_EQ(m.size(), 2u);
  std::map<std::string, check::CacheMismatch> by_key;
  for (const auto& x : m) by_key[x.key] = x;
  ASSERT_TRUE(by_key.count(c.keys[3]));
  EXPECT_EQ(by_key[c.keys[3]].cached, "stale");
  EXPECT_EQ(by_key[c.keys[3]].db, "v-" + c.keys[3]);
  ASSERT_TRUE(by_key.count("only-cached"));
  EXPECT_EQ(by_key["only-cached"].db, std::nullopt);
  EXPECT_GE(e.attempts, 3);  // kept comparing until the deadline
}

TEST(Collect, DivergedReplicasAndDownNodesAreRecorded) {
  Cluster c;
  FakeNode odd("slave", "zz");
  c.targets[3] = target("db-s1-r1", "db", "db", 1, odd);
  c.targets[0].running = false;
  c.opts.compare_digests = true;
  auto e = collect_convergence(c.targets, c.opts);
  EXPECT_FALSE(e.shards[0].replicas[0].running);
  EXPECT_EQ(e.shards[0].replicas[0].digest, "");
  EXPECT_EQ(e.shards[1].replicas[1].digest, "zz");
  c.opts.compare_digests = false;
  auto q = collect_convergence(c.targets, c.opts);
  EXPECT_TRUE(q.shards.empty());
  EXPECT_FALSE(q.digests_skipped.empty());
}

TEST(Collect, AnUnreachableCacheIsAnError) {
  Cluster c;
  uint16_t dead_port = 0;
  {
    FakeNode gone("master", "");
    dead_port = gone.port();
  }
  c.targets[4].port = dead_port;
  auto e = collect_convergence(c.targets, c.opts);
  ASSERT_EQ(e.caches.size(), 1u);
  EXPECT_FALSE(e.caches[0].error.empty());
}

}  // namespace
}  // namespace fl::run
