// The typed form of a plan file. A plan names the system under test (reference nodes from
// [cluster] and external programs from [[node]]), and later the load, faults and checks.
// load_plan() turns TOML into a Plan or into a list of diagnostics naming file:line:col and key.
#pragma once

#include "common/units.h"

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fl::plan {

using namespace std::chrono_literals;

struct Location {
  std::string file;
  uint32_t line = 0;    // 1-based; 0 when unknown
  uint32_t column = 0;  // 1-based; 0 when unknown
};

// One problem found in a plan. str() is "file:line:col: message", the form editors jump to.
struct Diagnostic {
  Location where;
  std::string message;
  std::string str() const;
};

enum class ProbeKind {
  none,  // ready as soon as started
  tcp,   // a TCP connect to the node's port succeeds
  resp,  // PING over RESP answers +PONG
  http,  // GET `path` answers 2xx
  log,   // a line of the node's log matches `pattern`
};

struct ReadyProbe {
  ProbeKind kind = ProbeKind::tcp;
  // http: the path to GET. Default "/".
  std::string path = "/";
  // log: an ECMAScript regular expression searched in each line of the node's output.
  std::string pattern;
  // Time between attempts. Default 20ms.
  Duration interval = 20ms;
  // The node must be ready within this time of its start, or the start fails. Default 30s.
  Duration timeout = 30s;
};

enum class DependCondition {
  started,  // the dependency's process has been spawned
  ready,    // the dependency passed its readiness probe (default)
};

struct Dependency {
  // A node id from the plan: a group id (every replica of it) or one instance id ("redis-0").
  std::string node;
  DependCondition condition = DependCondition::ready;
};

enum class RestartPolicy {
  no,          // never restart (default)
  on_failure,  // restart after a non-zero exit or death by a signal the harness did not send
  always,      // restart after any exit the harness did not ask for
};

struct Restart {
  RestartPolicy policy = RestartPolicy::no;
  // Most restarts over the node's life; 0 means no limit. Default 5.
  int max_restarts = 5;
  // Wait before the first restart; doubles each time up to max_backoff. Defaults 100ms, 5s.
  Duration backoff = 100ms;
  Duration max_backoff = 5s;
};

// One [[node]] entry (or a reference-node group from [cluster]) before replicas are expanded.
struct NodeSpec {
  std::string id;
  // "external" for [[node]] programs; "db", "lb", "cache", "broker" for reference nodes.
  std::string kind = "external";
  // Instances to run. With 1 the instance id is `id`; with more they are `id-0` .. `id-(N-1)`.
  int replicas = 1;
  // argv with templates: {port} {dir} {id} {replica} {host} {bindir} {port:<instance-id>}.
  std::vector<std::string> command;
  // Extra environment variables; values may use the same templates.
  std::map<std::string, std::string> env;
  ReadyProbe ready;
  std::vector<Dependency> depends_on;
  // Signal sent first on stop. Default SIGTERM.
  int stop_signal = SIGTERM;
  // Time between stop_signal and SIGKILL. Default 5s.
  Duration stop_grace = 5s;
  Restart restart;
  // Reference groups that name and configure each instance themselves ([cluster.db]: db-s0-r0,
  // db-s0-r1, ...) list them here, `replicas` of them, each with its own argv. Empty for the
  // replica naming rule and a shared `command`.
  struct Member {
    std::string id;
    std::vector<std::string> command;
    int shard = -1;  // the db shard the instance serves; -1 when not a db node
  };
  std::vector<Member> members;
  Location where;
};

// The id of instance `replica` of a group: members[replica].id when the group names its
// instances, else `id` with one replica and `id-<replica>` with more.
std::string instance_id(const NodeSpec& spec, int replica);

// One process to run: a NodeSpec with its replica chosen. Templates are not yet expanded, since
// ports are allocated only when the cluster starts.
struct Instance {
  std::string id;     // unique across the plan
  std::string group;  // the NodeSpec id
  std::string kind;
  int replica = 0;
  // The db shard the instance serves; -1 when it is not a reference db node.
  int shard = -1;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  ReadyProbe ready;
  // Dependencies resolved to instance ids (a group dependency becomes one per replica).
  std::vector<std::pair<std::string, DependCondition>> depends_on;
  int stop_signal = SIGTERM;
  Duration stop_grace = 5s;
  Restart restart;
};

// How a db shard replicates ([cluster.db] replication).
enum class Replication {
  async,   // the master acknowledges after its own log
  sync,    // the master acknowledges after a majority of the shard's replicas logged it
  quorum,  // leaderless: writes to N replicas wait for W acks, reads ask N and wait for R
};

// Which db nodes serve reads ([cluster.db] reads).
enum class ReadRouting { master, slaves, any };

// When a db node fsyncs its write-ahead log ([cluster.db] fsync).
enum class FsyncPolicy { always, everysec, never };

std::string_view to_string(Replication r);
std::string_view to_string(ReadRouting r);
std::string_view to_string(FsyncPolicy f);

// The seeded bugs faultline-db knows (`bugs` in [cluster.db], `--bug NAME`): test-only flags
// that each break one guarantee, so a shipped plan can show that the checkers catch it.
std::span<const std::string_view> known_db_bugs();

// Quorum mode's sizes ([cluster.db.quorum], or the inline `quorum = { n = 3, w = 2, r = 2 }`).
struct QuorumSpec {
  // Replicas of each key (its preference list on the ring of node ids). Default 3.
  int n = 3;
  // Acks a write waits for. Default 2.
  int w = 2;
  // Answers a read waits for. Default 2.
  int r = 2;
  // Fewer than W (or R) answers within this time: -NOQUORUM. Default 500ms.
  Duration timeout = 500ms;
};

// Options of the reference database nodes ([cluster.db]).
struct DbCluster {
  // True when the plan has a [cluster.db] table: it then runs shards x replicas nodes with ids
  // db-s{shard}-r{replica}, all in the node group `db`.
  bool enabled = false;
  // Shards (replica groups) keys are spread over with fl::shard_of. Default 1.
  int shards = 1;
  // Nodes per shard: one master and replicas - 1 slaves (quorum mode: the ring's nodes).
  // Default 1.
  int replicas = 1;
  Replication replication = Replication::sync;
  ReadRouting reads = ReadRouting::master;
  FsyncPolicy fsync = FsyncPolicy::everysec;
  // The master's heartbeat (empty Append) interval. Default 50ms.
  Duration heartbeat = 50ms;
  // A slave that hears no master this long starts an election (randomized up to 2x). Default 300ms.
  Duration election_timeout = 300ms;
  // How long a master keeps serving after a majority last confirmed it; below election_timeout.
  // Default 250ms.
  Duration lease = 250ms;
  // replication = "quorum" only.
  QuorumSpec quorum;
  // Log entries between snapshots (log compaction); 0 disables them. Default 100000.
  int64_t snapshot_every = 100000;
  // Seeded bugs to switch on (known_db_bugs()); test-only. Default none.
  std::vector<std::string> bugs;
  // Largest accepted bulk string (RESP limit). Default 512MiB.
  uint64_t max_bulk = 512ull * 1024 * 1024;
  // Most simultaneous client connections per node. Default 10000.
  int max_clients = 10000;
  // Close client connections idle this long; 0 = never. Default 0.
  Duration idle_timeout = 0s;
  // Replies to SCAN/SMEMBERS-style cursors return at most this many elements per call. Default 1000.
  int scan_count = 1000;

  // Processes the cluster runs: shards x replicas, or 0 without [cluster.db].
  int node_count() const { return enabled ? shards * replicas : 0; }
};

// The instance id of db node `replica` of shard `shard`: "db-s0-r1".
std::string db_instance_id(int shard, int replica);

struct Cluster {
  DbCluster db;
};

enum class LoadMode {
  open,    // operations start on a schedule at `rate`, whether or not earlier ones finished
  closed,  // `concurrency` processes each start their next operation when the last one ends
};

enum class KeyDistribution {
  uniform,  // every key equally likely
  zipfian,  // key i with probability proportional to 1 / (i+1)^skew
  latest,   // recently written keys are the likeliest (YCSB "latest")
  hotspot,  // `hot_ops` of operations go to the first `hot_keys` fraction of the keys
};

// How a workload's client connections pick among its targets.
enum class Balance {
  first,        // every connection starts at the first target and fails over in order
  round_robin,  // connection i starts at target i % n, then fails over in order from there
};

// One [workload] table, or one entry of [[workload]]: a load `faultline run` drives and how.
// Several workloads run side by side, each with its own rate, processes and keys.
struct WorkloadSpec {
  // Names the workload in [[check]] `workload`, results.json and messages; unique in the plan,
  // [a-z0-9_-]+. Default: its kind.
  std::string name;
  // register | set | counter | kv-mix | queue. Required.
  std::string kind;
  // Prepended to every key the workload uses, so workloads never share a key. Set by the
  // loader: "" when the plan has one workload, "<name>:" when it has several.
  std::string key_prefix;
  LoadMode mode = LoadMode::open;
  // Open loop: operations started per second. Default 1000.
  double rate = 1000;
  // Closed loop: logical processes running at once. Open loop: most operations in flight
  // (further starts are counted as late, never silently dropped). Default 10.
  int concurrency = 10;
  // Client connections (pooled across processes). 0 = one per process, up to 64. Default 0.
  int connections = 0;
  // Requests pipelined on one connection at most. Default 1 (no pipelining).
  int pipeline = 1;
  // Node ids or groups to send operations to (the "DNS" list); the client fails over between
  // them in order. Default: every reference db instance, else every [[node]] instance.
  std::vector<std::string> targets;
  // Where each connection starts in `targets`. Default first.
  Balance balance = Balance::first;
  // Number of distinct keys. Default 100.
  int keys = 100;
  KeyDistribution distribution = KeyDistribution::uniform;
  // zipfian: the exponent. Default 0.99.
  double skew = 0.99;
  // hotspot: fraction of keys that are hot, and fraction of operations that go to them.
  // Defaults 0.2 and 0.8.
  double hot_keys = 0.2;
  double hot_ops = 0.8;
  // Relative weights of the workload's operations, e.g. { read = 2, write = 1, cas = 1 }.
  // Names depend on the kind (workload_operations()). Empty = the workload's default mix.
  std::map<std::string, double> mix;
  // An operation not answered in this time ends `info` (writes) or `fail` (reads). Default 1s.
  Duration timeout = 1s;
  // Load before the recorded phase, not in the history. Default 0s.
  Duration warmup = 0s;
  // After the main phase (and after faults heal), each key is read once more (Jepsen's final
  // generator). Default true.
  bool final_reads = true;
  // kv-mix and queue: bytes per written value. Default 16.
  uint64_t value_size = 16;
  Location where;
};

// One [[check]]: an invariant the run must keep.
struct CheckSpec {
  // linearizable | set-full | counter | total-queue | availability | failover | perf. Required.
  std::string kind;
  // linearizable: register | cas-register | kv | kv-append | set | fifo-queue. Default: the one
  // matching the workload (register workload -> cas-register).
  std::string model;
  // Most time and memory the checker may use before it answers `unknown`. Defaults 60s, 4GiB.
  Duration time_budget = 60s;
  uint64_t memory_budget = 4ull << 30;
  // availability: lowest acceptable ratio of ok to completed operations. Default 0 (report only).
  double min_ok_ratio = 0;
  // The name of the workload whose operations the check judges. Empty: the plan's only
  // workload, or for availability, perf and failover in a plan with several, every operation
  // of the run.
  std::string workload;
  // failover: the longest acceptable time from a fault of a shard's master to the first ok
  // write on that shard. Absent: report without judging.
  std::optional<Duration> max_failover;
  // The db's shard count, which checkers that report per shard map keys with (fl::shard_of).
  // Not a plan key: `faultline run` fills it from [cluster.db]. Default 1.
  int shards = 1;
  Location where;
};

enum class FaultAction {
  kill,           // SIGKILL to the process group; with `duration`, started again after it
  terminate,      // stop_signal, SIGKILL after stop_grace; with `duration`, started again after it
  pause,          // SIGSTOP; SIGCONT after `duration` (or at the end of the main phase)
  restart,        // terminate and start again at once on the same port, data kept
  restart_wiped,  // the same, with the data directory removed first ("restart-wiped")
};
std::string_view to_string(FaultAction a);

// Which nodes a fault acts on, as `target` wrote it. Resolved when the fault fires: a role is
// found by asking the shard's nodes ROLE.
struct Selector {
  enum class Kind {
    instance,  // one instance id: "db-s0-r1", "redis-0"
    group,     // every instance of a node group: "db", "redis"
    shard,     // every node of a db shard: "db:shard=1"
    master,    // the master of a db shard: "db:shard=0:master"
    slaves,    // every slave of a db shard: "db:shard=0:slave"
  };
  Kind kind = Kind::instance;
  std::string name;  // the instance or group id ("db" for the shard kinds)
  int shard = 0;     // shard, master, slaves
  // random(...): one of the nodes the inner selector resolves to, drawn with the run's seed.
  bool random = false;
  std::string text;  // as written, for events and messages
};

// One [[fault]]: a process fault at a time of the run.
struct FaultSpec {
  // Time from the start of the recorded (main) phase. Required; less than the plan's duration.
  Duration at = 0s;
  FaultAction action = FaultAction::kill;
  Selector target;
  // pause: resume after it; kill/terminate: start the node again after it. Absent: the node
  // stays down (paused nodes are resumed when the main phase ends).
  std::optional<Duration> duration;
  Location where;
};

struct Plan {
  std::string name;
  // The run's seed; absent means "draw one and print it".
  std::optional<uint64_t> seed;
  // How long `faultline run` drives load. Default 30s.
  Duration duration = 30s;
  // The outcome the plan is written to reach, for CI (tests/cli/plan_outcome.sh): "pass" (exit
  // 0), or "fail:<check kind>[,<check kind>...]" (exit 1 with each named check invalid), as a
  // plan that shows data loss or checks the checkers declares. Empty: not declared.
  std::string expect;
  Cluster cluster;
  std::vector<NodeSpec> nodes;  // reference groups first, then [[node]] entries in file order
  // [workload] (one) or [[workload]] (any number), in file order; empty for plans that only
  // start a cluster (`faultline up`).
  std::vector<WorkloadSpec> workloads;
  // [[check]] entries, in file order. Empty with workloads means the defaults of each.
  std::vector<CheckSpec> checks;
  // [[fault]] entries, in file order (the scheduler orders them by `at`).
  std::vector<FaultSpec> faults;
  std::filesystem::path source;  // the file it was loaded from (empty for strings)

  // Every process the plan runs, replicas expanded, in an order where each instance comes after
  // the instances it depends on.
  std::vector<Instance> instances() const;

  // The instance ids workload `w` sends operations to, in failover order: its `targets` with
  // groups expanded to their replicas, or the default (every reference db instance, else every
  // [[node]] instance).
  std::vector<std::string> target_instances(const WorkloadSpec& w) const;
  // The same for the first workload; empty without one.
  std::vector<std::string> target_instances() const;

  // The workload named `workload_name`, or nullptr.
  const WorkloadSpec* find_workload(std::string_view workload_name) const;
};

// History process ids are interleaved between the workloads of a plan, so that each checker can
// be given only its workload's operations: workload `index` of `count` uses the ids p >= 0 with
// p % count == index (its n-th logical process is index + n * count). With one workload that
// is every id, as before.
inline int64_t workload_process(size_t index, size_t count, int64_t n) {
  return static_cast<int64_t>(index) + n * static_cast<int64_t>(count);
}
inline bool workload_owns_process(size_t index, size_t count, int64_t process) {
  return process >= 0 && static_cast<size_t>(process) % count == index;
}

// The operation names a workload kind's `mix` may weigh ("register" -> read, write, cas); empty
// for an unknown kind.
std::span<const std::string_view> workload_operations(std::string_view workload_kind);

// The linearizable model that fits a workload kind: register -> cas-register, set -> set,
// queue -> fifo-queue; empty when none does (a linearizable check then needs `model`).
std::string_view default_model(std::string_view workload_kind);

// The checks a run makes for a workload when its plan has no [[check]]: the kind's own
// invariant (register: linearizable with default_model; set: set-full; counter: counter;
// queue: total-queue; kv-mix: none), then availability and perf, each scoped to the workload
// (`workload` = its name).
std::vector<CheckSpec> default_checks(const WorkloadSpec& workload);
// The checks of a run: plan.checks, or when it has none, default_checks() of every workload.
std::vector<CheckSpec> run_checks(const Plan& plan);

struct LoadResult {
  std::optional<Plan> plan;          // set when there are no errors
  std::vector<Diagnostic> errors;    // every problem found, in file order
};

// Reads and validates a plan. Never throws on bad input: every problem becomes a Diagnostic.
LoadResult load_plan_file(const std::filesystem::path& path);
// `source_name` is used in diagnostics in place of a file name.
LoadResult load_plan_string(std::string_view toml_text, std::string source_name);

// What a template in a command or env value may refer to.
struct TemplateContext {
  std::string id;
  int replica = 0;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::filesystem::path dir;
  std::filesystem::path bindir;  // where faultline and faultline-<kind> executables live
  // The data port of another instance, or nullopt if there is no such instance.
  std::function<std::optional<uint16_t>(std::string_view instance_id)> port_of;
};

// Expands {port}, {dir}, {id}, {replica}, {host}, {bindir}, {port:<id>} and "{{" / "}}" escapes.
// Fails on an unknown template or a port of an unknown instance.
result<std::string> expand_template(std::string_view text, const TemplateContext& ctx);

// The names a template string refers to with {port:<id>}, for validation before ports exist.
std::vector<std::string> template_port_refs(std::string_view text);

}  // namespace fl::plan
