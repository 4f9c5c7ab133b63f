// The database node's commands, as Redis spells them, over a Store. Handlers never touch a
// socket: they read argv and append one RESP reply, so they are unit-tested directly.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nodes/common/command_table.h"
#include "nodes/common/session.h"
#include "nodes/db/store.h"

namespace fl::db {

struct DbOptions {
  // Node id, reported by INFO.
  std::string id = "db";
  // Largest COUNT honoured by SCAN and SSCAN; larger requests are capped. Default 1000.
  size_t scan_count_cap = 1000;
  // Read-only settings answered by CONFIG GET, as (name, value) pairs.
  std::vector<std::pair<std::string, std::string>> config;
};

// What ROLE and INFO replication report, provided by the node's replica (ShardReplica).
struct ReplicaStatus {
  std::string id;
  std::string addr;  // host:port
  uint64_t offset = 0;
  int64_t lag_ms = 0;  // since the master last heard from it
};
struct ReplicationStatus {
  // "master" or "slave" (a candidate reports "slave" with slave_state "election").
  std::string role = "master";
  uint64_t term = 0;
  int shard = 0;
  std::string master_id;
  std::string master_host;  // "" and 0 when unknown
  uint16_t master_port = 0;
  // Slave only: connected, connecting, sync (full resync), election.
  std::string slave_state = "connected";
  uint64_t last_index = 0;  // master_repl_offset
  uint64_t commit = 0;
  uint64_t applied = 0;
  std::vector<ReplicaStatus> slaves;  // master only
  int64_t lease_ms_left = 0;
};

// Read-only view of the replica's state for ROLE and INFO replication.
class ReplicationStatusSource {
 public:
  virtual ~ReplicationStatusSource() = default;
  virtual ReplicationStatus replication_status() const = 0;
  // The body of INFO persistence ("name:value\r\n" lines); "" when there is nothing to say.
  virtual std::string persistence_info() const { return {}; }
  // The body of INFO changes (change-event publishing); "" omits the section.
  virtual std::string changes_info() const { return {}; }
};

// What the replication and routing layers need to know about a command.
struct CommandInfo {
  // Changes the keyspace: proposed as a log entry, executed only on the master.
  bool write = false;
  // Key positions as Redis's COMMAND: first and last key argument (negative last counts from
  // the end: -1 = the last argument) and the step; first_key == 0 for a keyless command.
  int first_key = 0;
  int last_key = 0;
  int step = 0;
};

// Counters for INFO stats.
struct KeyspaceStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
};

class DbCommands {
 public:
  // `store` and `server_stats` must outlive this object and the table it is registered in.
  DbCommands(Store& store, const nodes::ServerStats& server_stats, DbOptions options);

  // Registers every command in `table`.
  void register_all(nodes::CommandTable& table);

  // Active expiry, for a periodic timer: removes up to `max` expired keys.
  size_t sweep(size_t max);

  const KeyspaceStats& keyspace_stats() const { return stats_; }

  // ROLE and INFO replication report `source`'s state; null (the default) reports a standalone
  // master. `source` must outlive this object.
  void set_replication_source(const ReplicationStatusSource* source) { replication_ = source; }

  // The flags of a command by name (any case), or nullptr for a name this class does not know.
  static const CommandInfo* command_info(std::string_view name);

 private:
  using Ctx = nodes::CommandContext;

  void ping(Ctx& c);
  void echo(Ctx& c);
  void get(Ctx& c);
  void set(Ctx& c);
  void del(Ctx& c);
  void exists(Ctx& c);
  void incr_by(Ctx& c, int64_t delta);
  void incr_by_arg(Ctx& c, bool negate);
  void mget(Ctx& c);
  void mset(Ctx& c);
  void type(Ctx& c);
  void expire(Ctx& c, int64_t unit_ms);
  void pexpireat(Ctx& c);
  void ttl(Ctx& c, int64_t unit_ms);
  void persist(Ctx& c);
  void sadd(Ctx& c);
  void srem(Ctx& c);
  void scard(Ctx& c);
  void sismember(Ctx& c);
  void smembers(Ctx& c);
  void sscan(Ctx& c);
  void scan(Ctx& c);
  void dbsize(Ctx& c);
  void digest(Ctx& c);
  void flushall(Ctx& c);
  void info(Ctx& c);
  void role(Ctx& c);
  void quit(Ctx& c);
  void shutdown(Ctx& c);
  void command(Ctx& c);
  void config(Ctx& c);
  void select(Ctx& c);

  // Looks a key up for reading, counting a hit or a miss.
  Entry* lookup_read(std::string_view key);

  Store& store_;
  const nodes::ServerStats& server_stats_;
  DbOptions options_;
  KeyspaceStats stats_;
  TimeMs started_ms_;
  const nodes::CommandTable* table_ = nullptr;
  const ReplicationStatusSource* replication_ = nullptr;
  std::string scratch_;
};

}  // namespace fl::db
