#include "harness/load/runner.h"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <mutex>

#include "common/log.h"
#include "harness/load/histogram.h"
#include "harness/load/keys.h"
#include "harness/load/resp_client.h"
#include "harness/load/schedule.h"
#include "harness/load/workload.h"

namespace fl::load {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using namespace std::chrono_literals;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Most connections a spec with `connections = 0` gets (one per process up to this).
constexpr int kMaxDefaultConnections = 64;
// The final phase ends after this long even if keys remain unread (a broken cluster).
constexpr auto kFinalPhaseLimit = 60s;
// How often the progress snapshot is refreshed, and the window of its rate and p99.
constexpr auto kProgressTick = 250ms;
constexpr int kProgressWindowTicks = 4;

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

struct PhaseStats {
  int64_t started = 0, ok = 0, fail = 0, declined = 0, info = 0, late = 0, missed = 0;
  Histogram latency;
  TimePoint begin{}, end{};

  PhaseSummary summary() const {
    PhaseSummary s;
    s.started = started;
    s.ok = ok;
    s.fail = fail;
    s.declined = declined;
    s.info = info;
    s.late = late;
    s.missed = missed;
    s.elapsed = end - begin;
    double secs = std::chrono::duration<double>(s.elapsed).count();
    s.ops_per_sec = secs > 0 ? static_cast<double>(ok + fail + info) / secs : 0;
    s.p50 = latency.quantile_ns(0.5);
    s.p90 = latency.quantile_ns(0.9);
    s.p99 = latency.quantile_ns(0.99);
    s.p999 = latency.quantile_ns(0.999);
    s.max = std::chrono::nanoseconds(latency.max());
    s.mean = std::chrono::nanoseconds(static_cast<int64_t>(latency.mean()));
    return s;
  }
};

enum class Phase { setup, warmup, main, final_reads, done };

}  // namespace

struct Runner::Impl {
  Impl(plan::WorkloadSpec s, std::vector<Endpoint> e, history::Writer& h, uint64_t seed,
       TimePoint start, RunnerOptions o)
      : spec(std::move(s)),
        options(o),
        history(h),
        run_start(start),
        rng(Rng(seed).fork("load")),
        keys(make_key_chooser(spec)) {
    connections = spec.connections > 0 ? spec.connections
                                       : std::min(spec.concurrency, kMaxDefaultConnections);
    ClientOptions copts;
    copts.connections = connections;
    copts.pipeline = std::max(spec.pipeline, 1);
    copts.shards = std::max(options.shards, 1);
    copts.balance = spec.balance;
    client = std::make_unique<RespClient>(io, std::move(e), copts);
    next_process = spec.concurrency;
  }

  plan::WorkloadSpec spec;
  RunnerOptions options;
  history::Writer& history;
  TimePoint run_start;
  Rng rng;
  std::unique_ptr<KeyChooser> keys;
  std::unique_ptr<Workload> workload;
  int connections = 1;
  asio::io_context io{1};
  std::unique_ptr<RespClient> client;

  Phase phase = Phase::setup;
  TimePoint phase_end{};
  std::atomic<bool> stop_requested{false};
  asio::steady_timer dispatch_timer{io};
  int active = 0;  // worker coroutines still running in the current phase
  asio::steady_timer idle_timer{io};
  std::optional<Error> failure;

  struct Worker {
    int64_t process = 0;
    size_t lane = 0;
  };
  std::vector<Worker> workers;
  std::vector<size_t> free_workers;
  int64_t next_process = 0;

  PhaseStats warm, main, final;
  PhaseStats* current = nullptr;
  bool recording = false;

  // Progress, written by the io thread, read by any.
  TimePoint began{};
  Histogram window;
  std::vector<int64_t> window_completed;  // completions at each of the last ticks
  int64_t ticks = 0;
  std::chrono::nanoseconds window_p99{0};
  asio::steady_timer progress_timer{io};
  bool shutting_down = false;
  mutable std::mutex progress_mu;
  Progress snapshot;

  bool phase_over() const { return stop_requested.load() || Clock::now() >= phase_end; }

  int64_t ns_since_start(TimePoint t) const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - run_start).count();
  }

  void record(const history::Op& op) {
    if (recording) history.append(op);
  }

  // The history id of the runner's n-th logical process.
  int64_t process_id(int64_t n) const {
    return options.process_offset + n * std::max<int64_t>(options.process_stride, 1);
  }

  asio::awaitable<void> perform(Worker& w, Operation op, TimePoint intended) {
    PhaseStats& stats = *current;
    ++stats.started;
    TimePoint start = Clock::now();
    history::Op invoke;
    invoke.time = ns_since_start(start);
    invoke.process = process_id(w.process);
    invoke.type = history::Type::invoke;
    invoke.f = op.f;
    invoke.key = op.key;
    invoke.value = op.value;
    record(invoke);

    TimePoint deadline = start + spec.timeout;
    CallResult r = co_await client->call(w.lane, op.command, deadline);
    Outcome out;
    switch (r.status) {
      case CallResult::Status::reply: {
        Interpretation in = workload->interpret(op, r.reply);
        out = std::move(in.outcome);
        if (!in.followup.empty()) {
          CallResult f = co_await client->call(w.lane, in.followup, deadline);
          if (f.status != CallResult::Status::reply) {
            log::debug("load: {} {} follow-up {}: {}", op.f, op.key.value_or(""), in.followup[0],
                       f.error);
          }
        }
        break;
      }
      case CallResult::Status::timeout:
        out = {op.read_only ? history::Type::fail : history::Type::info, {}, "timeout"};
        break;
      case CallResult::Status::not_sent:
        out = {history::Type::fail, {}, std::move(r.error)};
        break;
      case CallResult::Status::lost:
        out = {op.read_only ? history::Type::fail : history::Type::info, {}, std::move(r.error)};
        break;
    }
    workload->completed(op, out);
    TimePoint end = Clock::now();

    history::Op done;
    done.time = ns_since_start(end);
    done.process = process_id(w.process);
    done.type = out.type;
    done.f = std::move(op.f);
    done.key = std::move(op.key);
    done.value = out.type == history::Type::ok || !out.value.is_null() ? std::move(out.value)
                                                                       : std::move(op.value);
    done.error = std::move(out.error);
    record(done);

    switch (out.type) {
      case history::Type::ok:
        ++stats.ok;
        break;
      case history::Type::fail:
        ++stats.fail;
        if (done.error == history::kPreconditionFailed) ++stats.declined;
        break;
      default:
        ++stats.info;
        break;
    }
    auto latency = end - intended;
    stats.latency.record(latency);
    if (recording) window.record(latency);
    // A process whose operation is indeterminate never invokes again (DESIGN.md, contract 5).
    if (out.type == history::Type::info) w.process = next_process++;
  }

  void worker_done() {
    if (--active == 0) idle_timer.cancel();
  }

  asio::awaitable<void> wait_idle() {
    while (active > 0) {
      idle_timer.expires_at(TimePoint::max());
      co_await idle_timer.async_wait(kUseTuple);
    }
  }

  // Open loop: one worker runs operations as long as the schedule hands it starts.
  asio::awaitable<void> open_worker(size_t wi, OpenLoopSchedule& schedule,
                                    OpenLoopSchedule::Start s, bool warmup) {
    Worker& w = workers[wi];
    for (;;) {
      Operation op = workload->next(rng, *keys, w.process, warmup);
      co_await perform(w, std::move(op), s.intended);
      if (phase_over()) break;
      auto next = schedule.finished();
      if (!next) {
        free_workers.push_back(wi);
        break;
      }
      s = *next;
    }
    worker_done();
  }

  asio::awaitable<void> open_phase(bool warmup) {
    OpenLoopSchedule schedule(spec.rate, current->begin, spec.concurrency);
    free_workers.clear();
    for (size_t i = workers.size(); i-- > 0;) free_workers.push_back(i);
    std::vector<OpenLoopSchedule::Start> starts;
    active = 1;  // the dispatcher itself
    while (!phase_over()) {
      dispatch_timer.expires_at(std::min(schedule.next_due(), phase_end));
      co_await dispatch_timer.async_wait(kUseTuple);
      if (phase_over()) break;
      starts.clear();
      schedule.advance(Clock::now(), starts);
      current->late = schedule.late();  // live, for progress()
      for (const auto& s : starts) {
        size_t wi = free_workers.back();
        free_workers.pop_back();
        ++active;
        asio::co_spawn(io, open_worker(wi, schedule, s, warmup), rethrow);
      }
    }
    current->end = std::min(Clock::now(), phase_end);
    current->late = schedule.late();
    current->missed = static_cast<int64_t>(schedule.backlog());
    worker_done();
    co_await wait_idle();
  }

  asio::awaitable<void> closed_worker(size_t wi, bool warmup) {
    Worker& w = workers[wi];
    while (!phase_over()) {
      Operation op = workload->next(rng, *keys, w.process, warmup);
      co_await perform(w, std::move(op), Clock::now());
    }
    worker_done();
  }

  asio::awaitable<void> closed_phase(bool warmup) {
    active = static_cast<int>(workers.size());
    for (size_t i = 0; i < workers.size(); ++i) {
      asio::co_spawn(io, closed_worker(i, warmup), rethrow);
    }
    co_await wait_idle();
    current->end = std::min(Clock::now(), phase_end);
  }

  asio::awaitable<void> final_worker(size_t wi) {
    Worker& w = workers[wi];
    while (Clock::now() < phase_end) {
      auto op = workload->final_op(w.process);
      if (!op) break;
      co_await perform(w, std::move(*op), Clock::now());
    }
    worker_done();
  }

  // Setup commands, spread over the connections; any failure is the harness's.
  asio::awaitable<void> setup_lane(size_t lane, const std::vector<Command>& cmds) {
    for (size_t i = lane; i < cmds.size() && !failure; i += static_cast<size_t>(connections)) {
      auto r =
          co_await client->call(lane, cmds[i], Clock::now() + std::max<Duration>(spec.timeout, 5s));
      std::string why;
      if (r.status != CallResult::Status::reply) {
        why = r.error;
      } else if (r.reply.type == resp::Type::error) {
        why = r.reply.str;
      }
      if (!why.empty()) {
        std::string cmd;
        for (const auto& a : cmds[i]) cmd += (cmd.empty() ? "" : " ") + a;
        failure = Error(errc::io_error, fmt::format("workload setup: {}: {}", cmd, why));
      }
    }
    worker_done();
  }

  void begin_phase(Phase p, PhaseStats& stats, Duration length, bool record_it) {
    phase = p;
    current = &stats;
    recording = record_it;
    stats.begin = Clock::now();
    phase_end = length == Duration::max() ? TimePoint::max() : stats.begin + length;
  }

  asio::awaitable<void> main_sequence(Duration duration) {
    auto cmds = workload->setup();
    if (!cmds.empty()) {
      active = std::min(connections, static_cast<int>(cmds.size()));
      for (int lane = 0; lane < active; ++lane) {
        asio::co_spawn(io, setup_lane(static_cast<size_t>(lane), cmds), rethrow);
      }
      co_await wait_idle();
      if (failure) co_return;
    }
    bool open = spec.mode == plan::LoadMode::open;
    if (spec.warmup > Duration::zero() && !stop_requested) {
      begin_phase(Phase::warmup, warm, spec.warmup, false);
      if (open) {
        co_await open_phase(true);
      } else {
        co_await closed_phase(true);
      }
    }
    begin_phase(Phase::main, main, duration, true);
    if (open) {
      co_await open_phase(false);
    } else {
      co_await closed_phase(false);
    }
  }

  asio::awaitable<void> final_sequence() {
    begin_phase(Phase::final_reads, final, kFinalPhaseLimit, true);
    active = static_cast<int>(workers.size());
    for (size_t i = 0; i < workers.size(); ++i) asio::co_spawn(io, final_worker(i), rethrow);
    co_await wait_idle();
    final.end = Clock::now();
  }

  asio::awaitable<void> progress_loop() {
    for (;;) {
      progress_timer.expires_after(kProgressTick);
      auto [ec] = co_await progress_timer.async_wait(kUseTuple);
      // cancel() cannot stop a wait whose expiry is already queued (drive() stops the context
      // between the two), so shut_down() also sets `shutting_down`.
      if (ec || shutting_down) co_return;
      update_progress();
    }
  }

  void update_progress() {
    int64_t completed = main.ok + main.fail + main.info + final.ok + final.fail + final.info;
    window_completed.push_back(completed);
    if (window_completed.size() > static_cast<size_t>(kProgressWindowTicks) + 1) {
      window_completed.erase(window_completed.begin());
    }
    Progress p;
    p.elapsed = Clock::now() - began;
    p.started = main.started + final.started;
    p.ok = main.ok + final.ok;
    p.fail = main.fail + final.fail;
    p.info = main.info + final.info;
    p.late = main.late;
    if (window_completed.size() > 1) {
      double secs = std::chrono::duration<double>(kProgressTick).count() *
                    static_cast<double>(window_completed.size() - 1);
      p.recent_ops_per_sec =
          static_cast<double>(window_completed.back() - window_completed.front()) / secs;
    }
    if (++ticks % kProgressWindowTicks == 0) {
      window_p99 = window.quantile_ns(0.99);
      window.reset();
    }
    p.p99 = window_p99.count() > 0 ? window_p99 : window.quantile_ns(0.99);
    std::lock_guard lock(progress_mu);
    snapshot = p;
  }

  // Runs the io_context until `work` ends. Connections and the progress timer stay pending
  // between calls. Exceptions out of coroutines are bugs: they are rethrown here.
  void drive(asio::awaitable<void> work) {
    std::exception_ptr error;
    asio::co_spawn(io, std::move(work), [this, &error](std::exception_ptr e) {
      error = e;
      io.stop();
    });
    io.restart();
    io.run();
    rethrow(error);
  }

  // Closes everything and runs what that sets off to its end.
  void shut_down() {
    client->close();
    shutting_down = true;
    progress_timer.cancel();
    io.restart();
    io.run();
    update_progress();
  }
};

Runner::Runner(plan::WorkloadSpec spec, std::vector<Endpoint> endpoints, history::Writer& history,
               uint64_t seed, std::chrono::steady_clock::time_point run_start,
               RunnerOptions options)
    : impl_(std::make_unique<Impl>(std::move(spec), std::move(endpoints), history, seed,
                                   run_start, options)) {}

Runner::~Runner() = default;

result<Summary> Runner::run(std::chrono::nanoseconds duration, std::function<void()> before_final) {
  Impl& m = *impl_;
  auto w = make_workload(m.spec);
  if (!w) return w.error();
  m.workload = std::move(*w);
  m.began = Clock::now();
  m.workers.resize(static_cast<size_t>(std::max(m.spec.concurrency, 1)));
  for (size_t i = 0; i < m.workers.size(); ++i) {
    m.workers[i].process = static_cast<int64_t>(i);
    m.workers[i].lane = i;
  }
  m.next_process = static_cast<int64_t>(m.workers.size());
  try {
    asio::co_spawn(m.io, m.progress_loop(), asio::detached);
    m.drive(m.main_sequence(duration));
    if (m.failure) {
      m.shut_down();
      return *m.failure;
    }
    m.update_progress();
    if (before_final) before_final();
    if (m.spec.final_reads) m.drive(m.final_sequence());
    m.shut_down();
  } catch (const std::exception& e) {
    return Error(errc::internal, fmt::format("load generator: {}", e.what()));
  }
  m.phase = Phase::done;
  Summary s;
  s.main = m.main.summary();
  s.final_reads = m.final.summary();
  s.mode = m.spec.mode;
  s.target_rate = m.spec.mode == plan::LoadMode::open ? m.spec.rate : 0;
  s.concurrency = m.spec.concurrency;
  s.connections = m.connections;
  s.processes = m.next_process;
  const auto& cs = m.client->stats();
  s.connects = cs.connects;
  s.failovers = cs.failovers;
  s.redirects = cs.redirects;
  s.retries = cs.retries;
  return s;
}

void Runner::stop() {
  impl_->stop_requested = true;
  asio::post(impl_->io, [m = impl_.get()] { m->dispatch_timer.cancel(); });
}

Progress Runner::progress() const {
  std::lock_guard lock(impl_->progress_mu);
  return impl_->snapshot;
}

}  // namespace fl::load
