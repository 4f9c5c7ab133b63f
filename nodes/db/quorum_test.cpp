#include "nodes/db/quorum.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace fl::db::quorum {
namespace {

// ---- a fake network of coordinators with fake time ----

// Time is in microseconds; every node's physical clock is the fake time plus its skew. Messages
// travel through the argv codec (as on the wire) with a random delay each, so they reorder.
class Cluster {
 public:
  struct Config {
    int members = 3, n = 3, w = 2, r = 2;
    int64_t timeout_ms = 500;
    int64_t min_delay_us = 50, max_delay_us = 2000;
    bool bug_read_one = false;
    uint64_t seed = 1;
  };

  explicit Cluster(Config c) : cfg_(c), rng_(c.seed) {
    for (int i = 0; i < cfg_.members; ++i) ids_.push_back("db-s0-r" + std::to_string(i));
    for (const std::string& id : ids_) start(id);
  }

  Coordinator& node(const std::string& id) { return *nodes_.at(id); }
  Coordinator& node(int i) { return node(ids_[i]); }
  const std::vector<std::string>& ids() const { return ids_; }
  int64_t now_us() const { return now_us_; }
  int64_t now_ms() const { return now_us_ / 1000; }
  bool up(const std::string& id) const { return !down_.contains(id); }
  std::mt19937_64& rng() { return rng_; }
  void set_skew(const std::string& id, int64_t us) { skew_[id] = us; }

  // Messages from `a` to `b` are held (delivered at heal) while the pair is blocked.
  void block(const std::string& a, const std::string& b) { blocked_.insert({a, b}); }
  // Holds the messages from `a` to `b` already in flight (later ones pass).
  void hold_in_flight(const std::string& a, const std::string& b) {
    decltype(queue_) keep;
    while (!queue_.empty()) {
      Msg m = queue_.top();
      queue_.pop();
      if (m.from == a && m.to == b) {
        held_.push_back(std::move(m));
      } else {
        keep.push(std::move(m));
      }
    }
    queue_ = std::move(keep);
  }
  void drop_held() { held_.clear(); }
  void heal() {
    blocked_.clear();
    for (auto& m : held_) queue_.push(std::move(m));
    held_.clear();
  }

  // Crash: the node's memory, its pending requests and the messages in flight to it are lost;
  // what it persisted stays.
  void crash(const std::string& id) {
    down_.insert(id);
    nodes_.erase(id);
  }
  // Restart from what the node persisted (every record it applied, replayed in order).
  void restart(const std::string& id) {
    down_.erase(id);
    start(id);
    ReplicaStore& store = nodes_.at(id)->store();
    ASSERT_TRUE(decode_entries(disk_[id], store).has_value());
    nodes_.at(id)->clock().observe(store.max_version().ts, physical(id));
  }

  // Advances time to the next message (or by `idle_us`), delivering and ticking.
  void step(int64_t idle_us = 1000) {
    int64_t next = now_us_ + idle_us;
    if (!queue_.empty()) next = std::min(next, queue_.top().at);
    now_us_ = std::max(now_us_, next);
    while (!queue_.empty() && queue_.top().at <= now_us_) {
      Msg m = queue_.top();
      queue_.pop();
      if (!up(m.to)) continue;
      std::vector<std::string_view> argv(m.argv.begin(), m.argv.end());
      auto decoded = decode(argv);
      ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
      nodes_.at(m.to)->on_message(*decoded, now_ms());
    }
    for (auto& [id, n] : nodes_) n->tick(now_ms());
  }
  template <class Pred>
  bool run_until(Pred done, int64_t max_us = 10'000'000) {
    const int64_t end = now_us_ + max_us;
    while (!done() && now_us_ < end) step();
    return done();
  }
  void settle() {
    run_until([&] { return queue_.empty(); });
  }

  uint64_t messages_sent() const { return sent_; }

  // How many of the key's replicas hold `v` or newer: in memory, or on disk when crashed.
  int holding(const std::string& key, const Version& v) {
    int n = 0;
    for (const std::string& id : nodes_.begin()->second->preference_list(key)) {
      const Record* r = nullptr;
      ReplicaStore recovered;
      if (up(id)) {
        r = nodes_.at(id)->store().find(key);
      } else {
        EXPECT_TRUE(decode_entries(disk_[id], recovered).has_value());
        r = recovered.find(key);
      }
      n += r && v <= r->version ? 1 : 0;
    }
    return n;
  }

 private:
  struct Msg {
    int64_t at;
    uint64_t seq;
    std::string from;
    std::string to;
    std::vector<std::string> argv;
    bool operator>(const Msg& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  int64_t physical(const std::string& id) { return now_us_ + skew_[id]; }

  void start(const std::string& id) {
    CoordinatorOptions o;
    o.self = id;
    o.members = ids_;
    o.n = cfg_.n;
    o.w = cfg_.w;
    o.r = cfg_.r;
    o.timeout_ms = cfg_.timeout_ms;
    o.bug_read_one = cfg_.bug_read_one;
    nodes_[id] = std::make_unique<Coordinator>(
        o, [this, id] { return physical(id); },
        [this, id](const std::string& to, const PeerMessage& m) {
          EXPECT_NE(to, id);
          EXPECT_EQ(m.from, id);
          ++sent_;
          // Heavy tail: one message in five is ten times slower, so messages overtake each other.
          std::uniform_int_distribution<int64_t> d(cfg_.min_delay_us, cfg_.max_delay_us);
          const int64_t delay = d(rng_) * (std::uniform_int_distribution<int>(0, 4)(rng_) ? 1 : 10);
          Msg msg{now_us_ + delay, seq_++, id, to, encode(m)};
          if (blocked_.contains({id, to})) {
            held_.push_back(std::move(msg));
          } else {
            queue_.push(std::move(msg));
          }
        },
        [this, id](std::string_view key, const Record& r) {
          disk_[id] += encode_entry(key, r);
          return true;
        },
        static_cast<uint64_t>(now_us_) * 1000 + 1);
  }

  Config cfg_;
  std::mt19937_64 rng_;
  std::vector<std::string> ids_;
  std::map<std::string, std::unique_ptr<Coordinator>> nodes_;
  std::map<std::string, std::string> disk_;
  std::map<std::string, int64_t> skew_;
  std::set<std::string> down_;
  std::set<std::pair<std::string, std::string>> blocked_;
  std::vector<Msg> held_;
  std::priority_queue<Msg, std::vector<Msg>, std::greater<>> queue_;
  int64_t now_us_ = 1'700'000'000'000'000;
  uint64_t seq_ = 0;
  uint64_t sent_ = 0;
};

// Synchronous helpers: start an operation and run the network until it completes.
WriteResult write(Cluster& c, int node, const std::string& key, std::optional<std::string> v) {
  std::optional<WriteResult> res;
  c.node(node).write(key, std::move(v), c.now_ms(), [&](const WriteResult& r) { res = r; });
  EXPECT_TRUE(c.run_until([&] { return res.has_value(); }));
  return res.value_or(WriteResult{});
}
ReadResult read(Cluster& c, int node, const std::string& key) {
  std::optional<ReadResult> res;
  c.node(node).read(key, c.now_ms(), [&](const ReadResult& r) { res = r; });
  EXPECT_TRUE(c.run_until([&] { return res.has_value(); }));
  return res.value_or(ReadResult{});
}

// ---- random workload with a staleness check ----

struct Tally {
  int writes_ok = 0, reads_ok = 0, no_quorum = 0, stale_reads = 0, crashes = 0;
  // Reads that returned a version then held by fewer than W replicas (so a later read quorum
  // could miss it). Counted only where W + R > N promises otherwise.
  int unrepaired_reads = 0;
  std::string first_stale;
};

// Clients issue writes of unique values and reads at random coordinators, with random message
// delays; optionally a random replica crashes and restarts from its log during the run. A read
// is stale when it returns a version older than a write acknowledged before the read started,
// or older than what an earlier completed read returned (monotonic reads). With synchronized
// clocks, version order is real-time order for non-overlapping writes, so this is exactly "the
// read missed an acknowledged write".
Tally random_run(Cluster::Config cfg, bool with_crashes, int ops = 400) {
  Cluster c(cfg);
  auto& rng = c.rng();
  // Few keys and several clients at once: many reads overlap writes still in flight.
  const std::vector<std::string> keys = {"k0", "k1"};
  // Per key: the largest version acknowledged (by a write ack or a read return), and when.
  struct Seen {
    Version version;
    int64_t at_us = 0;
  };
  std::map<std::string, std::vector<Seen>> completed;
  Tally t;
  int inflight = 0, issued = 0, value_seq = 0;
  std::string crashed;
  int64_t restart_at = 0;

  auto floor_at = [&](const std::string& key, int64_t invoked_us) {
    Version v;
    for (const Seen& s : completed[key]) {
      if (s.at_us < invoked_us && v < s.version) v = s.version;
    }
    return v;
  };

  while (issued < ops || inflight > 0) {
    if (issued < ops && inflight < 6 && std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
      std::vector<int> live;
      for (int i = 0; i < static_cast<int>(c.ids().size()); ++i) {
        if (c.up(c.ids()[i])) live.push_back(i);
      }
      const int node = live[std::uniform_int_distribution<size_t>(0, live.size() - 1)(rng)];
      const std::string key = keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)];
      const int64_t invoked = c.now_us();
      ++issued;
      ++inflight;
      if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) {
        c.node(node).write(key, "v" + std::to_string(++value_seq), c.now_ms(),
                           [&, key](const WriteResult& r) {
                             --inflight;
                             if (r.outcome != Outcome::ok) {
                               ++t.no_quorum;
                               return;
                             }
                             ++t.writes_ok;
                             completed[key].push_back({r.version, c.now_us()});
                           });
      } else {
        c.node(node).read(key, c.now_ms(), [&, key, invoked](const ReadResult& r) {
          --inflight;
          if (r.outcome != Outcome::ok) {
            ++t.no_quorum;
            return;
          }
          ++t.reads_ok;
          if (cfg.w + cfg.r > cfg.n && r.version != Version{} &&
              c.holding(key, r.version) < cfg.w) {
            ++t.unrepaired_reads;
          }
          const Version floor = floor_at(key, invoked);
          if (r.version < floor) {
            if (t.stale_reads++ == 0) {
              t.first_stale = key + " read " + (r.value ? *r.value : "nil") + " older than " +
                              std::to_string(floor.ts.physical) + "." + floor.writer;
            }
          }
          completed[key].push_back({r.version, c.now_us()});
        });
      }
    }
    if (with_crashes) {
      if (crashed.empty() && std::uniform_int_distribution<int>(0, 150)(rng) == 0) {
        crashed = c.ids()[std::uniform_int_distribution<size_t>(0, c.ids().size() - 1)(rng)];
        // Requests the crashed node was coordinating never complete: their clients give up.
        inflight -= static_cast<int>(c.node(crashed).pending());
        c.crash(crashed);
        ++t.crashes;
        restart_at = c.now_us() + std::uniform_int_distribution<int64_t>(1000, 30000)(rng);
      } else if (!crashed.empty() && c.now_us() >= restart_at) {
        c.restart(crashed);
        crashed.clear();
      }
    }
    c.step(300);
  }
  return t;
}

TEST(QuorumRandom, OverlappingQuorumsNeverReadStaleAcrossDelaysAndCrashes) {
  int writes = 0, reads = 0, crashes = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    Cluster::Config cfg;
    cfg.seed = seed;
    const Tally t = random_run(cfg, /*with_crashes=*/seed % 2 == 0);
    EXPECT_EQ(t.stale_reads, 0) << "seed " << seed << ": " << t.first_stale;
    EXPECT_EQ(t.unrepaired_reads, 0) << "seed " << seed;
    writes += t.writes_ok;
    reads += t.reads_ok;
    crashes += t.crashes;
  }
  // Not vacuous: plenty of operations completed, and replicas did crash.
  EXPECT_GT(writes, 2000);
  EXPECT_GT(reads, 2000);
  EXPECT_GT(crashes, 20);
}

TEST(QuorumRandom, FiveNodesNThreeWTwoRTwoNeverStale) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Cluster::Config cfg;
    cfg.members = 5;
    cfg.seed = seed;
    const Tally t = random_run(cfg, true);
    EXPECT_EQ(t.stale_reads, 0) << "seed " << seed << ": " << t.first_stale;
    EXPECT_EQ(t.unrepaired_reads, 0) << "seed " << seed;
    EXPECT_GT(t.reads_ok, 50);
  }
}

TEST(QuorumRandom, WOneROneReadsStale) {
  int stale = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Cluster::Config cfg;
    cfg.w = 1;
    cfg.r = 1;
    cfg.seed = seed;
    stale += random_run(cfg, true).stale_reads;
  }
  // The same checker that finds nothing above finds stale reads here.
  EXPECT_GT(stale, 0);
}

TEST(QuorumRandom, ReadOneBugReadsStale) {
  int stale = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Cluster::Config cfg;
    cfg.bug_read_one = true;
    cfg.seed = seed;
    stale += random_run(cfg, true).stale_reads;
  }
  EXPECT_GT(stale, 0);
}

// ---- deterministic scenarios ----

TEST(Quorum, WriteThenReadOnEveryNode) {
  Cluster c({});
  EXPECT_EQ(write(c, 0, "k", "a").outcome, Outcome::ok);
  for (int i = 0; i < 3; ++i) {
    const ReadResult r = read(c, i, "k");
    EXPECT_EQ(r.outcome, Outcome::ok);
    EXPECT_EQ(r.value, "a");
  }
  EXPECT_EQ(read(c, 1, "missing").value, std::nullopt);
}

TEST(Quorum, DeleteLeavesATombstoneAndReportsWhetherThereWasAValue) {
  Cluster c({});
  EXPECT_FALSE(write(c, 0, "k", std::nullopt).had_value);
  write(c, 0, "k", "a");
  EXPECT_TRUE(write(c, 1, "k", std::nullopt).had_value);
  c.settle();
  EXPECT_EQ(read(c, 2, "k").value, std::nullopt);
  const Record* rec = c.node(2).store().find("k");
  ASSERT_NE(rec, nullptr);
  EXPECT_FALSE(rec->value.has_value());
  EXPECT_EQ(c.node(2).store().tombstones(), 1u);
}

// A replica that missed writes (down while they happened) is stale; with W=1, R=1 a read that
// asks only it returns the stale value; the correct N=3, W=2, R=2 read repairs it.
TEST(Quorum, RestartedReplicaIsStaleUntilReadRepair) {
  for (int w_r : {1, 2}) {
    Cluster c({.w = w_r, .r = w_r});
    write(c, 0, "k", "old");
    c.settle();
    c.crash("db-s0-r2");
    EXPECT_EQ(write(c, 0, "k", "new").outcome, Outcome::ok);
    c.settle();
    c.restart("db-s0-r2");
    ASSERT_EQ(c.node(2).store().find("k")->value, "old");  // recovered, but missed "new"
    const ReadResult r = read(c, 2, "k");
    if (w_r == 1) {
      EXPECT_EQ(r.value, "old") << "W=1,R=1: the restarted coordinator answers alone";
    } else {
      EXPECT_EQ(r.value, "new");
      // Blocking read repair: by the time the read answered, the stale replica had the value.
      EXPECT_EQ(c.node(2).store().find("k")->value, "new");
      EXPECT_GT(c.node(2).stats().repairs_sent, 0u);
    }
  }
}

TEST(Quorum, ReadRepairFixesARemoteStaleReplicaBeforeAnswering) {
  Cluster c({});
  write(c, 0, "k", "old");
  c.settle();
  // r2 misses the next write (its messages are held).
  c.block("db-s0-r0", "db-s0-r2");
  write(c, 0, "k", "new");
  EXPECT_EQ(c.node(2).store().find("k")->value, "old");
  // A read coordinated by r1 that hears r2 and not r0: r1 itself (new) and r2 (old) answer.
  c.block("db-s0-r1", "db-s0-r0");
  std::optional<ReadResult> res;
  std::optional<std::string> r2_at_answer;
  c.node(1).read("k", c.now_ms(), [&](const ReadResult& r) {
    res = r;
    r2_at_answer = c.node(2).store().find("k")->value;
  });
  ASSERT_TRUE(c.run_until([&] { return res.has_value(); }));
  EXPECT_EQ(res->value, "new");
  EXPECT_EQ(r2_at_answer, "new");  // repaired before the read answered
}

// A replica that answers after the read was answered, with an older version, is repaired in the
// background.
TEST(Quorum, LateAnswersAreRepairedInTheBackground) {
  Cluster c({});
  write(c, 0, "k", "old");
  c.settle();
  c.block("db-s0-r0", "db-s0-r2");
  write(c, 0, "k", "new");
  c.drop_held();  // r2 never gets "new"
  c.heal();
  c.block("db-s0-r2", "db-s0-r0");  // r2's answer to the next read comes late
  EXPECT_EQ(read(c, 0, "k").value, "new");
  EXPECT_EQ(c.node(2).store().find("k")->value, "old");
  EXPECT_EQ(c.node(0).stats().late_repairs, 0u);
  c.heal();
  c.settle();
  EXPECT_EQ(c.node(0).stats().late_repairs, 1u);
  EXPECT_EQ(c.node(2).store().find("k")->value, "new");
}

// A write that reached only one replica (the others unreachable) is not acknowledged; a read
// that sees it must write it back to a quorum before returning it, so that no later read goes
// back to the old value.
TEST(Quorum, AReadThatSawAPartialWriteIsNeverUndone) {
  Cluster c({.timeout_ms = 50});
  write(c, 0, "k", "old");
  c.settle();
  c.block("db-s0-r0", "db-s0-r1");
  c.block("db-s0-r0", "db-s0-r2");
  EXPECT_EQ(write(c, 0, "k", "partial").outcome, Outcome::no_quorum);
  c.heal();
  c.block("db-s0-r0", "db-s0-r1");  // the put to r1 stays lost; r1 will be repaired by reads
  // r0 coordinates a read: itself (partial) and another replica answer.
  const ReadResult first = read(c, 0, "k");
  ASSERT_EQ(first.value, "partial");
  // Any two replicas now include one holding "partial".
  EXPECT_GE((c.node(1).store().find("k")->value == "partial") +
                (c.node(2).store().find("k")->value == "partial"),
            1);
  c.crash("db-s0-r0");
  EXPECT_EQ(read(c, 1, "k").value, "partial");
  EXPECT_EQ(read(c, 2, "k").value, "partial");
}

// A read overlapping a write in flight sees the new value on one replica and the old one on
// another. Returning the new value is fine only once it is written back: otherwise, should the
// writer die, a read right after (asking the other two replicas) returns the old value again.
TEST(Quorum, ReadsOverlappingAWriteInFlightAreMonotonic) {
  Cluster c({});
  write(c, 0, "k", "old");
  c.settle();
  std::optional<WriteResult> w;
  c.node(0).write("k", "new", c.now_ms(), [&](const WriteResult& r) { w = r; });
  c.hold_in_flight("db-s0-r0", "db-s0-r1");  // the write's puts are slow
  c.hold_in_flight("db-s0-r0", "db-s0-r2");
  std::optional<ReadResult> first;
  int holding_at_answer = 0;
  c.node(0).read("k", c.now_ms(), [&](const ReadResult& r) {
    first = r;
    holding_at_answer = c.holding("k", r.version);
  });
  ASSERT_TRUE(c.run_until([&] { return first.has_value(); }));
  ASSERT_EQ(first->value, "new");
  EXPECT_GE(holding_at_answer, 2);  // r0 and the replica(s) it repaired
  EXPECT_GT(c.node(0).stats().repairs_sent, 0u);
  c.crash("db-s0-r0");  // the writer dies; its held puts are never delivered
  EXPECT_EQ(read(c, 1, "k").value, "new");
  EXPECT_EQ(read(c, 2, "k").value, "new");
  EXPECT_FALSE(w.has_value());
}

TEST(Quorum, TimeoutsAnswerNoQuorum) {
  Cluster c({.timeout_ms = 100});
  write(c, 0, "k", "a");
  c.settle();
  c.crash("db-s0-r1");
  c.crash("db-s0-r2");
  const int64_t start = c.now_ms();
  const WriteResult w = write(c, 0, "k", "b");
  EXPECT_EQ(w.outcome, Outcome::no_quorum);
  EXPECT_GE(c.now_ms() - start, 100);
  EXPECT_EQ(read(c, 0, "k").outcome, Outcome::no_quorum);
  EXPECT_EQ(c.node(0).pending(), 0u);
  EXPECT_EQ(c.node(0).stats().writes_no_quorum, 1u);
  EXPECT_EQ(c.node(0).stats().reads_no_quorum, 1u);
  // With one replica back the quorum is met again.
  c.restart("db-s0-r1");
  EXPECT_EQ(write(c, 0, "k", "c").outcome, Outcome::ok);
  EXPECT_EQ(read(c, 1, "k").value, "c");
}

TEST(Quorum, ReadOneBugAnswersStaleWhereTheCorrectReadDoesNot) {
  for (bool bug : {false, true}) {
    Cluster c({.bug_read_one = bug});
    write(c, 0, "k", "old");
    c.settle();
    c.crash("db-s0-r2");
    write(c, 0, "k", "new");
    c.settle();
    c.restart("db-s0-r2");
    EXPECT_EQ(read(c, 2, "k").value, bug ? "old" : "new") << "bug " << bug;
  }
}

TEST(Quorum, CoordinatorOutsideThePreferenceListForwardsEverything) {
  Cluster c({.members = 5, .n = 3});
  // Find a key whose preference list does not contain node 0.
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string k = "key" + std::to_string(i);
    const auto pl = c.node(0).preference_list(k);
    ASSERT_EQ(pl.size(), 3u);
    if (std::find(pl.begin(), pl.end(), "db-s0-r0") == pl.end()) key = k;
  }
  EXPECT_EQ(write(c, 0, key, "x").outcome, Outcome::ok);
  EXPECT_EQ(c.node(0).store().find(key), nullptr);
  EXPECT_EQ(read(c, 0, key).value, "x");
}

// ---- the hybrid logical clock ----

TEST(HybridClock, NeverGoesBackwards) {
  HybridClock c;
  const Timestamp a = c.tick(100);
  const Timestamp b = c.tick(50);  // the physical clock stepped back
  const Timestamp d = c.tick(100);
  EXPECT_LT(a, b);
  EXPECT_LT(b, d);
  const Timestamp e = c.observe({500, 7}, 100);  // a peer ahead of us
  EXPECT_GT(e, (Timestamp{500, 7}));
  EXPECT_LT(d, e);
  EXPECT_GT(c.tick(101), e);
  EXPECT_EQ(c.tick(1000), (Timestamp{1000, 0}));  // back to physical time once it catches up
}

// Across nodes with skewed clocks: a write coordinated by a node whose clock is far behind, made
// after it heard from the node that wrote last, still gets the larger version.
TEST(HybridClock, CausallyLaterWritesWinDespiteSkew) {
  Cluster c({});
  c.set_skew("db-s0-r1", -5'000'000);  // 5 s behind
  const WriteResult first = write(c, 0, "k", "first");
  c.settle();
  const ReadResult seen = read(c, 1, "k");  // r1 hears r0's clock through the messages
  ASSERT_EQ(seen.value, "first");
  const WriteResult second = write(c, 1, "k", "second");
  EXPECT_LT(first.version, second.version);
  EXPECT_EQ(read(c, 2, "k").value, "second");
  // Every node's clock is ahead of every version it stored.
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(c.node(i).clock().last(), c.node(i).store().max_version().ts);
  }
}

// ---- codec ----

TEST(QuorumCodec, RoundTripsEveryMessage) {
  const Record rec{Version{{1700000000123456, 3}, "db-s0-r1"}, std::string("va\r\nl ue")};
  const Record tomb{Version{{42, 0}, "n.with.dots"}, std::nullopt};
  const std::vector<PeerMessage> msgs = {
      {"a", {1, 2}, PutMsg{7, "key", rec}},    {"a", {1, 2}, PutMsg{8, "", tomb}},
      {"b", {3, 0}, PutAckMsg{9, true}},       {"c", {4, 5}, GetMsg{10, "k e y"}},
      {"d", {6, 7}, GotMsg{11, rec}},          {"d", {6, 7}, GotMsg{12, tomb}},
      {"d", {6, 7}, GotMsg{13, std::nullopt}},
  };
  for (const PeerMessage& m : msgs) {
    const std::vector<std::string> argv = encode(m);
    EXPECT_TRUE(is_peer_command(argv[0]));
    const std::vector<std::string_view> views(argv.begin(), argv.end());
    auto back = decode(views);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(back->from, m.from);
    EXPECT_EQ(back->hlc, m.hlc);
    EXPECT_EQ(encode(*back), argv);
  }
}

TEST(QuorumCodec, RejectsMalformedMessages) {
  const std::vector<std::vector<std::string_view>> bad = {
      {"Q.PUT"},
      {"Q.PUT", "a", "1.2", "7", "k", "1.2", "1", "v"},     // version without writer
      {"Q.PUT", "a", "x.2", "7", "k", "1.2.w", "1", "v"},   // bad hlc
      {"Q.PUT", "a", "1.2", "-7", "k", "1.2.w", "1", "v"},  // bad request id
      {"Q.PUT", "a", "1.2", "7", "k", "1.2.w", "2", "v"},   // bad flag
      {"Q.PUTACK", "a", "1.2", "7", "yes"},
      {"Q.GET", "a", "1.2", "7"},
      {"Q.GOT", "a", "1.2", "7", "1", "bad", "1", "v"},
      {"Q.NOPE", "a", "1.2", "7", "k"},
  };
  for (const auto& argv : bad) EXPECT_FALSE(decode(argv).has_value()) << argv[0];
}

TEST(QuorumCodec, LogEntriesRoundTripAndTruncationIsAnError) {
  ReplicaStore s;
  s.apply("a", Record{Version{{5, 1}, "w"}, std::string("1")});
  s.apply("b", Record{Version{{6, 0}, "w"}, std::nullopt});
  const std::string bytes = encode_store(s);
  ReplicaStore t;
  ASSERT_TRUE(decode_entries(bytes, t).has_value());
  EXPECT_EQ(*t.find("a"), *s.find("a"));
  EXPECT_EQ(*t.find("b"), *s.find("b"));
  EXPECT_EQ(t.tombstones(), 1u);
  ReplicaStore u;
  EXPECT_FALSE(decode_entries(bytes.substr(0, bytes.size() - 1), u).has_value());
}

TEST(ReplicaStore, LastWriteWinsByVersionThenWriter) {
  ReplicaStore s;
  EXPECT_TRUE(s.apply("k", Record{Version{{10, 0}, "b"}, std::string("x")}));
  EXPECT_FALSE(s.apply("k", Record{Version{{9, 5}, "z"}, std::string("older")}));
  EXPECT_FALSE(s.apply("k", Record{Version{{10, 0}, "a"}, std::string("tie, lower writer")}));
  EXPECT_FALSE(s.apply("k", Record{Version{{10, 0}, "b"}, std::string("same")}));
  EXPECT_TRUE(s.apply("k", Record{Version{{10, 0}, "c"}, std::nullopt}));
  EXPECT_EQ(s.find("k")->value, std::nullopt);
  EXPECT_EQ(s.tombstones(), 1u);
  EXPECT_TRUE(s.apply("k", Record{Version{{11, 0}, "a"}, std::string("back")}));
  EXPECT_EQ(s.tombstones(), 0u);
  EXPECT_EQ(s.max_version(), (Version{{11, 0}, "a"}));
}

}  // namespace
}  // namespace fl::db::quorum
