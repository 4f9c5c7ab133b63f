// The harness's RESP client, on Asio C++20 coroutines and one io_context. Connections are pooled
// and shared by many logical processes: a call goes over lane % connections, up to `pipeline`
// requests are in flight on a connection at once, and replies are matched to requests in order.
// A connection is made to the first endpoint of the list that accepts, starting from the last
// one that worked (failover; with Balance::round_robin connection i starts at endpoint i % n).
// Cluster replies (docs/reference-db.md):
//  - `-MOVED <shard> <host:port> [<id>]`: the command is re-sent there (to the endpoint of
//    instance <id> when the list has one: the harness's own address for it), and that address
//    is remembered as the route of the shard, so later commands of its keys go straight to it (the key is
//    the command's key argument, its shard fl::shard_of(key, shards)). A route whose address
//    stops accepting connections is forgotten and the endpoint list asked again.
//  - `-TRYAGAIN` and `-CLUSTERDOWN` (certainly not applied): retried after a backoff of 10 ms
//    doubling to 100 ms, until the call's deadline; then the call's result is that reply.
//  - `-NOQUORUM`, `-TIMEOUT` (an LB or cache got no answer onward: it may have been applied) and
//    every other error reply: returned as they are (never retried); error_outcome() makes a
//    write that got -NOQUORUM or -TIMEOUT `info`.
// Not thread-safe: use it from the io_context's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/resp/resp.h"
#include "harness/load/runner.h"

namespace fl::load {

struct CallResult {
  enum class Status {
    reply,     // the server answered (possibly with an error reply)
    timeout,   // sent, but no reply before the deadline: it may have been applied
    not_sent,  // certainly never reached the server (no connection, no pipeline slot in time)
    lost,      // the connection failed after the request may have been sent
  };
  Status status = Status::not_sent;
  resp::Value reply;
  std::string error;  // for every status but reply
};

struct ClientOptions {
  // Connections per address (the failover list, and each MOVED target). Default 1.
  int connections = 1;
  // Requests in flight per connection at most. Default 1.
  int pipeline = 1;
  // MOVED redirects followed in a row per call at most (a backoff starts the count again).
  // Default 5.
  int max_redirects = 5;
  // The database's shard count ([cluster.db] shards), for routing keys. Default 1.
  int shards = 1;
  // Where each connection starts in the endpoint list. Default first.
  plan::Balance balance = plan::Balance::first;
};

// The key a command acts on, for routing: argv[1], except for XREADGROUP/XREAD (the first key
// after STREAMS) and XGROUP (argv[2]); nullopt for commands without one.
std::optional<std::string_view> command_key(const std::vector<std::string>& argv);

struct ClientStats {
  int64_t connects = 0;
  int64_t connect_failures = 0;
  int64_t failovers = 0;
  int64_t redirects = 0;
  int64_t retries = 0;         // -TRYAGAIN / -CLUSTERDOWN answers retried after a backoff
  int64_t route_resets = 0;    // remembered shard routes dropped (their address failed)
};

class RespClient {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // REQUIRES: endpoints is not empty.
  RespClient(boost::asio::io_context& io, std::vector<Endpoint> endpoints, ClientOptions options);
  ~RespClient();
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // Sends `argv` and waits for its reply until `deadline`. Never throws for network failures.
  // When a call times out, its connection is closed (the peer is unresponsive), so the other
  // calls in flight on it end `lost`.
  boost::asio::awaitable<CallResult> call(size_t lane, const std::vector<std::string>& argv,
                                          TimePoint deadline);
  // Closes every connection; calls in flight end `lost` or `not_sent`, later calls `not_sent`.
  void close();
  const ClientStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::load
