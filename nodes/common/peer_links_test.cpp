// PeerLinks between two real RespServers on loopback: messages arrive in order, a peer that
// starts late still gets what was queued for it, and a full queue drops (and counts) the oldest.
#include "nodes/common/peer_links.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "common/resp/resp.h"
#include "nodes/common/resp_server.h"

namespace fl::nodes {
namespace {

using namespace std::chrono_literals;

// A RespServer on its own thread.
class Node {
 public:
  explicit Node(uint16_t port = 0, PeerLinkOptions link_options = {}) {
    table_.add("msg", 2, [this](CommandContext& c) {
      std::lock_guard lock(mu_);
      got_.emplace_back(c.argv[1]);
      c.out.simple("OK");
    });
    ServerOptions o;
    o.port = port;
    o.handle_signals = false;
    server_ = std::make_unique<RespServer>(o, table_, stats_);
    links_ = std::make_unique<PeerLinks>(*server_, link_options);
  }
  ~Node() { stop(); }
  bool listen() {
    auto p = server_->listen();
    if (p) port_ = *p;
    return bool(p);
  }
  void start() {
    thread_ = std::thread([this] { server_->run(); });
  }
  void stop() {
    if (thread_.joinable()) {
      server_->post_stop();
      thread_.join();
    }
  }
  // Runs `f` on the server thread and waits for it.
  template <typename F>
  auto on_thread(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    boost::asio::post(server_->io(), [&task] { task(); });
    return fut.get();
  }
  std::vector<std::string> got() {
    std::lock_guard lock(mu_);
    return got_;
  }
  PeerLinks& links() { return *links_; }
  uint16_t port() const { return port_; }

 private:
  CommandTable table_;
  ServerStats stats_;
  std::unique_ptr<RespServer> server_;
  std::unique_ptr<PeerLinks> links_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<std::string> got_;
};

template <typename F>
bool eventually(F cond) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST(PeerLinks, DeliversInOrderAndReadsRepliesBack) {
  Node a, b;
  ASSERT_TRUE(a.listen());
  ASSERT_TRUE(b.listen());
  a.start();
  b.start();
  a.on_thread([&] {
    a.links().add_peer("b", "127.0.0.1", b.port());
    for (int i = 0; i < 1000; ++i) a.links().send("b", {"MSG", std::to_string(i)});
    return 0;
  });
  ASSERT_TRUE(eventually([&] { return b.got().size() == 1000; }));
  const auto got = b.got();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(got[i], std::to_string(i));
  ASSERT_TRUE(eventually([&] {
    auto s = a.on_thread([&] { return a.links().stats(); });
    return s.size() == 1 && s[0].reply_bytes == 1000 * 5 && s[0].sent == 1000;
  }));
  EXPECT_FALSE(a.on_thread([&] { return a.links().send("nobody", {"MSG", "x"}); }));
}

TEST(PeerLinks, PeerStartingLateGetsQueuedMessagesAndAFullQueueDropsTheOldest) {
  // A port nobody listens on: bound once, then released.
  uint16_t port = 0;
  {
    auto probe = std::make_unique<Node>();
    ASSERT_TRUE(probe->listen());
    port = probe->port();
  }
  PeerLinkOptions o;
  o.max_queue = 10;
  Node a(0, o);
  ASSERT_TRUE(a.listen());
  a.start();
  a.on_thread([&] {
    a.links().add_peer("b", "127.0.0.1", port);
    for (int i = 0; i < 15; ++i) a.links().send("b", {"MSG", std::to_string(i)});
    return 0;
  });
  auto s = a.on_thread([&] { return a.links().stats(); });
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].dropped, 5u);
  EXPECT_EQ(s[0].queued, 10u);
  EXPECT_FALSE(s[0].connected);

  Node b(port);
  ASSERT_TRUE(b.listen()) << "port " << port << " was taken meanwhile";
  b.start();
  ASSERT_TRUE(eventually([&] { return b.got().size() == 10; }));
  const auto got = b.got();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], std::to_string(i + 5));
}

}  // namespace
}  // namespace fl::nodes
