#include "harness/run/run.h"

#include "common/exit_codes.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/rng.h"
#include "common/units.h"
#include "chaos/resp_clock_control.h"
#include "harness/check/checker.h"
#include "harness/check/evidence.h"
#include "harness/check/scope.h"
#include "harness/history/history.h"
#include "harness/load/runner.h"
#include "harness/plan/fault.h"
#include "harness/report/junit.h"
#include "harness/report/html.h"
#include "harness/report/results.h"
#include "harness/report/run_facts.h"
#include "harness/rundir/run_dir.h"
#include "harness/run/collect.h"
#include "harness/run/fault_schedule.h"
#include "harness/run/gate_check.h"
#include "harness/run/session.h"

#include <boost/json.hpp>
#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace fl::run {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::nanoseconds;

constexpr std::string_view kVersion = "0.1.0";

double ms(nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

// The database's shard count, for the client's routing of keys. A quorum-mode cluster is one
// ring of nodes (every member shard 0) and never redirects.
int db_shards(const plan::DbCluster& db) {
  if (!db.enabled || db.replication == plan::Replication::quorum) return 1;
  return std::max(1, db.shards);
}

// The nodes the workload talks to: its `targets` (ids or groups) in order, else every reference
// db instance, else every node; at the addresses they listen on.
result<std::vector<load::Endpoint>> node_endpoints(
    const plan::WorkloadSpec& w, const std::vector<supervisor::NodeStatus>& nodes) {
  std::vector<load::Endpoint> out;
  auto add = [&](const supervisor::NodeStatus& n) { out.push_back({n.id, n.host, n.port}); };
  if (!w.targets.empty()) {
    for (const auto& t : w.targets) {
      size_t before = out.size();
      for (const auto& n : nodes) {
        if (n.id == t || n.group == t) add(n);
      }
      if (out.size() == before) {
        return Error(errc::not_found, fmt::format("workload target '{}' is not a node", t));
      }
    }
    return out;
  }
  // Defaults (docs/workloads.md): a log workload talks to the broker; others to the LBs, else
  // the first cache group, else the db nodes, else every node.
  auto add_kind = [&](std::string_view kind, bool first_group_only) {
    std::string group;
    for (const auto& n : nodes) {
      if (n.kind != kind) continue;
      if (first_group_only && !group.empty() && n.group != group) continue;
      group = n.group;
      add(n);
    }
  };
  if (w.kind == "log") add_kind("broker", false);
  if (out.empty()) add_kind("lb", false);
  if (out.empty()) add_kind("cache", true);
  if (out.empty()) add_kind("db", false);
  if (out.empty()) {
    for (const auto& n : nodes) add(n);
  }
  if (out.empty()) return Error(errc::not_found, "the plan starts no node to send load to");
  return out;
}

// The same, at the addresses the network gives the harness's client (its "client" links: a
// proxy listener each with backend = "proxy"), for the load and its final reads.
result<std::vector<load::Endpoint>> endpoints(const plan::WorkloadSpec& w,
                                              const std::vector<supervisor::NodeStatus>& nodes,
                                              Network& network) {
  auto out = node_endpoints(w, nodes);
  if (!out) return out;
  for (auto& e : *out) {
    auto c = network.client_endpoint(e.id, {e.host, e.port});
    if (!c) return c.error();
    e.host = c->host;
    e.port = c->port;
  }
  return out;
}

std::vector<check::RunEvent> read_events(const fs::path& path) {
  std::vector<check::RunEvent> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    check::RunEvent e;
    if (auto* t = o.if_contains("time"); t && t->is_int64()) e.time = t->as_int64();
    if (auto* t = o.if_contains("type"); t && t->is_string()) e.type = t->as_string();
    if (auto* n = o.if_contains("node"); n && n->is_string()) e.node = n->as_string();
    if (auto* d = o.if_contains("detail"); d && d->is_string()) e.detail = d->as_string();
    if (auto* x = o.if_contains("expected"); x && x->is_bool()) e.expected = x->as_bool();
    if (auto* a = o.if_contains("action"); a && a->is_string()) e.action = a->as_string();
    if (auto* sh = o.if_contains("shard"); sh && sh->is_int64()) {
      e.shard = static_cast<int>(sh->as_int64());
    }
    if (auto* r = o.if_contains("role"); r && r->is_string()) e.role = r->as_string();
    out.push_back(std::move(e));
  }
  return out;
}

// How the fault schedule reaches the run: events and the clock of the Session, nemesis ops in
// the history, and the nodes as the supervisor sees them.
FaultScheduleHooks fault_hooks(Session& s, history::Writer* history) {
  FaultScheduleHooks h;
  h.event = [&s](std::string_view type, std::string fields) { s.event(type, fields); };
  h.now = [&s] { return s.now(); };
  h.history = history;
  h.nodes = [&s] {
    std::vector<chaos::NodeAddress> out;
    for (const auto& n : s.nodes()) {
      const bool running = n.pid != 0 && (n.state == supervisor::NodeState::ready ||
                                           n.state == supervisor::NodeState::starting);
      out.push_back({n.id, n.host, n.port, running});
    }
    return out;
  };
  h.ask = [](const chaos::NodeAddress& n) {
    return chaos::query_role(n.host, n.port, std::chrono::milliseconds(300));
  };
  return h;
}

report::PhaseMetrics phase_metrics(std::string name, const load::PhaseSummary& p) {
  report::PhaseMetrics m;
  m.name = std::move(name);
  m.ok = p.ok;
  m.fail = p.fail;
  m.declined = p.declined;
  m.info = p.info;
  m.late = p.late;
  m.ops_per_sec = p.ops_per_sec;
  m.latency = {ms(p.p50), ms(p.p90), ms(p.p99), ms(p.p999), ms(p.max)};
  return m;
}

// Prints live progress until stopped: a line rewritten in place on a terminal, else a plain
// line every 5 seconds.
class ProgressPrinter {
 public:
  ProgressPrinter(const std::vector<std::unique_ptr<load::Runner>>& runners, nanoseconds total,
                  bool enabled)
      : runners_(runners), total_(total), tty_(::isatty(STDERR_FILENO) != 0) {
    if (enabled) thread_ = std::thread([this] { loop(); });
  }
  ~ProgressPrinter() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    const auto period = tty_ ? std::chrono::milliseconds(500) : std::chrono::milliseconds(5000);
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period, [&] { return done_; })) {
      auto p = progress();
      std::string line = fmt::format(
          "{:>5.1f}/{:.0f}s  {:>8.0f} ops/s  ok {}  fail {}  info {}  late {}  p99 {:.2f}ms",
          static_cast<double>(p.elapsed.count()) / 1e9, static_cast<double>(total_.count()) / 1e9,
          p.recent_ops_per_sec, p.ok, p.fail, p.info, p.late, ms(p.p99));
      if (tty_) {
        fmt::print(stderr, "\r\x1b[2K{}", line);
      } else {
        fmt::print(stderr, "progress: {}\n", line);
      }
      std::fflush(stderr);
    }
    if (tty_) fmt::print(stderr, "\r\x1b[2K");
  }

  // Every workload's progress summed: counts and rates add up, elapsed and p99 take the largest.
  load::Progress progress() const {
    load::Progress sum;
    for (const auto& runner : runners_) {
      auto p = runner->progress();
      sum.elapsed = std::max(sum.elapsed, p.elapsed);
      sum.started += p.started;
      sum.ok += p.ok;
      sum.fail += p.fail;
      sum.info += p.info;
      sum.late += p.late;
      sum.recent_ops_per_sec += p.recent_ops_per_sec;
      sum.p99 = std::max(sum.p99, p.p99);
    }
    return sum;
  }

  const std::vector<std::unique_ptr<load::Runner>>& runners_;
  nanoseconds total_;
  bool tty_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

void fill_resources(report::RunReport& r) {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  r.harness_cpu_seconds = secs(ru.ru_utime) + secs(ru.ru_stime);
  r.harness_max_rss_bytes = static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

int exit_code_of(check::Verdict v) {
  switch (v) {
    case check::Verdict::valid: return kExitOk;
    case check::Verdict::invalid: return kExitViolation;
    case check::Verdict::unknown: return kExitUnknown;
  }
  return kExitHarness;
}

RunOutcome finish(report::RunReport& r, const fs::path& dir) {
  fill_resources(r);
  RunOutcome out;
  out.exit_code = r.exit_code;
  out.dir = dir;
  if (!dir.empty()) {
    // The fault timeline is what events.jsonl recorded, also when the run ended in an error.
    if (auto events = common::read_whole_file(dir / "events.jsonl"); events) {
      r.faults = report::fault_timeline(*events);
    }
    if (auto w = rundir::write_atomic(dir / "results.json", report::results_json(r)); !w) {
      log::error("{}", w.error().message);
    }
    if (auto w = rundir::write_atomic(dir / "junit.xml", report::junit_xml(r)); !w) {
      log::error("{}", w.error().message);
    }
    if (auto h = report::write_html_report(dir); !h) {
      log::error("report.html: {}", h.error().message);
    }
  }
  out.summary = report::terminal_summary(r, ::isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR"));
  return out;
}

// The cluster's own evidence at the end of the run, while it still runs (collect.h): INFO of
// every reference node, and with a convergence check, after its quiet period, the shards'
// DIGESTs and the caches' entries against the DB (written to convergence.json).
check::Evidence collect_evidence(const plan::Plan& plan, Session& s,
                                 const std::vector<plan::CheckSpec>& specs, bool interrupted) {
  std::map<std::string, int> shard_of_instance;
  for (const auto& inst : plan.instances()) shard_of_instance[inst.id] = inst.shard;
  std::vector<CollectTarget> targets;
  for (const auto& n : s.nodes()) {
    const bool running = n.pid != 0 && n.state == supervisor::NodeState::ready;
    auto sh = shard_of_instance.find(n.id);
    targets.push_back({n.id, n.group, n.kind, sh == shard_of_instance.end() ? -1 : sh->second,
                       n.host, n.port, running});
  }
  CollectOptions opts;
  opts.shards = db_shards(plan.cluster.db);
  opts.compare_digests = plan.cluster.db.replication != plan::Replication::quorum;
  check::Evidence ev;
  bool convergence = false;
  Duration quiet{0}, deadline{0};
  for (const auto& spec : specs) {
    if (spec.kind != "convergence") continue;
    convergence = true;
    quiet = std::max(quiet, spec.quiet);
    deadline = std::max(deadline, spec.deadline);
  }
  opts.deadline = deadline;
  if (convergence) {
    s.event("phase.quiet", fmt::format(R"({{"duration_ns":{}}})", quiet.count()));
    if (!interrupted) std::this_thread::sleep_for(quiet);
    s.event("phase.collect");
    ev.convergence = collect_convergence(targets, opts);
    ev.convergence->quiet_ns = interrupted ? 0 : quiet.count();
    if (auto w = rundir::write_atomic(s.dir() / "convergence.json",
                                      check::convergence_json(*ev.convergence));
        !w) {
      log::error("{}", w.error().message);
    }
  }
  ev.nodes = collect_info(targets, opts);
  return ev;
}

}  // namespace

RunOutcome execute(const plan::Plan& plan, const RunOptions& options,
                   const std::function<void(std::function<void()>)>& stop_hook) {
  report::RunReport r;
  r.faultline_version = std::string(kVersion);
  r.plan = plan.name;
  r.plan_file = plan.source.string();
  r.started_at = rundir::utc_timestamp();
  r.versions = report::build_versions(kVersion);
  if (const char* delay = std::getenv("FAULTLINE_TEST_DELAY"); delay && *delay) {
    r.versions.test_delay = delay;
  }
  r.cluster = report::cluster_summary(plan);
  auto fail = [&](const fs::path& dir, std::string why) {
    r.verdict = "error";
    r.error = std::move(why);
    r.exit_code = kExitHarness;
    return finish(r, dir);
  };
  if (plan.workloads.empty()) {
    return fail({}, fmt::format("plan '{}' has no [workload] to run; `faultline up` starts its "
                                "cluster without load",
                                plan.name));
  }
  const auto& workloads = plan.workloads;
  const size_t count = workloads.size();
  const nanoseconds duration = options.duration.value_or(plan.duration);
  // With several workloads: the kinds joined by '+', the rates and concurrencies summed, and
  // the mode when they agree ("mixed" when not); each workload's phases are reported apart.
  for (const auto& w : workloads) {
    const bool open = w.mode == plan::LoadMode::open;
    r.workload += (r.workload.empty() ? "" : "+") + w.kind;
    const std::string mode = open ? "open" : "closed";
    r.mode = r.mode.empty() || r.mode == mode ? mode : "mixed";
    r.target_rate += open ? w.rate : 0;
    r.concurrency += w.concurrency;
  }
  r.planned_seconds = static_cast<double>(duration.count()) / 1e9;

  SessionOptions sopts;
  sopts.out = options.out;
  sopts.seed = options.seed;
  sopts.echo_logs = options.echo_logs;
  sopts.command = "run";
  sopts.bindir = options.bindir;
  auto created = Session::create(plan, std::move(sopts));
  if (!created) return fail({}, created.error().message);
  Session& s = **created;
  r.seed = s.seed();
  r.run_dir = s.dir().string();

  std::atomic<bool> stopped{false};
  std::mutex runners_mu;  // guards `runners` against the stop hook while they are made
  std::vector<std::unique_ptr<load::Runner>> runners;
  std::mutex recovery_mu;  // wakes the recovery phase on Ctrl-C
  std::condition_variable recovery_cv;
  stop_hook([&] {
    stopped = true;
    {
      std::lock_guard lock(recovery_mu);
    }
    recovery_cv.notify_all();
    std::lock_guard lock(runners_mu);
    for (auto& runner : runners) runner->stop();
  });

  if (auto started = s.start_cluster(); !started) {
    if (stopped) return fail(s.dir(), "interrupted while starting the cluster");
    return fail(s.dir(), started.error().message);
  }
  for (const auto& n : s.nodes()) {
    r.nodes.push_back({n.id, n.kind, fmt::format("{}:{}", n.host, n.port), n.pid});
  }
  std::vector<std::vector<load::Endpoint>> targets;
  for (const auto& w : workloads) {
    auto t = endpoints(w, s.nodes(), s.network());
    if (!t) return fail(s.dir(), t.error().message);
    targets.push_back(std::move(*t));
  }
  auto writer = history::Writer::open(s.dir() / "history.jsonl");
  if (!writer) return fail(s.dir(), writer.error().message);

  // One Runner per workload, each on its own thread and io_context, side by side. Their process
  // ids interleave (plan::workload_process) and their keys carry the workload's prefix. The
  // first keeps the single-workload seed stream, so a one-workload plan replays as before.
  {
    std::lock_guard lock(runners_mu);
    for (size_t i = 0; i < count; ++i) {
      load::RunnerOptions ro;
      ro.shards = db_shards(plan.cluster.db);
      ro.process_offset = static_cast<int64_t>(i);
      ro.process_stride = static_cast<int64_t>(count);
      const uint64_t seed = Rng(s.seed()).fork(i == 0 ? "load" : "load:" + workloads[i].name).seed();
      runners.push_back(std::make_unique<load::Runner>(workloads[i], targets[i], **writer, seed,
                                                       s.start_time(), ro));
      if (stopped) runners.back()->stop();
    }
  }
  // Links through the run's network backend (none on direct: plan validation rejects link
  // faults there); clocks over CLOCK (reference nodes) or libfaketime (faketime = true).
  chaos::LinkControl* links =
      plan::network_backend(plan) == plan::NetworkBackend::direct ? nullptr : &s.network();
  chaos::NodeClockControl clocks(plan, s.supervisor());
  FaultControls controls{s.process(), links, &clocks};
  FaultSchedule faults(plan, controls, s.seed(), duration, fault_hooks(s, writer->get()));
  s.event("phase.main", fmt::format(R"({{"duration_ns":{}}})", duration.count()));
  // [[fault]] `at` counts from the start of the recorded phase, after the (longest) warm-up.
  Duration warmup{0};
  for (const auto& w : workloads) warmup = std::max(warmup, w.warmup);
  if (!plan.faults.empty()) faults.start(std::chrono::steady_clock::now() + warmup);
  // Final reads begin once every workload's main phase has ended, and faults heal before them,
  // so they read what the healed cluster holds.
  // Between them: every fault healed, then `recovery` with no load at all (Jepsen's final
  // generator; the VOPR's liveness phase), cut short by Ctrl-C.
  const Duration recovery = plan.recovery_time();
  std::barrier final_barrier(static_cast<std::ptrdiff_t>(count), [&]() noexcept {
    faults.stop();
    s.event("phase.recovery", fmt::format(R"({{"duration_ns":{}}})", recovery.count()));
    {
      std::unique_lock lock(recovery_mu);
      recovery_cv.wait_for(lock, recovery, [&] { return stopped.load(); });
    }
    s.event("phase.final-reads");
  });
  std::vector<result<load::Summary>> summaries(count, Error(errc::internal, "load did not run"));
  {
    ProgressPrinter progress(runners, duration, options.progress);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < count; ++i) {
      threads.emplace_back([&, i] {
        bool arrived = false;
        summaries[i] = runners[i]->run(duration, [&] {
          arrived = true;
          final_barrier.arrive_and_wait();
        });
        if (!arrived) {
          // A harness failure before the final phase: release the others, and end their load.
          final_barrier.arrive_and_drop();
          std::lock_guard lock(runners_mu);
          for (auto& runner : runners) runner->stop();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  faults.stop();
  (*writer)->close();
  r.history_ops = (*writer)->count();
  auto specs = plan::run_checks(plan);
  check::Evidence evidence = collect_evidence(plan, s, specs, stopped);
  for (auto& node : r.nodes) {
    for (const auto& st : evidence.nodes) {
      if (st.id != node.id) continue;
      node.group = st.group;
      node.shard = st.shard;
      node.info = st.info;
      node.info_error = st.error;
    }
  }
  r.versions.nodes = report::node_versions(r.nodes);
  s.stop_cluster();
  r.elapsed_seconds = static_cast<double>(s.now()) / 1e9;
  s.event("run.stop", stopped ? R"({"reason":"interrupted"})" : R"({"reason":"done"})");
  for (size_t i = 0; i < count; ++i) {
    if (!summaries[i]) return fail(s.dir(), summaries[i].error().message);
    const std::string prefix = count == 1 ? "" : workloads[i].name + "/";
    r.phases.push_back(phase_metrics(prefix + "main", summaries[i]->main));
    if (workloads[i].final_reads) {
      r.phases.push_back(phase_metrics(prefix + "final-reads", summaries[i]->final_reads));
    }
  }

  // Judge what is on disk, as `faultline check` would: the file is the record of the run.
  // Read straight into the compact form, line by line: the history is never held as Ops.
  auto h = history::read_compact(s.dir() / "history.jsonl", history::Format::jsonl);
  auto events = read_events(s.dir() / "events.jsonl");
  // Per shard of a sharded db, the main phase: operations invoked before the final reads.
  if (h && plan.cluster.db.enabled && plan.cluster.db.replication != plan::Replication::quorum) {
    std::optional<int64_t> main_end;
    for (const auto& e : events) {
      if (e.type == "phase.final-reads") main_end = e.time;
    }
    r.shards = report::shard_metrics(*h, db_shards(plan.cluster.db), main_end);
  }
  check::Verdict overall = check::Verdict::valid;
  for (auto spec : specs) {
    spec.shards = plan.cluster.db.enabled ? plan.cluster.db.shards : 1;
    // The workload it judges: the one named, else the only one; none = every operation.
    std::string scope = spec.workload;
    if (scope.empty() && count == 1) scope = workloads.front().name;
    auto checker = check::make_checker(spec);
    if (!checker) return fail(s.dir(), checker.error().message);
    const auto t0 = std::chrono::steady_clock::now();
    check::Result res;
    if (h && count > 1 && !scope.empty()) {
      const auto* w = plan.find_workload(scope);
      if (!w) return fail(s.dir(), fmt::format("check names no workload '{}'", scope));
      const auto own = check::workload_ops(*h, static_cast<size_t>(w - workloads.data()), count);
      res = (*checker)->check({own, events, &evidence});
    } else if (h) {
      res = (*checker)->check({*h, events, &evidence});
    } else if (h.error().code == make_error_code(errc::parse_error)) {
      // A malformed history is every checker's `unknown`, with the reason.
      res.name = spec.kind;
      res.verdict = check::Verdict::unknown;
      res.summary = "unknown: malformed history: " + h.error().message;
    } else {
      return fail(s.dir(), h.error().message);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    overall = check::worst(overall, res.verdict);
    r.checks.push_back({spec.kind, spec.kind == "linearizable" ? spec.model : std::string(),
                        std::string(check::to_string(res.verdict)), res.summary, res.details_json,
                        secs, scope});
  }
  // Fixed gates after the checks, on the main phase(s)' metrics: a missed one fails the run.
  r.gates = evaluate_gates(r, plan.gates.limits);
  for (const auto& g : r.gates) {
    if (!g.passed) overall = check::worst(overall, check::Verdict::invalid);
  }
  r.verdict = std::string(check::to_string(overall));
  r.exit_code = exit_code_of(overall);
  return finish(r, s.dir());
}

}  // namespace fl::run
