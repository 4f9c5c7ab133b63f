#include "chaos/netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "chaos/ledger.h"

extern char** environ;

namespace fl::chaos {
namespace {

using namespace std::chrono_literals;

// Connects to addr:port from this (the root) namespace within `timeout`.
bool connects(const std::string& addr, uint16_t port, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    ok = true;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      ok = err == 0;
    }
  }
  ::close(fd);
  return ok;
}

// An HTTP GET from inside namespace `ns` (curl gives up after 2 s): its status code, or "none"
// when curl failed (no connection, no reply).
std::string get_from(const std::string& ns, const std::string& addr, uint16_t port) {
  auto r = run_tool({"ip", "netns", "exec", ns, "curl", "-s", "-m", "2", "-o", "/dev/null", "-w",
                     "%{http_code}", "http://" + addr + ":" + std::to_string(port) + "/"});
  return r ? *r : "none";
}

// A small HTTP server (python3 -m http.server) inside a namespace.
class Server {
 public:
  Server(const std::string& ns, const std::string& addr, uint16_t port) {
    std::vector<std::string> argv{"ip",      "netns", "exec",        ns,
                                  "python3", "-m",    "http.server", std::to_string(port),
                                  "--bind",  addr};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    ::posix_spawnp(&pid_, "ip", &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

 private:
  pid_t pid_ = 0;
};

bool eventually(const std::function<bool()>& cond, std::chrono::seconds deadline = 20s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return cond();
}

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = netns_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    run_id_ = std::string("netns-test-") + info->name() + "-" + std::to_string(::getpid());
    auto l = Ledger::open(run_id_, "/tmp");
    ASSERT_TRUE(l) << l.error().message;
    ledger_ = std::move(*l);
    auto f = NetnsFabric::create({run_id_, "10.213.0.0/16", ledger_.get()}, {"a", "b"});
    ASSERT_TRUE(f) << f.error().message;
    fabric_ = std::move(*f);
  }
  void TearDown() override {
    server_.reset();
    if (fabric_) fabric_->close();
    if (ledger_) {
      EXPECT_TRUE(ledger_->entries().empty());
      ledger_->close();
    }
  }

  void serve_on_b() {
    server_ = std::make_unique<Server>(*fabric_->namespace_of("b"), *fabric_->address("b"), 8080);
    ASSERT_TRUE(eventually([&] { return connects(*fabric_->address("b"), 8080, 1000ms); }))
        << "the server in b never answered";
  }

  std::string run_id_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<NetnsFabric> fabric_;
  std::unique_ptr<Server> server_;
};

TEST_F(NetnsTest, CreatesNamespacesOnABridgeAndRecordsThemInTheLedger) {
  const std::string tag = run_tag(run_id_);
  EXPECT_EQ(fabric_->namespace_of("a"), netns_name(tag, 0));
  EXPECT_EQ(fabric_->bridge(), bridge_name(tag));
  EXPECT_FALSE(fabric_->namespace_of("client"));
  auto list = run_tool({"ip", "netns", "list"});
  ASSERT_TRUE(list);
  EXPECT_NE(list->find(netns_name(tag, 1)), std::string::npos);
  auto entries = ledger_->entries();
  EXPECT_EQ(entries.size(), 4u);  // bridge, root table, two namespaces
  EXPECT_NE(fabric_->address("a"), fabric_->address("b"));
  EXPECT_EQ(fabric_->address("a")->substr(0, 7), "10.213.");

  fabric_->close();
  list = run_tool({"ip", "netns", "list"});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->find("fl-" + tag), std::string::npos);
  auto tables = run_tool({"nft", "list", "tables"});
  ASSERT_TRUE(tables);
  EXPECT_EQ(tables->find(table_name(tag)), std::string::npos);
  EXPECT_TRUE(ledger_->entries().empty());
}

TEST_F(NetnsTest, CutDropsAcrossTheBridgeAndHealRestores) {
  serve_on_b();
  const std::string a = *fabric_->namespace_of("a"), b_addr = *fabric_->address("b");
  ASSERT_EQ(get_from(a, b_addr, 8080), "200");

  auto h = fabric_->cut({{"a", "b"}}, plan::CutMode::drop);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(get_from(a, b_addr, 8080), "none");
  // Only a -> b is cut: the client still reaches b.
  EXPECT_TRUE(connects(b_addr, 8080, 2000ms));
  bool saw = false;
  for (const auto& l : fabric_->links()) {
    if (l.from == "a" && l.to == "b") saw = l.cut_up;
  }
  EXPECT_TRUE(saw);

  ASSERT_TRUE(fabric_->heal(*h));
  EXPECT_EQ(get_from(a, b_addr, 8080), "200");
  EXPECT_TRUE(fabric_->heal(*h));  // already healed: not an error
}

TEST_F(NetnsTest, RejectRefusesAtOnceAndCutsTheClient) {
  serve_on_b();
  const std::string b_addr = *fabric_->address("b");
  auto h = fabric_->cut({{"client", "b"}}, plan::CutMode::reject);
  ASSERT_TRUE(h) << h.error().message;
  // Refused, not timed out: a 10 s connect attempt ends at once with an error.
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(connects(b_addr, 8080, 10000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(get_from(*fabric_->namespace_of("a"), b_addr, 8080), "200");
  fabric_->heal_all();
  EXPECT_TRUE(connects(b_addr, 8080, 2000ms));
}

TEST_F(NetnsTest, LossAndRateRulesAreNftRulesInTheSendersNamespace) {
  plan::Toxic loss;
  loss.kind = plan::Toxic::Kind::loss;
  loss.probability = 0.25;
  plan::Toxic rate;
  rate.kind = plan::Toxic::Kind::bandwidth;
  rate.bytes_per_second = 65536;
  auto h = fabric_->degrade({"a"}, {"b"}, plan::Direction::up, {loss, rate});
  ASSERT_TRUE(h) << h.error().message;
  auto table = run_tool({"ip", "netns", "exec", *fabric_->namespace_of("a"), "nft", "list", "table",
                         "inet", table_name(fabric_->tag())});
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_NE(table->find("numgen random mod 10000 < 2500 drop"), std::string::npos) << *table;
  EXPECT_NE(table->find("limit rate over 64 kbytes/second"), std::string::npos) << *table;
  // direction up: nothing in b's namespace.
  auto other = run_tool({"ip", "netns", "exec", *fabric_->namespace_of("b"), "nft", "list", "table",
                         "inet", table_name(fabric_->tag())});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->find("drop"), std::string::npos) << *other;

  ASSERT_TRUE(fabric_->heal(*h));
  table = run_tool({"ip", "netns", "exec", *fabric_->namespace_of("a"), "nft", "list", "table",
                    "inet", table_name(fabric_->tag())});
  ASSERT_TRUE(table);
  EXPECT_EQ(table->find("numgen"), std::string::npos) << *table;
}

TEST_F(NetnsTest, HealAllSparesALiveRunAndRemovesStrayNamespaces) {
  serve_on_b();
  const std::string stray = "fl-stray" + std::to_string(::getpid()) + "-0";
  ASSERT_TRUE(run_tool({"ip", "netns", "add", stray}));
  auto r = sweep_stale(true);
  ASSERT_TRUE(r) << r.error().message;
  bool removed_stray = false;
  for (const auto& s : r->removed) {
    EXPECT_EQ(s.find(fabric_->tag()), std::string::npos) << s;
    removed_stray |= s == "netns " + stray;
  }
  EXPECT_TRUE(removed_stray);
  auto list = run_tool({"ip", "netns", "list"});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->find(stray), std::string::npos);
  EXPECT_EQ(get_from(*fabric_->namespace_of("a"), *fabric_->address("b"), 8080), "200");
}

// A harness SIGKILLed with its namespaces, bridge and table in place: the sweep of its ledger
// removes them all.
TEST(NetnsCrash, SweepRemovesWhatAKilledOwnerLeft) {
  if (auto why = netns_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  // The default state dir, like a real run: a concurrent `heal --all` (another test) spares the
  // owner while it lives, and may sweep it first once it is dead, which this test accepts.
  const std::string run_id = "netns-crash-" + std::to_string(::getpid());
  const std::string tag = run_tag(run_id);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t owner = ::fork();
  if (owner == 0) {
    auto l = Ledger::open(run_id, "/tmp");
    bool ok = false;
    std::unique_ptr<NetnsFabric> f;
    if (l) {
      auto made = NetnsFabric::create({run_id, "10.213.0.0/16", l->get()}, {"x", "y"});
      if (made) {
        f = std::move(*made);
        ok = f->cut({{"x", "y"}}, plan::CutMode::drop).has_value();
      }
    }
    char c = ok ? '1' : '0';
    (void)!::write(fds[1], &c, 1);
    for (;;) ::pause();
  }
  char c = 0;
  ASSERT_EQ(::read(fds[0], &c, 1), 1);
  auto before = run_tool({"ip", "netns", "list"});
  ::kill(owner, SIGKILL);
  int status = 0;
  ::waitpid(owner, &status, 0);
  ASSERT_EQ(c, '1') << "the owner could not set up its namespaces";
  ASSERT_TRUE(before);
  ASSERT_NE(before->find(netns_name(tag, 1)), std::string::npos) << *before;

  auto r = sweep_stale(false);
  ASSERT_TRUE(r) << r.error().message;
  for (const auto& e : r->errors) EXPECT_EQ(e.find(tag), std::string::npos) << e;
  auto list = run_tool({"ip", "netns", "list"});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->find("fl-" + tag), std::string::npos) << *list;
  auto tables = run_tool({"nft", "list", "tables"});
  ASSERT_TRUE(tables);
  EXPECT_EQ(tables->find(table_name(tag)), std::string::npos) << *tables;
  EXPECT_TRUE(eventually([&] {
    auto links = run_tool({"ip", "-o", "link", "show"});
    return links && links->find(tag) == std::string::npos;
  })) << "the bridge or a veth is left";
  EXPECT_FALSE(std::filesystem::exists(state_dir() / (run_id + ".json")));
}

TEST_F(NetnsTest, ASecondRunWithTheSameTagFailsAndLeavesTheFirstAlone) {
  serve_on_b();
  auto twin = NetnsFabric::create({run_id_, "10.213.0.0/16", nullptr}, {"a", "b"});
  ASSERT_FALSE(twin);
  EXPECT_NE(twin.error().message.find("already exists"), std::string::npos);
  EXPECT_EQ(get_from(*fabric_->namespace_of("a"), *fabric_->address("b"), 8080), "200");
}

TEST_F(NetnsTest, DelayIsUnsupportedWithAMessageNamingTheProxy) {
  plan::Toxic latency;
  latency.kind = plan::Toxic::Kind::latency;
  latency.latency = std::chrono::milliseconds(20);
  auto h = fabric_->degrade({"a"}, {"b"}, plan::Direction::both, {latency});
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, make_error_code(errc::unsupported));
  EXPECT_NE(h.error().message.find("tc netem"), std::string::npos);
  EXPECT_NE(h.error().message.find("backend = \"proxy\""), std::string::npos);
}

}  // namespace
}  // namespace fl::chaos
