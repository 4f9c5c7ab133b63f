// One faultline-db node in quorum mode (--replication quorum): the client commands GET, SET,
// DEL, EXISTS and MGET coordinated over the key's preference list, the Q.* peer messages, and
// the replica store made durable through the write-ahead log. Any node coordinates any key
// (there is no MOVED in quorum mode). The socket side (client connections, peer links) belongs
// to the caller, which hands commands in and messages out; the protocol is quorum::Coordinator.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "nodes/common/session.h"
#include "nodes/db/clock.h"
#include "nodes/db/wal.h"

namespace fl::db {

struct QuorumMember {
  std::string id;       // node id, e.g. "db-s0-r1"; the ring is over these
  std::string address;  // "host:port", for INFO
};

struct QuorumOptions {
  // This node's id; must be among `members`.
  std::string id;
  // Every db node of the cluster, this one included.
  std::vector<QuorumMember> members;
  // Replicas per key (N), write acks (W) and read answers (R) awaited. REQUIRES 1 <= W, R <= N
  // <= members.size() (checked by open()).
  int n = 3;
  int w = 2;
  int r = 2;
  // A request short of its quorum this long after it started answers -NOQUORUM. Default 500 ms.
  int64_t timeout_ms = 500;
  // Where the replica store's log and snapshots live; empty = in memory only (tests).
  std::filesystem::path dir;
  // When a record the replica stores is durable: with `always` it is fsynced before the replica
  // acknowledges it. Default everysec.
  FsyncPolicy fsync = FsyncPolicy::everysec;
  // Log records between snapshots of the whole replica store. Default 100000.
  uint64_t snapshot_every = 100000;
  // Seeded bugs (test-only); the one this mode knows is "quorum-read-one". Others are ignored.
  std::vector<std::string> bugs;
  // Microseconds since the epoch for the hybrid clock's physical part; default the system
  // clock. Last write wins by these timestamps, so a write that starts after another finished
  // gets the larger version only if the nodes' clocks agree to better than that gap: true for
  // nodes of one host (one clock), in microseconds. Tests inject a fake clock.
  std::function<int64_t()> physical_us;
};

// What INFO quorum reports.
struct QuorumInfo {
  int n = 0, w = 0, r = 0;
  uint64_t keys = 0, tombstones = 0;
  int64_t hlc_physical = 0;
  uint32_t hlc_logical = 0;
  uint64_t pending = 0;  // requests in flight
  uint64_t writes_ok = 0, writes_no_quorum = 0, reads_ok = 0, reads_no_quorum = 0;
  uint64_t read_repairs = 0;  // repair puts sent (blocking and background)
  uint64_t replica_puts = 0, replica_gets = 0;
  uint64_t log_records = 0;  // records appended since open
  uint64_t recovered_records = 0;
};

class QuorumNode {
 public:
  using Send = std::function<void(const std::string& peer_id, std::vector<std::string> argv)>;
  using Reply = std::function<void(std::string resp_bytes)>;  // one complete RESP reply

  // `clock` gives the `now` the node uses when execute() is called; it must outlive the node,
  // and on_peer_message()/tick() must be given times from the same clock.
  QuorumNode(QuorumOptions options, const Clock& clock, Send send);
  ~QuorumNode();
  QuorumNode(const QuorumNode&) = delete;
  QuorumNode& operator=(const QuorumNode&) = delete;

  // Checks the options and recovers the replica store from `dir` (creating it). Call once,
  // before anything else.
  result<void> open();

  // A client command. `reply` is called exactly once, now or later. Answers GET, SET (without
  // options), DEL, EXISTS, MGET; other commands get `-ERR ... not supported in quorum mode`;
  // a quorum short before the timeout gets `-NOQUORUM ...`.
  void execute(std::span<const std::string_view> argv, nodes::Session& session, Reply reply);

  // A Q.* message from a peer (the caller has already answered +OK to its link).
  void on_peer_message(std::span<const std::string_view> argv, TimeMs now);

  // Expires requests past their deadline. Call every ~10 ms.
  void tick(TimeMs now);

  // Whether execute() should get this command in quorum mode: everything touching keys. The
  // connection/admin commands (PING, ECHO, INFO, ROLE, CLIENT, CONFIG, COMMAND, QUIT,
  // SHUTDOWN, SELECT, HELLO, CLUSTER) stay with the node's normal handlers.
  static bool handles(std::string_view command);
  // Whether this is a Q.* peer command (for on_peer_message()).
  static bool is_peer_command(std::string_view command);

  // For ROLE / INFO / CLUSTER SHARDS: quorum nodes report role "master", term 0.
  const std::string& id() const;
  const std::vector<QuorumMember>& members() const;
  QuorumInfo info() const;
  // "# Quorum\r\nquorum_n:3\r\n..." for INFO.
  std::string info_section() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::db
