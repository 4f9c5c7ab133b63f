// The control API of a running cluster (`faultline up`), written sans-IO: a request (method,
// target, Authorization header, body) goes in, a response (status, content type, body) comes
// out. ControlServer (server.h) carries it over HTTP; tests call it directly. What the API acts
// on is a Backend of references and functions, so it is tested with fakes and knows nothing of
// the Session that owns the real ones. docs/control-api.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chaos/link_control.h"
#include "chaos/process_faults.h"
#include "harness/check/evidence.h"
#include "harness/supervisor/supervisor.h"

namespace fl::control {

// What the API acts on. Every member but `nodes`, `process` and `event` may be left empty.
struct Backend {
  // The nodes as the supervisor sees them now.
  std::function<std::vector<supervisor::NodeStatus>()> nodes;
  // The process verbs (kill, pause, ...). Must outlive the Api.
  chaos::ProcessControl* process = nullptr;
  // The links; null when the run's network is direct (partition, slow and links answer 409).
  chaos::LinkControl* links = nullptr;
  // The plan's [network] backend, for the 409 message ("direct").
  std::string network = "direct";
  // Appends an event to events.jsonl (type, serialized JSON object of fields).
  std::function<void(std::string_view type, std::string fields_json)> event;
  // INFO of the given nodes (run::collect_info), for /metrics. Null: no INFO metrics.
  std::function<std::vector<check::NodeStats>(const std::vector<supervisor::NodeStatus>&)> info;
  // The role a running db node reports (ROLE), for /nodes. Null or nullopt: not shown.
  std::function<std::optional<std::string>(const supervisor::NodeStatus&)> role;
  // The shard masters now, for partitions of shape `primaries`.
  std::function<std::vector<std::string>()> primaries;
  // What a partition divides when the request names no nodes: the db nodes if the plan has
  // any, else every node (in plan order).
  std::vector<std::string> partition_target;
  // Seeds the draws of random-halves partitions.
  uint64_t seed = 0;
};

struct Request {
  std::string method;         // "GET", "POST", ...
  std::string target;         // path with an optional query: "/nodes/db-s0-r0/kill"
  std::string authorization;  // the Authorization header as sent ("" when absent)
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Compares in time independent of where the strings first differ (a token check must not
// leak how much of a guess was right).
bool constant_time_equal(std::string_view a, std::string_view b);

// Handles one request. Thread-safe: requests may be handled concurrently (process verbs block
// until done; a restart waits until the node is ready again).
class Api {
 public:
  // REQUIRES: backend.nodes, backend.process and backend.event are set; token is not empty.
  Api(Backend backend, std::string token);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // 401 without `Authorization: Bearer <token>`; 404 for an unknown path; 405 for a known
  // path with another method; 400 for a malformed body; 409 for what the run cannot do (a link
  // fault on a direct network, a verb on a node without a process). Errors are
  // {"error": "..."}.
  Response handle(const Request& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::control
