// The cache node's in-memory store: key -> value entries bounded by a byte capacity, with an
// eviction policy (LRU, LFU or TinyLFU-admitted LRU, each O(1) per operation), an optional TTL,
// and the statistics INFO reports. Pure logic: time comes in as an argument, nothing here
// touches a socket, so every policy is unit-tested with fake time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nodes/cache/frequency_sketch.h"

namespace fl::cache {

// Monotonic milliseconds (any origin): entries' TTLs are measured on it.
using TimeMs = int64_t;

enum class Eviction : uint8_t {
  lru,      // evict the least recently used entry
  lfu,      // evict the least frequently used entry (least recently used among equals)
  tinylfu,  // LRU, but a new key is admitted only if it was seen more often than the victim
};

const char* to_string(Eviction e);
// Parses "lru", "lfu", "tinylfu"; false for anything else.
bool parse_eviction(std::string_view text, Eviction& out);

struct StoreOptions {
  // Most bytes the entries may account for (see kEntryOverhead). Default 64 MiB.
  uint64_t capacity = 64ull << 20;
  Eviction eviction = Eviction::lru;
  // Lifetime of an entry from its installation, in ms; 0 (the default) means no expiry.
  int64_t ttl_ms = 0;
};

struct StoreStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  // Entries removed to make room.
  uint64_t evictions = 0;
  // Evictions of entries that were never read after being installed (thrashing).
  uint64_t thrash_evictions = 0;
  // Entries found past their TTL (counted as misses too).
  uint64_t expired = 0;
  // tinylfu: new keys refused because the victim was used more often.
  uint64_t rejected = 0;
};

class CacheStore {
 public:
  // Bytes accounted per entry on top of its key and value: the entry (hooks, TTL, counters,
  // two std::string headers) and its hash-map node, rounded up.
  static constexpr uint64_t kEntryOverhead = 128;

  explicit CacheStore(StoreOptions options);
  ~CacheStore();
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  // The value of a live entry, counting a hit (and marking the entry used), or nullptr counting
  // a miss. An expired entry is removed and counted as a miss. The pointer is valid until the
  // next call that changes the store. Allocates nothing.
  const std::string* get(std::string_view key, TimeMs now);

  // The value of a live entry without touching statistics or the policy's order; nullptr when
  // absent or expired (an expired entry is left for the next get to remove).
  const std::string* peek(std::string_view key, TimeMs now) const;

  // Installs or replaces the value of `key`, evicting as needed. Returns false when the entry
  // alone exceeds the capacity (or tinylfu refused it); the key then has no entry.
  bool put(std::string_view key, std::string_view value, TimeMs now);

  // Removes the entry of `key`; true if there was one.
  bool erase(std::string_view key);
  // Removes every entry (not counted as evictions).
  void clear();

  // One step of a scan over the keys: appends up to about `count` keys to `out` and returns
  // the cursor to pass next; 0 when the scan is complete. Keys present throughout a scan during
  // which the store does not grow past a rehash are returned exactly once.
  uint64_t scan(uint64_t cursor, size_t count, std::vector<std::string>& out) const;

  size_t entries() const { return map_.size(); }
  uint64_t used_bytes() const { return used_; }
  uint64_t capacity() const { return options_.capacity; }
  Eviction eviction() const { return options_.eviction; }
  const StoreStats& stats() const { return stats_; }

  // The bytes an entry of this key and value accounts for.
  static uint64_t charge(std::string_view key, std::string_view value) {
    return key.size() + value.size() + kEntryOverhead;
  }

 private:
  struct Entry;
  struct Bucket;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;
  };

  void link_new(Entry* e);
  void touch(Entry* e);
  void unlink(Entry* e);
  // The next entry to evict, never `keep`.
  Entry* victim(const Entry* keep) const;
  void remove(Entry* e);
  bool make_room(uint64_t need, std::string_view candidate, const Entry* keep);

  // LRU list (lru, tinylfu): head = most recently used.
  void list_push_front(Entry*& head, Entry*& tail, Entry* e);
  void list_remove(Entry*& head, Entry*& tail, Entry* e);
  // LFU buckets, ascending frequency.
  Bucket* bucket_after(Bucket* prev, uint64_t freq);
  void release_if_empty(Bucket* b);

  StoreOptions options_;
  // Keys are views of Entry::key (stable: entries are heap nodes).
  std::unordered_map<std::string_view, Entry*, Hash, std::equal_to<>> map_;
  uint64_t used_ = 0;
  StoreStats stats_;
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;
  Bucket* buckets_ = nullptr;      // lowest frequency first
  Bucket* free_buckets_ = nullptr; // recycled, so a hit never allocates
  std::unique_ptr<FrequencySketch> sketch_;
};

}  // namespace fl::cache
