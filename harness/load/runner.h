// The load generator: drives a cluster with a [workload] and records every operation into the
// history. Open loop at a rate (latency from each operation's intended start, late starts
// counted) or closed loop at a concurrency; many logical processes, one operation at a time
// each; a pooled, pipelined RESP client with failover across endpoints and MOVED redirects.
// Phases: warm-up (not recorded), main (recorded), an optional hook, final reads (recorded).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "harness/history/history.h"
#include "harness/plan/plan.h"

namespace fl::load {

// Where operations go: one entry of the "DNS" list. The client connects to the first that
// accepts and moves on to the next when a connect fails.
struct Endpoint {
  std::string id;  // instance id, for messages
  std::string host;
  uint16_t port = 0;
};

// A snapshot for a live progress line. Counts are of recorded operations (main and final phases).
struct Progress {
  std::chrono::nanoseconds elapsed{0};  // since run() began
  int64_t started = 0, ok = 0, fail = 0, info = 0, late = 0;
  double recent_ops_per_sec = 0;    // completions per second over the last second or so
  std::chrono::nanoseconds p99{0};  // latency over the last second or so
};

struct PhaseSummary {
  int64_t started = 0;
  int64_t ok = 0, fail = 0, info = 0;
  // Of `fail`: operations the system answered on purpose because their condition did not hold
  // (a compare-and-set that saw another value: history::kPreconditionFailed). Served, not errors.
  int64_t declined = 0;
  // Open loop: starts that could not happen on time (all processes busy, or the scheduler
  // behind by more than 1ms), including `missed`. Latency still counts from the intended time.
  int64_t late = 0;
  // Open loop: starts whose time came but that never began before the phase ended.
  int64_t missed = 0;
  // Completed operations per second of the phase's scheduled length.
  double ops_per_sec = 0;
  std::chrono::nanoseconds elapsed{0};
  // Latency of completed operations (ok, fail and info) from the intended start; max exact,
  // the others within 1%.
  std::chrono::nanoseconds p50{0}, p90{0}, p99{0}, p999{0}, max{0}, mean{0};
};

struct Summary {
  PhaseSummary main, final_reads;
  double target_rate = 0;  // open loop: the spec's rate; closed loop: 0
  plan::LoadMode mode = plan::LoadMode::open;
  int concurrency = 0;
  int connections = 0;
  int64_t processes = 0;  // process ids used (retired ones included)
  int64_t connects = 0;   // successful connects, reconnects included
  int64_t failovers = 0;  // connects that succeeded only on a later endpoint
  int64_t redirects = 0;  // MOVED replies followed
  int64_t retries = 0;    // -TRYAGAIN / -CLUSTERDOWN replies retried
};

// How a Runner fits beside others in one run.
struct RunnerOptions {
  // The database's shard count, for the client's routing of keys. Default 1.
  int shards = 1;
  // The history process ids this runner uses: its n-th logical process (retired ones counted)
  // is process_offset + n * process_stride, so runners side by side never share an id
  // (plan::workload_process). Defaults 0 and 1: 0, 1, 2, ...
  int64_t process_offset = 0;
  int64_t process_stride = 1;
};

class Runner {
 public:
  // `history` must outlive the Runner. History times are nanoseconds since `run_start`.
  // REQUIRES: validate(spec) passed; endpoints is not empty.
  Runner(plan::WorkloadSpec spec, std::vector<Endpoint> endpoints, history::Writer& history,
         uint64_t seed, std::chrono::steady_clock::time_point run_start,
         RunnerOptions options = {});
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Blocks: setup, warm-up, the main phase for `duration` (or until stop()), then
  // `before_final` (may be empty; called on this thread), then final reads. Errors only for
  // harness failures (the setup commands could not run, a bug), not for failed operations.
  // Call once.
  result<Summary> run(std::chrono::nanoseconds duration, std::function<void()> before_final = {});
  // Thread-safe: ends the warm-up or main phase early; final reads still run.
  void stop();
  // Thread-safe and cheap.
  Progress progress() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Checks the spec beyond what the plan loader checks: the kind exists, mix names belong to it
// and weigh something, numbers are in range. The message names the field.
result<void> validate(const plan::WorkloadSpec& spec);

}  // namespace fl::load
