// A pooled, pipelined outbound RESP client running on a node's io_context (LB -> cache,
// cache -> db, db/cache -> broker). Calls are written in batches (everything queued on a
// connection goes out in one write) and matched to replies in order; each reply is handed over
// as the raw bytes of exactly one RESP value, so a proxy relays it without re-encoding.
// Asio stays inside upstream.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/resp/resp.h"
#include "common/units.h"

namespace boost::asio {
class io_context;
}

namespace fl::nodes {

struct UpstreamOptions {
  // Connections to the peer; calls are spread round-robin over those that are up. Default 1.
  int connections = 1;
  // Most calls waiting for a reply per connection; a call finding every connection full ends
  // not_sent. Default 4096.
  size_t max_in_flight = 4096;
  // A connect attempt not done by then fails (and is retried after the backoff). Default 500 ms.
  Duration connect_timeout = std::chrono::milliseconds(500);
  // Default per-call deadline, from call() to the reply. Default 1 s.
  Duration timeout = std::chrono::seconds(1);
  // Reconnect delay after a failed connect or a broken connection; doubles from backoff_min up
  // to backoff_max, and starts again from backoff_min after a successful connect.
  Duration backoff_min = std::chrono::milliseconds(10);
  Duration backoff_max = std::chrono::milliseconds(200);
  // Sent as CLIENT SETNAME on every connect, before any call, when not empty.
  std::string client_name;
};

struct UpstreamReply {
  enum class Status : uint8_t {
    ok,        // `bytes` holds the reply (which may be a RESP error reply)
    not_sent,  // certainly never written: no connection up, every connection full, closed,
               // or its connection failed before its bytes were handed to the socket
    timeout,   // written, no reply before its deadline: may have been applied
    lost,      // written, then the connection broke or another call on it timed out
  };
  Status status = Status::not_sent;
  // ok: the raw RESP bytes of exactly one reply value.
  std::string bytes;
  // Otherwise: why, for logs and error replies.
  std::string error;

  bool ok() const { return status == Status::ok; }
  // Decodes `bytes` (a null value when not ok).
  resp::Value value() const;
};

std::string_view to_string(UpstreamReply::Status s);

struct UpstreamStats {
  uint64_t connects = 0;          // successful connects
  uint64_t connect_failures = 0;  // failed or timed-out connect attempts
  uint64_t calls = 0;             // call() and call_encoded() invocations
  uint64_t replies = 0;           // calls ended ok
  uint64_t timeouts = 0;          // calls ended timeout
  uint64_t lost = 0;              // calls ended lost
  uint64_t not_sent = 0;          // calls ended not_sent
};

// Connects lazily: the first call starts connecting every connection, and calls made while a
// connection makes its first attempt wait on it (ending not_sent if it fails). From then on
// connections reconnect on their own with backoff, and while none is up calls end not_sent at
// once (no queueing), so that a caller can fail over immediately. A call that times out closes
// its connection (later replies could no longer be matched): that connection's other calls end
// lost, or not_sent if their bytes had not been handed to the socket yet.
//
// Single-threaded: every method is called on the io_context's thread. Callbacks run on that
// thread, never inside call() itself; each call's callback runs exactly once, except that
// calls still pending when the Upstream is destroyed are dropped without their callback.
class Upstream {
 public:
  using Callback = std::function<void(UpstreamReply&&)>;

  Upstream(boost::asio::io_context& io, std::string host, uint16_t port,
           UpstreamOptions options = {});
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  // Sends a command (argv[0] is its name) and calls `cb` with its reply or failure. `timeout`
  // overrides UpstreamOptions::timeout for this call.
  void call(std::span<const std::string_view> argv, Callback cb,
            std::optional<Duration> timeout = {});
  void call(std::initializer_list<std::string_view> argv, Callback cb,
            std::optional<Duration> timeout = {}) {
    call(std::span<const std::string_view>(argv.begin(), argv.size()), std::move(cb), timeout);
  }
  // Same, for a command already RESP-encoded. REQUIRES: exactly one command (one reply).
  void call_encoded(std::string_view command_bytes, Callback cb,
                    std::optional<Duration> timeout = {});

  // Closes every connection: pending calls end lost (written) or not_sent, before close()
  // returns; later calls end not_sent. Idempotent.
  void close();

  // True while some connection is up.
  bool connected() const;
  // Calls waiting for their reply, over every connection.
  size_t in_flight() const;
  const UpstreamStats& stats() const;
  // "host:port".
  std::string address() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fl::nodes
