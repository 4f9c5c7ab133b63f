// RespServer with deferred replies, over real loopback sockets: replies stay in order with
// pipelining (holding and pipelined modes), a reply completed after its connection closed is
// dropped harmlessly, pushes queue behind replies, and max_pending bounds a connection.
#include "nodes/common/resp_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "common/resp/resp.h"

namespace fl::nodes {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A blocking RESP client for the test thread.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send(std::initializer_list<std::string_view> argv) {
    std::string buf;
    resp::Writer(buf).command(argv);
    asio::write(socket_, asio::buffer(buf));
  }
  // Sends several commands in one write (a pipeline).
  void send_pipeline(const std::vector<std::vector<std::string_view>>& cmds) {
    std::string buf;
    resp::Writer w(buf);
    for (const auto& c : cmds) w.command(std::span<const std::string_view>(c));
    asio::write(socket_, asio::buffer(buf));
  }
  resp::Value read() {
    resp::Value v;
    while (parser_.next(v) != resp::Status::ok) {
      char buf[4096];
      const size_t n = socket_.read_some(asio::buffer(buf));
      parser_.feed(std::string_view(buf, n));
    }
    return v;
  }
  resp::Value call(std::initializer_list<std::string_view> argv) {
    send(argv);
    return read();
  }
  void close() { socket_.close(); }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  resp::Parser parser_;
};

class DeferredReplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // DEFER name: defers its reply under `name`. RELEASE name value: completes it with a bulk
    // string. ECHO x: counts and echoes. COUNT: how many ECHOs ran. NOW x: defers and completes
    // at once.
    table_.add("defer", 2,
               [this](CommandContext& c) { held_[std::string(c.argv[1])] = c.defer(); });
    table_.add("release", 3, [this](CommandContext& c) {
      auto it = held_.find(std::string(c.argv[1]));
      if (it == held_.end()) return c.out.error("ERR nothing held");
      std::string reply;
      resp::Writer(reply).bulk(c.argv[2]);
      it->second.complete(std::move(reply));
      held_.erase(it);
      c.out.simple("OK");
    });
    table_.add("held", 2, [this](CommandContext& c) {
      c.out.integer(held_.count(std::string(c.argv[1])) ? 1 : 0);
    });
    table_.add("echo", 2, [this](CommandContext& c) {
      ++echoes_;
      c.out.bulk(c.argv[1]);
    });
    table_.add("count", 1, [this](CommandContext& c) { c.out.integer(echoes_); });
    table_.add("now", 2, [](CommandContext& c) {
      auto h = c.defer();
      std::string reply;
      resp::Writer(reply).bulk(c.argv[1]);
      h.complete(std::move(reply));
    });
    // SUB: remembers this connection's push channel. PUB msg: pushes msg (a bulk string) to it
    // and answers 1 if it was queued, 0 if dropped.
    table_.add("sub", 1, [this](CommandContext& c) {
      channel_ = c.push_channel();
      c.out.simple("OK");
    });
    table_.add("pub", 2, [this](CommandContext& c) {
      std::string msg;
      resp::Writer(msg).bulk(c.argv[1]);
      c.out.integer(channel_.push(std::move(msg)) ? 1 : 0);
    });
    table_.add("clients", 1, [this](CommandContext& c) {
      c.out.integer(static_cast<int64_t>(stats_.connected_clients));
    });
  }
  void start(ServerOptions o = {}) {
    o.port = 0;
    o.handle_signals = false;
    server_ = std::make_unique<RespServer>(o, table_, stats_);
    auto port = server_->listen();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->post_stop();
    if (thread_.joinable()) thread_.join();
  }
  // Polls `cond` over `c` until it holds, for at most 20 s.
  template <typename F>
  bool eventually(F cond) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  CommandTable table_;
  ServerStats stats_;
  std::map<std::string, DeferredReply> held_;  // touched only on the server thread
  PushChannel channel_;                        // likewise
  int64_t echoes_ = 0;
  std::unique_ptr<RespServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(DeferredReplyTest, PipelinedRepliesStayInOrderBehindADeferredOne) {
  start();
  Client a(port_), b(port_);
  a.send_pipeline({{"ECHO", "first"}, {"DEFER", "w"}, {"ECHO", "after"}, {"NOW", "sync"}});
  ASSERT_TRUE(eventually([&] { return b.call({"HELD", "w"}).integer == 1; }));
  // The command after the deferred one has not run: the connection waits.
  EXPECT_EQ(b.call({"COUNT"}).integer, 1);
  EXPECT_EQ(b.call({"RELEASE", "w", "late"}), resp::Value::simple("OK"));
  EXPECT_EQ(a.read(), resp::Value::bulk("first"));
  EXPECT_EQ(a.read(), resp::Value::bulk("late"));
  EXPECT_EQ(a.read(), resp::Value::bulk("after"));
  EXPECT_EQ(a.read(), resp::Value::bulk("sync"));
  EXPECT_EQ(b.call({"COUNT"}).integer, 2);
  // The connection keeps serving afterwards.
  EXPECT_EQ(a.call({"ECHO", "again"}), resp::Value::bulk("again"));
}

TEST_F(DeferredReplyTest, ReplyCompletedAtOnceIsAnsweredInline) {
  start();
  Client a(port_);
  a.send_pipeline({{"NOW", "1"}, {"NOW", "2"}, {"ECHO", "3"}});
  EXPECT_EQ(a.read(), resp::Value::bulk("1"));
  EXPECT_EQ(a.read(), resp::Value::bulk("2"));
  EXPECT_EQ(a.read(), resp::Value::bulk("3"));
}

TEST_F(DeferredReplyTest, CompletionAfterTheConnectionClosedIsANoOp) {
  ServerOptions o;
  o.idle_timeout = 300ms;
  start(o);
  Client b(port_);
  {
    Client a(port_);
    a.send({"DEFER", "gone"});
    ASSERT_TRUE(eventually([&] { return b.call({"HELD", "gone"}).integer == 1; }));
  }
  // The idle watchdog closes the waiting connection (b stays active by polling).
  ASSERT_TRUE(eventually([&] { return b.call({"CLIENTS"}).integer == 1; }));
  EXPECT_EQ(b.call({"RELEASE", "gone", "nobody"}), resp::Value::simple("OK"));
  EXPECT_EQ(b.call({"ECHO", "alive"}), resp::Value::bulk("alive"));
}

TEST_F(DeferredReplyTest, StopWhileAReplyIsPendingReturns) {
  start();
  Client a(port_), b(port_);
  a.send({"DEFER", "never"});
  ASSERT_TRUE(eventually([&] { return b.call({"HELD", "never"}).integer == 1; }));
  server_->post_stop();
  thread_.join();
  // Completing after the server stopped touches nothing that is gone.
  held_.at("never").complete("+late\r\n");
  EXPECT_TRUE(held_.at("never").finished());
}

// FAULTLINE_TEST_DELAY's effect: each reply is written no sooner than reply_delay after its
// command was sent, in both modes; only a lower bound is asserted.
TEST_F(DeferredReplyTest, ReplyDelayHoldsEveryReplyBack) {
  for (bool pipeline : {false, true}) {
    SCOPED_TRACE(pipeline ? "pipelined" : "holding");
    ServerOptions o;
    o.pipeline_deferred = pipeline;
    o.reply_delay = 150ms;
    start(o);
    Client a(port_), b(port_);
    for (int i = 0; i < 2; ++i) {
      const auto sent = std::chrono::steady_clock::now();
      EXPECT_EQ(a.call({"ECHO", "slow"}), resp::Value::bulk("slow"));
      EXPECT_GE(std::chrono::steady_clock::now() - sent, 150ms);
    }
    // A second connection is served too (its own timer).
    const auto sent = std::chrono::steady_clock::now();
    EXPECT_EQ(b.call({"ECHO", "b"}), resp::Value::bulk("b"));
    EXPECT_GE(std::chrono::steady_clock::now() - sent, 150ms);
    server_->post_stop();
    thread_.join();
    server_.reset();
  }
}

ServerOptions pipelined(size_t max_pending = 1024) {
  ServerOptions o;
  o.pipeline_deferred = true;
  o.max_pending = max_pending;
  return o;
}

TEST_F(DeferredReplyTest, HoldingModeGivesNoPushChannel) {
  start();
  Client a(port_), b(port_);
  EXPECT_EQ(a.call({"SUB"}), resp::Value::simple("OK"));
  EXPECT_EQ(b.call({"PUB", "m"}).integer, 0);
}

TEST_F(DeferredReplyTest, PipelinedModeDispatchesPastDeferredRepliesAndKeepsOrder) {
  start(pipelined());
  Client a(port_), b(port_);
  a.send_pipeline({{"ECHO", "first"},
                   {"DEFER", "x"},
                   {"DEFER", "y"},
                   {"ECHO", "middle"},
                   {"NOW", "sync"},
                   {"DEFER", "z"},
                   {"ECHO", "last"}});
  // Every command ran although x, y and z are pending.
  ASSERT_TRUE(eventually([&] { return b.call({"COUNT"}).integer == 3; }));
  EXPECT_EQ(b.call({"HELD", "z"}).integer, 1);
  EXPECT_EQ(a.read(), resp::Value::bulk("first"));
  // Completed out of order: z, then y, then x.
  EXPECT_EQ(b.call({"RELEASE", "z", "Z"}), resp::Value::simple("OK"));
  EXPECT_EQ(b.call({"RELEASE", "y", "Y"}), resp::Value::simple("OK"));
  EXPECT_EQ(b.call({"RELEASE", "x", "X"}), resp::Value::simple("OK"));
  EXPECT_EQ(a.read(), resp::Value::bulk("X"));
  EXPECT_EQ(a.read(), resp::Value::bulk("Y"));
  EXPECT_EQ(a.read(), resp::Value::bulk("middle"));
  EXPECT_EQ(a.read(), resp::Value::bulk("sync"));
  EXPECT_EQ(a.read(), resp::Value::bulk("Z"));
  EXPECT_EQ(a.read(), resp::Value::bulk("last"));
  EXPECT_EQ(a.call({"ECHO", "again"}), resp::Value::bulk("again"));
}

TEST_F(DeferredReplyTest, PipelinedModeLetsALaterCommandCompleteAnEarlierOne) {
  start(pipelined());
  Client a(port_);
  // RELEASE runs on the same connection while the DEFER before it is pending.
  a.send_pipeline({{"DEFER", "self"}, {"RELEASE", "self", "done"}, {"ECHO", "e"}});
  EXPECT_EQ(a.read(), resp::Value::bulk("done"));
  EXPECT_EQ(a.read(), resp::Value::simple("OK"));
  EXPECT_EQ(a.read(), resp::Value::bulk("e"));
}

TEST_F(DeferredReplyTest, PushQueuesBehindRepliesAlreadyQueued) {
  start(pipelined());
  Client a(port_), b(port_);
  a.send_pipeline({{"SUB"}, {"DEFER", "w"}});
  ASSERT_TRUE(eventually([&] { return b.call({"HELD", "w"}).integer == 1; }));
  EXPECT_EQ(b.call({"PUB", "m1"}).integer, 1);
  EXPECT_EQ(b.call({"RELEASE", "w", "reply"}), resp::Value::simple("OK"));
  EXPECT_EQ(b.call({"PUB", "m2"}).integer, 1);
  EXPECT_EQ(a.read(), resp::Value::simple("OK"));
  EXPECT_EQ(a.read(), resp::Value::bulk("reply"));
  EXPECT_EQ(a.read(), resp::Value::bulk("m1"));
  EXPECT_EQ(a.read(), resp::Value::bulk("m2"));
  // A reply after the pushes comes after them.
  EXPECT_EQ(a.call({"ECHO", "e"}), resp::Value::bulk("e"));
}

TEST_F(DeferredReplyTest, PushAfterCloseReturnsFalseAndPendingRepliesAreAbandoned) {
  start(pipelined());
  Client b(port_);
  {
    Client a(port_);
    a.send_pipeline({{"SUB"}, {"DEFER", "gone"}});
    ASSERT_TRUE(eventually([&] { return b.call({"HELD", "gone"}).integer == 1; }));
    EXPECT_EQ(b.call({"PUB", "while-open"}).integer, 1);
  }
  ASSERT_TRUE(eventually([&] { return b.call({"CLIENTS"}).integer == 1; }));
  EXPECT_EQ(b.call({"PUB", "after-close"}).integer, 0);
  EXPECT_EQ(b.call({"RELEASE", "gone", "nobody"}), resp::Value::simple("OK"));
  EXPECT_EQ(b.call({"ECHO", "alive"}), resp::Value::bulk("alive"));
}

TEST_F(DeferredReplyTest, MaxPendingPausesReading) {
  start(pipelined(2));
  Client a(port_), b(port_);
  a.send_pipeline({{"DEFER", "p1"}, {"DEFER", "p2"}, {"ECHO", "x"}, {"DEFER", "p3"}});
  ASSERT_TRUE(eventually([&] { return b.call({"HELD", "p2"}).integer == 1; }));
  // Two replies are outstanding: the ECHO behind them waits unparsed.
  EXPECT_EQ(b.call({"COUNT"}).integer, 0);
  EXPECT_EQ(b.call({"HELD", "p3"}).integer, 0);
  EXPECT_EQ(b.call({"RELEASE", "p1", "one"}), resp::Value::simple("OK"));
  EXPECT_EQ(a.read(), resp::Value::bulk("one"));
  ASSERT_TRUE(eventually([&] { return b.call({"HELD", "p3"}).integer == 1; }));
  EXPECT_EQ(b.call({"COUNT"}).integer, 1);
  EXPECT_EQ(b.call({"RELEASE", "p3", "three"}), resp::Value::simple("OK"));
  EXPECT_EQ(b.call({"RELEASE", "p2", "two"}), resp::Value::simple("OK"));
  EXPECT_EQ(a.read(), resp::Value::bulk("two"));
  EXPECT_EQ(a.read(), resp::Value::bulk("x"));
  EXPECT_EQ(a.read(), resp::Value::bulk("three"));
}

TEST_F(DeferredReplyTest, PipelinedQuitWritesQueuedRepliesThenCloses) {
  table_.add("quit", 1, [](CommandContext& c) {
    c.session.after = AfterReply::close;
    c.out.simple("OK");
  });
  start(pipelined());
  Client a(port_), b(port_);
  a.send_pipeline({{"DEFER", "q"}, {"QUIT"}, {"ECHO", "never"}});
  ASSERT_TRUE(eventually([&] { return b.call({"HELD", "q"}).integer == 1; }));
  EXPECT_EQ(b.call({"RELEASE", "q", "before-quit"}), resp::Value::simple("OK"));
  EXPECT_EQ(a.read(), resp::Value::bulk("before-quit"));
  EXPECT_EQ(a.read(), resp::Value::simple("OK"));
  ASSERT_TRUE(eventually([&] { return b.call({"CLIENTS"}).integer == 1; }));
  EXPECT_EQ(b.call({"COUNT"}).integer, 0);
}

TEST_F(DeferredReplyTest, PipelinedRepliesCompletedByTimersInRandomOrderStayInOrder) {
  // LATER us value: answers `value` after `us` microseconds, from a timer on the server's thread.
  table_.add("later", 3, [this](CommandContext& c) {
    auto timer = std::make_shared<asio::steady_timer>(
        server_->io(), std::chrono::microseconds(std::stoi(std::string(c.argv[1]))));
    std::string reply;
    resp::Writer(reply).bulk(c.argv[2]);
    timer->async_wait([timer, h = c.defer(), reply](const boost::system::error_code&) mutable {
      h.complete(std::move(reply));
    });
  });
  start(pipelined(8));
  Client a(port_);
  std::mt19937 rng(7);
  std::vector<std::string> args;
  std::vector<std::vector<std::string_view>> cmds;
  constexpr int kCommands = 3000;
  args.reserve(2 * kCommands);
  for (int i = 0; i < kCommands; ++i) {
    args.push_back(std::to_string(rng() % 3000));
    args.push_back("v" + std::to_string(i));
  }
  for (int i = 0; i < kCommands; ++i) {
    if (rng() % 3 == 0) {
      cmds.push_back({"ECHO", args[2 * i + 1]});
    } else {
      cmds.push_back({"LATER", args[2 * i], args[2 * i + 1]});
    }
  }
  a.send_pipeline(cmds);
  for (int i = 0; i < kCommands; ++i) {
    ASSERT_EQ(a.read(), resp::Value::bulk("v" + std::to_string(i))) << i;
  }
}

TEST_F(DeferredReplyTest, PipelinedStopWhileRepliesArePendingReturns) {
  start(pipelined());
  Client a(port_), b(port_);
  a.send_pipeline({{"DEFER", "never"}, {"ECHO", "queued"}});
  ASSERT_TRUE(eventually([&] { return b.call({"COUNT"}).integer == 1; }));
  server_->post_stop();
  thread_.join();
  held_.at("never").complete("+late\r\n");
  EXPECT_TRUE(held_.at("never").finished());
}

}  // namespace
}  // namespace fl::nodes
