#include "harness/control/session_backend.h"

#include <chrono>
#include <map>

#include "harness/run/collect.h"

namespace fl::control {
namespace {

// ROLE and INFO are asked of a local process: a node that takes longer is stuck (or paused).
constexpr auto kAskTimeout = std::chrono::milliseconds(300);

}  // namespace

Backend session_backend(run::Session& session, chaos::ProcessControl& process,
                        chaos::LinkControl* links) {
  const plan::Plan& plan = session.plan();
  std::map<std::string, int> shard_of;
  std::vector<std::string> db_nodes, all_nodes;
  for (const auto& inst : plan.instances()) {
    shard_of[inst.id] = inst.shard;
    all_nodes.push_back(inst.id);
    if (inst.kind == "db") db_nodes.push_back(inst.id);
  }
  Backend b;
  run::Session* s = &session;
  b.nodes = [s] { return s->nodes(); };
  b.process = &process;
  b.links = links;
  b.network = links                  ? std::string(links->backend())
              : plan.network.backend ? std::string(plan::to_string(*plan.network.backend))
                                     : "direct";
  b.event = [s](std::string_view type, std::string fields) { s->event(type, fields); };
  b.info = [shard_of](const std::vector<supervisor::NodeStatus>& nodes) {
    std::vector<run::CollectTarget> targets;
    for (const auto& n : nodes) {
      auto sh = shard_of.find(n.id);
      targets.push_back({n.id, n.group, n.kind, sh == shard_of.end() ? -1 : sh->second, n.host,
                         n.port, n.pid != 0 && n.state == supervisor::NodeState::ready});
    }
    run::CollectOptions opts;
    opts.timeout = kAskTimeout;
    return run::collect_info(targets, opts);
  };
  b.role = [](const supervisor::NodeStatus& n) -> std::optional<std::string> {
    auto r = chaos::query_role(n.host, n.port, kAskTimeout);
    if (!r) return std::nullopt;
    return r->role;
  };
  b.primaries = [s, shard_of] {
    // Per shard, the running node answering "master" with the highest term.
    std::map<int, std::pair<int64_t, std::string>> best;
    for (const auto& n : s->nodes()) {
      if (n.kind != "db" || n.state != supervisor::NodeState::ready) continue;
      auto r = chaos::query_role(n.host, n.port, kAskTimeout);
      if (!r || r->role != "master") continue;
      const int shard = shard_of.count(n.id) ? shard_of.at(n.id) : -1;
      auto it = best.find(shard);
      if (it == best.end() || r->term > it->second.first) best[shard] = {r->term, n.id};
    }
    std::vector<std::string> out;
    for (const auto& [shard, m] : best) out.push_back(m.second);
    return out;
  };
  b.partition_target = db_nodes.empty() ? all_nodes : db_nodes;
  b.seed = session.seed();
  return b;
}

}  // namespace fl::control
