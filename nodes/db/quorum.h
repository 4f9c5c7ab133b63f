// The leaderless quorum mode (Dynamo/Cassandra style), written sans-IO: a hybrid logical clock,
// a versioned replica store (last write wins by (timestamp, writer id)), the peer messages and
// their argv codec, and the coordinator that runs quorum writes and reads with blocking read
// repair. Nothing here touches a socket, a file or the real clock: time is passed in or
// injected, messages go out through a callback, so the whole protocol is tested with a fake
// network.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/error.h"
#include "common/hash_ring.h"

namespace fl::db::quorum {

// A hybrid logical clock reading: physical time (microseconds since the epoch, as the caller's
// clock gives it) and a logical counter that orders events within one physical tick.
struct Timestamp {
  int64_t physical = 0;
  uint32_t logical = 0;
  auto operator<=>(const Timestamp&) const = default;
};

// Kulkarni et al.'s HLC: close to physical time, yet never goes backwards and always exceeds
// every timestamp it has issued or observed, so causally later events get larger timestamps
// even across nodes whose clocks disagree.
class HybridClock {
 public:
  // A timestamp for a local event or a message send, larger than every earlier result of
  // tick() and observe().
  Timestamp tick(int64_t physical_now);
  // Merges a timestamp received from a peer; returns the new reading (larger than `remote`).
  Timestamp observe(Timestamp remote, int64_t physical_now);
  Timestamp last() const { return last_; }

 private:
  Timestamp last_;
};

// A write's version: its timestamp, and the coordinating node's id to break ties.
struct Version {
  Timestamp ts;
  std::string writer;
  auto operator<=>(const Version&) const = default;
};

// One replica's state of a key: a value, or a tombstone (a deleted key, kept so that an older
// value cannot come back through read repair).
struct Record {
  Version version;
  std::optional<std::string> value;  // nullopt = tombstone
  bool operator==(const Record&) const = default;
};

// A replica's keys. Last write wins: a record replaces the stored one only if its version is
// larger.
class ReplicaStore {
 public:
  // The record of `key`, or nullptr when this replica never saw a write of it.
  const Record* find(std::string_view key) const;
  // Stores `r` if it is newer than what is stored; returns whether it did.
  bool apply(std::string_view key, const Record& r);
  void clear() { records_.clear(); }

  size_t size() const { return records_.size(); }
  // Keys whose record is a tombstone.
  size_t tombstones() const { return tombstones_; }
  // The largest version stored (for the clock after recovery); a zero Version when empty.
  const Version& max_version() const { return max_version_; }

  template <class F>  // F(const std::string& key, const Record&)
  void for_each(F&& f) const {
    for (const auto& [k, r] : records_) f(k, r);
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, Record, Hash, std::equal_to<>> records_;
  size_t tombstones_ = 0;
  Version max_version_;
};

// Byte encoding of (key, record) for the write-ahead log and of a whole store for snapshots.
std::string encode_entry(std::string_view key, const Record& r);
// Appends the entries of `bytes` (one or many encode_entry results back to back) to `store`.
result<void> decode_entries(std::string_view bytes, ReplicaStore& store);
std::string encode_store(const ReplicaStore& store);

// ---- peer messages ----
// Each is one RESP command on the data port, one-way (the receiver answers +OK at once and
// sends any response as its own message):
//   Q.PUT    <from> <hlc> <req> <key> <version> <flag> <value>   store this record
//   Q.PUTACK <from> <hlc> <req> <had>                            stored (or already had newer)
//   Q.GET    <from> <hlc> <req> <key>                            send me your record of key
//   Q.GOT    <from> <hlc> <req> <found> <version> <flag> <value> my record (found=0: none)
// <hlc> and <version> are "physical.logical" and "physical.logical.writer"; flag is 1 for a
// value, 0 for a tombstone (value then empty); had is 1 if the replica held a live value before.

struct PutMsg {
  uint64_t req = 0;
  std::string key;
  Record record;
};
struct PutAckMsg {
  uint64_t req = 0;
  bool had_value = false;
};
struct GetMsg {
  uint64_t req = 0;
  std::string key;
};
struct GotMsg {
  uint64_t req = 0;
  std::optional<Record> record;
};

struct PeerMessage {
  std::string from;
  Timestamp hlc;  // the sender's clock at send time
  std::variant<PutMsg, PutAckMsg, GetMsg, GotMsg> body;
};

std::vector<std::string> encode(const PeerMessage& m);
// Parses a Q.* command. Errors name what is malformed.
result<PeerMessage> decode(std::span<const std::string_view> argv);
// Whether `name` is one of the Q.* peer commands (any case).
bool is_peer_command(std::string_view name);

// ---- coordinator ----

struct CoordinatorOptions {
  // This node's id; must be one of `members`.
  std::string self;
  // Every node of the cluster (ids); the ring is over these.
  std::vector<std::string> members;
  // Replicas per key, write acks and read answers awaited. REQUIRES 1 <= w, r <= n.
  int n = 3;
  int w = 2;
  int r = 2;
  // A request without its quorum this long after it started fails with no_quorum.
  int64_t timeout_ms = 500;
  // Seeded bug quorum-read-one: a read answers with the first reply, ignoring R and repair.
  bool bug_read_one = false;
};

enum class Outcome : uint8_t {
  ok,
  no_quorum,  // fewer than W (R) answers before the timeout; a write's fate is unknown
};

struct WriteResult {
  Outcome outcome = Outcome::ok;
  // Some acknowledging replica held a live value before this write (DEL's count).
  bool had_value = false;
  // The version the write was given (also when it failed: it may still be applied).
  Version version;
};
struct ReadResult {
  Outcome outcome = Outcome::ok;
  // The newest value among the answers; nullopt when the key is absent or deleted.
  std::optional<std::string> value;
  // Its version; a zero Version when no answering replica ever saw the key.
  Version version;
};

struct CoordinatorStats {
  uint64_t writes_ok = 0, writes_no_quorum = 0;
  uint64_t reads_ok = 0, reads_no_quorum = 0;
  uint64_t repairs_sent = 0;  // Q.PUTs sent (or local applies) by read repair
  uint64_t late_repairs = 0;  // of which to replicas that answered after the read was answered
  uint64_t replica_puts = 0;  // puts this node applied or acknowledged as a replica
  uint64_t replica_gets = 0;
  uint64_t persist_failures = 0;  // records the replica stored but could not make durable
  uint64_t bad_messages = 0;      // unknown request ids are not counted: late replies are normal
};

class Coordinator {
 public:
  // Queues a message to peer `to` (never this node). Must not call back into the coordinator.
  using Send = std::function<void(const std::string& to, const PeerMessage& m)>;
  // Called after the local replica stored a record and before that is acknowledged to anyone
  // (to a peer or to the local coordinator): the place to write it durably. Returning false
  // (the record could not be made durable) withholds the acknowledgement.
  using OnApply = std::function<bool(std::string_view key, const Record& r)>;
  // Microseconds since the epoch for the hybrid clock's physical part.
  using PhysicalClock = std::function<int64_t()>;
  using WriteDone = std::function<void(const WriteResult&)>;
  using ReadDone = std::function<void(const ReadResult&)>;

  // `first_request_id` should differ between incarnations of a node (e.g. the start time), so
  // late replies to a previous incarnation's requests are not mistaken for new ones.
  Coordinator(CoordinatorOptions options, PhysicalClock physical, Send send, OnApply on_apply,
              uint64_t first_request_id = 1);

  // Writes `value` (nullopt deletes) under a new version to the key's N replicas; `done` is
  // called exactly once, possibly before write() returns: ok after W acks, no_quorum at the
  // deadline.
  void write(std::string key, std::optional<std::string> value, int64_t now_ms, WriteDone done);
  // Reads from the key's N replicas; after R answers picks the newest, writes it back to the
  // answering replicas that were older (and to more replicas if needed so that W hold it) and
  // answers once they acknowledged. `done` is called exactly once, possibly before read()
  // returns.
  void read(std::string key, int64_t now_ms, ReadDone done);

  // A peer message addressed to this node (as replica or as coordinator).
  void on_message(const PeerMessage& m, int64_t now_ms);
  // Fails requests whose deadline passed. Call every few ms.
  void tick(int64_t now_ms);

  // The key's replicas, as member ids, in preference order.
  std::vector<std::string> preference_list(std::string_view key) const;

  ReplicaStore& store() { return store_; }
  const ReplicaStore& store() const { return store_; }
  HybridClock& clock() { return hlc_; }
  const CoordinatorOptions& options() const { return options_; }
  const CoordinatorStats& stats() const { return stats_; }
  size_t pending() const { return ops_.size(); }

 private:
  struct Op {
    bool is_read = false;
    std::string key;
    std::vector<std::string> replicas;
    int64_t deadline_ms = 0;
    WriteDone write_done;
    ReadDone read_done;
    // writes: replicas that acknowledged.
    std::set<std::string> acked;
    bool had_value = false;
    // reads: answers so far; then the repair phase.
    std::map<std::string, std::optional<Record>> answers;
    bool repairing = false;
    Record newest;
    std::set<std::string> holding;         // replicas known to hold `newest` (or newer)
    std::set<std::string> repair_waiting;  // repaired replicas whose ack is awaited
    size_t needed = 0;                     // replicas that must hold `newest` before answering
  };

  Timestamp stamp();
  void send(const std::string& to, decltype(PeerMessage::body) body);
  // The local replica's side of a Q.PUT: store and persist if newer. Returns whether the
  // replica may acknowledge, and in `had` whether it held a live value before.
  bool replica_put(std::string_view key, const Record& r, bool& had);
  void on_put_ack(const std::string& from, const PutAckMsg& m);
  void on_got(const std::string& from, GotMsg m);
  void read_answer(uint64_t req, const std::string& from, std::optional<Record> rec);
  void start_repair(uint64_t req, Op& op);
  void repair(uint64_t req, Op& op, const std::string& replica);
  void maybe_finish_read(uint64_t req);
  void finish_write(std::map<uint64_t, Op>::iterator it, Outcome o);
  void finish_read(std::map<uint64_t, Op>::iterator it, Outcome o);

  CoordinatorOptions options_;
  HashRing ring_;
  PhysicalClock physical_;
  Send send_;
  OnApply on_apply_;
  HybridClock hlc_;
  ReplicaStore store_;
  uint64_t next_req_;
  std::map<uint64_t, Op> ops_;
  // Answered reads whose other replicas have not answered yet: a late answer older than the
  // value returned is repaired in the background (no one waits for it). Dropped at the deadline.
  struct Late {
    std::string key;
    Record newest;
    std::vector<std::string> unanswered;
    int64_t deadline_ms = 0;
  };
  std::map<uint64_t, Late> late_;
  CoordinatorStats stats_;
};

}  // namespace fl::db::quorum
