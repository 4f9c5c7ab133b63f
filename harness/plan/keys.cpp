#include "harness/plan/keys.h"

namespace fl::plan {
namespace {

constexpr std::string_view kSignalChoices[] = {
    "SIGINT", "SIGTERM", "SIGQUIT", "SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2",
    "INT",    "TERM",    "QUIT",    "KILL",    "HUP",    "USR1",    "USR2",
};
constexpr std::string_view kProbeKinds[] = {"tcp", "resp", "http", "log", "none"};
constexpr std::string_view kRestartPolicies[] = {"no", "on-failure", "always"};
constexpr std::string_view kConditions[] = {"started", "ready"};
constexpr std::string_view kWorkloadKinds[] = {"register", "set",   "counter",
                                               "kv-mix",   "queue", "log"};
constexpr std::string_view kLoadModes[] = {"open", "closed"};
constexpr std::string_view kDistributions[] = {"uniform", "zipfian", "latest", "hotspot",
                                               "sequential"};
constexpr std::string_view kBalances[] = {"first", "round-robin"};
constexpr std::string_view kCheckKinds[] = {
    "linearizable", "set-full",  "counter",     "total-queue", "availability", "failover",
    "perf",         "log",       "staleness",   "convergence", "stat"};
constexpr std::string_view kModels[] = {"register",  "cas-register", "kv",
                                        "kv-append", "set",          "fifo-queue"};
constexpr std::string_view kReplicationModes[] = {"async", "sync", "quorum"};
constexpr std::string_view kReadRoutings[] = {"master", "slaves", "any"};
constexpr std::string_view kFsyncPolicies[] = {"always", "everysec", "never"};
constexpr std::string_view kAggregates[] = {"sum", "mean", "min", "max"};
constexpr std::string_view kWritePolicies[] = {"write-through", "write-around", "write-back"};
constexpr std::string_view kEvictions[] = {"lru", "lfu"};
constexpr std::string_view kLbPolicies[] = {"round-robin", "least-connections", "key-hash"};
constexpr std::string_view kFaultActions[] = {"kill",          "terminate", "pause", "restart",
                                              "restart-wiped", "partition", "link",  "clock"};
constexpr std::string_view kShapes[] = {"isolate",         "halves",    "random-halves", "bridge",
                                        "majorities-ring", "primaries", "groups",        "one-way"};
constexpr std::string_view kCutModes[] = {"drop", "reject"};
constexpr std::string_view kDirections[] = {"both", "up", "down"};
constexpr std::string_view kSelectModes[] = {"all", "one", "minority", "majority", "percent"};
constexpr std::string_view kToxicKinds[] = {"latency", "bandwidth", "loss",      "reset",
                                            "stall",   "slow-close", "blackhole", "refuse"};
constexpr std::string_view kLatencyDistributions[] = {"uniform", "normal", "pareto"};
constexpr std::string_view kBackends[] = {"direct", "proxy", "netns"};

constexpr KeySpec kTopKeys[] = {
    {"name", KeyType::string},
    {"seed", KeyType::integer},
    {"duration", KeyType::duration},
    {"expect", KeyType::string},
    {"ci_duration", KeyType::duration},
    {"cluster", KeyType::table},
    {"node", KeyType::table_array},
    {"workload", KeyType::table_or_array},
    {"check", KeyType::table_array},
    {"fault", KeyType::table_array},
    {"network", KeyType::table},
    {"recovery", KeyType::duration},
    {"gates", KeyType::table},
};

constexpr KeySpec kClusterKeys[] = {
    {"db", KeyType::table},
    {"broker", KeyType::table},
    {"cache", KeyType::table_or_array},
    {"lb", KeyType::table},
};

constexpr KeySpec kClusterBrokerKeys[] = {
    {"nodes", KeyType::integer},
    {"partitions", KeyType::integer},
    {"fsync", KeyType::string, kFsyncPolicies},
    {"ack_timeout", KeyType::duration},
    {"compact", KeyType::string_array},
    {"compact_every", KeyType::duration},
    {"changes", KeyType::boolean},
    {"changes_topic", KeyType::string},
    {"bugs", KeyType::string_array},
};

constexpr KeySpec kClusterCacheKeys[] = {
    {"name", KeyType::string},
    {"nodes", KeyType::integer},
    {"write_policy", KeyType::string, kWritePolicies},
    {"eviction", KeyType::string, kEvictions},
    {"capacity", KeyType::size},
    {"ttl", KeyType::duration},
    {"flush_interval", KeyType::duration},
    {"flush_batch", KeyType::integer},
    {"warm", KeyType::integer},
    {"timeout", KeyType::duration},
    {"bugs", KeyType::string_array},
};

constexpr KeySpec kClusterLbKeys[] = {
    {"nodes", KeyType::integer},
    {"policy", KeyType::string, kLbPolicies},
    {"backends", KeyType::string},
    {"vnodes", KeyType::integer},
    {"health_interval", KeyType::duration},
    {"health_timeout", KeyType::duration},
    {"fall", KeyType::integer},
    {"rise", KeyType::integer},
    {"passive_failures", KeyType::integer},
    {"timeout", KeyType::duration},
    {"connections", KeyType::integer},
    {"bugs", KeyType::string_array},
};

constexpr KeySpec kClusterDbKeys[] = {
    {"shards", KeyType::integer},
    {"replicas", KeyType::integer},
    {"replication", KeyType::string, kReplicationModes},
    {"reads", KeyType::string, kReadRoutings},
    {"fsync", KeyType::string, kFsyncPolicies},
    {"heartbeat", KeyType::duration},
    {"election_timeout", KeyType::duration},
    {"lease", KeyType::duration},
    {"quorum", KeyType::table},
    {"snapshot_every", KeyType::integer},
    {"bugs", KeyType::string_array},
    {"max_bulk", KeyType::size},
    {"max_clients", KeyType::integer},
    {"idle_timeout", KeyType::duration},
    {"scan_count", KeyType::integer},
};

constexpr KeySpec kClusterDbQuorumKeys[] = {
    {"n", KeyType::integer},
    {"w", KeyType::integer},
    {"r", KeyType::integer},
    {"timeout", KeyType::duration},
};

constexpr KeySpec kFaultKeys[] = {
    {"at", KeyType::duration_list},
    {"every", KeyType::duration},
    {"jitter", KeyType::duration},
    {"rate", KeyType::number},
    {"start", KeyType::duration},
    {"stop", KeyType::duration},
    {"action", KeyType::string, kFaultActions},
    {"target", KeyType::string},
    {"select", KeyType::string, kSelectModes},
    {"percent", KeyType::number},
    {"duration", KeyType::duration},
    {"shape", KeyType::string, kShapes},
    {"groups", KeyType::string_groups},
    {"mode", KeyType::string, kCutModes},
    {"to", KeyType::string},
    {"direction", KeyType::string, kDirections},
    {"toxics", KeyType::table_array},
    {"latency", KeyType::duration},
    {"distribution", KeyType::string, kLatencyDistributions},
    {"bandwidth", KeyType::size},
    {"loss", KeyType::number},
    {"loss_burst", KeyType::number},
    {"offset", KeyType::string},
};

// One entry of `toxics` in a [[fault]] or [[network.link]].
constexpr KeySpec kToxicKeys[] = {
    {"kind", KeyType::string, kToxicKinds},
    {"latency", KeyType::duration},
    {"jitter", KeyType::duration},
    {"distribution", KeyType::string, kLatencyDistributions},
    {"bandwidth", KeyType::size},
    {"loss", KeyType::number},
    {"loss_burst", KeyType::number},
    {"after", KeyType::duration},
    {"toxicity", KeyType::number},
};

constexpr KeySpec kNetworkKeys[] = {
    {"backend", KeyType::string, kBackends},
    {"subnet", KeyType::string},
    {"region", KeyType::table_array},
    {"link", KeyType::table_array},
};

constexpr KeySpec kRegionKeys[] = {
    {"name", KeyType::string},
    {"nodes", KeyType::string_array},
};

constexpr KeySpec kLinkKeys[] = {
    {"from", KeyType::string},
    {"to", KeyType::string},
    {"direction", KeyType::string, kDirections},
    {"toxics", KeyType::table_array},
    {"latency", KeyType::duration},
    {"jitter", KeyType::duration},
    {"distribution", KeyType::string, kLatencyDistributions},
    {"bandwidth", KeyType::size},
    {"loss", KeyType::number},
    {"loss_burst", KeyType::number},
};

constexpr KeySpec kNodeKeys[] = {
    {"id", KeyType::string},
    {"replicas", KeyType::integer},
    {"command", KeyType::string_array},
    {"env", KeyType::string_map},
    {"depends_on", KeyType::dependency_array},
    {"stop_signal", KeyType::signal, kSignalChoices},
    {"stop_grace", KeyType::duration},
    {"ready", KeyType::table},
    {"restart", KeyType::table},
    {"faketime", KeyType::boolean},
};

constexpr KeySpec kReadyKeys[] = {
    {"kind", KeyType::string, kProbeKinds},
    {"path", KeyType::string},
    {"pattern", KeyType::string},
    {"interval", KeyType::duration},
    {"timeout", KeyType::duration},
};

constexpr KeySpec kRestartKeys[] = {
    {"policy", KeyType::string, kRestartPolicies},
    {"max_restarts", KeyType::integer},
    {"backoff", KeyType::duration},
    {"max_backoff", KeyType::duration},
};

constexpr KeySpec kDependencyKeys[] = {
    {"node", KeyType::string},
    {"condition", KeyType::string, kConditions},
};

constexpr KeySpec kWorkloadKeys[] = {
    {"name", KeyType::string},
    {"kind", KeyType::string, kWorkloadKinds},
    {"mode", KeyType::string, kLoadModes},
    {"rate", KeyType::number},
    {"concurrency", KeyType::integer},
    {"connections", KeyType::integer},
    {"pipeline", KeyType::integer},
    {"targets", KeyType::string_array},
    {"balance", KeyType::string, kBalances},
    {"keys", KeyType::integer},
    {"distribution", KeyType::string, kDistributions},
    {"skew", KeyType::number},
    {"hot_keys", KeyType::number},
    {"hot_ops", KeyType::number},
    {"mix", KeyType::number_map},
    {"timeout", KeyType::duration},
    {"warmup", KeyType::duration},
    {"final_reads", KeyType::boolean},
    {"value_size", KeyType::size},
};

constexpr KeySpec kCheckKeys[] = {
    {"kind", KeyType::string, kCheckKinds}, {"model", KeyType::string, kModels},
    {"time_budget", KeyType::duration},     {"memory_budget", KeyType::size},
    {"min_ok_ratio", KeyType::number},      {"max_failover", KeyType::duration},
    {"workload", KeyType::string},          {"max_stale_ratio", KeyType::number},
    {"max_staleness", KeyType::duration},   {"quiet", KeyType::duration},
    {"deadline", KeyType::duration},        {"group", KeyType::string},
    {"stat", KeyType::string},              {"min", KeyType::number},
    {"max", KeyType::number},               {"aggregate", KeyType::string, kAggregates},
};

constexpr KeySpec kGatesKeys[] = {
    {"limits", KeyType::string_array},
    {"regression", KeyType::string_array},
    {"alpha", KeyType::number},
    {"min_effect", KeyType::fraction},
};

constexpr TableSpec kTables[] = {
    {"", "the top level", kTopKeys},
    {"cluster", "[cluster]", kClusterKeys},
    {"cluster.db", "[cluster.db]", kClusterDbKeys},
    {"cluster.db.quorum", "[cluster.db.quorum]", kClusterDbQuorumKeys},
    {"cluster.broker", "[cluster.broker]", kClusterBrokerKeys},
    {"cluster.cache", "[cluster.cache]", kClusterCacheKeys},
    {"cluster.lb", "[cluster.lb]", kClusterLbKeys},
    {"node", "[[node]]", kNodeKeys},
    {"node.ready", "[node.ready]", kReadyKeys},
    {"node.restart", "[node.restart]", kRestartKeys},
    {"node.depends_on", "depends_on entry", kDependencyKeys},
    {"workload", "[workload]", kWorkloadKeys},
    {"check", "[[check]]", kCheckKeys},
    {"fault", "[[fault]]", kFaultKeys},
    {"fault.toxics", "toxics entry", kToxicKeys},
    {"network", "[network]", kNetworkKeys},
    {"network.region", "[[network.region]]", kRegionKeys},
    {"network.link", "[[network.link]]", kLinkKeys},
    {"network.link.toxics", "toxics entry", kToxicKeys},
    {"gates", "[gates]", kGatesKeys},
};

}  // namespace

std::span<const TableSpec> known_tables() { return kTables; }

const TableSpec* find_table(std::string_view path) {
  for (const auto& t : kTables) {
    if (t.path == path) return &t;
  }
  return nullptr;
}

const KeySpec* find_key(const TableSpec& table, std::string_view name) {
  for (const auto& k : table.keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string_view json_schema_type(KeyType type) {
  switch (type) {
    case KeyType::string:
    case KeyType::duration:
    case KeyType::size:
    case KeyType::signal:
      return "string";
    case KeyType::duration_list:  // or an array of them (the schema says both)
      return "string";
    case KeyType::fraction:  // or a number (the schema says both)
      return "string";
    case KeyType::integer:
      return "integer";
    case KeyType::number:
      return "number";
    case KeyType::boolean:
      return "boolean";
    case KeyType::string_array:
    case KeyType::table_array:
    case KeyType::dependency_array:
    case KeyType::string_groups:
      return "array";
    case KeyType::string_map:
    case KeyType::number_map:
    case KeyType::table:
    case KeyType::table_or_array:
      return "object";
  }
  return "string";
}

}  // namespace fl::plan
