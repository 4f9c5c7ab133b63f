// The registry of every key a plan may hold, table by table. The loader rejects any key not listed
// here, and plan_test checks plans/schema.json against it in both directions, so the schema, the
// loader and the docs cannot drift apart silently.
#pragma once

#include <span>
#include <string_view>

namespace fl::plan {

// The shape a key's value must have in TOML.
enum class KeyType {
  string,            // any string
  integer,           // a TOML integer
  number,            // a TOML integer or float
  boolean,           // true or false
  duration,          // a string fl::parse_duration accepts: "250ms", "1m30s"
  size,              // a string fl::parse_size accepts: "64MiB", "512"
  signal,            // a signal name: "SIGTERM" or "TERM"
  string_array,      // an array of strings
  string_map,        // a table of string values with free-form keys (env)
  number_map,        // a table of number values with free-form keys (a workload's mix)
  table,             // a table described by its own TableSpec (path = parent path + "." + key)
  table_array,       // an array of tables described by their own TableSpec
  table_or_array,    // one table ([workload]) or an array of them ([[workload]]), one TableSpec
  dependency_array,  // an array whose entries are strings or dependency tables
  duration_list,     // one duration string or an array of them ([[fault]] at)
  string_groups,     // an array of arrays of strings ([[fault]] groups)
  fraction,          // a number (0.05) or a percentage string ("5%") ([gates] min_effect)
};

struct KeySpec {
  std::string_view name;
  KeyType type;
  // For keys that take one of a fixed set of strings (probe kind, restart policy, signal): every
  // accepted spelling. Empty otherwise.
  std::span<const std::string_view> choices = {};
};

struct TableSpec {
  // Dotted path from the root: "" (top level), "cluster", "cluster.db", "node", "node.ready",
  // "node.restart", "node.depends_on" (the table form of one depends_on entry), "workload",
  // "check".
  std::string_view path;
  // How diagnostics name the table: "[cluster.db]", "[[node]]".
  std::string_view display;
  std::span<const KeySpec> keys;
};

// Every table of the plan format, parents before children.
std::span<const TableSpec> known_tables();

// The table at `path`, or nullptr.
const TableSpec* find_table(std::string_view path);

// The key `name` of `table`, or nullptr.
const KeySpec* find_key(const TableSpec& table, std::string_view name);

// The JSON Schema "type" a key of this type has: "string", "integer", "number", "boolean",
// "array" or "object".
std::string_view json_schema_type(KeyType type);

}  // namespace fl::plan
