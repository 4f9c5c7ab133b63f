#include "nodes/lb/chooser.h"

#include <fmt/core.h>

#include "common/hash_ring.h"
#include "nodes/lb/ring_change.h"

namespace fl::lb {

result<Policy> parse_policy(std::string_view text) {
  if (text == "round-robin") return Policy::round_robin;
  if (text == "least-connections") return Policy::least_connections;
  if (text == "key-hash") return Policy::key_hash;
  return Error(errc::invalid_argument,
               fmt::format("unknown policy '{}' (round-robin|least-connections|key-hash)", text));
}

std::string_view to_string(Policy p) {
  switch (p) {
    case Policy::round_robin: return "round-robin";
    case Policy::least_connections: return "least-connections";
    case Policy::key_hash: return "key-hash";
  }
  return "?";
}

BackendChooser::BackendChooser(std::vector<std::string> ids, Policy policy, int vnodes)
    : ids_(std::move(ids)), policy_(policy), vnodes_(vnodes), healthy_(ids_.size(), true) {
  healthy_ids_ = ids_;
  for (size_t i = 0; i < ids_.size(); ++i) healthy_index_.push_back(i);
  if (policy_ == Policy::key_hash) ring_ = std::make_unique<HashRing>(healthy_ids_, vnodes_);
}

BackendChooser::~BackendChooser() = default;

void BackendChooser::set_healthy(const std::vector<bool>& healthy) {
  if (healthy == healthy_) return;
  healthy_ = healthy;
  std::vector<std::string> before = std::move(healthy_ids_);
  healthy_ids_.clear();
  healthy_index_.clear();
  for (size_t i = 0; i < ids_.size(); ++i) {
    if (!healthy_[i]) continue;
    healthy_ids_.push_back(ids_[i]);
    healthy_index_.push_back(i);
  }
  ++ring_changes_;
  if (policy_ != Policy::key_hash) return;
  ring_moved_ratio_ = ring_moved_share(before, healthy_ids_, vnodes_);
  ring_.reset();
  if (!healthy_ids_.empty()) ring_ = std::make_unique<HashRing>(healthy_ids_, vnodes_);
}

std::optional<size_t> BackendChooser::choose(std::optional<std::string_view> key,
                                             std::span<const size_t> in_flight, BackendSet avoid) {
  switch (policy_) {
    case Policy::round_robin: return round_robin(avoid);
    case Policy::least_connections: return least_connections(in_flight, avoid);
    case Policy::key_hash: return key ? key_hash(*key, avoid) : round_robin(avoid);
  }
  return std::nullopt;
}

std::optional<size_t> BackendChooser::route(std::string_view key) const {
  if (policy_ != Policy::key_hash) return std::nullopt;
  return key_hash(key, 0);
}

std::optional<size_t> BackendChooser::round_robin(BackendSet avoid) {
  const size_t n = healthy_index_.size();
  for (size_t tried = 0; tried < n; ++tried) {
    const size_t b = healthy_index_[next_++ % n];
    if (!(avoid & bit(b))) return b;
  }
  return std::nullopt;
}

std::optional<size_t> BackendChooser::least_connections(std::span<const size_t> in_flight,
                                                        BackendSet avoid) {
  const size_t n = healthy_index_.size();
  if (n == 0) return std::nullopt;
  // Start the scan at a rotating position so that ties (an idle cluster) spread round-robin.
  const size_t start = next_++ % n;
  std::optional<size_t> best;
  for (size_t k = 0; k < n; ++k) {
    const size_t b = healthy_index_[(start + k) % n];
    if (avoid & bit(b)) continue;
    if (!best || in_flight[b] < in_flight[*best]) best = b;
  }
  return best;
}

std::optional<size_t> BackendChooser::key_hash(std::string_view key, BackendSet avoid) const {
  if (!ring_) return std::nullopt;
  if (avoid == 0) return healthy_index_[ring_->owner(key)];
  // A retry: the next member clockwise that is not to be avoided.
  for (size_t m : ring_->preference_list(key, healthy_index_.size())) {
    const size_t b = healthy_index_[m];
    if (!(avoid & bit(b))) return b;
  }
  return std::nullopt;
}

}  // namespace fl::lb
