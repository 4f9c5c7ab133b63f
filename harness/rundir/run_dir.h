// The run directory, a contract (DESIGN.md #4): runs/<plan>-<UTC yyyymmddThhmmss>/ or --out, never
// overwritten, holding plan.toml, cluster.json, events.jsonl, history.jsonl, results and nodes/.
#pragma once

#include "common/error.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace fl::rundir {

// Creates the run directory. With `out`, that exact directory (created; it must not exist or must
// be empty). Without, `<base>/<plan_name>-<UTC yyyymmddThhmmss>` under `base` (default "runs"),
// adding "-2", "-3", ... if a run of the same plan started in the same second.
result<std::filesystem::path> create(std::string_view plan_name,
                                     const std::optional<std::filesystem::path>& out,
                                     const std::filesystem::path& base = "runs");

// Writes `content` to `path` atomically: a temporary file in the same directory is written,
// fsynced and renamed over `path`, then the directory is fsynced. Readers see the old file or the
// whole new one, never a part.
result<void> write_atomic(const std::filesystem::path& path, std::string_view content);

// The plan text as run: `source_text` with `seed = <seed>` added at the top when the plan did not
// set one, so the run can be replayed from this file alone.
std::string plan_as_run(std::string_view source_text, bool plan_had_seed, uint64_t seed);

// An append-only JSON-lines file (events.jsonl). Each append is one whole line, flushed to the
// kernel at once, so a killed harness leaves only whole lines behind. Thread-safe.
class JsonLines {
 public:
  JsonLines() = default;
  ~JsonLines();
  JsonLines(const JsonLines&) = delete;
  JsonLines& operator=(const JsonLines&) = delete;

  result<void> open(const std::filesystem::path& path);
  // REQUIRES: `json_object` is one serialized JSON object without a newline.
  void append(std::string_view json_object);
  void close();

 private:
  std::mutex mu_;
  int fd_ = -1;
};

// The current UTC time as ISO 8601, "2026-11-27T23:46:59Z".
std::string utc_timestamp();

// Nanoseconds since `start` on the monotonic clock: the "time" of events and history lines.
inline int64_t since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              start)
      .count();
}

}  // namespace fl::rundir
