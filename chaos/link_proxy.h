// The link proxy: one TCP listener per directed link ("from->to"), relaying every connection it
// accepts to the link's upstream, with toxics per direction (Toxiproxy's vocabulary, see
// docs/link-proxy.md). `up` is what the connecting side sends, `down` the replies.
//
// A direction with no toxic is a plain read->write relay (one buffer per direction, TCP_NODELAY
// on both sockets, no timers, no allocation per chunk); toxics switch just that direction to a
// queue with deadlines (chaos/toxics.h). Toxics added or removed apply to live connections at
// once. Whether a toxic applies to a connection is drawn once per connection (toxicity).
//
// Threading: the proxy owns `threads` io threads; each connection lives on one of them. Every
// public method is thread-safe and returns once the change is in place on every live
// connection. Public methods must not be called from the io threads (there are no callbacks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chaos/toxics.h"
#include "common/error.h"
#include "harness/plan/plan.h"
#include "harness/supervisor/supervisor.h"

namespace fl::chaos {

// A link as it is now.
struct LinkStats {
  uint64_t connections = 0;       // accepted since the link was added
  uint64_t open_connections = 0;  // relaying now
  uint64_t bytes_up = 0;          // written to the upstream (the connecting side's bytes)
  uint64_t bytes_down = 0;        // written back to the connecting side
  size_t toxics = 0;              // toxics on the link now (a `both` toxic counts once)
};

class LinkProxy {
 public:
  struct Options {
    // io threads; connections are spread over them round-robin. Default 1.
    int threads = 1;
    // Seeds the toxicity draws and the per-chunk draws of latency and loss. Default 0.
    uint64_t seed = 0;
    // Bytes read at once in each direction of each connection. Default 64 KiB.
    size_t buffer_bytes = 64 * 1024;
    // A direction with toxics stops reading once this many bytes wait in its queue. 4 MiB.
    size_t max_queued_bytes = 4 << 20;
  };

  explicit LinkProxy(Options options);
  LinkProxy() : LinkProxy(Options{}) {}
  ~LinkProxy();  // close()
  LinkProxy(const LinkProxy&) = delete;
  LinkProxy& operator=(const LinkProxy&) = delete;

  // Listens on `bind_host`:0 and relays each connection to `upstream` (resolved now). Returns
  // the listener's address. Fails for a name already used, an unresolvable upstream, a bind
  // error, or after close().
  result<supervisor::Endpoint> add_link(std::string name, const supervisor::Endpoint& upstream,
                                        std::string bind_host = "127.0.0.1");
  // The same, listening on `listen` (port 0: any free port), as `faultline proxy` does.
  result<supervisor::Endpoint> add_link(std::string name, const supervisor::Endpoint& upstream,
                                        const supervisor::Endpoint& listen);

  // Puts `toxic` on `direction` (both: each direction, one id) of every connection of `link`,
  // live and future, each with its own toxicity draw. reset and refuse act on whole connections
  // whatever the direction. Fails with errc::not_found for an unknown link, invalid_argument for
  // a bandwidth of 0 or a probability outside 0..1.
  result<ToxicId> add_toxic(std::string_view link, plan::Direction direction,
                            const plan::Toxic& toxic);

  // Removes a toxic from its link and every connection (a refuse: the link listens again on the
  // same port). False for an unknown or already removed id.
  bool remove_toxic(ToxicId id);

  // errc::not_found for an unknown link.
  result<LinkStats> stats(std::string_view link) const;
  std::vector<std::string> links() const;

  // Closes every listener and connection and stops the io threads. Idempotent.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::chaos
