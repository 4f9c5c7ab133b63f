// A plan's cluster and its run directory: what `faultline up` and `faultline run` share. A Session
// creates the run directory (plan.toml with the seed filled in, events.jsonl), starts the nodes
// through the supervisor, writes cluster.json once they are ready, logs every node event, and
// stops them again. Times in events.jsonl are nanoseconds since the Session was created: the
// clock the history uses too.
#pragma once

#include "chaos/ledger.h"
#include "chaos/process_faults.h"
#include "common/error.h"
#include "harness/plan/plan.h"
#include "harness/run/network.h"
#include "harness/supervisor/supervisor.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::run {

struct SessionOptions {
  // The run directory; default runs/<plan>-<UTC time>.
  std::optional<std::filesystem::path> out;
  // Replaces the plan's seed (and a drawn one).
  std::optional<uint64_t> seed;
  // Multiplex node output to stdout.
  bool echo_logs = true;
  // Also called for every node event, after it is logged (on the supervisor's thread).
  std::function<void(const supervisor::Event&)> on_node_event;
  // The subcommand, recorded in the run.start event.
  std::string command = "run";
  // Where faultline-<kind> executables are ({bindir}); default: the running executable's
  // directory.
  std::optional<std::filesystem::path> bindir;
};

class Session {
 public:
  // Creates the run directory and writes plan.toml and the run.start event.
  static result<std::unique_ptr<Session>> create(const plan::Plan& plan, SessionOptions options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Starts every node and writes cluster.json when all are ready (and, with a replicated
  // [cluster.db], when every shard has elected a master). Every node's client link is made
  // before cluster.json is written, so it lists them with the node-to-node links. On failure
  // every node is stopped and the error names the node with the tail of its log.
  result<void> start_cluster();
  // Stops every node in reverse dependency order, then closes the network (proxy listeners,
  // toxics, namespaces). Thread-safe and idempotent.
  void stop_cluster();

  // Appends a harness event to events.jsonl: {"time":..,"type":type, ...fields}. `fields_json`
  // is a serialized JSON object whose members are added (or empty).
  void event(std::string_view type, std::string_view fields_json = {});

  const std::filesystem::path& dir() const { return dir_; }
  uint64_t seed() const { return seed_; }
  std::chrono::steady_clock::time_point start_time() const { return start_; }
  int64_t now() const;  // ns since start_time()
  std::vector<supervisor::NodeStatus> nodes() const;
  supervisor::Supervisor& supervisor() { return *supervisor_; }
  // The run's network backend ([network]): node placement, the links between nodes, and the
  // endpoints the harness's client uses (client_endpoint, from = "client").
  Network& network() { return *network_; }
  // Process faults on this run's nodes (kill, pause, ...), paused process groups recorded in the
  // run's ledger (chaos/ledger.h) so that `faultline heal` can undo a pause a killed harness left.
  chaos::ProcessControl& process() { return *process_; }
  const plan::Plan& plan() const { return plan_; }

 private:
  Session(const plan::Plan& plan, SessionOptions options);
  struct Events;

  plan::Plan plan_;
  SessionOptions options_;
  std::chrono::steady_clock::time_point start_;
  std::filesystem::path dir_;
  uint64_t seed_ = 0;
  std::unique_ptr<Events> events_;
  // Declared before the supervisor: the nodes stop before the links they use go away.
  std::unique_ptr<Network> network_;
  std::unique_ptr<supervisor::Supervisor> supervisor_;
  // Null when the ledger's directory cannot be written (process() then records nothing).
  std::unique_ptr<chaos::Ledger> ledger_;
  std::unique_ptr<chaos::ProcessControl> supervisor_control_;
  std::unique_ptr<chaos::ProcessControl> process_;
};

// The tail of a node's log, indented, for error messages.
std::string log_tail(const std::filesystem::path& log, size_t lines);

}  // namespace fl::run
