// One outbound TCP link per peer node, for one-way peer messages (RESP commands the peer answers
// with +OK at once). Each link connects with exponential backoff, keeps a bounded send queue
// (the oldest message is dropped when it is full, and counted), writes queued messages in
// batches and reads and discards the peer's replies. Messages wait for a peer's first connect;
// once a peer has been reached, what is queued while it cannot be reached is dropped at each
// failed reconnect (a restarted node is not handed what it missed). Runs on the RespServer's thread; Asio
// stays inside peer_links.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/units.h"

namespace fl::nodes {

class RespServer;

struct PeerLinkOptions {
  // Most messages queued per peer; when full, the oldest is dropped. Default 100000.
  size_t max_queue = 100000;
  // Most queued bytes per peer; when over, the oldest messages are dropped. Default 64 MiB.
  size_t max_queue_bytes = 64u * 1024 * 1024;
  // First retry delay after a failed connect or a broken link; doubles up to backoff_max.
  Duration backoff_min = std::chrono::milliseconds(10);
  Duration backoff_max = std::chrono::milliseconds(200);
  // A connect attempt that has not succeeded by then is abandoned (and retried).
  Duration connect_timeout = std::chrono::milliseconds(500);
};

// Counters of one link, for INFO and tests.
struct PeerLinkStats {
  std::string peer_id;
  std::string address;  // host:port
  bool connected = false;
  uint64_t connects = 0;     // successful connects
  uint64_t sent = 0;         // messages written to the socket
  uint64_t dropped = 0;      // messages dropped: queue full, or lost with a broken link
  uint64_t queued = 0;       // messages waiting now
  uint64_t reply_bytes = 0;  // bytes read back (replies, discarded)
};

class PeerLinks {
 public:
  // Links run on `server`'s io_context and close when it stops. `server` must outlive this.
  PeerLinks(RespServer& server, PeerLinkOptions options = {});
  ~PeerLinks();
  PeerLinks(const PeerLinks&) = delete;
  PeerLinks& operator=(const PeerLinks&) = delete;

  // Adds a peer and starts connecting to it. Adding an id twice is a no-op. Server thread only.
  void add_peer(const std::string& id, const std::string& host, uint16_t port);

  // Queues one command for `peer_id`. Returns false (and drops it) for an unknown peer.
  // Server thread only.
  bool send(std::string_view peer_id, const std::vector<std::string>& argv);

  std::vector<PeerLinkStats> stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fl::nodes
