#include "nodes/db/wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "common/file_io.h"
#include "nodes/db/bytes.h"

namespace fl::db {
namespace {

namespace fs = std::filesystem;
using common::cut_file;
using common::fsync_dir;
using common::io_error;
using common::write_all;

constexpr std::string_view kSegmentMagic = "FLWAL001";
constexpr std::string_view kSnapshotMagic = "FLSNAP01";
constexpr size_t kHeader = 9;  // u32 len, u32 crc, u8 type
// A length above this is corruption, not a record (the largest command is far smaller).
constexpr uint32_t kMaxBody = 1u << 30;

enum RecordType : uint8_t { kEntry = 1, kTruncate = 2, kMeta = 3 };

fs::path segment_path(const fs::path& dir, uint64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "wal-%016llx.log", static_cast<unsigned long long>(seq));
  return dir / name;
}

// The sequence number of a segment file name, or 0 if the name is not one.
uint64_t segment_seq(const std::string& name) {
  if (name.size() != 24 || !name.starts_with("wal-") || !name.ends_with(".log")) return 0;
  uint64_t v = 0;
  for (char c : std::string_view(name).substr(4, 16)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return 0;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

result<WalSnapshot> parse_snapshot(const fs::path& p, std::string_view bytes) {
  auto bad = [&](const std::string& why) {
    return Error(errc::parse_error, "snapshot " + p.string() + " is unreadable: " + why);
  };
  if (bytes.size() < kSnapshotMagic.size() + 28) return bad("too short");
  if (bytes.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) return bad("bad magic");
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  bytes::Reader tail(bytes.substr(bytes.size() - 4));
  if (bytes::crc32c(body) != tail.get<uint32_t>()) return bad("checksum mismatch");
  bytes::Reader r(body.substr(kSnapshotMagic.size()));
  WalSnapshot s;
  s.index = r.get<uint64_t>();
  s.term = r.get<uint64_t>();
  uint64_t len = r.get<uint64_t>();
  if (!r.ok() || len != r.remaining()) return bad("length mismatch");
  s.data = r.take(len);
  return s;
}

}  // namespace

Wal::Wal(std::filesystem::path dir, FsyncPolicy policy) : dir_(std::move(dir)), policy_(policy) {}

Wal::~Wal() {
  if (flusher_.joinable()) {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    flusher_.join();
  }
  if (fd_ >= 0) {
    if (policy_ == FsyncPolicy::everysec && dirty_.load()) (void)fsync_active();
    ::close(fd_);
  }
}

result<std::unique_ptr<Wal>> Wal::open(const std::filesystem::path& dir, FsyncPolicy policy,
                                       WalRecovery& recovered) {
  recovered = WalRecovery{};
  std::unique_ptr<Wal> wal(new Wal(dir, policy));
  if (auto r = wal->recover(recovered); !r) return r.error();
  if (policy == FsyncPolicy::everysec)
    wal->flusher_ = std::thread([w = wal.get()] { w->flusher_loop(); });
  return wal;
}

result<void> Wal::recover(WalRecovery& out) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Error(errc::io_error, "cannot create " + dir_.string() + ": " + ec.message());
  fs::remove(dir_ / "snapshot.tmp", ec);

  const fs::path snap_path = dir_ / "snapshot";
  if (fs::exists(snap_path, ec)) {
    auto bytes = common::read_whole_file(snap_path);
    if (!bytes) return bytes.error();
    auto snap = parse_snapshot(snap_path, *bytes);
    if (!snap) return snap.error();
    snapshot_index_ = snap->index;
    snapshot_bytes_ = bytes->size();
    out.snapshot = std::move(*snap);
  }

  for (const auto& de : fs::directory_iterator(dir_, ec)) {
    uint64_t seq = segment_seq(de.path().filename().string());
    if (seq != 0) segments_.push_back(Segment{seq, de.path(), 0});
  }
  if (ec) return Error(errc::io_error, "cannot list " + dir_.string() + ": " + ec.message());
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.seq < b.seq; });

  std::vector<WalRecord>& recs = out.records;
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& seg = segments_[i];
    auto file = common::read_whole_file(seg.path);
    if (!file) return file.error();
    std::string_view data = *file;
    std::string why;
    size_t off = 0;
    if (data.size() < kSegmentMagic.size()) {
      if (!data.empty() || i + 1 < segments_.size()) why = "segment header is torn";
    } else if (data.substr(0, kSegmentMagic.size()) != kSegmentMagic) {
      why = "segment header is corrupt";
    } else {
      off = kSegmentMagic.size();
    }
    while (why.empty() && off < data.size()) {
      if (data.size() - off < kHeader) {
        why = "record header is torn";
        break;
      }
      bytes::Reader h(data.substr(off, kHeader));
      const uint32_t len = h.get<uint32_t>();
      const uint32_t crc = h.get<uint32_t>();
      const uint8_t type = h.get<uint8_t>();
      if (len > kMaxBody) {
        why = "record length is corrupt";
        break;
      }
      if (data.size() - off - kHeader < len) {
        why = "record is torn";
        break;
      }
      bytes::Crc32c c;
      c.process_bytes(data.data() + off, 4);
      c.process_bytes(data.data() + off + 8, 1 + len);
      if (c.checksum() != crc) {
        why = "record checksum mismatch";
        break;
      }
      bytes::Reader body(data.substr(off + kHeader, len));
      if (type == kEntry && len >= 16) {
        WalRecord rec;
        rec.index = body.get<uint64_t>();
        rec.term = body.get<uint64_t>();
        rec.data = body.take(body.remaining());
        while (!recs.empty() && recs.back().index >= rec.index) recs.pop_back();
        seg.max_index = std::max(seg.max_index, rec.index);
        recs.push_back(std::move(rec));
      } else if (type == kTruncate && len == 8) {
        const uint64_t index = body.get<uint64_t>();
        while (!recs.empty() && recs.back().index > index) recs.pop_back();
      } else if (type == kMeta) {
        meta_ = body.take(len);
      } else {
        why = "record type is unknown";
        break;
      }
      off += kHeader + len;
    }
    if (why.empty()) continue;
    if (i + 1 < segments_.size()) {
      // Only the newest segment can end in a torn write. A bad record in an older one is damage
      // to data that was already synced (entries, the vote): refuse to start rather than drop
      // it and everything after it, which could make this node vote twice in one term.
      return Error(errc::parse_error,
                   why + " at offset " + std::to_string(off) + " of " +
                       seg.path.filename().string() +
                       ", which is not the newest segment: refusing to drop synced records");
    }

    // Cut here: the rest of the newest segment.
    uint64_t cut = data.size() - off;
    for (size_t j = i + 1; j < segments_.size(); ++j) cut += fs::file_size(segments_[j].path, ec);
    out.torn_bytes = torn_bytes_ = cut;
    out.torn_reason = why + " at offset " + std::to_string(off) + " of " +
                      seg.path.filename().string() + " (" + std::to_string(cut) + " bytes cut)";
    if (auto r = cut_file(seg.path, off < kSegmentMagic.size() ? 0 : off); !r) return r.error();
    for (size_t j = i + 1; j < segments_.size(); ++j) {
      if (!fs::remove(segments_[j].path, ec) && ec)
        return Error(errc::io_error, "cannot remove " + segments_[j].path.string());
    }
    segments_.resize(i + 1);
    if (auto r = fsync_dir(dir_); !r) return r.error();
    break;
  }

  // Entries the snapshot covers are not replayed; the rest must follow it without a gap.
  std::erase_if(recs, [&](const WalRecord& r) { return r.index <= snapshot_index_; });
  uint64_t expect = snapshot_index_ + 1;
  for (const WalRecord& r : recs) {
    if (r.index != expect) {
      return Error(errc::internal, "the log in " + dir_.string() + " has a gap: entry " +
                                       std::to_string(r.index) + " where " +
                                       std::to_string(expect) + " was expected");
    }
    ++expect;
  }
  last_index_ = recs.empty() ? snapshot_index_ : recs.back().index;
  out.meta = meta_;

  const uint64_t seq = segments_.empty() ? 1 : segments_.back().seq;
  if (segments_.empty()) segments_.push_back(Segment{seq, segment_path(dir_, seq), 0});
  return open_segment(seq);
}

result<void> Wal::open_segment(uint64_t seq) {
  const fs::path p = segment_path(dir_, seq);
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open", p, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return io_error("cannot stat", p, err);
  }
  if (st.st_size == 0) {
    int err = write_all(fd, kSegmentMagic);
    if (err == 0 && ::fdatasync(fd) != 0) err = errno;
    if (err != 0) {
      ::close(fd);
      return io_error("cannot initialize", p, err);
    }
    if (auto r = fsync_dir(dir_); !r) {
      ::close(fd);
      return r.error();
    }
  }
  std::lock_guard lk(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  fd_path_ = p;
  return {};
}

void Wal::fail(Error e) {
  std::lock_guard lk(mu_);
  if (!failure_) failure_ = std::move(e);
  failed_ = true;
}

void Wal::write_record(uint8_t type, std::string_view body, uint64_t entry_index) {
  if (failed_) return;
  buf_.resize(kHeader);
  buf_.append(body);
  finish_record(type, entry_index);
}

void Wal::finish_record(uint8_t type, uint64_t entry_index) {
  const uint32_t len = static_cast<uint32_t>(buf_.size() - kHeader);
  bytes::store_at<uint32_t>(buf_, 0, len);
  buf_[8] = static_cast<char>(type);
  bytes::Crc32c c;
  c.process_bytes(buf_.data(), 4);
  c.process_bytes(buf_.data() + 8, 1 + len);
  bytes::store_at<uint32_t>(buf_, 4, c.checksum());
  if (int err = write_all(fd_, buf_); err != 0) {
    fail(io_error("cannot append to", fd_path_, err));
    return;
  }
  records_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(buf_.size(), std::memory_order_relaxed);
  dirty_ = true;
  if (entry_index != 0)
    segments_.back().max_index = std::max(segments_.back().max_index, entry_index);
}

void Wal::append(const WalRecord& r) {
  if (failed_) return;
  if (r.index != last_index_ + 1) {
    fail(Error(errc::internal, "wal append of index " + std::to_string(r.index) +
                                   " after last index " + std::to_string(last_index_)));
    return;
  }
  buf_.resize(kHeader);
  bytes::put<uint64_t>(buf_, r.index);
  bytes::put<uint64_t>(buf_, r.term);
  buf_.append(r.data);
  finish_record(kEntry, r.index);
  if (!failed_) last_index_ = r.index;
}

void Wal::truncate_after(uint64_t index) {
  std::string body;
  bytes::put<uint64_t>(body, index);
  write_record(kTruncate, body, 0);
  if (!failed_) last_index_ = std::min(last_index_, index);
}

void Wal::save_meta(std::string_view bytes) {
  write_record(kMeta, bytes, 0);
  if (!failed_) meta_ = bytes;
}

result<void> Wal::fsync_active() {
  dirty_ = false;
  const auto start = std::chrono::steady_clock::now();
  const int rc = ::fdatasync(fd_);
  const int err = errno;
  last_fsync_us_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::steady_clock::now() - start)
                                             .count());
  fsyncs_.fetch_add(1, std::memory_order_relaxed);
  if (rc != 0) return io_error("cannot fdatasync", fd_path_, err);
  return {};
}

result<void> Wal::sync() {
  if (!failed_ && policy_ == FsyncPolicy::always && dirty_) {
    if (auto r = fsync_active(); !r) fail(r.error());
  }
  return status();
}

result<void> Wal::status() const {
  if (!failed_) return {};
  std::lock_guard lk(mu_);
  return *failure_;
}

void Wal::flusher_loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    stop_cv_.wait_for(lk, std::chrono::seconds(1), [&] { return stop_; });
    if (stop_ || failed_ || !dirty_) continue;
    // Under mu_, so the segment is not rotated away meanwhile; appends do not take mu_.
    background_fsyncs_.fetch_add(1, std::memory_order_relaxed);
    if (auto r = fsync_active(); !r) {
      if (!failure_) failure_ = r.error();
      failed_ = true;
    }
  }
}

result<void> Wal::write_snapshot(const WalSnapshot& s) {
  if (auto st = status(); !st) return st;

  // 1. The snapshot file, atomically.
  std::string bytes(kSnapshotMagic);
  bytes::put<uint64_t>(bytes, s.index);
  bytes::put<uint64_t>(bytes, s.term);
  bytes::put<uint64_t>(bytes, s.data.size());
  bytes.append(s.data);
  bytes::put<uint32_t>(bytes, bytes::crc32c(bytes));
  const fs::path tmp = dir_ / "snapshot.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  int err = write_all(fd, bytes);
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) return io_error("cannot write", tmp, err);
  if (::rename(tmp.c_str(), (dir_ / "snapshot").c_str()) != 0)
    return io_error("cannot rename", tmp, errno);
  if (auto r = fsync_dir(dir_); !r) return r;
  snapshot_index_ = s.index;
  snapshot_bytes_ = bytes.size();
  ++snapshots_;
  last_index_ = std::max(last_index_, s.index);

  // 2. A new segment, with the meta carried forward so older segments can go. The old segment
  // is synced first: the flusher only syncs the active one.
  if (policy_ != FsyncPolicy::never && dirty_) {
    if (auto r = fsync_active(); !r) {
      fail(r.error());
      return r;
    }
  }
  const uint64_t seq = segments_.back().seq + 1;
  if (auto r = open_segment(seq); !r) {
    fail(r.error());
    return r;
  }
  segments_.push_back(Segment{seq, segment_path(dir_, seq), 0});
  if (!meta_.empty()) {
    write_record(kMeta, meta_, 0);
    if (auto r = status(); !r) return r;
    if (auto r = fsync_active(); !r) {
      fail(r.error());
      return r;
    }
  }

  // 3. Delete the oldest segments while everything they hold is covered. Only a prefix: entries
  // must not outlive a truncation record that removed them.
  size_t drop = 0;
  while (drop + 1 < segments_.size() && segments_[drop].max_index <= s.index) ++drop;
  if (drop == 0) return {};
  std::error_code ec;
  for (size_t i = 0; i < drop; ++i) {
    fs::remove(segments_[i].path, ec);
    if (ec) return Error(errc::io_error, "cannot remove " + segments_[i].path.string());
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(drop));
  return fsync_dir(dir_);
}

WalStats Wal::stats() const {
  WalStats st;
  st.records = records_.load();
  st.bytes = bytes_.load();
  st.fsyncs = fsyncs_.load();
  st.background_fsyncs = background_fsyncs_.load();
  st.last_fsync_us = last_fsync_us_.load();
  st.torn_bytes = torn_bytes_;
  st.snapshots = snapshots_;
  st.snapshot_index = snapshot_index_;
  st.snapshot_bytes = snapshot_bytes_;
  st.segments = segments_.size();
  st.last_index = last_index_;
  st.failed = failed_;
  return st;
}

}  // namespace fl::db
