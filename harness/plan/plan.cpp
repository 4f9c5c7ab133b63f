#include "harness/plan/plan.h"

#include <fmt/core.h>

#include <algorithm>
#include <unordered_map>

namespace fl::plan {

std::string Diagnostic::str() const {
  if (where.line == 0) return fmt::format("{}: {}", where.file, message);
  if (where.column == 0) return fmt::format("{}:{}: {}", where.file, where.line, message);
  return fmt::format("{}:{}:{}: {}", where.file, where.line, where.column, message);
}

std::string instance_id(const NodeSpec& spec, int replica) {
  if (static_cast<size_t>(replica) < spec.members.size()) {
    return spec.members[static_cast<size_t>(replica)].id;
  }
  return spec.replicas == 1 ? spec.id : fmt::format("{}-{}", spec.id, replica);
}

std::string db_instance_id(int shard, int replica) {
  return fmt::format("db-s{}-r{}", shard, replica);
}

std::string_view to_string(Replication r) {
  switch (r) {
    case Replication::async: return "async";
    case Replication::sync: return "sync";
    case Replication::quorum: return "quorum";
  }
  return "sync";
}

std::string_view to_string(ReadRouting r) {
  switch (r) {
    case ReadRouting::master: return "master";
    case ReadRouting::slaves: return "slaves";
    case ReadRouting::any: return "any";
  }
  return "master";
}

std::string_view to_string(FsyncPolicy f) {
  switch (f) {
    case FsyncPolicy::always: return "always";
    case FsyncPolicy::everysec: return "everysec";
    case FsyncPolicy::never: return "never";
  }
  return "everysec";
}

std::string_view to_string(WritePolicy p) {
  switch (p) {
    case WritePolicy::write_through: return "write-through";
    case WritePolicy::write_around: return "write-around";
    case WritePolicy::write_back: return "write-back";
  }
  return "write-through";
}

std::string_view to_string(Eviction e) {
  switch (e) {
    case Eviction::lru: return "lru";
    case Eviction::lfu: return "lfu";
  }
  return "lru";
}

std::string_view to_string(LbPolicy p) {
  switch (p) {
    case LbPolicy::round_robin: return "round-robin";
    case LbPolicy::least_connections: return "least-connections";
    case LbPolicy::key_hash: return "key-hash";
  }
  return "key-hash";
}

namespace {
constexpr std::string_view kDbBugs[] = {"ack-before-majority", "ack-before-log", "quorum-read-one",
                                        "no-fencing"};
constexpr std::string_view kBrokerBugs[] = {"ack-before-write"};
constexpr std::string_view kCacheBugs[] = {"skip-invalidation"};
constexpr std::string_view kLbBugs[] = {"retry-writes"};
}  // namespace

std::span<const std::string_view> known_db_bugs() { return kDbBugs; }
std::span<const std::string_view> known_broker_bugs() { return kBrokerBugs; }
std::span<const std::string_view> known_cache_bugs() { return kCacheBugs; }
std::span<const std::string_view> known_lb_bugs() { return kLbBugs; }

const CacheGroup* Cluster::find_cache(std::string_view name) const {
  for (const auto& c : caches) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<Instance> Plan::instances() const {
  std::vector<Instance> all;
  // Instance ids of each group, for resolving group dependencies.
  std::unordered_map<std::string, std::vector<std::string>> group_members;
  for (const auto& spec : nodes) {
    auto& members = group_members[spec.id];
    for (int r = 0; r < spec.replicas; ++r) {
      Instance inst;
      inst.id = instance_id(spec, r);
      inst.group = spec.id;
      inst.kind = spec.kind;
      inst.replica = r;
      const bool own = static_cast<size_t>(r) < spec.members.size();
      inst.command = own ? spec.members[static_cast<size_t>(r)].command : spec.command;
      inst.shard = own ? spec.members[static_cast<size_t>(r)].shard : -1;
      inst.env = spec.env;
      inst.ready = spec.ready;
      inst.stop_signal = spec.stop_signal;
      inst.stop_grace = spec.stop_grace;
      inst.restart = spec.restart;
      members.push_back(inst.id);
      all.push_back(std::move(inst));
    }
  }
  for (size_t i = 0, k = 0; i < nodes.size(); ++i) {
    const auto& spec = nodes[i];
    for (int r = 0; r < spec.replicas; ++r, ++k) {
      auto& deps = all[k].depends_on;
      auto add = [&](const std::string& id, DependCondition cond) {
        if (id == all[k].id) return;  // a replica never waits for itself
        for (auto& d : deps) {
          if (d.first == id) {
            // Keep the stronger condition when the same instance is named twice.
            if (cond == DependCondition::ready) d.second = cond;
            return;
          }
        }
        deps.emplace_back(id, cond);
      };
      for (const auto& dep : spec.depends_on) {
        if (auto it = group_members.find(dep.node); it != group_members.end()) {
          for (const auto& id : it->second) add(id, dep.condition);
        } else {
          add(dep.node, dep.condition);
        }
      }
    }
  }

  // Stable topological order: repeatedly take the first instance (in file order) whose
  // dependencies are all placed. Unknown dependencies are ignored here (the loader rejects them);
  // anything left in a cycle is appended in file order.
  std::unordered_map<std::string, size_t> index_of;
  for (size_t i = 0; i < all.size(); ++i) index_of.emplace(all[i].id, i);
  std::vector<bool> placed(all.size(), false);
  std::vector<Instance> ordered;
  ordered.reserve(all.size());
  while (ordered.size() < all.size()) {
    bool progress = false;
    for (size_t i = 0; i < all.size(); ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (const auto& [dep, cond] : all[i].depends_on) {
        auto it = index_of.find(dep);
        if (it != index_of.end() && !placed[it->second]) {
          ready = false;
          break;
        }
      }
      if (ready) {
        placed[i] = true;
        ordered.push_back(all[i]);
        progress = true;
        break;
      }
    }
    if (!progress) {
      for (size_t i = 0; i < all.size(); ++i) {
        if (!placed[i]) ordered.push_back(all[i]);
      }
      break;
    }
  }
  return ordered;
}

}  // namespace fl::plan

namespace fl::plan {

std::vector<std::string> Plan::target_instances() const {
  if (workloads.empty()) return {};
  return target_instances(workloads.front());
}

const WorkloadSpec* Plan::find_workload(std::string_view workload_name) const {
  for (const auto& w : workloads) {
    if (w.name == workload_name) return &w;
  }
  return nullptr;
}

std::vector<std::string> Plan::target_instances(const WorkloadSpec& workload) const {
  std::vector<std::string> out;
  auto add_group = [&](const NodeSpec& spec) {
    for (int r = 0; r < spec.replicas; ++r) out.push_back(instance_id(spec, r));
  };
  if (workload.targets.empty()) {
    // A log workload talks to the broker; the others enter the cluster at its front: the LBs,
    // else the first cache group, else the db nodes, else every [[node]].
    auto first_of = [&](std::string_view kind) {
      return std::find_if(nodes.begin(), nodes.end(), [&](auto& n) { return n.kind == kind; });
    };
    for (std::string_view kind : workload.kind == "log" ? std::vector<std::string_view>{"broker"}
                                                        : std::vector<std::string_view>{"lb", "cache"}) {
      if (auto it = first_of(kind); it != nodes.end()) {
        add_group(*it);
        return out;
      }
    }
    const bool has_db = first_of("db") != nodes.end();
    for (const auto& spec : nodes) {
      if (spec.kind == "db" ? has_db : (!has_db && spec.kind == "external")) add_group(spec);
    }
    return out;
  }
  for (const auto& target : workload.targets) {
    auto group = std::find_if(nodes.begin(), nodes.end(), [&](auto& n) { return n.id == target; });
    if (group != nodes.end()) {
      add_group(*group);
    } else {
      out.push_back(target);  // an instance id (the loader rejects anything else)
    }
  }
  return out;
}

namespace {

constexpr std::string_view kRegisterOps[] = {"read", "write", "cas"};
constexpr std::string_view kSetOps[] = {"add", "read"};
constexpr std::string_view kCounterOps[] = {"add", "read"};
constexpr std::string_view kKvMixOps[] = {"get", "set"};
constexpr std::string_view kQueueOps[] = {"enqueue", "dequeue"};
constexpr std::string_view kLogOps[] = {"produce", "consume"};

CheckSpec check_of(std::string kind, std::string model = {}) {
  CheckSpec c;
  c.kind = std::move(kind);
  c.model = std::move(model);
  return c;
}

}  // namespace

std::span<const std::string_view> workload_operations(std::string_view workload_kind) {
  if (workload_kind == "register") return kRegisterOps;
  if (workload_kind == "set") return kSetOps;
  if (workload_kind == "counter") return kCounterOps;
  if (workload_kind == "kv-mix") return kKvMixOps;
  if (workload_kind == "queue") return kQueueOps;
  if (workload_kind == "log") return kLogOps;
  return {};
}

std::string_view default_model(std::string_view workload_kind) {
  if (workload_kind == "register") return "cas-register";
  if (workload_kind == "set") return "set";
  if (workload_kind == "queue") return "fifo-queue";
  return {};
}

std::vector<CheckSpec> default_checks(const WorkloadSpec& workload) {
  std::vector<CheckSpec> out;
  const std::string_view kind = workload.kind;
  if (kind == "register") {
    out.push_back(check_of("linearizable", std::string(default_model(kind))));
  } else if (kind == "set") {
    out.push_back(check_of("set-full"));
  } else if (kind == "counter") {
    out.push_back(check_of("counter"));
  } else if (kind == "queue") {
    out.push_back(check_of("total-queue"));
  } else if (kind == "log") {
    out.push_back(check_of("log"));
  }
  out.push_back(check_of("availability"));
  out.push_back(check_of("perf"));
  for (auto& c : out) c.workload = workload.name;
  return out;
}

std::vector<CheckSpec> run_checks(const Plan& plan) {
  if (!plan.checks.empty()) return plan.checks;
  std::vector<CheckSpec> out;
  for (const auto& w : plan.workloads) {
    auto checks = default_checks(w);
    out.insert(out.end(), checks.begin(), checks.end());
  }
  return out;
}

}  // namespace fl::plan
