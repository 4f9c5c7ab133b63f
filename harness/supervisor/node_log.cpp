#include "harness/supervisor/node_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fl::supervisor {
namespace {

constexpr size_t kMaxLine = 64 * 1024;
constexpr size_t kChunk = 64 * 1024;

std::string_view trim_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

NodeLog::~NodeLog() {
  if (fd_ >= 0) ::close(fd_);
}

result<void> NodeLog::open(const std::filesystem::path& path) {
  path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Error(errc::io_error, "cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  offset_ = uint64_t(st.st_size);
  partial_.clear();
  return {};
}

uint64_t NodeLog::backlog() const {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) return 0;
  return uint64_t(st.st_size) > offset_ ? uint64_t(st.st_size) - offset_ : 0;
}

uint64_t NodeLog::skip(uint64_t keep) {
  uint64_t pending = backlog();
  if (pending <= keep) return 0;
  uint64_t skipped = pending - keep + partial_.size();
  offset_ += pending - keep;
  partial_.clear();
  // Resume at a line start: unless the skipped part ended a line, drop up to the next newline.
  char before = '\n';
  skipping_to_newline_ = ::pread(fd_, &before, 1, off_t(offset_ - 1)) == 1 && before != '\n';
  return skipped;
}

bool NodeLog::read(size_t budget, const LineFn& on_line) {
  if (fd_ < 0) return false;
  std::string buf;
  while (budget > 0) {
    buf.resize(std::min(budget, kChunk));
    ssize_t n = ::pread(fd_, buf.data(), buf.size(), off_t(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    offset_ += uint64_t(n);
    budget -= size_t(n);
    std::string_view data(buf.data(), size_t(n));
    while (!data.empty()) {
      auto nl = data.find('\n');
      if (skipping_to_newline_) {
        if (nl == std::string_view::npos) break;
        skipping_to_newline_ = false;
        data.remove_prefix(nl + 1);
        continue;
      }
      if (nl == std::string_view::npos) {
        partial_.append(data);
        if (partial_.size() >= kMaxLine) {
          on_line(partial_);
          partial_.clear();
        }
        break;
      }
      if (partial_.empty()) {
        on_line(trim_cr(data.substr(0, nl)));
      } else {
        partial_.append(data.substr(0, nl));
        on_line(trim_cr(partial_));
        partial_.clear();
      }
      data.remove_prefix(nl + 1);
    }
  }
  return backlog() > 0;
}

void NodeLog::flush_partial(const LineFn& on_line) {
  if (partial_.empty()) return;
  on_line(trim_cr(partial_));
  partial_.clear();
}

std::vector<std::string> tail_lines(const std::filesystem::path& path, size_t n) {
  std::vector<std::string> lines;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lines;
  struct stat st {};
  ::fstat(fd, &st);
  constexpr off_t kWindow = 256 * 1024;
  off_t start = st.st_size > kWindow ? st.st_size - kWindow : 0;
  std::string buf(size_t(st.st_size - start), '\0');
  ssize_t got = ::pread(fd, buf.data(), buf.size(), start);
  ::close(fd);
  if (got <= 0) return lines;
  buf.resize(size_t(got));
  std::string_view data(buf);
  if (!data.empty() && data.back() == '\n') data.remove_suffix(1);
  while (lines.size() < n && !data.empty()) {
    auto nl = data.rfind('\n');
    std::string_view line = nl == std::string_view::npos ? data : data.substr(nl + 1);
    // A window that starts mid-line: drop the fragment unless it is the file's beginning.
    if (nl == std::string_view::npos && start > 0) break;
    lines.emplace(lines.begin(), trim_cr(line));
    if (nl == std::string_view::npos) break;
    data = data.substr(0, nl);
  }
  return lines;
}

}  // namespace fl::supervisor
