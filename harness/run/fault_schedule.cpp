#include "harness/run/fault_schedule.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>

#include "common/units.h"

namespace fl::run {
namespace {

namespace json = boost::json;
using plan::FaultAction;

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

}  // namespace

FaultSchedule::FaultSchedule(std::vector<plan::FaultSpec> faults,
                             std::vector<plan::Instance> instances, chaos::ProcessControl& control,
                             uint64_t seed, FaultScheduleHooks hooks)
    : faults_(std::move(faults)),
      instances_(std::move(instances)),
      control_(control),
      rng_(Rng(seed).fork("faults")),
      hooks_(std::move(hooks)) {}

FaultSchedule::~FaultSchedule() { stop(); }

void FaultSchedule::start(std::chrono::steady_clock::time_point origin) {
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < faults_.size(); ++i) {
      steps_.push_back({origin + faults_[i].at, seq_++, i, false, {}});
    }
  }
  thread_ = std::thread([this] { loop(); });
}

FaultSchedule::Counts FaultSchedule::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::string FaultSchedule::fields(size_t fault, std::string_view node, std::string detail) const {
  const plan::FaultSpec& f = faults_[fault];
  json::object o;
  if (!node.empty()) o["node"] = node;
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
    Step step = *next;
    steps_.erase(next);
    lock.unlock();
    if (step.heal) {
      const auto& f = faults_[step.fault];
      heal_now(step, fmt::format("after {}", format_duration(f.duration.value_or(Duration(0)))));
    } else {
      fire(step.fault);
    }
    lock.lock();
  }
}

void FaultSchedule::fire(size_t index) {
  const plan::FaultSpec& f = faults_[index];
  const std::string_view action = plan::to_string(f.action);
  auto resolved = chaos::resolve(f.target, instances_, hooks_.nodes(), hooks_.ask, rng_);
  if (resolved.nodes.empty()) {
    hooks_.event("fault.skipped", fields(index, "", resolved.skipped));
    nemesis(action, {}, "skipped: " + resolved.skipped);
    std::lock_guard lock(mu_);
    ++counts_.skipped;
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
    hooks_.event("fault.start", json::serialize(start_fields));
    nemesis(action, {node}, "");
    auto r = chaos::inject(control_, f.action, node);
    std::lock_guard lock(mu_);
    if (!r) {
      ++counts_.errors;
      hooks_.event("fault.error", fields(index, node, r.error().message));
      continue;
    }
    ++counts_.injected;
    if (restart) {
      hooks_.event("fault.end", fields(index, node, "ready again"));
      nemesis(heal_name(f.action), {node}, "");
      ++counts_.healed;
    } else if (f.duration) {
      steps_.push_back({std::chrono::steady_clock::now() + *f.duration, seq_++, index, true, node});
      cv_.notify_all();
    } else if (f.action == FaultAction::pause) {
      // A pause without a duration is healed by stop(): a process is never left stopped.
      held_.push_back({{}, seq_++, index, true, node});
    }
  }
}

void FaultSchedule::heal_now(const Step& step, std::string_view why) {
  const plan::FaultSpec& f = faults_[step.fault];
  auto r = chaos::heal(control_, f.action, step.node);
  std::lock_guard lock(mu_);
  if (!r) {
    ++counts_.errors;
    hooks_.event("fault.error", fields(step.fault, step.node, r.error().message));
    return;
  }
  ++counts_.healed;
  hooks_.event("fault.end",
               fields(step.fault, step.node, fmt::format("{} {}", heal_name(f.action), why)));
  nemesis(heal_name(f.action), {step.node}, "");
}

void FaultSchedule::stop() {
  std::lock_guard serial(stop_mu_);
  std::vector<Step> pending;
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
    pending.insert(pending.end(), held_.begin(), held_.end());
    held_.clear();
  }
  std::sort(pending.begin(), pending.end(),
            [](const Step& a, const Step& b) { return a.seq < b.seq; });
  for (const auto& step : pending) {
    if (step.heal) {
      heal_now(step, "at the end of the main phase");
    } else {
      hooks_.event("fault.skipped",
                   fields(step.fault, "", "the main phase ended before its time came"));
      std::lock_guard lock(mu_);
      ++counts_.skipped;
    }
  }
}

}  // namespace fl::run
