// Upstream against real loopback peers: a RespServer on port 0 (answering, stalling), a peer
// that closes every connection, and a port nobody listens on. The Upstream runs on the test
// thread's io_context; the server on its own thread.
#include "nodes/common/upstream.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/resp/resp.h"
#include "nodes/common/resp_server.h"

namespace fl::nodes {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Status = UpstreamReply::Status;

class UpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // ECHO x; HANG: never answered; WHOAMI: the connection's CLIENT SETNAME name; CLIENT
    // SETNAME n; NESTED: a nested array; COUNT: commands seen by ECHO.
    table_.add("echo", 2, [this](CommandContext& c) {
      ++echoes_;
      c.out.bulk(c.argv[1]);
    });
    table_.add("hang", 1, [this](CommandContext& c) { hung_.push_back(c.defer()); });
    table_.add("whoami", 1, [](CommandContext& c) { c.out.bulk(c.session.name); });
    table_.add("client", -2, [](CommandContext& c) {
      if (c.argv.size() == 3 && iequals(c.argv[1], "setname")) {
        c.session.name = std::string(c.argv[2]);
        return c.out.simple("OK");
      }
      c.out.error("ERR unsupported");
    });
    table_.add("nested", 1, [](CommandContext& c) {
      c.out.array_header(3);
      c.out.integer(1);
      c.out.array_header(2);
      c.out.null();
      c.out.bulk("x");
      c.out.error("ERR inside");
    });
  }
  void TearDown() override {
    upstream_.reset();
    if (server_) server_->post_stop();
    if (thread_.joinable()) thread_.join();
  }
  void start_server(bool pipelined = true) {
    ServerOptions o;
    o.port = 0;
    o.handle_signals = false;
    o.pipeline_deferred = pipelined;
    server_ = std::make_unique<RespServer>(o, table_, stats_);
    auto port = server_->listen();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { server_->run(); });
  }
  Upstream& make(uint16_t port, UpstreamOptions o = {}) {
    o.backoff_min = 5ms;
    o.backoff_max = 20ms;
    upstream_ = std::make_unique<Upstream>(io_, "127.0.0.1", port, o);
    return *upstream_;
  }
  // Runs the test thread's io_context until `cond` holds (at most 20 s).
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
  // Calls and waits for the end.
  UpstreamReply call_sync(Upstream& u, std::initializer_list<std::string_view> argv,
                          std::optional<Duration> timeout = {}) {
    std::optional<UpstreamReply> got;
    u.call(
        argv, [&](UpstreamReply&& r) { got = std::move(r); }, timeout);
    EXPECT_TRUE(run_until([&] { return got.has_value(); }));
    return got.value_or(UpstreamReply{});
  }

  CommandTable table_;
  ServerStats stats_;
  std::vector<DeferredReply> hung_;  // server thread only
  int64_t echoes_ = 0;               // server thread only; read after it quiesces
  std::unique_ptr<RespServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  asio::io_context io_;
  std::unique_ptr<Upstream> upstream_;
};

TEST_F(UpstreamTest, PipelinedCallsGetTheirOwnRepliesInOrder) {
  start_server();
  UpstreamOptions o;
  o.connections = 2;
  Upstream& u = make(port_, o);
  constexpr int kCalls = 2000;
  std::vector<std::string> got(kCalls);
  std::vector<int> order;
  int done = 0;
  for (int i = 0; i < kCalls; ++i) {
    const std::string arg = std::to_string(i);
    u.call({"ECHO", arg}, [&, i](UpstreamReply&& r) {
      ++done;
      order.push_back(i);
      got[i] = r.ok() ? r.value().str : std::string(to_string(r.status)) + ": " + r.error;
    });
  }
  EXPECT_EQ(done, 0);  // never inside call()
  EXPECT_EQ(u.in_flight(), static_cast<size_t>(kCalls));
  ASSERT_TRUE(run_until([&] { return done == kCalls; }));
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(got[i], std::to_string(i));
  // Each connection answers in order; calls alternate between the two.
  for (size_t k = 2; k < order.size(); ++k) {
    if (order[k] % 2 == order[k - 2] % 2) {
      ASSERT_LT(order[k - 2], order[k]);
    }
  }
  EXPECT_EQ(u.stats().connects, 2u);
  EXPECT_EQ(u.stats().calls, static_cast<uint64_t>(kCalls));
  EXPECT_EQ(u.stats().replies, static_cast<uint64_t>(kCalls));
  EXPECT_EQ(u.in_flight(), 0u);
  EXPECT_TRUE(u.connected());
  EXPECT_EQ(u.address(), "127.0.0.1:" + std::to_string(port_));
}

TEST_F(UpstreamTest, ReplyBytesAreExactlyOneValueAsSent) {
  start_server();
  Upstream& u = make(port_);
  std::vector<std::string> bytes;
  for (auto argv : {std::vector<std::string_view>{"NESTED"}, {"ECHO", "e"}, {"NOPE"}}) {
    u.call(argv, [&](UpstreamReply&& r) { bytes.push_back(r.ok() ? r.bytes : "failed"); });
  }
  ASSERT_TRUE(run_until([&] { return bytes.size() == 3; }));
  EXPECT_EQ(bytes[0], "*3\r\n:1\r\n*2\r\n$-1\r\n$1\r\nx\r\n-ERR inside\r\n");
  EXPECT_EQ(bytes[1], "$1\r\ne\r\n");
  EXPECT_EQ(bytes[2].substr(0, 20), "-ERR unknown command");
  std::string encoded;
  resp::Writer(encoded).command({"ECHO", "pre-encoded"});
  std::optional<UpstreamReply> got;
  u.call_encoded(encoded, [&](UpstreamReply&& r) { got = std::move(r); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  EXPECT_EQ(got->value(), resp::Value::bulk("pre-encoded"));
}

TEST_F(UpstreamTest, ClientNameIsSetBeforeTheFirstCall) {
  start_server();
  UpstreamOptions o;
  o.client_name = "cache-7";
  Upstream& u = make(port_, o);
  EXPECT_EQ(call_sync(u, {"WHOAMI"}).value(), resp::Value::bulk("cache-7"));
  EXPECT_EQ(u.stats().calls, 1u);
}

TEST_F(UpstreamTest, TimeoutClosesTheConnectionAndItsOtherCallsAreLost) {
  start_server();
  Upstream& u = make(port_);
  ASSERT_TRUE(call_sync(u, {"ECHO", "warm"}).ok());
  std::optional<UpstreamReply> hang, behind;
  u.call(
      {"HANG"}, [&](UpstreamReply&& r) { hang = std::move(r); }, 100ms);
  // Queued behind HANG on the same connection (the server answers in order), longer deadline.
  u.call(
      {"ECHO", "behind"}, [&](UpstreamReply&& r) { behind = std::move(r); }, 20s);
  ASSERT_TRUE(run_until([&] { return hang && behind; }));
  EXPECT_EQ(hang->status, Status::timeout);
  EXPECT_EQ(behind->status, Status::lost) << behind->error;
  EXPECT_EQ(u.stats().timeouts, 1u);
  EXPECT_EQ(u.stats().lost, 1u);
  // It reconnects: a later call gets through once the connection is back.
  ASSERT_TRUE(run_until([&] { return u.connected(); }));
  EXPECT_EQ(call_sync(u, {"ECHO", "again"}).value(), resp::Value::bulk("again"));
  EXPECT_EQ(u.stats().connects, 2u);
}

TEST_F(UpstreamTest, TooManyInFlightEndsNotSent) {
  start_server();
  UpstreamOptions o;
  o.max_in_flight = 2;
  Upstream& u = make(port_, o);
  std::vector<Status> ends;
  for (int i = 0; i < 3; ++i) {
    u.call(
        {"HANG"}, [&](UpstreamReply&& r) { ends.push_back(r.status); }, 20s);
  }
  ASSERT_TRUE(run_until([&] { return ends.size() == 1; }));
  EXPECT_EQ(ends[0], Status::not_sent);
  EXPECT_EQ(u.in_flight(), 2u);
  u.close();
  // Written calls end lost when the upstream closes; closing runs their callbacks at once.
  ASSERT_EQ(ends.size(), 3u);
  EXPECT_EQ(u.in_flight(), 0u);
}

TEST_F(UpstreamTest, PeerClosingTheConnectionLosesWrittenCalls) {
  // A peer that reads a little and then closes every connection.
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  std::vector<std::shared_ptr<tcp::socket>> accepted;
  std::function<void()> accept_next = [&] {
    acceptor.async_accept([&](const boost::system::error_code& ec, tcp::socket s) {
      if (ec) return;
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      accepted.push_back(sock);
      auto buf = std::make_shared<std::array<char, 64>>();
      sock->async_read_some(asio::buffer(*buf),
                            [sock, buf](const boost::system::error_code&, size_t) {
                              boost::system::error_code ignored;
                              sock->close(ignored);
                            });
      accept_next();
    });
  };
  accept_next();
  Upstream& u = make(port);
  const UpstreamReply r = call_sync(u, {"ECHO", "x"}, 20s);
  EXPECT_EQ(r.status, Status::lost) << r.error;
  EXPECT_EQ(u.stats().lost, 1u);
  EXPECT_GE(u.stats().connects, 1u);
}

TEST_F(UpstreamTest, NobodyListeningEndsNotSentAtOnce) {
  uint16_t port = 0;
  {
    tcp::acceptor probe(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  Upstream& u = make(port);
  // The first call waits for the first connect attempt, which is refused.
  EXPECT_EQ(call_sync(u, {"ECHO", "x"}).status, Status::not_sent);
  EXPECT_GE(u.stats().connect_failures, 1u);
  EXPECT_FALSE(u.connected());
  // Later calls do not wait for the reconnects.
  std::optional<UpstreamReply> got;
  u.call({"ECHO", "y"}, [&](UpstreamReply&& r) { got = std::move(r); });
  EXPECT_FALSE(got.has_value());
  io_.restart();
  io_.poll();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, Status::not_sent);
  EXPECT_EQ(u.stats().not_sent, 2u);
}

TEST_F(UpstreamTest, AfterCloseCallsEndNotSent) {
  start_server();
  Upstream& u = make(port_);
  ASSERT_TRUE(call_sync(u, {"ECHO", "x"}).ok());
  u.close();
  EXPECT_FALSE(u.connected());
  EXPECT_EQ(call_sync(u, {"ECHO", "y"}).status, Status::not_sent);
}

TEST_F(UpstreamTest, ServerRestartIsReconnected) {
  start_server();
  Upstream& u = make(port_);
  ASSERT_TRUE(call_sync(u, {"ECHO", "before"}).ok());
  server_->post_stop();
  thread_.join();
  server_.reset();
  ASSERT_TRUE(run_until([&] { return !u.connected(); }));
  EXPECT_EQ(call_sync(u, {"ECHO", "down"}).status, Status::not_sent);
  // The same port again.
  ServerOptions o;
  o.port = port_;
  o.handle_signals = false;
  o.pipeline_deferred = true;
  server_ = std::make_unique<RespServer>(o, table_, stats_);
  ASSERT_TRUE(server_->listen());
  thread_ = std::thread([this] { server_->run(); });
  ASSERT_TRUE(run_until([&] { return u.connected(); }));
  EXPECT_EQ(call_sync(u, {"ECHO", "after"}).value(), resp::Value::bulk("after"));
}

}  // namespace
}  // namespace fl::nodes
