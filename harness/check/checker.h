// Checkers judge a history. Each lives in its own file and is listed once in registry.cpp; the
// plan's [[check]] entries name them. A checker that runs out of its time or memory budget says
// `unknown`, never a guess.
#pragma once

#include "common/error.h"
#include "harness/history/compact.h"
#include "harness/history/history.h"
#include "harness/plan/plan.h"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fl::check {

// The values are the exit codes they map to (0, 1, 2). The worst verdict of a run decides its
// exit code, and invalid is worse than unknown (a definite violation says more about a run than
// a checker that gave up): see worst().
enum class Verdict { valid = 0, invalid = 1, unknown = 2 };
std::string_view to_string(Verdict v);
Verdict worst(Verdict a, Verdict b);

// One line of events.jsonl that checkers care about (faults, process exits).
struct RunEvent {
  int64_t time = 0;  // ns since the run began, same clock as the history
  std::string type;  // "node.exited", "fault.start", "fault.end", ...
  std::string node;
  std::string detail;
  // For node.exited: the harness caused it (a stop, a requested restart).
  bool expected = false;
  // For fault.*: the action ("kill", "pause", ...), the db shard of the node (-1 if none) and
  // the role the node reported when the fault fired ("master", "slave"; "" if not asked).
  std::string action = {};
  int shard = -1;
  std::string role = {};
};

struct Evidence;  // evidence.h

// The history in its compact form (history::read_compact): a malformed history never gets here,
// its reader's error says what is wrong with it.
struct Input {
  const history::Compact& history;
  const std::vector<RunEvent>& events;
  // What the run collected from the cluster at its end (evidence.h); null when there is none
  // (`faultline check` of a history file). The convergence and stat checkers need it.
  const Evidence* evidence = nullptr;
};

struct Result {
  std::string name;  // "linearizable", "perf", ...
  Verdict verdict = Verdict::unknown;
  // One line for the terminal summary: "valid: 20000 ops, 100 keys, 35 ms".
  std::string summary;
  // A serialized JSON object with the evidence and metrics (results.json embeds it as-is).
  std::string details_json = "{}";
};

class Checker {
 public:
  virtual ~Checker() = default;
  // Judges the history. Must respect the budget given at construction; never throws on bad
  // input (a malformed history is `unknown` with the reason in the summary).
  virtual Result check(const Input& in) = 0;
};

// Makes the checker a [[check]] names; errors for an unknown kind or model.
result<std::unique_ptr<Checker>> make_checker(const plan::CheckSpec& spec);
// The kinds registry.cpp knows, for validation and --help.
std::vector<std::string_view> checker_kinds();

}  // namespace fl::check
