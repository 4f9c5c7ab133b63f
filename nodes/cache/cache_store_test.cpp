#include "nodes/cache/cache_store.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace fl::cache {
namespace {

// Capacity for exactly `n` entries of one-byte keys and values.
uint64_t room_for(int n) { return static_cast<uint64_t>(n) * CacheStore::charge("k", "v"); }

StoreOptions opts(Eviction e, uint64_t capacity, int64_t ttl = 0) {
  StoreOptions o;
  o.eviction = e;
  o.capacity = capacity;
  o.ttl_ms = ttl;
  return o;
}

TEST(CacheStore, HitMissAndBytes) {
  CacheStore s(opts(Eviction::lru, 1 << 20));
  EXPECT_EQ(s.get("a", 0), nullptr);
  ASSERT_TRUE(s.put("a", "hello", 0));
  const std::string* v = s.get("a", 0);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, "hello");
  EXPECT_EQ(s.stats().hits, 1u);
  EXPECT_EQ(s.stats().misses, 1u);
  EXPECT_EQ(s.used_bytes(), 1 + 5 + CacheStore::kEntryOverhead);
  ASSERT_TRUE(s.put("a", "hi", 0));
  EXPECT_EQ(s.used_bytes(), 1 + 2 + CacheStore::kEntryOverhead);
  EXPECT_EQ(s.entries(), 1u);
  EXPECT_TRUE(s.erase("a"));
  EXPECT_FALSE(s.erase("a"));
  EXPECT_EQ(s.used_bytes(), 0u);
}

TEST(CacheStore, PeekTouchesNothing) {
  CacheStore s(opts(Eviction::lru, room_for(2)));
  s.put("a", "1", 0);
  s.put("b", "2", 0);
  ASSERT_NE(s.peek("a", 0), nullptr);  // not a use: a stays least recent
  EXPECT_EQ(s.peek("zz", 0), nullptr);
  EXPECT_EQ(s.stats().hits + s.stats().misses, 0u);
  s.put("c", "3", 0);
  EXPECT_EQ(s.peek("a", 0), nullptr);
  EXPECT_NE(s.peek("b", 0), nullptr);
}

TEST(CacheStore, LruEvictsLeastRecentlyUsed) {
  CacheStore s(opts(Eviction::lru, room_for(3)));
  s.put("a", "1", 0);
  s.put("b", "2", 0);
  s.put("c", "3", 0);
  s.get("a", 0);
  s.put("d", "4", 0);  // evicts b
  EXPECT_EQ(s.peek("b", 0), nullptr);
  EXPECT_NE(s.peek("a", 0), nullptr);
  EXPECT_NE(s.peek("c", 0), nullptr);
  EXPECT_EQ(s.stats().evictions, 1u);
  EXPECT_EQ(s.stats().thrash_evictions, 1u);  // b was never read
  s.put("e", "5", 0);                         // evicts c (never read)
  s.put("f", "6", 0);                         // evicts a (read once)
  EXPECT_EQ(s.peek("a", 0), nullptr);
  EXPECT_EQ(s.stats().evictions, 3u);
  EXPECT_EQ(s.stats().thrash_evictions, 2u);
  EXPECT_LE(s.used_bytes(), s.capacity());
}

TEST(CacheStore, LfuEvictsLeastFrequentlyUsedThenOldest) {
  CacheStore s(opts(Eviction::lfu, room_for(3)));
  s.put("a", "1", 0);
  s.put("b", "2", 0);
  s.put("c", "3", 0);
  for (int i = 0; i < 3; ++i) s.get("a", 0);
  s.get("b", 0);
  s.get("c", 0);
  s.get("c", 0);
  s.put("d", "4", 0);  // b (2 uses) goes; a has 4, c has 3
  EXPECT_EQ(s.peek("b", 0), nullptr);
  s.put("e", "5", 0);  // d (1 use, newest) goes before c
  EXPECT_EQ(s.peek("d", 0), nullptr);
  EXPECT_NE(s.peek("e", 0), nullptr);
  s.put("f", "6", 0);  // e and f both at 1: e is older
  EXPECT_EQ(s.peek("e", 0), nullptr);
  EXPECT_NE(s.peek("a", 0), nullptr);
  EXPECT_NE(s.peek("c", 0), nullptr);
  EXPECT_EQ(s.stats().thrash_evictions, 2u);
}

TEST(CacheStore, LfuIsScanResistant) {
  CacheStore s(opts(Eviction::lfu, room_for(10)));
  for (int i = 0; i < 5; ++i) {
    s.put("h" + std::to_string(i), "v", 0);
    s.get("h" + std::to_string(i), 0);
  }
  for (int i = 0; i < 100; ++i) s.put("scan" + std::to_string(i), "v", 0);
  for (int i = 0; i < 5; ++i) EXPECT_NE(s.peek("h" + std::to_string(i), 0), nullptr) << i;
  EXPECT_GT(s.stats().evictions, 80u);
  EXPECT_EQ(s.stats().thrash_evictions, s.stats().evictions);
}

TEST(CacheStore, UpdateOfTheVictimDoesNotEvictItself) {
  for (Eviction e : {Eviction::lru, Eviction::lfu, Eviction::tinylfu}) {
    CacheStore s(opts(e, room_for(2) + 10));
    s.put("a", "1", 0);
    s.put("b", "2", 0);
    s.get("b", 0);
    // a is the victim; growing it by 10 bytes would fit; by 11 it must evict b, not a.
    ASSERT_TRUE(s.put("a", std::string(12, 'x'), 0)) << to_string(e);
    EXPECT_NE(s.peek("a", 0), nullptr) << to_string(e);
    EXPECT_EQ(s.peek("b", 0), nullptr) << to_string(e);
    EXPECT_LE(s.used_bytes(), s.capacity());
  }
}

TEST(CacheStore, TooLargeIsNotCached) {
  CacheStore s(opts(Eviction::lru, 200));
  EXPECT_FALSE(s.put("big", std::string(100, 'x'), 0));
  EXPECT_EQ(s.entries(), 0u);
  ASSERT_TRUE(s.put("k", "v", 0));
  EXPECT_FALSE(s.put("k", std::string(100, 'x'), 0));
  EXPECT_EQ(s.peek("k", 0), nullptr);
  EXPECT_EQ(s.used_bytes(), 0u);
}

TEST(CacheStore, TtlExpiresWithFakeTime) {
  CacheStore s(opts(Eviction::lru, 1 << 20, /*ttl=*/1000));
  s.put("a", "1", 5000);
  EXPECT_NE(s.get("a", 5999), nullptr);
  EXPECT_EQ(s.peek("a", 6000), nullptr);
  EXPECT_EQ(s.get("a", 6000), nullptr);
  EXPECT_EQ(s.stats().expired, 1u);
  EXPECT_EQ(s.stats().misses, 1u);
  EXPECT_EQ(s.entries(), 0u);
  s.put("b", "1", 7000);
  s.put("b", "2", 7500);  // a rewrite restarts the TTL
  EXPECT_NE(s.get("b", 8400), nullptr);
}

TEST(CacheStore, TinyLfuRefusesOneHitWondersWhenFull) {
  CacheStore s(opts(Eviction::tinylfu, room_for(4) + 10));
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 4; ++i) {
      const std::string k = "h" + std::to_string(i);
      if (!s.get(k, 0)) s.put(k, "v", 0);
    }
  }
  for (int i = 0; i < 50; ++i) {
    const std::string k = "scan" + std::to_string(i);
    if (!s.get(k, 0)) s.put(k, "v", 0);
  }
  for (int i = 0; i < 4; ++i) EXPECT_NE(s.peek("h" + std::to_string(i), 0), nullptr) << i;
  EXPECT_EQ(s.stats().rejected, 50u);
}

TEST(CacheStore, ScanVisitsEveryKeyOnce) {
  CacheStore s(opts(Eviction::lru, 1 << 20));
  for (int i = 0; i < 500; ++i) s.put("k" + std::to_string(i), "v", 0);
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  int steps = 0;
  do {
    std::vector<std::string> out;
    cursor = s.scan(cursor, 20, out);
    seen.insert(out.begin(), out.end());
    ++steps;
  } while (cursor != 0 && steps < 10000);
  EXPECT_EQ(seen.size(), 500u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 500u);
  EXPECT_GT(steps, 10);
}

TEST(CacheStore, ClearEmptiesWithoutCountingEvictions) {
  CacheStore s(opts(Eviction::lfu, 1 << 20));
  for (int i = 0; i < 10; ++i) s.put("k" + std::to_string(i), "v", 0);
  s.get("k1", 0);
  s.clear();
  EXPECT_EQ(s.entries(), 0u);
  EXPECT_EQ(s.used_bytes(), 0u);
  EXPECT_EQ(s.stats().evictions, 0u);
  ASSERT_TRUE(s.put("x", "y", 0));
  EXPECT_NE(s.get("x", 0), nullptr);
}

}  // namespace
}  // namespace fl::cache
