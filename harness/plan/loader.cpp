// TOML -> Plan. Reading happens in two passes: first every table is read on its own (unknown
// keys, types, ranges, units), then the plan is checked as a whole (duplicate ids, dependencies,
// templates). Every problem becomes a Diagnostic; reading goes on after an error so that one run
// of `faultline validate` reports them all.
#include "harness/plan/fault.h"
#include "harness/plan/faketime.h"
#include "harness/plan/keys.h"
#include "harness/plan/plan.h"
#include "harness/plan/suggest.h"

#include <fmt/core.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

namespace fl::plan {
namespace {

constexpr int kMaxReplicas = 1000;
constexpr int kMaxDbNodes = 100;
constexpr int kMaxDbShards = 100;
constexpr int kMaxDbReplicas = 15;
constexpr int64_t kMaxCount = 100'000'000;
constexpr uint64_t kMaxValueSize = 512ull * 1024 * 1024;
constexpr double kNoMax = std::numeric_limits<double>::infinity();

struct SignalName {
  std::string_view name;
  int number;
};

constexpr SignalName kSignals[] = {
    {"SIGINT", SIGINT}, {"SIGTERM", SIGTERM}, {"SIGQUIT", SIGQUIT}, {"SIGKILL", SIGKILL},
    {"SIGHUP", SIGHUP}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
};

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool valid_id(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_id_char);
}

bool valid_env_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string_view toml_type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
  }
  return "value";
}

std::string_view expected_phrase(KeyType t) {
  switch (t) {
    case KeyType::string: return "a string";
    case KeyType::integer: return "an integer";
    case KeyType::number: return "a number";
    case KeyType::boolean: return "a boolean";
    case KeyType::duration: return "a duration string like \"250ms\"";
    case KeyType::size: return "a size string like \"64MiB\"";
    case KeyType::signal: return "a signal name string like \"SIGTERM\"";
    case KeyType::string_array: return "an array of strings";
    case KeyType::string_map: return "a table of strings";
    case KeyType::number_map: return "a table of numbers";
    case KeyType::table: return "a table";
    case KeyType::table_array: return "an array of tables";
    case KeyType::table_or_array: return "a table or an array of tables";
    case KeyType::dependency_array: return "an array of node ids or { node, condition } tables";
    case KeyType::duration_list: return "a duration string like \"5s\" or an array of them";
    case KeyType::string_groups: return "an array of arrays of node ids";
    case KeyType::fraction: return "a number like 0.05 or a percentage string like \"5%\"";
  }
  return "a value";
}

bool has_type(const toml::node& n, KeyType t) {
  switch (t) {
    case KeyType::string:
    case KeyType::duration:
    case KeyType::size:
    case KeyType::signal: return n.is_string();
    case KeyType::integer: return n.is_integer();
    case KeyType::number: return n.is_number();
    case KeyType::boolean: return n.is_boolean();
    case KeyType::fraction: return n.is_number() || n.is_string();
    case KeyType::string_array:
    case KeyType::dependency_array: return n.is_array();
    case KeyType::duration_list: return n.is_string() || n.is_array();
    case KeyType::string_groups: {
      const auto* arr = n.as_array();
      return arr && std::all_of(arr->begin(), arr->end(), [](auto& e) { return e.is_array(); });
    }
    case KeyType::string_map:
    case KeyType::number_map:
    case KeyType::table: return n.is_table();
    case KeyType::table_or_array:
      if (n.is_table()) return true;
      [[fallthrough]];
    case KeyType::table_array: {
      // An empty array (`node = []`) is an array of no tables.
      const auto* arr = n.as_array();
      return arr && std::all_of(arr->begin(), arr->end(), [](auto& e) { return e.is_table(); });
    }
  }
  return false;
}

// A TOML integer or float as a double; nullopt for anything else.
std::optional<double> number_of(const toml::node& n) {
  if (const auto* i = n.as_integer()) return static_cast<double>(i->get());
  if (const auto* f = n.as_floating_point()) return f->get();
  return std::nullopt;
}

std::string join(std::span<const std::string_view> names) {
  std::string out;
  for (auto name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// "must be greater than 0", "must be between 0 and 1", ... for a number bounded below by `min`
// (excluded when `min_open`) and above by `max` (kNoMax: unbounded).
std::string range_phrase(double min, bool min_open, double max) {
  if (max == kNoMax) {
    return min_open ? fmt::format("greater than {}", min) : fmt::format("at least {}", min);
  }
  return min_open ? fmt::format("greater than {} and at most {}", min, max)
                  : fmt::format("between {} and {}", min, max);
}

// Keys earlier versions accepted, with what to write instead.
std::optional<std::string_view> retired_key_hint(std::string_view table, std::string_view key) {
  if (table == "cluster.db" && key == "nodes") {
    return "the database runs 'shards' x 'replicas' nodes db-s<shard>-r<replica> (both default "
           "1); write shards = N for N independent nodes, replicas = N for one replicated shard";
  }
  return std::nullopt;
}

// A table being read, with its entry in the key registry and the name diagnostics give it.
struct Scope {
  const toml::table* table = nullptr;
  const TableSpec* spec = nullptr;
  std::string name;  // "[[node]] #2"; empty for the top level

  // " in [[node]] #2", or "" at the top level.
  std::string in() const { return name.empty() ? std::string() : " in " + name; }
};

// What the whole-plan checks need to know about one node group beyond its NodeSpec: where its
// parts were written.
struct NodeSource {
  NodeSpec spec;
  bool has_id = false;
  std::string name;  // "[[node]] #2", "[cluster.db]"
  toml::source_region id_where;
  std::vector<toml::source_region> dep_where;      // parallel to spec.depends_on
  std::vector<toml::source_region> command_where;  // parallel to spec.command
  std::vector<std::pair<std::string, toml::source_region>> env_where;
};

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  LoadResult load(std::string_view text);

 private:
  void error(const toml::source_region& where, std::string message) {
    Location loc{file_, where.begin.line, where.begin.column};
    errors_.push_back({std::move(loc), std::move(message)});
  }

  void check_keys(const Scope& scope);
  const toml::node* get(const Scope& scope, std::string_view key, KeyType type);
  std::optional<std::string> get_string(const Scope& scope, std::string_view key);
  std::optional<int64_t> get_int(const Scope& scope, std::string_view key, int64_t min,
                                 int64_t max);
  std::optional<Duration> get_duration(const Scope& scope, std::string_view key, bool positive);
  std::optional<uint64_t> get_size(const Scope& scope, std::string_view key);
  std::optional<double> get_number(const Scope& scope, std::string_view key, double min,
                                   bool min_open, double max);
  std::optional<bool> get_bool(const Scope& scope, std::string_view key);
  bool number_in_range(const toml::node& node, std::string_view what, const Scope& scope,
                       double min, bool min_open, double max);
  template <class Enum, size_t N>
  std::optional<Enum> get_enum(const Scope& scope, std::string_view key,
                               const std::pair<std::string_view, Enum> (&names)[N]);
  std::optional<Scope> sub_table(const Scope& parent, std::string_view key, std::string name);

  void read_top(const toml::table& root);
  void read_expect(const Scope& top);
  void read_cluster(const Scope& top);
  void read_db(const Scope& cluster);
  void read_db_quorum(const Scope& q, DbCluster& db, bool replication_ok, bool replicas_ok);
  void read_bugs(const Scope& scope, std::span<const std::string_view> known,
                 std::vector<std::string>& out);
  void read_broker(const Scope& cluster);
  void read_caches(const Scope& cluster);
  void read_cache(const toml::table& table, std::string name);
  void read_lb(const Scope& cluster);
  void add_broker_group();
  void add_db_group();
  void add_cache_group(const CacheGroup& group);
  void add_lb_group();
  void read_node(const toml::table& table, size_t index, size_t count);
  void read_ready(const Scope& node, NodeSpec& spec);
  void read_restart(const Scope& node, NodeSpec& spec);
  void read_depends_on(const Scope& node, NodeSource& src);
  void read_workloads(const Scope& top);
  void read_workload(const toml::table& table, std::string name);
  void read_mix(const Scope& scope, WorkloadSpec& w, bool kind_ok);
  void read_check(const toml::table& table, size_t index, size_t count, bool have_workload);
  void read_fault(const toml::table& table, size_t index, size_t count);
  void read_fault_timing(const Scope& scope, FaultSpec& f, bool clock);
  void read_link_toxics(const Scope& scope, std::vector<Toxic>& out, bool jitter_is_latency);
  void read_toxic(const toml::table& table, std::string name, std::string_view parent_path,
                  std::vector<Toxic>& out);
  std::optional<Selector> read_selector(const Scope& scope, std::string_view key,
                                        toml::source_region& where);
  void read_network(const Scope& top);
  void read_gates(const Scope& top);
  void read_gate_list(const Scope& scope, std::string_view key, bool regression,
                      std::vector<Gate>& out);
  void check_faults();
  void check_selector(Selector& sel, const toml::source_region& where, const std::string& in,
                      bool roles_ok);
  void check_network();

  std::string hint_for(std::string_view unknown, std::span<const std::string_view> known) const;
  void check_ids();
  void check_dependencies();
  void check_templates();
  void check_targets();

  std::string file_;
  std::vector<Diagnostic> errors_;
  Plan plan_;
  std::vector<NodeSource> nodes_;
  // Instance id -> index into nodes_ of the group that runs it (first claimant wins).
  std::unordered_map<std::string, size_t> instance_owner_;
  // Group id -> index into nodes_ (first claimant wins).
  std::unordered_map<std::string, size_t> group_index_;
  // Where each workload and each of its targets were written, for check_targets(); parallel to
  // plan_.workloads (and target_where_[i] to plan_.workloads[i].targets).
  std::vector<toml::source_region> workload_where_;
  std::vector<std::vector<toml::source_region>> target_where_;
  std::vector<std::string> workload_scope_;  // "[workload]", "[[workload]] #2"
  // Where each reference table was written (its group's id_where) and how diagnostics name it.
  toml::source_region broker_where_, db_where_, lb_where_;
  std::vector<toml::source_region> cache_where_;  // parallel to plan_.cluster.caches
  std::vector<std::string> cache_scope_;          // "[cluster.cache]", "[[cluster.cache]] #2"
  // Where each [[fault]] and its target were written, and its diagnostic name, for
  // check_faults(); parallel to plan_.faults.
  struct FaultSource {
    std::string name;
    toml::source_region table, at, target, to;
    bool target_ok = false;
    bool to_ok = false;
    std::vector<std::vector<toml::source_region>> groups;  // parallel to FaultSpec::groups
    std::vector<toml::source_region> toxics;                // parallel to FaultSpec::toxics
  };
  std::vector<FaultSource> fault_src_;
  // Where each [[network.region]] node and [[network.link]] end was written, and its name.
  struct RegionSource {
    std::string name;
    std::vector<toml::source_region> nodes;  // parallel to Region::nodes
  };
  std::vector<RegionSource> region_src_;
  struct LinkSource {
    std::string name;
    toml::source_region from, to;
    bool from_ok = false, to_ok = false;
    std::vector<toml::source_region> toxics;  // parallel to LinkRule::toxics
  };
  std::vector<LinkSource> link_src_;
  toml::source_region backend_where_;
  bool backend_given_ = false;
};

void Loader::check_keys(const Scope& scope) {
  std::vector<std::string_view> names;
  for (const auto& k : scope.spec->keys) names.push_back(k.name);
  for (auto&& [key, value] : *scope.table) {
    if (find_key(*scope.spec, key.str())) continue;
    if (auto hint = retired_key_hint(scope.spec->path, key.str())) {
      error(key.source(), fmt::format("'{}' in {} is no longer supported: {}", key.str(),
                                      scope.name, *hint));
      continue;
    }
    auto near = closest_match(key.str(), names);
    if (scope.name.empty() && (value.is_table() || value.is_array_of_tables())) {
      // A top-level table: name it the way it is written.
      const bool array = value.is_array_of_tables();
      std::string message =
          fmt::format("unknown table {}{}{}", array ? "[[" : "[", key.str(), array ? "]]" : "]");
      if (near) {
        const auto* k = find_key(*scope.spec, *near);
        if (k->type == KeyType::table_array || k->type == KeyType::table_or_array) {
          message += fmt::format(" (did you mean [[{}]]?)", *near);
        } else if (k->type == KeyType::table) {
          message += fmt::format(" (did you mean [{}]?)", *near);
        } else {
          message += fmt::format(" (did you mean '{}'?)", *near);
        }
      }
      error(key.source(), std::move(message));
      continue;
    }
    std::string message = fmt::format("unknown key '{}' {}", key.str(),
                                      scope.name.empty() ? "at the top level" : "in " + scope.name);
    if (near) message += fmt::format(" (did you mean '{}'?)", *near);
    error(key.source(), std::move(message));
  }
}

const toml::node* Loader::get(const Scope& scope, std::string_view key, KeyType type) {
  // The registry is the single list of keys; reading a key it does not list is a bug here.
  [[maybe_unused]] const KeySpec* spec = find_key(*scope.spec, key);
  assert(spec && spec->type == type);
  const toml::node* node = scope.table->get(key);
  if (!node) return nullptr;
  if (!has_type(*node, type)) {
    error(node->source(), fmt::format("'{}'{} must be {}, got {}", key, scope.in(),
                                      expected_phrase(type), toml_type_name(node->type())));
    return nullptr;
  }
  return node;
}

std::optional<std::string> Loader::get_string(const Scope& scope, std::string_view key) {
  const auto* node = get(scope, key, KeyType::string);
  if (!node) return std::nullopt;
  return node->as_string()->get();
}

std::optional<int64_t> Loader::get_int(const Scope& scope, std::string_view key, int64_t min,
                                       int64_t max) {
  const auto* node = get(scope, key, KeyType::integer);
  if (!node) return std::nullopt;
  const int64_t v = node->as_integer()->get();
  if (v < min || v > max) {
    std::string range = max == std::numeric_limits<int64_t>::max()
                            ? fmt::format("at least {}", min)
                            : fmt::format("between {} and {}", min, max);
    error(node->source(), fmt::format("'{}'{} must be {}, got {}", key, scope.in(), range, v));
    return std::nullopt;
  }
  return v;
}

std::optional<Duration> Loader::get_duration(const Scope& scope, std::string_view key,
                                             bool positive) {
  const auto* node = get(scope, key, KeyType::duration);
  if (!node) return std::nullopt;
  auto d = parse_duration(node->as_string()->get());
  if (!d) {
    error(node->source(), fmt::format("'{}'{}: {}", key, scope.in(), d.error().message));
    return std::nullopt;
  }
  if (positive && d->count() == 0) {
    error(node->source(), fmt::format("'{}'{} must be greater than 0", key, scope.in()));
    return std::nullopt;
  }
  return *d;
}

std::optional<uint64_t> Loader::get_size(const Scope& scope, std::string_view key) {
  const auto* node = get(scope, key, KeyType::size);
  if (!node) return std::nullopt;
  auto s = parse_size(node->as_string()->get());
  if (!s) {
    error(node->source(), fmt::format("'{}'{}: {}", key, scope.in(), s.error().message));
    return std::nullopt;
  }
  return *s;
}

bool Loader::number_in_range(const toml::node& node, std::string_view what, const Scope& scope,
                             double min, bool min_open, double max) {
  const double v = *number_of(node);
  if (!std::isfinite(v)) {
    error(node.source(), fmt::format("{}{} must be a finite number, got {}", what, scope.in(), v));
    return false;
  }
  if (v < min || (min_open && v == min) || v > max) {
    error(node.source(), fmt::format("{}{} must be {}, got {}", what, scope.in(),
                                     range_phrase(min, min_open, max), v));
    return false;
  }
  return true;
}

std::optional<double> Loader::get_number(const Scope& scope, std::string_view key, double min,
                                         bool min_open, double max) {
  const auto* node = get(scope, key, KeyType::number);
  if (!node) return std::nullopt;
  if (!number_in_range(*node, fmt::format("'{}'", key), scope, min, min_open, max)) {
    return std::nullopt;
  }
  return number_of(*node);
}

std::optional<bool> Loader::get_bool(const Scope& scope, std::string_view key) {
  const auto* node = get(scope, key, KeyType::boolean);
  if (!node) return std::nullopt;
  return node->as_boolean()->get();
}

template <class Enum, size_t N>
std::optional<Enum> Loader::get_enum(const Scope& scope, std::string_view key,
                                     const std::pair<std::string_view, Enum> (&names)[N]) {
  auto node = get(scope, key, KeyType::string);
  if (!node) return std::nullopt;
  const std::string& value = node->as_string()->get();
  // The registry lists the same spellings (plans/schema.json is checked against it).
  assert(std::equal(std::begin(names), std::end(names), find_key(*scope.spec, key)->choices.begin(),
                    find_key(*scope.spec, key)->choices.end(),
                    [](const auto& a, std::string_view b) { return a.first == b; }));
  std::vector<std::string_view> all;
  for (const auto& [name, e] : names) {
    if (name == value) return e;
    all.push_back(name);
  }
  std::string list;
  for (auto name : all) list += (list.empty() ? "" : ", ") + std::string(name);
  std::string message =
      fmt::format("'{}'{} must be one of {}, got \"{}\"", key, scope.in(), list, value);
  if (auto near = closest_match(value, all))
    message += fmt::format(" (did you mean \"{}\"?)", *near);
  error(node->source(), std::move(message));
  return std::nullopt;
}

std::optional<Scope> Loader::sub_table(const Scope& parent, std::string_view key,
                                       std::string name) {
  const auto* node = get(parent, key, KeyType::table);
  if (!node) return std::nullopt;
  std::string path =
      parent.spec->path.empty() ? std::string(key) : fmt::format("{}.{}", parent.spec->path, key);
  Scope scope{node->as_table(), find_table(path), std::move(name)};
  assert(scope.spec);
  check_keys(scope);
  return scope;
}

void Loader::read_top(const toml::table& root) {
  Scope top{&root, find_table(""), ""};
  check_keys(top);
  if (auto name = get_string(top, "name")) {
    if (valid_id(*name)) {
      plan_.name = *name;
    } else {
      error(root.get("name")->source(),
            fmt::format("'name' must match [a-z0-9_-]+, got \"{}\"", *name));
    }
  } else if (!root.contains("name")) {
    error(toml::source_region{{1, 1}, {1, 1}, nullptr},
          "missing required key 'name' at the top level");
  }
  if (auto seed = get_int(top, "seed", 0, std::numeric_limits<int64_t>::max())) {
    plan_.seed = static_cast<uint64_t>(*seed);
  }
  if (auto d = get_duration(top, "duration", true)) plan_.duration = *d;
  read_expect(top);
  // Read only by CI (tests/cli/CMakeLists.txt passes it as --duration): validated here.
  get_duration(top, "ci_duration", true);
  read_cluster(top);
  if (const auto* nodes = get(top, "node", KeyType::table_array)) {
    const auto& arr = *nodes->as_array();
    for (size_t i = 0; i < arr.size(); ++i) read_node(*arr[i].as_table(), i, arr.size());
  }
  read_workloads(top);
  read_network(top);
  if (const auto* faults = get(top, "fault", KeyType::table_array)) {
    const auto& arr = *faults->as_array();
    for (size_t i = 0; i < arr.size(); ++i) read_fault(*arr[i].as_table(), i, arr.size());
  }
  if (auto d = get_duration(top, "recovery", false)) plan_.recovery = *d;
  if (const auto* checks = get(top, "check", KeyType::table_array)) {
    const auto& arr = *checks->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      read_check(*arr[i].as_table(), i, arr.size(), root.contains("workload"));
    }
  }
  read_gates(top);
}

// [gates]: fixed limits and regression limits (gates.h's syntax), and compare's statistics.
void Loader::read_gates(const Scope& top) {
  auto scope = sub_table(top, "gates", "[gates]");
  if (!scope) return;
  GatesSpec& g = plan_.gates;
  read_gate_list(*scope, "limits", false, g.limits);
  read_gate_list(*scope, "regression", true, g.regressions);
  if (const auto* node = get(*scope, "alpha", KeyType::number)) {
    const double a = *number_of(*node);
    if (!(a > 0 && a < 1)) {  // NaN too
      error(node->source(),
            fmt::format("'alpha' in [gates] must be greater than 0 and less than 1, got {}", a));
    } else {
      g.alpha = a;
    }
  }
  if (const auto* node = get(*scope, "min_effect", KeyType::fraction)) {
    std::optional<double> v = number_of(*node);
    if (const auto* text = node->as_string()) {
      v = parse_fraction(text->get(), false);
      if (!v) {
        error(node->source(), fmt::format("'min_effect' in [gates] must be a fraction like 0.05 "
                                          "or a percentage like \"5%\", got \"{}\"",
                                          text->get()));
      }
    }
    if (v && (!std::isfinite(*v) || *v < 0 || *v >= 1)) {
      error(node->source(),
            fmt::format("'min_effect' in [gates] must be at least 0% and below 100%, got {}", *v));
    } else if (v) {
      g.min_effect = *v;
    }
  }
}

// One [gates] list: each element a gate string; a workload prefix must name a workload.
void Loader::read_gate_list(const Scope& scope, std::string_view key, bool regression,
                            std::vector<Gate>& out) {
  const auto* node = get(scope, key, KeyType::string_array);
  if (!node) return;
  const auto& arr = *node->as_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    const auto* text = arr[i].as_string();
    if (!text) {
      error(arr[i].source(), fmt::format("'{}' in [gates] must be an array of gate strings like "
                                         "\"p99 < 5ms\", element {} is {}",
                                         key, i + 1, toml_type_name(arr[i].type())));
      continue;
    }
    auto gate = parse_gate(text->get(), regression);
    if (!gate) {
      error(arr[i].source(), fmt::format("'{}' in [gates]: {}", key, gate.error().message));
      continue;
    }
    if (!regression && gate->regression) {
      error(arr[i].source(),
            fmt::format("'{}' in [gates]: \"{}\" is a regression limit; put it in 'regression'",
                        key, text->get()));
      continue;
    }
    if (!gate->workload.empty() && !plan_.find_workload(gate->workload)) {
      std::vector<std::string_view> names;
      for (const auto& w : plan_.workloads) names.push_back(w.name);
      std::string message =
          fmt::format("'{}' in [gates]: gate '{}' names no workload '{}' of this plan", key,
                      text->get(), gate->workload);
      if (auto near = closest_match(gate->workload, names)) {
        message += fmt::format(" (did you mean '{}'?)", *near);
      }
      error(arr[i].source(), std::move(message));
      continue;
    }
    out.push_back(std::move(*gate));
  }
}

void Loader::read_expect(const Scope& top) {
  auto expect = get_string(top, "expect");
  if (!expect) return;
  const auto bad = [&](std::string why) {
    error(top.table->get("expect")->source(),
          fmt::format("'expect' must be \"pass\" or \"fail:<check kind>[,...]\": {}", why));
  };
  if (*expect == "pass") {
    plan_.expect = *expect;
    return;
  }
  if (!expect->starts_with("fail:") || expect->size() == 5) {
    bad(fmt::format("got \"{}\"", *expect));
    return;
  }
  const auto kinds = find_key(*find_table("check"), "kind")->choices;
  std::string_view rest = std::string_view(*expect).substr(5);
  for (size_t start = 0; start <= rest.size();) {
    const size_t comma = std::min(rest.find(',', start), rest.size());
    const std::string_view kind = rest.substr(start, comma - start);
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
      bad(fmt::format("unknown check kind \"{}\"", kind));
      return;
    }
    start = comma + 1;
  }
  plan_.expect = *expect;
}

void Loader::read_cluster(const Scope& top) {
  auto cluster = sub_table(top, "cluster", "[cluster]");
  if (!cluster) return;
  read_broker(*cluster);
  read_db(*cluster);
  read_caches(*cluster);
  read_lb(*cluster);
  // Start order, which is also the order of plan.nodes: the broker (the db publishes to it),
  // the db, the caches (they read through to the db), the LBs (in front of the caches).
  if (plan_.cluster.broker.enabled) add_broker_group();
  if (plan_.cluster.db.enabled) add_db_group();
  for (const auto& group : plan_.cluster.caches) add_cache_group(group);
  if (plan_.cluster.lb.enabled) add_lb_group();
}

void Loader::read_db(const Scope& cluster) {
  auto db_scope = sub_table(cluster, "db", "[cluster.db]");
  if (!db_scope) return;
  const toml::table& t = *db_scope->table;
  DbCluster& db = plan_.cluster.db;
  db.enabled = true;
  static constexpr std::pair<std::string_view, Replication> kReplication[] = {
      {"async", Replication::async}, {"sync", Replication::sync}, {"quorum", Replication::quorum}};
  static constexpr std::pair<std::string_view, ReadRouting> kReads[] = {
      {"master", ReadRouting::master}, {"slaves", ReadRouting::slaves}, {"any", ReadRouting::any}};
  static constexpr std::pair<std::string_view, FsyncPolicy> kFsync[] = {
      {"always", FsyncPolicy::always},
      {"everysec", FsyncPolicy::everysec},
      {"never", FsyncPolicy::never}};
  const auto shards = get_int(*db_scope, "shards", 1, kMaxDbShards);
  if (shards) db.shards = static_cast<int>(*shards);
  const auto replicas = get_int(*db_scope, "replicas", 1, kMaxDbReplicas);
  if (replicas) db.replicas = static_cast<int>(*replicas);
  if (shards && replicas && db.node_count() > kMaxDbNodes) {
    error(t.get("replicas")->source(),
          fmt::format("[cluster.db] would run {} x {} = {} nodes; at most {} are allowed",
                      db.shards, db.replicas, db.node_count(), kMaxDbNodes));
  }
  const auto replication = get_enum(*db_scope, "replication", kReplication);
  if (replication) db.replication = *replication;
  const bool replication_ok = replication || !t.contains("replication");
  if (auto v = get_enum(*db_scope, "reads", kReads)) db.reads = *v;
  if (auto v = get_enum(*db_scope, "fsync", kFsync)) db.fsync = *v;
  if (auto d = get_duration(*db_scope, "heartbeat", true)) db.heartbeat = *d;
  if (auto d = get_duration(*db_scope, "election_timeout", true)) db.election_timeout = *d;
  if (auto d = get_duration(*db_scope, "lease", true)) db.lease = *d;
  // Safety of the leader lease: a new master is elected no sooner than election_timeout after
  // the old one last heard a majority, so the old one's lease must run out before that.
  if (db.lease >= db.election_timeout && (t.contains("lease") || t.contains("election_timeout"))) {
    error(t.get(t.contains("lease") ? "lease" : "election_timeout")->source(),
          fmt::format("'lease' ({}) in [cluster.db] must be less than 'election_timeout' ({}): a "
                      "deposed master could otherwise still serve while a new one is elected",
                      format_duration(db.lease), format_duration(db.election_timeout)));
  }
  if (db.heartbeat >= db.lease && (t.contains("heartbeat") || t.contains("lease"))) {
    error(t.get(t.contains("heartbeat") ? "heartbeat" : "lease")->source(),
          fmt::format("'heartbeat' ({}) in [cluster.db] must be less than 'lease' ({}): the "
                      "master renews its lease by heartbeats, and would lose it between them",
                      format_duration(db.heartbeat), format_duration(db.lease)));
  }
  if (auto v = get_int(*db_scope, "snapshot_every", 0, kMaxCount)) db.snapshot_every = *v;
  read_bugs(*db_scope, known_db_bugs(), db.bugs);
  if (auto v = get_size(*db_scope, "max_bulk")) {
    if (*v == 0) {
      error(t.get("max_bulk")->source(), "'max_bulk' in [cluster.db] must be greater than 0");
    } else {
      db.max_bulk = *v;
    }
  }
  if (auto v = get_int(*db_scope, "max_clients", 1, kMaxCount)) {
    db.max_clients = static_cast<int>(*v);
  }
  if (auto v = get_duration(*db_scope, "idle_timeout", false)) db.idle_timeout = *v;
  if (auto v = get_int(*db_scope, "scan_count", 1, kMaxCount)) db.scan_count = static_cast<int>(*v);

  if (replication_ok && db.replication == Replication::quorum && db.shards > 1 && shards) {
    error(t.get("shards")->source(),
          fmt::format("'shards' in [cluster.db] must be 1 with replication = \"quorum\" (got {}): "
                      "quorum mode places keys on a ring of all the nodes; set their number "
                      "with 'replicas'",
                      db.shards));
  }
  if (auto q = sub_table(*db_scope, "quorum", "[cluster.db.quorum]")) {
    read_db_quorum(*q, db, replication_ok, replicas.has_value() || !t.contains("replicas"));
  } else if (replication_ok && db.replication == Replication::quorum && db.replicas < db.quorum.n &&
             (replicas || !t.contains("replicas"))) {
    error(t.contains("replicas") ? t.get("replicas")->source() : t.source(),
          fmt::format("replication = \"quorum\" with the default n = {} needs at least {} nodes, "
                      "[cluster.db] runs {} (set 'replicas', or a smaller [cluster.db.quorum] n)",
                      db.quorum.n, db.quorum.n, db.replicas));
  }
  db_where_ = t.source();
}

void Loader::read_db_quorum(const Scope& q, DbCluster& db, bool replication_ok, bool replicas_ok) {
  const toml::table& t = *q.table;
  if (replication_ok && db.replication != Replication::quorum) {
    error(t.source(), fmt::format("[cluster.db.quorum] applies only to replication = \"quorum\" "
                                  "(the plan's is \"{}\")",
                                  to_string(db.replication)));
    return;
  }
  const auto n = get_int(q, "n", 1, kMaxDbNodes);
  const auto w = get_int(q, "w", 1, kMaxDbNodes);
  const auto r = get_int(q, "r", 1, kMaxDbNodes);
  if (n) db.quorum.n = static_cast<int>(*n);
  if (w) db.quorum.w = static_cast<int>(*w);
  if (r) db.quorum.r = static_cast<int>(*r);
  if (auto d = get_duration(q, "timeout", true)) db.quorum.timeout = *d;
  const bool n_ok = n || !t.contains("n");
  auto at = [&](std::string_view key) {
    return t.contains(key) ? t.get(key)->source() : t.source();
  };
  if (n_ok && (w || !t.contains("w")) && db.quorum.w > db.quorum.n) {
    error(at("w"), fmt::format("'w' ({}) in [cluster.db.quorum] must not exceed 'n' ({}): a write "
                               "cannot wait for more acks than it has replicas",
                               db.quorum.w, db.quorum.n));
  }
  if (n_ok && (r || !t.contains("r")) && db.quorum.r > db.quorum.n) {
    error(at("r"), fmt::format("'r' ({}) in [cluster.db.quorum] must not exceed 'n' ({}): a read "
                               "cannot wait for more answers than it has replicas",
                               db.quorum.r, db.quorum.n));
  }
  if (n_ok && replicas_ok && db.quorum.n > db.replicas) {
    error(at("n"), fmt::format("'n' ({}) in [cluster.db.quorum] must not exceed the nodes of "
                               "[cluster.db] ('replicas' = {})",
                               db.quorum.n, db.replicas));
  }
}

void Loader::read_bugs(const Scope& scope, std::span<const std::string_view> known,
                       std::vector<std::string>& out) {
  const auto* node = get(scope, "bugs", KeyType::string_array);
  if (!node) return;
  const auto& arr = *node->as_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    const auto* s = arr[i].as_string();
    if (!s) {
      error(arr[i].source(), fmt::format("'bugs' in {} must be an array of strings, "
                                         "element {} is {}",
                                         scope.name, i + 1, toml_type_name(arr[i].type())));
      continue;
    }
    const std::string& name = s->get();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string message = fmt::format("'bugs' in {}: unknown bug \"{}\"", scope.name, name);
      if (auto near = closest_match(name, known)) {
        message += fmt::format(" (did you mean \"{}\"?)", *near);
      } else {
        message += fmt::format(" (known: {})", join(known));
      }
      error(arr[i].source(), std::move(message));
      continue;
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      error(arr[i].source(), fmt::format("'bugs' in {} names \"{}\" twice", scope.name, name));
      continue;
    }
    out.push_back(name);
  }
}

void Loader::read_broker(const Scope& cluster) {
  auto scope = sub_table(cluster, "broker", "[cluster.broker]");
  if (!scope) return;
  const toml::table& t = *scope->table;
  BrokerCluster& b = plan_.cluster.broker;
  b.enabled = true;
  broker_where_ = t.source();
  static constexpr std::pair<std::string_view, FsyncPolicy> kFsync[] = {
      {"always", FsyncPolicy::always},
      {"everysec", FsyncPolicy::everysec},
      {"never", FsyncPolicy::never}};
  if (auto v = get_int(*scope, "nodes", 1, 1)) b.nodes = static_cast<int>(*v);
  if (auto v = get_int(*scope, "partitions", 1, 1024)) b.partitions = static_cast<int>(*v);
  if (auto v = get_enum(*scope, "fsync", kFsync)) b.fsync = *v;
  if (auto d = get_duration(*scope, "ack_timeout", true)) b.ack_timeout = *d;
  if (const auto* node = get(*scope, "compact", KeyType::string_array)) {
    const auto& arr = *node->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      const auto* topic = arr[i].as_string();
      if (!topic || topic->get().empty()) {
        error(arr[i].source(),
              fmt::format("'compact' in [cluster.broker] must be an array of topic names, "
                          "element {} is {}",
                          i + 1, topic ? "an empty string" : toml_type_name(arr[i].type())));
      } else if (std::find(b.compact.begin(), b.compact.end(), topic->get()) != b.compact.end()) {
        error(arr[i].source(), fmt::format("'compact' in [cluster.broker] names \"{}\" twice",
                                           topic->get()));
      } else {
        b.compact.push_back(topic->get());
      }
    }
  }
  if (auto d = get_duration(*scope, "compact_every", true)) b.compact_every = *d;
  if (auto v = get_bool(*scope, "changes")) b.changes = *v;
  if (auto v = get_string(*scope, "changes_topic")) {
    if (v->empty()) {
      error(t.get("changes_topic")->source(),
            "'changes_topic' in [cluster.broker] must not be empty");
    } else {
      b.changes_topic = *v;
    }
  }
  read_bugs(*scope, known_broker_bugs(), b.bugs);
}

void Loader::read_caches(const Scope& cluster) {
  const auto* node = get(cluster, "cache", KeyType::table_or_array);
  if (!node) return;
  if (const auto* t = node->as_table()) {
    read_cache(*t, "[cluster.cache]");
  } else {
    const auto& arr = *node->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      read_cache(*arr[i].as_table(), arr.size() == 1
                                         ? std::string("[[cluster.cache]]")
                                         : fmt::format("[[cluster.cache]] #{}", i + 1));
    }
  }
}

void Loader::read_cache(const toml::table& t, std::string name) {
  Scope scope{&t, find_table("cluster.cache"), std::move(name)};
  check_keys(scope);
  const std::string& in = scope.name;
  CacheGroup c;
  c.where = {file_, t.source().begin.line, t.source().begin.column};
  static constexpr std::pair<std::string_view, WritePolicy> kPolicies[] = {
      {"write-through", WritePolicy::write_through},
      {"write-around", WritePolicy::write_around},
      {"write-back", WritePolicy::write_back},
  };
  static constexpr std::pair<std::string_view, Eviction> kEvictions[] = {
      {"lru", Eviction::lru},
      {"lfu", Eviction::lfu},
  };
  toml::source_region where = t.source();
  if (auto n = get_string(scope, "name")) {
    if (valid_id(*n)) {
      c.name = *n;
      where = t.get("name")->source();
    } else {
      error(t.get("name")->source(),
            fmt::format("'name' in {} must match [a-z0-9_-]+, got \"{}\"", in, *n));
    }
  }
  if (!plan_.cluster.db.enabled) {
    error(t.source(), fmt::format("{} needs [cluster.db]: a cache reads through to the db shards",
                                  in));
  }
  if (auto v = get_int(scope, "nodes", 1, kMaxDbNodes)) c.nodes = static_cast<int>(*v);
  const auto policy = get_enum(scope, "write_policy", kPolicies);
  if (policy) c.write_policy = *policy;
  const bool policy_ok = policy || !t.contains("write_policy");
  if (auto v = get_enum(scope, "eviction", kEvictions)) c.eviction = *v;
  if (auto v = get_size(scope, "capacity")) {
    if (*v == 0) {
      error(t.get("capacity")->source(), fmt::format("'capacity' in {} must be greater than 0", in));
    } else {
      c.capacity = *v;
    }
  }
  if (auto d = get_duration(scope, "ttl", false)) c.ttl = *d;
  auto write_back_only = [&](std::string_view key) {
    if (!policy_ok || c.write_policy == WritePolicy::write_back) return true;
    error(t.get(key)->source(), fmt::format("'{}' in {} applies only to write_policy = "
                                            "\"write-back\"",
                                            key, in));
    return false;
  };
  if (auto d = get_duration(scope, "flush_interval", true)) {
    if (write_back_only("flush_interval")) c.flush_interval = *d;
  }
  if (auto v = get_int(scope, "flush_batch", 1, 1'000'000)) {
    if (write_back_only("flush_batch")) c.flush_batch = static_cast<int>(*v);
  }
  if (auto v = get_int(scope, "warm", 0, 10'000'000)) {
    if (*v > 0 && !(plan_.cluster.broker.enabled && plan_.cluster.broker.changes)) {
      error(t.get("warm")->source(),
            fmt::format("'warm' in {} replays change events and needs [cluster.broker] with "
                        "changes = true",
                        in));
    } else {
      c.warm = static_cast<int>(*v);
    }
  }
  if (auto d = get_duration(scope, "timeout", true)) c.timeout = *d;
  read_bugs(scope, known_cache_bugs(), c.bugs);
  plan_.cluster.caches.push_back(std::move(c));
  cache_where_.push_back(where);
  cache_scope_.push_back(in);
}

void Loader::read_lb(const Scope& cluster) {
  auto scope = sub_table(cluster, "lb", "[cluster.lb]");
  if (!scope) return;
  const toml::table& t = *scope->table;
  LbCluster& lb = plan_.cluster.lb;
  lb.enabled = true;
  lb_where_ = t.source();
  static constexpr std::pair<std::string_view, LbPolicy> kPolicies[] = {
      {"round-robin", LbPolicy::round_robin},
      {"least-connections", LbPolicy::least_connections},
      {"key-hash", LbPolicy::key_hash},
  };
  if (auto v = get_int(*scope, "nodes", 1, kMaxDbNodes)) lb.nodes = static_cast<int>(*v);
  if (auto v = get_enum(*scope, "policy", kPolicies)) lb.policy = *v;
  const auto& caches = plan_.cluster.caches;
  if (auto b = get_string(*scope, "backends")) {
    std::vector<std::string_view> names;
    for (const auto& c : caches) {
      if (std::find(names.begin(), names.end(), c.name) == names.end()) names.push_back(c.name);
    }
    if (plan_.cluster.db.enabled) names.push_back("db");
    if (std::find(names.begin(), names.end(), *b) != names.end()) {
      lb.backends = *b;
    } else {
      std::string message = fmt::format(
          "'backends' in [cluster.lb] must name a cache group or \"db\", got \"{}\"", *b);
      if (auto near = closest_match(*b, names)) {
        message += fmt::format(" (did you mean \"{}\"?)", *near);
      } else if (!names.empty()) {
        message += fmt::format(" (the plan's: {})", join(names));
      }
      error(t.get("backends")->source(), std::move(message));
    }
  } else if (!t.contains("backends")) {
    if (!caches.empty()) {
      lb.backends = caches.front().name;
    } else if (plan_.cluster.db.enabled) {
      lb.backends = "db";
    } else {
      error(t.source(), "[cluster.lb] has nothing to forward to: the plan has no [cluster.cache] "
                        "and no [cluster.db]");
    }
  }
  if (auto v = get_int(*scope, "vnodes", 1, 100'000)) lb.vnodes = static_cast<int>(*v);
  if (auto d = get_duration(*scope, "health_interval", true)) lb.health_interval = *d;
  if (auto d = get_duration(*scope, "health_timeout", true)) lb.health_timeout = *d;
  if (auto v = get_int(*scope, "fall", 1, 1000)) lb.fall = static_cast<int>(*v);
  if (auto v = get_int(*scope, "rise", 1, 1000)) lb.rise = static_cast<int>(*v);
  if (auto v = get_int(*scope, "passive_failures", 1, 1'000'000)) {
    lb.passive_failures = static_cast<int>(*v);
  }
  if (auto d = get_duration(*scope, "timeout", true)) lb.timeout = *d;
  if (auto v = get_int(*scope, "connections", 1, 1000)) lb.connections = static_cast<int>(*v);
  read_bugs(*scope, known_lb_bugs(), lb.bugs);
}

// A reference group whose instances share one argv with {id} in it, probed with PING.
NodeSource reference_group(std::string id, std::string kind, int replicas, std::string name,
                           const toml::source_region& where, const std::string& file) {
  NodeSource src;
  src.has_id = true;
  src.name = std::move(name);
  src.id_where = where;
  NodeSpec& spec = src.spec;
  spec.id = std::move(id);
  spec.kind = std::move(kind);
  spec.replicas = replicas;
  spec.ready.kind = ProbeKind::resp;
  spec.where = {file, where.begin.line, where.begin.column};
  return src;
}

void push_flag(std::vector<std::string>& argv, std::string_view flag, std::string value) {
  argv.emplace_back(flag);
  argv.push_back(std::move(value));
}

// The db's change events reach the broker: the db gets --broker, the caches subscribe.
bool change_feed(const Cluster& c) { return c.broker.enabled && c.broker.changes; }

void Loader::add_broker_group() {
  const BrokerCluster& b = plan_.cluster.broker;
  NodeSource src = reference_group(std::string(kBrokerId), "broker", b.nodes, "[cluster.broker]",
                                   broker_where_, file_);
  auto& argv = src.spec.command;
  argv = {"{bindir}/faultline-broker", "--id", "{id}", "--host", "{host}", "--port", "{port}",
          "--dir", "{dir}"};
  push_flag(argv, "--partitions", std::to_string(b.partitions));
  push_flag(argv, "--fsync", std::string(to_string(b.fsync)));
  push_flag(argv, "--ack-timeout", format_duration(b.ack_timeout));
  for (const auto& topic : b.compact) push_flag(argv, "--compact", topic);
  push_flag(argv, "--compact-every", format_duration(b.compact_every));
  for (const auto& bug : b.bugs) push_flag(argv, "--bug", bug);
  src.command_where.assign(argv.size(), broker_where_);
  nodes_.push_back(std::move(src));
}

void Loader::add_cache_group(const CacheGroup& c) {
  const size_t index = static_cast<size_t>(&c - plan_.cluster.caches.data());
  NodeSource src = reference_group(c.name, "cache", c.nodes, cache_scope_[index],
                                   cache_where_[index], file_);
  auto& argv = src.spec.command;
  argv = {"{bindir}/faultline-cache", "--id", "{id}", "--host", "{host}", "--port", "{port}",
          "--dir", "{dir}"};
  const DbCluster& db = plan_.cluster.db;
  for (int s = 0; db.enabled && s < db.shards; ++s) {
    for (int r = 0; r < db.replicas; ++r) {
      const std::string id = db_instance_id(s, r);
      push_flag(argv, "--db", fmt::format("{},{},{{addr:{}}}", id, s, id));
    }
  }
  push_flag(argv, "--write-policy", std::string(to_string(c.write_policy)));
  push_flag(argv, "--eviction", std::string(to_string(c.eviction)));
  push_flag(argv, "--capacity", std::to_string(c.capacity));
  push_flag(argv, "--ttl", format_duration(c.ttl));
  push_flag(argv, "--flush-interval", format_duration(c.flush_interval));
  push_flag(argv, "--flush-batch", std::to_string(c.flush_batch));
  push_flag(argv, "--warm", std::to_string(c.warm));
  push_flag(argv, "--timeout", format_duration(c.timeout));
  if (change_feed(plan_.cluster)) {
    push_flag(argv, "--broker", fmt::format("{{addr:{}}}", kBrokerId));
    push_flag(argv, "--changes-topic", plan_.cluster.broker.changes_topic);
  }
  for (const auto& bug : c.bugs) push_flag(argv, "--bug", bug);
  src.command_where.assign(argv.size(), cache_where_[index]);
  // The db need not be ready (the cache retries its -TRYAGAIN / refused connections until the
  // request's timeout), only spawned, so that both boot side by side.
  if (db.enabled) {
    src.spec.depends_on.push_back({"db", DependCondition::started});
    src.dep_where.push_back(cache_where_[index]);
  }
  if (change_feed(plan_.cluster)) {
    src.spec.depends_on.push_back({std::string(kBrokerId), DependCondition::started});
    src.dep_where.push_back(cache_where_[index]);
  }
  nodes_.push_back(std::move(src));
}

void Loader::add_lb_group() {
  const LbCluster& lb = plan_.cluster.lb;
  NodeSource src = reference_group(std::string(kLbGroup), "lb", lb.nodes, "[cluster.lb]",
                                   lb_where_, file_);
  auto& argv = src.spec.command;
  argv = {"{bindir}/faultline-lb", "--id", "{id}", "--host", "{host}", "--port", "{port}",
          "--dir", "{dir}"};
  // Every instance of the backend group (its NodeSpec is already in nodes_).
  for (const auto& other : nodes_) {
    if (other.spec.id != lb.backends) continue;
    for (int r = 0; r < other.spec.replicas; ++r) {
      const std::string id = instance_id(other.spec, r);
      push_flag(argv, "--backend", fmt::format("{},{{addr:{}}}", id, id));
    }
  }
  push_flag(argv, "--policy", std::string(to_string(lb.policy)));
  push_flag(argv, "--vnodes", std::to_string(lb.vnodes));
  push_flag(argv, "--health-interval", format_duration(lb.health_interval));
  push_flag(argv, "--health-timeout", format_duration(lb.health_timeout));
  push_flag(argv, "--fall", std::to_string(lb.fall));
  push_flag(argv, "--rise", std::to_string(lb.rise));
  push_flag(argv, "--passive-failures", std::to_string(lb.passive_failures));
  push_flag(argv, "--timeout", format_duration(lb.timeout));
  push_flag(argv, "--connections", std::to_string(lb.connections));
  for (const auto& bug : lb.bugs) push_flag(argv, "--bug", bug);
  src.command_where.assign(argv.size(), lb_where_);
  if (!lb.backends.empty()) {
    src.spec.depends_on.push_back({lb.backends, DependCondition::ready});
    src.dep_where.push_back(lb_where_);
  }
  nodes_.push_back(std::move(src));
}

// The db node group: shards x replicas instances db-s{s}-r{r}, each told every member.
void Loader::add_db_group() {
  const DbCluster& db = plan_.cluster.db;
  const toml::source_region& where = db_where_;
  NodeSource src;
  src.has_id = true;
  src.name = "[cluster.db]";
  src.id_where = where;
  NodeSpec& spec = src.spec;
  spec.id = "db";
  spec.kind = "db";
  spec.replicas = db.node_count();
  spec.ready.kind = ProbeKind::resp;
  spec.where = {file_, where.begin.line, where.begin.column};
  std::vector<std::string> members;
  for (int s = 0; s < db.shards; ++s) {
    for (int r = 0; r < db.replicas; ++r) {
      const std::string id = db_instance_id(s, r);
      members.push_back("--member");
      members.push_back(fmt::format("{},{},{{addr:{}}}", id, s, id));
    }
  }
  for (int s = 0; s < db.shards; ++s) {
    for (int r = 0; r < db.replicas; ++r) {
      NodeSpec::Member m;
      m.id = db_instance_id(s, r);
      m.shard = s;
      m.command = {"{bindir}/faultline-db", "--id", "{id}", "--host", "{host}", "--port",
                   "{port}", "--dir", "{dir}", "--shard", std::to_string(s)};
      m.command.insert(m.command.end(), members.begin(), members.end());
      auto add = [&](std::string_view flag, std::string value) {
        m.command.emplace_back(flag);
        m.command.push_back(std::move(value));
      };
      add("--replication", std::string(to_string(db.replication)));
      add("--reads", std::string(to_string(db.reads)));
      add("--fsync", std::string(to_string(db.fsync)));
      add("--heartbeat", format_duration(db.heartbeat));
      add("--election-timeout", format_duration(db.election_timeout));
      add("--lease", format_duration(db.lease));
      if (db.replication == Replication::quorum) {
        add("--quorum-n", std::to_string(db.quorum.n));
        add("--quorum-w", std::to_string(db.quorum.w));
        add("--quorum-r", std::to_string(db.quorum.r));
        add("--quorum-timeout", format_duration(db.quorum.timeout));
      }
      add("--snapshot-every", std::to_string(db.snapshot_every));
      for (const auto& bug : db.bugs) add("--bug", bug);
      add("--max-bulk", std::to_string(db.max_bulk));
      add("--max-clients", std::to_string(db.max_clients));
      add("--idle-timeout", format_duration(db.idle_timeout));
      add("--scan-count", std::to_string(db.scan_count));
      if (change_feed(plan_.cluster)) {
        add("--broker", fmt::format("{{addr:{}}}", kBrokerId));
        add("--changes-topic", plan_.cluster.broker.changes_topic);
      }
      spec.members.push_back(std::move(m));
    }
  }
  // Template checks read `command` with one location per element: the first member's argv
  // stands for all (they differ only in --shard).
  spec.command = spec.members.front().command;
  src.command_where.assign(spec.command.size(), where);
  if (change_feed(plan_.cluster)) {
    spec.depends_on.push_back({std::string(kBrokerId), DependCondition::started});
    src.dep_where.push_back(where);
  }
  nodes_.push_back(std::move(src));
}

void Loader::read_node(const toml::table& table, size_t index, size_t count) {
  NodeSource src;
  Scope scope{&table, find_table("node"),
              count == 1 ? std::string("[[node]]") : fmt::format("[[node]] #{}", index + 1)};
  src.name = scope.name;
  check_keys(scope);
  NodeSpec& spec = src.spec;
  spec.where = {file_, table.source().begin.line, table.source().begin.column};

  if (auto id = get_string(scope, "id")) {
    if (valid_id(*id)) {
      spec.id = *id;
      src.has_id = true;
      src.id_where = table.get("id")->source();
    } else {
      error(table.get("id")->source(),
            fmt::format("'id'{} must match [a-z0-9_-]+, got \"{}\"", scope.in(), *id));
    }
  } else if (!table.contains("id")) {
    error(table.source(), fmt::format("missing required key 'id'{}", scope.in()));
  }

  if (auto v = get_int(scope, "replicas", 1, kMaxReplicas)) spec.replicas = static_cast<int>(*v);

  if (const auto* cmd = get(scope, "command", KeyType::string_array)) {
    const auto& arr = *cmd->as_array();
    bool ok = true;
    for (size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_string()) {
        error(arr[i].source(), fmt::format("'command'{} must be an array of strings, element {} is "
                                           "{}",
                                           scope.in(), i + 1, toml_type_name(arr[i].type())));
        ok = false;
      }
    }
    if (ok && arr.empty()) {
      error(cmd->source(), fmt::format("'command'{} must not be empty", scope.in()));
    } else if (ok && arr[0].as_string()->get().empty()) {
      error(arr[0].source(),
            fmt::format("'command'{}: the program (first element) must not be empty", scope.in()));
    } else if (ok) {
      for (const auto& el : arr) {
        spec.command.push_back(el.as_string()->get());
        src.command_where.push_back(el.source());
      }
    }
  } else if (!table.contains("command")) {
    error(table.source(), fmt::format("missing required key 'command'{}", scope.in()));
  }

  if (const auto* env = get(scope, "env", KeyType::string_map)) {
    for (auto&& [key, value] : *env->as_table()) {
      if (!valid_env_name(key.str())) {
        error(key.source(), fmt::format("environment variable name '{}' in 'env'{} is not a valid "
                                        "name ([A-Za-z_][A-Za-z0-9_]*)",
                                        key.str(), scope.in()));
      } else if (!value.is_string()) {
        error(value.source(), fmt::format("'env.{}'{} must be a string, got {}", key.str(),
                                          scope.in(), toml_type_name(value.type())));
      } else {
        spec.env.emplace(std::string(key.str()), value.as_string()->get());
        src.env_where.emplace_back(std::string(key.str()), value.source());
      }
    }
  }

  read_depends_on(scope, src);

  if (const auto* sig = get(scope, "stop_signal", KeyType::signal)) {
    const std::string& name = sig->as_string()->get();
    std::vector<std::string_view> names;
    bool found = false;
    for (const auto& s : kSignals) {
      names.push_back(s.name);
      if (name == s.name || name == s.name.substr(3)) {
        spec.stop_signal = s.number;
        found = true;
      }
    }
    if (!found) {
      auto near = closest_match(name, names);
      std::string message =
          near ? fmt::format("'stop_signal'{}: unknown signal \"{}\" (did you mean \"{}\"?)",
                             scope.in(), name, *near)
               : fmt::format(
                     "'stop_signal'{}: unknown signal \"{}\" (expected one of SIGINT, "
                     "SIGTERM, SIGQUIT, SIGKILL, SIGHUP, SIGUSR1, SIGUSR2, with or "
                     "without the SIG prefix)",
                     scope.in(), name);
      error(sig->source(), std::move(message));
    }
  }
  if (auto d = get_duration(scope, "stop_grace", false)) spec.stop_grace = *d;

  read_ready(scope, spec);
  read_restart(scope, spec);
  if (auto v = get_bool(scope, "faketime"); v && *v) {
    spec.faketime = true;
    if (auto lib = find_libfaketime()) {
      add_faketime_env(spec, *lib);
    } else {
      error(table.get("faketime")->source(),
            fmt::format("'faketime'{}: libfaketime is not installed (apt-get install libfaketime)",
                        scope.in()));
    }
  }
  nodes_.push_back(std::move(src));
}

void Loader::read_ready(const Scope& node, NodeSpec& spec) {
  auto scope = sub_table(node, "ready",
                         node.name == "[[node]]" ? "[node.ready]" : "[node.ready] of " + node.name);
  if (!scope) return;
  static constexpr std::pair<std::string_view, ProbeKind> kKinds[] = {
      {"tcp", ProbeKind::tcp}, {"resp", ProbeKind::resp}, {"http", ProbeKind::http},
      {"log", ProbeKind::log}, {"none", ProbeKind::none},
  };
  const auto kind = get_enum(*scope, "kind", kKinds);
  if (kind) spec.ready.kind = *kind;
  const bool kind_ok = kind || !scope->table->contains("kind");

  if (auto path = get_string(*scope, "path")) {
    const auto& where = scope->table->get("path")->source();
    if (kind_ok && spec.ready.kind != ProbeKind::http) {
      error(where, fmt::format("'path'{} applies only to kind = \"http\"", scope->in()));
    } else if (!path->starts_with('/')) {
      error(where, fmt::format("'path'{} must start with '/', got \"{}\"", scope->in(), *path));
    } else {
      spec.ready.path = *path;
    }
  }
  if (auto pattern = get_string(*scope, "pattern")) {
    const auto& where = scope->table->get("pattern")->source();
    if (kind_ok && spec.ready.kind != ProbeKind::log) {
      error(where, fmt::format("'pattern'{} applies only to kind = \"log\"", scope->in()));
    } else {
      try {
        std::regex re(*pattern, std::regex::ECMAScript);
        spec.ready.pattern = *pattern;
      } catch (const std::regex_error& e) {
        error(where, fmt::format("'pattern'{} is not a valid ECMAScript regular expression: {}",
                                 scope->in(), e.what()));
      }
    }
  } else if (kind && *kind == ProbeKind::log && !scope->table->contains("pattern")) {
    error(scope->table->source(),
          fmt::format("{} has kind = \"log\" but no 'pattern'", scope->name));
  }
  if (auto d = get_duration(*scope, "interval", true)) spec.ready.interval = *d;
  if (auto d = get_duration(*scope, "timeout", true)) spec.ready.timeout = *d;
}

void Loader::read_restart(const Scope& node, NodeSpec& spec) {
  auto scope =
      sub_table(node, "restart",
                node.name == "[[node]]" ? "[node.restart]" : "[node.restart] of " + node.name);
  if (!scope) return;
  static constexpr std::pair<std::string_view, RestartPolicy> kPolicies[] = {
      {"no", RestartPolicy::no},
      {"on-failure", RestartPolicy::on_failure},
      {"always", RestartPolicy::always},
  };
  if (auto p = get_enum(*scope, "policy", kPolicies)) spec.restart.policy = *p;
  if (auto v = get_int(*scope, "max_restarts", 0, kMaxCount)) {
    spec.restart.max_restarts = static_cast<int>(*v);
  }
  auto backoff = get_duration(*scope, "backoff", false);
  auto max_backoff = get_duration(*scope, "max_backoff", false);
  if (backoff) spec.restart.backoff = *backoff;
  if (max_backoff) spec.restart.max_backoff = *max_backoff;
  if ((backoff || max_backoff) && spec.restart.max_backoff < spec.restart.backoff) {
    const auto* where = scope->table->get(max_backoff ? "max_backoff" : "backoff");
    error(where->source(), fmt::format("'max_backoff' ({}){} must not be less than 'backoff' ({})",
                                       format_duration(spec.restart.max_backoff), scope->in(),
                                       format_duration(spec.restart.backoff)));
  }
}

void Loader::read_depends_on(const Scope& node, NodeSource& src) {
  const auto* deps = get(node, "depends_on", KeyType::dependency_array);
  if (!deps) return;
  static constexpr std::pair<std::string_view, DependCondition> kConditions[] = {
      {"started", DependCondition::started},
      {"ready", DependCondition::ready},
  };
  const auto& arr = *deps->as_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    const auto& el = arr[i];
    if (const auto* s = el.as_string()) {
      src.spec.depends_on.push_back({s->get(), DependCondition::ready});
      src.dep_where.push_back(el.source());
    } else if (const auto* t = el.as_table()) {
      Scope scope{t, find_table("node.depends_on"),
                  fmt::format("depends_on entry {}{}", i + 1, node.in())};
      check_keys(scope);
      Dependency dep;
      auto name = get_string(scope, "node");
      if (!name && !t->contains("node")) {
        error(t->source(), fmt::format("missing required key 'node' in {}", scope.name));
      }
      if (auto c = get_enum(scope, "condition", kConditions)) dep.condition = *c;
      if (name) {
        dep.node = *name;
        src.spec.depends_on.push_back(std::move(dep));
        src.dep_where.push_back(t->get("node")->source());
      }
    } else {
      error(el.source(), fmt::format("'depends_on'{} must be {}, element {} is {}", node.in(),
                                     expected_phrase(KeyType::dependency_array), i + 1,
                                     toml_type_name(el.type())));
    }
  }
}

void Loader::read_workloads(const Scope& top) {
  const auto* node = get(top, "workload", KeyType::table_or_array);
  if (!node) return;
  if (const auto* t = node->as_table()) {
    read_workload(*t, "[workload]");
  } else {
    const auto& arr = *node->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      read_workload(*arr[i].as_table(), arr.size() == 1 ? std::string("[[workload]]")
                                                        : fmt::format("[[workload]] #{}", i + 1));
    }
  }
  // Names are unique, and with several workloads each key gets its workload's name in front.
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < plan_.workloads.size(); ++i) {
    WorkloadSpec& w = plan_.workloads[i];
    if (w.name.empty()) continue;
    auto [it, inserted] = seen.emplace(w.name, i);
    if (!inserted) {
      error(workload_where_[i],
            fmt::format("{} is named '{}' like {}: give each workload its own 'name'",
                        workload_scope_[i], w.name, workload_scope_[it->second]));
    }
    if (plan_.workloads.size() > 1) w.key_prefix = w.name + ":";
  }
}

void Loader::read_workload(const toml::table& t, std::string name) {
  Scope owned{&t, find_table("workload"), std::move(name)};
  check_keys(owned);
  const Scope* scope = &owned;
  const std::string& in = owned.name;
  WorkloadSpec w;
  workload_where_.push_back(t.source());
  target_where_.emplace_back();
  workload_scope_.push_back(owned.name);
  w.where = {file_, t.source().begin.line, t.source().begin.column};

  static constexpr std::pair<std::string_view, std::string_view> kKinds[] = {
      {"register", "register"}, {"set", "set"},     {"counter", "counter"},
      {"kv-mix", "kv-mix"},     {"queue", "queue"}, {"log", "log"},
  };
  static constexpr std::pair<std::string_view, LoadMode> kModes[] = {
      {"open", LoadMode::open},
      {"closed", LoadMode::closed},
  };
  static constexpr std::pair<std::string_view, Balance> kBalances[] = {
      {"first", Balance::first},
      {"round-robin", Balance::round_robin},
  };
  static constexpr std::pair<std::string_view, KeyDistribution> kDistributions[] = {
      {"uniform", KeyDistribution::uniform},
      {"zipfian", KeyDistribution::zipfian},
      {"latest", KeyDistribution::latest},
      {"hotspot", KeyDistribution::hotspot},
      {"sequential", KeyDistribution::sequential},
  };
  const auto kind = get_enum(*scope, "kind", kKinds);
  if (kind) {
    w.kind = std::string(*kind);
  } else if (!t.contains("kind")) {
    error(t.source(), fmt::format("missing required key 'kind' in {}", in));
  }
  if (auto n = get_string(*scope, "name")) {
    if (valid_id(*n)) {
      w.name = *n;
    } else {
      error(t.get("name")->source(),
            fmt::format("'name' in {} must match [a-z0-9_-]+, got \"{}\"", in, *n));
    }
  } else if (!t.contains("name")) {
    w.name = w.kind;
  }
  if (auto b = get_enum(*scope, "balance", kBalances)) w.balance = *b;
  const auto mode = get_enum(*scope, "mode", kModes);
  if (mode) w.mode = *mode;
  const bool mode_ok = mode || !t.contains("mode");
  const auto distribution = get_enum(*scope, "distribution", kDistributions);
  if (distribution) w.distribution = *distribution;
  const bool distribution_ok = distribution || !t.contains("distribution");

  // A key that only one setting of another key reads is almost always a mistake in that other
  // key; say so rather than ignore it. Skipped when the other key is itself wrong.
  auto applies_only = [&](std::string_view key, bool other_ok, bool applies,
                          std::string_view condition) {
    if (!t.contains(key) || !other_ok || applies) return true;
    error(t.get(key)->source(),
          fmt::format("'{}' in {} applies only to {}", key, in, condition));
    return false;
  };

  if (auto v = get_number(*scope, "rate", 0, true, kNoMax)) {
    if (applies_only("rate", mode_ok, w.mode == LoadMode::open, "mode = \"open\"")) w.rate = *v;
  }
  if (auto v = get_int(*scope, "concurrency", 1, kMaxCount)) w.concurrency = static_cast<int>(*v);
  if (auto v = get_int(*scope, "connections", 0, kMaxCount)) w.connections = static_cast<int>(*v);
  if (auto v = get_int(*scope, "pipeline", 1, kMaxCount)) w.pipeline = static_cast<int>(*v);
  if (auto v = get_int(*scope, "keys", 1, kMaxCount)) w.keys = static_cast<int>(*v);
  if (auto v = get_number(*scope, "skew", 0, true, kNoMax)) {
    if (applies_only("skew", distribution_ok, w.distribution == KeyDistribution::zipfian,
                     "distribution = \"zipfian\"")) {
      w.skew = *v;
    }
  }
  for (std::string_view key : {"hot_keys", "hot_ops"}) {
    if (auto v = get_number(*scope, key, 0, true, 1)) {
      if (applies_only(key, distribution_ok, w.distribution == KeyDistribution::hotspot,
                       "distribution = \"hotspot\"")) {
        (key == "hot_keys" ? w.hot_keys : w.hot_ops) = *v;
      }
    }
  }
  read_mix(*scope, w, kind.has_value());
  if (auto d = get_duration(*scope, "timeout", true)) w.timeout = *d;
  if (auto d = get_duration(*scope, "warmup", false)) w.warmup = *d;
  if (auto b = get_bool(*scope, "final_reads")) w.final_reads = *b;
  if (auto v = get_size(*scope, "value_size")) {
    const auto& where = t.get("value_size")->source();
    if (*v == 0 || *v > kMaxValueSize) {
      error(where, fmt::format("'value_size' in {} must be between 1 byte and 512MiB, got "
                               "{} bytes",
                               in, *v));
    } else if (applies_only("value_size", kind.has_value(), w.kind == "kv-mix" || w.kind == "queue",
                            "kind = \"kv-mix\" or \"queue\"")) {
      w.value_size = *v;
    }
  }

  if (const auto* targets = get(*scope, "targets", KeyType::string_array)) {
    const auto& arr = *targets->as_array();
    if (arr.empty()) {
      error(targets->source(),
            fmt::format("'targets' in {} must not be empty (leave it out for the default targets)",
                        in));
    }
    // The strings among the elements are still checked against the node ids (check_targets).
    for (size_t i = 0; i < arr.size(); ++i) {
      if (const auto* id = arr[i].as_string()) {
        w.targets.push_back(id->get());
        target_where_.back().push_back(arr[i].source());
      } else {
        error(arr[i].source(), fmt::format("'targets' in {} must be an array of strings, "
                                           "element {} is {}",
                                           in, i + 1, toml_type_name(arr[i].type())));
      }
    }
  }
  plan_.workloads.push_back(std::move(w));
}

void Loader::read_mix(const Scope& scope, WorkloadSpec& w, bool kind_ok) {
  const auto* node = get(scope, "mix", KeyType::number_map);
  if (!node) return;
  const auto ops = workload_operations(w.kind);
  std::map<std::string, double> mix;
  bool ok = true;
  for (auto&& [name, value] : *node->as_table()) {
    const std::string_view op = name.str();
    if (kind_ok && std::find(ops.begin(), ops.end(), op) == ops.end()) {
      std::string message = fmt::format(
          "'mix' in {}: unknown operation '{}' for kind "
          "\"{}\"",
          scope.name, op, w.kind);
      if (auto near = closest_match(op, ops)) {
        message += fmt::format(" (did you mean '{}'?)", *near);
      } else {
        message += fmt::format(" (its operations: {})", join(ops));
      }
      error(name.source(), std::move(message));
      ok = false;
      continue;
    }
    const std::string what = fmt::format("'mix.{}'", op);
    if (!value.is_number()) {
      error(value.source(), fmt::format("{} in {} must be a number, got {}", what,
                                        scope.name, toml_type_name(value.type())));
      ok = false;
    } else if (!number_in_range(value, what, scope, 0, false, kNoMax)) {
      ok = false;
    } else {
      mix.emplace(std::string(op), *number_of(value));
    }
  }
  if (!ok) return;
  if (!mix.empty() && std::all_of(mix.begin(), mix.end(), [](auto& e) { return e.second == 0; })) {
    error(node->source(),
          fmt::format("'mix' in {} must give some operation a weight greater than 0", scope.name));
    return;
  }
  w.mix = std::move(mix);
}

void Loader::read_check(const toml::table& table, size_t index, size_t count, bool have_workload) {
  Scope scope{&table, find_table("check"),
              count == 1 ? std::string("[[check]]") : fmt::format("[[check]] #{}", index + 1)};
  check_keys(scope);
  CheckSpec c;
  c.where = {file_, table.source().begin.line, table.source().begin.column};
  static constexpr std::pair<std::string_view, std::string_view> kKinds[] = {
      {"linearizable", "linearizable"}, {"set-full", "set-full"},         {"counter", "counter"},
      {"total-queue", "total-queue"},   {"availability", "availability"}, {"failover", "failover"},
      {"perf", "perf"},
      {"log", "log"},
      {"staleness", "staleness"},
      {"convergence", "convergence"},
      {"stat", "stat"},
  };
  static constexpr std::pair<std::string_view, std::string_view> kModels[] = {
      {"register", "register"},
      {"cas-register", "cas-register"},
      {"kv", "kv"},
      {"kv-append", "kv-append"},
      {"set", "set"},
      {"fifo-queue", "fifo-queue"},
  };
  const auto kind = get_enum(scope, "kind", kKinds);
  if (kind) {
    c.kind = std::string(*kind);
  } else if (!table.contains("kind")) {
    error(table.source(), fmt::format("missing required key 'kind' in {}", scope.name));
  }
  if (!have_workload) {
    error(table.source(),
          fmt::format("{} needs a [workload] to check, and the plan has none", scope.name));
  }
  // The workload whose operations it judges: the one named, else the plan's only one. Several
  // and none named: availability, perf and failover judge every operation; the others must
  // name one.
  const WorkloadSpec* scoped = plan_.workloads.size() == 1 ? &plan_.workloads.front() : nullptr;
  if (auto name = get_string(scope, "workload")) {
    scoped = plan_.find_workload(*name);
    if (scoped) {
      c.workload = *name;
    } else if (have_workload) {
      std::vector<std::string_view> names;
      for (const auto& w : plan_.workloads) names.push_back(w.name);
      error(table.get("workload")->source(),
            fmt::format("'workload' in {} names no workload '{}'{}", scope.name, *name,
                        hint_for(*name, names)));
    }
  } else if (kind && plan_.workloads.size() > 1 && c.kind != "availability" &&
             c.kind != "perf" && c.kind != "failover" && c.kind != "convergence" &&
             c.kind != "stat") {
    std::string names;
    for (const auto& w : plan_.workloads) {
      if (!w.name.empty()) names += (names.empty() ? "" : ", ") + w.name;
    }
    error(table.source(),
          fmt::format("{} (kind = \"{}\") must name the workload it checks with 'workload': the "
                      "plan has several ({})",
                      scope.name, c.kind, names));
  }
  if (auto model = get_enum(scope, "model", kModels)) {
    if (kind && c.kind != "linearizable") {
      error(table.get("model")->source(),
            fmt::format("'model' in {} applies only to kind = \"linearizable\"", scope.name));
    } else {
      c.model = std::string(*model);
    }
  } else if (kind && c.kind == "linearizable" && !table.contains("model") && scoped &&
             !scoped->kind.empty()) {
    c.model = std::string(default_model(scoped->kind));
    if (c.model.empty()) {
      error(table.source(),
            fmt::format("{} has kind = \"linearizable\" but no 'model' (required: a \"{}\" "
                        "workload has no default model)",
                        scope.name, scoped->kind));
    }
  }
  if (auto d = get_duration(scope, "time_budget", true)) c.time_budget = *d;
  if (auto v = get_size(scope, "memory_budget")) {
    if (*v == 0) {
      error(table.get("memory_budget")->source(),
            fmt::format("'memory_budget' in {} must be greater than 0", scope.name));
    } else {
      c.memory_budget = *v;
    }
  }
  if (auto v = get_number(scope, "min_ok_ratio", 0, false, 1)) {
    if (kind && c.kind != "availability") {
      error(
          table.get("min_ok_ratio")->source(),
          fmt::format("'min_ok_ratio' in {} applies only to kind = \"availability\"", scope.name));
    } else {
      c.min_ok_ratio = *v;
    }
  }
  if (auto d = get_duration(scope, "max_failover", true)) {
    if (kind && c.kind != "failover") {
      error(table.get("max_failover")->source(),
            fmt::format("'max_failover' in {} applies only to kind = \"failover\"", scope.name));
    } else {
      c.max_failover = *d;
    }
  }
  // The keys of one kind only: a key given to another kind is a mistake in one of the two.
  auto only_for = [&](std::string_view key, std::string_view for_kind) {
    if (!kind || c.kind == for_kind) return true;
    error(table.get(key)->source(), fmt::format("'{}' in {} applies only to kind = \"{}\"", key,
                                                scope.name, for_kind));
    return false;
  };
  if (auto v = get_number(scope, "max_stale_ratio", 0, false, 1)) {
    if (only_for("max_stale_ratio", "staleness")) c.max_stale_ratio = *v;
  }
  if (auto d = get_duration(scope, "max_staleness", false)) {
    if (only_for("max_staleness", "staleness")) c.max_staleness = *d;
  }
  if (auto d = get_duration(scope, "quiet", false)) {
    if (only_for("quiet", "convergence")) c.quiet = *d;
  }
  if (auto d = get_duration(scope, "deadline", true)) {
    if (only_for("deadline", "convergence")) c.deadline = *d;
  }
  static constexpr std::pair<std::string_view, std::string_view> kAggregates[] = {
      {"sum", "sum"}, {"mean", "mean"}, {"min", "min"}, {"max", "max"}};
  if (auto a = get_enum(scope, "aggregate", kAggregates)) {
    if (only_for("aggregate", "stat")) c.aggregate = std::string(*a);
  }
  if (auto g = get_string(scope, "group")) {
    if (only_for("group", "stat")) {
      // Any node group whose nodes answer INFO: the reference ones, or a [[node]] such as a
      // redis-server.
      std::vector<std::string_view> groups;
      for (const auto& n : nodes_) {
        if (n.has_id) groups.push_back(n.spec.id);
      }
      if (std::find(groups.begin(), groups.end(), *g) != groups.end()) {
        c.group = *g;
      } else {
        std::string message =
            fmt::format("'group' in {} names no node group '{}'", scope.name, *g);
        if (groups.empty()) {
          message += " (the plan runs no nodes)";
        } else if (auto near = closest_match(*g, groups)) {
          message += fmt::format(" (did you mean '{}'?)", *near);
        } else {
          message += fmt::format(" (the plan's: {})", join(groups));
        }
        error(table.get("group")->source(), std::move(message));
      }
    }
  }
  if (auto st = get_string(scope, "stat")) {
    if (st->empty()) {
      error(table.get("stat")->source(), fmt::format("'stat' in {} must not be empty", scope.name));
    } else if (only_for("stat", "stat")) {
      c.stat = *st;
    }
  }
  for (std::string_view key : {"min", "max"}) {
    if (auto v = get_number(scope, key, -kNoMax, false, kNoMax)) {
      if (only_for(key, "stat")) (key == "min" ? c.min : c.max) = *v;
    }
  }
  if (c.min && c.max && *c.min > *c.max) {
    error(table.get("min")->source(), fmt::format("'min' ({}) in {} must not exceed 'max' ({})",
                                                  *c.min, scope.name, *c.max));
  }
  if (kind && c.kind == "stat") {
    for (std::string_view key : {"group", "stat"}) {
      if (!table.contains(key)) {
        error(table.source(), fmt::format("missing required key '{}' in {} (kind = \"stat\")",
                                          key, scope.name));
      }
    }
    if (!table.contains("min") && !table.contains("max")) {
      error(table.source(), fmt::format("{} (kind = \"stat\") needs a bound: 'min', 'max' or "
                                        "both",
                                        scope.name));
    }
  }
  // The workload kinds each new checker reads.
  if (kind && scoped && !scoped->kind.empty()) {
    if (c.kind == "log" && scoped->kind != "log") {
      error(table.source(), fmt::format("{} (kind = \"log\") checks a log workload, and workload "
                                        "'{}' is kind \"{}\"",
                                        scope.name, scoped->name, scoped->kind));
    } else if (c.kind == "staleness" && scoped->kind != "register" && scoped->kind != "kv-mix") {
      error(table.source(), fmt::format("{} (kind = \"staleness\") judges the reads of a "
                                        "register or kv-mix workload, and workload '{}' is kind "
                                        "\"{}\"",
                                        scope.name, scoped->name, scoped->kind));
    }
  }
  if (kind && c.kind == "convergence" && !plan_.cluster.db.enabled) {
    error(table.source(), fmt::format("{} (kind = \"convergence\") compares the reference db's "
                                      "replicas and caches, and the plan has no [cluster.db]",
                                      scope.name));
  }
  plan_.checks.push_back(std::move(c));
}

// A signed duration: "-2s", "+1.5s" or "250ms" ([[fault]] offset).
result<Duration> parse_signed_duration(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  auto d = parse_duration(text);
  if (!d) return d;
  return negative ? -*d : *d;
}

std::optional<Selector> Loader::read_selector(const Scope& scope, std::string_view key,
                                              toml::source_region& where) {
  auto text = get_string(scope, key);
  if (!text) return std::nullopt;
  where = scope.table->get(key)->source();
  auto sel = parse_selector(*text);
  if (!sel) {
    error(where, fmt::format("'{}'{}: {}", key, scope.in(), sel.error().message));
    return std::nullopt;
  }
  return std::move(*sel);
}

// When a fault fires: `at` (one time or a list), `every` (+ jitter, start, stop) or `rate`
// (Poisson, + start, stop). In a clock fault `rate` is the clock's rate, read elsewhere.
void Loader::read_fault_timing(const Scope& scope, FaultSpec& f, bool clock) {
  const toml::table& table = *scope.table;
  const bool has_at = table.contains("at");
  const bool has_every = table.contains("every");
  const bool has_rate = table.contains("rate") && !clock;
  const int kinds = int(has_at) + int(has_every) + int(has_rate);
  if (kinds == 0) {
    error(table.source(),
          fmt::format("missing required key 'at' in {} (or 'every' for a period, or 'rate' for "
                      "random times{})",
                      scope.name, clock ? "; in a clock fault 'rate' is the clock's rate" : ""));
    return;
  }
  if (kinds > 1) {
    std::vector<std::string_view> given;
    for (auto [k, on] : {std::pair{"at", has_at}, {"every", has_every}, {"rate", has_rate}}) {
      if (on) given.push_back(k);
    }
    error(table.get(given[1])->source(),
          fmt::format("'{}' and '{}' in {} both say when the fault fires; keep one", given[0],
                      given[1], scope.name));
    return;
  }
  const Duration main = plan_.duration;
  if (has_at) {
    f.timing = FaultSpec::Timing::at;
    const auto* node = get(scope, "at", KeyType::duration_list);
    if (!node) return;
    std::vector<const toml::node*> items;
    if (const auto* arr = node->as_array()) {
      if (arr->empty()) {
        error(node->source(), fmt::format("'at' in {} must list at least one time", scope.name));
        return;
      }
      for (const auto& e : *arr) items.push_back(&e);
    } else {
      items.push_back(node);
    }
    for (const auto* item : items) {
      if (!item->is_string()) {
        error(item->source(), fmt::format("'at' in {} must be a duration string like \"5s\" or "
                                          "an array of them, got {}",
                                          scope.name, toml_type_name(item->type())));
        continue;
      }
      auto d = parse_duration(item->as_string()->get());
      if (!d) {
        error(item->source(), fmt::format("'at' in {}: {}", scope.name, d.error().message));
        continue;
      }
      if (*d >= main) {
        error(item->source(),
              fmt::format("'at' ({}) in {} must be less than the plan's duration ({})",
                          format_duration(*d), scope.name, format_duration(main)));
        continue;
      }
      f.times.push_back(*d);
    }
    if (!f.times.empty()) f.at = f.times.front();
    for (auto key : {"start", "stop"}) {
      if (table.contains(key)) {
        error(table.get(key)->source(),
              fmt::format("'{}' in {} bounds 'every' or 'rate'; with 'at' the times are listed",
                          key, scope.name));
      }
    }
  } else {
    if (has_every) {
      f.timing = FaultSpec::Timing::every;
      if (auto d = get_duration(scope, "every", true)) f.every = *d;
    } else {
      f.timing = FaultSpec::Timing::poisson;
      if (auto r = get_number(scope, "rate", 0, true, 100)) f.rate = *r;
    }
    if (auto d = get_duration(scope, "start", false)) f.start = *d;
    if (auto d = get_duration(scope, "stop", true)) f.stop = *d;
    f.at = f.start;
    const Duration stop = f.stop.value_or(main);
    if (f.stop && *f.stop > main) {
      error(table.get("stop")->source(),
            fmt::format("'stop' ({}) in {} must be at most the plan's duration ({})",
                        format_duration(*f.stop), scope.name, format_duration(main)));
    } else if (f.start >= stop) {
      error(table.get("start")->source(),
            fmt::format("'start' ({}) in {} must be less than {} ({})", format_duration(f.start),
                        scope.name, f.stop ? "'stop'" : "the plan's duration",
                        format_duration(stop)));
    }
  }
}

void Loader::read_toxic(const toml::table& table, std::string name, std::string_view parent_path,
                        std::vector<Toxic>& out) {
  const std::string path = std::string(parent_path) + ".toxics";
  Scope scope{&table, find_table(path), std::move(name)};
  assert(scope.spec);
  check_keys(scope);
  static constexpr std::pair<std::string_view, Toxic::Kind> kKinds[] = {
      {"latency", Toxic::Kind::latency},       {"bandwidth", Toxic::Kind::bandwidth},
      {"loss", Toxic::Kind::loss},             {"reset", Toxic::Kind::reset},
      {"stall", Toxic::Kind::stall},           {"slow-close", Toxic::Kind::slow_close},
      {"blackhole", Toxic::Kind::blackhole},   {"refuse", Toxic::Kind::refuse},
  };
  static constexpr std::pair<std::string_view, Toxic::Distribution> kDists[] = {
      {"uniform", Toxic::Distribution::uniform},
      {"normal", Toxic::Distribution::normal},
      {"pareto", Toxic::Distribution::pareto},
  };
  Toxic t;
  t.where = {file_, table.source().begin.line, table.source().begin.column};
  auto kind = get_enum(scope, "kind", kKinds);
  if (!kind) {
    if (!table.contains("kind")) {
      error(table.source(), fmt::format("missing required key 'kind' in {}", scope.name));
    }
    return;
  }
  t.kind = *kind;
  // The keys each kind reads; any other (besides kind and toxicity) is a mistake.
  std::vector<std::string_view> used;
  switch (t.kind) {
    case Toxic::Kind::latency: used = {"latency", "jitter", "distribution"}; break;
    case Toxic::Kind::bandwidth: used = {"bandwidth"}; break;
    case Toxic::Kind::loss: used = {"loss", "loss_burst"}; break;
    case Toxic::Kind::reset:
    case Toxic::Kind::stall:
    case Toxic::Kind::slow_close: used = {"after"}; break;
    case Toxic::Kind::blackhole:
    case Toxic::Kind::refuse: break;
  }
  for (auto&& [key, value] : table) {
    const std::string_view k = key.str();
    if (k == "kind" || k == "toxicity" || !find_key(*scope.spec, k)) continue;
    if (std::find(used.begin(), used.end(), k) == used.end()) {
      error(key.source(), fmt::format("'{}' in {} does not apply to kind = \"{}\"", k, scope.name,
                                      to_string(t.kind)));
    }
  }
  if (auto d = get_duration(scope, "latency", false)) t.latency = *d;
  if (auto d = get_duration(scope, "jitter", false)) t.jitter = *d;
  if (auto d = get_enum(scope, "distribution", kDists)) t.distribution = *d;
  if (auto b = get_size(scope, "bandwidth")) t.bytes_per_second = *b;
  if (auto p = get_number(scope, "loss", 0, false, 1)) t.probability = *p;
  if (auto b = get_number(scope, "loss_burst", 1, false, 1e6)) t.burst = *b;
  if (auto d = get_duration(scope, "after", false)) t.after = *d;
  if (auto p = get_number(scope, "toxicity", 0, false, 1)) t.toxicity = *p;
  const auto need = [&](std::string_view key) {
    if (!table.contains(key)) {
      error(table.source(), fmt::format("missing required key '{}' in {} (kind = \"{}\")", key,
                                        scope.name, to_string(t.kind)));
    }
  };
  if (t.kind == Toxic::Kind::latency) need("latency");
  if (t.kind == Toxic::Kind::bandwidth) need("bandwidth");
  if (t.kind == Toxic::Kind::loss) need("loss");
  out.push_back(t);
}

// The toxics of a link fault or rule: `toxics = [...]` and the shorthand keys (latency, jitter,
// distribution -> one latency toxic; bandwidth; loss, loss_burst -> one loss toxic).
void Loader::read_link_toxics(const Scope& scope, std::vector<Toxic>& out,
                              bool jitter_is_latency) {
  const toml::table& table = *scope.table;
  const auto here = [&] {
    return Location{file_, table.source().begin.line, table.source().begin.column};
  };
  static constexpr std::pair<std::string_view, Toxic::Distribution> kDists[] = {
      {"uniform", Toxic::Distribution::uniform},
      {"normal", Toxic::Distribution::normal},
      {"pareto", Toxic::Distribution::pareto},
  };
  if (table.contains("latency")) {
    Toxic t;
    t.kind = Toxic::Kind::latency;
    if (auto d = get_duration(scope, "latency", false)) t.latency = *d;
    if (jitter_is_latency) {
      if (auto d = get_duration(scope, "jitter", false)) t.jitter = *d;
    }
    if (auto d = get_enum(scope, "distribution", kDists)) t.distribution = *d;
    t.where = here();
    t.where.line = table.get("latency")->source().begin.line;
    t.where.column = table.get("latency")->source().begin.column;
    out.push_back(t);
  } else {
    for (auto key : {"distribution", "jitter"}) {
      if (!table.contains(key) || (std::string_view(key) == "jitter" && !jitter_is_latency)) {
        continue;
      }
      error(table.get(key)->source(),
            fmt::format("'{}' in {} shapes a latency: add 'latency'", key, scope.name));
    }
  }
  if (table.contains("bandwidth")) {
    Toxic t;
    t.kind = Toxic::Kind::bandwidth;
    if (auto b = get_size(scope, "bandwidth")) {
      if (*b == 0) {
        error(table.get("bandwidth")->source(),
              fmt::format("'bandwidth' in {} must be greater than 0 bytes per second", scope.name));
      }
      t.bytes_per_second = *b;
    }
    const auto& w = table.get("bandwidth")->source();
    t.where = {file_, w.begin.line, w.begin.column};
    out.push_back(t);
  }
  if (table.contains("loss")) {
    Toxic t;
    t.kind = Toxic::Kind::loss;
    if (auto p = get_number(scope, "loss", 0, false, 1)) t.probability = *p;
    if (auto b = get_number(scope, "loss_burst", 1, false, 1e6)) t.burst = *b;
    const auto& w = table.get("loss")->source();
    t.where = {file_, w.begin.line, w.begin.column};
    out.push_back(t);
  } else if (table.contains("loss_burst")) {
    error(table.get("loss_burst")->source(),
          fmt::format("'loss_burst' in {} shapes a loss: add 'loss'", scope.name));
  }
  if (const auto* toxics = get(scope, "toxics", KeyType::table_array)) {
    const auto& arr = *toxics->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      read_toxic(*arr[i].as_table(),
                 fmt::format("toxics entry #{}{}", i + 1, scope.in()), scope.spec->path, out);
    }
  }
}

void Loader::read_fault(const toml::table& table, size_t index, size_t count) {
  Scope scope{&table, find_table("fault"),
              count == 1 ? std::string("[[fault]]") : fmt::format("[[fault]] #{}", index + 1)};
  check_keys(scope);
  FaultSpec f;
  FaultSource src;
  src.name = scope.name;
  src.table = table.source();
  f.where = {file_, table.source().begin.line, table.source().begin.column};
  static constexpr std::pair<std::string_view, FaultAction> kActions[] = {
      {"kill", FaultAction::kill},
      {"terminate", FaultAction::terminate},
      {"pause", FaultAction::pause},
      {"restart", FaultAction::restart},
      {"restart-wiped", FaultAction::restart_wiped},
      {"partition", FaultAction::partition},
      {"link", FaultAction::link},
      {"clock", FaultAction::clock},
  };
  static constexpr std::pair<std::string_view, PartitionShape> kShapes[] = {
      {"isolate", PartitionShape::isolate},
      {"halves", PartitionShape::halves},
      {"random-halves", PartitionShape::random_halves},
      {"bridge", PartitionShape::bridge},
      {"majorities-ring", PartitionShape::majorities_ring},
      {"primaries", PartitionShape::primaries},
      {"groups", PartitionShape::groups},
      {"one-way", PartitionShape::one_way},
  };
  static constexpr std::pair<std::string_view, CutMode> kModes[] = {
      {"drop", CutMode::drop},
      {"reject", CutMode::reject},
  };
  static constexpr std::pair<std::string_view, Direction> kDirections[] = {
      {"both", Direction::both},
      {"up", Direction::up},
      {"down", Direction::down},
  };
  static constexpr std::pair<std::string_view, SelectMode> kSelect[] = {
      {"all", SelectMode::all},           {"one", SelectMode::one},
      {"minority", SelectMode::minority}, {"majority", SelectMode::majority},
      {"percent", SelectMode::percent},
  };
  auto missing = [&](std::string_view key, std::string_view why = {}) {
    if (!table.contains(key)) {
      error(table.source(),
            fmt::format("missing required key '{}' in {}{}", key, scope.name, why));
    }
  };
  const auto action = get_enum(scope, "action", kActions);
  if (action) {
    f.action = *action;
  } else {
    missing("action");
  }
  const bool clock = action == FaultAction::clock;
  const bool partition = action == FaultAction::partition;
  const bool link = action == FaultAction::link;
  read_fault_timing(scope, f, clock);
  if (table.contains("at")) src.at = table.get("at")->source();

  // Keys that belong to one action only.
  if (action) {
    const auto only = [&](std::string_view key, bool ok, std::string_view actions) {
      if (!ok && table.contains(key)) {
        error(table.get(key)->source(),
              fmt::format("'{}' in {} applies only to action = {}", key, scope.name, actions));
      }
    };
    for (auto key : {"shape", "groups", "mode"}) only(key, partition, "\"partition\"");
    only("to", partition || link, "\"partition\" (shape = \"one-way\") or \"link\"");
    for (auto key : {"direction", "toxics", "latency", "distribution", "bandwidth", "loss",
                     "loss_burst"}) {
      only(key, link, "\"link\"");
    }
    only("offset", clock, "\"clock\"");
    only("jitter", link || table.contains("every"),
         "\"link\" (a latency's jitter), or with 'every'");
  }

  if (auto sel = read_selector(scope, "target", src.target)) {
    f.target = std::move(*sel);
    src.target_ok = true;
  }
  if (auto mode = get_enum(scope, "select", kSelect)) f.select = *mode;
  if (auto p = get_number(scope, "percent", 0, true, 100)) {
    f.percent = *p;
    if (f.select != SelectMode::percent) {
      error(table.get("percent")->source(),
            fmt::format("'percent' in {} needs select = \"percent\"", scope.name));
    }
  } else if (f.select == SelectMode::percent && !table.contains("percent")) {
    missing("percent", " (select = \"percent\")");
  }

  if (f.timing == FaultSpec::Timing::every) {
    if (auto d = get_duration(scope, "jitter", false)) {
      f.jitter = *d;
      if (f.every.count() > 0 && 2 * *d >= f.every) {
        error(table.get("jitter")->source(),
              fmt::format("'jitter' ({}) in {} must be less than half of 'every' ({})",
                          format_duration(*d), scope.name, format_duration(f.every)));
      }
    }
  }
  if (auto d = get_duration(scope, "duration", true)) {
    if (action && (*action == FaultAction::restart || *action == FaultAction::restart_wiped)) {
      error(table.get("duration")->source(),
            fmt::format("'duration' in {} applies only to action = \"kill\", \"terminate\", "
                        "\"pause\", \"partition\", \"link\" or \"clock\" (a restart is over once "
                        "the node is ready again)",
                        scope.name));
    } else {
      f.duration = *d;
      // A periodic fault heals before it fires again.
      if (f.timing == FaultSpec::Timing::every && f.every.count() > 0 &&
          *d + 2 * f.jitter >= f.every) {
        error(table.get("duration")->source(),
              fmt::format("'duration' ({}) in {} must be shorter than 'every' ({}) minus twice "
                          "'jitter' ({}), so each injection heals before the next",
                          format_duration(*d), scope.name, format_duration(f.every),
                          format_duration(f.jitter)));
      }
    }
  }

  if (partition) {
    const auto shape = get_enum(scope, "shape", kShapes);
    if (shape) {
      f.shape = *shape;
    } else {
      missing("shape");
    }
    if (auto mode = get_enum(scope, "mode", kModes)) f.mode = *mode;
    const bool shape_ok = shape.has_value();
    if (const auto* groups = get(scope, "groups", KeyType::string_groups)) {
      if (shape_ok && f.shape != PartitionShape::groups) {
        error(groups->source(),
              fmt::format("'groups' in {} applies only to shape = \"groups\"", scope.name));
      }
      const auto& arr = *groups->as_array();
      if (arr.size() < 2) {
        error(groups->source(),
              fmt::format("'groups' in {} must list at least two groups", scope.name));
      }
      for (const auto& g : arr) {
        std::vector<Selector> group;
        std::vector<toml::source_region> where;
        for (const auto& e : *g.as_array()) {
          if (!e.is_string()) {
            error(e.source(), fmt::format("'groups' in {} must hold node ids, got {}",
                                          scope.name, toml_type_name(e.type())));
            continue;
          }
          auto sel = parse_selector(e.as_string()->get());
          if (!sel) {
            error(e.source(), fmt::format("'groups' in {}: {}", scope.name, sel.error().message));
            continue;
          }
          group.push_back(std::move(*sel));
          where.push_back(e.source());
        }
        if (g.as_array()->empty()) {
          error(g.source(), fmt::format("a group in 'groups' in {} is empty", scope.name));
        }
        f.groups.push_back(std::move(group));
        src.groups.push_back(std::move(where));
      }
    } else if (shape_ok && f.shape == PartitionShape::groups) {
      missing("groups", " (shape = \"groups\")");
    }
    if (shape_ok) {
      const bool one_way = f.shape == PartitionShape::one_way;
      if (one_way || f.shape == PartitionShape::isolate) {
        missing("target", one_way ? " (shape = \"one-way\": the side that cannot reach 'to')"
                                  : " (shape = \"isolate\": the node(s) cut off)");
      }
      if (one_way) {
        missing("to", " (shape = \"one-way\": what 'target' cannot reach)");
      } else if (table.contains("to")) {
        error(table.get("to")->source(),
              fmt::format("'to' in {} applies only to shape = \"one-way\"", scope.name));
      }
      if (f.shape == PartitionShape::groups) {
        for (auto key : {"target", "select"}) {
          if (table.contains(key)) {
            error(table.get(key)->source(),
                  fmt::format("'{}' in {} does not apply to shape = \"groups\" (the groups name "
                              "the nodes)",
                              key, scope.name));
          }
        }
      }
    }
  } else if (action && action != FaultAction::link) {
    missing("target");
  }
  if (link) {
    missing("target", " (action = \"link\": the links' connecting side)");
    if (auto d = get_enum(scope, "direction", kDirections)) f.direction = *d;
    read_link_toxics(scope, f.toxics, f.timing != FaultSpec::Timing::every);
    if (f.timing == FaultSpec::Timing::every && table.contains("latency") &&
        table.contains("jitter")) {
      error(table.get("jitter")->source(),
            fmt::format("'jitter' in {} moves each firing of 'every' here; a latency's jitter "
                        "goes in toxics = [{{ kind = \"latency\", latency = ..., jitter = ... }}]",
                        scope.name));
    }
    if (f.toxics.empty() && !table.contains("toxics")) {
      error(table.source(),
            fmt::format("{} (action = \"link\") needs a toxic: 'latency', 'bandwidth', 'loss' or "
                        "'toxics'",
                        scope.name));
    }
    for (const auto& t : f.toxics) {
      src.toxics.push_back(toml::source_region{{t.where.line, t.where.column},
                                               {t.where.line, t.where.column}, nullptr});
    }
  }
  if ((partition && table.contains("to")) || link) {
    if (auto sel = read_selector(scope, "to", src.to)) {
      f.to = std::move(*sel);
      src.to_ok = true;
    }
  }
  if (clock) {
    if (auto text = get_string(scope, "offset")) {
      auto d = parse_signed_duration(*text);
      if (!d) {
        error(table.get("offset")->source(),
              fmt::format("'offset' in {}: {}", scope.name, d.error().message));
      } else if (std::chrono::abs(*d) > std::chrono::hours(24 * 365 * 10)) {
        // The reference nodes' CLOCK SET bounds (nodes/common/clock.h).
        error(table.get("offset")->source(),
              fmt::format("'offset' in {}: at most 10 years either way", scope.name));
      } else {
        f.clock_offset = *d;
      }
    }
    if (auto r = get_number(scope, "rate", 0.001, false, 1000)) f.clock_rate = *r;
    if (!table.contains("offset") && !table.contains("rate")) {
      error(table.source(), fmt::format("{} (action = \"clock\") needs 'offset' (\"-2s\"), "
                                        "'rate' (the clock's speed, 1 = real time) or both",
                                        scope.name));
    }
  }
  plan_.faults.push_back(std::move(f));
  fault_src_.push_back(std::move(src));
}

void Loader::read_network(const Scope& top) {
  auto scope = sub_table(top, "network", "[network]");
  if (!scope) return;
  const toml::table& table = *scope->table;
  NetworkSpec& net = plan_.network;
  net.where = {file_, table.source().begin.line, table.source().begin.column};
  static constexpr std::pair<std::string_view, NetworkBackend> kBackends[] = {
      {"direct", NetworkBackend::direct},
      {"proxy", NetworkBackend::proxy},
      {"netns", NetworkBackend::netns},
  };
  static constexpr std::pair<std::string_view, Direction> kDirections[] = {
      {"both", Direction::both},
      {"up", Direction::up},
      {"down", Direction::down},
  };
  if (auto b = get_enum(*scope, "backend", kBackends)) {
    net.backend = *b;
    backend_where_ = table.get("backend")->source();
    backend_given_ = true;
  }
  if (auto subnet = get_string(*scope, "subnet")) {
    static const std::regex kSlash16(R"((\d{1,3})\.(\d{1,3})\.0\.0/16)");
    std::smatch m;
    if (!std::regex_match(*subnet, m, kSlash16) || std::stoi(m[1]) > 255 ||
        std::stoi(m[2]) > 255) {
      error(table.get("subnet")->source(),
            fmt::format("'subnet' in [network] must be an IPv4 /16 like \"10.213.0.0/16\", got "
                        "\"{}\"",
                        *subnet));
    } else {
      net.subnet = *subnet;
    }
  }
  if (const auto* regions = get(*scope, "region", KeyType::table_array)) {
    const auto& arr = *regions->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      const auto& t = *arr[i].as_table();
      Scope rs{&t, find_table("network.region"),
               arr.size() == 1 ? std::string("[[network.region]]")
                               : fmt::format("[[network.region]] #{}", i + 1)};
      check_keys(rs);
      Region r;
      RegionSource rsrc;
      rsrc.name = rs.name;
      r.where = {file_, t.source().begin.line, t.source().begin.column};
      if (auto name = get_string(rs, "name")) {
        if (!valid_id(*name)) {
          error(t.get("name")->source(),
                fmt::format("'name' in {} must match [a-z0-9_-]+, got \"{}\"", rs.name, *name));
        } else if (std::any_of(net.regions.begin(), net.regions.end(),
                               [&](const Region& o) { return o.name == *name; })) {
          error(t.get("name")->source(),
                fmt::format("duplicate region name '{}' in {}", *name, rs.name));
        } else {
          r.name = *name;
        }
      } else if (!t.contains("name")) {
        error(t.source(), fmt::format("missing required key 'name' in {}", rs.name));
      }
      if (const auto* nodes = get(rs, "nodes", KeyType::string_array)) {
        for (const auto& e : *nodes->as_array()) {
          if (!e.is_string()) {
            error(e.source(), fmt::format("'nodes' in {} must hold node ids, got {}", rs.name,
                                          toml_type_name(e.type())));
            continue;
          }
          auto sel = parse_selector(e.as_string()->get());
          if (!sel) {
            error(e.source(), fmt::format("'nodes' in {}: {}", rs.name, sel.error().message));
            continue;
          }
          r.nodes.push_back(std::move(*sel));
          rsrc.nodes.push_back(e.source());
        }
        if (nodes->as_array()->empty()) {
          error(nodes->source(), fmt::format("'nodes' in {} must not be empty", rs.name));
        }
      } else if (!t.contains("nodes")) {
        error(t.source(), fmt::format("missing required key 'nodes' in {}", rs.name));
      }
      net.regions.push_back(std::move(r));
      region_src_.push_back(std::move(rsrc));
    }
  }
  if (const auto* links = get(*scope, "link", KeyType::table_array)) {
    const auto& arr = *links->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      const auto& t = *arr[i].as_table();
      Scope ls{&t, find_table("network.link"),
               arr.size() == 1 ? std::string("[[network.link]]")
                               : fmt::format("[[network.link]] #{}", i + 1)};
      check_keys(ls);
      LinkRule rule;
      LinkSource lsrc;
      lsrc.name = ls.name;
      rule.where = {file_, t.source().begin.line, t.source().begin.column};
      for (auto key : {"from", "to"}) {
        const bool from = std::string_view(key) == "from";
        auto& where = from ? lsrc.from : lsrc.to;
        if (auto sel = read_selector(ls, key, where)) {
          (from ? rule.from : rule.to) = std::move(*sel);
          (from ? lsrc.from_ok : lsrc.to_ok) = true;
        } else if (!t.contains(key)) {
          error(t.source(), fmt::format("missing required key '{}' in {}", key, ls.name));
        }
      }
      if (auto d = get_enum(ls, "direction", kDirections)) rule.direction = *d;
      read_link_toxics(ls, rule.toxics, true);
      if (rule.toxics.empty() && !t.contains("toxics")) {
        error(t.source(), fmt::format("{} needs a toxic: 'latency', 'bandwidth', 'loss' or "
                                      "'toxics'",
                                      ls.name));
      }
      for (const auto& tx : rule.toxics) {
        lsrc.toxics.push_back(toml::source_region{{tx.where.line, tx.where.column},
                                                  {tx.where.line, tx.where.column}, nullptr});
      }
      net.links.push_back(std::move(rule));
      link_src_.push_back(std::move(lsrc));
    }
  }
}

// One selector against the plan's nodes and regions: names exist, shards exist, roles exist in
// the replication mode. `roles_ok`: false where nodes are fixed for the whole run (regions, link
// rules), which have no use for a role or a random draw.
void Loader::check_selector(Selector& sel, const toml::source_region& where,
                            const std::string& in, bool roles_ok) {
  std::vector<std::string_view> known;
  for (const auto& [id, idx] : group_index_) known.push_back(id);
  for (const auto& [id, idx] : instance_owner_) known.push_back(id);
  std::sort(known.begin(), known.end());
  const DbCluster& db = plan_.cluster.db;
  if (!roles_ok && sel.random) {
    error(where, fmt::format("{}: \"{}\" draws at random, and these nodes are fixed for the "
                             "whole run",
                             in, sel.text));
    return;
  }
  switch (sel.kind) {
    case Selector::Kind::client:
      return;
    case Selector::Kind::region: {
      std::vector<std::string_view> names;
      for (const auto& r : plan_.network.regions) names.push_back(r.name);
      if (std::find(names.begin(), names.end(), sel.name) == names.end()) {
        std::string message = fmt::format("{} names unknown region '{}'", in, sel.name);
        if (names.empty()) {
          message += " (the plan has no [[network.region]])";
        } else if (auto near = closest_match(sel.name, names)) {
          message += fmt::format(" (did you mean 'region:{}'?)", *near);
        }
        error(where, std::move(message));
      }
      return;
    }
    case Selector::Kind::instance:
    case Selector::Kind::group:
      if (group_index_.count(sel.name)) {
        sel.kind = Selector::Kind::group;
      } else if (!instance_owner_.count(sel.name)) {
        error(where, fmt::format("{} names unknown node '{}'{}", in, sel.name,
                                 hint_for(sel.name, known)));
      }
      return;
    case Selector::Kind::shard:
    case Selector::Kind::master:
    case Selector::Kind::slaves:
      break;
  }
  if (!db.enabled) {
    error(where, fmt::format("{}: \"{}\" selects db nodes, and the plan has no [cluster.db]", in,
                             sel.text));
  } else if (sel.shard >= db.shards) {
    error(where, fmt::format("{}: shard {} does not exist ([cluster.db] has {} shard{}, 0 .. {})",
                             in, sel.shard, db.shards, db.shards == 1 ? "" : "s", db.shards - 1));
  } else if (sel.kind != Selector::Kind::shard && !roles_ok) {
    error(where, fmt::format("{}: \"{}\" selects by role, and roles change during a run; name "
                             "the nodes, or db:shard={}",
                             in, sel.text, sel.shard));
  } else if (sel.kind != Selector::Kind::shard && db.replication == Replication::quorum) {
    error(where, fmt::format("{}: \"{}\" selects by role, and replication = \"quorum\" has no "
                             "masters or slaves (name a node, or db:shard=0)",
                             in, sel.text));
  } else if (sel.kind == Selector::Kind::slaves && db.replicas == 1) {
    error(where, fmt::format("{}: \"{}\" can select nothing: with replicas = 1 every shard is a "
                             "lone master",
                             in, sel.text));
  }
}

// Fault selectors against the plan's nodes, and what each action can do to them.
void Loader::check_faults() {
  for (size_t i = 0; i < plan_.faults.size(); ++i) {
    const FaultSource& src = fault_src_[i];
    FaultSpec& f = plan_.faults[i];
    if (src.target_ok) {
      check_selector(f.target, src.target, fmt::format("'target' in {}", src.name), true);
      const bool process = f.action != FaultAction::partition && f.action != FaultAction::link;
      if (process && f.target.kind == Selector::Kind::client) {
        error(src.target, fmt::format("'target' in {}: action = \"{}\" acts on nodes, and "
                                      "\"client\" is the harness's own connections",
                                      src.name, to_string(f.action)));
      }
      if (f.action == FaultAction::clock) {
        // An external program takes a clock only under libfaketime. (Named by its instance or
        // group id; a region naming it is caught when the fault fires.)
        for (const NodeSource& node : nodes_) {
          const NodeSpec& n = node.spec;
          if (n.kind != "external" || n.faketime) continue;
          for (int r = 0; r < n.replicas; ++r) {
            if (f.target.name != n.id && f.target.name != instance_id(n, r)) continue;
            error(src.target,
                  fmt::format("'target' in {}: [[node]] '{}' is an external program, which takes "
                              "clock faults only under libfaketime: add faketime = true to it",
                              src.name, n.id));
            break;
          }
        }
      }
    }
    if (src.to_ok && f.to) {
      check_selector(*f.to, src.to, fmt::format("'to' in {}", src.name), true);
    }
    for (size_t g = 0; g < f.groups.size(); ++g) {
      for (size_t k = 0; k < f.groups[g].size(); ++k) {
        check_selector(f.groups[g][k], src.groups[g][k], fmt::format("'groups' in {}", src.name),
                       true);
      }
    }
    if (f.action == FaultAction::partition && f.shape == PartitionShape::primaries) {
      const DbCluster& db = plan_.cluster.db;
      if (!db.enabled || db.replication == Replication::quorum) {
        error(src.table, fmt::format("{} (shape = \"primaries\") cuts off every shard's master, "
                                     "and the plan has {}",
                                     src.name,
                                     db.enabled ? "replication = \"quorum\" (no masters)"
                                                : "no [cluster.db]"));
      }
    }
  }
}

// [network] against the faults and nodes: regions and link rules name real nodes, and the
// backend can do what the faults and rules ask.
void Loader::check_network() {
  NetworkSpec& net = plan_.network;
  for (size_t r = 0; r < net.regions.size(); ++r) {
    for (size_t k = 0; k < net.regions[r].nodes.size(); ++k) {
      check_selector(net.regions[r].nodes[k], region_src_[r].nodes[k],
                     fmt::format("'nodes' in {}", region_src_[r].name), false);
    }
  }
  for (size_t l = 0; l < net.links.size(); ++l) {
    const LinkSource& src = link_src_[l];
    if (src.from_ok) {
      check_selector(net.links[l].from, src.from, fmt::format("'from' in {}", src.name), false);
    }
    if (src.to_ok) {
      check_selector(net.links[l].to, src.to, fmt::format("'to' in {}", src.name), false);
    }
  }
  if (!net.backend) return;
  const NetworkBackend backend = *net.backend;
  const std::string said = fmt::format("[network] backend = \"{}\" (line {})", to_string(backend),
                                       backend_where_.begin.line);
  if (backend == NetworkBackend::direct) {
    for (size_t i = 0; i < plan_.faults.size(); ++i) {
      const FaultAction a = plan_.faults[i].action;
      if (a != FaultAction::partition && a != FaultAction::link) continue;
      error(fault_src_[i].table,
            fmt::format("{} (action = \"{}\") needs links the harness controls, and {} has none: "
                        "write backend = \"proxy\" (or \"netns\"), or leave backend out",
                        fault_src_[i].name, to_string(a), said));
    }
    for (size_t l = 0; l < net.links.size(); ++l) {
      error(link_src_[l].from.begin.line ? link_src_[l].from
                                         : toml::source_region{{net.links[l].where.line,
                                                                net.links[l].where.column},
                                                               {},
                                                               nullptr},
            fmt::format("{} needs links the harness controls, and {} has none: write backend = "
                        "\"proxy\", or leave backend out",
                        link_src_[l].name, said));
    }
    return;
  }
  if (backend != NetworkBackend::netns) return;
  // What nftables can do at packet level: drop everything, drop at random (loss without
  // bursts), cap a rate. Delays need tc netem, which this kernel lacks.
  auto check_toxics = [&](const std::vector<Toxic>& toxics,
                          const std::vector<toml::source_region>& where, const std::string& in) {
    for (size_t t = 0; t < toxics.size(); ++t) {
      const Toxic& x = toxics[t];
      std::string why;
      if (x.kind == Toxic::Kind::loss && x.burst != 1) {
        why = "nftables drops packets independently (loss_burst = 1)";
      } else if (x.kind != Toxic::Kind::loss && x.kind != Toxic::Kind::bandwidth) {
        why = "it does loss and bandwidth at packet level only; delays, stalls and resets need "
              "tc netem, which is not in this kernel";
      }
      if (x.toxicity != 1 && why.empty()) {
        why = "nftables rules apply to every connection (toxicity = 1)";
      }
      if (why.empty()) continue;
      error(where[t], fmt::format("toxic '{}' in {} cannot run on {}: {}; use backend = "
                                  "\"proxy\"",
                                  to_string(x.kind), in, said, why));
    }
  };
  for (size_t i = 0; i < plan_.faults.size(); ++i) {
    check_toxics(plan_.faults[i].toxics, fault_src_[i].toxics, fault_src_[i].name);
  }
  for (size_t l = 0; l < net.links.size(); ++l) {
    check_toxics(net.links[l].toxics, link_src_[l].toxics, link_src_[l].name);
  }
}

std::string instance_range(const NodeSpec& spec) {
  if (spec.replicas == 1) return instance_id(spec, 0);
  if (spec.replicas == 2) return fmt::format("{}, {}", instance_id(spec, 0), instance_id(spec, 1));
  return fmt::format("{} .. {}", instance_id(spec, 0), instance_id(spec, spec.replicas - 1));
}

void Loader::check_ids() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto& src = nodes_[i];
    if (!src.has_id) continue;
    const NodeSpec& spec = src.spec;
    auto [it, inserted] = group_index_.emplace(spec.id, i);
    if (!inserted) {
      const NodeSource& first = nodes_[it->second];
      if (first.spec.kind == "db") {
        error(src.id_where, fmt::format("node id '{}'{} is taken by the reference db nodes of "
                                        "[cluster.db]",
                                        spec.id, " in " + src.name));
      } else {
        error(src.id_where, fmt::format("duplicate node id '{}' in {} (first used in {} at line "
                                        "{})",
                                        spec.id, src.name, first.name, first.id_where.begin.line));
      }
      src.has_id = false;  // keep later checks from reporting the same clash again
      continue;
    }
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto& src = nodes_[i];
    if (!src.has_id) continue;
    for (int r = 0; r < src.spec.replicas; ++r) {
      const std::string id = instance_id(src.spec, r);
      auto [it, inserted] = instance_owner_.emplace(id, i);
      if (inserted) continue;
      const NodeSource& other = nodes_[it->second];
      error(src.id_where,
            fmt::format("instance id '{}' of node '{}' ({}) collides with an instance of node '{}' "
                        "({}, instances {})",
                        id, src.spec.id, src.name, other.spec.id, other.name,
                        instance_range(other.spec)));
      break;
    }
  }
}

// " (node 'redis' runs redis-0, redis-1)" when `unknown` is a replicated group or looks like one
// of its instances, else " (did you mean 'x'?)" for a near miss in `known`, else "".
std::string Loader::hint_for(std::string_view unknown,
                             std::span<const std::string_view> known) const {
  for (const auto& [id, idx] : group_index_) {
    const NodeSpec& spec = nodes_[idx].spec;
    if (spec.replicas > 1 &&
        (unknown == id ||
         (unknown.starts_with(id) && unknown.size() > id.size() + 1 && unknown[id.size()] == '-' &&
          unknown.find_first_not_of("0123456789", id.size() + 1) == std::string_view::npos))) {
      return fmt::format(" (node '{}' runs {})", id, instance_range(spec));
    }
  }
  if (auto near = closest_match(unknown, known)) return fmt::format(" (did you mean '{}'?)", *near);
  return "";
}

void Loader::check_dependencies() {
  std::vector<std::string_view> known;
  for (const auto& [id, idx] : group_index_) known.push_back(id);
  for (const auto& [id, idx] : instance_owner_) known.push_back(id);
  std::sort(known.begin(), known.end());

  // The instance graph. All replicas of a group share its depends_on. In a group of several
  // replicas an edge from an instance to itself is dropped, as Plan::instances() does: "d" with
  // replicas 3 depending on "d-0" makes d-1 and d-2 wait for d-0. A single node naming itself is
  // a cycle.
  struct Vertex {
    size_t group;
    std::string id;
    std::vector<std::pair<size_t, size_t>> out;  // (target vertex, dep index in the group)
  };
  std::vector<Vertex> vertices;
  std::unordered_map<std::string, size_t> vertex_of;
  std::vector<std::vector<size_t>> group_vertices(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].has_id) continue;
    for (int r = 0; r < nodes_[i].spec.replicas; ++r) {
      std::string id = instance_id(nodes_[i].spec, r);
      if (instance_owner_.at(id) != i) continue;  // a collision, reported already
      vertex_of.emplace(id, vertices.size());
      group_vertices[i].push_back(vertices.size());
      vertices.push_back({i, std::move(id), {}});
    }
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto& src = nodes_[i];
    for (size_t d = 0; d < src.spec.depends_on.size(); ++d) {
      const std::string& target = src.spec.depends_on[d].node;
      std::vector<size_t> targets;
      if (auto g = group_index_.find(target); g != group_index_.end()) {
        targets = group_vertices[g->second];
      } else if (auto v = vertex_of.find(target); v != vertex_of.end()) {
        targets = {v->second};
      } else if (!instance_owner_.count(target)) {
        error(src.dep_where[d], fmt::format("'depends_on' in {} names unknown node '{}'{}",
                                            src.name, target, hint_for(target, known)));
        continue;
      }
      for (size_t from : group_vertices[i]) {
        for (size_t to : targets) {
          if (from == to && nodes_[i].spec.replicas > 1) continue;
          auto& out = vertices[from].out;
          if (std::none_of(out.begin(), out.end(), [&](auto& e) { return e.first == to; })) {
            out.emplace_back(to, d);
          }
        }
      }
    }
  }

  // Depth-first search in file order; each edge back into the current path closes a cycle. A
  // cycle through the same groups as one already reported (another replica's copy of it) is
  // reported once.
  enum class Mark { fresh, active, done };
  std::vector<Mark> mark(vertices.size(), Mark::fresh);
  std::vector<std::pair<size_t, size_t>> path;  // (vertex, dep index of the edge taken)
  std::set<std::vector<size_t>> reported;
  std::function<void(size_t)> visit = [&](size_t u) {
    mark[u] = Mark::active;
    for (auto [v, d] : vertices[u].out) {
      path.emplace_back(u, d);
      if (mark[v] == Mark::active) {
        auto start = std::find_if(path.begin(), path.end(), [&](auto& p) { return p.first == v; });
        std::vector<size_t> groups;
        std::string chain;
        for (auto p = start; p != path.end(); ++p) {
          groups.push_back(vertices[p->first].group);
          chain += vertices[p->first].id + " -> ";
        }
        chain += vertices[v].id;
        std::sort(groups.begin(), groups.end());
        groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
        if (reported.insert(groups).second) {
          error(nodes_[vertices[start->first].group].dep_where[start->second],
                fmt::format("dependency cycle: {}", chain));
        }
      } else if (mark[v] == Mark::fresh) {
        visit(v);
      }
      path.pop_back();
    }
    mark[u] = Mark::done;
  };
  for (size_t i = 0; i < vertices.size(); ++i) {
    if (mark[i] == Mark::fresh) visit(i);
  }
}

void Loader::check_templates() {
  std::vector<std::string_view> instances;
  for (const auto& [id, idx] : instance_owner_) instances.push_back(id);
  std::sort(instances.begin(), instances.end());
  TemplateContext ctx;
  ctx.port_of = [](std::string_view) -> std::optional<uint16_t> { return 1; };
  for (const auto& src : nodes_) {
    auto check = [&](std::string_view what, const std::string& text,
                     const toml::source_region& where) {
      for (const auto& ref : template_port_refs(text)) {
        if (instance_owner_.count(ref)) continue;
        std::string message = fmt::format("{} in {}: template '{{port:{}}}' names no instance '{}'",
                                          what, src.name, ref, ref);
        error(where, message + hint_for(ref, instances));
      }
      if (auto r = expand_template(text, ctx); !r) {
        error(where, fmt::format("{} in {}: {}", what, src.name, r.error().message));
      }
    };
    for (size_t i = 0; i < src.spec.command.size(); ++i) {
      check("'command'", src.spec.command[i], src.command_where[i]);
    }
    for (const auto& [key, where] : src.env_where) {
      check(fmt::format("'env.{}'", key), src.spec.env.at(key), where);
    }
  }
}

void Loader::check_targets() {
  std::vector<std::string_view> known;
  for (const auto& [id, idx] : group_index_) known.push_back(id);
  for (const auto& [id, idx] : instance_owner_) known.push_back(id);
  std::sort(known.begin(), known.end());
  for (size_t wi = 0; wi < plan_.workloads.size(); ++wi) {
    const WorkloadSpec& w = plan_.workloads[wi];
    if (w.targets.empty()) {
      if (w.kind == "log" && !plan_.cluster.broker.enabled) {
        error(workload_where_[wi],
              fmt::format("{} (kind = \"log\") has no broker to produce to: add "
                          "[cluster.broker] or set 'targets'",
                          workload_scope_[wi]));
      } else if (nodes_.empty()) {
        error(workload_where_[wi],
              fmt::format("{} has nothing to send operations to: the plan runs no "
                          "nodes (no [cluster.db] and no [[node]]) and sets no 'targets'",
                          workload_scope_[wi]));
      }
      continue;
    }
    for (size_t i = 0; i < w.targets.size(); ++i) {
      const std::string& target = w.targets[i];
      if (group_index_.count(target) || instance_owner_.count(target)) continue;
      error(target_where_[wi][i],
            fmt::format("'targets' in {} names unknown node '{}'{}", workload_scope_[wi], target,
                        hint_for(target, known)));
    }
  }
}

LoadResult Loader::load(std::string_view text) {
  LoadResult out;
  toml::table root;
  try {
    root = toml::parse(text, file_);
  } catch (const toml::parse_error& e) {
    Location loc{file_, e.source().begin.line, e.source().begin.column};
    out.errors.push_back({std::move(loc), fmt::format("TOML syntax error: {}", e.description())});
    return out;
  }
  read_top(root);
  check_ids();
  check_dependencies();
  check_templates();
  check_targets();
  check_faults();
  check_network();
  std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
  if (errors_.empty()) {
    for (auto& src : nodes_) plan_.nodes.push_back(std::move(src.spec));
    out.plan = std::move(plan_);
  }
  out.errors = std::move(errors_);
  return out;
}

}  // namespace

LoadResult load_plan_string(std::string_view toml_text, std::string source_name) {
  return Loader(std::move(source_name)).load(toml_text);
}

LoadResult load_plan_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult out;
    std::error_code ec(errno, std::generic_category());
    out.errors.push_back(
        {{path.string(), 0, 0}, fmt::format("cannot read plan: {}", ec.message())});
    return out;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  auto out = load_plan_string(buf.str(), path.string());
  if (out.plan) out.plan->source = path;
  return out;
}

}  // namespace fl::plan
