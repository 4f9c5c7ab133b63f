// What the LB does with a command: answer it itself, refuse it, or forward it (and then which
// key routes it and whether it is safe to send again after a timeout), and the retry rules.
// Pure functions, unit-tested without sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "nodes/lb/chooser.h"

namespace fl::lb {

enum class CommandClass : uint8_t {
  local,      // answered by the LB: PING, INFO, QUIT, COMMAND, CLIENT, LB.ROUTE
  refused,    // -ERR: SUBSCRIBE and the other pub/sub push modes are not proxied
  read_only,  // forwarded; retried once on another backend after a timeout or broken link
  write,      // forwarded; never sent twice (answered -TIMEOUT after a timeout or broken link)
};

// Classifies by command name (any case). Unknown commands are writes: not known to be safe.
CommandClass classify(std::string_view name);

// The key a command is routed by: argv[1], or for XREAD/XREADGROUP the first key after
// STREAMS; nullopt for commands without a key (DBSIZE, KEYS, SCAN, ...).
std::optional<std::string_view> routing_key(std::span<const std::string_view> argv);

// For XREAD/XREADGROUP with BLOCK ms: how long the backend may legitimately hold the reply (the
// forwarding deadline is extended by it); 0 otherwise. BLOCK 0 (forever) counts as 0: such a
// command ends -TIMEOUT at the LB's deadline.
uint64_t block_millis(std::span<const std::string_view> argv);

// How an attempt to forward a request ended without a reply.
enum class Failure : uint8_t {
  not_sent,  // certainly never written to the backend: safe to send elsewhere
  timeout,   // written, no reply in time: may have been applied
  lost,      // written, the connection broke before the reply: may have been applied
};

// What to answer after a failed attempt.
enum class Verdict : uint8_t {
  retry,        // send it to another backend (choose avoiding RetryState::tried)
  timeout,      // answer -TIMEOUT: it may have been applied
  clusterdown,  // answer -CLUSTERDOWN: certainly not applied and nobody could take it
};

// The retry bookkeeping of one forwarded request.
struct RetryState {
  // Backends already tried (a retry never goes back to one).
  BackendSet tried = 0;
  // Retries made after a timeout or a broken link (at most one).
  uint8_t after_timeout = 0;
  // Some attempt was written and not answered: the command may have been applied.
  bool maybe_applied = false;
};

// The rules: not_sent is retried on the next backend whatever the command; a timeout or a lost
// link is retried once, for read-only commands only (with `retry_writes`, the seeded bug, for
// every command); otherwise -TIMEOUT. Records the attempt in `state`.
Verdict after_failure(RetryState& state, size_t backend, Failure failure, bool read_only,
                      bool retry_writes);

// The answer when a retry finds no backend left to try.
inline Verdict when_no_backend(const RetryState& state) {
  return state.maybe_applied ? Verdict::timeout : Verdict::clusterdown;
}

}  // namespace fl::lb
