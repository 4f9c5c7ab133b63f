// Levelled logging to stderr with fmt. Cheap when a level is off: the format is not evaluated.
#pragma once

#include <fmt/core.h>

#include <atomic>
#include <string_view>

namespace fl::log {

enum class Level { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

// The process-wide threshold; messages below it are dropped. Default: info, or the value of
// the FAULTLINE_LOG environment variable (trace|debug|info|warn|error|off) read at first use.
Level level() noexcept;
void set_level(Level l) noexcept;
// Parses "debug" etc.; returns false on an unknown name.
bool parse_level(std::string_view name, Level& out) noexcept;

// Writes one whole line "<time> <LEVEL> <msg>" to stderr with a single write(2), so lines from
// threads and processes never interleave mid-line.
void write(Level l, std::string_view msg) noexcept;

template <class... A>
void emit(Level l, fmt::format_string<A...> f, A&&... args) {
  if (l < level()) return;
  write(l, fmt::format(f, std::forward<A>(args)...));
}

template <class... A> void trace(fmt::format_string<A...> f, A&&... a) { emit(Level::trace, f, std::forward<A>(a)...); }
template <class... A> void debug(fmt::format_string<A...> f, A&&... a) { emit(Level::debug, f, std::forward<A>(a)...); }
template <class... A> void info(fmt::format_string<A...> f, A&&... a) { emit(Level::info, f, std::forward<A>(a)...); }
template <class... A> void warn(fmt::format_string<A...> f, A&&... a) { emit(Level::warn, f, std::forward<A>(a)...); }
template <class... A> void error(fmt::format_string<A...> f, A&&... a) { emit(Level::error, f, std::forward<A>(a)...); }

}  // namespace fl::log
