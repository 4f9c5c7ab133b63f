// One partition of a topic: an append-only log of entries with offsets from 0, in segment files
// of one directory, with every entry also held in memory (fetches never touch the disk).
//
// Layout of `dir`: seg-<seq:016x>.log, oldest first; appends go to the newest. Each segment
// starts with an 8-byte magic, "FLBLOG01", or "FLBLOGC1" for a segment written by compaction,
// which replaces every segment of a lower seq (the rename that made it visible was the commit
// point of the compaction). Then records framed as in file_io.h whose payload is
// [u64 offset][the entry's fields as a RESP array of bulk strings, exactly as given].
//
// Recovery reads the segments in order and stops at the first torn or corrupt record of the
// newest segment: the file is cut there. Damage in an older segment is an error (that data was
// once complete and synced: it is never dropped silently). Offsets only grow; compaction leaves
// gaps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "nodes/broker/file_io.h"

namespace fl::broker {

struct Entry {
  uint64_t offset = 0;
  // The fields as a RESP array of bulk strings ("*2\r\n$1\r\nk\r\n$1\r\nv\r\n"): the reply
  // encoding and the on-disk encoding at once.
  std::string fields;
  // The value of the first field named `key`, if any (partitioning and compaction).
  std::string key;
  bool has_key = false;
};

struct LogOptions {
  // A new segment is started once the active one reaches this size. Default 64 MiB.
  uint64_t segment_bytes = 64ull << 20;
};

struct LogRecovery {
  uint64_t entries = 0;
  // Bytes cut from a torn or corrupt tail (0 when clean), and why.
  uint64_t torn_bytes = 0;
  std::string torn_reason;
};

struct CompactResult {
  uint64_t before = 0;  // entries before
  uint64_t after = 0;   // entries kept
  uint64_t bytes_before = 0, bytes_after = 0;
};

// Encodes fields (name, value, ...) as the RESP array an Entry holds, and finds the `key` field.
Entry make_entry(uint64_t offset, std::span<const std::string_view> fields);

// Not thread-safe: one owner (the broker's io thread) calls everything.
class PartitionLog {
 public:
  // Opens (creating) the log in `dir` and recovers it, cutting a torn tail.
  static result<std::unique_ptr<PartitionLog>> open(const std::filesystem::path& dir,
                                                    LogOptions options,
                                                    LogRecovery* recovered = nullptr);
  ~PartitionLog();
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // Appends an entry at next_offset() and returns it. With `write_now` the record is written
  // with one write(2) (it survives a process kill at once; a machine crash after sync());
  // without, it is only buffered until write_buffered() (the ack-before-write bug). An I/O
  // error is returned and latched: the log refuses later writes.
  result<uint64_t> append(std::span<const std::string_view> fields, bool write_now = true);

  // Writes the records append() buffered (no-op when none).
  result<void> write_buffered();

  // fdatasyncs the active segment if something was written since the last sync.
  result<void> sync();
  bool dirty() const { return dirty_; }
  // For a sync done elsewhere (a group-commit thread): when dirty, marks the log clean, counts
  // the fsync and returns a duplicate of the active segment's descriptor, which the caller
  // fdatasyncs and closes; -1 when clean.
  int take_sync_fd();

  // Keeps the last entry of each `key` value (entries without a key are all kept), as a new
  // segment that replaces the old ones atomically. Offsets keep their gaps.
  result<CompactResult> compact();

  // The entries readers may see: every one written to the segment file (so it survives a
  // process kill), not those still buffered. A reader that saw a buffered entry and then lost it
  // to a kill would have read something the log never had.
  std::span<const Entry> entries() const {
    return {entries_.data(), entries_.size() - buffered_entries_};
  }
  // Index into entries_ of the first entry with offset >= `offset` (may be past entries()).
  size_t lower_bound(uint64_t offset) const;
  // The visible entry at `offset`, or null (never written, still buffered, or compacted away).
  const Entry* find(uint64_t offset) const;
  // The offset the next append gets.
  uint64_t next_offset() const { return next_offset_; }
  // Makes the next append get at least `offset`: used at recovery when a consumer group's
  // durable state is ahead of the log (the log lost records a group had seen), so that offsets
  // are never given to two different entries.
  void reserve_offsets(uint64_t offset) { next_offset_ = std::max(next_offset_, offset); }
  // Bytes of the segment files (records as framed; magics included).
  uint64_t bytes() const { return bytes_; }
  uint64_t fsyncs() const { return fsyncs_; }
  uint64_t segments() const { return segments_.size(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Segment {
    uint64_t seq = 0;
    std::filesystem::path path;
    uint64_t size = 0;
  };
  PartitionLog(std::filesystem::path dir, LogOptions options);
  result<void> recover(LogRecovery& out);
  result<void> open_active(bool create);
  result<void> roll();
  Error fail(Error e);

  std::filesystem::path dir_;
  LogOptions options_;
  std::vector<Segment> segments_;  // oldest first; back() is the active one
  int fd_ = -1;
  std::vector<Entry> entries_;
  uint64_t next_offset_ = 0;
  uint64_t bytes_ = 0;
  uint64_t fsyncs_ = 0;
  bool dirty_ = false;
  std::string buffered_;  // framed records not yet written (write_now = false)
  size_t buffered_entries_ = 0;  // the entries_ tail those records are
  std::string scratch_;
  std::optional<Error> failure_;
};

}  // namespace fl::broker
