// failover: availability per db shard, and how long each shard went without a master after a
// fault of its master. Each operation's key is mapped to its shard with fl::shard_of (the
// function the db nodes use). For every fault.start event of a kill, terminate or pause whose
// node was its shard's master when the fault fired, the failover time is the time from the
// fault to the first ok write on that shard among operations invoked at or after it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/check/checker.h"

namespace fl::check {

struct FailoverOptions {
  int shards = 1;
  // The longest acceptable failover; a longer one, or a shard that never gets an ok write again,
  // makes the verdict invalid. nullopt: report without judging.
  std::optional<int64_t> max_failover_ns;
};

struct FailoverReport {
  Verdict verdict = Verdict::unknown;
  std::string reason;
  struct Shard {
    int shard = 0;
    size_t ok = 0;     // served (ok, or a fail answered on purpose)
    size_t total = 0;  // every operation with a key of this shard
  };
  std::vector<Shard> shards;  // 0 .. shards-1
  size_t keyless = 0;         // operations without a key (not counted in any shard)
  struct Failover {
    RunEvent event;                   // the fault.start
    std::optional<int64_t> after_ns;  // nullopt: no ok write on the shard after it
    // False when no write on the shard was even invoked after the fault (it came at the end of
    // the load): neither a failover time nor a shard that stayed down.
    bool measured = true;
  };
  std::vector<Failover> failovers;           // in time order
  std::optional<int64_t> median_ns, max_ns;  // over the recovered failovers
};

FailoverReport check_failover(const Input& in, const FailoverOptions& opts);
std::string report_json(const FailoverReport& report);

// The [[check]] kind "failover" (CheckSpec::max_failover, CheckSpec::shards).
result<std::unique_ptr<Checker>> make_failover_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
