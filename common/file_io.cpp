#include "common/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fl::common {

std::string_view to_string(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::always:
      return "always";
    case FsyncPolicy::everysec:
      return "everysec";
    case FsyncPolicy::never:
      return "never";
  }
  return "?";
}

result<FsyncPolicy> parse_fsync_policy(std::string_view s) {
  if (s == "always") return FsyncPolicy::always;
  if (s == "everysec") return FsyncPolicy::everysec;
  if (s == "never") return FsyncPolicy::never;
  return Error(errc::invalid_argument,
               "fsync policy must be always, everysec or never, got '" + std::string(s) + "'");
}

Error io_error(std::string_view what, const std::filesystem::path& p, int err) {
  return Error(errc::io_error, std::string(what) + " " + p.string() + ": " + std::strerror(err));
}

result<std::string> read_whole_file(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", p, errno);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return io_error("cannot read", p, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

result<void> fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot fsync directory", dir, err);
  return {};
}

result<void> cut_file(const std::filesystem::path& p, uint64_t size) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", p, errno);
  int rc = ::ftruncate(fd, static_cast<off_t>(size));
  if (rc == 0) rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot truncate", p, err);
  return {};
}

result<void> replace_file(const std::filesystem::path& p, std::string_view data) {
  std::filesystem::path tmp = p;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  int err = write_all(fd, data);
  if (err == 0 && ::fdatasync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) return io_error("cannot write", tmp, err);
  if (::rename(tmp.c_str(), p.c_str()) != 0) return io_error("cannot rename to", p, errno);
  return fsync_dir(p.parent_path());
}

}  // namespace fl::common
