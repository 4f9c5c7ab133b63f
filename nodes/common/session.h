// Per-connection state that command handlers may read and change, and the counters a server
// keeps for INFO. Both are plain data so handlers can be unit-tested without sockets.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace fl::nodes {

namespace detail {
struct PushSink;
}

// What the server does with a connection once the replies of the current batch are written.
enum class AfterReply : uint8_t {
  keep,      // keep serving
  close,     // close this connection (QUIT, protocol error)
  shutdown,  // stop the whole server gracefully (SHUTDOWN)
};

struct Session {
  // Unique per server, starting at 1 (CLIENT ID).
  uint64_t id = 0;
  // Set by CLIENT SETNAME; empty when unset.
  std::string name;
  // Set by a handler; honoured after the current read batch has been answered.
  AfterReply after = AfterReply::keep;
  // The connection's output for pushes (see PushChannel); empty unless the server runs with
  // ServerOptions::pipeline_deferred.
  std::weak_ptr<detail::PushSink> push_sink;
};

// Counters maintained by the server, read by INFO. Single-threaded: one io_context.
struct ServerStats {
  uint64_t connected_clients = 0;
  uint64_t total_connections_received = 0;
  uint64_t rejected_connections = 0;
  uint64_t total_commands_processed = 0;
  // The bound TCP port, known after listen().
  uint16_t tcp_port = 0;
};

}  // namespace fl::nodes
