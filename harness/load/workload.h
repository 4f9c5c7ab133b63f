// Workloads decide what load does, without doing any I/O: which operation comes next, the RESP
// command that performs it, and what a reply means for the history. Each lives in its own file
// and is listed once in registry.cpp; `[workload] kind` names one.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/resp/resp.h"
#include "common/rng.h"
#include "harness/history/history.h"
#include "harness/load/keys.h"
#include "harness/plan/plan.h"

namespace fl::load {

using Command = std::vector<std::string>;

// One operation to perform: its history form and the command that performs it.
struct Operation {
  std::string f;
  std::optional<std::string> key;
  uint64_t key_index = 0;  // which of the spec's keys `key` is
  history::Value value;    // the invoke's value
  Command command;
  // True for reads: an operation that cannot have changed anything, so a timeout or a lost
  // connection makes it `fail` rather than `info`.
  bool read_only = false;
  // A warm-up operation: not recorded, and kept off the recorded keys where that matters.
  bool warmup = false;
};

// What an operation's reply meant.
struct Outcome {
  history::Type type = history::Type::info;  // ok, fail or info
  history::Value value;                      // the completion's value
  std::string error;                         // why it failed or is unknown
};

struct Interpretation {
  Outcome outcome;
  // A command to send before the operation completes, whose reply does not change the outcome
  // (queue: XACK after XREADGROUP delivered an entry). Empty for none.
  Command followup;
};

class Workload {
 public:
  virtual ~Workload() = default;

  // Commands run once before any load, not recorded: they clear what an earlier run left on
  // the recorded keys, so a checker sees only values this history wrote.
  virtual std::vector<Command> setup() const = 0;

  // The next operation for `process`. `warmup` operations go to keys outside the recorded
  // ones when the workload's checker needs a complete history of its keys.
  virtual Operation next(Rng& rng, KeyChooser& keys, int64_t process, bool warmup) = 0;

  // What `reply` to op.command means. A pure function of its arguments.
  virtual Interpretation interpret(const Operation& op, const resp::Value& reply) const = 0;

  // Tells the workload how an operation ended, so later ones can build on it (the queues
  // already drained in the final phase). Timeouts and lost connections are reported too. The
  // main phase's operations should not depend on it: they must follow from the seed alone.
  virtual void completed(const Operation& /*op*/, const Outcome& /*outcome*/) {}

  // The final phase, after the main one: the next operation, or nullopt when it is done (every
  // key read once, every queue drained). Called again after nullopt, it stays nullopt.
  virtual std::optional<Operation> final_op(int64_t process) = 0;
};

// The reply is an error: `fail`, since a RESP error means the command was not executed, except
// for a write -NOQUORUM (a replicated write that may still be applied) and -TIMEOUT (an LB or
// cache sent it onward and got no answer in time: it may have been applied), which are `info`.
Outcome error_outcome(const Operation& op, const resp::Value& reply);

// Picks operation names by the relative weights of a mix.
class MixChooser {
 public:
  // `names` are the workload's operations in order; `weights` from the plan (empty = defaults).
  MixChooser(std::span<const std::string_view> names, std::span<const double> default_weights,
             const std::map<std::string, double>& weights);
  // The index into `names` of the next operation.
  size_t next(Rng& rng) const;

 private:
  std::vector<double> cumulative_;
};

using WorkloadFactory = std::unique_ptr<Workload> (*)(const plan::WorkloadSpec&);

struct WorkloadKind {
  std::string_view name;
  std::span<const std::string_view> operations;  // the names its mix may weigh
  WorkloadFactory make;
};

// Every workload kind, in the order docs/workloads.md lists them.
std::span<const WorkloadKind> workload_kinds();
const WorkloadKind* find_workload(std::string_view name);

// The workload the spec names. REQUIRES: validate(spec) passed.
result<std::unique_ptr<Workload>> make_workload(const plan::WorkloadSpec& spec);

// Helpers shared by the workloads.
// A reply of an unexpected shape: `fail` for a read, `info` for a write (it may have applied).
Outcome unexpected_reply(const Operation& op, const resp::Value& reply);
// "<prefix><index>", or "warmup:<prefix><index>" for warm-up operations kept off the recorded keys.
std::string key_name(std::string_view prefix, uint64_t index, bool warmup);
// An operation on key `k` of the keys named `prefix`: key (warm-up keys kept apart, as key_name
// does), key_index and warmup set; f, value and command for the caller.
Operation keyed_operation(std::string_view prefix, uint64_t k, bool warmup);
// `op` turned into a read of its key by `command` ("GET", "SMEMBERS"): f "read", read-only.
Operation as_read(Operation op, std::string_view command);
// The setup of a workload whose keys start empty: DEL of every recorded key.
std::vector<Command> delete_keys(std::string_view prefix, uint64_t keys);
// The final phase of a workload that reads every key once: the next key's operation (key and
// key_index set, the rest for the caller), or nullopt after the last. `cursor` starts at 0.
std::optional<Operation> next_final_key(std::string_view prefix, uint64_t keys, uint64_t& cursor);
// Parses a whole decimal int64 ("-12"); nullopt for anything else.
std::optional<int64_t> parse_int(std::string_view s);

}  // namespace fl::load
