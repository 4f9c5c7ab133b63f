// The database's durable write-ahead log: length-framed, CRC32C-checksummed records in segment
// files, one snapshot file, and small metadata (Raft term and vote), all in one directory.
//
// Layout of `dir`:
//   wal-<seq:016x>.log  segments, oldest first; appends go to the newest. Each starts with an
//                       8-byte magic; then records: [u32 len][u32 crc32c(len, type, body)]
//                       [u8 type][body of len bytes]. Types: entry (index, term, data),
//                       truncate (index), meta (bytes).
//   snapshot            the latest snapshot (replaced atomically by rename).
//
// truncate_after() and save_meta() are logged records, not in-place edits, so every change is an
// append and a crash leaves at most one torn record at the end. Recovery reads the snapshot and
// then every segment in order, applies truncations, and stops at the first torn or corrupt
// record: it cuts the file there (and deletes any later segment), so that data is never replayed.
// write_snapshot() starts a new segment and deletes the oldest segments whose records all lie at
// or below the snapshot's index, so the log replayed at restart stays bounded.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"

namespace fl::db {

// When appended records reach the disk: always (sync() fdatasyncs), everysec (a background
// thread does, once a second) or never. Shared with the broker (common/file_io.h).
using common::FsyncPolicy;
using common::parse_fsync_policy;
using common::to_string;

struct WalRecord {
  uint64_t index = 0;
  uint64_t term = 0;
  std::string data;
};

struct WalSnapshot {
  // The last log index and its term that the snapshot's state includes.
  uint64_t index = 0;
  uint64_t term = 0;
  // Opaque state bytes (see nodes/db/snapshot.h for a Store's).
  std::string data;
};

// What open() found.
struct WalRecovery {
  std::optional<WalSnapshot> snapshot;
  // The last save_meta() bytes ("" if none).
  std::string meta;
  // The entries after the snapshot, truncations applied, in index order without gaps.
  std::vector<WalRecord> records;
  // Bytes cut from a torn or corrupt tail (0 when the log was clean), and why ("" when clean).
  uint64_t torn_bytes = 0;
  std::string torn_reason;
};

// Counters for INFO persistence. Cumulative since open().
struct WalStats {
  uint64_t records = 0;            // records appended (entries, truncations, meta)
  uint64_t bytes = 0;              // bytes written to segments
  uint64_t fsyncs = 0;             // fdatasyncs of segments (by sync(), the thread, or rotation)
  uint64_t background_fsyncs = 0;  // of those, by the everysec thread
  uint64_t last_fsync_us = 0;      // duration of the latest fdatasync, microseconds
  uint64_t torn_bytes = 0;         // bytes cut at recovery
  uint64_t snapshots = 0;          // snapshots written
  uint64_t snapshot_index = 0;     // index of the current snapshot (0 = none)
  uint64_t snapshot_bytes = 0;     // size of the current snapshot file
  uint64_t segments = 0;           // segment files on disk
  uint64_t last_index = 0;
  bool failed = false;  // a write or fsync failed; see status()
};

// Not thread-safe: one owner calls every method (the everysec flusher is internal).
class Wal {
 public:
  // Opens (creating) the log in `dir`, recovers it into `recovered`, cuts any torn or corrupt
  // tail. Fails on I/O errors, on an unreadable snapshot file, and on a log whose entries have a
  // gap (a bug, not a torn write): those are never silently dropped.
  static result<std::unique_ptr<Wal>> open(const std::filesystem::path& dir, FsyncPolicy policy,
                                           WalRecovery& recovered);

  // Stops the flusher; with everysec, fdatasyncs what is unsynced.
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Writes one entry with a single write(2), so it survives a kill of the process at once, and
  // a machine crash after the next sync() under `always` (several appends and then one sync()
  // are a group commit). REQUIRES: r.index == last_index() + 1; a violation, like an I/O error,
  // is latched: the log stops writing and sync()/status() return the error from then on.
  void append(const WalRecord& r);

  // Drops entries with index > `index`, as a logged record (applied again at recovery); the next
  // append is index + 1. REQUIRES: index >= the snapshot's index, or a snapshot at `index`
  // follows (as when a rolled-back follower installs its master's snapshot).
  void truncate_after(uint64_t index);

  // Records small state (Raft term + vote) as a logged record; durable as entries are (call
  // sync() before acting on it). Recovery returns the last one. Compaction carries it forward.
  void save_meta(std::string_view bytes);

  // Call before acknowledging: fdatasyncs the segment iff the policy is `always`. Returns the
  // latched error of any earlier failed write or fsync.
  result<void> sync();

  // Replaces the snapshot atomically (temp file, fsync, rename, directory fsync), then starts a
  // new segment and deletes the oldest segments that hold only entries <= s.index. Entries after
  // s.index are kept; last_index() becomes at least s.index. A failure to write the snapshot
  // file is returned and leaves the log as it was; a failure to start the new segment is latched.
  result<void> write_snapshot(const WalSnapshot& s);

  // The index of the last entry, or of the snapshot when no entry follows it (0 when empty).
  uint64_t last_index() const { return last_index_; }
  // The current snapshot's index (0 = none).
  uint64_t snapshot_index() const { return snapshot_index_; }
  FsyncPolicy policy() const { return policy_; }
  // OK, or the first write or fsync error.
  result<void> status() const;
  WalStats stats() const;

 private:
  struct Segment {
    uint64_t seq = 0;
    std::filesystem::path path;
    // The highest entry index ever written to it (an upper bound of what it holds).
    uint64_t max_index = 0;
  };

  Wal(std::filesystem::path dir, FsyncPolicy policy);
  result<void> recover(WalRecovery& out);
  result<void> open_segment(uint64_t seq);
  // Frames `body` as one record and writes it; entry_index != 0 for entries.
  void write_record(uint8_t type, std::string_view body, uint64_t entry_index);
  // Frames the body already in buf_ after its header room, and writes it.
  void finish_record(uint8_t type, uint64_t entry_index);
  result<void> fsync_active();
  void fail(Error e);
  void flusher_loop();

  std::filesystem::path dir_;
  FsyncPolicy policy_;
  std::vector<Segment> segments_;  // oldest first; back() is the active one
  int fd_ = -1;                    // the active segment, O_APPEND
  std::filesystem::path fd_path_;  // its path (segments_ is not shared with the flusher)
  uint64_t last_index_ = 0;
  uint64_t snapshot_index_ = 0;
  std::string meta_;
  std::string buf_;  // scratch for one framed record

  // Guards fd_ changes and failure_ against the flusher.
  mutable std::mutex mu_;
  std::optional<Error> failure_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> dirty_{false};
  std::atomic<uint64_t> records_{0}, bytes_{0}, fsyncs_{0}, background_fsyncs_{0},
      last_fsync_us_{0};
  uint64_t torn_bytes_ = 0, snapshots_ = 0, snapshot_bytes_ = 0;

  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace fl::db
