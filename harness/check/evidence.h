// What `faultline run` learns from the cluster itself at the end of a run, beside the history:
// the INFO fields of every reference node (results.json `nodes`, the stat checker) and, when a
// convergence check is planned, every db shard's DIGESTs and every cache entry compared with the
// DB after a quiet period (convergence.json, the convergence checker). docs/results-format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace fl::check {

struct NodeStats {
  std::string id, group, kind;
  int shard = -1;
  std::string address;  // host:port
  bool running = false;  // the supervisor had it running when INFO was asked
  std::string error;     // INFO could not be read: why ("" when it was)
  // INFO's `name:value` lines in order, section headers and blank lines dropped.
  std::vector<std::pair<std::string, std::string>> info;

  // The value of `name`, or nullptr.
  const std::string* field(std::string_view name) const;
};

// INFO's text as its `name:value` fields.
std::vector<std::pair<std::string, std::string>> parse_info(std::string_view text);

struct DigestReading {
  std::string node;
  bool running = false;  // not running: not asked, and not compared
  std::string digest;    // DIGEST's answer
  std::string error;     // asked but no digest: why
};

struct ShardDigests {
  int shard = 0;
  std::vector<DigestReading> replicas;
};

struct CacheMismatch {
  std::string key;
  std::optional<std::string> cached;  // CACHE.PEEK's answer (nullopt: nil)
  std::optional<std::string> db;      // GET through the shard's master (nullopt: nil)
  std::string error;                  // the DB could not be asked: why
};

struct CacheReading {
  std::string node;
  bool running = false;
  size_t entries = 0;  // keys CACHE.KEYS listed
  size_t compared = 0;  // entries still cached when compared (PEEK not nil)
  std::string error;    // the cache could not be read: why
  // Entries that still differed from the DB at the deadline.
  std::vector<CacheMismatch> mismatches;
};

struct ConvergenceEvidence {
  int64_t quiet_ns = 0;     // waited after the final reads before collecting
  int64_t deadline_ns = 0;  // longest the caches were given to agree
  int64_t elapsed_ns = 0;   // collecting took
  int attempts = 0;         // comparison rounds of the caches
  // Why digests were not compared (quorum replication: replicas hold different key sets).
  std::string digests_skipped;
  std::vector<ShardDigests> shards;
  std::vector<CacheReading> caches;
};

struct Evidence {
  std::vector<NodeStats> nodes;
  std::optional<ConvergenceEvidence> convergence;
};

// convergence.json and back.
std::string convergence_json(const ConvergenceEvidence& e);
result<ConvergenceEvidence> parse_convergence_json(std::string_view text);

}  // namespace fl::check
