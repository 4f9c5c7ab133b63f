// The database node as a member of a cluster: the topology from --member, routing of key
// commands (key -> shard by fl::shard_of; -MOVED for keys of other shards; -CROSSSLOT for
// commands whose keys span shards), CLUSTER SHARDS, and the shard map each node keeps by
// broadcasting its own status to every peer (NODE.STATUS, one-way, every poll period). The
// replication logic is not here: key commands go to this node's shard backend (ShardReplica in
// async/sync mode, QuorumNode in quorum mode, or the plain command table of an in-memory
// standalone node), and peer messages (REPL.*, Q.*) to it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "nodes/common/command_table.h"
#include "nodes/common/peer_links.h"
#include "nodes/common/resp_server.h"
#include "nodes/db/clock.h"
#include "nodes/db/commands.h"
#include "nodes/db/shard_replica.h"

namespace fl::db {

enum class ClusterMode : uint8_t { async, sync, quorum };
std::string_view to_string(ClusterMode m);

struct ClusterOptions {
  // This node: id, listen address (the bound port, after listen()), and shard.
  std::string id = "db";
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int shard = 0;
  // Every db node of the cluster, this one included. Empty: standalone (shard 0 of 1).
  std::vector<ShardMember> members;
  ClusterMode mode = ClusterMode::sync;
  ReadPolicy reads = ReadPolicy::master;
  FsyncPolicy fsync = FsyncPolicy::everysec;
  // Data directory; empty keeps everything in memory.
  std::filesystem::path dir;
  int64_t heartbeat_ms = 50;
  int64_t election_timeout_ms = 300;
  int64_t lease_ms = 250;
  int quorum_n = 3, quorum_w = 2, quorum_r = 2;
  int64_t quorum_timeout_ms = 500;
  uint64_t snapshot_every = 100000;
  uint64_t seed = 1;
  // Seeded bug names (--bug), already checked against known_bugs().
  std::vector<std::string> bugs;
  // Command handler options (id, scan cap, CONFIG GET values).
  DbOptions db;
  // Change events (async and sync modes, and standalone): the broker's address (port 0: none)
  // and the topic the master adds one event per written key to.
  std::string broker_host;
  uint16_t broker_port = 0;
  std::string changes_topic = "changes";
};

// The seeded bug names faultline-db accepts.
const std::vector<std::string_view>& known_bugs();

// Checks the topology: this node among the members with its shard and address, ids unique,
// shards numbered 0..S-1, quorum sizes within the member count.
result<void> validate(const ClusterOptions& o);

// What this node knows of another node, from its latest NODE.STATUS (or its own state).
struct NodeStatus {
  std::string role;  // "master", "slave", "" when never heard from
  uint64_t term = 0;
  std::string master_id;  // the master it follows ("" when none or itself)
  uint64_t offset = 0;
  int64_t heard_ms = 0;  // monotonic time of the latest status; 0 = never
};

class ClusterNode {
 public:
  // `server` (for peer links and timers) and `stats` must outlive the node.
  ClusterNode(ClusterOptions options, nodes::RespServer& server, const nodes::ServerStats& stats);
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Recovers the shard backend from the data directory, connects the peer links and registers
  // the node's commands and timers. Call once, after the server listened and before it runs.
  result<void> start(nodes::CommandTable& table);

  // The shard a key belongs to.
  int shard_of_key(std::string_view key) const;
  int shard_count() const { return shard_count_; }

 private:
  class Backend;
  class LocalBackend;
  class ReplicaBackend;
  class QuorumBackend;

  void route(nodes::CommandContext& ctx);
  void on_peer(nodes::CommandContext& ctx);
  void on_node_status(std::span<const std::string_view> argv);
  void cluster_command(nodes::CommandContext& ctx);
  void cluster_shards(nodes::CommandContext& ctx);
  void broadcast_status();
  // This node's status now (from the backend).
  NodeStatus own_status() const;
  // The master of `shard` as this node knows it, or nullptr.
  const ShardMember* known_master(int shard, uint64_t* term = nullptr) const;
  const ShardMember* member(std::string_view id) const;
  // The -MOVED (or -CLUSTERDOWN) error for `shard`.
  std::string redirect(int shard) const;

  ClusterOptions options_;
  nodes::RespServer& server_;
  const nodes::ServerStats& stats_;
  int shard_count_ = 1;
  std::unique_ptr<nodes::PeerLinks> links_;
  std::unique_ptr<ChangePublisher> changes_;
  std::unique_ptr<Backend> backend_;
  std::map<std::string, NodeStatus, std::less<>> statuses_;  // other nodes, by id
  TimeMs last_broadcast_ms_ = 0;
  // What the latest broadcast said.
  std::string last_role_, last_master_;
  uint64_t last_term_ = 0;
};

}  // namespace fl::db
