// What `faultline run` asks the cluster at the end of a run, after the final reads: every
// reference node's INFO (results.json `nodes`, the stat checker), and for the convergence
// checker every db shard's DIGESTs and every cache entry compared with the DB's value, retried
// until they agree or a deadline passes (convergence.json). docs/results-format.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/units.h"
#include "harness/check/evidence.h"

namespace fl::run {

// One node as the collector sees it.
struct CollectTarget {
  std::string id, group, kind;  // kind "db", "cache", "lb", "broker", "external"
  int shard = -1;               // db nodes: their shard
  std::string host;
  uint16_t port = 0;
  bool running = false;  // not running: not asked
};

struct CollectOptions {
  // Per node (connect and every batch of commands). Default 1s.
  Duration timeout = std::chrono::seconds(1);
  // How long cache entries may take to agree with the DB (write-back flushes, invalidations in
  // flight). Default 5s.
  Duration deadline = std::chrono::seconds(5);
  // Pause between comparison rounds of the entries that still differ. Default 50ms.
  Duration retry_pause = std::chrono::milliseconds(50);
  // The db's shard count (fl::shard_of) for finding a key's shard. Default 1.
  int shards = 1;
  // Replicas of a shard hold the same keys (not quorum mode): DIGESTs are compared.
  bool compare_digests = true;
  // Keys per CACHE.KEYS page and per pipelined batch. Default 1000.
  int batch = 1000;
};

// INFO of every target whose kind is not "external", in the order given.
std::vector<check::NodeStats> collect_info(const std::vector<CollectTarget>& targets,
                                           const CollectOptions& options);

// DIGEST of every db node per shard, and every cache node's entries (CACHE.KEYS, CACHE.PEEK)
// against GET through the shard's master (ROLE), comparison rounds repeated for the entries that
// differ until none does or options.deadline passes.
check::ConvergenceEvidence collect_convergence(const std::vector<CollectTarget>& targets,
                                               const CollectOptions& options);

}  // namespace fl::run
