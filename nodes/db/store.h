// The database's in-memory keyspace: strings and sets with optional expiry, independent of any
// protocol. Keys (and set members) are kept ordered by (hash, bytes), which lets a numeric
// cursor name a position that stays valid while keys come and go: SCAN/SSCAN resume at the next
// hash value, so a full scan returns every key present throughout it, exactly once. A hash index
// beside the ordered keyspace makes key lookups O(1) (the tree costs a cache miss per level).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "nodes/db/clock.h"

namespace fl::db {

uint64_t key_hash(std::string_view key) noexcept;

struct HashedKey {
  uint64_t hash;
  std::string str;
};

// A lookup key that borrows its bytes.
struct KeyRef {
  uint64_t hash;
  std::string_view str;

  explicit KeyRef(std::string_view s) : hash(key_hash(s)), str(s) {}
  KeyRef(uint64_t h, std::string_view s) : hash(h), str(s) {}
};

struct KeyLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    if (a.hash != b.hash) return a.hash < b.hash;
    return std::string_view(a.str) < std::string_view(b.str);
  }
};

using Set = std::set<HashedKey, KeyLess>;

enum class Kind : uint8_t { string, set };

struct Entry {
  std::variant<std::string, Set> value;
  // Absolute expiry time; 0 means the key does not expire.
  TimeMs expire_at = 0;
  // The entry's own key (owned by the map node, stable while the entry lives).
  const HashedKey* key = nullptr;

  Kind kind() const { return value.index() == 0 ? Kind::string : Kind::set; }
  std::string* string() { return std::get_if<std::string>(&value); }
  Set* set() { return std::get_if<Set>(&value); }
};

// Calls `emit` for each element visited by a scan step.
using ScanEmit = std::function<void(const std::string&)>;

class Store {
 public:
  // `clock` must outlive the store.
  explicit Store(const Clock& clock) : clock_(clock) {}

  // The live entry of `key`, or nullptr. An entry found expired is deleted first (lazy expiry).
  // The pointer is valid until the key is removed.
  Entry* find(std::string_view key);

  // Inserts a new string or set entry without expiry. REQUIRES: find(key) == nullptr.
  Entry& insert(std::string_view key, std::string value);
  Entry& insert_set(std::string_view key);

  // Sets (at > 0) or clears (at == 0) the expiry of an entry of this store.
  void set_expire(Entry& e, TimeMs at);

  // Removes a live key; returns whether there was one.
  bool erase(std::string_view key);
  void erase(Entry& e);

  // Number of keys, counting expired keys not yet removed (as Redis's DBSIZE).
  size_t size() const { return keys_.size(); }
  // Number of keys with an expiry.
  size_t expires() const { return expiry_.size(); }
  void clear();

  // One SCAN step: visits about `count` keys from `cursor` (0 starts a scan), emitting the live
  // ones, and returns the cursor to continue from (0 when the scan is complete).
  uint64_t scan(uint64_t cursor, size_t count, const ScanEmit& emit) const;
  // The same over the members of a set.
  static uint64_t scan_set(const Set& set, uint64_t cursor, size_t count, const ScanEmit& emit);

  // Calls `fn` for each live (unexpired) entry, in key order. `fn` must not modify the store.
  void for_each(const std::function<void(const Entry&)>& fn) const;

  // A 64-bit digest of every live key's name, type and value (not its expiry), independent of
  // the order keys were written in: replicas holding the same data give the same digest. O(keys).
  uint64_t digest() const;

  // Active expiry: removes at most `max` expired keys, soonest first; returns how many.
  size_t sweep(size_t max);

  const Clock& clock() const { return clock_; }
  // Keys removed because they expired (lazily or by sweep) since construction.
  uint64_t expired_total() const { return expired_total_; }

 private:
  using Map = std::map<HashedKey, Entry, KeyLess>;
  struct RefHash {
    size_t operator()(const KeyRef& k) const noexcept { return static_cast<size_t>(k.hash); }
  };
  struct RefEqual {
    bool operator()(const KeyRef& a, const KeyRef& b) const noexcept {
      return a.hash == b.hash && a.str == b.str;
    }
  };
  // Every key of keys_, by a view of the key the tree node owns.
  using Index = std::unordered_map<KeyRef, Map::iterator, RefHash, RefEqual>;
  // (expiry time, key) of every key with an expiry, soonest first.
  using ExpiryIndex = std::set<std::pair<TimeMs, const HashedKey*>>;

  Entry& emplace(std::string_view key, Entry e);
  void erase(Map::iterator it);
  // The tree position of a key known to be present.
  Map::iterator locate(const HashedKey& k);
  bool expired(const Entry& e, TimeMs now) const { return e.expire_at != 0 && e.expire_at <= now; }

  const Clock& clock_;
  Map keys_;
  Index index_;
  ExpiryIndex expiry_;
  uint64_t expired_total_ = 0;
};

// Adds `member` to `set`; returns whether it was new.
bool set_add(Set& set, std::string_view member);
// Removes `member` from `set`; returns whether it was there.
bool set_remove(Set& set, std::string_view member);
bool set_contains(const Set& set, std::string_view member);

}  // namespace fl::db
