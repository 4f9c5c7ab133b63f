#include "chaos/link_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "tests/support/test_socket.h"

namespace fl::chaos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using plan::Direction;
using plan::Toxic;

// Generous: these only bound how long a test waits for something that should happen.
constexpr auto kDeadline = 10s;

int poll_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// An echo server on 127.0.0.1:<ephemeral>: every byte read is written back; a close read is
// answered with a close. One thread per connection.
class EchoServer {
 public:
  EchoServer() {
    fd_ = test::listen_loopback(64, port_);
    acceptor_ = std::thread([this] { serve(); });
  }
  ~EchoServer() {
    stop_ = true;
    acceptor_.join();
    std::lock_guard lock(mu_);
    for (auto& t : conns_) t.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void serve() {
    while (!stop_) {
      const int c = test::accept_within(fd_, 20);
      if (c < 0) continue;
      ++accepted_;
      std::lock_guard lock(mu_);
      conns_.emplace_back([this, c] { echo(c); });
    }
  }
  void echo(int c) {
    std::vector<char> buf(1 << 16);
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::recv(c, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n && !stop_;) {
        pollfd w{c, POLLOUT, 0};
        if (::poll(&w, 1, 20) <= 0) continue;
        const ssize_t m =
            ::send(c, buf.data() + off, static_cast<size_t>(n - off), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (m < 0 && errno != EAGAIN) return (void)::close(c);
        if (m > 0) off += m;
      }
    }
    ::close(c);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::list<std::thread> conns_;
};

// A blocking client socket. connect_to returns -errno on failure.
int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int e = errno;
    ::close(fd);
    return -e;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

struct Client {
  explicit Client(uint16_t port) : fd(connect_to(port)) {}
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool send(std::string_view s) const {
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Reads until `n` bytes came, the peer closed or failed, or `deadline`. `error` gets errno of
  // a failed read, or -1 for a close (EOF).
  std::string read(size_t n, Clock::time_point deadline, int* error = nullptr) const {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, poll_ms(deadline)) <= 0) break;
      const ssize_t m = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
      if (m <= 0) {
        if (error) *error = m == 0 ? -1 : errno;
        break;
      }
      out.append(buf, static_cast<size_t>(m));
    }
    return out;
  }
  // Waits for the peer to close or reset; returns -1 for a close, errno for a reset, 0 when
  // neither happened by `deadline` (bytes that arrive meanwhile are discarded).
  int wait_closed(Clock::time_point deadline) const {
    int error = 0;
    while (Clock::now() < deadline && error == 0) read(1 << 20, deadline, &error);
    return error;
  }
  // True when nothing (no byte, no close) arrives for `quiet`.
  bool quiet_for(std::chrono::milliseconds quiet) const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(quiet.count())) == 0;
  }

  int fd;
};

// Waits for `cond` with a generous deadline.
template <class F>
bool eventually(F cond) {
  const auto deadline = Clock::now() + kDeadline;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return cond();
}

Toxic make(Toxic::Kind kind) {
  Toxic t;
  t.kind = kind;
  return t;
}

class LinkProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = proxy_.add_link("a->b", {"127.0.0.1", echo_.port()});
    ASSERT_TRUE(l) << l.error().message;
    port_ = l->port;
    ASSERT_NE(port_, 0);
    ASSERT_NE(port_, echo_.port());
  }
  // One round trip through the proxy.
  void expect_echo(const Client& c, std::string_view msg) {
    ASSERT_TRUE(c.send(msg));
    EXPECT_EQ(c.read(msg.size(), Clock::now() + kDeadline), msg);
  }

  EchoServer echo_;
  LinkProxy proxy_{LinkProxy::Options{.threads = 2, .seed = 42}};
  uint16_t port_ = 0;
};

TEST_F(LinkProxyTest, LargePayloadPassesIntactBothWays) {
  std::string payload(8 << 20, '\0');
  Rng rng(1);
  for (auto& ch : payload) ch = static_cast<char>(rng.next());
  Client c(port_);
  ASSERT_GE(c.fd, 0);
  std::thread writer([&] { ASSERT_TRUE(c.send(payload)); });
  const std::string back = c.read(payload.size(), Clock::now() + 60s);
  writer.join();
  ASSERT_EQ(back.size(), payload.size());
  EXPECT_TRUE(back == payload);
  ASSERT_TRUE(eventually([&] {
    auto s = proxy_.stats("a->b");
    return s && s->bytes_up == payload.size() && s->bytes_down == payload.size();
  }));
  auto s = proxy_.stats("a->b");
  EXPECT_EQ(s->connections, 1u);
  EXPECT_EQ(s->open_connections, 1u);
  EXPECT_EQ(s->toxics, 0u);
}

TEST_F(LinkProxyTest, CloseIsPassedOnAndTheConnectionEnds) {
  Client c(port_);
  expect_echo(c, "hello");
  ::shutdown(c.fd, SHUT_WR);
  EXPECT_EQ(c.wait_closed(Clock::now() + kDeadline), -1);
  EXPECT_TRUE(eventually([&] { return proxy_.stats("a->b")->open_connections == 0; }));
}

TEST_F(LinkProxyTest, LatencyAddedToALiveConnectionDelaysIt) {
  Client c(port_);
  expect_echo(c, "before");
  Toxic t = make(Toxic::Kind::latency);
  t.latency = 150ms;
  auto id = proxy_.add_toxic("a->b", Direction::up, t);
  ASSERT_TRUE(id);
  EXPECT_EQ(proxy_.stats("a->b")->toxics, 1u);
  const auto start = Clock::now();
  expect_echo(c, "slow");
  EXPECT_GE(Clock::now() - start, 150ms);
  ASSERT_TRUE(proxy_.remove_toxic(*id));
  EXPECT_FALSE(proxy_.remove_toxic(*id));
  expect_echo(c, "after");
}

TEST_F(LinkProxyTest, LatencyBothWaysCountsTwicePerRoundTrip) {
  Toxic t = make(Toxic::Kind::latency);
  t.latency = 100ms;
  ASSERT_TRUE(proxy_.add_toxic("a->b", Direction::both, t));
  Client c(port_);
  const auto start = Clock::now();
  expect_echo(c, "x");
  EXPECT_GE(Clock::now() - start, 200ms);
}

TEST_F(LinkProxyTest, BandwidthLimitsTheRate) {
  Toxic t = make(Toxic::Kind::bandwidth);
  t.bytes_per_second = 1 << 20;
  ASSERT_TRUE(proxy_.add_toxic("a->b", Direction::down, t));
  Client c(port_);
  const std::string payload(512 << 10, 'z');
  const auto start = Clock::now();
  std::thread writer([&] { ASSERT_TRUE(c.send(payload)); });
  EXPECT_EQ(c.read(payload.size(), Clock::now() + kDeadline).size(), payload.size());
  writer.join();
  // 512 KiB at 1 MiB/s, less the 10 ms of burst credit.
  EXPECT_GE(Clock::now() - start, 480ms);
}

TEST_F(LinkProxyTest, BlackholeDropsBytesButKeepsTheConnection) {
  Client c(port_);
  expect_echo(c, "warm");
  auto id = proxy_.add_toxic("a->b", Direction::up, make(Toxic::Kind::blackhole));
  ASSERT_TRUE(id);
  ASSERT_TRUE(c.send("lost"));
  EXPECT_TRUE(c.quiet_for(300ms));  // no echo, and no close either
  ASSERT_TRUE(proxy_.remove_toxic(*id));
  expect_echo(c, "found");  // the same connection; "lost" is gone for good
  EXPECT_EQ(proxy_.stats("a->b")->open_connections, 1u);
}

TEST_F(LinkProxyTest, StallHoldsBytesUntilRemoved) {
  Toxic t = make(Toxic::Kind::stall);
  t.after = 0s;
  auto id = proxy_.add_toxic("a->b", Direction::up, t);
  ASSERT_TRUE(id);
  Client c(port_);
  ASSERT_TRUE(c.send("held"));
  EXPECT_TRUE(c.quiet_for(300ms));
  ASSERT_TRUE(proxy_.remove_toxic(*id));
  EXPECT_EQ(c.read(4, Clock::now() + kDeadline), "held");  // kept, not dropped
}

TEST_F(LinkProxyTest, StallStartsAfterItsTime) {
  Toxic t = make(Toxic::Kind::stall);
  t.after = 300ms;
  ASSERT_TRUE(proxy_.add_toxic("a->b", Direction::up, t));
  Client c(port_);
  const auto opened = Clock::now();
  expect_echo(c, "early");
  ASSERT_TRUE(eventually([&] { return Clock::now() - opened > 400ms; }));
  ASSERT_TRUE(c.send("late"));
  EXPECT_TRUE(c.quiet_for(300ms));
}

TEST_F(LinkProxyTest, ResetAfterItsTime) {
  Toxic t = make(Toxic::Kind::reset);
  t.after = 200ms;
  ASSERT_TRUE(proxy_.add_toxic("a->b", Direction::both, t));
  const auto start = Clock::now();
  Client c(port_);
  expect_echo(c, "alive");
  EXPECT_EQ(c.wait_closed(Clock::now() + kDeadline), ECONNRESET);
  EXPECT_GE(Clock::now() - start, 200ms);
}

TEST_F(LinkProxyTest, RefuseResetsExistingRefusesNewThenListensAgain) {
  Client old(port_);
  expect_echo(old, "one");
  auto id = proxy_.add_toxic("a->b", Direction::both, make(Toxic::Kind::refuse));
  ASSERT_TRUE(id);
  EXPECT_EQ(old.wait_closed(Clock::now() + kDeadline), ECONNRESET);
  EXPECT_EQ(connect_to(port_), -ECONNREFUSED);
  ASSERT_TRUE(proxy_.remove_toxic(*id));
  Client again(port_);  // the same port
  ASSERT_GE(again.fd, 0);
  expect_echo(again, "two");
}

TEST_F(LinkProxyTest, SlowCloseDelaysTheClose) {
  Toxic t = make(Toxic::Kind::slow_close);
  t.after = 300ms;
  ASSERT_TRUE(proxy_.add_toxic("a->b", Direction::up, t));
  Client c(port_);
  expect_echo(c, "bye");
  const auto start = Clock::now();
  ::shutdown(c.fd, SHUT_WR);
  EXPECT_EQ(c.wait_closed(Clock::now() + kDeadline), -1);
  EXPECT_GE(Clock::now() - start, 300ms);
}

TEST_F(LinkProxyTest, ToxicityZeroNeverApplies) {
  Client before(port_);  // live when the toxic comes
  expect_echo(before, "warm");
  Toxic t = make(Toxic::Kind::blackhole);
  t.toxicity = 0;
  ASSERT_TRUE(proxy_.add_toxic("a->b", Direction::both, t));
  expect_echo(before, "still");
  for (int i = 0; i < 20; ++i) {
    Client c(port_);
    expect_echo(c, "x" + std::to_string(i));
  }
}

TEST_F(LinkProxyTest, ToxicityHalfAppliesToSomeConnections) {
  Toxic t = make(Toxic::Kind::blackhole);
  t.toxicity = 0.5;
  ASSERT_TRUE(proxy_.add_toxic("a->b", Direction::up, t));
  int passed = 0;
  for (int i = 0; i < 16; ++i) {
    Client c(port_);
    ASSERT_TRUE(c.send("p"));
    passed += c.read(1, Clock::now() + 200ms) == "p";
  }
  EXPECT_GT(passed, 0);
  EXPECT_LT(passed, 16);
}

TEST_F(LinkProxyTest, ErrorsAndClose) {
  EXPECT_FALSE(proxy_.stats("nope"));
  EXPECT_FALSE(proxy_.add_toxic("nope", Direction::up, make(Toxic::Kind::latency)));
  EXPECT_FALSE(proxy_.add_toxic("a->b", Direction::up, make(Toxic::Kind::bandwidth)));
  EXPECT_FALSE(proxy_.add_link("a->b", {"127.0.0.1", echo_.port()}));
  Client c(port_);
  expect_echo(c, "x");
  proxy_.close();
  proxy_.close();
  EXPECT_NE(c.wait_closed(Clock::now() + kDeadline), 0);
  EXPECT_EQ(connect_to(port_), -ECONNREFUSED);
  EXPECT_FALSE(proxy_.add_link("c->d", {"127.0.0.1", echo_.port()}));
}

TEST(LinkProxy, UpstreamDownResetsTheClient) {
  LinkProxy proxy;
  // A port bound but not listening: connecting to it is refused.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto l = proxy.add_link("x->y", {"127.0.0.1", ntohs(a.sin_port)});
  ASSERT_TRUE(l);
  Client c(l->port);
  ASSERT_GE(c.fd, 0);
  EXPECT_EQ(c.wait_closed(Clock::now() + kDeadline), ECONNRESET);
  ::close(fd);
}

}  // namespace
}  // namespace fl::chaos
