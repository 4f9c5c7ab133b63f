// The fill-race guard: a read-through fill (GET miss -> DB read -> install) must not install a
// value that a write or invalidation of the same key may have made stale while the read was in
// flight. Each key with work in flight carries a version; anything that changes the key bumps
// it, and a fill or write installs only if the version is still the one it started with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fl::cache {

class FillGuard {
 public:
  struct Ticket {
    uint64_t version = 0;
    uint64_t epoch = 0;
  };

  // Starts tracking an operation on `key` (a fill, or a write that will install its value) and
  // returns its ticket. Every begin() must be matched by exactly one finish().
  Ticket begin(std::string_view key);
  // Ends the operation; true when nothing changed the key since begin() (install allowed).
  bool finish(std::string_view key, Ticket t);

  // The key was written or invalidated: operations in flight on it will not install.
  void changed(std::string_view key);
  // Everything may have changed (the invalidation feed was lost, the cache was flushed).
  void changed_all() { ++epoch_; }

  // Keys with operations in flight (for tests and INFO).
  size_t tracked() const { return keys_.size(); }

 private:
  struct State {
    uint64_t version = 0;
    uint32_t in_flight = 0;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, State, Hash, std::equal_to<>> keys_;
  uint64_t epoch_ = 0;
};

}  // namespace fl::cache
