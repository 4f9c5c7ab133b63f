#include "nodes/db/store.h"

#include <chrono>

#include "nodes/common/clock.h"

namespace fl::db {
namespace {

// The first position with a given hash: the empty string sorts before every key of that hash.
struct HashPos {
  uint64_t hash;
  std::string_view str;
};

const HashedKey& key_of(const HashedKey& k) { return k; }
template <class V>
const HashedKey& key_of(const std::pair<const HashedKey, V>& kv) {
  return kv.first;
}

// Visits whole groups of equal hash so that the returned cursor (the next unvisited hash) never
// splits a group: a key present throughout a scan is returned exactly once.
template <class C, class Live>
uint64_t scan_groups(const C& c, uint64_t cursor, size_t count, Live live, const ScanEmit& emit) {
  if (count == 0) count = 1;
  auto it = c.lower_bound(HashPos{cursor, {}});
  size_t visited = 0;
  while (it != c.end() && visited < count) {
    const uint64_t h = key_of(*it).hash;
    do {
      if (live(*it)) emit(key_of(*it).str);
      ++visited;
      ++it;
    } while (it != c.end() && key_of(*it).hash == h);
  }
  // A non-end position always has a hash greater than something visited, so it is never 0.
  return it == c.end() ? 0 : key_of(*it).hash;
}

}  // namespace

// The node's wall clock, skewed by a clock fault (CLOCK SET).
TimeMs SystemClock::now_ms() const { return nodes::node_clock().wall_ms(); }

uint64_t key_hash(std::string_view key) noexcept { return std::hash<std::string_view>{}(key); }

Entry* Store::find(std::string_view key) {
  auto pos = index_.find(KeyRef(key));
  if (pos == index_.end()) return nullptr;
  const Map::iterator it = pos->second;
  if (it->second.expire_at != 0 && expired(it->second, clock_.now_ms())) {
    erase(it);
    ++expired_total_;
    return nullptr;
  }
  return &it->second;
}

Entry& Store::emplace(std::string_view key, Entry e) {
  const uint64_t h = key_hash(key);
  auto [it, inserted] = keys_.try_emplace(HashedKey{h, std::string(key)}, std::move(e));
  (void)inserted;
  it->second.key = &it->first;
  index_.emplace(KeyRef(h, it->first.str), it);
  return it->second;
}

namespace {

// FNV-1a, then a SplitMix64 finalizer: stable across processes and builds (std::hash is not
// promised to be), and well mixed enough for a digest summed over keys.
uint64_t mix(uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t stable_hash(std::string_view s) noexcept {
  uint64_t h = 1469598103934665603ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return mix(h ^ s.size());
}

}  // namespace

uint64_t Store::digest() const {
  uint64_t sum = 0;
  for_each([&](const Entry& e) {
    uint64_t value = 0;
    if (const auto* str = std::get_if<std::string>(&e.value)) {
      value = mix(stable_hash(*str) ^ 0x5354u);  // "ST"
    } else {
      // Members are summed too, so the value's hash does not depend on their order either.
      for (const HashedKey& m : std::get<Set>(e.value)) value += stable_hash(m.str);
      value = mix(value ^ 0x5345u);  // "SE"
    }
    sum += mix(stable_hash(e.key->str) * 31 + value);
  });
  return sum;
}

void Store::for_each(const std::function<void(const Entry&)>& fn) const {
  const TimeMs now = clock_.now_ms();
  for (const auto& [key, entry] : keys_) {
    if (!expired(entry, now)) fn(entry);
  }
}

Entry& Store::insert(std::string_view key, std::string value) {
  return emplace(key, Entry{std::move(value), 0, nullptr});
}

Entry& Store::insert_set(std::string_view key) { return emplace(key, Entry{Set{}, 0, nullptr}); }

void Store::set_expire(Entry& e, TimeMs at) {
  if (e.expire_at == at) return;
  if (e.expire_at != 0) expiry_.erase({e.expire_at, e.key});
  e.expire_at = at;
  if (at != 0) expiry_.emplace(at, e.key);
}

void Store::erase(Map::iterator it) {
  if (it->second.expire_at != 0) expiry_.erase({it->second.expire_at, &it->first});
  index_.erase(KeyRef(it->first.hash, it->first.str));
  keys_.erase(it);
}

bool Store::erase(std::string_view key) {
  auto pos = index_.find(KeyRef(key));
  if (pos == index_.end()) return false;
  const Map::iterator it = pos->second;
  const bool live = !expired(it->second, clock_.now_ms());
  erase(it);
  return live;
}

Store::Map::iterator Store::locate(const HashedKey& k) {
  return index_.find(KeyRef(k.hash, k.str))->second;
}

void Store::erase(Entry& e) { erase(locate(*e.key)); }

void Store::clear() {
  expiry_.clear();
  index_.clear();
  keys_.clear();
}

uint64_t Store::scan(uint64_t cursor, size_t count, const ScanEmit& emit) const {
  const TimeMs now = clock_.now_ms();
  return scan_groups(
      keys_, cursor, count, [&](const auto& kv) { return !expired(kv.second, now); }, emit);
}

uint64_t Store::scan_set(const Set& set, uint64_t cursor, size_t count, const ScanEmit& emit) {
  return scan_groups(
      set, cursor, count, [](const auto&) { return true; }, emit);
}

size_t Store::sweep(size_t max) {
  const TimeMs now = clock_.now_ms();
  size_t removed = 0;
  while (removed < max && !expiry_.empty() && expiry_.begin()->first <= now) {
    erase(locate(*expiry_.begin()->second));
    ++removed;
  }
  expired_total_ += removed;
  return removed;
}

bool set_add(Set& set, std::string_view member) {
  const KeyRef ref(member);
  auto it = set.lower_bound(ref);
  if (it != set.end() && it->hash == ref.hash && it->str == member) return false;
  set.emplace_hint(it, HashedKey{ref.hash, std::string(member)});
  return true;
}

bool set_remove(Set& set, std::string_view member) {
  auto it = set.find(KeyRef(member));
  if (it == set.end()) return false;
  set.erase(it);
  return true;
}

bool set_contains(const Set& set, std::string_view member) {
  return set.find(KeyRef(member)) != set.end();
}

}  // namespace fl::db
