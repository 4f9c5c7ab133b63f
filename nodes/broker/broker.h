// The broker's state: topics (each a fixed number of partition logs plus its consumer groups),
// durability per fsync policy, compaction, and recovery of all of it from the data directory.
// No sockets and no clock of its own: the node feeds it commands and the current time, so it is
// unit-tested with real temp files and fake time.
//
// Layout of the data directory: topics/<escaped topic name>/ holding `meta` (the partition
// count), p<N>/ (a PartitionLog each) and groups.log (a GroupLog). A deleted topic's directory
// is first renamed into deleted/ (atomic), then removed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "nodes/broker/consumer_group.h"
#include "nodes/broker/file_io.h"
#include "nodes/broker/group_log.h"
#include "nodes/broker/partition_log.h"

namespace fl::broker {

// An entry's ID: "<partition>-<offset>". IDs order partition-major.
struct StreamId {
  uint32_t partition = 0;
  uint64_t offset = 0;
  auto operator<=>(const StreamId&) const = default;
};
std::string format_id(StreamId id);
// "<p>-<o>", or "<p>" alone (the offset is then `missing_offset`). nullopt when malformed.
std::optional<StreamId> parse_id(std::string_view s, uint64_t missing_offset = 0);
constexpr StreamId kMaxId{UINT32_MAX, UINT64_MAX};

struct BrokerOptions {
  std::filesystem::path dir;
  // Partitions of a topic created from now on (an existing topic keeps its count). Default 4.
  uint32_t partitions = 4;
  FsyncPolicy fsync = FsyncPolicy::always;
  // Delivered, unacknowledged entries are delivered again after this. Default 5 s.
  int64_t ack_timeout_ms = 5000;
  // Topics compacted every compact_every_ms (and on COMPACT).
  std::set<std::string> compact_topics;
  int64_t compact_every_ms = 10000;
  // Segment size of the partition logs.
  uint64_t segment_bytes = 64ull << 20;
  // TEST ONLY: XADD is answered before its record is written; a timer writes it later.
  bool ack_before_write = false;
  int64_t bug_write_delay_ms = 200;
};

struct BrokerStats {
  uint64_t adds = 0;
  uint64_t acks = 0;
  uint64_t compactions = 0;
  uint64_t compacted_entries = 0;  // entries dropped by compaction
  uint64_t torn_bytes = 0;         // cut at recovery (logs and group logs)
  uint64_t recovered_entries = 0;
  // Partitions whose log ended before what a consumer group had seen (records lost, e.g. with
  // fsync never and a machine crash, or the ack-before-write bug); offsets skip past the loss.
  uint64_t offset_gaps = 0;
};

struct Topic {
  std::string name;
  std::filesystem::path dir;
  std::vector<std::unique_ptr<PartitionLog>> parts;
  std::vector<PartitionLog*> logs;  // raw view of `parts`, for ConsumerGroup
  std::unique_ptr<GroupLog> group_log;
  std::map<std::string, ConsumerGroup, std::less<>> groups;
  uint64_t round_robin = 0;
};

class Broker {
 public:
  static result<std::unique_ptr<Broker>> open(BrokerOptions options);
  // A clean close: writes what is buffered (not the bug's delayed records) and, unless the
  // policy is `never`, fsyncs.
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Appends an entry (fields as name, value, ...), creating the topic; it is visible to reads at
  // once. The partition is ring_hash(value of the `key` field) mod partitions, or round-robin
  // without one. Under `everysec` and `never` the record is written with one write(2) before
  // this returns (it survives a process kill); under `always` it is buffered until the next
  // sync()/take_sync_fds() (the group commit the reply waits for); with ack_before_write until
  // the delayed write in tick().
  result<StreamId> add(std::string_view topic, std::span<const std::string_view> fields);

  // Entries with from <= ID <= to in ID order, at most `count`.
  std::vector<Delivery> range(const Topic& t, StreamId from, StreamId to, size_t count) const;

  enum class GroupCreate { created, exists, no_topic };
  // XGROUP CREATE: delivery starts at the end of each partition (`from_end`) or at 0.
  result<GroupCreate> create_group(std::string_view topic, std::string_view group, bool from_end,
                                   bool mkstream);
  // XGROUP DESTROY: false when there was no such group.
  result<bool> destroy_group(std::string_view topic, std::string_view group);
  // XACK: the number of IDs that were pending and now are acknowledged (logged durably).
  result<int64_t> ack(Topic& t, ConsumerGroup& g, std::span<const StreamId> ids);
  // DEL: false when the topic did not exist.
  result<bool> remove_topic(std::string_view topic);
  // Compacts every partition of the topic.
  result<CompactResult> compact(Topic& t);

  // True when some file was written but not yet fdatasynced.
  bool needs_sync() const;
  // fdatasyncs every written file, on this thread.
  result<void> sync();
  // For a group commit on another thread: writes the records buffered under `always`, then
  // returns duplicates of the descriptors of every written file, now counted as synced (see
  // PartitionLog::take_sync_fd). The caller fdatasyncs and closes them; until it has, their
  // writes are not durable. A failed write is returned (and latched by its log).
  result<std::vector<int>> take_sync_fds();
  // Writes the records buffered under `always` (sync() and take_sync_fds() do this first).
  result<void> write_buffered();
  // Periodic work, every few ms: the bug's delayed writes, scheduled compaction, group log
  // rewrites. (Syncs per policy are the caller's: see take_sync_fds.)
  result<void> tick(int64_t now_ms);

  Topic* find(std::string_view topic);
  const std::map<std::string, std::unique_ptr<Topic>, std::less<>>& topics() const {
    return topics_;
  }
  const BrokerOptions& options() const { return options_; }
  const BrokerStats& stats() const { return stats_; }
  uint64_t fsyncs() const;
  uint64_t lag() const;
  uint64_t group_count() const;

 private:
  explicit Broker(BrokerOptions options) : options_(std::move(options)) {}
  result<void> recover();
  result<Topic*> load_topic(const std::filesystem::path& dir, std::string name);
  result<Topic*> create_topic(std::string_view name);
  result<void> maybe_rewrite_groups(Topic& t);

  BrokerOptions options_;
  std::map<std::string, std::unique_ptr<Topic>, std::less<>> topics_;
  BrokerStats stats_;
  uint64_t deleted_seq_ = 0;
  uint64_t retired_fsyncs_ = 0;  // of deleted topics
  int64_t last_compact_ms_ = 0;
  int64_t bug_since_ms_ = -1;
  int64_t last_rewrite_check_ms_ = 0;
  bool bug_buffered_ = false;
  bool unwritten_ = false;  // records buffered under `always`
};

// Topic names as directory names: [A-Za-z0-9_-] kept, every other byte %XX.
std::string escape_topic(std::string_view name);
std::optional<std::string> unescape_topic(std::string_view dir_name);

}  // namespace fl::broker
