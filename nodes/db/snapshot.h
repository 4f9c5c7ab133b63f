// A Store as bytes, for WalSnapshot::data and for full resyncs between replicas.
//
// Format (integers little-endian): "FLSTORE" + u8 version (1), u64 key count, then per key
// u8 kind (0 string, 1 set), u32 key length, key, i64 absolute expiry in ms (0 = none), and
// either u32 length + value or u32 member count + (u32 length + member)...; last a u32 CRC32C
// of everything before it. Keys already expired when encoded are left out.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "nodes/db/store.h"

namespace fl::db {

// The live keys of `store` as snapshot bytes.
std::string encode_store(const Store& store);

// Loads snapshot bytes into `store`. REQUIRES: store.size() == 0. Fails (parse_error) on a bad
// magic, an unknown version, a checksum mismatch, a truncated or overlong body, or a repeated
// key; on failure the store is cleared.
result<void> decode_store(std::string_view bytes, Store& store);

}  // namespace fl::db
