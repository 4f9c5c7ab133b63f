// ChangePublisher against a fake broker: a RespServer on its own thread that records XADDs and
// can refuse them; the publisher runs on the test thread's io_context.
#include "nodes/db/changes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/resp/resp.h"
#include "nodes/common/resp_server.h"

namespace fl::db {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Records every XADD (argv after the name). Answers an ID, or -TRYAGAIN while `refuse` > 0.
class FakeBroker {
 public:
  FakeBroker() {
    table_.add("xadd", -5, [this](nodes::CommandContext& c) {
      std::lock_guard lock(mu_);
      if (refuse > 0) {
        --refuse;
        ++refused_;
        return c.out.error("TRYAGAIN not now");
      }
      xadds_.emplace_back(c.argv.begin() + 1, c.argv.end());
      c.out.bulk("0-" + std::to_string(xadds_.size() - 1));
    });
    table_.add("client", -2, [this](nodes::CommandContext& c) {
      std::lock_guard lock(mu_);
      if (c.argv.size() == 3) names_.insert(std::string(c.argv[2]));
      c.out.simple("OK");
    });
  }
  ~FakeBroker() { stop(); }

  void start(uint16_t port = 0) {
    nodes::ServerOptions o;
    o.port = port;
    o.handle_signals = false;
    server_ = std::make_unique<nodes::RespServer>(o, table_, stats_);
    auto bound = server_->listen();
    ASSERT_TRUE(bound) << bound.error().message;
    port_ = *bound;
    thread_ = std::thread([this] { server_->run(); });
  }
  void stop() {
    if (server_) server_->post_stop();
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }
  std::vector<std::vector<std::string>> xadds() {
    std::lock_guard lock(mu_);
    return xadds_;
  }
  size_t refused() {
    std::lock_guard lock(mu_);
    return refused_;
  }
  std::set<std::string> names() {
    std::lock_guard lock(mu_);
    return names_;
  }

  int refuse = 0;  // guarded by mu_ once the server runs

  std::mutex mu_;

 private:
  nodes::CommandTable table_;
  nodes::ServerStats stats_;
  std::unique_ptr<nodes::RespServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::vector<std::vector<std::string>> xadds_;
  size_t refused_ = 0;
  std::set<std::string> names_;
};

// A loopback port nobody listens on (bound, then released).
uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class ChangePublisherTest : public ::testing::Test {
 protected:
  template <typename F>
  bool run_until(F cond) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!cond()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.restart();
      io_.run_one_for(10ms);
    }
    return true;
  }
  std::unique_ptr<ChangePublisher> make(uint16_t port, size_t max_outbox = 100000) {
    ChangePublisherOptions o;
    o.port = port;
    o.topic = "changes";
    o.max_outbox = max_outbox;
    o.client_name = "db-s0-r1";
    o.retry_min = 5ms;
    return std::make_unique<ChangePublisher>(io_, o);
  }
  static ChangeEvent event(int i) {
    return ChangeEvent{"k" + std::to_string(i), "set", 2, static_cast<uint64_t>(100 + i),
                       i % 2 ? "cache-0" : ""};
  }

  asio::io_context io_;
  FakeBroker broker_;
};

TEST_F(ChangePublisherTest, PublishesEveryEventInOrderWithItsFields) {
  broker_.start();
  auto p = make(broker_.port());
  constexpr int kEvents = 500;
  for (int i = 0; i < kEvents; ++i) p->publish(event(i));
  EXPECT_EQ(p->pending(), static_cast<size_t>(kEvents));
  ASSERT_TRUE(run_until([&] { return p->stats().published == kEvents; }));
  EXPECT_EQ(p->pending(), 0u);
  const auto xadds = broker_.xadds();
  ASSERT_EQ(xadds.size(), static_cast<size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    const std::vector<std::string> want = {
        "changes", "*", "key",   "k" + std::to_string(i), "op",     "set",
        "shard",   "2", "index", std::to_string(100 + i), "origin", i % 2 ? "cache-0" : ""};
    ASSERT_EQ(xadds[i], want) << i;
  }
  EXPECT_EQ(broker_.names(), std::set<std::string>{"db-s0-r1"});
  const std::string info = p->info();
  EXPECT_NE(info.find("changes_published:500\r\nchanges_pending:0\r\nchanges_dropped:0\r\n"),
            std::string::npos)
      << info;
}

TEST_F(ChangePublisherTest, ResendsUntilTheBrokerAnswers) {
  const uint16_t port = free_port();
  auto p = make(port);
  for (int i = 0; i < 10; ++i) p->publish(event(i));
  // Nobody listens: the events stay and are retried.
  ASSERT_TRUE(run_until([&] { return p->stats().resent >= 10; }));
  EXPECT_EQ(p->pending(), 10u);
  EXPECT_EQ(p->stats().published, 0u);
  broker_.start(port);
  ASSERT_TRUE(run_until([&] { return p->stats().published == 10; }));
  std::set<std::string> keys;
  for (const auto& x : broker_.xadds()) keys.insert(x[3]);
  EXPECT_EQ(keys.size(), 10u);
  // A broker that refuses for a while (-TRYAGAIN) gets the events again.
  {
    std::lock_guard lock(broker_.mu_);
    broker_.refuse = 3;
  }
  for (int i = 10; i < 15; ++i) p->publish(event(i));
  ASSERT_TRUE(run_until([&] { return p->stats().published == 15; }));
  EXPECT_EQ(broker_.refused(), 3u);
  keys.clear();
  for (const auto& x : broker_.xadds()) keys.insert(x[3]);
  EXPECT_EQ(keys.size(), 15u);
  EXPECT_EQ(p->stats().dropped, 0u);
}

TEST_F(ChangePublisherTest, AFullOutboxDropsTheOldest) {
  const uint16_t port = free_port();
  auto p = make(port, 5);
  for (int i = 0; i < 8; ++i) p->publish(event(i));
  EXPECT_EQ(p->stats().dropped, 3u);
  EXPECT_EQ(p->pending(), 5u);
  ASSERT_TRUE(run_until([&] { return p->stats().resent >= 5; }));
  broker_.start(port);
  ASSERT_TRUE(run_until([&] { return p->stats().published == 5; }));
  std::set<std::string> keys;
  for (const auto& x : broker_.xadds()) keys.insert(x[3]);
  EXPECT_EQ(keys, (std::set<std::string>{"k3", "k4", "k5", "k6", "k7"}));
}

}  // namespace
}  // namespace fl::db
