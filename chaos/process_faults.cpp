#include "chaos/process_faults.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "chaos/resp_call.h"
#include "common/resp/resp.h"
#include "harness/plan/fault.h"
#include "harness/supervisor/supervisor.h"

namespace fl::chaos {

result<void> SupervisorControl::kill(std::string_view id) { return s_.kill(id); }
result<void> SupervisorControl::terminate(std::string_view id) { return s_.terminate(id); }
result<void> SupervisorControl::pause(std::string_view id) { return s_.pause(id); }
result<void> SupervisorControl::resume(std::string_view id) { return s_.resume(id); }
result<void> SupervisorControl::restart(std::string_view id, bool wipe) {
  return s_.restart(id, wipe);
}

result<void> inject(ProcessControl& control, plan::FaultAction action, std::string_view id) {
  switch (action) {
    case plan::FaultAction::kill:
      return control.kill(id);
    case plan::FaultAction::terminate:
      return control.terminate(id);
    case plan::FaultAction::pause:
      return control.pause(id);
    case plan::FaultAction::restart:
      return control.restart(id, false);
    case plan::FaultAction::restart_wiped:
      return control.restart(id, true);
    case plan::FaultAction::partition:
    case plan::FaultAction::link:
    case plan::FaultAction::clock:
      break;
  }
  return Error(errc::invalid_argument, "not a process fault");
}

result<void> heal(ProcessControl& control, plan::FaultAction action, std::string_view id) {
  switch (action) {
    case plan::FaultAction::kill:
    case plan::FaultAction::terminate:
      return control.restart(id, false);
    case plan::FaultAction::pause:
      return control.resume(id);
    case plan::FaultAction::restart:
    case plan::FaultAction::restart_wiped:
      return {};
    case plan::FaultAction::partition:
    case plan::FaultAction::link:
    case plan::FaultAction::clock:
      break;
  }
  return Error(errc::invalid_argument, "not a process fault");
}

result<NodeRole> query_role(const std::string& host, uint16_t port,
                            std::chrono::milliseconds timeout) {
  auto answer = resp_call(host, port, {"ROLE"}, timeout);
  if (!answer) return Error(answer.error().code, "ROLE " + answer.error().message);
  const resp::Value& reply = *answer;
  if (reply.type == resp::Type::error) {
    return Error(errc::protocol_error, fmt::format("ROLE {}:{}: -{}", host, port, reply.str));
  }
  const auto& e = reply.elements;
  if (reply.type != resp::Type::array || e.empty() ||
      (e[0].type != resp::Type::bulk_string && e[0].type != resp::Type::simple_string)) {
    return Error(errc::protocol_error,
                 fmt::format("ROLE {}:{}: expected an array starting with the role", host, port));
  }
  NodeRole out;
  out.role = e[0].str;
  if (e.size() > 1 && e.back().type == resp::Type::integer) out.term = e.back().integer;
  return out;
}

Resolution resolve(const plan::Selector& selector, const std::vector<plan::Instance>& instances,
                   const std::vector<NodeAddress>& nodes, const RoleQuery& ask, Rng& rng) {
  Resolution out;
  const auto candidates = plan::selector_candidates(selector, instances);
  if (candidates.empty()) {
    out.skipped = fmt::format("\"{}\" names no node of the plan", selector.text);
    return out;
  }
  std::map<std::string, const NodeAddress*> by_id;
  for (const auto& n : nodes) by_id.emplace(n.id, &n);
  const bool by_role = selector.kind == plan::Selector::Kind::master ||
                       selector.kind == plan::Selector::Kind::slaves;
  if (!by_role) {
    for (const auto* i : candidates) {
      out.nodes.push_back(i->id);
      out.roles.emplace_back();
    }
  } else {
    // Ask every running node of the shard.
    struct Answer {
      std::string id;
      NodeRole role;
    };
    std::vector<Answer> answers;
    std::vector<std::string> notes;
    for (const auto* i : candidates) {
      auto it = by_id.find(i->id);
      if (it == by_id.end() || !it->second->running) {
        notes.push_back(fmt::format("{}: not running", i->id));
        continue;
      }
      auto r = ask(*it->second);
      if (!r) {
        notes.push_back(fmt::format("{}: {}", i->id, r.error().message));
        continue;
      }
      notes.push_back(fmt::format("{}: {} term {}", i->id, r->role, r->term));
      answers.push_back({i->id, *r});
    }
    const Answer* master = nullptr;
    for (const auto& a : answers) {
      if (a.role.role == "master" && (!master || a.role.term > master->role.term)) master = &a;
    }
    if (selector.kind == plan::Selector::Kind::master) {
      if (master) {
        out.nodes.push_back(master->id);
        out.roles.push_back("master");
        out.term = master->role.term;
      }
    } else {
      for (const auto& a : answers) {
        if (a.role.role == "slave") {
          out.nodes.push_back(a.id);
          out.roles.push_back("slave");
        }
      }
    }
    if (out.nodes.empty()) {
      std::string all;
      for (const auto& n : notes) all += (all.empty() ? "" : "; ") + n;
      out.skipped =
          fmt::format("no node of shard {} answers ROLE {} ({})", selector.shard,
                      selector.kind == plan::Selector::Kind::master ? "master" : "slave", all);
      return out;
    }
  }
  if (selector.random && out.nodes.size() > 1) {
    // Draw among the nodes that are up, when the caller says which are: a fault on a node that
    // is already down would do nothing.
    std::vector<std::string> up_nodes, up_roles;
    for (size_t k = 0; k < out.nodes.size(); ++k) {
      auto it = by_id.find(out.nodes[k]);
      if (it != by_id.end() && it->second->running) {
        up_nodes.push_back(out.nodes[k]);
        up_roles.push_back(out.roles[k]);
      }
    }
    if (!up_nodes.empty()) {
      out.nodes = std::move(up_nodes);
      out.roles = std::move(up_roles);
    }
  }
  if (selector.random && out.nodes.size() > 1) {
    const size_t pick = rng.uniform(0, out.nodes.size() - 1);
    out.nodes = {out.nodes[pick]};
    out.roles = {out.roles[pick]};
  }
  return out;
}

}  // namespace fl::chaos
