// faultline-lb as a user meets it: a real LB process in front of real faultline-db processes
// (standalone, one per backend), driven over TCP. Backends are killed, paused and restarted on
// their ports; every wait polls a condition under a generous deadline; every process is killed
// at the end of its test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/wait.h>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/resp/resp.h"
#include "harness/supervisor/port_allocator.h"
#include "tests/db/db_cluster.h"

namespace fl::lbtest {
namespace {

using namespace std::chrono_literals;
using dbtest::DbProcess;
using dbtest::eventually;
using dbtest::RespClient;
using dbtest::ScratchDir;
using resp::Type;
using resp::Value;

std::string lb_binary() { return std::string(FL_BIN_DIR) + "/faultline-lb"; }
std::string db_binary() { return std::string(FL_BIN_DIR) + "/faultline-db"; }

bool is_error(const std::optional<Value>& v, std::string_view prefix) {
  return dbtest::is_error(v, prefix);
}
bool is_ok(const std::optional<Value>& v) {
  return v && v->type == Type::simple_string && v->str == "OK";
}

// A faultline-lb in front of `n` standalone faultline-db backends b0..b{n-1}.
class LbCluster {
 public:
  LbCluster(int n, std::vector<std::string> lb_flags) : lb_flags_(std::move(lb_flags)) {
    for (int i = 0; i < n; ++i) {
      auto port = ports_.allocate();
      if (!port) std::abort();
      const std::string id = "b" + std::to_string(i);
      ids_.push_back(id);
      backend_ports_.push_back(*port);
      backends_.push_back(std::make_unique<DbProcess>(
          std::vector<std::string>{db_binary(), "--id", id, "--host", "127.0.0.1", "--port",
                                   std::to_string(*port), "--log-level", "warn"},
          dir_.path / (id + ".log")));
      direct_.push_back(std::make_unique<RespClient>("127.0.0.1", *port));
    }
    auto port = ports_.allocate();
    if (!port) std::abort();
    lb_port_ = *port;
  }

  // Starts the backends and the LB and waits for every one to answer PING.
  bool start() {
    for (size_t i = 0; i < backends_.size(); ++i) {
      backends_[i]->start();
    }
    for (size_t i = 0; i < backends_.size(); ++i) {
      if (!wait_backend(i)) return false;
    }
    std::vector<std::string> args = {lb_binary(), "--id", "lb-0", "--host", "127.0.0.1",
                                     "--port", std::to_string(lb_port_)};
    for (size_t i = 0; i < backends_.size(); ++i) {
      args.push_back("--backend");
      args.push_back(ids_[i] + ",127.0.0.1:" + std::to_string(backend_ports_[i]));
    }
    args.insert(args.end(), lb_flags_.begin(), lb_flags_.end());
    lb_ = std::make_unique<DbProcess>(args, dir_.path / "lb.log");
    lb_->start();
    client_ = std::make_unique<RespClient>("127.0.0.1", lb_port_, 10s);
    return eventually([&] {
      auto v = call({"PING"});
      return v && v->str == "PONG";
    });
  }

  bool wait_backend(size_t i) {
    return eventually([&] {
      auto v = direct(i, {"PING"});
      return v && v->str == "PONG";
    });
  }

  std::optional<Value> call(const std::vector<std::string>& argv) { return client_->call(argv); }
  std::optional<Value> direct(size_t i, const std::vector<std::string>& argv) {
    return direct_[i]->call(argv);
  }
  DbProcess& backend(size_t i) { return *backends_[i]; }
  size_t index_of(const std::string& id) const {
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] == id) return i;
    }
    return ids_.size();
  }
  uint16_t lb_port() const { return lb_port_; }

  std::string info() {
    auto v = call({"INFO"});
    return v && v->type == Type::bulk_string ? v->str : "";
  }
  // A field of INFO's `# LB` section ("" when absent).
  std::string lb_field(const std::string& name) {
    const std::string text = info();
    const std::string want = "\r\n" + name + ":";
    const size_t at = text.find(want);
    if (at == std::string::npos) return "";
    const size_t start = at + want.size();
    return text.substr(start, text.find("\r\n", start) - start);
  }
  // A field of backend `id`'s INFO line (e.g. "state").
  std::string backend_field(const std::string& id, const std::string& name) {
    const std::string line = lb_field("backend_" + id);
    const std::string want = name + "=";
    size_t at = 0;
    while ((at = line.find(want, at)) != std::string::npos) {
      if (at == 0 || line[at - 1] == ',') {
        const size_t start = at + want.size();
        return line.substr(start, line.find(',', start) - start);
      }
      ++at;
    }
    return "";
  }
  bool wait_state(const std::string& id, const std::string& state) {
    return eventually([&] { return backend_field(id, "state") == state; });
  }
  std::string route(const std::string& key) {
    auto v = call({"LB.ROUTE", key});
    return v && v->type == Type::bulk_string ? v->str : "";
  }
  // A key that key-hash sends to backend `id` now.
  std::string key_on(const std::string& id) {
    for (int k = 0; k < 10000; ++k) {
      const std::string key = "probe:" + std::to_string(k);
      if (route(key) == id) return key;
    }
    return "";
  }
  std::string logs() {
    std::string out = "---- lb\n" + (lb_ ? lb_->log_tail() : "");
    for (size_t i = 0; i < backends_.size(); ++i) {
      out += "---- " + ids_[i] + "\n" + backends_[i]->log_tail();
    }
    return out;
  }

 private:
  ScratchDir dir_;
  supervisor::PortAllocator ports_;
  std::vector<std::string> lb_flags_;
  std::vector<std::string> ids_;
  std::vector<uint16_t> backend_ports_;
  std::vector<std::unique_ptr<DbProcess>> backends_;
  std::vector<std::unique_ptr<RespClient>> direct_;
  uint16_t lb_port_ = 0;
  std::unique_ptr<DbProcess> lb_;
  std::unique_ptr<RespClient> client_;
};

// A raw connection that writes a batch of commands at once and reads their replies in order.
class Pipeline {
 public:
  explicit Pipeline(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Pipeline() { ::close(fd_); }

  bool send(const std::vector<std::vector<std::string>>& commands) {
    std::string buf;
    resp::Writer w(buf);
    for (const auto& argv : commands) {
      std::vector<std::string_view> views(argv.begin(), argv.end());
      w.command(std::span<const std::string_view>(views));
    }
    size_t off = 0;
    while (off < buf.size()) {
      const ssize_t n = ::send(fd_, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // The next `n` replies (fewer when the connection stalls for 10 s or closes).
  std::vector<Value> read(size_t n) {
    std::vector<Value> out;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (out.size() < n) {
      Value v;
      const resp::Status st = parser_.next(v);
      if (st == resp::Status::ok) {
        out.push_back(std::move(v));
        continue;
      }
      if (st == resp::Status::error) break;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[65536];
      const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0) break;
      parser_.feed(std::string_view(chunk, static_cast<size_t>(got)));
    }
    return out;
  }
  bool connected() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  resp::Parser parser_;
};

TEST(LbTest, SetAndGetThroughTheLbWithPipelinedBatchesInOrder) {
  LbCluster c(3, {});
  ASSERT_TRUE(c.start()) << c.logs();
  ASSERT_TRUE(is_ok(c.call({"SET", "hello", "world"}))) << c.logs();
  auto v = c.call({"GET", "hello"});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->str, "world");

  // -P 16 style: batches of 16 commands written at once, mixing writes and reads of keys on
  // every backend; each reply must be the one of its own command.
  Pipeline p(c.lb_port());
  ASSERT_TRUE(p.connected());
  constexpr int kBatches = 60, kBatch = 16;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<std::vector<std::string>> cmds;
    for (int i = 0; i < kBatch / 2; ++i) {
      const std::string key = "p:" + std::to_string(b * kBatch / 2 + i);
      cmds.push_back({"SET", key, "v" + std::to_string(b * kBatch / 2 + i)});
      cmds.push_back({"GET", key});
    }
    ASSERT_TRUE(p.send(cmds));
    const auto replies = p.read(cmds.size());
    ASSERT_EQ(replies.size(), cmds.size());
    for (int i = 0; i < kBatch / 2; ++i) {
      EXPECT_EQ(replies[2 * i].str, "OK");
      EXPECT_EQ(replies[2 * i + 1].type, Type::bulk_string);
      EXPECT_EQ(replies[2 * i + 1].str, "v" + std::to_string(b * kBatch / 2 + i));
    }
  }
  // A batch of reads only, of keys spread over the backends, answered in order.
  std::vector<std::vector<std::string>> gets;
  for (int k = 0; k < 256; ++k) gets.push_back({"GET", "p:" + std::to_string(k * 479 % 480)});
  ASSERT_TRUE(p.send(gets));
  const auto replies = p.read(gets.size());
  ASSERT_EQ(replies.size(), gets.size());
  for (int k = 0; k < 256; ++k) EXPECT_EQ(replies[k].str, "v" + std::to_string(k * 479 % 480));

  // Every backend served some of it; INFO counts it.
  for (const char* id : {"b0", "b1", "b2"}) {
    EXPECT_GT(std::stoull(c.backend_field(id, "requests")), 50u) << id << "\n" << c.info();
    EXPECT_EQ(c.backend_field(id, "state"), "up");
    EXPECT_EQ(c.backend_field(id, "in_flight"), "0");
    EXPECT_NE(c.backend_field(id, "latency_p99_us"), "0");
  }
  EXPECT_EQ(c.lb_field("policy"), "key-hash");
  EXPECT_EQ(c.lb_field("backends_up"), "3");
  EXPECT_GE(std::stoull(c.lb_field("requests")), kBatches * kBatch + 256u);
  EXPECT_EQ(c.lb_field("retries"), "0");
}

TEST(LbTest, KeyHashSendsEachKeyToOneBackend) {
  LbCluster c(3, {"--policy", "key-hash"});
  ASSERT_TRUE(c.start()) << c.logs();
  std::map<std::string, int> per_backend;
  for (int k = 0; k < 90; ++k) {
    const std::string key = "sticky:" + std::to_string(k);
    const std::string owner = c.route(key);
    ASSERT_NE(c.index_of(owner), 3u) << owner;
    ++per_backend[owner];
    ASSERT_TRUE(is_ok(c.call({"SET", key, "x" + std::to_string(k)})));
    // The key is on its routed backend and on no other.
    for (size_t i = 0; i < 3; ++i) {
      auto v = c.direct(i, {"GET", key});
      ASSERT_TRUE(v);
      if (i == c.index_of(owner)) {
        EXPECT_EQ(v->str, "x" + std::to_string(k));
      } else {
        EXPECT_EQ(v->type, Type::null) << key << " also on b" << i;
      }
    }
    // And it is read back through the LB from there, every time.
    for (int r = 0; r < 3; ++r) EXPECT_EQ(c.call({"GET", key})->str, "x" + std::to_string(k));
  }
  EXPECT_EQ(per_backend.size(), 3u);
}

TEST(LbTest, RoundRobinSpreadsAndUnproxiedCommandsAreRefused) {
  LbCluster c(2, {"--policy", "round-robin"});
  ASSERT_TRUE(c.start()) << c.logs();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(c.call({"DBSIZE"}));
  EXPECT_GE(std::stoull(c.backend_field("b0", "requests")), 19u);
  EXPECT_GE(std::stoull(c.backend_field("b1", "requests")), 19u);
  EXPECT_TRUE(is_error(c.call({"SUBSCRIBE", "ch"}), "ERR"));
  EXPECT_TRUE(is_error(c.call({"LB.ROUTE", "k"}), "ERR"));
  EXPECT_EQ(c.call({"PING"})->str, "PONG");
  EXPECT_EQ(c.lb_field("policy"), "round-robin");
}

TEST(LbTest, AKilledBackendIsEjectedTrafficContinuesAndItReturns) {
  LbCluster c(3, {"--health-interval", "50ms", "--health-timeout", "200ms"});
  ASSERT_TRUE(c.start()) << c.logs();
  const std::string victim_key = c.key_on("b1");
  ASSERT_FALSE(victim_key.empty());
  ASSERT_TRUE(is_ok(c.call({"SET", victim_key, "before"})));

  c.backend(1).kill(SIGKILL);
  // Traffic carries on while the LB notices: requests that cannot be sent to the dead backend
  // go to the next one at once. Only a write that raced the kill onto a connection the LB had
  // not yet seen close (one per data connection) may end -TIMEOUT: it was written.
  int timeouts = 0;
  for (int k = 0; k < 200; ++k) {
    const std::string key = "during:" + std::to_string(k);
    auto set = c.call({"SET", key, "v"});
    if (is_error(set, "TIMEOUT")) {
      ++timeouts;
      continue;
    }
    ASSERT_TRUE(is_ok(set)) << key << " " << (set ? set->str : "no reply") << "\n" << c.logs();
  }
  EXPECT_LE(timeouts, 2);
  ASSERT_TRUE(c.wait_state("b1", "down")) << c.info();
  EXPECT_EQ(c.backend_field("b1", "ejections"), "1");
  EXPECT_EQ(c.lb_field("backends_up"), "2");
  EXPECT_EQ(c.lb_field("ring_changes"), "1");
  const double moved = std::stod(c.lb_field("ring_moved_ratio"));
  EXPECT_GT(moved, 0.15);
  EXPECT_LT(moved, 0.55);
  // The dead backend's keys now go to the others, and work.
  EXPECT_NE(c.route(victim_key), "b1");
  for (int k = 0; k < 100; ++k) {
    const std::string key = "after:" + std::to_string(k);
    EXPECT_NE(c.route(key), "b1");
    ASSERT_TRUE(is_ok(c.call({"SET", key, "w"})));
    EXPECT_EQ(c.call({"GET", key})->str, "w");
  }

  // Back on its port: checks bring it back and its keys return to it.
  c.backend(1).start();
  ASSERT_TRUE(c.wait_backend(1));
  ASSERT_TRUE(c.wait_state("b1", "up")) << c.info();
  EXPECT_EQ(c.route(victim_key), "b1");
  EXPECT_EQ(c.lb_field("ring_changes"), "2");
  EXPECT_EQ(c.lb_field("backends_up"), "3");
  ASSERT_TRUE(is_ok(c.call({"SET", victim_key, "again"})));
  EXPECT_EQ(c.direct(1, {"GET", victim_key})->str, "again");
}

TEST(LbTest, PipelinedTrafficKeepsItsOrderWhileABackendDies) {
  LbCluster c(3, {"--health-interval", "50ms", "--health-timeout", "200ms"});
  ASSERT_TRUE(c.start()) << c.logs();
  Pipeline p(c.lb_port());
  ASSERT_TRUE(p.connected());
  int ok = 0, timeouts = 0;
  for (int b = 0; b < 120; ++b) {
    if (b == 20) c.backend(0).kill(SIGKILL);
    std::vector<std::vector<std::string>> cmds;
    for (int i = 0; i < 8; ++i) {
      const std::string key = "o:" + std::to_string(b) + ":" + std::to_string(i);
      cmds.push_back({"SET", key, key});
      cmds.push_back({"ECHO", key});  // keyless: round-robin, so it may hit the dead backend
    }
    ASSERT_TRUE(p.send(cmds));
    const auto replies = p.read(cmds.size());
    ASSERT_EQ(replies.size(), cmds.size()) << "batch " << b << "\n" << c.logs();
    for (int i = 0; i < 8; ++i) {
      const Value& set = replies[2 * i];
      if (set.type == Type::simple_string && set.str == "OK") {
        ++ok;
      } else {
        // Only a write caught in flight by the kill may end -TIMEOUT.
        ASSERT_EQ(set.str.rfind("TIMEOUT", 0), 0u) << set.str;
        ++timeouts;
      }
      // Each reply is its own command's: the echo of this very key.
      const Value& echo = replies[2 * i + 1];
      if (echo.type != Type::error) {
        EXPECT_EQ(echo.str, cmds[2 * i][1]);
      }
    }
  }
  EXPECT_GT(ok, 900);
  EXPECT_LE(timeouts, 16);
  EXPECT_EQ(c.backend_field("b0", "state"), "down");
}

TEST(LbTest, PassiveFailuresEjectAPausedBackendAndChecksBringItBack) {
  // Active checks alone would take 1000 failures: ejection here is passive.
  LbCluster c(2, {"--timeout", "200ms", "--fall", "1000", "--rise", "2",
                  "--passive-failures", "3", "--health-timeout", "100ms"});
  ASSERT_TRUE(c.start()) << c.logs();
  const std::string key = c.key_on("b1");
  c.backend(1).signal(SIGSTOP);
  for (int i = 0; i < 3; ++i) {
    auto v = c.call({"SET", key, "x"});
    ASSERT_TRUE(is_error(v, "TIMEOUT")) << (v ? v->str : "no reply");
  }
  EXPECT_EQ(c.backend_field("b1", "state"), "down");
  EXPECT_EQ(c.backend_field("b1", "ejections"), "1");
  EXPECT_EQ(c.route(key), "b0");
  EXPECT_TRUE(is_ok(c.call({"SET", key, "y"})));
  c.backend(1).signal(SIGCONT);
  ASSERT_TRUE(c.wait_state("b1", "up")) << c.info();
  EXPECT_EQ(c.route(key), "b1");
}

// Stops a backend, then sends `argv` (routed to it) on a raw connection and waits until the LB
// has it in flight there.
std::unique_ptr<Pipeline> in_flight_on(LbCluster& c, size_t backend,
                                       const std::vector<std::string>& argv) {
  c.backend(backend).signal(SIGSTOP);
  auto p = std::make_unique<Pipeline>(c.lb_port());
  if (!p->connected() || !p->send({argv})) return nullptr;
  const std::string id = "b" + std::to_string(backend);
  if (!eventually([&] { return c.backend_field(id, "in_flight") == "1"; })) return nullptr;
  return p;
}

TEST(LbTest, AReadIsRetriedOnAnotherBackendWhenItsBackendDiesMidRequest) {
  // Long deadlines: the read must fail by the broken link, not by a timeout.
  LbCluster c(3, {"--timeout", "20s", "--fall", "1000", "--passive-failures", "0"});
  ASSERT_TRUE(c.start()) << c.logs();
  const std::string key = c.key_on("b0");
  // The same value everywhere, so whichever backend answers the retry has it.
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(is_ok(c.direct(i, {"SET", key, "same"})));

  auto p = in_flight_on(c, 0, {"GET", key});
  ASSERT_TRUE(p) << c.info();
  c.backend(0).kill(SIGKILL);  // the connection breaks with the GET unanswered
  const auto replies = p->read(1);
  ASSERT_EQ(replies.size(), 1u) << c.logs();
  EXPECT_EQ(replies[0].type, Type::bulk_string) << replies[0].str;
  EXPECT_EQ(replies[0].str, "same");
  EXPECT_EQ(c.lb_field("retries"), "1");
  EXPECT_EQ(c.backend_field("b0", "errors"), "1");
}

TEST(LbTest, AWriteToAStoppedBackendIsAnsweredTimeoutAndNotRetried) {
  LbCluster c(3, {"--timeout", "300ms", "--fall", "1000", "--passive-failures", "0"});
  ASSERT_TRUE(c.start()) << c.logs();
  const std::string key = c.key_on("b2");
  auto p = in_flight_on(c, 2, {"SET", key, "maybe"});
  ASSERT_TRUE(p) << c.info();
  auto replies = p->read(1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, Type::error);
  EXPECT_EQ(replies[0].str.rfind("TIMEOUT", 0), 0u) << replies[0].str;
  EXPECT_EQ(c.lb_field("retries"), "0");
  EXPECT_EQ(c.backend_field("b2", "timeouts"), "1");
  // The write went nowhere else.
  for (size_t i : {0, 1}) EXPECT_EQ(c.direct(i, {"GET", key})->type, Type::null);

  // A read of the same key, same situation, is retried elsewhere and answered.
  ASSERT_TRUE(p->send({{"GET", key}}));
  replies = p->read(1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, Type::null) << replies[0].str;
  EXPECT_EQ(c.lb_field("retries"), "1");

  // Once resumed, the backend applies the write it was sent: the client could not know.
  c.backend(2).signal(SIGCONT);
  EXPECT_TRUE(eventually([&] {
    auto v = c.direct(2, {"GET", key});
    return v && v->str == "maybe";
  }));
}

TEST(LbTest, WithTheRetryWritesBugAWriteIsSentTwice) {
  LbCluster c(3, {"--timeout", "300ms", "--fall", "1000", "--passive-failures", "0", "--bug",
                  "retry-writes"});
  ASSERT_TRUE(c.start()) << c.logs();
  const std::string key = c.key_on("b1");
  auto p = in_flight_on(c, 1, {"INCR", key});
  ASSERT_TRUE(p) << c.info();
  const auto replies = p->read(1);
  ASSERT_EQ(replies.size(), 1u);
  // Answered by another backend, as if all were well...
  EXPECT_EQ(replies[0].type, Type::integer) << replies[0].str;
  EXPECT_EQ(c.lb_field("retries"), "1");
  // ...but the stopped backend applies it too once it resumes: the increment happened twice.
  c.backend(1).signal(SIGCONT);
  int applied = 0;
  ASSERT_TRUE(eventually([&] {
    applied = 0;
    for (size_t i = 0; i < 3; ++i) {
      auto v = c.direct(i, {"GET", key});
      if (v && v->str == "1") ++applied;
    }
    return applied == 2;
  }));
}

TEST(LbTest, NoHealthyBackendAnswersClusterdown) {
  LbCluster c(2, {"--health-interval", "50ms", "--health-timeout", "200ms"});
  ASSERT_TRUE(c.start()) << c.logs();
  c.backend(0).kill(SIGKILL);
  c.backend(1).kill(SIGKILL);
  // Before the checks notice, requests fail over to the other backend, which is dead too:
  // -CLUSTERDOWN (or -TIMEOUT if it raced the kill onto a connection not yet seen closed).
  auto v = c.call({"SET", "k", "v"});
  EXPECT_TRUE(is_error(v, "CLUSTERDOWN") || is_error(v, "TIMEOUT")) << (v ? v->str : "no reply");
  ASSERT_TRUE(eventually([&] { return c.lb_field("backends_up") == "0"; })) << c.info();
  v = c.call({"GET", "k"});
  EXPECT_TRUE(is_error(v, "CLUSTERDOWN")) << (v ? v->str : "no reply");
  EXPECT_TRUE(is_error(c.call({"LB.ROUTE", "k"}), "CLUSTERDOWN"));
  // The LB itself still answers.
  EXPECT_EQ(c.call({"PING"})->str, "PONG");
}

// Runs faultline-lb with `args` to its exit and returns its exit status; its output goes to
// `out`. Only for flag errors and --help, which exit at once.
int run_to_exit(const std::vector<std::string>& args, std::string& out) {
  ScratchDir dir;
  const auto log = dir.path / "out";
  std::string cmd = "timeout 30 '" + lb_binary() + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " > '" + log.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(LbFlagsTest, BadFlagsExitThreeWithAReason) {
  std::string out;
  EXPECT_EQ(run_to_exit({"--port", "0"}, out), 3);
  EXPECT_NE(out.find("at least one --backend"), std::string::npos) << out;
  EXPECT_EQ(run_to_exit({"--backend", "a,127.0.0.1:1", "--policy", "random"}, out), 3);
  EXPECT_NE(out.find("--policy"), std::string::npos) << out;
  EXPECT_EQ(run_to_exit({"--backend", "a127.0.0.1:1"}, out), 3);
  EXPECT_NE(out.find("want ID,HOST:PORT"), std::string::npos) << out;
  EXPECT_EQ(run_to_exit({"--backend", "a,h:1", "--backend", "a,h:2"}, out), 3);
  EXPECT_NE(out.find("given twice"), std::string::npos) << out;
  EXPECT_EQ(run_to_exit({"--backend", "a,h:1", "--bug", "nosuch"}, out), 3);
  EXPECT_EQ(run_to_exit({"--backend", "a,h:1", "--fall", "0"}, out), 3);
  EXPECT_EQ(run_to_exit({"--backend", "a,h:1", "--timeout", "0s"}, out), 3);
  EXPECT_EQ(run_to_exit({"--help"}, out), 0);
  EXPECT_NE(out.find("--health-interval"), std::string::npos) << out;
}

}  // namespace
}  // namespace fl::lbtest
