// One node of one shard: the Store, its commands, the write-ahead log and the replication core
// wired together. Client writes become log entries (the command's argv, relative expiries
// rewritten to absolute times so every replica applies the same thing) and are applied in log
// order on every replica by the ordinary command handlers; the master's apply produces the
// client's reply. NODE owns the sockets: it hands client commands to execute(), peer REPL.*
// messages to on_peer_message(), calls tick() every ~10 ms, and sends what `Send` is given.
//
// Replies:
//  - a write on the master is answered at commit (sync) or after the local log (async);
//  - a write whose master stepped down before commit is answered when its fate is known (the
//    entry committed in the same term at that index: its real reply; replaced: -TRYAGAIN), or
//    -NOQUORUM one second after the step-down;
//  - on a slave: -MOVED <shard> <master host:port> <master id>, or -CLUSTERDOWN when no master is known;
//  - on a master without a lease, or before it committed an entry of its term: -TRYAGAIN.
// Reads are served by the master with a valid lease, or locally on any node when the read
// policy says `slaves` or `any` (stale reads allowed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "nodes/common/command_table.h"
#include "nodes/common/session.h"
#include "nodes/db/changes.h"
#include "nodes/db/clock.h"
#include "nodes/db/commands.h"
#include "nodes/db/replication.h"
#include "nodes/db/store.h"
#include "nodes/db/wal.h"

namespace fl::db {

// Where reads are served.
enum class ReadPolicy : uint8_t {
  master,  // only the master with a valid lease; slaves answer -MOVED
  slaves,  // any node answers from its own applied state (may be stale)
  any,     // same as slaves
};
std::string_view to_string(ReadPolicy p);

struct ShardMember {
  std::string id;
  int shard = 0;
  std::string host;
  uint16_t port = 0;
};

// Seeded bugs, test-only (see docs/reference-db.md). All off by default.
struct ShardBugs {
  // Sync mode acknowledges after the master's own log, like async.
  bool ack_before_majority = false;
  // Writes are acknowledged and applied before their WAL record is written; records (and the
  // Appends carrying them) go out in a batch every 200 ms.
  bool ack_before_log = false;
  // A master whose lease expired keeps serving reads and accepting writes.
  bool no_fencing = false;
};

struct ShardOptions {
  // This node's id and shard.
  std::string id = "db";
  int shard = 0;
  // The members of this shard, this node included. Empty: a standalone node (a group of one).
  std::vector<ShardMember> members;
  ReplicationMode mode = ReplicationMode::sync;
  ReadPolicy reads = ReadPolicy::master;
  // Durability of the log; ignored without `dir`. Default everysec.
  FsyncPolicy fsync = FsyncPolicy::everysec;
  // Data directory of the WAL and snapshots. Empty: no persistence (state lives in memory).
  std::filesystem::path dir;
  // Milliseconds: heartbeat < lease < election timeout (elections after [T, 2T)).
  int64_t heartbeat_ms = 50;
  int64_t election_timeout_ms = 300;
  int64_t lease_ms = 250;
  // Log entries between snapshots (compaction). 0 disables.
  uint64_t snapshot_every = 100000;
  // Seeds election jitter.
  uint64_t seed = 1;
  ShardBugs bugs;
  // Options of the command handlers (id, scan cap, CONFIG GET values).
  DbOptions db;
  // Counters for INFO clients/stats; null reports zeros. Must outlive the replica.
  const nodes::ServerStats* server_stats = nullptr;
  // Clock of the replication timers and leases (milliseconds; should not jump). Null: the
  // Clock given to the constructor. tick() and on_peer_message() must be given its readings.
  const Clock* replication_clock = nullptr;
  // Where the master sends a change event for every key of every client write it applies
  // (not for writes that answered an error). Null: none. Must outlive the replica.
  ChangeSink* changes = nullptr;
};

class ShardReplica final : public StateMachine, public ReplicationStatusSource {
 public:
  // Sends a peer message (REPL.* argv) to node `peer_id`, one-way.
  using Send = std::function<void(const std::string& peer_id, std::vector<std::string> argv)>;
  // One complete RESP reply.
  using Reply = std::function<void(std::string resp_bytes)>;

  // `clock` (wall time, for key expiry) must outlive the replica.
  ShardReplica(ShardOptions options, const Clock& clock, Send send);
  ~ShardReplica() override;
  ShardReplica(const ShardReplica&) = delete;
  ShardReplica& operator=(const ShardReplica&) = delete;

  // Recovers from `dir` (snapshot, then log entries; nothing is applied beyond the snapshot
  // until a master confirms the commit index), creating it if needed. Call once, before the
  // rest. Fails on an unreadable WAL or snapshot.
  result<void> open();

  // A client command for this shard (or a keyless command). `reply` is called exactly once,
  // now or later. REQUIRES: !argv.empty().
  void execute(std::span<const std::string_view> argv, nodes::Session& session, Reply reply);
  // A REPL.* message from a peer. Malformed messages are dropped (and logged).
  void on_peer_message(std::span<const std::string_view> argv, TimePoint now);
  // Timers; call every ~10 ms.
  void tick(TimePoint now);

  // ---- State, for ROLE / INFO / CLUSTER SHARDS ----
  ReplicationStatus replication_status() const override;
  // WAL counters: wal_enabled, wal_fsync, wal_records, wal_bytes, wal_fsyncs, ...
  std::string persistence_info() const override;
  std::string changes_info() const override;
  const Replication& core() const { return *core_; }
  Role role() const { return core_->role(); }
  uint64_t term() const { return core_->term(); }
  // The member this node believes is its shard's master (nullptr when unknown).
  const ShardMember* master() const;
  const ShardOptions& options() const { return options_; }
  // For tests: the applied keyspace.
  Store& store() { return store_; }
  // Writes waiting for their fate.
  size_t pending_replies() const { return pending_.size(); }
  // True once the log failed (a write or fsync error): the replica confirms nothing more and its
  // node must stop.
  bool storage_failed() const;

  // ---- StateMachine (called by the core) ----
  void apply(const LogEntry& e) override;
  std::string snapshot() override;
  void restore(uint64_t index, uint64_t term, const std::string& data) override;
  void truncated(uint64_t index) override;

 private:
  class Storage;
  struct Pending {
    uint64_t term = 0;
    Reply reply;
    TimePoint deadline = 0;  // 0 while the proposing master is still master
    std::string origin;      // the writing connection's CLIENT SETNAME name
  };

  TimePoint now() const { return replication_clock_.now_ms(); }
  // After every call into the core: syncs storage, sends the outbox, notices a step-down,
  // compacts, and only then delivers the replies that became ready.
  void after_core(TimePoint now);
  void refuse(Refusal r, const Reply& reply);
  void moved_or_down(const Reply& reply);
  // Hands the change events of an applied write to options_.changes.
  void publish_changes(const LogEntry& e, std::span<const std::string_view> argv,
                       const std::string& origin);
  // Settles the pending write at `index` (if any) with `resp`.
  void settle(uint64_t index, std::string resp);
  void maybe_snapshot();
  // The entry data of a client write: argv with relative expiries made absolute.
  std::string entry_for(std::span<const std::string_view> argv) const;
  void run_local(std::span<const std::string_view> argv, nodes::Session& session,
                 const Reply& reply);

  ShardOptions options_;
  const Clock& clock_;
  const Clock& replication_clock_;
  Send send_;
  nodes::ServerStats no_stats_;
  Store store_;
  DbCommands commands_;
  nodes::CommandTable table_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<Replication> core_;
  std::map<uint64_t, Pending> pending_;
  // Replies settled inside a core call, delivered once storage is synced.
  std::vector<std::pair<Reply, std::string>> ready_;
  // ack-before-log: Appends that carry entries wait for the next batch write.
  std::vector<Outgoing> held_;
  TimePoint last_batch_ = 0;
  TimePoint last_sweep_ = 0;
  Role last_role_ = Role::slave;
  uint64_t last_term_ = 0;
  uint64_t last_snapshot_index_ = 0;
  uint64_t prev_snapshot_index_ = 0;
  std::string apply_out_;
  nodes::Session apply_session_;
};

}  // namespace fl::db
