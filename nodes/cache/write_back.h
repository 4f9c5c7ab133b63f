// The write-back buffer: SET/DEL acknowledged by the cache are kept here as dirty keys until a
// flush has written them to the DB. Flushes go in batches, when `batch` keys are waiting or the
// oldest waiting write is `interval` old. A key rewritten while its flush is in flight stays
// dirty and is flushed again. Commands that must see the DB's state of a dirty key wait until
// it is clean. Pure logic (time is an argument); the node's runtime sends the batches.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nodes/cache/cache_store.h"

namespace fl::cache {

struct WriteBackOptions {
  // Keys per flush batch; a batch starts as soon as this many keys wait. Default 256.
  size_t batch = 256;
  // Longest a write waits before a flush starts, in ms. Default 100.
  int64_t interval_ms = 100;
};

class WriteBackBuffer {
 public:
  // One key's pending write: its value, or nullopt for a delete.
  struct Item {
    std::string key;
    std::optional<std::string> value;
    uint64_t seq = 0;
  };

  explicit WriteBackBuffer(WriteBackOptions options) : options_(options) {}

  // Records an acknowledged write of `key` (nullopt: deleted) at time `now`.
  void write(std::string_view key, std::optional<std::string_view> value, TimeMs now);

  // The pending write of a dirty key (its optional is empty for a delete); nullptr when clean.
  const std::optional<std::string>* find(std::string_view key) const;
  bool dirty(std::string_view key) const { return find(key) != nullptr; }

  // True when a batch should be taken now: `batch` keys wait, or the oldest has waited
  // `interval`.
  bool flush_due(TimeMs now) const;
  // Up to `batch` waiting keys, oldest first, marked in flight (they stay dirty).
  std::vector<Item> take_batch();
  // The outcome of flushing one item of a batch. On success the key becomes clean unless it
  // was rewritten meanwhile (then it waits for the next batch). On failure it waits again,
  // first in line, and `failures` counts it.
  void flushed(const Item& item, bool ok, TimeMs now);

  // Calls `f` once `key` is clean. Returns false (and does not keep `f`) when it is clean now.
  bool wait_clean(std::string_view key, std::function<void()> f);

  size_t dirty_count() const { return keys_.size(); }
  size_t waiting() const { return queue_.size(); }
  uint64_t flushed_total() const { return flushed_; }
  uint64_t failures() const { return failures_; }

 private:
  struct State {
    std::optional<std::string> value;
    uint64_t seq = 0;
    bool queued = false;
    bool in_flight = false;
    TimeMs dirty_since = 0;  // when the write not yet taken into a batch was made
    std::vector<std::function<void()>> waiters;
  };
  struct Queued {
    std::string key;
    TimeMs since;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  WriteBackOptions options_;
  std::unordered_map<std::string, State, Hash, std::equal_to<>> keys_;
  std::deque<Queued> queue_;
  uint64_t seq_ = 0;
  uint64_t flushed_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace fl::cache
