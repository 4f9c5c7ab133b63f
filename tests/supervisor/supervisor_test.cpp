// Start-up, readiness probes, dependency order, start failures, logs and no-orphan guarantees.
#include <fcntl.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

#include "tests/supervisor/test_support.h"

namespace fl::supervisor::testing {
namespace {

using Kind = Event::Kind;

std::chrono::nanoseconds first_time(const EventLog& log, std::string_view id, Kind k) {
  auto evs = log.of(id, k);
  return evs.empty() ? std::chrono::nanoseconds::max() : evs.front().time;
}

TEST(SupervisorStart, ProbeNoneIsReadyAtOnce) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  ASSERT_TRUE(sup.start({node("idle", {})}));
  auto st = sup.status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].state, NodeState::ready);
  EXPECT_GT(st[0].pid, 0);
  EXPECT_FALSE(gone(st[0].pid));
  EXPECT_EQ(st[0].dir, dir.path / "nodes" / "idle" / "data");
  EXPECT_TRUE(std::filesystem::is_directory(st[0].dir));
  EXPECT_EQ(st[0].log, dir.path / "nodes" / "idle" / "output.log");
}

TEST(SupervisorStart, TcpProbeWaitsForTheListener) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  ASSERT_TRUE(sup.start({listener("web", {"--delay-ready", "300ms"})}));
  auto st = sup.status();
  EXPECT_EQ(st[0].state, NodeState::ready);
  EXPECT_TRUE(can_connect(st[0].port));
  auto spawned = first_time(events, "web", Kind::spawned);
  auto ready = first_time(events, "web", Kind::ready);
  // The child starts its delay a moment before the supervisor stamps `spawned`: allow slack.
  EXPECT_GE(ready - spawned, std::chrono::milliseconds(250));
}

TEST(SupervisorStart, RespProbeNeedsPong) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto ok = node("redis", {"--listen", "{port}", "--resp", "--delay-ready", "100ms"},
                 plan::ProbeKind::resp);
  ASSERT_TRUE(sup.start({ok}));
  // A listener that never answers PING is not ready.
  auto mute = node("mute", {"--listen", "{port}"}, plan::ProbeKind::resp);
  mute.ready.timeout = 600ms;
  auto r = sup.start({mute});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("node 'mute' was not ready within 600ms"), std::string::npos)
      << r.error().message;
}

TEST(SupervisorStart, HttpProbeNeeds2xx) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto web = node("web", {"--listen", "{port}", "--http"}, plan::ProbeKind::http);
  web.ready.path = "/healthz";
  ASSERT_TRUE(sup.start({web}));
  EXPECT_EQ(sup.status()[0].state, NodeState::ready);
}

TEST(SupervisorStart, LogProbeMatchesALine) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto n = node("worker", {"--delay-ready", "200ms", "--print", "worker 7 is up and running"},
                plan::ProbeKind::log);
  n.ready.pattern = "is up( and running)?$";
  ASSERT_TRUE(sup.start({n}));
  auto spawned = first_time(events, "worker", Kind::spawned);
  auto ready = first_time(events, "worker", Kind::ready);
  EXPECT_GE(ready - spawned, std::chrono::milliseconds(150));
}

TEST(SupervisorStart, ProbeTimeoutFailsStartAndStopsTheNode) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto n = node("silent", {"--print", "hello from silent"}, plan::ProbeKind::tcp);
  n.ready.timeout = 500ms;
  auto r = sup.start({n});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::not_ready));
  const auto& msg = r.error().message;
  EXPECT_NE(msg.find("node 'silent' was not ready within 500ms"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hello from silent"), std::string::npos) << msg;
  auto spawned = events.of("silent", Kind::spawned);
  ASSERT_EQ(spawned.size(), 1u);
  EXPECT_TRUE(eventually([&] { return gone(spawned[0].pid); }));
  EXPECT_EQ(sup.status()[0].state, NodeState::exited);
}

TEST(SupervisorStart, DependentStartsAfterItsDependencyIsReady) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  const auto gate = dir.path / "release";
  auto db = listener("db", {"--ready-when", gate.string()});
  auto app = listener("app");
  app.depends_on = {{"db", plan::DependCondition::ready}};
  auto sidecar = node("sidecar", {});
  sidecar.depends_on = {{"db", plan::DependCondition::started}};
  auto started = std::async(std::launch::async, [&] { return sup.start({db, app, sidecar}); });
  // A `started` dependency does not wait for readiness: the sidecar runs while db is held back.
  EXPECT_TRUE(events.wait_count("sidecar", Kind::spawned, 1));
  EXPECT_TRUE(events.of("app").empty());
  std::ofstream(gate) << "go";
  ASSERT_TRUE(started.get());
  EXPECT_GE(first_time(events, "app", Kind::spawned), first_time(events, "db", Kind::ready));
}

TEST(SupervisorStart, IndependentNodesStartInParallel) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  const auto gate = dir.path / "release";
  std::vector<plan::Instance> all;
  for (int i = 0; i < 4; ++i)
    all.push_back(listener("n" + std::to_string(i), {"--ready-when", gate.string()}));
  auto started = std::async(std::launch::async, [&] { return sup.start(all); });
  // None can become ready until the gate opens, so all four being spawned proves nobody waited
  // for another's probe.
  EXPECT_TRUE(events.wait([](const std::vector<Event>& es) {
    return std::count_if(es.begin(), es.end(),
                         [](const Event& e) { return e.kind == Kind::spawned; }) == 4;
  }));
  std::ofstream(gate) << "go";
  ASSERT_TRUE(started.get());
}

TEST(SupervisorStart, MissingExecutableIsNamedAndOthersAreStopped) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto base = listener("base");
  plan::Instance bad;
  bad.id = "bad";
  bad.command = {"/nonexistent/fl-no-such-program", "--flag"};
  bad.depends_on = {{"base", plan::DependCondition::ready}};
  auto r = sup.start({base, bad});
  ASSERT_FALSE(r);
  const auto& msg = r.error().message;
  EXPECT_NE(msg.find("node 'bad'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot start '/nonexistent/fl-no-such-program': No such file or directory"),
            std::string::npos)
      << msg;
  auto base_pid = events.of("base", Kind::spawned).at(0).pid;
  EXPECT_TRUE(eventually([&] { return gone(base_pid); }));
  for (const auto& s : sup.status()) EXPECT_EQ(s.pid, 0) << s.id;
  // The same through $PATH lookup.
  plan::Instance bad2;
  bad2.id = "bad2";
  bad2.command = {"fl-no-such-program-in-path"};
  auto r2 = sup.start({bad2});
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find(
                "cannot start 'fl-no-such-program-in-path': No such file or directory"),
            std::string::npos)
      << r2.error().message;
}

TEST(SupervisorStart, EarlyExitFailsStartWithLogTail) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto fine = listener("fine");
  auto crashy =
      node("crashy",
           {"--print", "error: config file is invalid", "--exit-after", "0", "--exit-code", "1"},
           plan::ProbeKind::tcp);
  auto r = sup.start({fine, crashy});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::process_failed));
  const auto& msg = r.error().message;
  EXPECT_NE(msg.find("node 'crashy' exited with code 1 before it was ready"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("error: config file is invalid"), std::string::npos) << msg;
  auto fine_pid = events.of("fine", Kind::spawned).at(0).pid;
  EXPECT_TRUE(eventually([&] { return gone(fine_pid); }));
  auto exits = events.of("fine", Kind::exited);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_TRUE(exits[0].expected);
}

TEST(SupervisorStart, TemplatesAreExpanded) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto a = listener("a");
  auto b = node("b", {"--print", "peer={port:a} me={port} id={id} dir={dir}"});
  b.env["FL_SOME"] = "{host}:{port}";
  ASSERT_TRUE(sup.start({a, b}));
  auto st = sup.status();
  auto log = find_status(st, "b")->log;
  ASSERT_TRUE(eventually([&] { return read_file(log).find("peer=") != std::string::npos; }));
  auto text = read_file(log);
  EXPECT_NE(text.find("peer=" + std::to_string(find_status(st, "a")->port)), std::string::npos)
      << text;
  EXPECT_NE(text.find("me=" + std::to_string(find_status(st, "b")->port)), std::string::npos)
      << text;
  EXPECT_NE(text.find("id=b dir=" + (dir.path / "nodes/b/data").string()), std::string::npos)
      << text;
}

TEST(SupervisorShutdown, NoOrphansAfterShutdownOrDestruction) {
  ScratchDir dir;
  EventLog events;
  std::vector<int> pids;
  {
    Supervisor sup(quiet_options(dir.path, events));
    ASSERT_TRUE(sup.start(
        {listener("parent", {"--fork-grandchild"}), listener("other", {"--fork-grandchild"})}));
    for (const auto& s : sup.status()) {
      pids.push_back(s.pid);
      ASSERT_TRUE(eventually([&] { return find_int(s.log, "grandchild pid").has_value(); }));
      pids.push_back(*find_int(s.log, "grandchild pid"));
    }
    for (int pid : pids) EXPECT_FALSE(gone(pid)) << pid;
    sup.shutdown();
    for (int pid : pids) EXPECT_TRUE(eventually([&] { return gone(pid); }, 10s)) << pid;
    sup.shutdown();  // idempotent
  }
  pids.clear();
  {
    Supervisor sup(quiet_options(dir.path / "second", events));
    ASSERT_TRUE(sup.start({listener("p2", {"--fork-grandchild"})}));
    auto s = sup.status().at(0);
    ASSERT_TRUE(eventually([&] { return find_int(s.log, "grandchild pid").has_value(); }));
    pids = {s.pid, *find_int(s.log, "grandchild pid")};
  }  // destructor only
  for (int pid : pids) EXPECT_TRUE(eventually([&] { return gone(pid); }, 10s)) << pid;
}

TEST(SupervisorShutdown, DependentsStopBeforeDependencies) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto db = listener("db");
  auto app = listener("app");
  app.depends_on = {{"db", plan::DependCondition::ready}};
  auto lb = listener("lb");
  lb.depends_on = {{"app", plan::DependCondition::ready}};
  ASSERT_TRUE(sup.start({db, app, lb}));
  ASSERT_TRUE(sup.pause("app"));
  sup.shutdown();
  auto lb_exit = first_time(events, "lb", Kind::exited);
  auto app_exit = first_time(events, "app", Kind::exited);
  auto db_exit = first_time(events, "db", Kind::exited);
  EXPECT_LT(lb_exit, app_exit);
  EXPECT_LT(app_exit, db_exit);
  for (const auto& e : events.of("app", Kind::exited)) {
    EXPECT_TRUE(e.expected);
    EXPECT_EQ(e.exit_signal, SIGTERM);  // it was resumed, then stopped by SIGTERM
  }
}

TEST(SupervisorLogs, EchoPrefixesWholeLinesWithAlignedIds) {
  ScratchDir dir;
  EventLog events;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  auto opts = quiet_options(dir.path, events);
  opts.echo_logs = true;
  opts.terminal_fd = fds[1];
  opts.color = false;
  std::string seen;
  {
    Supervisor sup(opts);
    ASSERT_TRUE(sup.start(
        {node("a", {"--print", "alpha line"}), node("longname", {"--print", "beta line"})}));
    ASSERT_TRUE(eventually([&] {
      pollfd p{fds[0], POLLIN, 0};
      while (::poll(&p, 1, 0) == 1) {
        char buf[4096];
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        seen.append(buf, size_t(n));
      }
      return seen.find("alpha line") != std::string::npos &&
             seen.find("beta line") != std::string::npos;
    })) << seen;
  }
  EXPECT_NE(seen.find("a        | alpha line\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("longname | beta line\n"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("\x1b["), std::string::npos);
  ::close(fds[0]);
  ::close(fds[1]);
}

// Echoes two lines of node "c" to `fd` and returns what `reader` received.
std::string echo_through(int fd, int reader, std::optional<bool> color) {
  ScratchDir dir;
  EventLog events;
  auto opts = quiet_options(dir.path, events);
  opts.echo_logs = true;
  opts.terminal_fd = fd;
  opts.color = color;
  std::string seen;
  Supervisor sup(opts);
  if (!sup.start({node("c", {"--print", "coloured?"})})) return "start failed";
  eventually([&] {
    pollfd p{reader, POLLIN, 0};
    while (::poll(&p, 1, 0) == 1) {
      char buf[4096];
      ssize_t n = ::read(reader, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, size_t(n));
    }
    return seen.find("coloured?") != std::string::npos;
  });
  return seen;
}

TEST(SupervisorLogs, ColourOnATerminalUnlessNoColor) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  const char* saved = std::getenv("NO_COLOR");
  std::string saved_value = saved ? saved : "";
  ::unsetenv("NO_COLOR");
  auto tty = echo_through(slave, master, std::nullopt);
  EXPECT_NE(tty.find("\x1b["), std::string::npos) << tty;
  EXPECT_NE(tty.find("coloured?"), std::string::npos) << tty;
  ::setenv("NO_COLOR", "1", 1);
  auto no_color = echo_through(slave, master, std::nullopt);
  EXPECT_EQ(no_color.find("\x1b["), std::string::npos) << no_color;
  EXPECT_NE(no_color.find("c | coloured?"), std::string::npos) << no_color;
  auto forced = echo_through(slave, master, true);  // Options::color wins over NO_COLOR
  EXPECT_NE(forced.find("\x1b["), std::string::npos) << forced;
  if (saved)
    ::setenv("NO_COLOR", saved_value.c_str(), 1);
  else
    ::unsetenv("NO_COLOR");
  ::close(slave);
  ::close(master);
}

TEST(SupervisorLogs, FastSpammerIsNotBlockedByAStuckTerminal) {
  ScratchDir dir;
  EventLog events;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);  // nobody ever reads fds[0]
  auto opts = quiet_options(dir.path, events);
  opts.echo_logs = true;
  opts.terminal_fd = fds[1];
  opts.color = true;
  constexpr long long kBytes = 64LL * 1024 * 1024;
  {
    Supervisor sup(opts);
    auto spam = node("spam", {"--spam", std::to_string(kBytes), "--exit-after", "0"});
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(sup.start({spam}));
    ASSERT_TRUE(events.wait_count("spam", Kind::exited, 1, 30s));
    auto took = std::chrono::steady_clock::now() - t0;
    std::printf("spammer wrote %lld MiB and exited in %.0f ms\n", kBytes >> 20,
                std::chrono::duration<double, std::milli>(took).count());
    auto ex = events.of("spam", Kind::exited).at(0);
    EXPECT_EQ(ex.exit_code, 0);
    EXPECT_GE(std::filesystem::file_size(sup.status()[0].log), uint64_t(kBytes));
    // The supervisor still answers.
    EXPECT_EQ(sup.status()[0].state, NodeState::exited);
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

TEST(SupervisorIdle, TwentyListenersCostAlmostNoCpu) {
  ScratchDir dir;
  EventLog events;
  auto opts = quiet_options(dir.path, events);
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  opts.echo_logs = true;
  opts.terminal_fd = devnull;
  Supervisor sup(opts);
  std::vector<plan::Instance> all;
  for (int i = 0; i < 20; ++i) all.push_back(listener(fmt::format("idle-{:02}", i)));
  ASSERT_TRUE(sup.start(all));
  double before = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(3s);  // the measurement window itself, not a wait for a condition
  double used = cpu_seconds() - before;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("idle supervisor with 20 nodes: %.3f ms CPU over %.2f s = %.4f%% of a core\n",
              used * 1e3, wall, 100 * used / wall);
  RecordProperty("idle_cpu_percent", fmt::format("{:.4f}", 100 * used / wall));
  sup.shutdown();
  ::close(devnull);
}

}  // namespace
}  // namespace fl::supervisor::testing
