#include "nodes/lb/requests.h"

#include <array>
#include <charconv>

#include "nodes/common/command_table.h"

namespace fl::lb {
namespace {

using nodes::iequals;

constexpr std::array<std::string_view, 6> kLocal = {"ping",   "info",  "quit",
                                                    "command", "client", "lb.route"};
constexpr std::array<std::string_view, 7> kRefused = {
    "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
    "monitor"};
// The contract's list: commands that change nothing, so sending one twice is harmless.
constexpr std::array<std::string_view, 15> kReadOnly = {
    "get",  "mget", "exists",   "strlen",  "ttl",  "pttl", "type", "smembers",
    "sismember", "scard", "xrange", "xlen", "dbsize", "keys", "scan"};
constexpr std::array<std::string_view, 10> kKeyless = {
    "dbsize", "keys", "scan", "flushall", "flushdb", "randomkey", "time", "digest", "role",
    "echo"};

template <size_t N>
bool in(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::string_view n : names) {
    if (n.size() == name.size() && iequals(n, name)) return true;
  }
  return false;
}

bool is_stream_read(std::string_view name) {
  return iequals(name, "xread") || iequals(name, "xreadgroup");
}

}  // namespace

CommandClass classify(std::string_view name) {
  if (in(kLocal, name)) return CommandClass::local;
  if (in(kRefused, name)) return CommandClass::refused;
  if (in(kReadOnly, name)) return CommandClass::read_only;
  return CommandClass::write;
}

std::optional<std::string_view> routing_key(std::span<const std::string_view> argv) {
  if (argv.size() < 2) return std::nullopt;
  if (is_stream_read(argv[0])) {
    for (size_t i = 1; i + 1 < argv.size(); ++i) {
      if (iequals(argv[i], "streams")) return argv[i + 1];
    }
    return std::nullopt;
  }
  if (in(kKeyless, argv[0])) return std::nullopt;
  return argv[1];
}

uint64_t block_millis(std::span<const std::string_view> argv) {
  if (argv.empty() || !is_stream_read(argv[0])) return 0;
  for (size_t i = 1; i + 1 < argv.size(); ++i) {
    if (iequals(argv[i], "streams")) break;
    if (!iequals(argv[i], "block")) continue;
    uint64_t ms = 0;
    const std::string_view v = argv[i + 1];
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
    return ec == std::errc() && p == v.data() + v.size() ? ms : 0;
  }
  return 0;
}

Verdict after_failure(RetryState& state, size_t backend, Failure failure, bool read_only,
                      bool retry_writes) {
  state.tried |= bit(backend);
  if (failure == Failure::not_sent) return Verdict::retry;
  state.maybe_applied = true;
  if ((read_only || retry_writes) && state.after_timeout == 0) {
    ++state.after_timeout;
    return Verdict::retry;
  }
  return Verdict::timeout;
}

}  // namespace fl::lb
