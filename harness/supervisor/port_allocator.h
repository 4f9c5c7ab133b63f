// Free TCP ports for the nodes of a run, never shared with another node of this run or of any
// other faultline run on the machine.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace fl::supervisor {

// A port is handed out only when (1) this allocator takes an exclusive flock on
// <lock_dir>/<port>.lock and (2) a test bind with SO_REUSEADDR (as servers bind) succeeds on
// `host` and on 0.0.0.0. The lock is held until release() or destruction, so concurrent runs
// (other allocators in this process or other processes) skip the port; the kernel drops the lock
// if the process dies. Ports come from below the kernel's ephemeral range, so outgoing
// connections never take them, starting at an offset derived from the pid. Thread-safe.
class PortAllocator {
 public:
  struct Options {
    // Where lock files live. Empty = default_lock_dir().
    std::filesystem::path lock_dir;
    // Inclusive range to allocate from; {0, 0} = default_range().
    uint16_t first = 0;
    uint16_t last = 0;
    // Address the test bind uses besides 0.0.0.0.
    std::string host = "127.0.0.1";
  };

  PortAllocator();
  explicit PortAllocator(Options options);
  ~PortAllocator();  // releases every port
  PortAllocator(const PortAllocator&) = delete;
  PortAllocator& operator=(const PortAllocator&) = delete;

  // A verified-free port, locked for this allocator. Fails with errc::limit_exceeded when the
  // whole range is taken, errc::io_error when the lock directory is unusable.
  result<uint16_t> allocate();
  // Unlocks a port this allocator holds; no-op otherwise.
  void release(uint16_t port);
  std::vector<uint16_t> held() const;

  // /tmp/faultline-ports, or $FAULTLINE_PORT_LOCK_DIR when set. Not $XDG_RUNTIME_DIR: that is
  // per user, and runs of two users must still see each other's locks.
  static std::filesystem::path default_lock_dir();
  // 20000..32767, cut to stay clear of /proc/sys/net/ipv4/ip_local_port_range.
  static std::pair<uint16_t, uint16_t> default_range();

 private:
  Options options_;
  mutable std::mutex mu_;
  std::map<uint16_t, int> locks_;  // port -> lock file fd
  uint32_t cursor_ = 0;            // next offset into the range to try
};

}  // namespace fl::supervisor
