// Small POSIX file helpers and the record framing shared by the broker's two on-disk formats
// (partition segments and group-state logs): [u32 len][u32 crc32c(payload)][payload of len].
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace fl::broker {

// When appended bytes reach the disk (fdatasync).
enum class FsyncPolicy {
  always,    // the broker fdatasyncs before it answers a write (one fsync per batch of writes)
  everysec,  // fdatasync once a second: up to ~1 s of acknowledged writes lost on a machine crash
  never,     // the OS decides. Appends are write(2)s either way, so all survive a process kill.
};
std::string_view to_string(FsyncPolicy p);
result<FsyncPolicy> parse_fsync_policy(std::string_view s);

uint32_t crc32c(std::string_view data);

// Little-endian integers.
void put_u32(std::string& out, uint32_t v);
void put_u64(std::string& out, uint64_t v);
uint32_t get_u32(const char* p);
uint64_t get_u64(const char* p);

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

Error io_error(std::string_view what, const std::filesystem::path& p, int err);
result<std::string> read_whole_file(const std::filesystem::path& p);
// Writes all of `data`; returns 0 or errno.
int write_all(int fd, std::string_view data);
result<void> fsync_dir(const std::filesystem::path& dir);
// Cuts a file at `size` and fsyncs it.
result<void> cut_file(const std::filesystem::path& p, uint64_t size);
// Writes `data` to `p` atomically: a temp file beside it, fsync, rename, directory fsync.
result<void> replace_file(const std::filesystem::path& p, std::string_view data);

}  // namespace fl::broker
