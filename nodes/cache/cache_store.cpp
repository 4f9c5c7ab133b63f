#include "nodes/cache/cache_store.h"

#include <functional>

namespace fl::cache {

struct CacheStore::Entry {
  std::string key;
  std::string value;
  // Neighbours in the LRU list or in the entry's LFU bucket.
  Entry* prev = nullptr;
  Entry* next = nullptr;
  Bucket* bucket = nullptr;  // lfu only
  TimeMs expires = 0;        // 0: never
  bool used = false;         // read at least once since installed
};

struct CacheStore::Bucket {
  uint64_t freq = 0;
  Entry* head = nullptr;  // most recently used of this frequency
  Entry* tail = nullptr;
  Bucket* prev = nullptr;
  Bucket* next = nullptr;
};

const char* to_string(Eviction e) {
  switch (e) {
    case Eviction::lru: return "lru";
    case Eviction::lfu: return "lfu";
    case Eviction::tinylfu: return "tinylfu";
  }
  return "?";
}

bool parse_eviction(std::string_view text, Eviction& out) {
  if (text == "lru") {
    out = Eviction::lru;
  } else if (text == "lfu") {
    out = Eviction::lfu;
  } else if (text == "tinylfu") {
    out = Eviction::tinylfu;
  } else {
    return false;
  }
  return true;
}

size_t CacheStore::Hash::operator()(std::string_view s) const noexcept {
  return std::hash<std::string_view>{}(s);
}

CacheStore::CacheStore(StoreOptions options) : options_(options) {
  if (options_.eviction == Eviction::tinylfu) {
    sketch_ = std::make_unique<FrequencySketch>(1024);
  }
}

CacheStore::~CacheStore() {
  clear();
  while (free_buckets_) {
    Bucket* b = free_buckets_;
    free_buckets_ = b->next;
    delete b;
  }
}

// ---- intrusive lists ----

void CacheStore::list_push_front(Entry*& head, Entry*& tail, Entry* e) {
  e->prev = nullptr;
  e->next = head;
  if (head) head->prev = e;
  head = e;
  if (!tail) tail = e;
}

void CacheStore::list_remove(Entry*& head, Entry*& tail, Entry* e) {
  if (e->prev) e->prev->next = e->next; else head = e->next;
  if (e->next) e->next->prev = e->prev; else tail = e->prev;
  e->prev = e->next = nullptr;
}

CacheStore::Bucket* CacheStore::bucket_after(Bucket* prev, uint64_t freq) {
  Bucket* next = prev ? prev->next : buckets_;
  if (next && next->freq == freq) return next;
  Bucket* b = free_buckets_;
  if (b) {
    free_buckets_ = b->next;
    *b = Bucket{};
  } else {
    b = new Bucket;
  }
  b->freq = freq;
  b->prev = prev;
  b->next = next;
  if (prev) prev->next = b; else buckets_ = b;
  if (next) next->prev = b;
  return b;
}

void CacheStore::release_if_empty(Bucket* b) {
  if (b->head) return;
  if (b->prev) b->prev->next = b->next; else buckets_ = b->next;
  if (b->next) b->next->prev = b->prev;
  b->next = free_buckets_;
  free_buckets_ = b;
}

// ---- policy hooks ----

void CacheStore::link_new(Entry* e) {
  if (options_.eviction == Eviction::lfu) {
    Bucket* b = bucket_after(nullptr, 1);
    e->bucket = b;
    list_push_front(b->head, b->tail, e);
  } else {
    list_push_front(head_, tail_, e);
  }
}

void CacheStore::touch(Entry* e) {
  if (options_.eviction == Eviction::lfu) {
    Bucket* from = e->bucket;
    Bucket* to = bucket_after(from, from->freq + 1);
    list_remove(from->head, from->tail, e);
    e->bucket = to;
    list_push_front(to->head, to->tail, e);
    release_if_empty(from);
  } else if (head_ != e) {
    list_remove(head_, tail_, e);
    list_push_front(head_, tail_, e);
  }
}

void CacheStore::unlink(Entry* e) {
  if (options_.eviction == Eviction::lfu) {
    Bucket* b = e->bucket;
    list_remove(b->head, b->tail, e);
    e->bucket = nullptr;
    release_if_empty(b);
  } else {
    list_remove(head_, tail_, e);
  }
}

CacheStore::Entry* CacheStore::victim(const Entry* keep) const {
  if (options_.eviction == Eviction::lfu) {
    const Bucket* b = buckets_;
    if (!b) return nullptr;
    Entry* v = b->tail;
    if (v != keep) return v;
    if (v->prev) return v->prev;
    return b->next ? b->next->tail : nullptr;
  }
  return tail_ != keep ? tail_ : tail_->prev;
}

void CacheStore::remove(Entry* e) {
  unlink(e);
  used_ -= charge(e->key, e->value);
  map_.erase(std::string_view(e->key));
  delete e;
}

// Evicts until `need` more bytes fit, never evicting `keep`. False when that is impossible, or
// when tinylfu refuses `candidate` (a new key; empty for an update).
bool CacheStore::make_room(uint64_t need, std::string_view candidate, const Entry* keep) {
  if (used_ + need <= options_.capacity) return true;
  if (options_.eviction == Eviction::tinylfu && !candidate.empty()) {
    const Entry* v = victim(keep);
    if (v && sketch_->estimate(Hash{}(candidate)) <= sketch_->estimate(Hash{}(v->key))) {
      ++stats_.rejected;
      return false;
    }
  }
  while (used_ + need > options_.capacity) {
    Entry* v = victim(keep);
    if (!v) return false;
    ++stats_.evictions;
    if (!v->used) ++stats_.thrash_evictions;
    remove(v);
  }
  return true;
}

// ---- operations ----

const std::string* CacheStore::get(std::string_view key, TimeMs now) {
  if (sketch_) sketch_->add(Hash{}(key));
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  Entry* e = it->second;
  if (e->expires != 0 && e->expires <= now) {
    ++stats_.expired;
    ++stats_.misses;
    remove(e);
    return nullptr;
  }
  ++stats_.hits;
  e->used = true;
  touch(e);
  return &e->value;
}

const std::string* CacheStore::peek(std::string_view key, TimeMs now) const {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  const Entry* e = it->second;
  if (e->expires != 0 && e->expires <= now) return nullptr;
  return &e->value;
}

bool CacheStore::put(std::string_view key, std::string_view value, TimeMs now) {
  const uint64_t need = charge(key, value);
  const TimeMs expires = options_.ttl_ms > 0 ? now + options_.ttl_ms : 0;
  auto it = map_.find(key);
  if (it != map_.end()) {
    Entry* e = it->second;
    if (need > options_.capacity) {
      remove(e);
      return false;
    }
    // Replace in place, keeping the entry's frequency and reuse mark. An update is not a read:
    // LRU moves the entry to the front (it is fresh), LFU leaves its count alone.
    used_ -= charge(e->key, e->value);
    const bool room = make_room(need, {}, e);
    e->value.assign(value);
    e->expires = expires;
    used_ += need;
    if (options_.eviction != Eviction::lfu && head_ != e) {
      list_remove(head_, tail_, e);
      list_push_front(head_, tail_, e);
    }
    if (!room) remove(e);
    return room;
  }
  if (need > options_.capacity) return false;
  if (!make_room(need, key, nullptr)) return false;
  auto* e = new Entry;
  e->key.assign(key);
  e->value.assign(value);
  e->expires = expires;
  map_.emplace(std::string_view(e->key), e);
  used_ += need;
  link_new(e);
  if (sketch_) sketch_->ensure_capacity(map_.size() * 2);
  return true;
}

bool CacheStore::erase(std::string_view key) {
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  remove(it->second);
  return true;
}

void CacheStore::clear() {
  while (!map_.empty()) remove(map_.begin()->second);
}

uint64_t CacheStore::scan(uint64_t cursor, size_t count, std::vector<std::string>& out) const {
  const size_t n = map_.bucket_count();
  size_t b = static_cast<size_t>(cursor);
  size_t taken = 0;
  while (b < n && taken < count) {
    for (auto it = map_.begin(b); it != map_.end(b); ++it) {
      out.emplace_back(it->first);
      ++taken;
    }
    ++b;
  }
  return b >= n ? 0 : b;
}

}  // namespace fl::cache
