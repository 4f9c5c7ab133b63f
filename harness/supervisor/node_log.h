// Follows one node's output.log: reads what was appended since the last call and splits it into
// whole lines. Knows nothing of inotify; the supervisor calls read() when the file changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace fl::supervisor {

class NodeLog {
 public:
  using LineFn = std::function<void(std::string_view line)>;

  NodeLog() = default;
  ~NodeLog();
  NodeLog(const NodeLog&) = delete;
  NodeLog& operator=(const NodeLog&) = delete;

  // Creates the file if missing and starts following at its current end.
  result<void> open(const std::filesystem::path& path);
  const std::filesystem::path& path() const { return path_; }

  // Reads at most `budget` new bytes and calls `on_line` for each complete line (without "\n" or
  // a trailing "\r"). Lines longer than 64 KiB are cut into pieces. Returns true if more is
  // already waiting.
  bool read(size_t budget, const LineFn& on_line);
  // Bytes appended and not yet read.
  uint64_t backlog() const;
  // Jumps ahead so that at most `keep` bytes stay unread, resuming at a line start. Returns the
  // number of bytes skipped (0 when the backlog was small enough).
  uint64_t skip(uint64_t keep);
  // Emits a pending incomplete line, if any (the writer exited without a final newline).
  void flush_partial(const LineFn& on_line);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  std::string partial_;
  bool skipping_to_newline_ = false;
};

// The last `n` lines of a file (reads at most its last 256 KiB).
std::vector<std::string> tail_lines(const std::filesystem::path& path, size_t n);

}  // namespace fl::supervisor
