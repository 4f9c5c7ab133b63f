#include "nodes/db/store.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace fl::db {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  Store store_{clock_};

  std::vector<std::string> scan_all(size_t count) {
    std::vector<std::string> keys;
    uint64_t cursor = 0;
    do {
      cursor = store_.scan(cursor, count, [&](const std::string& k) { keys.push_back(k); });
    } while (cursor != 0);
    return keys;
  }
};

TEST_F(StoreTest, InsertFindErase) {
  EXPECT_EQ(store_.find("a"), nullptr);
  store_.insert("a", "1");
  Entry* e = store_.find("a");
  ASSERT_NE(e, nullptr);
  ASSERT_NE(e->string(), nullptr);
  EXPECT_EQ(*e->string(), "1");
  EXPECT_EQ(e->kind(), Kind::string);
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_TRUE(store_.erase("a"));
  EXPECT_FALSE(store_.erase("a"));
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(StoreTest, LazyExpiryRemovesOnAccess) {
  Entry& e = store_.insert("k", "v");
  store_.set_expire(e, clock_.now_ms() + 100);
  EXPECT_EQ(store_.expires(), 1u);
  clock_.advance(99);
  EXPECT_NE(store_.find("k"), nullptr);
  clock_.advance(1);
  EXPECT_EQ(store_.find("k"), nullptr);
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_EQ(store_.expires(), 0u);
  EXPECT_EQ(store_.expired_total(), 1u);
}

TEST_F(StoreTest, ErasingAnExpiredKeyReportsNothingRemoved) {
  Entry& e = store_.insert("k", "v");
  store_.set_expire(e, clock_.now_ms() + 10);
  clock_.advance(10);
  EXPECT_FALSE(store_.erase("k"));
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(StoreTest, PersistClearsExpiry) {
  Entry& e = store_.insert("k", "v");
  store_.set_expire(e, clock_.now_ms() + 10);
  store_.set_expire(e, 0);
  EXPECT_EQ(store_.expires(), 0u);
  clock_.advance(1000);
  EXPECT_NE(store_.find("k"), nullptr);
}

TEST_F(StoreTest, SweepRemovesSoonestFirstUpToMax) {
  for (int i = 0; i < 10; ++i) {
    Entry& e = store_.insert("k" + std::to_string(i), "v");
    store_.set_expire(e, clock_.now_ms() + 10 * (i + 1));
  }
  store_.insert("forever", "v");
  clock_.advance(50);  // k0..k4 are due
  EXPECT_EQ(store_.sweep(3), 3u);
  EXPECT_EQ(store_.size(), 8u);
  EXPECT_EQ(store_.sweep(100), 2u);
  EXPECT_EQ(store_.size(), 6u);
  EXPECT_NE(store_.find("k5"), nullptr);
  EXPECT_EQ(store_.find("k4"), nullptr);
  clock_.advance(1000);
  EXPECT_EQ(store_.sweep(100), 5u);
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_EQ(store_.expires(), 0u);
  EXPECT_EQ(store_.expired_total(), 10u);
}

TEST_F(StoreTest, ScanSkipsExpiredKeys) {
  store_.insert("a", "1");
  Entry& e = store_.insert("b", "2");
  store_.set_expire(e, clock_.now_ms() + 1);
  clock_.advance(5);
  EXPECT_EQ(scan_all(10), std::vector<std::string>{"a"});
}

TEST_F(StoreTest, FullScanReturnsEveryKeyOnce) {
  for (int i = 0; i < 1000; ++i) store_.insert("key:" + std::to_string(i), "v");
  for (size_t count : {1u, 7u, 10u, 5000u}) {
    auto keys = scan_all(count);
    EXPECT_EQ(keys.size(), 1000u) << "count " << count;
    std::set<std::string> unique(keys.begin(), keys.end());
    EXPECT_EQ(unique.size(), 1000u);
  }
  EXPECT_NE(store_.scan(0, 10, [](const std::string&) {}), 0u);
}

TEST_F(StoreTest, ScanOfEmptyStoreCompletesAtOnce) {
  int n = 0;
  EXPECT_EQ(store_.scan(0, 10, [&](const std::string&) { ++n; }), 0u);
  EXPECT_EQ(n, 0);
}

// The SCAN guarantee: a key present from the start to the end of a full scan is returned, even
// while other keys are added and removed between steps.
TEST_F(StoreTest, ScanIsCompleteWhileMutating) {
  std::mt19937_64 rng(42);
  std::set<std::string> stable;
  for (int i = 0; i < 2000; ++i) {
    std::string k = "stable:" + std::to_string(i);
    store_.insert(k, "v");
    stable.insert(k);
  }
  for (int i = 0; i < 2000; ++i) store_.insert("churn:" + std::to_string(i), "v");
  int next_churn = 2000;

  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  int steps = 0;
  do {
    cursor = store_.scan(cursor, 10, [&](const std::string& k) { seen.insert(k); });
    // Between steps: delete some churn keys and add new ones.
    for (int j = 0; j < 20; ++j) {
      store_.erase("churn:" + std::to_string(rng() % static_cast<uint64_t>(next_churn)));
      store_.insert("churn:" + std::to_string(next_churn++), "v");
    }
    ++steps;
  } while (cursor != 0 && steps < 100000);
  ASSERT_EQ(cursor, 0u);
  for (const auto& k : stable) {
    EXPECT_EQ(seen.count(k), 1u) << k;
  }
}

TEST_F(StoreTest, SetsAddRemoveAndScan) {
  Entry& e = store_.insert_set("s");
  Set& s = *e.set();
  EXPECT_TRUE(set_add(s, "a"));
  EXPECT_FALSE(set_add(s, "a"));
  EXPECT_TRUE(set_add(s, "b"));
  EXPECT_TRUE(set_contains(s, "a"));
  EXPECT_TRUE(set_remove(s, "a"));
  EXPECT_FALSE(set_remove(s, "a"));
  EXPECT_FALSE(set_contains(s, "a"));
  for (int i = 0; i < 300; ++i) set_add(s, "m" + std::to_string(i));
  std::set<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor = Store::scan_set(s, cursor, 7, [&](const std::string& m) { seen.insert(m); });
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 301u);
}

TEST_F(StoreTest, ClearRemovesEverything) {
  Entry& e = store_.insert("a", "1");
  store_.set_expire(e, clock_.now_ms() + 10);
  store_.insert_set("s");
  store_.clear();
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_EQ(store_.expires(), 0u);
  EXPECT_EQ(store_.sweep(10), 0u);
}

}  // namespace
}  // namespace fl::db
