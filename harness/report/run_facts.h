// The facts of a run that results.json records beside the load's phases and the checks: what
// was built and what ran (versions, cluster), the fault timeline of events.jsonl, and the
// per-shard metrics of a sharded database, computed from the run's files and plan.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "harness/history/compact.h"
#include "harness/plan/plan.h"
#include "harness/report/results.h"

namespace fl::report {

// The harness's build: `faultline_version`, the compiler and Boost it was built with.
Versions build_versions(std::string_view faultline_version);

// Node id -> version, for every node whose INFO has `faultline_version` (else `redis_version`).
std::vector<std::pair<std::string, std::string>> node_versions(const std::vector<NodeInfo>& nodes);

// The plan's reference groups (sizes and policies), its [[node]] ids and network backend.
ClusterSummary cluster_summary(const plan::Plan& plan);

// The fault windows of events.jsonl's text, in start order. A plan fault's fault.start is
// closed by the next fault.end of the same [[fault]] index and node(s) (a link or clock fault:
// the same index); a control-API fault by the fault.end with its handle (link, partition), of
// its node (pause), or by a heal of everything. Lines that are not JSON objects are skipped.
std::vector<FaultWindow> fault_timeline(std::string_view events_jsonl);

// Per shard (0 .. shards-1) of the operations with a key invoked before `main_end_ns` (the
// start of the final reads; nullopt: every operation): counts by outcome, completed operations
// per second over the span from the first invoke to the last completion, and p50/p99 of invoke
// to completion over ok and fail operations. REQUIRES: shards > 0.
std::vector<ShardMetrics> shard_metrics(const history::Compact& h, int shards,
                                        std::optional<int64_t> main_end_ns);

}  // namespace fl::report
