// Process faults: the verbs a [[fault]] applies to a node (kill, terminate, pause, restart,
// restart with wiped data) and their heals, and the resolution of a fault's target selector to
// instance ids at the moment it fires. Roles are found by asking the nodes: `ROLE` over RESP,
// whose first element is the role ("master", "slave") and last the term.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "harness/plan/plan.h"

namespace fl::supervisor {
class Supervisor;
}

namespace fl::chaos {

// The process verbs a fault uses. An interface, so selection and scheduling are tested without
// processes; SupervisorControl is the real one.
class ProcessControl {
 public:
  virtual ~ProcessControl() = default;
  // Each blocks until done and fails for an unknown id or (kill, pause, resume) a node with no
  // running process. restart() returns once the node is ready again.
  virtual result<void> kill(std::string_view id) = 0;
  virtual result<void> terminate(std::string_view id) = 0;
  virtual result<void> pause(std::string_view id) = 0;
  virtual result<void> resume(std::string_view id) = 0;
  virtual result<void> restart(std::string_view id, bool wipe) = 0;
};

// ProcessControl through a Supervisor, which must outlive it.
class SupervisorControl final : public ProcessControl {
 public:
  explicit SupervisorControl(supervisor::Supervisor& s) : s_(s) {}
  result<void> kill(std::string_view id) override;
  result<void> terminate(std::string_view id) override;
  result<void> pause(std::string_view id) override;
  result<void> resume(std::string_view id) override;
  result<void> restart(std::string_view id, bool wipe) override;

 private:
  supervisor::Supervisor& s_;
};

// Applies `action` to one node.
result<void> inject(ProcessControl& control, plan::FaultAction action, std::string_view id);

// Undoes `action` on one node: pause -> resume; kill and terminate -> start it again (restart,
// data kept). restart and restart-wiped need no heal (a no-op).
result<void> heal(ProcessControl& control, plan::FaultAction action, std::string_view id);

// What a node said to ROLE.
struct NodeRole {
  std::string role;  // "master", "slave", ...
  int64_t term = 0;
};

// Asks host:port `ROLE` over RESP: connect, send, read one reply, all within `timeout`. Errors
// for a refused connection, a timeout (a paused node), an error reply or a reply of another
// shape.
result<NodeRole> query_role(const std::string& host, uint16_t port,
                            std::chrono::milliseconds timeout);

// A running node the resolver may ask.
struct NodeAddress {
  std::string id;
  std::string host;
  uint16_t port = 0;
  bool running = true;  // false: down (no process) or paused; not asked, never a role holder
};

using RoleQuery = std::function<result<NodeRole>(const NodeAddress&)>;

// The outcome of resolving a selector when its fault fires.
struct Resolution {
  std::vector<std::string> nodes;  // instance ids, in plan order; empty when skipped
  std::string skipped;             // why nothing was selected ("" when nodes is not empty)
  // For a master selector: the shard's master and its term. For other db targets: the role
  // each selected node reported, when it was asked (parallel to nodes; "" when not asked).
  std::vector<std::string> roles;
  std::optional<int64_t> term;
};

// Resolves `selector` over the plan's instances: an instance or group as they are; a shard to
// its nodes; a master to the node of the shard that answers ROLE "master" with the highest term
// (among running nodes); slaves to every running node of the shard answering "slave". random()
// then keeps one, drawn from `rng` among those `nodes` marks running (among all of them when
// none is). Nodes not in `nodes` count as not running.
Resolution resolve(const plan::Selector& selector, const std::vector<plan::Instance>& instances,
                   const std::vector<NodeAddress>& nodes, const RoleQuery& ask, Rng& rng);

}  // namespace fl::chaos
