#include "harness/run/fault_schedule.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>

#include "chaos/partition.h"
#include "chaos/schedule.h"
#include "common/units.h"
#include "harness/plan/fault.h"

namespace fl::run {
namespace {

namespace json = boost::json;
using plan::FaultAction;
using plan::PartitionShape;

// The nemesis op `f` of a heal: the node started again, resumed, or ready after a restart.
std::string_view heal_name(FaultAction a) {
  switch (a) {
    case FaultAction::kill:
    case FaultAction::terminate:
      return "start";
    case FaultAction::pause:
      return "resume";
    case FaultAction::restart:
    case FaultAction::restart_wiped:
      return "ready";
    case FaultAction::partition:
    case FaultAction::link:
    case FaultAction::clock:
      return "heal";
  }
  return "heal";
}

bool is_process(FaultAction a) {
  return a != FaultAction::partition && a != FaultAction::link && a != FaultAction::clock;
}

std::string signed_duration(Duration d) {
  return d.count() < 0 ? "-" + format_duration(-d) : format_duration(d);
}

json::array strings(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

json::object toxic_json(const plan::Toxic& t) {
  json::object o;
  o["kind"] = plan::to_string(t.kind);
  switch (t.kind) {
    case plan::Toxic::Kind::latency:
      o["latency"] = format_duration(t.latency);
      o["jitter"] = format_duration(t.jitter);
      o["distribution"] = plan::to_string(t.distribution);
      break;
    case plan::Toxic::Kind::bandwidth:
      o["bytes_per_second"] = t.bytes_per_second;
      break;
    case plan::Toxic::Kind::loss:
      o["probability"] = t.probability;
      o["burst"] = t.burst;
      break;
    case plan::Toxic::Kind::reset:
    case plan::Toxic::Kind::stall:
    case plan::Toxic::Kind::slow_close:
      o["after"] = format_duration(t.after);
      break;
    case plan::Toxic::Kind::blackhole:
    case plan::Toxic::Kind::refuse:
      break;
  }
  if (t.toxicity != 1) o["toxicity"] = t.toxicity;
  return o;
}

std::vector<std::string> without_client(std::vector<std::string> v) {
  v.erase(std::remove(v.begin(), v.end(), std::string(chaos::kClientNode)), v.end());
  return v;
}

}  // namespace

FaultSchedule::FaultSchedule(const plan::Plan& plan, FaultControls controls, uint64_t seed,
                             std::chrono::nanoseconds main, FaultScheduleHooks hooks)
    : plan_(plan),
      instances_(plan.instances()),
      controls_(controls),
      seed_(seed),
      main_(main),
      hooks_(std::move(hooks)),
      active_(plan.faults.size(), 0) {
  for (size_t i = 0; i < plan_.faults.size(); ++i) {
    draws_.push_back(chaos::fault_rng(seed, i).fork("targets"));
  }
}

FaultSchedule::~FaultSchedule() { stop(); }

void FaultSchedule::start(std::chrono::steady_clock::time_point origin) {
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < plan_.faults.size(); ++i) {
      const plan::FaultSpec& f = plan_.faults[i];
      Rng rng = chaos::fault_rng(seed_, i);
      for (Duration t : chaos::fire_times(f, main_, rng)) {
        steps_.push_back({origin + t, 0, i, std::nullopt, t});
      }
      // Listed times past a shortened main phase stay pending, so stop() records them skipped.
      if (f.timing == plan::FaultSpec::Timing::at) {
        for (Duration t : f.times) {
          if (t >= main_) steps_.push_back({origin + t, 0, i, std::nullopt, t});
        }
      }
    }
    // Firings at the same time happen in plan order.
    std::sort(steps_.begin(), steps_.end(), [](const Step& a, const Step& b) {
      return std::tie(a.when, a.fault) < std::tie(b.when, b.fault);
    });
    for (auto& s : steps_) s.seq = seq_++;
  }
  thread_ = std::thread([this] { loop(); });
}

FaultSchedule::Counts FaultSchedule::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::string FaultSchedule::fields(size_t fault, std::string_view node, std::string detail) const {
  const plan::FaultSpec& f = plan_.faults[fault];
  json::object o;
  if (!node.empty()) {
    o["node"] = node;
    o["nodes"] = json::array{json::value(node)};
  }
  o["detail"] = std::move(detail);
  o["fault"] = fault;
  o["action"] = plan::to_string(f.action);
  o["target"] = f.target.text;
  auto inst = std::find_if(instances_.begin(), instances_.end(),
                           [&](const plan::Instance& i) { return i.id == node; });
  if (inst != instances_.end() && inst->shard >= 0) o["shard"] = inst->shard;
  return json::serialize(o);
}

void FaultSchedule::nemesis(std::string_view f, std::vector<std::string> nodes, std::string error) {
  if (!hooks_.history) return;
  history::Op op;
  op.time = hooks_.now();
  op.process = history::kNemesis;
  op.type = history::Type::info;
  op.f = std::string(f);
  if (nodes.size() == 1) {
    op.value = history::Value::of(std::move(nodes[0]));
  } else if (!nodes.empty()) {
    std::vector<history::Value> list;
    for (auto& n : nodes) list.push_back(history::Value::of(std::move(n)));
    op.value = history::Value::of(std::move(list));
  }
  op.error = std::move(error);
  hooks_.history->append(op);
}

void FaultSchedule::record_skip(size_t fault, std::string why) {
  hooks_.event("fault.skipped", fields(fault, "", why));
  nemesis(plan::to_string(plan_.faults[fault].action), {}, "skipped: " + why);
  std::lock_guard lock(mu_);
  ++counts_.skipped;
}

void FaultSchedule::record_error(size_t fault, std::string_view node, std::string message) {
  hooks_.event("fault.error", fields(fault, node, std::move(message)));
  std::lock_guard lock(mu_);
  ++counts_.errors;
}

void FaultSchedule::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return;
    // Steps due at the same time run in the order they were scheduled.
    auto next = std::min_element(steps_.begin(), steps_.end(), [](const Step& a, const Step& b) {
      return std::tie(a.when, a.seq) < std::tie(b.when, b.seq);
    });
    if (next == steps_.end()) {
      cv_.wait(lock, [&] { return stopping_ || !steps_.empty(); });
      continue;
    }
    if (std::chrono::steady_clock::now() < next->when) {
      cv_.wait_until(lock, next->when);
      continue;
    }
    Step step = std::move(*next);
    steps_.erase(next);
    lock.unlock();
    if (step.heal) {
      const auto& f = plan_.faults[step.fault];
      heal_now(*step.heal,
               fmt::format("after {}", format_duration(f.duration.value_or(Duration(0)))));
    } else {
      firing_at_ = step.at;
      fire(step.fault);
    }
    lock.lock();
  }
}

chaos::Resolution FaultSchedule::resolve(size_t fault, const plan::Selector& s) {
  chaos::Resolution r;
  if (s.kind == plan::Selector::Kind::client || s.kind == plan::Selector::Kind::region) {
    r.nodes = plan::static_members(plan_, s);
    if (s.random && r.nodes.size() > 1) {
      r.nodes = {r.nodes[draws_[fault].uniform(0, r.nodes.size() - 1)]};
    }
    if (r.nodes.empty()) r.skipped = fmt::format("\"{}\" names no node", s.text);
    r.roles.assign(r.nodes.size(), "");
    return r;
  }
  return chaos::resolve(s, instances_, hooks_.nodes(), hooks_.ask, draws_[fault]);
}

chaos::Resolution FaultSchedule::targets(size_t fault) {
  const plan::FaultSpec& f = plan_.faults[fault];
  chaos::Resolution r = resolve(fault, f.target);
  if (f.select == plan::SelectMode::all || r.nodes.empty()) return r;
  const auto picked = chaos::select_nodes(r.nodes, f.select, f.percent, draws_[fault]);
  chaos::Resolution out;
  out.term = r.term;
  for (size_t k = 0; k < r.nodes.size(); ++k) {
    if (std::find(picked.begin(), picked.end(), r.nodes[k]) == picked.end()) continue;
    out.nodes.push_back(r.nodes[k]);
    out.roles.push_back(k < r.roles.size() ? r.roles[k] : "");
  }
  return out;
}

void FaultSchedule::fire(size_t index) {
  {
    std::unique_lock lock(mu_);
    ++counts_.fired;
    if (active_[index] > 0) {
      lock.unlock();
      record_skip(index, "its previous firing is still active");
      return;
    }
  }
  switch (plan_.faults[index].action) {
    case FaultAction::partition:
    case FaultAction::link:
      fire_links(index);
      return;
    case FaultAction::clock:
      fire_clock(index);
      return;
    default:
      fire_process(index);
      return;
  }
}

void FaultSchedule::applied(size_t fault, Active active) {
  const plan::FaultSpec& f = plan_.faults[fault];
  std::lock_guard lock(mu_);
  ++counts_.injected;
  ++active_[fault];
  if (f.duration) {
    steps_.push_back({std::chrono::steady_clock::now() + *f.duration, seq_++, fault,
                      std::move(active)});
    cv_.notify_all();
  } else {
    // Healed by stop(): a process is never left stopped, a link never left cut.
    held_.push_back(std::move(active));
  }
}

void FaultSchedule::fire_process(size_t index) {
  const plan::FaultSpec& f = plan_.faults[index];
  const std::string_view action = plan::to_string(f.action);
  auto resolved = targets(index);
  // "client" (through a region) is no process.
  for (size_t k = resolved.nodes.size(); k-- > 0;) {
    if (resolved.nodes[k] != chaos::kClientNode) continue;
    resolved.nodes.erase(resolved.nodes.begin() + static_cast<std::ptrdiff_t>(k));
    resolved.roles.erase(resolved.roles.begin() + static_cast<std::ptrdiff_t>(k));
  }
  if (resolved.nodes.empty()) {
    record_skip(index, resolved.skipped.empty() ? "no node selected" : resolved.skipped);
    return;
  }
  // A db node named by id or group: ask its role too, so a fault of a master is known as one
  // however it was targeted (the failover check measures those).
  if (!resolved.term) {
    const auto nodes = hooks_.nodes();
    for (size_t k = 0; k < resolved.nodes.size(); ++k) {
      auto inst = std::find_if(instances_.begin(), instances_.end(),
                               [&](const plan::Instance& i) { return i.id == resolved.nodes[k]; });
      auto addr = std::find_if(nodes.begin(), nodes.end(), [&](const chaos::NodeAddress& n) {
        return n.id == resolved.nodes[k];
      });
      if (inst == instances_.end() || inst->shard < 0 || addr == nodes.end() || !addr->running) {
        continue;
      }
      if (auto role = hooks_.ask(*addr)) resolved.roles[k] = role->role;
    }
  }
  const bool restart = f.action == FaultAction::restart || f.action == FaultAction::restart_wiped;
  for (size_t k = 0; k < resolved.nodes.size(); ++k) {
    const std::string& node = resolved.nodes[k];
    std::string detail = fmt::format("{} {}", action, f.target.text);
    if (!resolved.roles[k].empty()) {
      detail += resolved.term ? fmt::format(" ({} of term {})", resolved.roles[k], *resolved.term)
                              : fmt::format(" ({})", resolved.roles[k]);
    }
    if (f.duration && !restart) detail += fmt::format(" for {}", format_duration(*f.duration));
    // The event before the action, so the fault's time is when it began.
    auto start_fields = json::parse(fields(index, node, detail)).as_object();
    if (!resolved.roles[k].empty()) start_fields["role"] = resolved.roles[k];
    if (resolved.term) start_fields["term"] = *resolved.term;
    start_fields["planned_ns"] = firing_at_.count();
    hooks_.event("fault.start", json::serialize(start_fields));
    nemesis(action, {node}, "");
    auto r = chaos::inject(controls_.process, f.action, node);
    if (!r) {
      record_error(index, node, r.error().message);
      continue;
    }
    if (restart) {
      {
        std::lock_guard lock(mu_);
        ++counts_.injected;
        ++counts_.healed;
      }
      hooks_.event("fault.end", fields(index, node, "ready again"));
      nemesis(heal_name(f.action), {node}, "");
    } else if (f.duration || f.action == FaultAction::pause) {
      applied(index, Active{index, {node}, std::nullopt});
    } else {
      std::lock_guard lock(mu_);
      ++counts_.injected;  // a kill or terminate without duration: down for good
    }
  }
}

void FaultSchedule::fire_links(size_t index) {
  const plan::FaultSpec& f = plan_.faults[index];
  const bool partition = f.action == FaultAction::partition;
  const std::string_view action = plan::to_string(f.action);
  if (!controls_.links) {
    record_error(index, "", fmt::format("action = \"{}\" needs a network backend that controls "
                                        "links, and this run has none",
                                        action));
    return;
  }
  json::object o = json::parse(fields(index, "", "")).as_object();
  o["planned_ns"] = firing_at_.count();
  std::vector<std::string> involved;
  std::string detail;
  result<chaos::LinkControl::Handle> handle = Error(errc::internal, "not applied");
  if (partition) {
    chaos::PartitionInput in;
    in.shape = f.shape;
    const bool has_target = !f.target.text.empty();
    std::vector<std::string> all;
    for (const auto& i : instances_) all.push_back(i.id);
    std::vector<std::string> universe;
    if (plan_.cluster.db.enabled) {
      for (const auto& i : instances_) {
        if (i.kind == "db") universe.push_back(i.id);
      }
    } else {
      universe = all;
    }
    std::string skipped;
    auto side = [&](const plan::Selector& s, bool select) {
      auto r = select ? targets(index) : resolve(index, s);
      if (r.nodes.empty() && skipped.empty()) skipped = r.skipped;
      return r.nodes;
    };
    switch (f.shape) {
      case PartitionShape::isolate:
        in.from = side(f.target, true);
        in.nodes = all;
        break;
      case PartitionShape::one_way:
        in.from = side(f.target, true);
        if (f.to) in.to = side(*f.to, false);
        break;
      case PartitionShape::groups:
        for (const auto& g : f.groups) {
          std::vector<std::string> members;
          for (const auto& s : g) {
            for (auto& n : side(s, false)) members.push_back(std::move(n));
          }
          in.groups.push_back(std::move(members));
        }
        break;
      case PartitionShape::primaries: {
        in.nodes = has_target ? side(f.target, true) : universe;
        for (int shard = 0; shard < plan_.cluster.db.shards; ++shard) {
          plan::Selector master;
          master.kind = plan::Selector::Kind::master;
          master.name = "db";
          master.shard = shard;
          master.text = fmt::format("db:shard={}:master", shard);
          auto r = resolve(index, master);
          for (const auto& m : r.nodes) {
            if (std::find(in.nodes.begin(), in.nodes.end(), m) != in.nodes.end()) {
              in.primaries.push_back(m);
            }
          }
        }
        break;
      }
      default:
        in.nodes = has_target ? side(f.target, true) : universe;
        break;
    }
    auto cuts = chaos::partition_cuts(in, draws_[index]);
    if (!cuts) {
      record_skip(index, skipped.empty() ? cuts.error().message : skipped);
      return;
    }
    json::array cut_list;
    for (const auto& c : *cuts) {
      cut_list.push_back(json::array{json::value(c.from), json::value(c.to)});
      involved.push_back(c.from);
      involved.push_back(c.to);
    }
    std::sort(involved.begin(), involved.end());
    involved.erase(std::unique(involved.begin(), involved.end()), involved.end());
    o["shape"] = plan::to_string(f.shape);
    o["mode"] = plan::to_string(f.mode);
    o["cuts"] = std::move(cut_list);
    detail = fmt::format("partition {} ({} cut link{})", plan::to_string(f.shape), cuts->size(),
                         cuts->size() == 1 ? "" : "s");
    o["nodes"] = strings(involved);
    o["detail"] = detail;
    hooks_.event("fault.start", json::serialize(o));
    nemesis(action, involved, "");
    handle = controls_.links->cut(*cuts, f.mode);
  } else {
    auto from = targets(index);
    if (from.nodes.empty()) {
      record_skip(index, from.skipped.empty() ? "no node selected" : from.skipped);
      return;
    }
    std::vector<std::string> to;
    if (f.to) {
      to = resolve(index, *f.to).nodes;
    } else {
      for (const auto& i : instances_) to.push_back(i.id);
    }
    json::array toxics;
    for (const auto& t : f.toxics) toxics.push_back(toxic_json(t));
    involved = from.nodes;
    o["nodes"] = strings(from.nodes);
    o["to"] = strings(to);
    o["direction"] = plan::to_string(f.direction);
    o["toxics"] = std::move(toxics);
    detail = fmt::format("link {} -> {}", f.target.text, f.to ? f.to->text : "every node");
    if (f.duration) detail += fmt::format(" for {}", format_duration(*f.duration));
    o["detail"] = detail;
    hooks_.event("fault.start", json::serialize(o));
    nemesis(action, involved, "");
    handle = controls_.links->degrade(from.nodes, to, f.direction, f.toxics);
  }
  if (!handle) {
    record_error(index, "", handle.error().message);
    return;
  }
  applied(index, Active{index, involved, *handle});
}

void FaultSchedule::fire_clock(size_t index) {
  const plan::FaultSpec& f = plan_.faults[index];
  if (!controls_.clock) {
    record_error(index, "", "action = \"clock\" needs a clock control, and this run has none");
    return;
  }
  auto resolved = targets(index);
  const auto nodes = without_client(resolved.nodes);
  if (nodes.empty()) {
    record_skip(index, resolved.skipped.empty() ? "no node selected" : resolved.skipped);
    return;
  }
  json::object o = json::parse(fields(index, "", "")).as_object();
  o["planned_ns"] = firing_at_.count();
  o["nodes"] = strings(nodes);
  o["offset"] = signed_duration(f.clock_offset);
  o["rate"] = f.clock_rate;
  o["detail"] = fmt::format("clock {} offset {} rate {}", f.target.text,
                            signed_duration(f.clock_offset), f.clock_rate);
  hooks_.event("fault.start", json::serialize(o));
  nemesis("clock", nodes, "");
  std::vector<std::string> set;
  for (const auto& n : nodes) {
    if (auto r = controls_.clock->set(n, f.clock_offset, f.clock_rate); !r) {
      record_error(index, n, r.error().message);
      continue;
    }
    set.push_back(n);
  }
  if (set.empty()) return;
  {
    std::lock_guard lock(mu_);
    skewed_.insert(set.begin(), set.end());
  }
  applied(index, Active{index, set, std::nullopt});
}

void FaultSchedule::heal_now(const Active& a, std::string_view why) {
  const plan::FaultSpec& f = plan_.faults[a.fault];
  auto done = [&](bool ok) {
    std::lock_guard lock(mu_);
    --active_[a.fault];
    if (ok) ++counts_.healed;
  };
  if (is_process(f.action)) {
    const std::string& node = a.nodes.front();
    auto r = chaos::heal(controls_.process, f.action, node);
    if (!r) {
      record_error(a.fault, node, r.error().message);
      done(false);
      return;
    }
    done(true);
    hooks_.event("fault.end",
                 fields(a.fault, node, fmt::format("{} {}", heal_name(f.action), why)));
    nemesis(heal_name(f.action), {node}, "");
    return;
  }
  json::object o = json::parse(fields(a.fault, "", fmt::format("heal {}", why))).as_object();
  o["nodes"] = strings(a.nodes);
  bool ok = true;
  if (a.handle) {
    o["handle"] = *a.handle;
    if (controls_.links) {
      if (auto r = controls_.links->heal(*a.handle); !r) {
        record_error(a.fault, "", r.error().message);
        ok = false;
      }
    }
  } else if (f.action == FaultAction::clock && controls_.clock) {
    for (const auto& n : a.nodes) {
      if (auto r = controls_.clock->reset(n); !r) {
        record_error(a.fault, n, r.error().message);
        ok = false;
        continue;  // still skewed: stop() resets it again
      }
      std::lock_guard lock(mu_);
      skewed_.erase(n);
    }
  }
  done(ok);
  if (!ok) return;
  hooks_.event("fault.end", json::serialize(o));
  nemesis("heal", a.nodes, "");
}

void FaultSchedule::stop() {
  std::lock_guard serial(stop_mu_);
  std::vector<Step> pending;
  std::vector<Active> held;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    pending = std::move(steps_);
    steps_.clear();
    held = std::move(held_);
    held_.clear();
  }
  std::sort(pending.begin(), pending.end(),
            [](const Step& a, const Step& b) { return a.seq < b.seq; });
  std::vector<size_t> late;
  for (const auto& step : pending) {
    if (step.heal) {
      heal_now(*step.heal, "at the end of the main phase");
    } else {
      late.push_back(step.fault);
    }
  }
  for (const auto& a : held) heal_now(a, "at the end of the main phase");
  for (size_t fault : late) record_skip(fault, "the main phase ended before its time came");
  // Whatever a heal above could not undo.
  if (controls_.links) controls_.links->heal_all();
  std::set<std::string> skewed;
  {
    std::lock_guard lock(mu_);
    skewed = std::move(skewed_);
    skewed_.clear();
  }
  if (controls_.clock) {
    for (const auto& n : skewed) (void)controls_.clock->reset(n);
  }
}

}  // namespace fl::run
