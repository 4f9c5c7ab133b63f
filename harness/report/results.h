// What a run produced, in the forms people and programs read: results.json (docs/results-format.md)
// and the terminal summary; read_results() reads results.json back (for `faultline report`,
// `faultline compare` and junit.xml).
#pragma once

#include "common/error.h"
#include "harness/plan/gates.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fl::report {

struct Latency {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};

struct PhaseMetrics {
  std::string name;  // "main", "final-reads"
  int64_t ok = 0, fail = 0, info = 0, late = 0;
  double ops_per_sec = 0;
  Latency latency;
  // Of `fail`: declined on purpose (a compare-and-set whose condition did not hold). Served
  // operations, so not counted as errors by the ratios.
  int64_t declined = 0;

  // Shares of ok + fail + info (0 when there were none): fail - declined + info,
  // fail - declined, info.
  double error_ratio() const;
  double fail_ratio() const;
  double info_ratio() const;
};

// One db shard's operations in the main phase, from the history: keys mapped to shards with
// fl::shard_of, as the failover checker and the db nodes do.
struct ShardMetrics {
  int shard = 0;
  int64_t ok = 0, fail = 0, info = 0;
  double ops_per_sec = 0;  // completed (ok + fail + info) per second of the main phase
  // Invoke to completion as the history recorded them, over ok and fail operations.
  double p50_ms = 0, p99_ms = 0;
};

// One fault window of events.jsonl: a fault.start and the fault.end that healed it.
struct FaultWindow {
  int index = -1;       // the plan's [[fault]] index; -1 for a fault of the control API
  std::string action;   // "kill", "partition", "link", "clock", ...
  std::string target;   // the [[fault]] target as written; "" for the control API
  std::vector<std::string> nodes;
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;  // nullopt: never healed within the run
  std::string source;   // "plan" or "control"
  std::string detail;
  // A partition's cut links as (from, to) node pairs, as the fault.start event listed them.
  std::vector<std::pair<std::string, std::string>> cuts = {};
};

// What was built and what ran.
struct Versions {
  std::string faultline, compiler, boost;
  // Node id -> the version its INFO reported (faultline_version, else redis_version).
  std::vector<std::pair<std::string, std::string>> nodes;
  // FAULTLINE_TEST_DELAY as set in the harness's environment (the nodes inherit it and delay
  // every reply by it: a deliberate, test-only slowdown); empty when unset.
  std::string test_delay;
};

// The cluster the plan asked for (the nodes as started are RunReport::nodes).
struct ClusterSummary {
  struct Group {
    std::string kind;  // "db", "cache", "lb", "broker"
    std::string name;  // node group: "db", "cache", "lb", "broker"
    int nodes = 0;
    // The policies and sizes that shape it ("replication" -> "sync"), in a fixed order.
    std::vector<std::pair<std::string, std::string>> settings;
  };
  std::vector<Group> groups;          // reference groups in start order
  std::vector<std::string> external;  // ids of [[node]] programs
  std::string network;                // the network backend: "direct", "proxy", "netns"
};

struct CheckOutcome {
  std::string kind;     // "linearizable", "perf", ...
  std::string model;    // for linearizable
  std::string verdict;  // "valid", "invalid", "unknown"
  std::string summary;  // one line
  std::string details_json = "{}";
  double seconds = 0;   // time the checker took
  // The name of the workload whose operations it judged; "" for every operation of the run.
  std::string workload;
};

struct NodeInfo {
  std::string id, kind, address;
  int pid = 0;
  std::string group = {};
  int shard = -1;  // db nodes: their shard
  // INFO's fields at the end of the run, in INFO's order (reference nodes only; empty when the
  // node was down or did not answer, with the reason in info_error).
  std::vector<std::pair<std::string, std::string>> info = {};
  std::string info_error = {};
};

// One fixed gate ([gates] `limits`, or `faultline run --gate`) judged on the run's metrics.
struct GateOutcome {
  std::string text;     // as written: "p99 < 5ms"
  std::string metric;   // "p99", or "ingest/p99" for one workload's
  double limit = 0;     // in the metric's unit (plan::Gate::limit)
  double value = 0;     // measured, same unit; NaN when the run has no such metric
  bool passed = false;
  std::string summary;  // one line: "p99 11.5ms, limit < 5ms: missed"
};

struct RunReport {
  std::string faultline_version;
  std::string plan;
  std::string plan_file;
  uint64_t seed = 0;
  std::string run_dir;
  std::string started_at;  // UTC, ISO 8601
  double planned_seconds = 0;
  double elapsed_seconds = 0;
  std::string workload;  // kind
  std::string mode;      // open | closed
  double target_rate = 0;
  int concurrency = 0;
  std::vector<PhaseMetrics> phases;
  std::vector<CheckOutcome> checks;
  std::vector<GateOutcome> gates;
  std::vector<NodeInfo> nodes;
  Versions versions;
  ClusterSummary cluster;
  std::vector<ShardMetrics> shards;  // empty unless the plan has a sharded [cluster.db]
  std::vector<FaultWindow> faults;   // in start order
  int64_t history_ops = 0;  // history lines
  // The harness's own resource use.
  double harness_cpu_seconds = 0;
  int64_t harness_max_rss_bytes = 0;
  // "valid", "invalid", "unknown" or "error"; and the exit code it maps to.
  std::string verdict;
  int exit_code = 3;
  std::string error;  // for verdict "error"
};

// results.json: one JSON object, pretty enough to read, stable key order.
std::string results_json(const RunReport& r);
// results.json back into a RunReport: every field results_json writes (check details stay JSON
// text). Errors name the file and what was wrong.
result<RunReport> read_results(const std::filesystem::path& file);

// A gate metric of the run: the phases named "main" (or "<workload>/main" for `workload`),
// together when there are several: throughput (served operations, ok + declined, per second)
// summed, latency the worst, ratios pooled over ok + fail + info. nullopt when no such phase
// exists.
std::optional<double> metric_value(const RunReport& r, plan::GateMetric m,
                                   const std::string& workload = {});

// The terminal summary: the headline numbers of the main phase, the phases, then a compact table
// of checks and gates with their verdicts; coloured when `color`.
std::string terminal_summary(const RunReport& r, bool color);

// A check's name in the summary and junit.xml: "linearizable(cas-register)", with " @<workload>"
// (" @all" for every operation) when the run's checks judge different workloads.
std::string check_display_name(const RunReport& r, const CheckOutcome& c);

// The replay command results.json records: "faultline run <run_dir>/plan.toml".
std::string replay_command(const RunReport& r);

}  // namespace fl::report
