#include "chaos/process_faults.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "common/resp/resp.h"
#include "harness/plan/fault.h"
#include "tests/support/test_socket.h"

namespace fl::chaos {
namespace {

using namespace std::chrono_literals;

// A RESP node on 127.0.0.1:<ephemeral> that answers every command with `reply` (or never answers
// when `reply` is empty, as a paused process would not).
class FakeNode {
 public:
  explicit FakeNode(std::string reply) : reply_(std::move(reply)) {
    fd_ = test::listen_loopback(16, port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeNode() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      const int c = test::accept_within(fd_, 20);
      if (c < 0) continue;
      resp::Parser parser;
      std::vector<std::string_view> argv;
      bool answered = false;
      while (!stop_ && !answered) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 20) <= 0) continue;
        char buf[512];
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        parser.feed(std::string_view(buf, static_cast<size_t>(n)));
        if (parser.next_command(argv) == resp::Status::ok) {
          ++requests_;
          if (reply_.empty()) {
            while (!stop_) std::this_thread::sleep_for(5ms);  // a paused node: silence
          } else {
            EXPECT_EQ(::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL),
                      static_cast<ssize_t>(reply_.size()));
          }
          answered = true;
        }
      }
      ::close(c);
    }
  }

  std::string reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::string master_reply(int64_t term) {
  return resp::encode(
      resp::Value::array({resp::Value::bulk("master"), resp::Value::integer_value(12),
                          resp::Value::array({}), resp::Value::integer_value(term)}));
}

std::string slave_reply(int64_t term) {
  return resp::encode(
      resp::Value::array({resp::Value::bulk("slave"), resp::Value::bulk("127.0.0.1"),
                          resp::Value::integer_value(7000), resp::Value::bulk("connected"),
                          resp::Value::integer_value(12), resp::Value::integer_value(term)}));
}

std::vector<plan::Instance> shard_instances(int shards, int replicas) {
  std::vector<plan::Instance> out;
  for (int s = 0; s < shards; ++s) {
    for (int r = 0; r < replicas; ++r) {
      plan::Instance i;
      i.id = plan::db_instance_id(s, r);
      i.group = "db";
      i.kind = "db";
      i.shard = s;
      out.push_back(i);
    }
  }
  plan::Instance other;
  other.id = "redis";
  other.group = "redis";
  out.push_back(other);
  return out;
}

plan::Selector sel(std::string_view text) {
  auto s = plan::parse_selector(text);
  EXPECT_TRUE(s) << text;
  return s ? *s : plan::Selector{};
}

TEST(QueryRole, MasterAndSlaveRepliesOverRealSockets) {
  FakeNode m(master_reply(7));
  FakeNode s(slave_reply(7));
  auto a = query_role("127.0.0.1", m.port(), 2s);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->role, "master");
  EXPECT_EQ(a->term, 7);
  auto b = query_role("127.0.0.1", s.port(), 2s);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->role, "slave");
  EXPECT_EQ(b->term, 7);
}

TEST(QueryRole, ErrorsForSilenceErrorRepliesAndRefusal) {
  FakeNode silent("");
  auto a = query_role("127.0.0.1", silent.port(), 150ms);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, make_error_code(errc::timeout));
  FakeNode err("-ERR unknown command 'ROLE'\r\n");
  auto b = query_role("127.0.0.1", err.port(), 2s);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("unknown command"), std::string::npos);
  FakeNode odd(":3\r\n");
  EXPECT_FALSE(query_role("127.0.0.1", odd.port(), 2s));
  uint16_t closed = 0;
  {
    FakeNode gone("+OK\r\n");
    closed = gone.port();
  }
  auto c = query_role("127.0.0.1", closed, 2s);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, make_error_code(errc::io_error)) << c.error().message;
}

TEST(Resolve, MasterIsTheHighestTermAnsweringMasterOverRealNodes) {
  // Shard 1: a deposed master (term 2), the current one (term 5), a slave, and a silent node.
  FakeNode old_master(master_reply(2));
  FakeNode new_master(master_reply(5));
  FakeNode slave(slave_reply(5));
  auto inst = shard_instances(2, 4);
  std::vector<NodeAddress> nodes = {
      {"db-s1-r0", "127.0.0.1", old_master.port(), true},
      {"db-s1-r1", "127.0.0.1", slave.port(), true},
      {"db-s1-r2", "127.0.0.1", new_master.port(), true},
      {"db-s1-r3", "127.0.0.1", 1, false},  // down: never asked
  };
  RoleQuery ask = [](const NodeAddress& n) { return query_role(n.host, n.port, 1s); };
  Rng rng(1);
  auto m = resolve(sel("db:shard=1:master"), inst, nodes, ask, rng);
  EXPECT_EQ(m.nodes, std::vector<std::string>{"db-s1-r2"});
  EXPECT_EQ(m.term, 5);
  EXPECT_TRUE(m.skipped.empty());
  auto s = resolve(sel("db:shard=1:slave"), inst, nodes, ask, rng);
  EXPECT_EQ(s.nodes, std::vector<std::string>{"db-s1-r1"});
  EXPECT_EQ(s.roles, std::vector<std::string>{"slave"});
}

TEST(Resolve, NoMasterAnsweringSkipsWithTheReason) {
  FakeNode slave(slave_reply(3));
  FakeNode silent("");
  auto inst = shard_instances(1, 3);
  std::vector<NodeAddress> nodes = {
      {"db-s0-r0", "127.0.0.1", silent.port(), true},
      {"db-s0-r1", "127.0.0.1", slave.port(), true},
      {"db-s0-r2", "127.0.0.1", 1, false},
  };
  RoleQuery ask = [](const NodeAddress& n) { return query_role(n.host, n.port, 200ms); };
  Rng rng(1);
  auto m = resolve(sel("db:shard=0:master"), inst, nodes, ask, rng);
  EXPECT_TRUE(m.nodes.empty());
  EXPECT_NE(m.skipped.find("no node of shard 0 answers ROLE master"), std::string::npos)
      << m.skipped;
  EXPECT_NE(m.skipped.find("db-s0-r1: slave term 3"), std::string::npos) << m.skipped;
  EXPECT_NE(m.skipped.find("db-s0-r2: not running"), std::string::npos) << m.skipped;
}

TEST(Resolve, GroupsShardsAndInstancesNeedNoQuestions) {
  auto inst = shard_instances(2, 3);
  int asked = 0;
  RoleQuery ask = [&](const NodeAddress&) -> result<NodeRole> {
    ++asked;
    return NodeRole{"master", 1};
  };
  Rng rng(1);
  using V = std::vector<std::string>;
  EXPECT_EQ(resolve(sel("db"), inst, {}, ask, rng).nodes,
            (V{"db-s0-r0", "db-s0-r1", "db-s0-r2", "db-s1-r0", "db-s1-r1", "db-s1-r2"}));
  EXPECT_EQ(resolve(sel("db:shard=1"), inst, {}, ask, rng).nodes,
            (V{"db-s1-r0", "db-s1-r1", "db-s1-r2"}));
  EXPECT_EQ(resolve(sel("redis"), inst, {}, ask, rng).nodes, (V{"redis"}));
  EXPECT_EQ(resolve(sel("db-s0-r2"), inst, {}, ask, rng).nodes, (V{"db-s0-r2"}));
  EXPECT_FALSE(resolve(sel("nope"), inst, {}, ask, rng).skipped.empty());
  EXPECT_EQ(asked, 0);
}

TEST(Resolve, RandomPicksOneWithTheSeedReproducibly) {
  auto inst = shard_instances(3, 3);
  RoleQuery ask = [](const NodeAddress&) -> result<NodeRole> { return NodeRole{"slave", 1}; };
  auto picks = [&](uint64_t seed) {
    Rng rng = Rng(seed).fork("faults");
    std::vector<std::string> out;
    for (int i = 0; i < 40; ++i) {
      auto r = resolve(sel("random(db)"), inst, {}, ask, rng);
      EXPECT_EQ(r.nodes.size(), 1u);
      out.push_back(r.nodes.at(0));
    }
    return out;
  };
  const auto a = picks(42);
  EXPECT_EQ(a, picks(42));
  EXPECT_NE(a, picks(43));
  // Nodes marked down are not drawn while others are up.
  {
    Rng rng(3);
    std::vector<NodeAddress> nodes;
    for (const auto& i : inst) nodes.push_back({i.id, "127.0.0.1", 1, i.id == "db-s2-r1"});
    for (int k = 0; k < 10; ++k) {
      EXPECT_EQ(resolve(sel("random(db)"), inst, nodes, ask, rng).nodes,
                std::vector<std::string>{"db-s2-r1"});
    }
  }
  // Forty draws over nine nodes reach several of them, and only db nodes.
  std::set<std::string> distinct(a.begin(), a.end());
  EXPECT_GE(distinct.size(), 4u);
  for (const auto& id : distinct) EXPECT_EQ(id.rfind("db-s", 0), 0u) << id;
}

// Records the verbs it is asked for.
class RecordingControl final : public ProcessControl {
 public:
  result<void> kill(std::string_view id) override { return log("kill", id); }
  result<void> terminate(std::string_view id) override { return log("terminate", id); }
  result<void> pause(std::string_view id) override { return log("pause", id); }
  result<void> resume(std::string_view id) override { return log("resume", id); }
  result<void> restart(std::string_view id, bool wipe) override {
    return log(wipe ? "restart-wiped" : "restart", id);
  }
  std::vector<std::string> calls;

 private:
  result<void> log(std::string_view verb, std::string_view id) {
    calls.push_back(std::string(verb) + " " + std::string(id));
    return {};
  }
};

TEST(InjectAndHeal, EachActionMapsToItsVerbAndHeal) {
  using plan::FaultAction;
  RecordingControl c;
  for (auto a : {FaultAction::kill, FaultAction::terminate, FaultAction::pause,
                 FaultAction::restart, FaultAction::restart_wiped}) {
    ASSERT_TRUE(inject(c, a, "n"));
    ASSERT_TRUE(heal(c, a, "n"));
  }
  EXPECT_EQ(c.calls,
            (std::vector<std::string>{"kill n", "restart n", "terminate n", "restart n", "pause n",
                                      "resume n", "restart n", "restart-wiped n"}));
}

}  // namespace
}  // namespace fl::chaos
