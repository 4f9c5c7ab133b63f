// The record framing shared by the broker's two on-disk formats (partition segments and
// group-state logs): [u32 len][u32 crc32c(payload)][payload of len].
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/crc32c.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/little_endian.h"

namespace fl::broker {

// Shared with the db node (common/file_io.h, common/crc32c.h, common/little_endian.h).
using common::crc32c;
using common::cut_file;
using common::FsyncPolicy;
using common::fsync_dir;
using common::get_u32;
using common::get_u64;
using common::io_error;
using common::parse_fsync_policy;
using common::put_u32;
using common::put_u64;
using common::read_whole_file;
using common::replace_file;
using common::to_string;
using common::write_all;

// Bytes of a record's header: u32 length, u32 crc.
constexpr size_t kRecordHeader = 8;
// A length above this is corruption, not a record.
constexpr uint32_t kMaxRecord = 1u << 30;

// Appends one framed record holding `payload` to `out`.
void frame_record(std::string& out, std::string_view payload);

// Reads the record at `pos` of `data`. On success sets `payload` and returns the position after
// it; returns npos for a torn or corrupt record (too short, absurd length, checksum mismatch),
// with `why` saying which.
size_t read_record(std::string_view data, size_t pos, std::string_view& payload, std::string& why);

}  // namespace fl::broker
