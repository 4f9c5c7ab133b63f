// ShardReplica nodes over a simulated network and one manual clock: client commands through
// execute(), replies captured, peers' REPL.* messages queued with a delay, faults by hand.
#include "nodes/db/shard_replica.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "common/rng.h"
#include "nodes/db/snapshot.h"

namespace fl::db {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "shard_replica_test.XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A client's reply slot: empty until the replica answers.
struct Answer {
  std::shared_ptr<std::optional<std::string>> slot = std::make_shared<std::optional<std::string>>();
  bool ready() const { return slot->has_value(); }
  const std::string& text() const { return **slot; }
};

// Records the change events a replica publishes.
class RecordingSink final : public ChangeSink {
 public:
  void publish(ChangeEvent e) override { events.push_back(std::move(e)); }
  std::string info() const override {
    return "changes_recorded:" + std::to_string(events.size()) + "\r\n";
  }
  std::vector<ChangeEvent> events;
};

struct ClusterOptions {
  size_t nodes = 3;
  ReplicationMode mode = ReplicationMode::sync;
  ReadPolicy reads = ReadPolicy::master;
  uint64_t snapshot_every = 100000;
  bool persistent = false;
  ShardBugs bugs;
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions o) : opt_(o) {
    for (size_t i = 0; i < o.nodes; ++i) {
      members_.push_back(
          {"db-s0-r" + std::to_string(i), 0, "127.0.0.1", static_cast<uint16_t>(7000 + i)});
      dirs_.push_back(std::make_unique<TempDir>());
    }
    nodes_.resize(o.nodes);
    for (size_t i = 0; i < o.nodes; ++i) sinks_.push_back(std::make_unique<RecordingSink>());
    paused_.assign(o.nodes, false);
    for (size_t i = 0; i < o.nodes; ++i) start(i);
  }

  void start(size_t i) {
    ShardOptions so;
    so.id = members_[i].id;
    so.members = opt_.nodes == 1 ? std::vector<ShardMember>{} : members_;
    so.mode = opt_.mode;
    so.reads = opt_.reads;
    so.snapshot_every = opt_.snapshot_every;
    so.seed = 42 + i;
    so.bugs = opt_.bugs;
    so.fsync = FsyncPolicy::never;
    if (opt_.persistent) so.dir = dirs_[i]->path();
    so.changes = sinks_[i].get();
    nodes_[i] = std::make_unique<ShardReplica>(
        so, clock_, [this, i](const std::string& to, std::vector<std::string> argv) {
          net_.push_back({clock_.now_ms() + 2, i, index_of(to), std::move(argv)});
        });
    auto r = nodes_[i]->open();
    ASSERT_TRUE(r) << r.error().message;
  }
  void crash(size_t i) { nodes_[i].reset(); }
  void pause(size_t i, bool p) { paused_[i] = p; }
  // Drops every message to and from node i while set.
  void isolate(size_t i, bool on) { isolated_[i] = on; }
  // Drops messages from `from` to `to` while set.
  void block(size_t from, size_t to, bool on) { blocked_[{from, to}] = on; }

  ShardReplica& node(size_t i) { return *nodes_[i]; }
  RecordingSink& sink(size_t i) { return *sinks_[i]; }
  bool up(size_t i) const { return nodes_[i] != nullptr; }
  TimeMs now() const { return clock_.now_ms(); }

  Answer exec(size_t i, std::vector<std::string> args, std::string client_name = "") {
    Answer a;
    std::vector<std::string_view> argv(args.begin(), args.end());
    nodes::Session s;
    s.name = std::move(client_name);
    nodes_[i]->execute(argv, s, [slot = a.slot](std::string r) {
      EXPECT_FALSE(slot->has_value()) << "replied twice";
      *slot = std::move(r);
    });
    return a;
  }

  void step() {
    clock_.advance(1);
    const TimeMs t = clock_.now_ms();
    std::vector<Packet> due;
    for (auto it = net_.begin(); it != net_.end();) {
      if (it->at <= t && !paused_[it->to]) {
        due.push_back(std::move(*it));
        it = net_.erase(it);
      } else {
        ++it;
      }
    }
    for (Packet& p : due) {
      if (!up(p.to) || isolated_[p.to] || isolated_[p.from] || blocked_[{p.from, p.to}]) continue;
      std::vector<std::string_view> argv(p.argv.begin(), p.argv.end());
      nodes_[p.to]->on_peer_message(argv, t);
    }
    if (t % 10 == 0) {
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (up(i) && !paused_[i]) nodes_[i]->tick(t);
      }
    }
  }
  void run(TimeMs ms) {
    for (TimeMs i = 0; i < ms; ++i) step();
  }
  template <class Pred>
  bool wait_for(Pred pred, TimeMs within) {
    for (TimeMs i = 0; i < within; ++i) {
      if (pred()) return true;
      step();
    }
    return pred();
  }
  std::optional<size_t> master() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (up(i) && !paused_[i] && nodes_[i]->core().read_refusal(now()) == Refusal::none) return i;
    }
    return std::nullopt;
  }
  size_t wait_master() {
    EXPECT_TRUE(wait_for([&] { return master().has_value(); }, 5000));
    return master().value_or(0);
  }

 private:
  struct Packet {
    TimeMs at;
    size_t from, to;
    std::vector<std::string> argv;
  };
  size_t index_of(const std::string& id) const {
    for (size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].id == id) return i;
    }
    ADD_FAILURE() << "unknown peer " << id;
    return 0;
  }

  ClusterOptions opt_;
  ManualClock clock_;
  std::vector<ShardMember> members_;
  std::vector<std::unique_ptr<TempDir>> dirs_;
  std::vector<std::unique_ptr<RecordingSink>> sinks_;
  std::vector<std::unique_ptr<ShardReplica>> nodes_;
  std::vector<bool> paused_;
  std::map<size_t, bool> isolated_;
  std::map<std::pair<size_t, size_t>, bool> blocked_;
  std::vector<Packet> net_;
};

TEST(ShardReplica, StandaloneServesAtOnceAndRecoversFromItsLog) {
  ClusterOptions o;
  o.nodes = 1;
  o.persistent = true;
  Cluster c(o);
  EXPECT_EQ(c.exec(0, {"SET", "k", "v"}).text(), "+OK\r\n");
  EXPECT_EQ(c.exec(0, {"INCR", "n"}).text(), ":1\r\n");
  EXPECT_EQ(c.exec(0, {"GET", "k"}).text(), "$1\r\nv\r\n");
  EXPECT_EQ(c.exec(0, {"PING"}).text(), "+PONG\r\n");
  c.crash(0);
  c.start(0);
  EXPECT_EQ(c.exec(0, {"GET", "k"}).text(), "$1\r\nv\r\n");
  EXPECT_EQ(c.exec(0, {"INCR", "n"}).text(), ":2\r\n");
  EXPECT_EQ(c.node(0).term(), 2u);
  const std::string info = c.exec(0, {"INFO", "persistence"}).text();
  EXPECT_NE(info.find("wal_enabled:1\r\nwal_fsync:never\r\n"), std::string::npos) << info;
}

TEST(ShardReplica, SyncWriteIsAnsweredAtCommitAndSlavesRedirect) {
  Cluster c({});
  const size_t m = c.wait_master();
  const size_t s = (m + 1) % 3;
  Answer a = c.exec(m, {"SET", "k", "v"});
  EXPECT_FALSE(a.ready());  // deferred until a majority has it
  ASSERT_TRUE(c.wait_for([&] { return a.ready(); }, 100));
  EXPECT_EQ(a.text(), "+OK\r\n");
  const std::string moved = "-MOVED 0 127.0.0.1:" + std::to_string(7000 + m) + " db-s0-r" +
                            std::to_string(m) + "\r\n";
  EXPECT_EQ(c.exec(s, {"GET", "k"}).text(), moved);
  EXPECT_EQ(c.exec(s, {"SET", "k", "w"}).text(), moved);
  EXPECT_EQ(c.exec(m, {"GET", "k"}).text(), "$1\r\nv\r\n");
  c.run(100);
  ASSERT_NE(c.node(s).store().find("k"), nullptr);  // applied on the slave too
  // ROLE on both sides, with the term last.
  const std::string term = std::to_string(c.node(m).term());
  const std::string role_m = c.exec(m, {"ROLE"}).text();
  EXPECT_EQ(role_m.rfind("*4\r\n$6\r\nmaster\r\n", 0), 0u) << role_m;
  EXPECT_NE(role_m.find(":" + term + "\r\n"), std::string::npos);
  const std::string role_s = c.exec(s, {"ROLE"}).text();
  EXPECT_EQ(role_s, "*6\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:" + std::to_string(7000 + m) +
                        "\r\n$9\r\nconnected\r\n:" +
                        std::to_string(c.node(s).core().applied_index()) + "\r\n:" + term + "\r\n");
}

TEST(ShardReplica, TheMasterPublishesOneChangeEventPerWrittenKeyWithItsOrigin) {
  Cluster c({});
  const size_t m = c.wait_master();
  std::vector<Answer> acks = {
      c.exec(m, {"SET", "a", "1"}, "cache-1"),
      c.exec(m, {"MSET", "b", "1", "c", "2"}, "cache-2"),
      c.exec(m, {"SADD", "s", "x"}),
      c.exec(m, {"INCR", "s"}, "cache-1"),  // WRONGTYPE: changes nothing, publishes nothing
      c.exec(m, {"DEL", "a", "missing"}, "cache-1"),
      c.exec(m, {"EXPIRE", "b", "100"}, "cache-3"),
  };
  ASSERT_TRUE(c.wait_for([&] { return acks.back().ready(); }, 200));
  EXPECT_EQ(acks[3].text().substr(0, 10), "-WRONGTYPE");
  c.run(100);
  struct Seen {
    std::string key, op, origin;
  };
  std::vector<Seen> seen;
  uint64_t last_index = 0;
  for (const ChangeEvent& e : c.sink(m).events) {
    seen.push_back({e.key, e.op, e.origin});
    EXPECT_EQ(e.shard, 0);
    EXPECT_GE(e.index, last_index);  // commit order
    last_index = e.index;
  }
  const std::vector<Seen> want = {{"a", "set", "cache-1"},      {"b", "mset", "cache-2"},
                                  {"c", "mset", "cache-2"},     {"s", "sadd", ""},
                                  {"a", "del", "cache-1"},      {"missing", "del", "cache-1"},
                                  {"b", "pexpireat", "cache-3"}};
  ASSERT_EQ(seen.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(seen[i].key, want[i].key) << i;
    EXPECT_EQ(seen[i].op, want[i].op) << i;
    EXPECT_EQ(seen[i].origin, want[i].origin) << i;
  }
  // Slaves apply the same entries and publish nothing.
  for (size_t i = 0; i < 3; ++i) {
    if (i != m) {
      EXPECT_TRUE(c.sink(i).events.empty()) << i;
    }
  }
  const std::string info = c.exec(m, {"INFO", "changes"}).text();
  EXPECT_NE(info.find("# Changes\r\nchanges_recorded:7\r\n"), std::string::npos) << info;
}

TEST(ShardReplica, ReplicasWithTheSameDataGiveTheSameDigest) {
  ClusterOptions o;
  o.reads = ReadPolicy::any;
  Cluster c(o);
  const size_t m = c.wait_master();
  const std::string empty = c.exec(m, {"DIGEST"}).text();
  EXPECT_EQ(empty, "$16\r\n0000000000000000\r\n");
  std::vector<Answer> acks;
  for (int i = 0; i < 50; ++i) {
    acks.push_back(c.exec(m, {"SET", "k" + std::to_string(i), "v" + std::to_string(i)}));
  }
  acks.push_back(c.exec(m, {"SADD", "set", "x", "y", "z"}));
  ASSERT_TRUE(c.wait_for([&] { return acks.back().ready(); }, 500));
  ASSERT_TRUE(c.wait_for(
      [&] {
        for (size_t i = 0; i < 3; ++i) {
          if (c.node(i).core().applied_index() != c.node(m).core().applied_index()) return false;
        }
        return true;
      },
      1000));
  const std::string digest = c.exec(m, {"DIGEST"}).text();
  EXPECT_NE(digest, empty);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(c.exec(i, {"DIGEST"}).text(), digest) << i;
  // Any change of a value, a type or a set member changes it.
  Answer w = c.exec(m, {"SREM", "set", "z"});
  ASSERT_TRUE(c.wait_for([&] { return w.ready(); }, 100));
  EXPECT_NE(c.exec(m, {"DIGEST"}).text(), digest);
}

TEST(ShardReplica, ReadsFromSlavesWhenThePolicySaysSo) {
  ClusterOptions o;
  o.reads = ReadPolicy::any;
  Cluster c(o);
  const size_t m = c.wait_master();
  const size_t s = (m + 2) % 3;
  Answer a = c.exec(m, {"SET", "k", "v"});
  ASSERT_TRUE(c.wait_for([&] { return a.ready(); }, 100));
  c.run(100);
  EXPECT_EQ(c.exec(s, {"GET", "k"}).text(), "$1\r\nv\r\n");
}

TEST(ShardReplica, RelativeExpiriesBecomeAbsoluteOnEveryReplica) {
  Cluster c({});
  const size_t m = c.wait_master();
  Answer a = c.exec(m, {"SET", "k", "v", "EX", "100"});
  Answer b = c.exec(m, {"SET", "j", "v"});
  Answer e = c.exec(m, {"PEXPIRE", "j", "5000"});
  const TimeMs at = c.now();
  ASSERT_TRUE(c.wait_for([&] { return a.ready() && b.ready() && e.ready(); }, 100));
  EXPECT_EQ(e.text(), ":1\r\n");
  c.run(200);  // replicas apply later than the master did
  for (size_t i = 0; i < 3; ++i) {
    Entry* k = c.node(i).store().find("k");
    Entry* j = c.node(i).store().find("j");
    ASSERT_NE(k, nullptr);
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(k->expire_at, at + 100'000) << i;
    EXPECT_EQ(j->expire_at, at + 5'000) << i;
  }
}

TEST(ShardReplica, MasterCrashElectsANewMasterThatHasEveryAcknowledgedWrite) {
  ClusterOptions o;
  o.persistent = true;
  Cluster c(o);
  const size_t m = c.wait_master();
  std::vector<Answer> acks;
  for (int i = 0; i < 20; ++i) acks.push_back(c.exec(m, {"SET", "k" + std::to_string(i), "v"}));
  ASSERT_TRUE(c.wait_for([&] { return acks.back().ready(); }, 200));
  c.crash(m);
  const size_t n = c.wait_master();
  EXPECT_NE(n, m);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(c.exec(n, {"GET", "k" + std::to_string(i)}).text(), "$1\r\nv\r\n");
  }
  c.start(m);  // recovers from its WAL and follows
  ASSERT_TRUE(c.wait_for(
      [&] {
        return c.node(m).role() == Role::slave &&
               c.node(m).core().applied_index() == c.node(n).core().applied_index();
      },
      2000));
  EXPECT_NE(c.node(m).store().find("k19"), nullptr);
}

TEST(ShardReplica, SlaveFarBehindGetsASnapshot) {
  ClusterOptions o;
  o.persistent = true;
  o.snapshot_every = 10;
  Cluster c(o);
  const size_t m = c.wait_master();
  const size_t s = (m + 1) % 3;
  c.crash(s);
  std::vector<Answer> acks;
  for (int i = 0; i < 60; ++i) {
    acks.push_back(c.exec(m, {"SADD", "set", std::to_string(i)}));
    c.step();
  }
  ASSERT_TRUE(c.wait_for([&] { return acks.back().ready(); }, 200));
  ASSERT_GT(c.node(m).core().first_index(), 1u);  // compacted
  c.start(s);
  ASSERT_TRUE(c.wait_for(
      [&] {
        Entry* e = c.node(s).store().find("set");
        return e && e->set() && e->set()->size() == 60;
      },
      2000));
  EXPECT_GT(c.node(s).core().first_index(), 1u);  // its log starts at the snapshot
}

TEST(ShardReplica, PausedMasterRefusesReadsThenRedirects) {
  Cluster c({});
  const size_t m = c.wait_master();
  Answer a = c.exec(m, {"SET", "k", "old"});
  ASSERT_TRUE(c.wait_for([&] { return a.ready(); }, 100));
  c.pause(m, true);
  ASSERT_TRUE(c.wait_for([&] { return c.master().has_value(); }, 2000));
  const size_t n = *c.master();
  Answer b = c.exec(n, {"SET", "k", "new"});
  ASSERT_TRUE(c.wait_for([&] { return b.ready(); }, 100));
  c.pause(m, false);
  // Resumed, before it hears of the new master: it must not serve the stale value.
  EXPECT_EQ(c.node(m).role(), Role::master);
  EXPECT_EQ(c.exec(m, {"GET", "k"}).text().rfind("-TRYAGAIN", 0), 0u);
  EXPECT_EQ(c.exec(m, {"SET", "k", "x"}).text().rfind("-TRYAGAIN", 0), 0u);
  ASSERT_TRUE(c.wait_for([&] { return c.node(m).role() == Role::slave; }, 1000));
  EXPECT_EQ(c.exec(m, {"GET", "k"}).text(),
            "-MOVED 0 127.0.0.1:" + std::to_string(7000 + n) + " db-s0-r" + std::to_string(n) +
                "\r\n");
}

TEST(ShardReplica, NoFencingBugServesStaleReadsFromAPausedMaster) {
  ClusterOptions o;
  o.bugs.no_fencing = true;
  Cluster c(o);
  const size_t m = c.wait_master();
  Answer a = c.exec(m, {"SET", "k", "old"});
  ASSERT_TRUE(c.wait_for([&] { return a.ready(); }, 100));
  c.pause(m, true);
  ASSERT_TRUE(c.wait_for([&] { return c.master().has_value() && *c.master() != m; }, 2000));
  Answer b = c.exec(*c.master(), {"SET", "k", "new"});
  ASSERT_TRUE(c.wait_for([&] { return b.ready(); }, 100));
  c.pause(m, false);
  EXPECT_EQ(c.exec(m, {"GET", "k"}).text(), "$3\r\nold\r\n");  // the bug: a stale read
}

// A write logged by a master that then loses its majority: its fate decides its reply.
TEST(ShardReplica, DeferredReplyTruncatedWriteGetsTryagain) {
  Cluster c({});
  const size_t m = c.wait_master();
  c.isolate(m, true);
  Answer a = c.exec(m, {"SET", "k", "lost"});
  EXPECT_FALSE(a.ready());
  ASSERT_TRUE(c.wait_for([&] { return c.master().has_value() && *c.master() != m; }, 2000));
  const size_t n = *c.master();
  Answer b = c.exec(n, {"SET", "k", "kept"});
  ASSERT_TRUE(c.wait_for([&] { return b.ready(); }, 100));
  EXPECT_FALSE(a.ready());
  c.isolate(m, false);
  ASSERT_TRUE(c.wait_for([&] { return a.ready(); }, 900));
  EXPECT_EQ(a.text().rfind("-TRYAGAIN", 0), 0u) << a.text();
  EXPECT_EQ(c.node(m).pending_replies(), 0u);
}

TEST(ShardReplica, DeferredReplyCommittedByTheNextMasterGetsItsRealReply) {
  Cluster c({});
  const size_t m = c.wait_master();
  // The slaves get the master's Appends, but their answers never come back.
  for (size_t i = 0; i < 3; ++i) {
    if (i != m) c.block(i, m, true);
  }
  Answer a = c.exec(m, {"INCR", "n"});
  c.run(50);
  EXPECT_FALSE(a.ready());
  ASSERT_TRUE(c.wait_for([&] { return c.node(m).role() != Role::master; }, 2000));
  ASSERT_TRUE(c.wait_for([&] { return c.master().has_value(); }, 2000));
  for (size_t i = 0; i < 3; ++i) c.block(i, m, false);
  ASSERT_TRUE(c.wait_for([&] { return a.ready(); }, 900));
  EXPECT_EQ(a.text(), ":1\r\n");
}

TEST(ShardReplica, DeferredReplyWithUnknownFateGetsNoquorumAfterASecond) {
  Cluster c({});
  const size_t m = c.wait_master();
  c.isolate(m, true);
  Answer a = c.exec(m, {"SET", "k", "v"});
  ASSERT_TRUE(c.wait_for([&] { return c.node(m).role() != Role::master; }, 2000));
  const TimeMs stepped_down = c.now();
  ASSERT_TRUE(c.wait_for([&] { return a.ready(); }, 1100));
  EXPECT_GE(c.now() - stepped_down, 990);
  EXPECT_EQ(a.text().rfind("-NOQUORUM", 0), 0u) << a.text();
}

TEST(ShardReplica, ClusterDownWhileNoMasterIsKnown) {
  Cluster c({});
  EXPECT_EQ(c.exec(0, {"SET", "k", "v"}).text(), "-CLUSTERDOWN shard 0 has no master\r\n");
}

TEST(ShardReplica, AsyncAcknowledgesAfterTheLocalLog) {
  ClusterOptions o;
  o.mode = ReplicationMode::async;
  Cluster c(o);
  const size_t m = c.wait_master();
  c.isolate(m, true);
  EXPECT_EQ(c.exec(m, {"SET", "k", "v"}).text(), "+OK\r\n");  // no slave has it
}

// The deposed async master applied a write no one else has: on rejoining it drops its state and
// resyncs from the new master's snapshot, and the acknowledged write is gone.
TEST(ShardReplica, AsyncRollbackResyncsTheDeposedMasterFromASnapshot) {
  ClusterOptions o;
  o.mode = ReplicationMode::async;
  o.persistent = true;
  Cluster c(o);
  const size_t m = c.wait_master();
  Answer first = c.exec(m, {"SET", "a", "1"});
  c.run(100);
  c.isolate(m, true);
  EXPECT_EQ(c.exec(m, {"SET", "lost", "v"}).text(), "+OK\r\n");
  ASSERT_TRUE(c.wait_for([&] { return c.master().has_value() && *c.master() != m; }, 2000));
  const size_t n = *c.master();
  EXPECT_EQ(c.exec(n, {"SET", "b", "2"}).text(), "+OK\r\n");
  c.isolate(m, false);
  ASSERT_TRUE(c.wait_for([&] { return c.node(m).store().find("b") != nullptr; }, 2000));
  EXPECT_EQ(c.node(m).store().find("lost"), nullptr);
  EXPECT_NE(c.node(m).store().find("a"), nullptr);
  EXPECT_EQ(c.node(m).role(), Role::slave);
  EXPECT_GT(c.node(m).core().first_index(), 1u);  // its log now starts at the snapshot
  // It restarts from the resynced state, not from the rolled-back log.
  c.crash(m);
  c.start(m);
  c.run(500);
  EXPECT_EQ(c.node(m).store().find("lost"), nullptr);
  EXPECT_NE(c.node(m).store().find("b"), nullptr);
}

TEST(ShardReplica, AckBeforeLogBugLosesAnAcknowledgedWriteOnCrash) {
  ClusterOptions o;
  o.nodes = 1;
  o.persistent = true;
  o.bugs.ack_before_log = true;
  Cluster c(o);
  c.run(300);
  EXPECT_EQ(c.exec(0, {"SET", "k", "v"}).text(), "+OK\r\n");  // before any log write
  c.crash(0);
  c.start(0);
  EXPECT_EQ(c.exec(0, {"GET", "k"}).text(), "$-1\r\n");
}

TEST(ShardReplica, InfoReplicationShowsOffsetsAndSlaves) {
  Cluster c({});
  const size_t m = c.wait_master();
  Answer a = c.exec(m, {"SET", "k", "v"});
  ASSERT_TRUE(c.wait_for([&] { return a.ready(); }, 100));
  c.run(100);
  const std::string info = c.exec(m, {"INFO", "replication"}).text();
  for (const char* needle : {"role:master\r\n", "connected_slaves:2\r\n", "slave0:id=db-s0-r",
                             "lease_ms_left:", "commit_offset:"}) {
    EXPECT_NE(info.find(needle), std::string::npos) << needle << "\n" << info;
  }
}

// Random faults (crash + restart from the WAL, isolation, pause) on a persistent 3-node sync
// group, one node at a time. Returns how many acknowledged writes some node lacks at the end.
struct RandomRun {
  size_t acked = 0;
  size_t lost = 0;
  std::string first_lost;
  bool converged = false;  // every node's keyspace is the same at the end
};

RandomRun run_random(uint64_t seed, ShardBugs bugs, ReplicationMode mode = ReplicationMode::sync) {
  ClusterOptions o;
  o.mode = mode;
  o.persistent = true;
  o.snapshot_every = 400;
  o.bugs = bugs;
  Cluster c(o);
  Rng rng(seed);
  std::vector<std::pair<std::string, Answer>> writes;
  int next = 0;
  std::optional<size_t> faulty;
  int kind = 0;
  int next_change = 300;
  for (int t = 0; t < 8000; ++t) {
    if (t == next_change) {
      next_change += static_cast<int>(rng.uniform(150, 600));
      if (faulty) {
        if (kind == 0) c.start(*faulty);
        if (kind == 1) c.isolate(*faulty, false);
        if (kind == 2) c.pause(*faulty, false);
        faulty.reset();
      } else if (rng.chance(0.6)) {
        // Mostly the master: that is where acknowledged writes are at risk.
        auto m = c.master();
        faulty = m && rng.chance(0.7) ? *m : rng.uniform(0, 2);
        kind = static_cast<int>(rng.uniform(0, 2));
        if (kind == 0) c.crash(*faulty);
        if (kind == 1) c.isolate(*faulty, true);
        if (kind == 2) c.pause(*faulty, true);
      }
    }
    for (size_t i = 0; i < 3; ++i) {
      if (!c.up(i) || c.node(i).role() != Role::master || !rng.chance(0.3)) continue;
      const std::string key = "k" + std::to_string(next++);
      writes.emplace_back(key, c.exec(i, {"SET", key, "v"}));
    }
    c.step();
  }
  if (faulty) {
    if (kind == 0) c.start(*faulty);
    c.isolate(*faulty, false);
    c.pause(*faulty, false);
  }
  c.run(3000);
  RandomRun out;
  out.converged = encode_store(c.node(0).store()) == encode_store(c.node(1).store()) &&
                  encode_store(c.node(0).store()) == encode_store(c.node(2).store());
  for (auto& [key, a] : writes) {
    if (!a.ready() || a.text() != "+OK\r\n") continue;
    ++out.acked;
    for (size_t i = 0; i < 3; ++i) {
      if (c.node(i).store().find(key) == nullptr) {
        if (out.lost++ == 0) out.first_lost = key + " on db-s0-r" + std::to_string(i);
      }
    }
  }
  return out;
}

TEST(ShardReplica, RandomFaultsLoseNoAcknowledgedWrite) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const RandomRun r = run_random(seed, {});
    EXPECT_EQ(r.lost, 0u) << "seed " << seed << ": first lost " << r.first_lost;
    EXPECT_TRUE(r.converged) << "seed " << seed;
    EXPECT_GT(r.acked, 100u) << "seed " << seed;
  }
}

// Async mode may lose acknowledged writes, but the replicas still end up identical.
TEST(ShardReplica, AsyncRandomFaultsConverge) {
  size_t lost = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const RandomRun r = run_random(seed, {}, ReplicationMode::async);
    EXPECT_TRUE(r.converged) << "seed " << seed;
    EXPECT_GT(r.acked, 100u) << "seed " << seed;
    lost += r.lost;
  }
  std::cout << "async: acknowledged writes missing at the end over 4 seeds: " << lost << "\n";
}

// The same schedules find the seeded bugs: acknowledged writes go missing.
TEST(ShardReplica, RandomFaultsCatchTheAckBugs) {
  for (int bug = 0; bug < 2; ++bug) {
    ShardBugs b;
    (bug == 0 ? b.ack_before_majority : b.ack_before_log) = true;
    uint64_t caught = 0;
    for (uint64_t seed = 1; seed <= 10 && caught == 0; ++seed) {
      if (run_random(seed, b).lost > 0) caught = seed;
    }
    EXPECT_NE(caught, 0u) << (bug == 0 ? "ack-before-majority" : "ack-before-log")
                          << " lost nothing on 10 seeds";
  }
}

}  // namespace
}  // namespace fl::db
