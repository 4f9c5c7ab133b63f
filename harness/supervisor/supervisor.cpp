#include "harness/supervisor/supervisor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "common/log.h"
#include "common/units.h"
#include "harness/supervisor/node_log.h"
#include "harness/supervisor/port_allocator.h"
#include "harness/supervisor/probe.h"
#include "harness/supervisor/spawn.h"
#include "harness/supervisor/terminal_echo.h"

namespace fl::supervisor {

std::string_view to_string(NodeState s) {
  switch (s) {
    case NodeState::pending:
      return "pending";
    case NodeState::starting:
      return "starting";
    case NodeState::ready:
      return "ready";
    case NodeState::paused:
      return "paused";
    case NodeState::stopping:
      return "stopping";
    case NodeState::backoff:
      return "backoff";
    case NodeState::exited:
      return "exited";
  }
  return "unknown";
}

std::string_view to_string(Event::Kind k) {
  switch (k) {
    case Event::Kind::spawned:
      return "spawned";
    case Event::Kind::ready:
      return "ready";
    case Event::Kind::exited:
      return "exited";
    case Event::Kind::restarting:
      return "restarting";
    case Event::Kind::paused:
      return "paused";
    case Event::Kind::resumed:
      return "resumed";
    case Event::Kind::failed:
      return "failed";
  }
  return "unknown";
}

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

constexpr size_t kTailLines = 20;
// Log bytes handled per turn of the event loop for one node, so a spamming node cannot starve
// the others.
constexpr size_t kReadBudget = 256 * 1024;
// When echo falls this far behind a node's log, jump ahead (the file keeps everything).
constexpr uint64_t kMaxBacklog = 8 * 1024 * 1024;
constexpr uint64_t kKeepOnSkip = 64 * 1024;
// How long a process may take to disappear after SIGKILL before we call it stuck.
constexpr auto kKillWait = 10s;

const int kColors[] = {36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91};

std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

std::string describe_exit(std::optional<int> code, std::optional<int> sig) {
  if (code) return "exited with code " + std::to_string(*code);
  if (sig) return "was killed by " + signal_name(*sig);
  return "exited";
}

std::string describe_probe(const plan::ReadyProbe& p, const std::string& host, uint16_t port) {
  switch (p.kind) {
    case plan::ProbeKind::none:
      return "none";
    case plan::ProbeKind::tcp:
      return fmt::format("tcp {}:{}", host, port);
    case plan::ProbeKind::resp:
      return fmt::format("resp PING {}:{}", host, port);
    case plan::ProbeKind::http:
      return fmt::format("http GET {}:{}{}", host, port, p.path);
    case plan::ProbeKind::log:
      return fmt::format("log /{}/", p.pattern);
  }
  return "?";
}

struct Node {
  plan::Instance spec;
  NodeStatus st;
  std::vector<std::string> argv;  // Placement::wrap, then the command with templates expanded
  std::vector<std::string> wrap;  // Placement::wrap
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<std::regex> pattern;
  asio::ip::tcp::endpoint endpoint;

  std::unique_ptr<asio::posix::stream_descriptor> pidfd;
  std::unique_ptr<asio::steady_timer> backoff;
  uint64_t gen = 0;  // bumped on every spawn; stale callbacks compare against it
  Clock::time_point spawned_at;
  bool expected_exit = false;  // the harness asked the current process to go
  bool awaited = false;        // start() or restart() waits for this spawn: no policy restart
  bool busy = false;           // a verb is working on this node
  NodeState before_pause = NodeState::ready;
  std::string start_failure;  // why the current spawn never became ready

  NodeLog log;
  int wd = -1;
  bool log_probe = false;
  bool log_matched = false;
  bool read_posted = false;
  std::string prefix;
};

}  // namespace

struct Supervisor::Impl {
  Options opt;
  Clock::time_point created = Clock::now();
  // Declared first: destroyed last, after every object bound to it.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  // A timer that never fires; expiring it again wakes every coroutine waiting for "something
  // changed" so it can re-check its condition.
  asio::steady_timer changed{io, Clock::time_point::max()};
  std::thread thread;
  std::thread::id loop_id;

  PortAllocator ports;
  std::unique_ptr<TerminalEcho> echo;
  bool color = false;
  std::unique_ptr<asio::posix::stream_descriptor> inotify;

  std::vector<std::unique_ptr<Node>> nodes;  // creation order
  std::map<std::string, Node*, std::less<>> by_id;
  std::map<int, Node*> by_wd;
  size_t id_width = 0;
  // Options::link's answers by (from, to), so a pair is asked once over the Supervisor's life.
  std::map<std::pair<std::string, std::string>, Endpoint> links;
  int tasks = 0;  // detached coroutines still running
  bool shutting_down = false;
  bool shut_down = false;

  explicit Impl(Options o) : opt(std::move(o)), ports(PortAllocator::Options{{}, 0, 0, opt.host}) {}

  // ---- plumbing -------------------------------------------------------------------------------

  void notify() { changed.expires_at(Clock::time_point::max()); }

  // Waits until `pred` holds (true) or `deadline` passes (false).
  template <class Pred>
  asio::awaitable<bool> wait_until(Pred pred, Clock::time_point deadline) {
    using namespace asio::experimental::awaitable_operators;
    while (true) {
      if (pred()) co_return true;
      if (Clock::now() >= deadline) co_return false;
      if (deadline == Clock::time_point::max()) {
        co_await changed.async_wait(kTuple);
      } else {
        asio::steady_timer t(io, deadline);
        co_await (changed.async_wait(kTuple) || t.async_wait(kTuple));
      }
    }
  }

  // Runs a coroutine on the loop, counted so the destructor can wait for it.
  void detach(asio::awaitable<void> task) {
    ++tasks;
    asio::co_spawn(io, std::move(task), [this](std::exception_ptr e) {
      --tasks;
      notify();
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("supervisor: internal task failed: {}", ex.what());
        }
      }
    });
  }

  // Runs `task` on the loop thread and blocks the caller until it finishes.
  template <class T>
  T call(asio::awaitable<T> task) {
    std::promise<T> done;
    auto fut = done.get_future();
    asio::co_spawn(io, std::move(task), [&done](std::exception_ptr e, T v) {
      if (e)
        done.set_exception(e);
      else
        done.set_value(std::move(v));
    });
    return fut.get();
  }

  bool on_loop_thread() const { return std::this_thread::get_id() == loop_id; }

  void emit(Event::Kind kind, Node& n, std::string detail = {}, bool expected = false) {
    if (!opt.on_event) return;
    Event ev;
    ev.kind = kind;
    ev.node = n.st.id;
    ev.pid = n.st.pid;
    ev.time = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - created);
    if (kind == Event::Kind::exited) {
      ev.exit_code = n.st.exit_code;
      ev.exit_signal = n.st.exit_signal;
    }
    ev.expected = expected;
    ev.detail = std::move(detail);
    try {
      opt.on_event(ev);
    } catch (const std::exception& ex) {
      log::error("supervisor: on_event threw: {}", ex.what());
    }
  }

  Node* find(std::string_view id) {
    auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : it->second;
  }

  // ---- lifecycle of the loop ------------------------------------------------------------------

  void begin() {
    color = opt.color.value_or(::isatty(opt.terminal_fd) == 1 &&
                               !(std::getenv("NO_COLOR") && *std::getenv("NO_COLOR")));
    if (opt.echo_logs) echo = std::make_unique<TerminalEcho>(opt.terminal_fd);
    int ifd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd >= 0) {
      inotify = std::make_unique<asio::posix::stream_descriptor>(io, ifd);
      arm_inotify();
    } else {
      log::error("supervisor: inotify_init1: {}; node logs will not be followed",
                 std::strerror(errno));
    }
    // The loop thread forks every child, and PR_SET_PDEATHSIG is tied to it: it must live as long
    // as the Supervisor. Signals stay with the application's threads.
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    std::promise<std::thread::id> started;
    thread = std::thread([this, &started] {
      started.set_value(std::this_thread::get_id());
      io.run();
    });
    loop_id = started.get_future().get();
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  void end() {
    if (!thread.joinable()) return;
    asio::post(io, [this] { asio::co_spawn(io, drain_and_stop(), asio::detached); });
    thread.join();
  }

  asio::awaitable<void> drain_and_stop() {
    co_await wait_until([this] { return tasks == 0; }, Clock::now() + 5s);
    if (inotify) inotify->close();
    changed.cancel();
    work.reset();
    io.stop();
  }

  // ---- logs -----------------------------------------------------------------------------------

  void arm_inotify() {
    inotify->async_wait(asio::posix::descriptor_base::wait_read,
                        [this](boost::system::error_code ec) {
                          if (ec) return;
                          drain_inotify();
                          arm_inotify();
                        });
  }

  void drain_inotify() {
    alignas(inotify_event) char buf[16 * 1024];
    std::set<Node*> touched;
    bool overflow = false;
    while (true) {
      ssize_t len = ::read(inotify->native_handle(), buf, sizeof buf);
      if (len <= 0) break;
      for (ssize_t off = 0; off < len;) {
        auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        if (ev->mask & IN_Q_OVERFLOW) overflow = true;
        if (auto it = by_wd.find(ev->wd); it != by_wd.end()) touched.insert(it->second);
        off += ssize_t(sizeof(inotify_event) + ev->len);
      }
    }
    if (overflow)
      for (auto& n : nodes) touched.insert(n.get());
    for (Node* n : touched) read_log(*n, false);
  }

  void on_line(Node& n, std::string_view line) {
    if (n.log_probe && !n.log_matched && n.pattern &&
        std::regex_search(line.begin(), line.end(), *n.pattern)) {
      n.log_matched = true;
      notify();
    }
    if (echo) {
      std::string out;
      out.reserve(n.prefix.size() + line.size() + 1);
      out.append(n.prefix).append(line).push_back('\n');
      echo->push(std::move(out));
    }
  }

  // Handles what the node appended to its log. `all` reads everything now (before a respawn or
  // after an exit); otherwise a bounded amount, continuing on a later turn of the loop.
  void read_log(Node& n, bool all) {
    auto line_fn = [this, &n](std::string_view line) { on_line(n, line); };
    if (!echo && !n.log_probe) {
      // Nobody needs the lines: only the file matters.
      n.log.skip(0);
      return;
    }
    if (!all && !n.log_probe) {
      if (uint64_t skipped = n.log.skip(kMaxBacklog); skipped > 0 && echo) {
        echo->push(fmt::format("{}[faultline] output too fast to echo: skipped {} bytes (see {})\n",
                               n.prefix, skipped, n.st.log.string()));
      }
    }
    bool more = n.log.read(all ? SIZE_MAX : kReadBudget, line_fn);
    if (all) n.log.flush_partial(line_fn);
    if (more && !n.read_posted) {
      n.read_posted = true;
      asio::post(io, [this, &n] {
        n.read_posted = false;
        read_log(n, false);
      });
    }
  }

  std::string log_tail_block(const Node& n) {
    auto lines = tail_lines(n.st.log, kTailLines);
    if (lines.empty()) return fmt::format("\n(its log {} is empty)", n.st.log.string());
    std::string out = fmt::format("\n--- last {} lines of {} ---", lines.size(), n.st.log.string());
    for (const auto& l : lines) out.append("\n").append(l);
    return out;
  }

  void compute_prefixes() {
    for (auto& n : nodes) id_width = std::max(id_width, n->st.id.size());
    size_t i = 0;
    for (auto& n : nodes) {
      if (color)
        n->prefix = fmt::format("\x1b[{}m{:<{}} |\x1b[0m ", kColors[i++ % std::size(kColors)],
                                n->st.id, id_width);
      else
        n->prefix = fmt::format("{:<{}} | ", n->st.id, id_width);
    }
  }

  // ---- processes ------------------------------------------------------------------------------

  result<void> spawn(Node& n) {
    // Output of the previous process belongs to it, not to the new one's log probe.
    read_log(n, true);
    int out = ::open(n.st.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (out < 0)
      return Error(errc::io_error,
                   fmt::format("cannot open {}: {}", n.st.log.string(), std::strerror(errno)));
    auto pid = spawn_process({n.argv, child_environment(n.env), out});
    ::close(out);
    if (!pid) return pid.error();
    int pfd = int(::syscall(SYS_pidfd_open, *pid, 0));
    if (pfd < 0) {
      int err = errno;
      ::kill(-*pid, SIGKILL);
      ::waitpid(*pid, nullptr, 0);
      return Error(errc::process_failed, fmt::format("pidfd_open: {}", std::strerror(err)));
    }
    ++n.gen;
    n.st.pid = *pid;
    n.st.state = NodeState::starting;
    n.spawned_at = Clock::now();
    n.expected_exit = false;
    n.start_failure.clear();
    n.log_matched = false;
    n.log_probe = n.spec.ready.kind == plan::ProbeKind::log;
    n.pidfd = std::make_unique<asio::posix::stream_descriptor>(io, pfd);
    watch_exit(n);
    emit(Event::Kind::spawned, n, fmt::format("{}", fmt::join(n.argv, " ")));
    detach(become_ready(n, n.gen));
    notify();
    return {};
  }

  void watch_exit(Node& n) {
    n.pidfd->async_wait(asio::posix::descriptor_base::wait_read,
                        [this, &n, gen = n.gen](boost::system::error_code ec) {
                          if (ec || n.gen != gen || n.st.pid == 0) return;
                          reap(n);
                        });
  }

  void reap(Node& n) {
    pid_t pid = n.st.pid;
    // The zombie leader still holds the group id, so this cannot hit a recycled pid: it takes
    // any grandchildren with it, whether the node exited by itself or was stopped.
    ::kill(-pid, SIGKILL);
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == 0) {
      watch_exit(n);
      return;
    }
    n.pidfd.reset();
    n.st.exit_code.reset();
    n.st.exit_signal.reset();
    if (r == pid && WIFEXITED(status)) n.st.exit_code = WEXITSTATUS(status);
    if (r == pid && WIFSIGNALED(status)) n.st.exit_signal = WTERMSIG(status);
    read_log(n, true);
    n.log_probe = false;
    NodeState prev = n.st.state == NodeState::paused ? n.before_pause : n.st.state;
    bool expected = n.expected_exit;
    n.expected_exit = false;
    std::string how = describe_exit(n.st.exit_code, n.st.exit_signal);
    emit(Event::Kind::exited, n, how, expected);
    n.st.pid = 0;
    n.st.state = NodeState::exited;
    if (n.awaited && prev == NodeState::starting && !expected) {
      n.start_failure = how + " before it was ready";
      emit(Event::Kind::failed, n, n.start_failure);
    } else if (!expected && !shutting_down) {
      apply_restart_policy(n);
    }
    notify();
  }

  void apply_restart_policy(Node& n) {
    const auto& rp = n.spec.restart;
    bool failed = !n.st.exit_code || *n.st.exit_code != 0;
    bool want = rp.policy == plan::RestartPolicy::always ||
                (rp.policy == plan::RestartPolicy::on_failure && failed);
    if (!want) return;
    if (rp.max_restarts > 0 && n.st.restarts >= rp.max_restarts) {
      emit(Event::Kind::failed, n, fmt::format("gave up after {} restarts", n.st.restarts));
      return;
    }
    Duration delay = rp.backoff;
    for (int i = 0; i < n.st.restarts && delay < rp.max_backoff; ++i) delay *= 2;
    delay = std::min(delay, rp.max_backoff);
    n.st.state = NodeState::backoff;
    emit(Event::Kind::restarting, n,
         fmt::format("restart {} in {}", n.st.restarts + 1, format_duration(delay)));
    n.backoff = std::make_unique<asio::steady_timer>(io, delay);
    n.backoff->async_wait([this, &n](boost::system::error_code ec) {
      if (ec || shutting_down || n.st.state != NodeState::backoff) return;
      ++n.st.restarts;
      if (auto r = spawn(n); !r) {
        n.st.state = NodeState::exited;
        emit(Event::Kind::failed, n, r.error().message);
        apply_restart_policy(n);
        notify();
      }
    });
  }

  void cancel_backoff(Node& n) {
    if (n.backoff) n.backoff->cancel();
    if (n.st.state == NodeState::backoff) {
      n.st.state = NodeState::exited;
      notify();
    }
  }

  // Probes the spawn `gen` of `n` until it is ready, exits, or the probe times out.
  asio::awaitable<void> become_ready(Node& n, uint64_t gen) {
    const auto& p = n.spec.ready;
    auto deadline = n.spawned_at + p.timeout;
    auto alive = [&n, gen] { return n.gen == gen && n.st.pid != 0; };
    bool ok = false;
    if (p.kind == plan::ProbeKind::none) {
      ok = true;
    } else if (p.kind == plan::ProbeKind::log) {
      co_await wait_until([&] { return !alive() || n.log_matched; }, deadline);
      ok = alive() && n.log_matched;
    } else {
      while (alive() && !shutting_down) {
        auto now = Clock::now();
        auto attempt_deadline = std::min(deadline, now + std::max<Clock::duration>(p.interval, 1s));
        if (co_await probe_once(p, n.endpoint, attempt_deadline)) {
          ok = true;
          break;
        }
        if (Clock::now() >= deadline) break;
        auto next = std::min(deadline, Clock::now() + p.interval);
        co_await wait_until([&] { return !alive() || shutting_down; }, next);
      }
    }
    n.log_probe = false;
    if (!alive()) co_return;
    if (ok) {
      if (n.st.state == NodeState::paused)
        n.before_pause = NodeState::ready;
      else if (n.st.state == NodeState::starting)
        n.st.state = NodeState::ready;
      emit(Event::Kind::ready, n,
           fmt::format("after {}", format_duration(std::chrono::duration_cast<Duration>(
                                       Clock::now() - n.spawned_at))));
    } else if (!shutting_down) {
      n.start_failure =
          fmt::format("was not ready within {} (probe: {})", format_duration(p.timeout),
                      describe_probe(p, n.st.host, n.st.port));
      emit(Event::Kind::failed, n, n.start_failure);
    }
    notify();
  }

  // Stops the node: stop_signal, SIGKILL after stop_grace; returns once it is reaped.
  asio::awaitable<void> stop_node(Node& n) {
    cancel_backoff(n);
    if (n.st.pid == 0) co_return;
    pid_t pid = n.st.pid;
    uint64_t gen = n.gen;
    auto gone = [&n, gen] { return n.gen != gen || n.st.pid == 0; };
    n.expected_exit = true;
    bool paused = n.st.state == NodeState::paused;
    n.st.state = NodeState::stopping;
    if (paused) ::kill(-pid, SIGCONT);
    ::kill(-pid, n.spec.stop_signal);
    if (!co_await wait_until(gone, Clock::now() + n.spec.stop_grace)) {
      ::kill(-pid, SIGKILL);
      if (!co_await wait_until(gone, Clock::now() + kKillWait))
        log::error("supervisor: node '{}' (pid {}) did not exit {}s after SIGKILL", n.st.id, pid,
                   std::chrono::duration_cast<std::chrono::seconds>(kKillWait).count());
    }
  }

  // Stops `set` so that no node stops before the nodes that depend on it: in waves, each wave
  // the running nodes no other running node of the set depends on, stopped in parallel.
  asio::awaitable<void> stop_set(std::vector<Node*> set) {
    for (Node* n : set) {
      cancel_backoff(*n);
      if (n->st.pid != 0 && n->st.state == NodeState::paused) {
        ::kill(-n->st.pid, SIGCONT);
        n->st.state = n->before_pause;
        emit(Event::Kind::resumed, *n, "before stopping");
      }
    }
    std::vector<Node*> left;
    for (Node* n : set)
      if (n->st.pid != 0) left.push_back(n);
    while (!left.empty()) {
      std::vector<Node*> wave;
      for (Node* n : left) {
        bool needed = std::any_of(left.begin(), left.end(), [&](Node* m) {
          return std::any_of(m->spec.depends_on.begin(), m->spec.depends_on.end(),
                             [&](const auto& d) { return d.first == n->st.id && m != n; });
        });
        if (!needed) wave.push_back(n);
      }
      if (wave.empty()) wave = left;  // a cycle: cannot happen with a valid plan
      int pending = int(wave.size());
      for (Node* n : wave) {
        asio::co_spawn(io, stop_node(*n), [this, &pending](std::exception_ptr) {
          --pending;
          notify();
        });
      }
      co_await wait_until([&pending] { return pending == 0; }, Clock::time_point::max());
      std::erase_if(left,
                    [&](Node* n) { return std::find(wave.begin(), wave.end(), n) != wave.end(); });
    }
  }

  // ---- start ----------------------------------------------------------------------------------

  result<asio::ip::address> resolve(const std::string& host) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (!ec) return addr;
    asio::ip::tcp::resolver resolver(io);
    auto results = resolver.resolve(host, "", ec);
    if (ec || results.empty())
      return Error(errc::invalid_argument, fmt::format("cannot resolve host '{}'", host));
    return results.begin()->endpoint().address();
  }

  // The endpoint `from` is given for `to`: Options::link's answer for the pair (asked once,
  // then remembered), else `to`'s own address.
  result<Endpoint> reach(const std::string& from, const Node& to) {
    Endpoint real{to.st.host, to.st.port};
    if (!opt.link) return real;
    auto key = std::make_pair(from, to.st.id);
    if (auto it = links.find(key); it != links.end()) return it->second;
    auto e = opt.link(from, to.st.id, real);
    if (!e) {
      return Error(e.error().code,
                   fmt::format("the link {} -> {}: {}", from, to.st.id, e.error().message));
    }
    links.emplace(std::move(key), *e);
    return *e;
  }

  result<std::vector<Node*>> prepare(const std::vector<plan::Instance>& instances) {
    std::vector<std::unique_ptr<Node>> fresh;
    std::map<std::string, Node*, std::less<>> fresh_ids;
    auto release_all = [&] {
      for (auto& n : fresh)
        if (n->st.port) ports.release(n->st.port);
    };
    for (const auto& inst : instances) {
      if (inst.id.empty()) return Error(errc::invalid_argument, "an instance has an empty id");
      if (find(inst.id) || fresh_ids.count(inst.id))
        return Error(errc::invalid_argument, fmt::format("node '{}' is defined twice", inst.id));
      auto n = std::make_unique<Node>();
      n->spec = inst;
      n->st.id = inst.id;
      n->st.group = inst.group;
      n->st.kind = inst.kind;
      n->st.host = opt.host;
      fresh_ids.emplace(inst.id, n.get());
      fresh.push_back(std::move(n));
    }
    for (auto& n : fresh) {
      for (const auto& [dep, cond] : n->spec.depends_on)
        if (!find(dep) && !fresh_ids.count(dep))
          return Error(errc::invalid_argument,
                       fmt::format("node '{}' depends on unknown node '{}'", n->st.id, dep));
    }
    for (auto& n : fresh) {
      if (!opt.placement) continue;
      Placement place = opt.placement(n->spec);
      if (!place.host.empty()) n->st.host = std::move(place.host);
      n->wrap = std::move(place.wrap);
    }
    std::map<std::string, asio::ip::address> resolved;
    for (auto& n : fresh) {
      if (resolved.count(n->st.host)) continue;
      auto addr = resolve(n->st.host);
      if (!addr) return addr.error();
      resolved.emplace(n->st.host, *addr);
    }
    for (auto& n : fresh) {
      auto port = ports.allocate();
      if (!port) {
        release_all();
        return port.error();
      }
      n->st.port = *port;
      n->endpoint = {resolved.at(n->st.host), *port};
    }
    auto node_of = [&](std::string_view id) -> Node* {
      if (auto it = fresh_ids.find(id); it != fresh_ids.end()) return it->second;
      return find(id);
    };
    auto port_of = [&](std::string_view id) -> std::optional<uint16_t> {
      if (Node* n = node_of(id)) return n->st.port;
      return std::nullopt;
    };
    // Why the last link() call failed: reported instead of "names no instance".
    std::optional<Error> link_error;
    for (auto& n : fresh) {
      auto fail = [&](const Error& e) {
        release_all();
        return Error(e.code, fmt::format("node '{}': {}", n->st.id, e.message));
      };
      auto node_dir = opt.run_dir / "nodes" / n->st.id;
      n->st.dir = node_dir / "data";
      n->st.log = node_dir / "output.log";
      std::error_code ec;
      std::filesystem::create_directories(n->st.dir, ec);
      if (ec)
        return fail(
            Error(errc::io_error, "cannot create " + n->st.dir.string() + ": " + ec.message()));
      plan::TemplateContext ctx;
      ctx.id = n->st.id;
      ctx.replica = n->spec.replica;
      ctx.host = n->st.host;
      ctx.port = n->st.port;
      ctx.dir = n->st.dir;
      ctx.bindir = opt.bindir;
      ctx.port_of = port_of;
      if (opt.link || opt.placement) {
        ctx.address_of = [&, from = n->st.id](std::string_view to)
            -> std::optional<std::pair<std::string, uint16_t>> {
          Node* target = node_of(to);
          if (!target) return std::nullopt;
          auto e = reach(from, *target);
          if (!e) {
            link_error = e.error();
            return std::nullopt;
          }
          return std::make_pair(e->host, e->port);
        };
      }
      auto expand = [&](const std::string& text) -> result<std::string> {
        link_error.reset();
        auto a = plan::expand_template(text, ctx);
        if (!a && link_error) return *link_error;
        return a;
      };
      if (n->spec.command.empty()) return fail(Error(errc::invalid_argument, "empty command"));
      n->argv = n->wrap;
      for (const auto& arg : n->spec.command) {
        auto a = expand(arg);
        if (!a) return fail(a.error());
        n->argv.push_back(std::move(*a));
      }
      for (const auto& [k, v] : n->spec.env) {
        auto a = expand(v);
        if (!a) return fail(a.error());
        n->env.emplace_back(k, std::move(*a));
      }
      if (n->spec.ready.kind == plan::ProbeKind::log) {
        try {
          n->pattern.emplace(n->spec.ready.pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          return fail(Error(errc::invalid_argument, fmt::format("bad log pattern '{}': {}",
                                                                n->spec.ready.pattern, e.what())));
        }
      }
      if (auto r = n->log.open(n->st.log); !r) return fail(r.error());
    }
    std::vector<Node*> set;
    for (auto& n : fresh) {
      if (inotify) {
        n->wd = ::inotify_add_watch(inotify->native_handle(), n->st.log.c_str(), IN_MODIFY);
        if (n->wd >= 0) by_wd[n->wd] = n.get();
      }
      by_id.emplace(n->st.id, n.get());
      set.push_back(n.get());
      nodes.push_back(std::move(n));
    }
    compute_prefixes();
    return set;
  }

  bool dependency_met(const Node& d, plan::DependCondition cond) {
    bool running = d.st.pid != 0 && d.st.state != NodeState::stopping;
    if (cond == plan::DependCondition::started) return running || d.st.state == NodeState::ready;
    return running && (d.st.state == NodeState::ready ||
                       (d.st.state == NodeState::paused && d.before_pause == NodeState::ready));
  }

  asio::awaitable<result<void>> do_start(std::vector<plan::Instance> instances) {
    if (shutting_down) co_return Error(errc::cancelled, "the supervisor is shut down");
    auto prepared = prepare(instances);
    if (!prepared) co_return prepared.error();
    std::vector<Node*> set = std::move(*prepared);
    std::set<Node*> launched;
    Node* culprit = nullptr;
    std::string cause;
    for (Node* n : set) n->awaited = true;
    while (true) {
      if (shutting_down) {
        cause = "start cancelled by shutdown";
        break;
      }
      for (Node* n : launched) {
        if (!n->start_failure.empty()) {
          culprit = n;
          cause = n->start_failure;
          break;
        }
        if (n->st.state == NodeState::ready) n->awaited = false;
      }
      if (culprit) break;
      bool progress = false;
      for (Node* n : set) {
        if (launched.count(n)) continue;
        bool met =
            std::all_of(n->spec.depends_on.begin(), n->spec.depends_on.end(),
                        [&](const auto& d) { return dependency_met(*find(d.first), d.second); });
        if (!met) continue;
        launched.insert(n);
        progress = true;
        if (auto r = spawn(*n); !r) {
          culprit = n;
          cause = r.error().message;
          n->st.state = NodeState::exited;
          emit(Event::Kind::failed, *n, cause);
          break;
        }
      }
      if (culprit) break;
      if (std::all_of(set.begin(), set.end(),
                      [](Node* n) { return n->st.state == NodeState::ready; }))
        break;
      if (progress) continue;
      bool in_flight = std::any_of(nodes.begin(), nodes.end(), [](const auto& n) {
        return n->st.state == NodeState::starting || n->st.state == NodeState::backoff ||
               n->st.state == NodeState::stopping;
      });
      if (!in_flight) {
        // Nothing can change any more: some dependency is down for good.
        for (Node* n : set) {
          if (launched.count(n)) continue;
          for (const auto& [dep, cond] : n->spec.depends_on) {
            Node* d = find(dep);
            if (!dependency_met(*d, cond)) {
              culprit = n;
              cause = fmt::format("cannot start: its dependency '{}' is {}", dep,
                                  to_string(d->st.state));
              break;
            }
          }
          if (culprit) break;
        }
        if (!culprit) {
          auto it = std::find_if(set.begin(), set.end(),
                                 [](Node* n) { return n->st.state != NodeState::ready; });
          culprit = *it;
          cause = fmt::format("is {} and will not become ready", to_string(culprit->st.state));
        }
        break;
      }
      co_await changed.async_wait(kTuple);  // something changed: look again
    }
    for (Node* n : set) n->awaited = false;
    if (!culprit && cause.empty()) co_return result<void>{};
    std::string message = culprit ? fmt::format("node '{}' {}", culprit->st.id, cause) : cause;
    if (culprit) message += log_tail_block(*culprit);
    std::vector<Node*> reverse(set.rbegin(), set.rend());
    co_await stop_set(reverse);
    co_return Error(shutting_down                                         ? errc::cancelled
                    : cause.find("not ready within") != std::string::npos ? errc::not_ready
                                                                          : errc::process_failed,
                    message);
  }

  // ---- verbs ----------------------------------------------------------------------------------

  enum class Verb { kill, terminate, pause, resume, restart, restart_wipe };

  asio::awaitable<result<void>> do_verb(std::string id, Verb verb) {
    Node* n = find(id);
    if (!n) co_return Error(errc::not_found, fmt::format("no node '{}'", id));
    co_await wait_until([n] { return !n->busy; }, Clock::time_point::max());
    if (shutting_down) co_return Error(errc::cancelled, "the supervisor is shutting down");
    n->busy = true;
    auto r = co_await run_verb(*n, verb);
    n->busy = false;
    notify();
    co_return r;
  }

  Error not_running(const Node& n) {
    return Error(errc::invalid_argument, fmt::format("node '{}' is not running (it is {})", n.st.id,
                                                     to_string(n.st.state)));
  }

  asio::awaitable<result<void>> run_verb(Node& n, Verb verb) {
    switch (verb) {
      case Verb::kill: {
        if (n.st.pid == 0) co_return not_running(n);
        uint64_t gen = n.gen;
        n.expected_exit = true;
        ::kill(-n.st.pid, SIGKILL);
        co_await wait_until([&] { return n.gen != gen || n.st.pid == 0; },
                            Clock::now() + kKillWait);
        co_return result<void>{};
      }
      case Verb::terminate:
        co_await stop_node(n);
        co_return result<void>{};
      case Verb::pause:
        if (n.st.pid == 0) co_return not_running(n);
        if (n.st.state == NodeState::paused) co_return result<void>{};
        ::kill(-n.st.pid, SIGSTOP);
        n.before_pause = n.st.state;
        n.st.state = NodeState::paused;
        emit(Event::Kind::paused, n);
        co_return result<void>{};
      case Verb::resume:
        if (n.st.pid == 0) co_return not_running(n);
        if (n.st.state != NodeState::paused) co_return result<void>{};
        ::kill(-n.st.pid, SIGCONT);
        n.st.state = n.before_pause;
        emit(Event::Kind::resumed, n);
        co_return result<void>{};
      case Verb::restart:
      case Verb::restart_wipe:
        co_return co_await restart_node(n, verb == Verb::restart_wipe);
    }
    co_return result<void>{};
  }

  asio::awaitable<result<void>> restart_node(Node& n, bool wipe) {
    emit(Event::Kind::restarting, n, wipe ? "requested, wiping data" : "requested", true);
    co_await stop_node(n);
    if (shutting_down) co_return Error(errc::cancelled, "the supervisor is shutting down");
    if (wipe) {
      std::error_code ec;
      for (const auto& entry : std::filesystem::directory_iterator(n.st.dir, ec)) {
        std::filesystem::remove_all(entry.path(), ec);
        if (ec)
          co_return Error(errc::io_error, fmt::format("node '{}': cannot wipe {}: {}", n.st.id,
                                                      entry.path().string(), ec.message()));
      }
    }
    std::error_code ec;
    std::filesystem::create_directories(n.st.dir, ec);
    n.awaited = true;
    auto r = spawn(n);
    if (!r) {
      n.awaited = false;
      n.st.state = NodeState::exited;
      emit(Event::Kind::failed, n, r.error().message);
      co_return Error(r.error().code,
                      fmt::format("node '{}' {}{}", n.st.id, r.error().message, log_tail_block(n)));
    }
    co_await wait_until(
        [&] {
          return n.st.state == NodeState::ready || !n.start_failure.empty() || shutting_down ||
                 (n.st.pid == 0 && n.st.state != NodeState::backoff);
        },
        Clock::time_point::max());
    n.awaited = false;
    if (n.st.state == NodeState::ready) co_return result<void>{};
    if (shutting_down) co_return Error(errc::cancelled, "the supervisor is shutting down");
    std::string cause = n.start_failure.empty() ? std::string("exited") : n.start_failure;
    // A probe timeout leaves the process running; restart() promised a ready node or none.
    co_await stop_node(n);
    co_return Error(errc::not_ready,
                    fmt::format("node '{}' {}{}", n.st.id, cause, log_tail_block(n)));
  }

  asio::awaitable<int> do_shutdown() {
    if (shutting_down) {
      co_await wait_until([this] { return shut_down; }, Clock::time_point::max());
      co_return 0;
    }
    shutting_down = true;
    notify();
    std::vector<Node*> all;
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) all.push_back(it->get());
    co_await stop_set(all);
    shut_down = true;
    notify();
    co_return 0;
  }

  std::vector<NodeStatus> snapshot() const {
    std::vector<NodeStatus> out;
    for (const auto& n : nodes) out.push_back(n->st);
    return out;
  }
};

Supervisor::Supervisor(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->begin();
}

Supervisor::~Supervisor() {
  shutdown();
  impl_->end();
}

result<void> Supervisor::start(const std::vector<plan::Instance>& instances) {
  if (impl_->on_loop_thread())
    return Error(errc::internal, "Supervisor::start called from an event callback");
  return impl_->call(impl_->do_start(instances));
}

std::vector<NodeStatus> Supervisor::status() const {
  if (impl_->on_loop_thread()) return impl_->snapshot();
  std::promise<std::vector<NodeStatus>> p;
  auto f = p.get_future();
  boost::asio::post(impl_->io, [&] { p.set_value(impl_->snapshot()); });
  return f.get();
}

namespace {
Error from_callback() {
  return Error(errc::internal, "Supervisor verbs cannot be called from an event callback");
}
}  // namespace

result<void> Supervisor::kill(std::string_view id) {
  if (impl_->on_loop_thread()) return from_callback();
  return impl_->call(impl_->do_verb(std::string(id), Impl::Verb::kill));
}

result<void> Supervisor::terminate(std::string_view id) {
  if (impl_->on_loop_thread()) return from_callback();
  return impl_->call(impl_->do_verb(std::string(id), Impl::Verb::terminate));
}

result<void> Supervisor::pause(std::string_view id) {
  if (impl_->on_loop_thread()) return from_callback();
  return impl_->call(impl_->do_verb(std::string(id), Impl::Verb::pause));
}

result<void> Supervisor::resume(std::string_view id) {
  if (impl_->on_loop_thread()) return from_callback();
  return impl_->call(impl_->do_verb(std::string(id), Impl::Verb::resume));
}

result<void> Supervisor::restart(std::string_view id, bool wipe) {
  if (impl_->on_loop_thread()) return from_callback();
  return impl_->call(
      impl_->do_verb(std::string(id), wipe ? Impl::Verb::restart_wipe : Impl::Verb::restart));
}

void Supervisor::shutdown() {
  if (impl_->on_loop_thread()) {
    log::error("supervisor: shutdown() called from an event callback; ignored");
    return;
  }
  if (!impl_->thread.joinable()) return;
  impl_->call(impl_->do_shutdown());
}

}  // namespace fl::supervisor
