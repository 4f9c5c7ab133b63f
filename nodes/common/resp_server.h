// The RESP server skeleton every reference node runs: one io_context, an acceptor, one
// coroutine per connection that parses every complete command of a read, dispatches each to a
// CommandTable, and writes all replies of that read at once (which is what makes pipelining
// fast). With ServerOptions::pipeline_deferred a connection instead runs a reader that keeps
// dispatching past deferred replies and a writer that writes replies in command order as they
// complete (what a proxy needs). Asio stays inside resp_server.cpp; this header is light.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/units.h"
#include "nodes/common/command_table.h"
#include "nodes/common/session.h"

namespace boost::asio {
class io_context;
}

namespace fl::nodes {

struct ServerOptions {
  // Address to bind. Default loopback.
  std::string host = "127.0.0.1";
  // TCP port; 0 binds any free port (see RespServer::port()).
  uint16_t port = 6379;
  // Most simultaneously connected clients; extra ones get
  // "-ERR max number of clients reached" and are closed. Default 10000, as Redis.
  uint64_t max_clients = 10000;
  // Close a connection after this long without a request; zero disables (the default).
  Duration idle_timeout{0};
  // Largest bulk string a client may send, in bytes. Default 512 MiB, as Redis.
  uint64_t max_bulk = 512ull * 1024 * 1024;
  // Stop gracefully on SIGINT and SIGTERM. Off for servers embedded in tests.
  bool handle_signals = true;
  // Deferred replies do not hold back the connection's later commands: they keep being parsed
  // and dispatched, and replies are written in command order as each head of the queue
  // completes (a reader and a writer per connection). Also enables PushChannel. Default false:
  // faultline-db relies on the holding behaviour for read-your-writes.
  bool pipeline_deferred = false;
  // With pipeline_deferred: reading pauses while this many deferred replies are outstanding.
  size_t max_pending = 1024;
  // Test only: every write of replies waits this long first (a deliberately slow build, for
  // gating tests; see FAULTLINE_TEST_DELAY in node_flags.h). Each connection waits on its own
  // timer, so other connections are not held up. Zero (the default) writes at once.
  Duration reply_delay{0};
};

class RespServer {
 public:
  // `commands` and `stats` must outlive the server; `stats` is updated as clients come and go
  // and commands are processed.
  RespServer(ServerOptions options, const CommandTable& commands, ServerStats& stats);
  ~RespServer();
  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  // Binds and listens. On success returns the bound port (useful with port 0).
  result<uint16_t> listen();

  // Calls `tick` every `period` on the server's thread until stop(). REQUIRES: before run().
  void every(Duration period, std::function<void()> tick);

  // Serves until stop(), a signal, or SHUTDOWN. Returns once every connection is closed.
  void run();

  // Stops accepting, closes every connection and makes run() return. Safe to call from a
  // handler or a tick; from another thread use post_stop().
  void stop();
  // Thread-safe request to stop.
  void post_stop();

  uint16_t port() const;

  // The server's io_context, for components that share its thread (e.g. PeerLinks). Work they
  // keep pending must end when the server stops: register that with on_stop().
  boost::asio::io_context& io();
  // Calls `f` (on the server's thread) when the server starts stopping. REQUIRES: before run().
  void on_stop(std::function<void()> f);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::nodes
