// The load balancer's runtime: the commands it answers itself (PING, INFO, CLIENT, COMMAND,
// QUIT, LB.ROUTE), forwarding of every other command to a backend through a pooled, pipelined
// Upstream with the retry rules of requests.h, and the health checks of health.h driven by a
// timer on the server's thread. Replies are relayed as the backend's raw bytes; a connection's
// replies come back in command order (the server runs with pipeline_deferred).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/units.h"
#include "nodes/common/command_table.h"
#include "nodes/common/resp_server.h"
#include "nodes/common/session.h"
#include "nodes/lb/chooser.h"
#include "nodes/lb/health.h"

namespace fl::lb {

struct BackendSpec {
  std::string id;
  std::string host;
  uint16_t port = 0;
};

// "ID,HOST:PORT" (the --backend flag).
result<BackendSpec> parse_backend(std::string_view text);

struct LbOptions {
  // Node id, reported by INFO.
  std::string id = "lb";
  // 1..kMaxBackends backends with distinct ids.
  std::vector<BackendSpec> backends;
  Policy policy = Policy::key_hash;
  // Virtual nodes per backend on the key-hash ring. Default 128.
  int vnodes = 128;
  HealthOptions health;
  // Deadline of each forwarded attempt (a retry gets a fresh one). Default 1 s.
  Duration timeout = std::chrono::seconds(1);
  // Upstream connections per backend for forwarded requests. Default 2.
  int connections = 2;
  // TEST ONLY (--bug retry-writes): writes are retried after a timeout or broken link too.
  bool bug_retry_writes = false;
};

// The names --bug accepts.
const std::vector<std::string>& known_bugs();

// Checks what the command line cannot: backend count and ids, positive durations and counts.
result<void> validate(const LbOptions& options);

class LoadBalancer {
 public:
  // `server` and `stats` must outlive this; `server` must run with pipeline_deferred.
  LoadBalancer(LbOptions options, nodes::RespServer& server, const nodes::ServerStats& stats);
  ~LoadBalancer();
  LoadBalancer(const LoadBalancer&) = delete;
  LoadBalancer& operator=(const LoadBalancer&) = delete;

  // Registers the commands on `table` (every unregistered command is forwarded) and starts the
  // health checks. REQUIRES: before server.run().
  void start(nodes::CommandTable& table);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::lb
