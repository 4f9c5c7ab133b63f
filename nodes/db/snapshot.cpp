#include "nodes/db/snapshot.h"

#include "nodes/db/bytes.h"

namespace fl::db {
namespace {

constexpr std::string_view kMagic = "FLSTORE";
constexpr uint8_t kVersion = 1;
constexpr uint8_t kString = 0;
constexpr uint8_t kSet = 1;

void put_str(std::string& out, std::string_view s) {
  bytes::put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

Error bad(const std::string& why) {
  return Error(errc::parse_error, "store snapshot is unreadable: " + why);
}

}  // namespace

std::string encode_store(const Store& store) {
  std::string out(kMagic);
  bytes::put<uint8_t>(out, kVersion);
  const size_t count_at = out.size();
  bytes::put<uint64_t>(out, 0);
  uint64_t count = 0;
  store.for_each([&](const Entry& e) {
    ++count;
    const std::string* s = std::get_if<std::string>(&e.value);
    bytes::put<uint8_t>(out, s ? kString : kSet);
    put_str(out, e.key->str);
    bytes::put<int64_t>(out, e.expire_at);
    if (s) {
      put_str(out, *s);
      return;
    }
    const Set& set = std::get<Set>(e.value);
    bytes::put<uint32_t>(out, static_cast<uint32_t>(set.size()));
    for (const HashedKey& m : set) put_str(out, m.str);
  });
  bytes::store_at<uint64_t>(out, count_at, count);
  bytes::put<uint32_t>(out, bytes::crc32c(out));
  return out;
}

result<void> decode_store(std::string_view in, Store& store) {
  if (store.size() != 0)
    return Error(errc::invalid_argument, "store snapshot: loading into a store that has keys");
  if (in.size() < kMagic.size() + 1 + 8 + 4) return bad("too short");
  if (in.substr(0, kMagic.size()) != kMagic) return bad("bad magic");
  const auto version = static_cast<uint8_t>(in[kMagic.size()]);
  if (version != kVersion) return bad("unknown version " + std::to_string(version));
  std::string_view body = in.substr(0, in.size() - 4);
  if (bytes::crc32c(body) != bytes::Reader(in.substr(in.size() - 4)).get<uint32_t>())
    return bad("checksum mismatch");

  bytes::Reader r(body.substr(kMagic.size() + 1));
  const uint64_t count = r.get<uint64_t>();
  auto str = [&r] { return r.take(r.get<uint32_t>()); };
  auto fail = [&store](const std::string& why) -> result<void> {
    store.clear();
    return bad(why);
  };
  for (uint64_t i = 0; i < count && r.ok(); ++i) {
    const uint8_t kind = r.get<uint8_t>();
    const std::string_view key = str();
    const TimeMs expire_at = r.get<int64_t>();
    if (!r.ok()) break;
    if (store.find(key) != nullptr) return fail("key '" + std::string(key) + "' appears twice");
    Entry* e = nullptr;
    if (kind == kString) {
      const std::string_view value = str();
      if (!r.ok()) break;
      e = &store.insert(key, std::string(value));
    } else if (kind == kSet) {
      const uint32_t n = r.get<uint32_t>();
      e = &store.insert_set(key);
      for (uint32_t j = 0; j < n && r.ok(); ++j) set_add(*e->set(), str());
      if (!r.ok()) break;
    } else {
      return fail("unknown kind " + std::to_string(kind));
    }
    if (expire_at != 0) store.set_expire(*e, expire_at);
  }
  if (!r.ok()) return fail("truncated");
  if (r.remaining() != 0) return fail("trailing bytes after " + std::to_string(count) + " keys");
  return {};
}

}  // namespace fl::db
