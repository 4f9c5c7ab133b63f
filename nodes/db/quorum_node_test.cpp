#include "nodes/db/quorum_node.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fl::db {
namespace {

namespace fs = std::filesystem;

// Three QuorumNodes whose peer messages go through a FIFO queue delivered on demand, with a
// manual clock: the RESP replies a client would see, without sockets.
class Nodes {
 public:
  explicit Nodes(fs::path dir = {}, std::vector<std::string> bugs = {}, int w = 2, int r = 2,
                 uint64_t snapshot_every = 100000)
      : dir_(std::move(dir)),
        bugs_(std::move(bugs)),
        w_(w),
        r_(r),
        snapshot_every_(snapshot_every) {
    for (int i = 0; i < 3; ++i) start(i);
  }
  // W and R for nodes started from now on.
  void set_quorum(int w, int r) {
    w_ = w;
    r_ = r;
  }

  void start(int i) {
    QuorumOptions o;
    o.id = id(i);
    for (int j = 0; j < 3; ++j)
      o.members.push_back({id(j), "127.0.0.1:" + std::to_string(7000 + j)});
    o.w = w_;
    o.r = r_;
    o.timeout_ms = 100;
    if (!dir_.empty()) o.dir = dir_ / id(i);
    o.fsync = FsyncPolicy::always;
    o.bugs = bugs_;
    o.snapshot_every = snapshot_every_;
    o.physical_us = [this] { return ++physical_; };  // strictly increasing, shared
    nodes_[i] = std::make_unique<QuorumNode>(
        o, clock_, [this, i](const std::string& to, std::vector<std::string> argv) {
          if (!down_[i]) queue_.push_back({to, std::move(argv)});
        });
    auto opened = nodes_[i]->open();
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    down_[i] = false;
  }
  void stop(int i) {
    nodes_[i].reset();
    down_[i] = true;
  }

  // Runs `argv` at node `i`, delivering peer messages until it answers (or nothing is left).
  std::string run(int i, std::vector<std::string> argv) {
    std::optional<std::string> out;
    std::vector<std::string_view> views(argv.begin(), argv.end());
    nodes::Session session;
    nodes_[i]->execute(views, session, [&](std::string bytes) {
      EXPECT_FALSE(out.has_value()) << "replied twice";
      out = std::move(bytes);
    });
    while (!out && deliver_one()) {
    }
    if (!out) {  // nobody left to answer: let the deadline pass
      clock_.advance(100);
      for (int j = 0; j < 3; ++j) {
        if (!down_[j]) nodes_[j]->tick(clock_.now_ms());
      }
    }
    return out.value_or("(no reply)");
  }
  void settle() {
    while (deliver_one()) {
    }
  }

  QuorumNode& node(int i) { return *nodes_[i]; }
  static std::string id(int i) { return "db-s0-r" + std::to_string(i); }

 private:
  bool deliver_one() {
    if (queue_.empty()) return false;
    auto [to, argv] = std::move(queue_.front());
    queue_.pop_front();
    const int i = to.back() - '0';
    if (down_[i]) return true;
    std::vector<std::string_view> views(argv.begin(), argv.end());
    EXPECT_TRUE(QuorumNode::is_peer_command(views[0]));
    nodes_[i]->on_peer_message(views, clock_.now_ms());
    return true;
  }

  fs::path dir_;
  std::vector<std::string> bugs_;
  int w_, r_;
  uint64_t snapshot_every_;
  ManualClock clock_;
  int64_t physical_ = 1'700'000'000'000'000;
  std::unique_ptr<QuorumNode> nodes_[3];
  bool down_[3] = {false, false, false};
  std::deque<std::pair<std::string, std::vector<std::string>>> queue_;
};

TEST(QuorumNode, SetGetAcrossNodes) {
  Nodes n;
  EXPECT_EQ(n.run(0, {"SET", "k", "v1"}), "+OK\r\n");
  EXPECT_EQ(n.run(1, {"GET", "k"}), "$2\r\nv1\r\n");
  EXPECT_EQ(n.run(2, {"get", "k"}), "$2\r\nv1\r\n");
  EXPECT_EQ(n.run(2, {"GET", "nope"}), "$-1\r\n");
}

TEST(QuorumNode, DelExistsMget) {
  Nodes n;
  n.run(0, {"SET", "a", "1"});
  n.run(1, {"SET", "b", "2"});
  EXPECT_EQ(n.run(2, {"EXISTS", "a", "a", "b", "c"}), ":3\r\n");
  EXPECT_EQ(n.run(0, {"MGET", "a", "c", "b"}), "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n");
  EXPECT_EQ(n.run(2, {"DEL", "a", "c"}), ":1\r\n");
  EXPECT_EQ(n.run(1, {"GET", "a"}), "$-1\r\n");
  EXPECT_EQ(n.run(1, {"EXISTS", "a"}), ":0\r\n");
  EXPECT_EQ(n.run(1, {"DEL", "a"}), ":0\r\n");
}

TEST(QuorumNode, UnsupportedCommandsAndOptionsAreRejectedClearly) {
  Nodes n;
  const std::string ifeq = n.run(0, {"SET", "k", "v", "IFEQ", "x"});
  EXPECT_EQ(ifeq.rfind("-ERR ", 0), 0u) << ifeq;
  EXPECT_NE(ifeq.find("not supported in quorum mode"), std::string::npos) << ifeq;
  EXPECT_NE(n.run(0, {"SET", "k", "v", "NX"}).find("not supported in quorum mode"),
            std::string::npos);
  EXPECT_NE(n.run(0, {"SET", "k", "v", "EX", "10"}).find("not supported in quorum mode"),
            std::string::npos);
  EXPECT_EQ(n.run(0, {"INCR", "k"}), "-ERR 'incr' is not supported in quorum mode\r\n");
  EXPECT_EQ(n.run(0, {"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(n.run(0, {"SET", "k"}), "-ERR wrong number of arguments for 'set' command\r\n");
  EXPECT_EQ(n.run(1, {"GET", "k"}), "$-1\r\n");  // none of the rejected SETs applied
  EXPECT_TRUE(QuorumNode::handles("GET"));
  EXPECT_TRUE(QuorumNode::handles("incr"));
  EXPECT_FALSE(QuorumNode::handles("PING"));
  EXPECT_FALSE(QuorumNode::handles("info"));
  EXPECT_FALSE(QuorumNode::handles("Q.PUT"));
  EXPECT_TRUE(QuorumNode::is_peer_command("q.got"));
}

TEST(QuorumNode, NoQuorumWhenPeersAreDown) {
  Nodes n;
  n.stop(1);
  n.stop(2);
  const std::string w = n.run(0, {"SET", "k", "v"});
  EXPECT_EQ(w.rfind("-NOQUORUM ", 0), 0u) << w;
  const std::string r = n.run(0, {"GET", "k"});
  EXPECT_EQ(r.rfind("-NOQUORUM ", 0), 0u) << r;
  EXPECT_EQ(n.run(0, {"DEL", "k"}).rfind("-NOQUORUM ", 0), 0u);
  EXPECT_EQ(n.node(0).info().writes_no_quorum, 2u);
  EXPECT_EQ(n.node(0).info().pending, 0u);
}

TEST(QuorumNode, OpenRejectsBadOptions) {
  ManualClock clock;
  auto try_open = [&](QuorumOptions o) { return QuorumNode(o, clock, {}).open().has_value(); };
  QuorumOptions good;
  good.id = "a";
  good.members = {{"a", "h:1"}, {"b", "h:2"}, {"c", "h:3"}};
  EXPECT_TRUE(try_open(good));
  QuorumOptions o = good;
  o.w = 4;
  EXPECT_FALSE(try_open(o));
  o = good;
  o.n = 4;
  EXPECT_FALSE(try_open(o));
  o = good;
  o.id = "z";
  EXPECT_FALSE(try_open(o));
  o = good;
  o.members.push_back({"a", "h:4"});
  EXPECT_FALSE(try_open(o));
}

// r2 was down (wiped: no dir) while "k" was written; asked right after its restart, the buggy
// read answers at once from r2's own empty replica, the correct one waits for R answers.
TEST(QuorumNode, ReadOneBugAnswersFromTheCoordinatorAlone) {
  for (bool bug : {false, true}) {
    Nodes n({}, bug ? std::vector<std::string>{"quorum-read-one"} : std::vector<std::string>{});
    n.stop(2);
    EXPECT_EQ(n.run(0, {"SET", "k", "w"}), "+OK\r\n");
    n.start(2);
    EXPECT_EQ(n.run(2, {"GET", "k"}), bug ? "$-1\r\n" : "$1\r\nw\r\n") << "bug " << bug;
  }
}

TEST(QuorumNode, InfoSection) {
  Nodes n;
  n.run(0, {"SET", "k", "v"});
  n.settle();
  const std::string s = n.node(1).info_section();
  EXPECT_EQ(s.rfind("# Quorum\r\n", 0), 0u);
  EXPECT_NE(s.find("quorum_n:3\r\n"), std::string::npos);
  EXPECT_NE(s.find("quorum_keys:1\r\n"), std::string::npos);
  EXPECT_EQ(n.node(0).info().writes_ok, 1u);
}

class QuorumNodeDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("quorum_node_test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// A restarted node comes back with what it had: stale for the writes it missed, which W=1, R=1
// reads show and W=2, R=2 reads repair.
TEST_F(QuorumNodeDisk, RestartRecoversTheReplicaStoreFromTheLog) {
  for (int wr : {1, 2}) {
    fs::remove_all(dir_);
    Nodes n(dir_, {}, wr, wr);
    n.run(0, {"SET", "k", "old"});
    n.run(0, {"SET", "gone", "x"});
    n.run(0, {"DEL", "gone"});
    n.settle();
    n.stop(2);
    n.run(0, {"SET", "k", "new"});
    n.settle();
    n.start(2);
    EXPECT_EQ(n.node(2).info().recovered_records, 3u);
    EXPECT_EQ(n.node(2).info().keys, 2u);
    EXPECT_EQ(n.node(2).info().tombstones, 1u);
    EXPECT_EQ(n.run(2, {"GET", "gone"}), "$-1\r\n");
    EXPECT_EQ(n.run(2, {"GET", "k"}), wr == 1 ? "$3\r\nold\r\n" : "$3\r\nnew\r\n");
    if (wr == 2) {
      // Read repair wrote "new" to r2's log too: restarted as W=1, R=1 (answering alone), r2
      // still has it.
      n.stop(2);
      n.set_quorum(1, 1);
      n.start(2);
      EXPECT_EQ(n.run(2, {"GET", "k"}), "$3\r\nnew\r\n");
    }
  }
}

TEST_F(QuorumNodeDisk, SnapshotsCompactTheLog) {
  {
    Nodes n(dir_, {}, 2, 2, /*snapshot_every=*/50);
    for (int i = 0; i < 300; ++i)
      n.run(i % 3, {"SET", "k" + std::to_string(i % 7), std::to_string(i)});
    n.settle();
  }
  Nodes n(dir_, {}, 2, 2, 50);
  EXPECT_EQ(n.node(1).info().keys, 7u);
  EXPECT_LT(n.node(1).info().recovered_records, 50u);  // the rest came from the snapshot
  EXPECT_EQ(n.run(1, {"GET", "k6"}), "$3\r\n293\r\n");
}

}  // namespace
}  // namespace fl::db
