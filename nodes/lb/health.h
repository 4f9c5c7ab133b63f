// Backend health as a pure state machine: active checks (a PING every interval, a deadline on
// each, `fall` consecutive failures take a backend down, `rise` consecutive successes bring it
// back) and passive ones (`passive_failures` consecutive timeouts or broken links on forwarded
// requests take it down; only active checks bring it back). Fed the current time, probe results
// and request outcomes; answers which probes to send. No sockets, no clock of its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/units.h"

namespace fl::lb {

using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;

struct HealthOptions {
  // Time between the starts of two active checks of a backend. Default 100 ms.
  Duration interval = std::chrono::milliseconds(100);
  // A check not answered within this counts as failed. Default 250 ms.
  Duration timeout = std::chrono::milliseconds(250);
  // Consecutive failed checks that take an up backend down. Default 2.
  int fall = 2;
  // Consecutive successful checks that bring a down backend back. Default 2.
  int rise = 2;
  // Consecutive forwarded requests that timed out or lost their link that take an up backend
  // down; 0 disables passive ejection. Default 3.
  int passive_failures = 3;
};

enum class BackendState : uint8_t { up, down };

// Why a backend is down (for INFO and logs).
enum class DownReason : uint8_t { none, active, passive };

class HealthMonitor {
 public:
  // A check to send now: PING `backend`, then report the answer with on_probe(backend, id, ...).
  struct Probe {
    size_t backend;
    uint64_t id;
  };

  // Every backend starts up (as HAProxy does) with its first check due at `now`.
  // REQUIRES: options.interval > 0, options.timeout > 0, fall >= 1, rise >= 1.
  HealthMonitor(size_t backends, HealthOptions options, Time now);

  // Expires checks past their deadline (each counts as a failure) and appends to `out` the
  // checks due now. Call it at least every min(interval, timeout) / 4 or at next_due().
  void tick(Time now, std::vector<Probe>& out);

  // The answer to check `id` of `backend`; `ok` is true for a PONG. Answers to a check that is
  // no longer outstanding (expired, superseded) are ignored.
  void on_probe(size_t backend, uint64_t id, bool ok);

  // The outcome of a forwarded request: `ok` when a reply came back (any reply, errors
  // included), false when it timed out or its link broke. Ignored while the backend is down.
  void on_request(size_t backend, bool ok);

  bool up(size_t backend) const { return backends_[backend].state == BackendState::up; }
  BackendState state(size_t backend) const { return backends_[backend].state; }
  DownReason down_reason(size_t backend) const { return backends_[backend].reason; }
  // Times the backend went from up to down.
  uint64_t ejections(size_t backend) const { return backends_[backend].ejections; }
  size_t up_count() const;
  size_t size() const { return backends_.size(); }
  // Increases at every change of any backend's state: compare to see whether to re-route.
  uint64_t generation() const { return generation_; }
  // The earliest time tick() has something to do.
  Time next_due() const;
  const HealthOptions& options() const { return options_; }

 private:
  struct Backend {
    BackendState state = BackendState::up;
    DownReason reason = DownReason::none;
    int probe_failures = 0;   // consecutive
    int probe_successes = 0;  // consecutive
    int request_failures = 0; // consecutive
    uint64_t outstanding = 0; // id of the check in flight; 0 = none
    Time deadline{};          // of the outstanding check
    Time next_probe{};
    uint64_t ejections = 0;
  };
  void probe_result(Backend& b, bool ok);
  void set_state(Backend& b, BackendState s, DownReason why);

  HealthOptions options_;
  std::vector<Backend> backends_;
  uint64_t next_id_ = 1;
  uint64_t generation_ = 0;
};

}  // namespace fl::lb
