// The fill-race guard in the real faultline-cache, against a fake DB (an in-process RespServer)
// that holds GET replies until the test releases them: a fill that completes while a write of
// its key is in flight is not installed (fill_races), and the write's value is.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include "common/resp/resp.h"
#include "nodes/common/command_table.h"
#include "nodes/common/resp_server.h"
#include "tests/cache/cache_fixture.h"

namespace fl::cachetest {
namespace {

using resp::Value;

class HoldingDb {
 public:
  HoldingDb() {
    nodes::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.handle_signals = false;
    o.pipeline_deferred = true;
    table_.add("get", 2, [this](nodes::CommandContext& c) {
      ++gets_;
      held_.push_back(c.defer());
    });
    table_.add("set", -3, [](nodes::CommandContext& c) { c.out.simple("OK"); });
    table_.add("client", -2, [](nodes::CommandContext& c) { c.out.simple("OK"); });
    server_ = std::make_unique<nodes::RespServer>(o, table_, stats_);
    auto p = server_->listen();
    if (!p) std::abort();
    port_ = *p;
    server_->every(std::chrono::milliseconds(5), [this] {
      if (release_ == 0) return;
      while (release_ > 0 && !held_.empty()) {
        held_.front().complete(resp::encode(Value::bulk(value_)));
        held_.pop_front();
        --release_;
      }
    });
    thread_ = std::thread([this] { server_->run(); });
  }
  ~HoldingDb() {
    server_->post_stop();
    thread_.join();
  }
  // Answers the oldest held GET with `value` (from the server's thread, soon).
  void release_one(const std::string& value) {
    value_ = value;
    ++release_;
  }
  uint64_t gets() const { return gets_; }
  uint16_t port() const { return port_; }

 private:
  nodes::CommandTable table_;
  nodes::ServerStats stats_;
  std::unique_ptr<nodes::RespServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::deque<nodes::DeferredReply> held_;
  std::string value_;  // written before release_ is raised
  std::atomic<int> release_{0};
  std::atomic<uint64_t> gets_{0};
};

TEST(CacheFillRace, AFillOverlappingAWriteIsNotInstalled) {
  ScratchDir dir;
  HoldingDb db;
  CacheProcess c("c0", {"fake,0,127.0.0.1:" + std::to_string(db.port())}, {}, dir.path);
  ASSERT_TRUE(c.start()) << c.log();

  std::optional<Value> read;
  std::thread reader([&] {
    RespClient client("127.0.0.1", c.port(), std::chrono::seconds(30));
    read = client.call({"GET", "k"});
  });
  ASSERT_TRUE(eventually([&] { return db.gets() == 1; }));  // the fill is in flight
  // The write is sent after the fill on the same DB connection, so its reply comes after the
  // fill's: the fill completes while the write is in flight.
  std::optional<Value> wrote;
  std::thread writer([&] {
    RespClient client("127.0.0.1", c.port(), std::chrono::seconds(30));
    wrote = client.call({"SET", "k", "new"});
  });
  ASSERT_TRUE(eventually([&] { return c.info("db_requests") == 2; }));
  db.release_one("old");
  reader.join();
  writer.join();
  EXPECT_EQ(read, Value::bulk("old"));  // concurrent with the write: either value is fine
  EXPECT_EQ(wrote, Value::simple("OK"));
  EXPECT_EQ(c.call({"CACHE.PEEK", "k"}), Value::bulk("new"));  // "old" was not installed
  EXPECT_EQ(c.info("fill_races"), 1);
  EXPECT_EQ(c.info("fills"), 0);
  EXPECT_EQ(c.call({"GET", "k"}), Value::bulk("new"));  // a hit
  EXPECT_EQ(db.gets(), 1u);
}

}  // namespace
}  // namespace fl::cachetest
