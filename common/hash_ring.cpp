#include "common/hash_ring.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include <fmt/core.h>

namespace fl {

uint64_t ring_hash(std::string_view bytes) noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  // FNV alone clusters similar names ("k1", "k2"); the splitmix64 finaliser spreads them.
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

HashRing::HashRing(std::vector<std::string> members, int vnodes) : members_(std::move(members)) {
  points_.reserve(members_.size() * static_cast<size_t>(vnodes));
  for (size_t m = 0; m < members_.size(); ++m) {
    for (int v = 0; v < vnodes; ++v) {
      points_.push_back({ring_hash(fmt::format("{}#{}", members_[m], v)), static_cast<uint32_t>(m)});
    }
  }
  // Ties (astronomically rare) are broken by member index so every process builds the same ring.
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.member < b.member;
  });
}

size_t HashRing::first_point(std::string_view key) const {
  const uint64_t h = ring_hash(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), h,
                             [](const Point& p, uint64_t v) { return p.hash < v; });
  return it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());
}

size_t HashRing::owner(std::string_view key) const { return points_[first_point(key)].member; }

std::vector<size_t> HashRing::preference_list(std::string_view key, size_t n) const {
  std::vector<size_t> out;
  n = std::min(n, members_.size());
  if (n == 0 || points_.empty()) return out;
  out.reserve(n);
  size_t i = first_point(key);
  for (size_t seen = 0; seen < points_.size() && out.size() < n; ++seen, i = (i + 1) % points_.size()) {
    const size_t m = points_[i].member;
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

std::vector<std::string> shard_ring_members(int shards) {
  std::vector<std::string> names;
  for (int s = 0; s < shards; ++s) names.push_back(fmt::format("s{}", s));
  return names;
}

int shard_of(std::string_view key, int shards) {
  if (shards <= 1) return 0;
  // One ring per shard count, built once; the harness asks for millions of keys.
  static std::mutex mu;
  static std::map<int, std::shared_ptr<const HashRing>> rings;
  std::shared_ptr<const HashRing> ring;
  {
    std::lock_guard lock(mu);
    auto& r = rings[shards];
    if (!r) r = std::make_shared<const HashRing>(shard_ring_members(shards));
    ring = r;
  }
  return static_cast<int>(ring->owner(key));
}

}  // namespace fl
