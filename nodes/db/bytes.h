// Little-endian fixed-width integers and CRC32C, shared by the on-disk formats of the WAL and of
// Store snapshots.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/crc32c.h"

namespace fl::db::bytes {

// CRC32C (Castagnoli), shared with the broker's logs (common/crc32c.h).
using common::Crc32c;
using common::crc32c;

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i)
    b[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  out.append(b, sizeof(T));
}

template <class T>
void store_at(std::string& out, size_t pos, T v) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out[pos + i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}

// Reads fields from the front of a byte string; a read past the end sets ok() to false and
// returns zeros from then on, so a parser checks ok() once at the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  template <class T>
  T get() {
    if (!ok_ || in_.size() < sizeof(T)) return fail<T>();
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      v |= static_cast<uint64_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
    in_.remove_prefix(sizeof(T));
    return static_cast<T>(v);
  }

  std::string_view take(size_t n) {
    if (!ok_ || in_.size() < n) return fail<std::string_view>();
    std::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }

  bool ok() const { return ok_; }
  size_t remaining() const { return in_.size(); }

 private:
  template <class T>
  T fail() {
    ok_ = false;
    return T{};
  }

  std::string_view in_;
  bool ok_ = true;
};

}  // namespace fl::db::bytes
