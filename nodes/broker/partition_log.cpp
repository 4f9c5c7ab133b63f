#include "nodes/broker/partition_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <unordered_map>

namespace fl::broker {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "FLBLOG01";
constexpr std::string_view kCompactedMagic = "FLBLOGC1";
constexpr size_t kMagicSize = 8;

fs::path segment_path(const fs::path& dir, uint64_t seq) {
  char name[40];
  std::snprintf(name, sizeof name, "seg-%016llx.log", static_cast<unsigned long long>(seq));
  return dir / name;
}

// The seq of a segment file name, or 0 if the name is not one.
uint64_t segment_seq(const std::string& name) {
  if (name.size() != 24 || !name.starts_with("seg-") || !name.ends_with(".log")) return 0;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(name.data() + 4, name.data() + 20, v, 16);
  if (ec != std::errc() || p != name.data() + 20) return 0;
  return v;
}

void append_bulk(std::string& out, std::string_view s) {
  out += '$';
  out += std::to_string(s.size());
  out += "\r\n";
  out.append(s);
  out += "\r\n";
}

// Reads a "<c><decimal>\r\n" line at `pos`; returns the number or -1.
int64_t read_len_line(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return -1;
  size_t end = s.find("\r\n", pos);
  if (end == std::string_view::npos) return -1;
  int64_t v = -1;
  auto [p, ec] = std::from_chars(s.data() + pos + 1, s.data() + end, v);
  if (ec != std::errc() || p != s.data() + end || v < 0) return -1;
  pos = end + 2;
  return v;
}

// Checks that `fields` is a RESP array of an even number of bulk strings, filling e.key.
bool parse_fields(std::string_view fields, Entry& e) {
  size_t pos = 0;
  const int64_t n = read_len_line(fields, pos, '*');
  if (n < 0 || n % 2 != 0) return false;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = read_len_line(fields, pos, '$');
    if (len < 0 || fields.size() - pos < static_cast<size_t>(len) + 2) return false;
    std::string_view v = fields.substr(pos, static_cast<size_t>(len));
    pos += static_cast<size_t>(len);
    if (fields.substr(pos, 2) != "\r\n") return false;
    pos += 2;
    if (i % 2 == 0 && v == "key" && !e.has_key && i + 1 < n) {
      const size_t save = pos;
      const int64_t vlen = read_len_line(fields, pos, '$');
      if (vlen < 0 || fields.size() - pos < static_cast<size_t>(vlen) + 2) return false;
      e.key.assign(fields.substr(pos, static_cast<size_t>(vlen)));
      e.has_key = true;
      pos = save;
    }
  }
  return pos == fields.size();
}

void frame_entry(std::string& out, std::string& scratch, const Entry& e) {
  scratch.clear();
  put_u64(scratch, e.offset);
  scratch.append(e.fields);
  frame_record(out, scratch);
}

}  // namespace

Entry make_entry(uint64_t offset, std::span<const std::string_view> fields) {
  Entry e;
  e.offset = offset;
  size_t total = 16;
  for (auto f : fields) total += f.size() + 16;
  e.fields.reserve(total);
  e.fields += '*';
  e.fields += std::to_string(fields.size());
  e.fields += "\r\n";
  for (size_t i = 0; i < fields.size(); ++i) {
    append_bulk(e.fields, fields[i]);
    if (i % 2 == 0 && i + 1 < fields.size() && !e.has_key && fields[i] == "key") {
      e.key.assign(fields[i + 1]);
      e.has_key = true;
    }
  }
  return e;
}

PartitionLog::PartitionLog(fs::path dir, LogOptions options)
    : dir_(std::move(dir)), options_(options) {}

PartitionLog::~PartitionLog() {
  if (fd_ >= 0) ::close(fd_);
}

result<std::unique_ptr<PartitionLog>> PartitionLog::open(const fs::path& dir, LogOptions options,
                                                         LogRecovery* recovered) {
  std::unique_ptr<PartitionLog> log(new PartitionLog(dir, options));
  LogRecovery r;
  if (auto ok = log->recover(r); !ok) return ok.error();
  if (recovered) *recovered = r;
  return log;
}

result<void> PartitionLog::recover(LogRecovery& out) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Error(errc::io_error, "cannot create " + dir_.string() + ": " + ec.message());
  for (const auto& de : fs::directory_iterator(dir_, ec)) {
    const std::string name = de.path().filename().string();
    if (name.ends_with(".tmp")) {
      fs::remove(de.path(), ec);  // an unfinished compaction: never committed
      continue;
    }
    if (uint64_t seq = segment_seq(name); seq != 0) segments_.push_back({seq, de.path(), 0});
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.seq < b.seq; });

  // Read every segment; a compacted one supersedes the segments before it.
  std::vector<std::string> contents(segments_.size());
  size_t first = 0;
  for (size_t i = 0; i < segments_.size(); ++i) {
    auto data = read_whole_file(segments_[i].path);
    if (!data) return data.error();
    if (data->substr(0, kMagicSize) == kCompactedMagic) first = i;
    contents[i] = std::move(*data);
  }
  for (size_t i = 0; i < first; ++i) {
    fs::remove(segments_[i].path, ec);
    if (ec) return Error(errc::io_error, "cannot remove " + segments_[i].path.string());
  }
  if (first > 0) {
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(first));
    contents.erase(contents.begin(), contents.begin() + static_cast<ptrdiff_t>(first));
    if (auto d = fsync_dir(dir_); !d) return d.error();
  }

  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& seg = segments_[i];
    std::string_view data = contents[i];
    const bool newest = i + 1 == segments_.size();
    std::string why;
    size_t pos = 0;
    if (data.size() < kMagicSize) {
      why = "torn segment header";
    } else if (data.substr(0, kMagicSize) != kMagic &&
               data.substr(0, kMagicSize) != kCompactedMagic) {
      return Error(errc::parse_error, "segment " + seg.path.string() + " has a bad magic");
    } else {
      pos = kMagicSize;
      while (pos < data.size()) {
        std::string_view payload;
        const size_t next = read_record(data, pos, payload, why);
        if (next == std::string_view::npos) break;
        Entry e;
        if (payload.size() < 8) {
          why = "short record";
          break;
        }
        e.offset = get_u64(payload.data());
        if (e.offset < next_offset_) {
          why = "offset out of order";
          break;
        }
        if (!parse_fields(payload.substr(8), e)) {
          why = "bad fields";
          break;
        }
        e.fields.assign(payload.substr(8));
        next_offset_ = e.offset + 1;
        entries_.push_back(std::move(e));
        pos = next;
      }
    }
    if (pos < data.size() || data.size() < kMagicSize) {
      if (!newest) {
        return Error(errc::parse_error, "segment " + seg.path.string() + " is damaged at byte " +
                                            std::to_string(pos) + " (" + why +
                                            ") and is not the newest: refusing to drop data");
      }
      out.torn_bytes = data.size() - pos;
      out.torn_reason = why;
      if (pos == 0) {
        // Not even a complete magic: the segment was being created. Start it afresh.
        fs::remove(seg.path, ec);
        segments_.pop_back();
        break;
      }
      if (auto c = cut_file(seg.path, pos); !c) return c.error();
    }
    seg.size = pos;
    bytes_ += pos;
  }
  out.entries = entries_.size();
  return open_active(segments_.empty());
}

result<void> PartitionLog::open_active(bool create) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (create) {
    const uint64_t seq = segments_.empty() ? 1 : segments_.back().seq + 1;
    segments_.push_back({seq, segment_path(dir_, seq), 0});
  }
  Segment& seg = segments_.back();
  fd_ = ::open(seg.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return fail(io_error("cannot open", seg.path, errno));
  if (create) {
    if (int err = write_all(fd_, kMagic); err != 0)
      return fail(io_error("cannot write", seg.path, err));
    if (::fdatasync(fd_) != 0) return fail(io_error("cannot fsync", seg.path, errno));
    if (auto d = fsync_dir(dir_); !d) return fail(d.error());
    seg.size = kMagicSize;
    bytes_ += kMagicSize;
  }
  return {};
}

Error PartitionLog::fail(Error e) {
  if (!failure_) failure_ = e;
  return e;
}

result<void> PartitionLog::roll() {
  if (::fdatasync(fd_) != 0) return fail(io_error("cannot fsync", segments_.back().path, errno));
  ++fsyncs_;
  dirty_ = false;
  return open_active(true);
}

result<uint64_t> PartitionLog::append(std::span<const std::string_view> fields, bool write_now) {
  if (failure_) return *failure_;
  Entry e = make_entry(next_offset_, fields);
  frame_entry(buffered_, scratch_, e);
  entries_.push_back(std::move(e));
  ++buffered_entries_;
  const uint64_t offset = next_offset_++;
  if (write_now) {
    if (auto w = write_buffered(); !w) return w.error();
  }
  return offset;
}

result<void> PartitionLog::write_buffered() {
  if (failure_) return *failure_;
  if (buffered_.empty()) return {};
  Segment& seg = segments_.back();
  if (int err = write_all(fd_, buffered_); err != 0) {
    return fail(io_error("cannot write", seg.path, err));
  }
  seg.size += buffered_.size();
  bytes_ += buffered_.size();
  buffered_.clear();
  buffered_entries_ = 0;
  dirty_ = true;
  if (seg.size >= options_.segment_bytes) {
    if (auto r = roll(); !r) return r.error();
  }
  return {};
}

result<void> PartitionLog::sync() {
  if (failure_) return *failure_;
  if (!dirty_) return {};
  if (::fdatasync(fd_) != 0) return fail(io_error("cannot fsync", segments_.back().path, errno));
  ++fsyncs_;
  dirty_ = false;
  return {};
}

int PartitionLog::take_sync_fd() {
  if (!dirty_ || fd_ < 0 || failure_) return -1;
  const int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return -1;
  dirty_ = false;
  ++fsyncs_;
  return fd;
}

size_t PartitionLog::lower_bound(uint64_t offset) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), offset,
                             [](const Entry& e, uint64_t o) { return e.offset < o; });
  return static_cast<size_t>(it - entries_.begin());
}

const Entry* PartitionLog::find(uint64_t offset) const {
  const size_t i = lower_bound(offset);
  const auto visible = entries();
  return i < visible.size() && visible[i].offset == offset ? &visible[i] : nullptr;
}

result<CompactResult> PartitionLog::compact() {
  if (failure_) return *failure_;
  if (auto w = write_buffered(); !w) return w.error();
  CompactResult r;
  r.before = entries_.size();
  r.bytes_before = bytes_;
  // The last offset of each key.
  std::unordered_map<std::string_view, uint64_t> last;
  for (const Entry& e : entries_) {
    if (e.has_key) last[e.key] = e.offset;
  }
  std::vector<bool> keep(entries_.size());
  size_t count = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    keep[i] = !e.has_key || last[e.key] == e.offset;
    count += keep[i];
  }
  last.clear();
  if (count == entries_.size()) {
    r.after = r.before;
    r.bytes_after = bytes_;
    return r;
  }
  std::string data(kCompactedMagic);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (keep[i]) frame_entry(data, scratch_, entries_[i]);
  }
  const uint64_t seq = segments_.back().seq + 1;
  const fs::path path = segment_path(dir_, seq);
  fs::path tmp = path;
  tmp += ".tmp";
  {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail(io_error("cannot create", tmp, errno));
    int err = write_all(fd, data);
    if (err == 0 && ::fdatasync(fd) != 0) err = errno;
    ::close(fd);
    if (err != 0) return fail(io_error("cannot write", tmp, err));
  }
  // The rename is the commit point: from here recovery ignores the older segments.
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(io_error("cannot rename", path, errno));
  if (auto d = fsync_dir(dir_); !d) return fail(d.error());
  ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  for (const Segment& s : segments_) fs::remove(s.path, ec);
  segments_.clear();
  segments_.push_back({seq, path, data.size()});
  (void)fsync_dir(dir_);
  ++fsyncs_;
  dirty_ = false;
  bytes_ = data.size();
  std::vector<Entry> kept;
  kept.reserve(count);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(entries_[i]));
  }
  entries_ = std::move(kept);
  r.after = entries_.size();
  r.bytes_after = bytes_;
  if (auto o = open_active(false); !o) return o.error();
  return r;
}

}  // namespace fl::broker
