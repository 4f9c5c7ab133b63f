// The typed form of a plan file. A plan names the system under test (reference nodes from
// [cluster] and external programs from [[node]]), and later the load, faults and checks.
// load_plan() turns TOML into a Plan or into a list of diagnostics naming file:line:col and key.
#pragma once

#include "common/units.h"
#include "harness/plan/gates.h"

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
  // Runs the program under libfaketime (LD_PRELOAD, FAKETIME_TIMESTAMP_FILE =
  // <run>/nodes/<id>/faketime.rc), so clock faults reach it. The loader adds those variables to
  // `env` (values set in `env` win). External [[node]] only; default false.
  bool faketime = false;
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

// The seeded bugs of the other reference nodes (`bugs` in their [cluster.*] table, `--bug NAME`).
std::span<const std::string_view> known_broker_bugs();  // ack-before-write
std::span<const std::string_view> known_cache_bugs();   // skip-invalidation
std::span<const std::string_view> known_lb_bugs();      // retry-writes

// Options of the reference broker ([cluster.broker]): one faultline-broker with instance id
// "broker", started before every other reference node.
struct BrokerCluster {
  // True when the plan has a [cluster.broker] table.
  bool enabled = false;
  // Broker processes. Only 1 for now (the broker is not replicated).
  int nodes = 1;
  // Partitions of every topic; an entry goes to the partition of its `key` field's hash.
  // Default 4.
  int partitions = 4;
  // When the broker fsyncs a partition's log: "always" (before the XADD reply), "everysec",
  // "never". Default always.
  FsyncPolicy fsync = FsyncPolicy::always;
  // Delivered but unacknowledged entries of a consumer group are redelivered after this.
  // Default 5s.
  Duration ack_timeout = 5s;
  // Topics compacted to the last entry per `key` field. Default none.
  std::vector<std::string> compact;
  // Time between compactions of those topics. Default 10s.
  Duration compact_every = 10s;
  // With [cluster.db]: the db masters publish one change event per written key to
  // `changes_topic`, and every cache invalidates from it. Default true.
  bool changes = true;
  // The topic of the db's change events. Default "changes".
  std::string changes_topic = "changes";
  // Seeded bugs to switch on (known_broker_bugs()); test-only. Default none.
  std::vector<std::string> bugs;
};

// How a cache group handles writes ([cluster.cache] write_policy).
enum class WritePolicy {
  write_through,  // write the DB, then update the cached entry with the DB's OK
  write_around,   // write the DB, then drop the cached entry
  write_back,     // acknowledge from the cache, flush to the DB in batches
};
// Which entry a full cache drops ([cluster.cache] eviction).
enum class Eviction { lru, lfu };

std::string_view to_string(WritePolicy p);
std::string_view to_string(Eviction e);

// One cache group ([cluster.cache], or one entry of [[cluster.cache]]): `nodes` faultline-cache
// processes in front of the db shards, all with the same options. Requires [cluster.db].
struct CacheGroup {
  // The group's node id; instances follow instance_id() ("cache-0", "cache-1", ...). Unique
  // among node ids, [a-z0-9_-]+. Default "cache".
  std::string name = "cache";
  // Cache nodes in the group. Default 3.
  int nodes = 3;
  WritePolicy write_policy = WritePolicy::write_through;
  Eviction eviction = Eviction::lru;
  // Bytes of keys + values + the per-entry overhead (docs/reference-cache.md) each node holds
  // at most. Default 64MiB.
  uint64_t capacity = 64ull * 1024 * 1024;
  // Time to live of a cached entry; 0 = until evicted or invalidated. Default 0s.
  Duration ttl = 0s;
  // write-back: time between flushes of dirty entries to the DB, and most entries per flush.
  // Defaults 100ms and 256.
  Duration flush_interval = 100ms;
  int flush_batch = 256;
  // On start, prefetch the keys of the last `warm` change events (needs [cluster.broker]).
  // Default 0 (start cold).
  int warm = 0;
  // Per request to the DB (after -MOVED, -TRYAGAIN retries). Default 1s.
  Duration timeout = 1s;
  // Seeded bugs to switch on (known_cache_bugs()); test-only. Default none.
  std::vector<std::string> bugs;
  Location where;
};

// How an LB picks a backend for a request ([cluster.lb] policy).
enum class LbPolicy {
  round_robin,        // each request to the next healthy backend
  least_connections,  // to the healthy backend with the fewest requests in flight
  key_hash,           // by the command's key on a consistent-hash ring of the healthy backends
};
std::string_view to_string(LbPolicy p);

// Options of the reference load balancers ([cluster.lb]): `nodes` faultline-lb processes in
// the node group "lb" (instances lb-0, lb-1, ...; "lb" with one), each in front of every node
// of `backends`.
struct LbCluster {
  // True when the plan has a [cluster.lb] table.
  bool enabled = false;
  // LB processes. Default 2.
  int nodes = 2;
  LbPolicy policy = LbPolicy::key_hash;
  // The node group the LBs forward to: a cache group's name or "db". Default: the first cache
  // group, else "db". Set by the loader.
  std::string backends;
  // Virtual nodes per backend on the key-hash ring. Default 128.
  int vnodes = 128;
  // Active health checks: a PING every health_interval, failed when not answered within
  // health_timeout; `fall` failures in a row take a backend out, `rise` successes put it back.
  // Defaults 100ms, 250ms, 2, 2.
  Duration health_interval = 100ms;
  Duration health_timeout = 250ms;
  int fall = 2;
  int rise = 2;
  // Passive health: this many timeouts or broken links in a row eject a backend. Default 3.
  int passive_failures = 3;
  // Per forwarded request: no reply within it answers -TIMEOUT (reads are retried once
  // elsewhere first). Default 1s.
  Duration timeout = 1s;
  // Connections from each LB to each backend. Default 2.
  int connections = 2;
  // Seeded bugs to switch on (known_lb_bugs()); test-only. Default none.
  std::vector<std::string> bugs;
};

struct Cluster {
  DbCluster db;
  BrokerCluster broker;
  // [cluster.cache] (one group) or [[cluster.cache]] (several), in file order.
  std::vector<CacheGroup> caches;
  LbCluster lb;

  // The cache group named `name`, or nullptr.
  const CacheGroup* find_cache(std::string_view name) const;
};

// The instance id of the broker.
inline constexpr std::string_view kBrokerId = "broker";
// The node group id of the LBs.
inline constexpr std::string_view kLbGroup = "lb";

enum class LoadMode {
  open,    // operations start on a schedule at `rate`, whether or not earlier ones finished
  closed,  // `concurrency` processes each start their next operation when the last one ends
};

enum class KeyDistribution {
  uniform,  // every key equally likely
  zipfian,  // key i with probability proportional to 1 / (i+1)^skew
  latest,   // recently written keys are the likeliest (YCSB "latest")
  hotspot,  // `hot_ops` of operations go to the first `hot_keys` fraction of the keys
  sequential,  // a scan: key 0, 1, ..., keys-1, then from 0 again (one cursor per workload)
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
  // register | set | counter | kv-mix | queue | log. Required.
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
  // them in order. Default: a log workload's the broker; any other's the LB group, else the
  // first cache group, else every reference db instance, else every [[node]] instance.
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
  // linearizable | set-full | counter | total-queue | availability | failover | perf | log |
  // staleness | convergence | stat. Required.
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
  // staleness: the largest acceptable share of reads that returned a value older than the last
  // write acknowledged before the read began (0..1), and the longest acceptable time by which
  // a stale read lagged. Absent: report without judging.
  std::optional<double> max_stale_ratio;
  std::optional<Duration> max_staleness;
  // convergence: how long the cluster is left quiet (no load, faults healed) before every
  // shard's replicas and every cached entry are compared. Default 1s.
  Duration quiet = 1s;
  // convergence: how long replicas and cached entries may take to agree (compared again until
  // then). Default 5s.
  Duration deadline = 5s;
  // stat: the INFO field `stat` of every node of node group `group` at the end of the run,
  // combined by `aggregate` (sum | mean | min | max; default sum), must lie within [min, max].
  // At least one bound is given; an absent one is not judged.
  std::string group;
  std::string stat;
  std::optional<double> min;
  std::optional<double> max;
  std::string aggregate = "sum";
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
  partition,      // links cut in a `shape` (chaos/partition.h); healed after `duration`
  link,           // `toxics` on the links from `target` to `to` (latency, loss, ...)
  clock,          // the target's clock moved by `clock_offset` and run at `clock_rate`
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
    region,    // every node of a [[network.region]]: "region:east"
    client,    // the harness's own connections (load and final reads): "client"
  };
  Kind kind = Kind::instance;
  std::string name;  // the instance or group id ("db" for the shard kinds)
  int shard = 0;     // shard, master, slaves
  // random(...): one of the nodes the inner selector resolves to, drawn with the run's seed.
  bool random = false;
  std::string text;  // as written, for events and messages
};

// Partition shapes ([[fault]] shape; chaos/partition.h computes the cut links).
enum class PartitionShape {
  isolate,          // the selected node(s) alone, the rest together
  halves,           // the nodes split in two halves (plan order), the first the smaller
  random_halves,    // the same, nodes shuffled with the seed ("random-halves")
  bridge,           // two halves that both reach one bridge node in the middle
  majorities_ring,  // every node sees a majority, no two the same ("majorities-ring")
  primaries,        // every shard master alone, the rest together
  groups,           // `groups` as written
  one_way,          // `target` cannot reach `to`; `to` still reaches `target` ("one-way")
};
std::string_view to_string(PartitionShape s);

// How a cut link fails: packets (or proxied bytes) vanish, or the connection is refused/reset.
enum class CutMode { drop, reject };
std::string_view to_string(CutMode m);

// Which of a link's two byte streams a toxic acts on: `up` carries what the link's `from`
// (the connecting side) sends, `down` the replies.
enum class Direction { both, up, down };
std::string_view to_string(Direction d);

// One toxic on a link direction (Toxiproxy's vocabulary). Fields not used by `kind` are ignored.
struct Toxic {
  enum class Kind {
    latency,     // every chunk delayed by latency +- jitter (distribution)
    bandwidth,   // at most bytes_per_second
    loss,        // chunks dropped with `probability`, in bursts of mean length `burst`
    reset,       // the connection reset (RST) `after` it opened (0: at once)
    stall,       // bytes stop flowing `after` it opened; the connection stays open (half-open)
    slow_close,  // a close is passed on `after` this delay
    blackhole,   // accepted, never forwarded (bytes discarded)
    refuse,      // new connections refused, existing ones reset (the listener is closed)
  };
  enum class Distribution { uniform, normal, pareto };
  Kind kind = Kind::latency;
  Duration latency = 0s;
  Duration jitter = 0s;
  Distribution distribution = Distribution::normal;
  uint64_t bytes_per_second = 0;
  double probability = 0;  // loss: share of chunks dropped (0..1)
  double burst = 1;        // loss: mean chunks per loss burst (1: independent losses)
  Duration after = 0s;     // reset, stall: time after the connection opened; slow_close: delay
  double toxicity = 1;     // the chance per connection that the toxic applies to it (0..1)
  Location where;
};
std::string_view to_string(Toxic::Kind k);
std::string_view to_string(Toxic::Distribution d);

// How many of the nodes a selector resolves to a fault takes ([[fault]] select); the draw uses
// the run's seed.
enum class SelectMode { all, one, minority, majority, percent };
std::string_view to_string(SelectMode m);

// One [[fault]]: what happens to which nodes or links, when, and for how long.
struct FaultSpec {
  // --- when (owned by the schedule: harness/run/fault_schedule, chaos/schedule) ---
  // Times count from the start of the recorded (main) phase; chaos::fire_times() expands them.
  // One of `at` (one time or a list), `every` or `rate` (Poisson) is required.
  enum class Timing {
    at,       // at = "5s" or at = ["5s", "15s"]: each listed time
    every,    // every = "10s": start, start + every, ... before stop, each +- jitter
    poisson,  // rate = 0.2: random arrivals, `rate` per second on average, in [start, stop)
  };
  Timing timing = Timing::at;
  // The first time the fault may fire: the first listed `at`, or `start`.
  Duration at = 0s;
  // Timing::at: every listed time, as written (at == times.front()). Each below the duration.
  std::vector<Duration> times;
  // Timing::every: the period, and the most each firing is moved earlier or later (uniform,
  // from the seed; below every / 2). Default jitter 0s.
  Duration every = 0s;
  Duration jitter = 0s;
  // Timing::poisson: mean firings per second.
  double rate = 0;
  // every / poisson: the window [start, stop) firings fall in. Defaults 0s and the end of the
  // main phase.
  Duration start = 0s;
  std::optional<Duration> stop;
  // --- what ---
  FaultAction action = FaultAction::kill;
  // Process and clock faults: the nodes it acts on. partition: the nodes divided (default: the
  // db group if the plan has one, else every node; isolate: the node(s) cut off; one-way: the
  // side that cannot reach `to`). link: the links' near (connecting) side.
  Selector target;
  SelectMode select = SelectMode::all;
  double percent = 0;  // select = "percent": share of the candidates (0..100), at least one
  // pause: resume after it; kill/terminate: start the node again after it; partition, link,
  // clock: healed after it. Absent: the node stays down (paused nodes, partitions, link faults
  // and clocks are healed when the main phase ends).
  std::optional<Duration> duration;
  // partition
  PartitionShape shape = PartitionShape::isolate;
  std::vector<std::vector<Selector>> groups;  // shape = "groups"
  CutMode mode = CutMode::drop;
  // one-way: the side `target` cannot reach; link: the links' far side (default: every node).
  std::optional<Selector> to;
  // link
  Direction direction = Direction::both;
  std::vector<Toxic> toxics;
  // clock: added to the node's clock, and the rate it then runs at (1 = real time).
  Duration clock_offset = 0s;
  double clock_rate = 1;
  Location where;
};

// How the run's nodes reach each other ([network]).
enum class NetworkBackend {
  direct,  // straight to each other's loopback ports; no link faults
  proxy,   // every directed link through a harness-owned proxy with toxics (chaos/link_proxy.h)
  netns,   // each node in its own network namespace on a bridge; cuts as nftables rules (root)
};
std::string_view to_string(NetworkBackend b);

// [[network.region]]: a named set of nodes ("region:<name>" in selectors).
struct Region {
  std::string name;
  std::vector<Selector> nodes;
  Location where;
};

// [[network.link]]: toxics on links from the start of the run (before the nodes boot) to its
// end, such as the latency between two regions.
struct LinkRule {
  Selector from;
  Selector to;
  Direction direction = Direction::both;
  std::vector<Toxic> toxics;
  Location where;
};

struct NetworkSpec {
  // Absent: proxy when a fault or link rule needs links (partition, link), else direct.
  std::optional<NetworkBackend> backend;
  // netns: the IPv4 /16 the run's bridges draw a /24 from. Default 10.213.0.0/16.
  std::string subnet = "10.213.0.0/16";
  std::vector<Region> regions;
  std::vector<LinkRule> links;
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
  NetworkSpec network;
  // After the main phase every fault is healed, then the cluster is left this long with no
  // load before final reads and convergence checks (`recovery`). Absent: 1s when the plan has
  // faults, else 0s (recovery_time()).
  std::optional<Duration> recovery;
  Duration recovery_time() const { return recovery.value_or(faults.empty() ? 0s : 1s); }
  // [gates]: fixed limits every run must meet, and regression limits for `faultline compare`.
  GatesSpec gates;
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
// queue: total-queue; log: log; kv-mix: none), then availability and perf, each scoped to the workload
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
  // The address this instance uses to reach another ({addr:<id>}, {host:<id>}, and {port:<id>}
  // when set): a link proxy's listener or the other node's namespace address. Null: host and
  // port_of.
  std::function<std::optional<std::pair<std::string, uint16_t>>(std::string_view instance_id)>
      address_of;
};

// Expands {port}, {dir}, {id}, {replica}, {host}, {bindir}, {port:<id>} and "{{" / "}}" escapes.
// Fails on an unknown template or a port of an unknown instance.
result<std::string> expand_template(std::string_view text, const TemplateContext& ctx);

// The names a template string refers to with {port:<id>}, for validation before ports exist.
std::vector<std::string> template_port_refs(std::string_view text);

}  // namespace fl::plan
