// A consistent-hash ring with virtual nodes, shared by everything that places keys: the
// database's shards (key -> shard), the quorum mode's preference lists (key -> N nodes), and
// the harness (which shard a key of the history belongs to). The hash is fixed (FNV-1a 64 with
// a splitmix64 finaliser), never std::hash, so every process and every build agrees.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fl {

// The ring's hash of a key or of a virtual node's name. Stable across processes and builds.
uint64_t ring_hash(std::string_view bytes) noexcept;

class HashRing {
 public:
  // Virtual nodes per member unless told otherwise: enough that S members each own close to 1/S
  // of the keys (within a few percent for S <= 16).
  static constexpr int kDefaultVnodes = 128;

  // `members` are names (node ids, or "s0".."s{S-1}" for shards); member i owns the points
  // ring_hash("<name>#<v>") for v in [0, vnodes). REQUIRES: members are distinct, vnodes > 0.
  explicit HashRing(std::vector<std::string> members, int vnodes = kDefaultVnodes);

  // The index (into members()) of the member owning `key`: the first point at or after the key's
  // hash, wrapping around. REQUIRES: !members().empty().
  size_t owner(std::string_view key) const;

  // The first `n` distinct members met walking clockwise from the key's hash (Dynamo's preference
  // list), as indexes into members(); fewer when the ring has fewer members.
  std::vector<size_t> preference_list(std::string_view key, size_t n) const;

  const std::vector<std::string>& members() const { return members_; }

 private:
  struct Point {
    uint64_t hash;
    uint32_t member;
  };
  size_t first_point(std::string_view key) const;

  std::vector<std::string> members_;
  std::vector<Point> points_;  // sorted by hash
};

// The names shards have on the database's ring: "s0" .. "s{shards-1}".
std::vector<std::string> shard_ring_members(int shards);

// The shard of `key` in a database of `shards` shards (the database nodes and the harness use
// this same function). REQUIRES: shards > 0.
int shard_of(std::string_view key, int shards);

}  // namespace fl
