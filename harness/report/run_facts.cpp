#include "harness/report/run_facts.h"

#include "harness/check/quantiles.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/version.hpp>

#include "common/hash_ring.h"
#include "common/units.h"
#include "harness/plan/fault.h"

namespace fl::report {
namespace {

namespace json = boost::json;

std::string compiler() {
#if defined(__clang__)
  return fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("g++ {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::vector<std::string> nodes_of(const json::object& o) {
  std::vector<std::string> out;
  if (const auto* a = o.if_contains("nodes"); a && a->is_array()) {
    for (const auto& n : a->as_array()) {
      if (n.is_string()) out.emplace_back(n.as_string());
    }
  } else if (auto node = str(o, "node"); !node.empty()) {
    out.push_back(std::move(node));
  }
  // The control API's link fault names its two ends.
  for (const char* end : {"from", "to"}) {
    if (const auto* a = o.if_contains(end); a && a->is_array() && !o.contains("fault")) {
      for (const auto& n : a->as_array()) {
        if (n.is_string() &&
            std::find(out.begin(), out.end(), std::string_view(n.as_string())) == out.end()) {
          out.emplace_back(n.as_string());
        }
      }
    }
  }
  return out;
}

std::optional<int64_t> integer(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

}  // namespace

Versions build_versions(std::string_view faultline_version) {
  Versions v;
  v.faultline = std::string(faultline_version);
  v.compiler = compiler();
  v.boost = fmt::format("{}.{}.{}", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                        BOOST_VERSION % 100);
  return v;
}

std::vector<std::pair<std::string, std::string>> node_versions(const std::vector<NodeInfo>& nodes) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& n : nodes) {
    std::string faultline, redis;
    for (const auto& [k, v] : n.info) {
      if (k == "faultline_version") faultline = v;
      if (k == "redis_version") redis = v;
    }
    if (!faultline.empty()) {
      out.emplace_back(n.id, faultline);
    } else if (!redis.empty()) {
      out.emplace_back(n.id, "redis " + redis);
    }
  }
  return out;
}

ClusterSummary cluster_summary(const plan::Plan& plan) {
  ClusterSummary c;
  const auto& cl = plan.cluster;
  auto num = [](auto n) { return fmt::format("{}", n); };
  if (cl.broker.enabled) {
    c.groups.push_back({"broker",
                        std::string(plan::kBrokerId),
                        cl.broker.nodes,
                        {{"partitions", num(cl.broker.partitions)},
                         {"fsync", std::string(plan::to_string(cl.broker.fsync))},
                         {"changes", cl.broker.changes ? "true" : "false"}}});
  }
  if (cl.db.enabled) {
    ClusterSummary::Group g{"db", "db", cl.db.node_count(), {}};
    g.settings = {{"shards", num(cl.db.shards)},
                  {"replicas", num(cl.db.replicas)},
                  {"replication", std::string(plan::to_string(cl.db.replication))},
                  {"reads", std::string(plan::to_string(cl.db.reads))},
                  {"fsync", std::string(plan::to_string(cl.db.fsync))}};
    if (cl.db.replication == plan::Replication::quorum) {
      g.settings.emplace_back(
          "quorum", fmt::format("n={} w={} r={}", cl.db.quorum.n, cl.db.quorum.w, cl.db.quorum.r));
    }
    if (!cl.db.bugs.empty())
      g.settings.emplace_back("bugs", fmt::format("{}", fmt::join(cl.db.bugs, ",")));
    c.groups.push_back(std::move(g));
  }
  for (const auto& cache : cl.caches) {
    ClusterSummary::Group g{"cache", cache.name, cache.nodes, {}};
    g.settings = {{"write_policy", std::string(plan::to_string(cache.write_policy))},
                  {"eviction", std::string(plan::to_string(cache.eviction))},
                  {"capacity", format_size(cache.capacity)},
                  {"ttl", format_duration(cache.ttl)}};
    if (!cache.bugs.empty())
      g.settings.emplace_back("bugs", fmt::format("{}", fmt::join(cache.bugs, ",")));
    c.groups.push_back(std::move(g));
  }
  if (cl.lb.enabled) {
    ClusterSummary::Group g{"lb", std::string(plan::kLbGroup), cl.lb.nodes, {}};
    g.settings = {{"policy", std::string(plan::to_string(cl.lb.policy))},
                  {"backends", cl.lb.backends}};
    if (!cl.lb.bugs.empty())
      g.settings.emplace_back("bugs", fmt::format("{}", fmt::join(cl.lb.bugs, ",")));
    c.groups.push_back(std::move(g));
  }
  for (const auto& n : plan.nodes) {
    if (n.kind != "external") continue;
    for (const auto& inst : plan.instances()) {
      if (inst.group == n.id) c.external.push_back(inst.id);
    }
  }
  c.network = std::string(plan::to_string(plan::network_backend(plan)));
  return c;
}

std::vector<FaultWindow> fault_timeline(std::string_view events_jsonl) {
  std::vector<FaultWindow> out;
  // Per window: the control API's handle, when it had one.
  std::vector<std::optional<int64_t>> handles;
  auto close = [&](size_t i, int64_t t) {
    if (!out[i].end_ns) out[i].end_ns = t;
  };
  size_t pos = 0;
  while (pos < events_jsonl.size()) {
    size_t nl = events_jsonl.find('\n', pos);
    if (nl == std::string_view::npos) nl = events_jsonl.size();
    const auto line = events_jsonl.substr(pos, nl - pos);
    pos = nl + 1;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    const std::string type = str(o, "type");
    if (type != "fault.start" && type != "fault.end") continue;
    const int64_t t = integer(o, "time").value_or(0);
    const auto index = integer(o, "fault");
    const std::string action = str(o, "action");
    const auto nodes = nodes_of(o);
    const auto handle = integer(o, "handle");
    if (type == "fault.start") {
      FaultWindow w;
      w.index = index ? static_cast<int>(*index) : -1;
      w.action = action;
      w.target = str(o, "target");
      w.nodes = nodes;
      w.start_ns = t;
      w.source = index ? "plan" : "control";
      w.detail = str(o, "detail");
      if (const auto* c = o.if_contains("cuts"); c && c->is_array()) {
        for (const auto& pair : c->as_array()) {
          if (!pair.is_array() || pair.as_array().size() != 2) continue;
          const auto& a = pair.as_array()[0];
          const auto& b = pair.as_array()[1];
          if (a.is_string() && b.is_string()) w.cuts.emplace_back(a.as_string(), b.as_string());
        }
      }
      if (!index && w.detail.empty()) {
        w.detail = nodes.empty() ? action : fmt::format("{} {}", action, fmt::join(nodes, ","));
      }
      if (!index && (action == "restart" || action == "restart-wiped")) {
        // A restart by the control API brings back a node it killed, and is over when it returns.
        for (size_t i = 0; i < out.size(); ++i) {
          if (out[i].source == "control" && out[i].nodes == nodes &&
              (out[i].action == "kill" || out[i].action == "terminate")) {
            close(i, t);
          }
        }
        w.end_ns = t;
      }
      out.push_back(std::move(w));
      handles.push_back(handle);
      continue;
    }
    // fault.end: the earliest open window it heals.
    if (index) {
      std::optional<size_t> same_index, same_nodes;
      for (size_t i = 0; i < out.size(); ++i) {
        if (out[i].end_ns || out[i].index != *index) continue;
        if (!same_index) same_index = i;
        if (!same_nodes && out[i].nodes == nodes) same_nodes = i;
      }
      if (auto i = same_nodes ? same_nodes : same_index) close(*i, t);
      continue;
    }
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i].end_ns || out[i].source != "control") continue;
      const bool heals = action == "all" || (handle && handles[i] == handle) ||
                         (action == "pause" && out[i].action == "pause" && out[i].nodes == nodes);
      if (heals) {
        close(i, t);
        if (action != "all") break;
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const FaultWindow& a, const FaultWindow& b) {
    return a.start_ns < b.start_ns;
  });
  return out;
}

std::vector<ShardMetrics> shard_metrics(const history::Compact& h, int shards,
                                        std::optional<int64_t> main_end_ns) {
  const auto n = static_cast<size_t>(std::max(shards, 1));
  std::vector<ShardMetrics> out(n);
  std::vector<std::vector<int64_t>> latencies(n);
  std::vector<int64_t> first(n, history::kNever), last(n, 0);
  std::vector<int> shard_of_key(h.keys.size(), -1);
  for (size_t k = 1; k < h.keys.size(); ++k) {
    shard_of_key[k] = shard_of(h.keys[k], static_cast<int>(n));
  }
  for (size_t s = 0; s < n; ++s) out[s].shard = static_cast<int>(s);
  for (const auto& op : h.ops) {
    if (op.key == 0 || (main_end_ns && op.call >= *main_end_ns)) continue;
    const auto s = static_cast<size_t>(shard_of_key[op.key]);
    auto& m = out[s];
    switch (op.outcome) {
      case history::Type::ok:
        ++m.ok;
        break;
      case history::Type::fail:
        ++m.fail;
        break;
      default:
        ++m.info;
        break;
    }
    first[s] = std::min(first[s], op.call);
    if (op.done != history::kNever) {
      last[s] = std::max(last[s], op.done);
      if (op.outcome != history::Type::info) latencies[s].push_back(op.done - op.call);
    }
  }
  for (size_t s = 0; s < n; ++s) {
    auto& m = out[s];
    const int64_t total = m.ok + m.fail + m.info;
    if (total > 0 && last[s] > first[s]) {
      m.ops_per_sec = static_cast<double>(total) / (static_cast<double>(last[s] - first[s]) / 1e9);
    }
    // Nearest rank, as docs/results-format.md promises and check::quantiles reads them.
    const auto q = check::quantiles(latencies[s]);
    m.p50_ms = static_cast<double>(q.p50) / 1e6;
    m.p99_ms = static_cast<double>(q.p99) / 1e6;
  }
  return out;
}

}  // namespace fl::report
