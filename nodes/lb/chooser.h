// Which backend a request goes to: round-robin, least-connections (fewest requests in flight)
// or key-hash (a consistent-hash ring with virtual nodes over the healthy backends, so a key
// stays on one backend while the ring is unchanged, and an ejected backend's keys go to the
// next member clockwise and come back when it returns). Pure: fed the healthy set and the
// in-flight counts, no sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace fl {
class HashRing;
}

namespace fl::lb {

enum class Policy : uint8_t { round_robin, least_connections, key_hash };

result<Policy> parse_policy(std::string_view text);
std::string_view to_string(Policy p);

// Backends a retry must avoid, by index. At most kMaxBackends backends.
using BackendSet = uint64_t;
inline constexpr size_t kMaxBackends = 64;
inline constexpr BackendSet bit(size_t backend) { return BackendSet{1} << backend; }

class BackendChooser {
 public:
  // `ids` name the backends (the ring's members are these names). Every backend starts
  // healthy. REQUIRES: 1 <= ids.size() <= kMaxBackends, ids distinct, vnodes > 0.
  BackendChooser(std::vector<std::string> ids, Policy policy, int vnodes);
  ~BackendChooser();
  BackendChooser(const BackendChooser&) = delete;
  BackendChooser& operator=(const BackendChooser&) = delete;

  // Replaces the healthy set. When it differs from the current one, rebuilds the ring (key-hash)
  // and counts a ring change with the exact share of the hash space that changed owner.
  void set_healthy(const std::vector<bool>& healthy);

  // The backend for a request with routing key `key` (nullopt: the command has none; key-hash
  // then falls back to round-robin), skipping `avoid`. `in_flight[i]` is backend i's count of
  // requests in flight (least-connections). nullopt when no healthy backend is left.
  std::optional<size_t> choose(std::optional<std::string_view> key,
                               std::span<const size_t> in_flight, BackendSet avoid = 0);

  // key-hash: the backend `key` goes to now (LB.ROUTE); other policies: nullopt.
  std::optional<size_t> route(std::string_view key) const;

  Policy policy() const { return policy_; }
  const std::vector<std::string>& ids() const { return ids_; }
  size_t healthy_count() const { return healthy_ids_.size(); }
  bool healthy(size_t backend) const { return healthy_[backend]; }
  // Membership changes of the healthy set since construction.
  uint64_t ring_changes() const { return ring_changes_; }
  // At the last change: the share of the hash space whose owner changed (0 before any).
  double ring_moved_ratio() const { return ring_moved_ratio_; }

 private:
  std::optional<size_t> round_robin(BackendSet avoid);
  std::optional<size_t> least_connections(std::span<const size_t> in_flight, BackendSet avoid);
  std::optional<size_t> key_hash(std::string_view key, BackendSet avoid) const;

  std::vector<std::string> ids_;
  Policy policy_;
  int vnodes_;
  std::vector<bool> healthy_;
  // Names of the healthy backends and their backend indexes, in backend order; the ring's
  // members are these names.
  std::vector<std::string> healthy_ids_;
  std::vector<size_t> healthy_index_;
  std::unique_ptr<HashRing> ring_;  // key-hash with at least one healthy backend
  size_t next_ = 0;                 // round-robin cursor (also breaks least-connections ties)
  uint64_t ring_changes_ = 0;
  double ring_moved_ratio_ = 0.0;
};

}  // namespace fl::lb
