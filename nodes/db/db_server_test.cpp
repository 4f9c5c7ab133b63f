// Integration test: runs the real faultline-db binary on port 0 and talks RESP over raw
// sockets. Every wait is bounded by a generous deadline; the child is always killed in teardown.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/resp/resp.h"

namespace {

using namespace std::chrono_literals;
using fl::resp::Status;
using fl::resp::Type;
using fl::resp::Value;
using Clock = std::chrono::steady_clock;

constexpr auto kDeadline = 20s;

// A faultline-db child process with its stdout on a pipe.
class DbProcess {
 public:
  explicit DbProcess(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {std::string(FL_BIN_DIR) + "/faultline-db",
                                     "--port",
                                     "0",
                                     "--id",
                                     "it",
                                     "--log-level",
                                     "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
  }

  ~DbProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  // Reads stdout until the ready line and returns the port from it, or 0.
  uint16_t wait_ready() {
    std::string line;
    const auto deadline = Clock::now() + kDeadline;
    while (Clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      if (::read(out_fd_, &c, 1) != 1) return 0;
      if (c != '\n') {
        line += c;
        continue;
      }
      ready_line_ = line;
      const auto colon = line.rfind(':');
      if (line.rfind("faultline-db it ready on 127.0.0.1:", 0) != 0 || colon == std::string::npos)
        return 0;
      return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
    }
    return 0;
  }

  // Waits for the child to exit; returns its exit code, or nullopt on timeout or a signal.
  std::optional<int> wait_exit() {
    const auto deadline = Clock::now() + kDeadline;
    while (Clock::now() < deadline) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return std::nullopt;
      }
      std::this_thread::sleep_for(5ms);  // polling interval, not a wait for a condition
    }
    return std::nullopt;
  }

  pid_t pid() const { return pid_; }
  const std::string& ready_line() const { return ready_line_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false;
  std::string ready_line_;
};

// A blocking RESP client over a raw socket, with receive timeouts.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool connected() const { return connected_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  bool send_command(std::initializer_list<std::string_view> argv) {
    std::string out;
    fl::resp::Writer(out).command(argv);
    return send(out);
  }

  // The next reply; Type::null with `eof` set when the connection closed or timed out.
  Value read() {
    Value v;
    for (;;) {
      const Status st = parser_.next(v);
      if (st == Status::ok) return v;
      if (st == Status::error) {
        ADD_FAILURE() << "client parse error: " << parser_.error();
        eof_ = true;
        return {};
      }
      char buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        return {};
      }
      parser_.feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }

  Value call(std::initializer_list<std::string_view> argv) {
    send_command(argv);
    return read();
  }

  // True when the server closes the connection (recv returns 0) before the timeout.
  bool closed_by_peer() {
    char buf[256];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

  bool eof() const { return eof_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  fl::resp::Parser parser_;
};

class DbServerTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    db_.emplace(std::move(extra));
    port_ = db_->wait_ready();
    ASSERT_NE(port_, 0) << "no ready line; got '" << db_->ready_line() << "'";
  }
  void SetUp() override { start(); }

  std::optional<DbProcess> db_;
  uint16_t port_ = 0;
};

TEST_F(DbServerTest, AnswersPingAndReadyLineNamesPort) {
  RawClient c(port_);
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.call({"PING"}), Value::simple("PONG"));
  EXPECT_EQ(c.call({"SET", "a", "1"}), Value::simple("OK"));
  EXPECT_EQ(c.call({"GET", "a"}), Value::bulk("1"));
}

TEST_F(DbServerTest, PipelineOfThousandCommandsInOneWrite) {
  RawClient c(port_);
  std::string batch;
  fl::resp::Writer w(batch);
  for (int i = 0; i < 1000; ++i) {
    if (i % 2 == 0) {
      w.command({"INCR", "counter"});
    } else {
      const std::string v = std::to_string(i);
      w.command({"ECHO", v});
    }
  }
  ASSERT_TRUE(c.send(batch));
  int64_t expect_counter = 0;
  for (int i = 0; i < 1000; ++i) {
    const Value v = c.read();
    ASSERT_FALSE(c.eof()) << "reply " << i;
    if (i % 2 == 0) {
      EXPECT_EQ(v, Value::integer_value(++expect_counter)) << i;
    } else {
      EXPECT_EQ(v, Value::bulk(std::to_string(i))) << i;
    }
  }
}

TEST_F(DbServerTest, FiftyConcurrentClients) {
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(std::make_unique<RawClient>(port_));
    ASSERT_TRUE(clients.back()->connected());
  }
  // All are connected at once; interleave their requests.
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) {
      const std::string key = "c" + std::to_string(i);
      clients[static_cast<size_t>(i)]->send_command({"INCR", key});
    }
    for (int i = 0; i < 50; ++i) {
      EXPECT_EQ(clients[static_cast<size_t>(i)]->read(), Value::integer_value(round + 1));
    }
  }
  RawClient probe(port_);
  const Value info = probe.call({"INFO", "clients"});
  EXPECT_NE(info.str.find("connected_clients:51"), std::string::npos) << info.str;
}

TEST_F(DbServerTest, MalformedInputGetsErrorAndCloseOthersUnaffected) {
  RawClient good(port_);
  EXPECT_EQ(good.call({"SET", "k", "v"}), Value::simple("OK"));

  RawClient bad_bulk(port_);
  ASSERT_TRUE(bad_bulk.send("*1\r\n$abc\r\n"));
  const Value e1 = bad_bulk.read();
  EXPECT_EQ(e1.type, Type::error);
  EXPECT_EQ(e1.str.rfind("ERR Protocol error", 0), 0u) << e1.str;
  EXPECT_TRUE(bad_bulk.closed_by_peer());

  RawClient garbage(port_);
  ASSERT_TRUE(garbage.send("*zz\r\n"));
  const Value e2 = garbage.read();
  EXPECT_EQ(e2.type, Type::error);
  EXPECT_EQ(e2.str.rfind("ERR Protocol error", 0), 0u) << e2.str;
  EXPECT_TRUE(garbage.closed_by_peer());

  EXPECT_EQ(good.call({"GET", "k"}), Value::bulk("v"));
  RawClient fresh(port_);
  EXPECT_EQ(fresh.call({"PING"}), Value::simple("PONG"));
}

TEST_F(DbServerTest, FrameSplitAcrossWrites) {
  RawClient c(port_);
  RawClient sync(port_);
  const std::string frame = "*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nvalue\r\n";
  for (size_t cut : {2u, 9u, 17u, 30u}) {
    ASSERT_TRUE(c.send(frame.substr(0, cut)));
    // A round trip on another connection lets the server process the partial read first.
    EXPECT_EQ(sync.call({"PING"}), Value::simple("PONG"));
    ASSERT_TRUE(c.send(frame.substr(cut)));
    EXPECT_EQ(c.read(), Value::simple("OK")) << "cut at " << cut;
  }
  EXPECT_EQ(c.call({"GET", "split"}), Value::bulk("value"));
}

TEST_F(DbServerTest, InlineCommands) {
  RawClient c(port_);
  ASSERT_TRUE(c.send("PING\r\nSET inl 5\r\nGET inl\nINCR inl\r\n"));
  EXPECT_EQ(c.read(), Value::simple("PONG"));
  EXPECT_EQ(c.read(), Value::simple("OK"));
  EXPECT_EQ(c.read(), Value::bulk("5"));
  EXPECT_EQ(c.read(), Value::integer_value(6));
}

TEST_F(DbServerTest, UnknownCommandKeepsConnection) {
  RawClient c(port_);
  const Value e = c.call({"FOO", "bar"});
  EXPECT_EQ(e.type, Type::error);
  EXPECT_EQ(e.str.rfind("ERR unknown command 'FOO'", 0), 0u) << e.str;
  EXPECT_EQ(c.call({"PING"}), Value::simple("PONG"));
}

TEST_F(DbServerTest, QuitClosesConnection) {
  RawClient c(port_);
  EXPECT_EQ(c.call({"QUIT"}), Value::simple("OK"));
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(DbServerTest, ShutdownExitsZero) {
  RawClient c(port_);
  EXPECT_EQ(c.call({"SET", "x", "1"}), Value::simple("OK"));
  ASSERT_TRUE(c.send_command({"SHUTDOWN", "NOSAVE"}));
  EXPECT_EQ(db_->wait_exit(), std::optional<int>(0));
}

TEST_F(DbServerTest, SigtermExitsZeroWithClientsConnected) {
  RawClient c(port_);
  EXPECT_EQ(c.call({"PING"}), Value::simple("PONG"));
  ASSERT_EQ(::kill(db_->pid(), SIGTERM), 0);
  EXPECT_EQ(db_->wait_exit(), std::optional<int>(0));
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(DbServerTest, MaxClientsRejectsExtraConnections) {
  start({"--max-clients", "2"});
  RawClient a(port_), b(port_);
  EXPECT_EQ(a.call({"PING"}), Value::simple("PONG"));
  EXPECT_EQ(b.call({"PING"}), Value::simple("PONG"));
  RawClient c(port_);
  EXPECT_EQ(c.read(), Value::err("ERR max number of clients reached"));
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(a.call({"PING"}), Value::simple("PONG"));
}

TEST_F(DbServerTest, IdleClientsAreClosed) {
  start({"--idle-timeout", "200ms"});
  RawClient c(port_);
  EXPECT_EQ(c.call({"PING"}), Value::simple("PONG"));
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(DbServerFlags, BadFlagExitsThree) {
  DbProcess db({"--max-clients", "notanumber"});
  EXPECT_EQ(db.wait_exit(), std::optional<int>(3));
  DbProcess db2({"--idle-timeout", "forever"});
  EXPECT_EQ(db2.wait_exit(), std::optional<int>(3));
  DbProcess db3({"--no-such-flag"});
  EXPECT_EQ(db3.wait_exit(), std::optional<int>(3));
}

}  // namespace
