// convergence: after the final reads and a quiet period (faults healed), every db shard's running
// replicas give the same DIGEST, and no cache node holds an entry that differs from the DB's
// value (write-back caches are given until the deadline to flush). Judges the evidence
// `faultline run` collects (evidence.h, convergence.json), not the history.
//
// stat: an INFO field of a node group, aggregated over its nodes (sum, mean, min or max) and held
// against `min` / `max` ("hit_ratio of the caches at least 0.5", "changes_dropped at most 0").
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "harness/check/checker.h"
#include "harness/check/evidence.h"

namespace fl::check {

// The [[check]] kind "convergence".
Result check_convergence(const Input& in);
result<std::unique_ptr<Checker>> make_convergence_checker(const plan::CheckSpec& spec);

// A `stat` check's fields (plan::CheckSpec group, stat, min, max, aggregate).
struct StatFields {
  std::string group;
  std::string stat;
  std::optional<double> min, max;
  std::string aggregate = "sum";
};

// The [[check]] kind "stat". REQUIRES for a verdict: fields.group and fields.stat set.
Result check_stat(const Input& in, const StatFields& fields);
result<std::unique_ptr<Checker>> make_stat_checker(const plan::CheckSpec& spec);

}  // namespace fl::check
