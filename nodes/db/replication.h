// The replication core of one shard: master/slave replication with Raft-style elections, as a
// pure state machine. It does no I/O and reads no clock: time comes in as an argument, messages
// go out through an outbox the owner drains, durable state goes through ReplicationStorage and
// committed entries go to a StateMachine, both implemented by the owner (ShardReplica over the
// WAL and the Store; fakes in tests). Randomness (election jitter) comes from a seeded fl::Rng.
//
// Protocol (see docs and the issue 4 contract):
// - Terms and votes are persisted before any message that depends on them leaves (the owner
//   syncs storage before sending the outbox). A node votes once per term, only for a candidate
//   whose log is at least as up to date as its own (last term, then last index), and not at all
//   while it has heard from a live master within the minimum election timeout (or in the first
//   election timeout after it started): this "leader stickiness" is what makes leases safe.
// - A slave that hears nothing for a random timeout in [T, 2T) becomes a candidate. It first
//   runs a pre-vote (no term change anywhere) and starts a real election only if a majority
//   would vote for it, so a node that was cut off or paused cannot depose a healthy master by
//   coming back with a higher term. A candidate with a majority of votes becomes master and
//   appends a no-op entry of its term.
// - Append carries (prev index, prev term), entries, the master's commit index and the master's
//   send time (its clock). A slave accepts only if its log has prev with that term, truncates a
//   conflicting suffix, and echoes the send time in its reply.
// - Commit: in sync mode the highest index a majority has, counted only for an entry of the
//   current term; in async mode the master's own last index.
// - Lease: the master's lease runs until (the newest send time a majority has echoed) + lease.
//   REQUIRES lease < election timeout. The master accepts writes and serves reads only while
//   its lease holds and it has committed an entry of its term. A master that has not heard from
//   a majority for an election timeout steps down. Any higher term seen makes a node a slave.
// - A slave that would have to truncate entries it already applied (possible only after an
//   async master lost writes) asks for a snapshot and drops its state when it arrives; a slave
//   behind the master's first retained entry gets a snapshot.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"
#include "common/rng.h"

namespace fl::db {

// Milliseconds on the node's clock. Only differences matter to the core; a master compares
// only its own readings (send times echoed back), so clocks of different nodes never meet.
using TimePoint = int64_t;

enum class ReplicationMode : uint8_t {
  async,  // commit = the master's own log: acknowledged writes can be lost on failover
  sync,   // commit = a majority's logs
};
enum class Role : uint8_t { slave, candidate, master };

std::string_view to_string(ReplicationMode m);
std::string_view to_string(Role r);

// One log entry. `data` is opaque to the core; empty data is the master's no-op.
struct LogEntry {
  uint64_t index = 0;
  uint64_t term = 0;
  std::string data;
};

// ---- Messages. Every message is one-way; the response is a message of its own. ----

struct VoteRequest {
  uint64_t term = 0;
  std::string candidate;
  uint64_t last_index = 0;
  uint64_t last_term = 0;
  // A pre-vote asks "would you vote for me in `term`?" and changes no state on either side.
  bool prevote = false;
};
struct VoteReply {
  uint64_t term = 0;  // granted: the term asked; refused: the voter's term
  std::string from;
  bool granted = false;
  bool prevote = false;
};
struct AppendRequest {
  uint64_t term = 0;
  std::string master;
  uint64_t prev_index = 0;
  uint64_t prev_term = 0;
  uint64_t commit = 0;
  TimePoint stamp = 0;            // the master's send time, echoed back
  std::vector<LogEntry> entries;  // consecutive from prev_index + 1
};
struct AppendReply {
  uint64_t term = 0;
  std::string from;
  bool success = false;
  // On success: the last index known to match the master (prev_index + entries). On failure:
  // the prev_index that was refused.
  uint64_t index = 0;
  // On failure: the master should retry from hint + 1.
  uint64_t hint = 0;
  // On failure: the slave cannot go back below what it applied; send a snapshot.
  bool need_snapshot = false;
  TimePoint stamp = 0;  // the echoed AppendRequest::stamp
};
struct SnapshotRequest {
  uint64_t term = 0;
  std::string master;
  uint64_t index = 0;  // last index (and its term) the state includes
  uint64_t last_term = 0;
  TimePoint stamp = 0;
  std::string data;
};
struct SnapshotReply {
  uint64_t term = 0;
  std::string from;
  uint64_t index = 0;  // the slave's log now matches up to here
  TimePoint stamp = 0;
};

using Message = std::variant<VoteRequest, VoteReply, AppendRequest, AppendReply, SnapshotRequest,
                             SnapshotReply>;

struct Outgoing {
  std::string to;
  Message message;
};

// RESP argv of a message: REPL.VOTE, REPL.VOTED, REPL.APPEND, REPL.APPENDED, REPL.SNAPSHOT,
// REPL.SNAPSHOTTED followed by its fields as decimal or binary-safe bulk strings.
std::vector<std::string> encode_message(const Message& m);
// Parses what encode_message produced; protocol_error on anything else.
result<Message> decode_message(std::span<const std::string_view> argv);
// True when argv[0] names a replication message (case-insensitive "REPL.").
bool is_replication_message(std::string_view command);

// ---- What the owner implements ----

// Durable state of the core. Writes take effect (as the policy makes them durable) when the
// owner syncs, which it does before sending the outbox and before acknowledging clients.
class ReplicationStorage {
 public:
  virtual ~ReplicationStorage() = default;
  // Records the current term and vote ("" = none).
  virtual void save_term_vote(uint64_t term, const std::string& voted_for) = 0;
  // REQUIRES: e.index == the last stored index + 1.
  virtual void append(const LogEntry& e) = 0;
  // Drops entries with index > `index`.
  virtual void truncate_after(uint64_t index) = 0;
  // Replaces the whole log with a snapshot at (index, term): every entry is dropped.
  virtual void install_snapshot(uint64_t index, uint64_t term, const std::string& data) = 0;
};

// The replicated state (the Store, for ShardReplica).
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies one committed entry; called exactly once per index, in index order.
  virtual void apply(const LogEntry& e) = 0;
  // The current applied state as bytes (it includes exactly the entries applied so far).
  virtual std::string snapshot() = 0;
  // Replaces the state with snapshot bytes at (index, term).
  virtual void restore(uint64_t index, uint64_t term, const std::string& data) = 0;
  // Entries with index > `index` were removed from the log without being applied (a master's
  // unacknowledged suffix replaced by a newer master's entries).
  virtual void truncated(uint64_t index) = 0;
};

struct ReplicationOptions {
  // This node's id and every member of the shard (this node included), by id.
  std::string id;
  std::vector<std::string> members;
  ReplicationMode mode = ReplicationMode::sync;
  // Milliseconds. Heartbeat < lease < election timeout T; elections fire after [T, 2T).
  int64_t heartbeat_ms = 50;
  int64_t election_timeout_ms = 300;
  int64_t lease_ms = 250;
  // Most Append messages carrying entries outstanding per slave, and most entry bytes in one.
  size_t max_inflight = 8;
  size_t max_batch_bytes = 256 * 1024;
  // Seed of the election jitter.
  uint64_t seed = 1;
  // Seeded bugs. Master commits (and so acknowledges) after its own log, even in sync mode.
  bool bug_commit_own_log = false;
  // Master serves and accepts regardless of its lease.
  bool bug_no_fencing = false;
};

// Durable state found at startup.
struct ReplicationRecovery {
  uint64_t term = 0;
  std::string voted_for;
  // The snapshot the state machine was restored from (0, 0 = none).
  uint64_t snapshot_index = 0;
  uint64_t snapshot_term = 0;
  // Entries after the snapshot, in order without gaps.
  std::vector<LogEntry> entries;
};

// What a master knows about one slave, for ROLE / INFO.
struct SlaveProgress {
  std::string id;
  uint64_t match = 0;
  TimePoint last_reply = 0;  // 0 = never
};

// Why a proposal or a read was refused.
enum class Refusal : uint8_t {
  none,
  not_master,  // a slave or candidate: see master_id()
  no_lease,    // master without a valid lease: -TRYAGAIN
  not_ready,   // master that has not committed an entry of its term yet: -TRYAGAIN
};

class Replication {
 public:
  // `storage` and `machine` must outlive the core. The state machine must already hold the
  // snapshot named by `recovered` (if any). `now` starts the first election timer.
  Replication(ReplicationOptions options, ReplicationStorage& storage, StateMachine& machine,
              ReplicationRecovery recovered, TimePoint now);

  // Timers: elections, heartbeats, retransmissions, check-quorum. Call every ~10 ms.
  void tick(TimePoint now);
  // A message from a peer.
  void receive(const Message& m, TimePoint now);

  // Master only: appends `data` as a new entry of the current term. Returns its index, or the
  // refusal (nothing appended). Sending happens at flush().
  struct Proposed {
    uint64_t index = 0;
    uint64_t term = 0;
    Refusal refusal = Refusal::none;
  };
  Proposed propose(std::string data, TimePoint now);
  // Sends what is ready to send (new entries to slaves with room in their window).
  void flush(TimePoint now);

  // Whether a read may be served from the applied state now: master, lease held, committed in
  // its term (or none, bug_no_fencing). Refusal::none when it may.
  Refusal read_refusal(TimePoint now) const;

  // Compaction: the owner stored a snapshot at `index` (<= applied()); entries up to it may be
  // dropped from memory. Slaves that need them will get a snapshot.
  void compact(uint64_t index);

  // Messages to send; the owner syncs storage first, then sends and clears them.
  std::vector<Outgoing>& outbox() { return outbox_; }

  // ---- State ----
  Role role() const { return role_; }
  uint64_t term() const { return term_; }
  // The master of the current term, if known ("" otherwise). Equal to id() on a master.
  const std::string& master_id() const { return master_; }
  const std::string& id() const { return options_.id; }
  uint64_t last_index() const { return base_index_ + log_.size(); }
  uint64_t last_term() const { return log_.empty() ? base_term_ : log_.back().term; }
  uint64_t first_index() const { return base_index_ + 1; }
  uint64_t commit_index() const { return commit_; }
  uint64_t applied_index() const { return applied_; }
  // The term of the entry at `index`, if it is in memory (or is the snapshot base).
  std::optional<uint64_t> term_at(uint64_t index) const;
  // The entry at `index`, if it is in memory.
  const LogEntry* entry(uint64_t index) const;
  // Master: when its lease ends (<= now: expired). Others: 0.
  TimePoint lease_until() const;
  // Master: per slave progress; empty otherwise.
  std::vector<SlaveProgress> slaves() const;
  // Slave: waiting for a snapshot from its master (full resync).
  bool awaiting_snapshot() const { return awaiting_snapshot_; }
  // Last time this node heard from its master (slave) or a majority (master).
  TimePoint last_contact() const { return last_contact_; }
  const ReplicationOptions& options() const { return options_; }

 private:
  struct Peer {
    std::string id;
    uint64_t next = 1;
    uint64_t match = 0;
    // probe: one Append at a time until one succeeds; replicate: pipelined up to max_inflight;
    // snapshot: a snapshot was sent, waiting for its reply.
    enum class State : uint8_t { probe, replicate, snapshot } state = State::probe;
    std::deque<std::pair<uint64_t, TimePoint>> inflight;  // (last index sent, send time)
    TimePoint last_send = 0;
    TimePoint last_reply = 0;
    TimePoint echoed = 0;  // newest stamp this slave echoed in the current term
    bool vote_granted = false;
  };

  void on_vote(const VoteRequest& m, TimePoint now);
  void on_vote_reply(const VoteReply& m, TimePoint now);
  void on_append(const AppendRequest& m, TimePoint now);
  // The slave a reply to this master's Append or Snapshot comes from, with its liveness and
  // lease stamp noted; nullptr when the reply does not count (this node steps down on a higher
  // term, or is no longer master of the reply's term).
  Peer* reply_peer(uint64_t term, const std::string& from, TimePoint stamp, TimePoint now);
  void on_append_reply(const AppendReply& m, TimePoint now);
  void on_snapshot(const SnapshotRequest& m, TimePoint now);
  void on_snapshot_reply(const SnapshotReply& m, TimePoint now);

  void become_slave(uint64_t term, const std::string& master, TimePoint now);
  void start_prevote(TimePoint now);
  void become_candidate(TimePoint now);
  void become_master(TimePoint now);
  void set_term(uint64_t term);  // new term, no vote; persisted
  void reset_election_timer(TimePoint now);
  bool majority(size_t n) const { return n * 2 > options_.members.size(); }
  bool log_up_to_date(uint64_t last_index, uint64_t last_term) const;

  void append_local(LogEntry e);
  void truncate_local(uint64_t after);
  void send_append(Peer& p, TimePoint now, bool heartbeat);
  void send_snapshot(Peer& p, TimePoint now);
  void broadcast(TimePoint now, bool heartbeat);
  void advance_commit();
  void apply_committed();
  Peer* peer(const std::string& id);
  void send(const std::string& to, Message m) { outbox_.push_back({to, std::move(m)}); }

  ReplicationOptions options_;
  ReplicationStorage& storage_;
  StateMachine& machine_;
  Rng rng_;

  Role role_ = Role::slave;
  uint64_t term_ = 0;
  std::string voted_for_;
  std::string master_;
  uint64_t base_index_ = 0;  // index and term of the last entry folded into the snapshot
  uint64_t base_term_ = 0;
  std::deque<LogEntry> log_;
  uint64_t commit_ = 0;
  uint64_t applied_ = 0;
  bool awaiting_snapshot_ = false;
  bool prevoting_ = false;  // candidate: still in the pre-vote

  TimePoint election_deadline_ = 0;
  TimePoint last_contact_ = 0;  // slave: from its master; master: from a majority
  TimePoint last_heartbeat_ = 0;
  uint64_t term_start_index_ = 0;  // master: index of its no-op
  TimePoint term_started_at_ = 0;  // master: when it was elected
  std::vector<Peer> peers_;
  std::vector<Outgoing> outbox_;
  mutable std::vector<TimePoint> scratch_;
};

}  // namespace fl::db
