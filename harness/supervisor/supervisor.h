// The supervisor runs a plan's processes: it allocates their ports, spawns each in its own process
// group (dying with the harness), probes readiness, starts them in dependency order, restarts them
// by policy, applies process faults on request, and stops everything in reverse order. No child
// outlives it, however it ends.
//
// Threading: a Supervisor owns one internal thread running its event loop. Every public method is
// thread-safe and blocks until the operation is done; events are delivered on the internal thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "harness/plan/plan.h"

namespace fl::supervisor {

enum class NodeState {
  pending,   // not started yet (waiting for dependencies)
  starting,  // spawned, readiness probe not yet passed
  ready,     // probe passed, running
  paused,    // SIGSTOPped
  stopping,  // stop signal sent, waiting for exit
  backoff,   // exited; a restart is scheduled
  exited,    // exited and will not be restarted
};
std::string_view to_string(NodeState s);

struct NodeStatus {
  std::string id;
  std::string group;
  std::string kind;
  std::string host;
  uint16_t port = 0;
  int pid = 0;  // 0 when no process is running
  NodeState state = NodeState::pending;
  // Restarts made by the restart policy (restart() by hand does not count).
  int restarts = 0;
  // How the last process of this node ended, if one has.
  std::optional<int> exit_code;
  std::optional<int> exit_signal;
  std::filesystem::path dir;  // data dir: <run>/nodes/<id>/data
  std::filesystem::path log;  // output:   <run>/nodes/<id>/output.log
};

// What happened to a node. Typical sequences:
//   start:            spawned -> ready            (or spawned -> failed on a probe timeout, or
//                                                  spawned -> exited -> failed on an early exit)
//   policy restart:   exited -> restarting ("restart 2 in 200ms") -> spawned -> ready
//                     ... exited -> failed ("gave up after 5 restarts")
//   restart():        restarting ("requested") -> exited (expected) -> spawned -> ready
//   spawn error:      failed ("cannot start 'x': No such file or directory")
struct Event {
  enum class Kind { spawned, ready, exited, restarting, paused, resumed, failed };
  Kind kind;
  std::string node;
  int pid = 0;
  // Time since the Supervisor was created.
  std::chrono::nanoseconds time{0};
  std::optional<int> exit_code;
  std::optional<int> exit_signal;
  // True when the harness caused the exit (kill, terminate, restart, shutdown).
  bool expected = false;
  std::string detail;
};
std::string_view to_string(Event::Kind k);

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

struct Placement {
  std::string host;
  std::vector<std::string> wrap;
};

struct Options {
  // Each node gets <run_dir>/nodes/<id>/{data/,output.log}. Created if missing.
  std::filesystem::path run_dir;
  // Expands {bindir} in commands: where faultline-<kind> executables live.
  std::filesystem::path bindir;
  std::string host = "127.0.0.1";
  // Multiplex node output to `terminal_fd` as "<id> | line" with aligned prefixes.
  bool echo_logs = true;
  int terminal_fd = 1;
  // Colour the prefixes; nullopt = when terminal_fd is a TTY and NO_COLOR is unset.
  std::optional<bool> color;
  // Called on the supervisor's thread for every Event; must not call back into the Supervisor.
  std::function<void(const Event&)> on_event;
  // Where a node lives on the network: the address it binds and is reached at, and a command
  // prefix run before its argv (["ip", "netns", "exec", "<ns>"] for a namespace). Null: `host`,
  // no prefix.
  std::function<Placement(const plan::Instance&)> placement;
  // The endpoint instance `from` is given for instance `to` ({addr:<to>}, {port:<to>} ...) when
  // `to` itself listens on `real`: a link proxy's listener when links are proxied. Called once
  // per (from, to) pair while start() expands templates (the answer is kept for restarts and
  // later start() calls); never for a node naming itself. Null: `real`.
  std::function<result<Endpoint>(std::string_view from, std::string_view to, const Endpoint& real)>
      link;
};

// Ports come from a PortAllocator (port_allocator.h) and stay locked, and the node's, for the
// Supervisor's lifetime, across restarts. When a node's main process exits, whatever is left of
// its process group is SIGKILLed, so grandchildren never outlive it. If the harness itself dies,
// PR_SET_PDEATHSIG kills the nodes (not their own children, unless they also set it).
//
// Public methods must not be called from on_event (they would wait on the thread running it);
// they then fail with errc::internal. status() is the exception: it works there too.
class Supervisor {
 public:
  explicit Supervisor(Options options);
  // Shuts down (as shutdown()) if that has not happened; every child is reaped.
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Allocates a free port for every instance, expands templates, then starts the instances in
  // dependency order (independent ones in parallel) and returns when all are ready. On failure
  // (spawn error, early exit, probe timeout) it stops what it started and returns an error whose
  // message names the node, the cause and the last 20 lines of its log.
  result<void> start(const std::vector<plan::Instance>& instances);

  std::vector<NodeStatus> status() const;

  // Process faults. Each fails with errc::not_found for an unknown id; kill, pause and resume fail
  // with errc::invalid_argument when the node has no running process. Exits they cause are
  // `expected` and never restarted by the policy; a node waiting in backoff stays down.
  result<void> kill(
      std::string_view id);  // SIGKILL to the node's process group; waits for the reap
  result<void> terminate(std::string_view id);  // stop_signal, SIGKILL after stop_grace; waits
  result<void> pause(std::string_view id);      // SIGSTOP to the group (no-op when paused)
  result<void> resume(std::string_view id);     // SIGCONT to the group (no-op when not paused)
  // Stops the node (as terminate), removes its data dir when `wipe`, starts it again on the same
  // port and waits until it is ready.
  result<void> restart(std::string_view id, bool wipe);

  // Stops every node in reverse dependency order (stop_signal, then SIGKILL after stop_grace;
  // paused nodes are resumed first so they can exit) and reaps them. Idempotent.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::supervisor
