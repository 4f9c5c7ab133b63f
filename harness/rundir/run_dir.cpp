#include "harness/rundir/run_dir.h"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace fl::rundir {
namespace fs = std::filesystem;
namespace {

Error io_error(std::string_view what, const fs::path& p, int err) {
  return Error(errc::io_error, fmt::format("{} {}: {}", what, p.string(), std::strerror(err)));
}

result<void> write_all(int fd, std::string_view data, const fs::path& p) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", p, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

result<fs::path> create(std::string_view plan_name, const std::optional<fs::path>& out,
                        const fs::path& base) {
  std::error_code ec;
  if (out) {
    if (fs::exists(*out, ec) && !fs::is_empty(*out, ec)) {
      return Error(errc::invalid_argument,
                   fmt::format("run directory {} already exists and is not empty; a run "
                               "directory is never overwritten",
                               out->string()));
    }
    fs::create_directories(*out, ec);
    if (ec) return Error(ec, fmt::format("cannot create {}: {}", out->string(), ec.message()));
    return *out;
  }
  fs::create_directories(base, ec);
  if (ec) return Error(ec, fmt::format("cannot create {}: {}", base.string(), ec.message()));
  std::string stamp = fmt::format("{:%Y%m%dT%H%M%S}", fmt::gmtime(std::time(nullptr)));
  std::string name = fmt::format("{}-{}", plan_name, stamp);
  for (int n = 1; n < 1000; ++n) {
    fs::path candidate = base / (n == 1 ? name : fmt::format("{}-{}", name, n));
    // create_directory is atomic: it reports false if another run took the name first.
    if (fs::create_directory(candidate, ec)) return candidate;
    if (ec) return Error(ec, fmt::format("cannot create {}: {}", candidate.string(), ec.message()));
  }
  return Error(errc::io_error, fmt::format("cannot find a free run directory name under {}",
                                           base.string()));
}

std::string utc_timestamp() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::time(nullptr)));
}

result<void> write_atomic(const fs::path& path, std::string_view content) {
  fs::path tmp = path;
  tmp += fmt::format(".tmp.{}", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  auto written = write_all(fd, content, tmp);
  if (written && ::fsync(fd) != 0) written = io_error("cannot fsync", tmp, errno);
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot rename into", path, err);
  }
  fsync_dir(path.parent_path());
  return {};
}

std::string plan_as_run(std::string_view source_text, bool plan_had_seed, uint64_t seed) {
  if (plan_had_seed) return std::string(source_text);
  // Top-level keys must precede the first table header, so the seed goes first.
  return fmt::format("seed = {}  # drawn by faultline for this run\n{}", seed, source_text);
}

JsonLines::~JsonLines() { close(); }

result<void> JsonLines::open(const fs::path& path) {
  std::lock_guard lock(mu_);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_error("cannot open", path, errno);
  return {};
}

void JsonLines::append(std::string_view json_object) {
  std::string line;
  line.reserve(json_object.size() + 1);
  line.append(json_object).push_back('\n');
  std::lock_guard lock(mu_);
  if (fd_ < 0) return;
  (void)write_all(fd_, line, {});
}

void JsonLines::close() {
  std::lock_guard lock(mu_);
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace fl::rundir
