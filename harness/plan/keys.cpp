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

constexpr KeySpec kTopKeys[] = {
    {"name", KeyType::string},
    {"seed", KeyType::integer},
    {"duration", KeyType::duration},
    {"cluster", KeyType::table},
    {"node", KeyType::table_array},
};

constexpr KeySpec kClusterKeys[] = {
    {"db", KeyType::table},
};

constexpr KeySpec kClusterDbKeys[] = {
    {"nodes", KeyType::integer},
    {"max_bulk", KeyType::size},
    {"max_clients", KeyType::integer},
    {"idle_timeout", KeyType::duration},
    {"scan_count", KeyType::integer},
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

constexpr TableSpec kTables[] = {
    {"", "the top level", kTopKeys},
    {"cluster", "[cluster]", kClusterKeys},
    {"cluster.db", "[cluster.db]", kClusterDbKeys},
    {"node", "[[node]]", kNodeKeys},
    {"node.ready", "[node.ready]", kReadyKeys},
    {"node.restart", "[node.restart]", kRestartKeys},
    {"node.depends_on", "depends_on entry", kDependencyKeys},
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
    case KeyType::integer:
      return "integer";
    case KeyType::string_array:
    case KeyType::table_array:
    case KeyType::dependency_array:
      return "array";
    case KeyType::string_map:
    case KeyType::table:
      return "object";
  }
  return "string";
}

}  // namespace fl::plan
