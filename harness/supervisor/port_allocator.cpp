#include "harness/supervisor/port_allocator.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace fl::supervisor {
namespace {

constexpr uint16_t kPreferredFirst = 20000;
constexpr uint16_t kPreferredLast = 32767;

// Allocators in one process start at different offsets so they do not probe the same ports.
std::atomic<uint32_t> g_allocators{0};

bool can_bind(in_addr_t addr, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = addr;
  bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::filesystem::path PortAllocator::default_lock_dir() {
  if (const char* dir = std::getenv("FAULTLINE_PORT_LOCK_DIR"); dir && *dir) return dir;
  return "/tmp/faultline-ports";
}

std::pair<uint16_t, uint16_t> PortAllocator::default_range() {
  int eph_lo = 32768, eph_hi = 60999;
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  if (int lo = 0, hi = 0; in >> lo >> hi && lo > 0 && hi >= lo) {
    eph_lo = lo;
    eph_hi = hi;
  }
  int first = kPreferredFirst, last = kPreferredLast;
  if (eph_hi < first || eph_lo > last) return {uint16_t(first), uint16_t(last)};
  // The ephemeral range overlaps the preferred one: take the larger free side of it.
  int below_last = std::min(last, eph_lo - 1);
  int above_first = std::max(first, eph_hi + 1);
  int below = below_last - first + 1, above = last - above_first + 1;
  if (below >= 1000 || (below > 0 && below >= above))
    return {uint16_t(first), uint16_t(below_last)};
  if (above >= 1000) return {uint16_t(above_first), uint16_t(last)};
  // Almost everything is ephemeral: use whatever lies outside it.
  if (eph_lo - 1 >= 1024 && eph_lo - 1024 >= 65535 - eph_hi)
    return {uint16_t(1024), uint16_t(eph_lo - 1)};
  return {uint16_t(std::min(eph_hi + 1, 65535)), uint16_t(65535)};
}

PortAllocator::PortAllocator() : PortAllocator(Options{}) {}

PortAllocator::PortAllocator(Options options) : options_(std::move(options)) {
  if (options_.lock_dir.empty()) options_.lock_dir = default_lock_dir();
  if (options_.first == 0 && options_.last == 0) {
    auto [f, l] = default_range();
    options_.first = f;
    options_.last = l;
  }
  uint32_t size = uint32_t(options_.last) - options_.first + 1;
  uint32_t seed = uint32_t(::getpid()) * 2654435761u + g_allocators.fetch_add(1) * 97u;
  cursor_ = seed % size;
}

PortAllocator::~PortAllocator() {
  for (auto& [port, fd] : locks_) ::close(fd);
}

result<uint16_t> PortAllocator::allocate() {
  std::lock_guard lock(mu_);
  std::error_code ec;
  if (!std::filesystem::is_directory(options_.lock_dir, ec)) {
    std::filesystem::create_directories(options_.lock_dir, ec);
    // Shared by every user's runs, like /tmp itself.
    ::chmod(options_.lock_dir.c_str(), 01777);
  }
  if (!std::filesystem::is_directory(options_.lock_dir, ec))
    return Error(errc::io_error, "cannot create port lock directory " + options_.lock_dir.string() +
                                     ": " + ec.message());
  in_addr_t host_addr = INADDR_LOOPBACK;
  if (in_addr a{}; ::inet_pton(AF_INET, options_.host.c_str(), &a) == 1)
    host_addr = a.s_addr;
  else
    host_addr = htonl(INADDR_LOOPBACK);

  uint32_t size = uint32_t(options_.last) - options_.first + 1;
  int last_errno = 0;
  for (uint32_t i = 0; i < size; ++i) {
    auto port = uint16_t(options_.first + (cursor_ + i) % size);
    if (locks_.count(port)) continue;
    auto path = options_.lock_dir / (std::to_string(port) + ".lock");
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      continue;
    }
    if (!can_bind(host_addr, port) || !can_bind(htonl(INADDR_ANY), port)) {
      ::close(fd);
      continue;
    }
    locks_.emplace(port, fd);
    cursor_ = (cursor_ + i + 1) % size;
    return port;
  }
  std::string why =
      last_errno ? std::string(" (last error: ") + std::strerror(last_errno) + ")" : "";
  return Error(errc::limit_exceeded, "no free port in " + std::to_string(options_.first) + ".." +
                                         std::to_string(options_.last) + why);
}

void PortAllocator::release(uint16_t port) {
  std::lock_guard lock(mu_);
  auto it = locks_.find(port);
  if (it == locks_.end()) return;
  ::close(it->second);
  locks_.erase(it);
}

std::vector<uint16_t> PortAllocator::held() const {
  std::lock_guard lock(mu_);
  std::vector<uint16_t> out;
  for (const auto& [port, fd] : locks_) out.push_back(port);
  return out;
}

}  // namespace fl::supervisor
