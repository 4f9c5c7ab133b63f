#include "nodes/db/snapshot.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "nodes/db/bytes.h"

namespace fl::db {
namespace {

// A store's live contents, comparable.
struct Dump {
  std::map<std::string, std::string> strings;
  std::map<std::string, std::set<std::string>> sets;
  std::map<std::string, TimeMs> expiry;
  bool operator==(const Dump&) const = default;
};

Dump dump(const Store& s) {
  Dump d;
  s.for_each([&](const Entry& e) {
    const std::string& k = e.key->str;
    if (const auto* v = std::get_if<std::string>(&e.value)) {
      d.strings[k] = *v;
    } else {
      for (const HashedKey& m : std::get<Set>(e.value)) d.sets[k].insert(m.str);
    }
    if (e.expire_at != 0) d.expiry[k] = e.expire_at;
  });
  return d;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.insert("a", "1");
    store_.insert(std::string("bin\0key", 7), std::string("v\0\xff", 3));
    store_.insert("empty", "");
    Entry& s = store_.insert_set("s");
    for (const char* m : {"x", "y", "z"}) set_add(*s.set(), m);
    store_.set_expire(store_.insert("ttl", "later"), clock_.now_ms() + 10'000);
    Entry& ts = store_.insert_set("tset");
    set_add(*ts.set(), std::string(300, 'm'));
    store_.set_expire(ts, clock_.now_ms() + 20'000);
    for (int i = 0; i < 200; ++i) store_.insert("k" + std::to_string(i), std::to_string(i * i));
  }

  ManualClock clock_;
  Store store_{clock_};
};

TEST_F(SnapshotTest, RoundTrip) {
  const std::string bytes = encode_store(store_);
  Store loaded(clock_);
  ASSERT_TRUE(decode_store(bytes, loaded));
  EXPECT_EQ(loaded.size(), store_.size());
  EXPECT_EQ(loaded.expires(), 2u);
  const Dump d = dump(loaded);
  EXPECT_EQ(d, dump(store_));
  EXPECT_EQ(d.strings.at(std::string("bin\0key", 7)), std::string("v\0\xff", 3));
  EXPECT_EQ(d.sets.at("s").size(), 3u);
  EXPECT_EQ(d.expiry.at("ttl"), clock_.now_ms() + 10'000);
  // Expiry is absolute: it still fires in the loaded store.
  clock_.advance(10'000);
  EXPECT_EQ(loaded.find("ttl"), nullptr);
  EXPECT_NE(loaded.find("tset"), nullptr);
}

TEST_F(SnapshotTest, EmptyStoreRoundTrips) {
  Store empty(clock_);
  Store loaded(clock_);
  ASSERT_TRUE(decode_store(encode_store(empty), loaded));
  EXPECT_EQ(loaded.size(), 0u);
}

TEST_F(SnapshotTest, ExpiredKeysAreLeftOut) {
  clock_.advance(15'000);
  Store loaded(clock_);
  ASSERT_TRUE(decode_store(encode_store(store_), loaded));
  EXPECT_EQ(loaded.find("ttl"), nullptr);
  EXPECT_EQ(loaded.size(), store_.size() - 1);
}

TEST_F(SnapshotTest, EveryFlippedByteIsRejected) {
  const std::string bytes = encode_store(store_);
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x20);
    Store loaded(clock_);
    auto r = decode_store(bad, loaded);
    ASSERT_FALSE(r) << "byte " << at;
    EXPECT_EQ(r.error().code, make_error_code(errc::parse_error));
    EXPECT_EQ(loaded.size(), 0u);
  }
}

TEST_F(SnapshotTest, EveryTruncationIsRejected) {
  const std::string bytes = encode_store(store_);
  for (size_t len = 0; len < bytes.size(); ++len) {
    Store loaded(clock_);
    ASSERT_FALSE(decode_store(std::string_view(bytes).substr(0, len), loaded)) << len;
    EXPECT_EQ(loaded.size(), 0u);
  }
}

// Bytes with a valid checksum over `body` (which starts after the magic and version).
std::string framed(uint8_t version, const std::string& body) {
  std::string out = "FLSTORE";
  bytes::put<uint8_t>(out, version);
  out += body;
  bytes::put<uint32_t>(out, bytes::crc32c(out));
  return out;
}

std::string string_key(const std::string& k, const std::string& v) {
  std::string out;
  bytes::put<uint8_t>(out, 0);
  bytes::put<uint32_t>(out, static_cast<uint32_t>(k.size()));
  out += k;
  bytes::put<int64_t>(out, 0);
  bytes::put<uint32_t>(out, static_cast<uint32_t>(v.size()));
  out += v;
  return out;
}

std::string count(uint64_t n) {
  std::string out;
  bytes::put<uint64_t>(out, n);
  return out;
}

TEST_F(SnapshotTest, StructuralErrorsBehindAValidChecksumAreRejected) {
  ManualClock clock;
  auto decode = [&](const std::string& b) {
    Store s(clock);
    auto r = decode_store(b, s);
    if (r) return std::string();
    EXPECT_EQ(s.size(), 0u);
    return r.error().message;
  };
  EXPECT_EQ(decode(framed(1, count(1) + string_key("a", "1"))), "");
  EXPECT_NE(decode(framed(2, count(1) + string_key("a", "1"))).find("version 2"),
            std::string::npos);
  EXPECT_NE(decode(framed(1, count(2) + string_key("a", "1") + string_key("a", "2")))
                .find("appears twice"),
            std::string::npos);
  EXPECT_NE(decode(framed(1, count(2) + string_key("a", "1"))).find("truncated"),
            std::string::npos);
  EXPECT_NE(decode(framed(1, count(1) + string_key("a", "1") + "junk")).find("trailing"),
            std::string::npos);
  std::string bad_kind = string_key("a", "1");
  bad_kind[0] = 7;
  EXPECT_NE(decode(framed(1, count(1) + bad_kind)).find("unknown kind"), std::string::npos);
}

TEST_F(SnapshotTest, LoadingIntoANonEmptyStoreIsRefused) {
  auto r = decode_store(encode_store(store_), store_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
}

}  // namespace
}  // namespace fl::db
