// The replication core in a deterministic simulator: N cores, an in-memory network with delays,
// drops and partitions, crashes (volatile state lost, storage kept), restarts and pauses, all
// drawn from one seed. Invariants are checked at every simulated millisecond.
#include "nodes/db/replication.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "common/rng.h"

namespace fl::db {
namespace {

// ---------------------------------------------------------------- fakes

// Storage that survives crashes (as with fsync always).
struct FakeStorage final : ReplicationStorage {
  uint64_t term = 0;
  std::string vote;
  uint64_t snap_index = 0, snap_term = 0;
  std::string snap_data;
  std::vector<LogEntry> entries;

  void save_term_vote(uint64_t t, const std::string& v) override {
    term = t;
    vote = v;
  }
  void append(const LogEntry& e) override {
    const uint64_t expect = (entries.empty() ? snap_index : entries.back().index) + 1;
    EXPECT_EQ(e.index, expect);
    entries.push_back(e);
  }
  void truncate_after(uint64_t index) override {
    while (!entries.empty() && entries.back().index > index) entries.pop_back();
  }
  void install_snapshot(uint64_t index, uint64_t t, const std::string& data) override {
    entries.clear();
    snap_index = index;
    snap_term = t;
    snap_data = data;
  }
  // A compaction snapshot taken by the owner.
  void compact(uint64_t index, uint64_t t, const std::string& data) {
    snap_index = index;
    snap_term = t;
    snap_data = data;
    std::erase_if(entries, [&](const LogEntry& e) { return e.index <= index; });
  }
  ReplicationRecovery recover() const {
    return {term, vote, snap_index, snap_term, entries};
  }
};

// The replicated state: the data of every applied non-empty entry, in order.
struct FakeMachine final : StateMachine {
  std::vector<std::string> state;
  uint64_t applied = 0;
  bool rolled_back = false;  // a restore dropped something applied (async rollback)

  void apply(const LogEntry& e) override {
    EXPECT_EQ(e.index, applied + 1);
    applied = e.index;
    if (!e.data.empty()) state.push_back(e.data);
  }
  std::string snapshot() override {
    std::string out;
    for (const auto& s : state) out += s + "\n";
    return out;
  }
  void restore(uint64_t index, uint64_t, const std::string& data) override {
    std::vector<std::string> next;
    size_t start = 0;
    for (size_t nl; (nl = data.find('\n', start)) != std::string::npos; start = nl + 1) {
      next.push_back(data.substr(start, nl - start));
    }
    if (next.size() < state.size() || !std::equal(state.begin(), state.end(), next.begin())) {
      rolled_back = true;
    }
    state = std::move(next);
    applied = index;
  }
  void truncated(uint64_t) override {}
};

bool is_prefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// ---------------------------------------------------------------- simulator

struct SimOptions {
  size_t nodes = 3;
  ReplicationMode mode = ReplicationMode::sync;
  bool bug_commit_own_log = false;
  // Random faults during [0, fault_until); then everything heals.
  TimePoint fault_until = 15'000;
  TimePoint end = 20'000;
  double drop = 0.02;
  TimePoint max_delay = 15;
  // Compaction: snapshot when this many entries are applied past the last one (0 = never).
  uint64_t compact_every = 40;
};

struct Violation {
  std::string what;
  TimePoint at = 0;
};

class Sim {
 public:
  Sim(uint64_t seed, SimOptions o) : opt_(o), rng_(seed) {
    for (size_t i = 0; i < o.nodes; ++i) ids_.push_back("n" + std::to_string(i));
    nodes_.resize(o.nodes);
    for (size_t i = 0; i < o.nodes; ++i) start(i);
  }

  const std::string& id(size_t i) const { return ids_[i]; }
  size_t size() const { return nodes_.size(); }
  bool up(size_t i) const { return nodes_[i].up; }
  FakeStorage& storage(size_t i) { return nodes_[i].storage; }
  // The nodes that are master now.
  std::vector<size_t> masters() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].up && nodes_[i].core->role() == Role::master) out.push_back(i);
    }
    return out;
  }
  // Steps until `pred` holds or `within` ms pass; returns whether it held.
  template <class Pred>
  bool wait_for(Pred pred, TimePoint within, double write_rate = 0) {
    const TimePoint deadline = now_ + within;
    while (now_ < deadline) {
      if (pred()) return true;
      if (write_rate > 0 && rng_.chance(write_rate)) write();
      step();
    }
    return pred();
  }

  // --- faults
  void crash(size_t i) {
    nodes_[i].core.reset();
    nodes_[i].machine = FakeMachine{};
    nodes_[i].up = false;
    ++nodes_[i].epoch;  // its connections die with it
  }
  void start(size_t i) {
    Node& n = nodes_[i];
    n.machine = FakeMachine{};
    if (n.storage.snap_index > 0) {
      n.machine.restore(n.storage.snap_index, n.storage.snap_term, n.storage.snap_data);
    }
    n.machine.rolled_back = false;
    ReplicationOptions ro;
    ro.id = ids_[i];
    ro.members = ids_;
    ro.mode = opt_.mode;
    ro.seed = rng_.next();
    ro.max_inflight = 4;
    ro.max_batch_bytes = 64;
    ro.bug_commit_own_log = opt_.bug_commit_own_log;
    n.core = std::make_unique<Replication>(ro, n.storage, n.machine, n.storage.recover(), now_);
    n.up = true;
    n.paused_until = 0;
    drain(i);
  }
  void pause(size_t i, TimePoint ms) { nodes_[i].paused_until = now_ + ms; }
  void isolate(size_t i) { group_[i] = next_group_++; }
  void heal() {
    group_.clear();
    cuts_.clear();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].up) start(i);
      nodes_[i].paused_until = 0;
    }
  }
  // Cuts the link between two nodes, both ways (the others still talk to both).
  void cut(size_t a, size_t b) { cuts_.insert({std::min(a, b), std::max(a, b)}); }
  void mend(size_t a, size_t b) { cuts_.erase({std::min(a, b), std::max(a, b)}); }
  bool connected(size_t a, size_t b) const {
    return group_of(a) == group_of(b) && !cuts_.count({std::min(a, b), std::max(a, b)});
  }

  Replication* core(size_t i) { return nodes_[i].core.get(); }
  FakeMachine& machine(size_t i) { return nodes_[i].machine; }
  TimePoint now() const { return now_; }
  const std::vector<Violation>& violations() const { return violations_; }
  size_t acked() const { return acked_.size(); }
  double drop = 0.02;

  // The node that could take a write now, if any.
  std::optional<size_t> writable_master() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = nodes_[i];
      if (n.up && !paused(i) && n.core->read_refusal(now_) == Refusal::none) return i;
    }
    return std::nullopt;
  }

  // Proposes a unique write on the current master if there is one.
  bool write() {
    auto m = writable_master();
    if (!m) return false;
    const std::string data = "w" + std::to_string(++writes_);
    auto p = nodes_[*m].core->propose(data, now_);
    if (p.refusal != Refusal::none) return false;
    pending_.push_back({*m, p.index, p.term, data});
    nodes_[*m].core->flush(now_);
    drain(*m);
    return true;
  }

  // Advances one millisecond: deliveries, ticks, acknowledgements and invariant checks.
  void step() {
    ++now_;
    while (!net_.empty() && net_.begin()->first.first <= now_) {
      auto node = net_.extract(net_.begin());
      Packet& pk = node.mapped();
      Node& dst = nodes_[pk.to];
      if (!dst.up || !connected(pk.from, pk.to) || pk.epoch != dst.epoch) {
        continue;
      }
      if (paused(pk.to)) {  // held in the socket buffer until it resumes
        net_.emplace(std::make_pair(dst.paused_until, seq_++), std::move(pk));
        continue;
      }
      dst.core->receive(pk.msg, now_);
      drain(pk.to);
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].up || paused(i) || (now_ + static_cast<TimePoint>(i) * 3) % 10 != 0) continue;
      nodes_[i].core->tick(now_);
      drain(i);
      maybe_compact(i);
    }
    check();
  }

  void run_until(TimePoint t, double write_rate) {
    while (now_ < t) {
      if (rng_.chance(write_rate)) write();
      step();
    }
  }

  // A random fault schedule until opt_.fault_until.
  void random_faults() {
    const TimePoint until = now_ + opt_.fault_until;
    TimePoint next_fault = now_ + 500;
    struct Heal {
      TimePoint at;
      int kind;
      size_t node;
    };
    std::vector<Heal> heals;
    double write_rate = 0.2;
    while (now_ < until) {
      if (now_ >= next_fault) {
        const size_t i = rng_.uniform(0, nodes_.size() - 1);
        const int kind = static_cast<int>(rng_.uniform(0, 4));
        const TimePoint dur = static_cast<TimePoint>(rng_.uniform(100, 2000));
        if (kind == 0 && nodes_[i].up) {
          crash(i);
          heals.push_back({now_ + dur, 0, i});
        } else if (kind == 1 && nodes_[i].up) {
          pause(i, dur);
        } else if (kind == 2) {
          isolate(i);
          heals.push_back({now_ + dur, 2, i});
        } else if (kind == 3) {
          const size_t j = (i + 1 + rng_.uniform(0, nodes_.size() - 2)) % nodes_.size();
          cut(i, j);
          heals.push_back({now_ + dur, 3, i * nodes_.size() + j});
        } else {
          drop = rng_.chance(0.5) ? 0.2 : 0.0;
        }
        // Quiet spells too: elections differ when every log is equally up to date.
        write_rate = rng_.chance(0.3) ? 0.003 : 0.2;
        next_fault = now_ + static_cast<TimePoint>(rng_.uniform(200, 1500));
      }
      for (auto it = heals.begin(); it != heals.end();) {
        if (it->at > now_) {
          ++it;
          continue;
        }
        if (it->kind == 0 && !nodes_[it->node].up) start(it->node);
        if (it->kind == 2) group_.erase(it->node);
        if (it->kind == 3) mend(it->node / nodes_.size(), it->node % nodes_.size());
        it = heals.erase(it);
      }
      if (rng_.chance(write_rate)) write();
      step();
    }
    drop = opt_.drop;
    heal();
  }

  // After healing: a master is elected and a new write commits within `within` ms.
  bool progress(TimePoint within) {
    const TimePoint deadline = now_ + within;
    const size_t before = acked_.size();
    while (now_ < deadline) {
      if (acked_.size() > before) return true;
      if (now_ % 5 == 0) write();
      step();
    }
    return false;
  }

  // Every acknowledged write is in every node's applied state (after convergence).
  void check_converged() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      std::set<std::string> have(nodes_[i].machine.state.begin(), nodes_[i].machine.state.end());
      for (const auto& a : acked_) {
        if (!have.count(a.data)) violate("acknowledged " + a.data + " missing on " + ids_[i]);
      }
    }
  }

 private:
  struct Packet {
    size_t from, to;
    uint64_t epoch;
    Message msg;
  };
  struct Node {
    FakeStorage storage;
    FakeMachine machine;
    std::unique_ptr<Replication> core;
    bool up = false;
    TimePoint paused_until = 0;
    uint64_t epoch = 0;
  };
  struct Write {
    size_t node;
    uint64_t index, term;
    std::string data;
  };

  bool paused(size_t i) const { return nodes_[i].paused_until > now_; }
  size_t group_of(size_t i) const {
    auto it = group_.find(i);
    return it == group_.end() ? 0 : it->second;
  }
  size_t index_of(const std::string& id) const {
    return static_cast<size_t>(std::find(ids_.begin(), ids_.end(), id) - ids_.begin());
  }

  void drain(size_t i) {
    auto& out = nodes_[i].core->outbox();
    for (Outgoing& o : out) {
      // Every message goes through the codec, so the codec is exercised on every seed.
      auto argv = encode_message(o.message);
      std::vector<std::string_view> views(argv.begin(), argv.end());
      auto decoded = decode_message(views);
      if (!decoded) {
        violate("codec: " + decoded.error().message);
        continue;
      }
      if (rng_.chance(drop)) continue;
      const size_t to = index_of(o.to);
      const TimePoint at = now_ + static_cast<TimePoint>(rng_.uniform(1, opt_.max_delay));
      net_.emplace(std::make_pair(at, seq_++),
                   Packet{i, to, nodes_[to].epoch, std::move(*decoded)});
    }
    out.clear();
  }

  void maybe_compact(size_t i) {
    Node& n = nodes_[i];
    if (opt_.compact_every == 0) return;
    const uint64_t applied = n.core->applied_index();
    if (applied < n.storage.snap_index + opt_.compact_every) return;
    n.storage.compact(applied, *n.core->term_at(applied), n.machine.snapshot());
    n.core->compact(applied);
  }

  void violate(std::string what) { violations_.push_back({std::move(what), now_}); }

  void check() {
    // At most one master holds a valid lease at any instant.
    size_t leased = 0;
    for (const Node& n : nodes_) {
      if (n.up && n.core->role() == Role::master && n.core->lease_until() > now_) ++leased;
    }
    if (leased > 1) violate("two masters hold a lease");

    // Acknowledgements: the proposing master, still master in the same term, committed it.
    for (auto it = pending_.begin(); it != pending_.end();) {
      Node& n = nodes_[it->node];
      if (!n.up || n.core->term() != it->term || n.core->role() != Role::master) {
        it = pending_.erase(it);
        continue;
      }
      if (n.core->commit_index() >= it->index) {
        acked_.push_back(*it);
        it = pending_.erase(it);
        continue;
      }
      ++it;
    }

    if (opt_.mode != ReplicationMode::sync) return;
    // Every acknowledged write is in the log (or the snapshot) of every master.
    for (size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = nodes_[i];
      if (!n.up || n.core->role() != Role::master) continue;
      if (n.core->term() == last_checked_term_[i]) continue;
      last_checked_term_[i] = n.core->term();
      for (const Write& a : acked_) {
        const auto t = n.core->term_at(a.index);
        const bool in_log = t && *t == a.term;
        const bool in_snapshot = a.index < n.core->first_index() &&
                                 std::find(n.machine.state.begin(), n.machine.state.end(),
                                           a.data) != n.machine.state.end();
        if (!in_log && !in_snapshot) {
          violate("acknowledged " + a.data + " lost by master " + ids_[i] + " of term " +
                  std::to_string(n.core->term()));
        }
      }
    }
    // Applied sequences are prefixes of one another, and never roll back.
    if (now_ % 25 != 0) return;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].up) continue;
      if (nodes_[i].machine.rolled_back) violate("applied state of " + ids_[i] + " rolled back");
      for (size_t j = i + 1; j < nodes_.size(); ++j) {
        if (!nodes_[j].up) continue;
        const auto& a = nodes_[i].machine.state;
        const auto& b = nodes_[j].machine.state;
        if (!is_prefix(a, b) && !is_prefix(b, a)) {
          violate("applied states of " + ids_[i] + " and " + ids_[j] + " diverge");
        }
      }
    }
  }

  SimOptions opt_;
  Rng rng_;
  std::vector<std::string> ids_;
  std::vector<Node> nodes_;
  std::map<std::pair<TimePoint, uint64_t>, Packet> net_;
  uint64_t seq_ = 0;
  std::map<size_t, size_t> group_;
  std::set<std::pair<size_t, size_t>> cuts_;
  size_t next_group_ = 1;
  TimePoint now_ = 1'000'000;
  uint64_t writes_ = 0;
  std::vector<Write> pending_;
  std::vector<Write> acked_;
  std::map<size_t, uint64_t> last_checked_term_;
  std::vector<Violation> violations_;
};

std::string describe(const std::vector<Violation>& v) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < 5; ++i) {
    out += "  at " + std::to_string(v[i].at) + ": " + v[i].what + "\n";
  }
  return out;
}

// Runs one random schedule; returns the violations found.
std::vector<Violation> run_random(uint64_t seed, SimOptions o, size_t* acked = nullptr,
                                  bool* progressed = nullptr) {
  Sim sim(seed, o);
  sim.random_faults();
  const bool p = sim.progress(5000);
  sim.run_until(sim.now() + 2000, 0.0);
  if (o.mode == ReplicationMode::sync) sim.check_converged();
  if (acked) *acked = sim.acked();
  if (progressed) *progressed = p;
  return sim.violations();
}

TEST(ReplicationCodec, RoundTripsEveryMessage) {
  AppendRequest a{7, "n1", 10, 6, 9, -5, {{11, 6, "x"}, {12, 7, std::string("\0\r\n", 3)}}};
  std::vector<Message> msgs = {VoteRequest{3, "n2", 40, 2, true}, VoteReply{3, "n0", true, false},
                               a,
                               AppendReply{7, "n2", false, 10, 4, true, 99},
                               SnapshotRequest{8, "n1", 50, 7, 1234, "data"},
                               SnapshotReply{8, "n0", 50, 1234}};
  for (const Message& m : msgs) {
    auto argv = encode_message(m);
    EXPECT_TRUE(is_replication_message(argv[0]));
    std::vector<std::string_view> views(argv.begin(), argv.end());
    auto back = decode_message(views);
    ASSERT_TRUE(back) << argv[0];
    EXPECT_EQ(encode_message(*back), argv);
  }
  std::vector<std::string_view> bad = {"REPL.VOTE", "1", "n0", "x", "2"};
  EXPECT_FALSE(decode_message(bad));
  std::vector<std::string_view> short_append = {"REPL.APPEND", "1", "n0", "0", "0", "0", "0", "1"};
  EXPECT_FALSE(decode_message(short_append));
  EXPECT_FALSE(is_replication_message("GET"));
}

TEST(Replication, SingleNodeIsMasterAtOnce) {
  FakeStorage st;
  FakeMachine m;
  ReplicationOptions o;
  o.id = "solo";
  Replication r(o, st, m, {}, 1000);
  EXPECT_EQ(r.role(), Role::master);
  EXPECT_EQ(r.read_refusal(1000), Refusal::none);
  auto p = r.propose("a", 1000);
  ASSERT_EQ(p.refusal, Refusal::none);
  r.flush(1000);
  EXPECT_EQ(r.commit_index(), p.index);
  EXPECT_EQ(m.state, std::vector<std::string>{"a"});
  EXPECT_EQ(st.term, 1u);
  EXPECT_EQ(st.entries.size(), 2u);  // the no-op and "a"
}

TEST(Replication, ElectsOneMasterAndReplicates) {
  Sim sim(1, {});
  ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 3000));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(sim.write());
  sim.run_until(sim.now() + 500, 0);
  EXPECT_EQ(sim.acked(), 50u);
  for (size_t i = 0; i < sim.size(); ++i) EXPECT_EQ(sim.machine(i).state.size(), 50u);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim.violations());
}

TEST(Replication, ElectionAfterMasterCrash) {
  Sim sim(2, {});
  ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 3000));
  const size_t old = *sim.writable_master();
  for (int i = 0; i < 10; ++i) sim.write();
  sim.run_until(sim.now() + 200, 0);
  const uint64_t old_term = sim.core(old)->term();
  sim.crash(old);
  ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 2000));
  const size_t now_master = *sim.writable_master();
  EXPECT_NE(now_master, old);
  EXPECT_GT(sim.core(now_master)->term(), old_term);
  EXPECT_EQ(sim.machine(now_master).state.size(), 10u);  // nothing acknowledged was lost
  sim.start(old);
  ASSERT_TRUE(sim.wait_for([&] { return sim.machine(old).state.size() == 10; }, 2000));
  EXPECT_EQ(sim.core(old)->role(), Role::slave);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim.violations());
}

TEST(Replication, LaggingSlaveCatchesUp) {
  SimOptions o;
  o.compact_every = 0;
  Sim sim(3, o);
  ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 3000));
  const size_t m = *sim.writable_master();
  const size_t lag = (m + 1) % sim.size();
  sim.isolate(lag);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(sim.write());
    sim.step();
  }
  // A majority without the lagging slave acknowledges everything.
  ASSERT_TRUE(sim.wait_for([&] { return sim.acked() == 100; }, 1000));
  EXPECT_LT(sim.machine(lag).state.size(), 100u);
  sim.heal();
  ASSERT_TRUE(sim.wait_for([&] { return sim.machine(lag).state.size() == 100; }, 2000));
  EXPECT_EQ(sim.storage(lag).snap_index, 0u);  // caught up from the log, no snapshot
  EXPECT_TRUE(sim.violations().empty()) << describe(sim.violations());
}

TEST(Replication, SlaveFarBehindGetsASnapshot) {
  SimOptions o;
  o.compact_every = 20;
  Sim sim(4, o);
  ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 3000));
  const size_t m = *sim.writable_master();
  const size_t lag = (m + 1) % sim.size();
  sim.crash(lag);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(sim.write());
    sim.step();
  }
  sim.run_until(sim.now() + 100, 0);
  ASSERT_GT(sim.core(m)->first_index(), 1u);  // the master compacted its log
  sim.start(lag);
  ASSERT_TRUE(sim.wait_for([&] { return sim.machine(lag).state.size() == 100; }, 3000));
  EXPECT_GT(sim.storage(lag).snap_index, 0u);
  EXPECT_EQ(sim.machine(lag).state, sim.machine(m).state);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim.violations());
}

TEST(Replication, PausedMasterPastItsLeaseRefusesReadsAndStepsDown) {
  Sim sim(5, {});
  ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 3000));
  const size_t m = *sim.writable_master();
  sim.write();
  sim.run_until(sim.now() + 100, 0);
  sim.pause(m, 1500);
  // The others elect a new master while the old one sleeps.
  ASSERT_TRUE(sim.wait_for(
      [&] {
        auto w = sim.writable_master();
        return w && *w != m;
      },
      1400));
  sim.run_until(sim.now() + 1500, 0.0);  // past the pause: the old master resumes
  // (run_until stepped past the resume; check it no longer serves and has stepped down)
  EXPECT_NE(sim.core(m)->read_refusal(sim.now()), Refusal::none);
  EXPECT_EQ(sim.core(m)->role(), Role::slave);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim.violations());
}

TEST(Replication, PausedMasterRefusesReadsTheMomentItResumes) {
  Sim sim(6, {});
  ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 3000));
  const size_t m = *sim.writable_master();
  sim.pause(m, 600);
  for (int i = 0; i < 599; ++i) sim.step();
  // It resumes at now + 1; before it handles any message or tick its role is still master,
  // but its lease is gone.
  const TimePoint resumed = sim.now() + 1;
  EXPECT_EQ(sim.core(m)->role(), Role::master);
  EXPECT_EQ(sim.core(m)->read_refusal(resumed), Refusal::no_lease);
  EXPECT_EQ(sim.core(m)->propose("late", resumed).refusal, Refusal::no_lease);
  ASSERT_TRUE(sim.wait_for([&] { return sim.core(m)->role() == Role::slave; }, 1000));
}

// A slave cut off from the master (but not from the other slave) must not be able to win an
// election while the master's lease, held through that other slave, is still valid.
TEST(Replication, CutLinkDoesNotYieldTwoLeases) {
  for (uint64_t seed = 10; seed < 20; ++seed) {
    Sim sim(seed, {});
    ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 3000));
    const size_t m = *sim.writable_master();
    const size_t c = (m + 1) % sim.size();
    sim.cut(m, c);
    sim.run_until(sim.now() + 3000, 0);
    EXPECT_TRUE(sim.violations().empty()) << "seed " << seed << "\n" << describe(sim.violations());
  }
}

// Pre-vote: a slave that was cut off (its election timer firing again and again) rejoins
// without deposing the healthy master.
TEST(Replication, RejoiningSlaveDoesNotDeposeTheMaster) {
  Sim sim(8, {});
  ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 3000));
  const size_t m = *sim.writable_master();
  const uint64_t term = sim.core(m)->term();
  const size_t s = (m + 1) % sim.size();
  sim.isolate(s);
  sim.run_until(sim.now() + 2000, 0.05);
  EXPECT_EQ(sim.core(s)->term(), term);  // pre-votes never raise its term
  EXPECT_EQ(sim.core(s)->role(), Role::candidate);
  sim.heal();
  ASSERT_TRUE(sim.wait_for([&] { return sim.core(s)->role() == Role::slave; }, 1000));
  sim.run_until(sim.now() + 1000, 0.05);
  EXPECT_EQ(sim.core(m)->role(), Role::master);
  EXPECT_EQ(sim.core(m)->term(), term);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim.violations());
}

TEST(Replication, SyncRandomSchedulesKeepEveryInvariant) {
  size_t total_acked = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    size_t acked = 0;
    bool progressed = false;
    auto v = run_random(seed, {}, &acked, &progressed);
    EXPECT_TRUE(v.empty()) << "seed " << seed << "\n" << describe(v);
    EXPECT_TRUE(progressed) << "seed " << seed << ": no write committed after healing";
    EXPECT_GT(acked, 10u) << "seed " << seed;
    total_acked += acked;
  }
  EXPECT_GT(total_acked, 1000u);
}

TEST(Replication, FiveNodesRandomSchedulesKeepEveryInvariant) {
  SimOptions o;
  o.nodes = 5;
  for (uint64_t seed = 100; seed < 106; ++seed) {
    bool progressed = false;
    auto v = run_random(seed, o, nullptr, &progressed);
    EXPECT_TRUE(v.empty()) << "seed " << seed << "\n" << describe(v);
    EXPECT_TRUE(progressed) << "seed " << seed;
  }
}

// The checker can fail: acknowledging after the master's own log loses writes on some seed.
TEST(Replication, AckBeforeMajorityIsCaught) {
  SimOptions o;
  o.bug_commit_own_log = true;
  uint64_t caught = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 30 && caught == 0; ++seed) {
    auto v = run_random(seed, o);
    for (const Violation& x : v) {
      if (x.what.find("acknowledged") != std::string::npos) {
        caught = seed;
        first = x.what;
        break;
      }
    }
  }
  EXPECT_NE(caught, 0u) << "no seed lost an acknowledged write with ack-before-majority";
  std::cout << "ack-before-majority caught on seed " << caught << ": " << first << "\n";
}

// Async mode loses an acknowledged write when the master is cut off right after acking it.
TEST(Replication, AsyncLosesWritesWhenTheMasterIsCutOff) {
  SimOptions o;
  o.mode = ReplicationMode::async;
  Sim sim(7, o);
  ASSERT_TRUE(sim.wait_for([&] { return sim.writable_master().has_value(); }, 3000));
  const size_t m = *sim.writable_master();
  ASSERT_TRUE(sim.write());
  sim.run_until(sim.now() + 200, 0);
  sim.isolate(m);
  ASSERT_TRUE(sim.write());  // acknowledged at once: async commits on the master's own log
  sim.step();
  EXPECT_EQ(sim.acked(), 2u);
  ASSERT_TRUE(sim.wait_for(
      [&] {
        auto w = sim.writable_master();
        return w && *w != m;
      },
      3000));
  const size_t next = *sim.writable_master();
  ASSERT_TRUE(sim.write());
  sim.heal();
  // The old master rejoins, finds its applied write gone from the new master's log and
  // resyncs from a snapshot: the acknowledged write is lost everywhere.
  ASSERT_TRUE(sim.wait_for([&] { return sim.machine(m).state == sim.machine(next).state; },
                           3000));
  EXPECT_TRUE(sim.machine(m).rolled_back);
  EXPECT_EQ(sim.machine(m).state.size(), 2u);
  sim.check_converged();
  ASSERT_FALSE(sim.violations().empty());
  EXPECT_NE(sim.violations()[0].what.find("acknowledged w2 missing"), std::string::npos)
      << describe(sim.violations());
}

}  // namespace
}  // namespace fl::db
