#include "nodes/broker/group_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "nodes/broker/file_io.h"

namespace fl::broker {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "FLBGRP01";
enum RecordType : uint8_t { kCreate = 1, kDestroy = 2, kAck = 3 };

void put_name(std::string& out, std::string_view name) {
  put_u32(out, static_cast<uint32_t>(name.size()));
  out.append(name);
}

// Decodes one payload into `state`; false when malformed.
bool apply(std::string_view p, std::map<std::string, GroupState>& state) {
  if (p.size() < 5) return false;
  const uint8_t type = static_cast<uint8_t>(p[0]);
  const uint32_t len = get_u32(p.data() + 1);
  if (p.size() - 5 < len) return false;
  std::string name(p.substr(5, len));
  p.remove_prefix(5 + len);
  switch (type) {
    case kCreate: {
      if (p.size() < 4) return false;
      const uint32_t n = get_u32(p.data());
      if (p.size() != 4 + 8ull * n) return false;
      GroupState g;
      for (uint32_t i = 0; i < n; ++i) g.committed.push_back(get_u64(p.data() + 4 + 8ull * i));
      g.acked.resize(n);
      state[name] = std::move(g);
      return true;
    }
    case kDestroy:
      state.erase(name);
      return p.empty();
    case kAck: {
      if (p.size() != 12) return false;
      const uint32_t part = get_u32(p.data());
      const uint64_t off = get_u64(p.data() + 4);
      auto it = state.find(name);
      if (it != state.end() && part < it->second.acked.size()) {
        it->second.acked[part].push_back(off);
      }
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

result<std::unique_ptr<GroupLog>> GroupLog::open(const fs::path& path,
                                                 std::map<std::string, GroupState>& recovered,
                                                 uint64_t* torn_bytes) {
  std::unique_ptr<GroupLog> log(new GroupLog(path));
  recovered.clear();
  if (torn_bytes) *torn_bytes = 0;
  std::error_code ec;
  fs::path tmp = path;
  tmp += ".tmp";
  fs::remove(tmp, ec);
  if (fs::exists(path, ec)) {
    auto data = read_whole_file(path);
    if (!data) return data.error();
    std::string_view d = *data;
    size_t pos = 0;
    if (d.size() >= kMagic.size()) {
      if (d.substr(0, kMagic.size()) != kMagic) {
        return Error(errc::parse_error, "group log " + path.string() + " has a bad magic");
      }
      pos = kMagic.size();
      std::string why;
      while (pos < d.size()) {
        std::string_view payload;
        const size_t next = read_record(d, pos, payload, why);
        if (next == std::string_view::npos) break;
        if (!apply(payload, recovered)) break;
        ++log->appended_;
        pos = next;
      }
    }
    if (pos < d.size() || pos == 0) {
      if (torn_bytes) *torn_bytes = d.size() - pos;
      if (pos == 0) {
        fs::remove(path, ec);
      } else if (auto c = cut_file(path, pos); !c) {
        return c.error();
      }
    }
  }
  if (auto r = log->reopen(); !r) return r.error();
  return log;
}

GroupLog::~GroupLog() {
  if (fd_ >= 0) ::close(fd_);
}

result<void> GroupLog::reopen() {
  if (fd_ >= 0) ::close(fd_);
  std::error_code ec;
  const bool fresh = !fs::exists(path_, ec);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_error("cannot open", path_, errno);
  if (fresh) {
    if (int err = write_all(fd_, kMagic); err != 0) return io_error("cannot write", path_, err);
    if (::fdatasync(fd_) != 0) return io_error("cannot fsync", path_, errno);
    if (auto d = fsync_dir(path_.parent_path()); !d) return d.error();
  }
  return {};
}

void GroupLog::create(std::string_view group, const std::vector<uint64_t>& committed) {
  scratch_.clear();
  scratch_.push_back(static_cast<char>(kCreate));
  put_name(scratch_, group);
  put_u32(scratch_, static_cast<uint32_t>(committed.size()));
  for (uint64_t c : committed) put_u64(scratch_, c);
  frame_record(buffer_, scratch_);
  ++appended_;
}

void GroupLog::destroy(std::string_view group) {
  scratch_.clear();
  scratch_.push_back(static_cast<char>(kDestroy));
  put_name(scratch_, group);
  frame_record(buffer_, scratch_);
  ++appended_;
}

void GroupLog::ack(std::string_view group, uint32_t partition, uint64_t offset) {
  scratch_.clear();
  scratch_.push_back(static_cast<char>(kAck));
  put_name(scratch_, group);
  put_u32(scratch_, partition);
  put_u64(scratch_, offset);
  frame_record(buffer_, scratch_);
  ++appended_;
}

result<void> GroupLog::write() {
  if (buffer_.empty()) return {};
  if (int err = write_all(fd_, buffer_); err != 0) return io_error("cannot write", path_, err);
  buffer_.clear();
  dirty_ = true;
  return {};
}

result<void> GroupLog::sync() {
  if (!dirty_) return {};
  if (::fdatasync(fd_) != 0) return io_error("cannot fsync", path_, errno);
  ++fsyncs_;
  dirty_ = false;
  return {};
}

int GroupLog::take_sync_fd() {
  if (!dirty_ || fd_ < 0) return -1;
  const int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return -1;
  dirty_ = false;
  ++fsyncs_;
  return fd;
}

result<void> GroupLog::rewrite(const std::map<std::string, GroupState>& state) {
  if (auto w = write(); !w) return w.error();
  std::string data(kMagic);
  buffer_.clear();
  const uint64_t before = appended_;
  for (const auto& [name, g] : state) {
    create(name, g.committed);
    for (uint32_t p = 0; p < g.acked.size(); ++p) {
      for (uint64_t off : g.acked[p]) ack(name, p, off);
    }
  }
  data += buffer_;
  buffer_.clear();
  appended_ = appended_ - before;
  if (auto r = replace_file(path_, data); !r) return r.error();
  ++fsyncs_;
  dirty_ = false;
  return reopen();
}

}  // namespace fl::broker
