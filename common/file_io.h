// Small POSIX file helpers shared by the durable logs of the reference nodes (the db's WAL, the
// broker's partition and group logs), and the fsync policy both offer. Errors are errc::io_error
// naming the file and errno's text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace fl::common {

// When appended bytes reach the disk (fdatasync).
enum class FsyncPolicy {
  always,    // fdatasync before a write is acknowledged: it survives a machine crash
  everysec,  // fdatasync once a second: up to ~1 s of acknowledged writes lost on a machine crash
  never,     // the OS decides. Appends are write(2)s either way, so all survive a process kill.
};
// "always", "everysec" or "never".
std::string_view to_string(FsyncPolicy p);
result<FsyncPolicy> parse_fsync_policy(std::string_view s);

// "<what> <p>: <strerror(err)>" as errc::io_error.
Error io_error(std::string_view what, const std::filesystem::path& p, int err);
result<std::string> read_whole_file(const std::filesystem::path& p);
// Writes all of `data`, retrying short writes and EINTR; returns 0 or errno.
int write_all(int fd, std::string_view data);
// Makes creations, renames and removals in `dir` durable.
result<void> fsync_dir(const std::filesystem::path& dir);
// Cuts a file at `size` and fsyncs it.
result<void> cut_file(const std::filesystem::path& p, uint64_t size);
// Writes `data` to `p` atomically: a temp file beside it, fdatasync, rename, directory fsync.
result<void> replace_file(const std::filesystem::path& p, std::string_view data);

}  // namespace fl::common
