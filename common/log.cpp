#include "common/log.h"

#include <fmt/chrono.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace fl::log {
namespace {

Level initial_level() noexcept {
  Level l = Level::info;
  if (const char* env = std::getenv("FAULTLINE_LOG")) parse_level(env, l);
  return l;
}

std::atomic<Level>& threshold() noexcept {
  static std::atomic<Level> value{initial_level()};
  return value;
}

constexpr std::string_view kNames[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"};

}  // namespace

Level level() noexcept { return threshold().load(std::memory_order_relaxed); }
void set_level(Level l) noexcept { threshold().store(l, std::memory_order_relaxed); }

bool parse_level(std::string_view name, Level& out) noexcept {
  static constexpr std::string_view kLower[] = {"trace", "debug", "info", "warn", "error", "off"};
  for (int i = 0; i < 6; ++i) {
    if (name == kLower[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void write(Level l, std::string_view msg) noexcept {
  try {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::string line = fmt::format("{:%H:%M:%S}.{:03d} {:5} {}\n",
                                   fmt::gmtime(std::chrono::system_clock::to_time_t(now)),
                                   static_cast<int>(ms.count()), kNames[static_cast<int>(l)], msg);
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(STDERR_FILENO, p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
  } catch (...) {
    // Logging must never throw into the caller.
  }
}

}  // namespace fl::log
