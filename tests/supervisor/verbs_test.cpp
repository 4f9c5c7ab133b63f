// Restart policy and process faults: kill, terminate, pause, resume, restart, restart --wipe.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/supervisor/test_support.h"

namespace fl::supervisor::testing {
namespace {

using Kind = Event::Kind;

plan::Instance crasher(std::string id, int code, plan::RestartPolicy policy, int max_restarts) {
  auto n = node(std::move(id), {"--exit-after", "100ms", "--exit-code", std::to_string(code)});
  n.restart.policy = policy;
  n.restart.max_restarts = max_restarts;
  n.restart.backoff = 50ms;
  n.restart.max_backoff = 120ms;
  return n;
}

TEST(SupervisorRestart, OnFailureRestartsWithBackoffUpToTheLimit) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  ASSERT_TRUE(sup.start({crasher("flaky", 3, plan::RestartPolicy::on_failure, 3)}));
  ASSERT_TRUE(events.wait([](const auto& evs) {
    return std::any_of(evs.begin(), evs.end(), [](const Event& e) {
      return e.node == "flaky" && e.kind == Kind::failed && e.detail == "gave up after 3 restarts";
    });
  })) << events.all().size();
  auto restarting = events.of("flaky", Kind::restarting);
  ASSERT_EQ(restarting.size(), 3u);
  EXPECT_EQ(restarting[0].detail, "restart 1 in 50ms");
  EXPECT_EQ(restarting[1].detail, "restart 2 in 100ms");
  EXPECT_EQ(restarting[2].detail, "restart 3 in 120ms");  // capped by max_backoff
  auto exits = events.of("flaky", Kind::exited);
  ASSERT_EQ(exits.size(), 4u);
  for (const auto& e : exits) {
    EXPECT_EQ(e.exit_code, 3);
    EXPECT_FALSE(e.expected);
  }
  // The backoff is actually waited: each respawn comes at least its delay after the exit.
  auto spawns = events.of("flaky", Kind::spawned);
  ASSERT_EQ(spawns.size(), 4u);
  EXPECT_GE(spawns[1].time - exits[0].time, std::chrono::milliseconds(50));
  EXPECT_GE(spawns[2].time - exits[1].time, std::chrono::milliseconds(100));
  auto st = sup.status().at(0);
  EXPECT_EQ(st.restarts, 3);
  EXPECT_EQ(st.state, NodeState::exited);
  EXPECT_EQ(st.exit_code, 3);
}

TEST(SupervisorRestart, OnFailureIgnoresCleanExitAndAlwaysDoesNot) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  ASSERT_TRUE(sup.start({crasher("clean", 0, plan::RestartPolicy::on_failure, 0),
                         crasher("again", 0, plan::RestartPolicy::always, 2)}));
  ASSERT_TRUE(events.wait_count("again", Kind::exited, 3));
  ASSERT_TRUE(events.wait_count("clean", Kind::exited, 1));
  ASSERT_TRUE(events.wait_count("again", Kind::failed, 1));
  EXPECT_EQ(events.of("clean", Kind::restarting).size(), 0u);
  EXPECT_EQ(events.of("again", Kind::restarting).size(), 2u);
  auto st = sup.status();
  EXPECT_EQ(find_status(st, "clean")->restarts, 0);
  EXPECT_EQ(find_status(st, "again")->restarts, 2);
}

TEST(SupervisorRestart, UnlimitedRestartsComeBackReady) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto n = listener("phoenix");
  n.restart.policy = plan::RestartPolicy::always;
  n.restart.max_restarts = 0;
  n.restart.backoff = 10ms;
  ASSERT_TRUE(sup.start({n}));
  int pid = sup.status().at(0).pid;
  ::kill(pid, SIGKILL);  // not the harness: a crash
  ASSERT_TRUE(events.wait_count("phoenix", Kind::ready, 2));
  auto st = sup.status().at(0);
  EXPECT_NE(st.pid, pid);
  EXPECT_EQ(st.restarts, 1);
  EXPECT_EQ(st.state, NodeState::ready);
  auto ex = events.of("phoenix", Kind::exited).at(0);
  EXPECT_EQ(ex.exit_signal, SIGKILL);
  EXPECT_FALSE(ex.expected);
  EXPECT_TRUE(can_connect(st.port));
}

TEST(SupervisorVerbs, KillIsExpectedAndNeverRestarted) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto n = listener("victim", {"--fork-grandchild"});
  n.restart.policy = plan::RestartPolicy::always;
  ASSERT_TRUE(sup.start({n}));
  auto st = sup.status().at(0);
  ASSERT_TRUE(eventually([&] { return find_int(st.log, "grandchild pid").has_value(); }));
  int grandchild = *find_int(st.log, "grandchild pid");
  ASSERT_TRUE(sup.kill("victim"));
  EXPECT_TRUE(eventually([&] { return gone(st.pid) && gone(grandchild); }));
  auto ex = events.of("victim", Kind::exited);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_TRUE(ex[0].expected);
  EXPECT_EQ(ex[0].exit_signal, SIGKILL);
  EXPECT_EQ(events.of("victim", Kind::restarting).size(), 0u);
  EXPECT_EQ(sup.status().at(0).state, NodeState::exited);
  EXPECT_FALSE(sup.kill("victim"));  // not running any more
  auto unknown = sup.kill("nobody");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, make_error_code(errc::not_found));
}

TEST(SupervisorVerbs, TerminateHonoursStopGrace) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  auto stubborn = listener("stubborn", {"--ignore-sigterm"});
  stubborn.stop_grace = 400ms;
  auto polite = listener("polite");
  ASSERT_TRUE(sup.start({stubborn, polite}));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(sup.terminate("stubborn"));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 400ms);
  auto ex = events.of("stubborn", Kind::exited).at(0);
  EXPECT_EQ(ex.exit_signal, SIGKILL);
  EXPECT_TRUE(ex.expected);
  ASSERT_TRUE(sup.terminate("polite"));
  EXPECT_EQ(events.of("polite", Kind::exited).at(0).exit_signal, SIGTERM);
  for (const auto& s : sup.status()) EXPECT_EQ(s.pid, 0);
  EXPECT_TRUE(sup.terminate("polite"));  // already stopped: nothing to do
}

TEST(SupervisorVerbs, PauseStopsTheProcessAndResumeContinuesIt) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  ASSERT_TRUE(sup.start({listener("sleepy")}));
  int pid = sup.status().at(0).pid;
  ASSERT_TRUE(sup.pause("sleepy"));
  EXPECT_TRUE(eventually([&] { return proc_state(pid) == 'T'; })) << proc_state(pid);
  EXPECT_EQ(sup.status().at(0).state, NodeState::paused);
  ASSERT_TRUE(sup.resume("sleepy"));
  EXPECT_TRUE(eventually([&] {
    char s = proc_state(pid);
    return s == 'S' || s == 'R';
  }));
  EXPECT_EQ(sup.status().at(0).state, NodeState::ready);
  EXPECT_EQ(events.of("sleepy", Kind::paused).size(), 1u);
  EXPECT_EQ(events.of("sleepy", Kind::resumed).size(), 1u);
  EXPECT_TRUE(can_connect(sup.status().at(0).port));
}

TEST(SupervisorVerbs, RestartKeepsThePortAndWipeEmptiesTheDataDir) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  ASSERT_TRUE(sup.start({listener("store", {"--write-file", "{dir}/marker"})}));
  auto before = sup.status().at(0);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(before.dir / "marker"); }));
  std::ofstream(before.dir / "state.db") << "precious";
  std::filesystem::create_directories(before.dir / "sub");
  std::ofstream(before.dir / "sub" / "segment") << "1";

  ASSERT_TRUE(sup.restart("store", false));
  auto after = sup.status().at(0);
  EXPECT_NE(after.pid, before.pid);
  EXPECT_EQ(after.port, before.port);
  EXPECT_EQ(after.state, NodeState::ready);
  EXPECT_TRUE(std::filesystem::exists(before.dir / "state.db"));
  EXPECT_TRUE(gone(before.pid));
  EXPECT_TRUE(can_connect(after.port));

  ASSERT_TRUE(sup.restart("store", true));
  auto wiped = sup.status().at(0);
  EXPECT_EQ(wiped.port, before.port);
  EXPECT_FALSE(std::filesystem::exists(before.dir / "state.db"));
  EXPECT_FALSE(std::filesystem::exists(before.dir / "sub"));
  EXPECT_TRUE(std::filesystem::exists(before.dir / "marker"));  // written again by the new process
  EXPECT_TRUE(std::filesystem::is_directory(before.dir));
  for (const auto& e : events.of("store", Kind::exited)) EXPECT_TRUE(e.expected);
  EXPECT_EQ(events.of("store", Kind::spawned).size(), 3u);
}

TEST(SupervisorVerbs, RestartWipeRecreatesAMissingDataDir) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  ASSERT_TRUE(sup.start({node("once", {})}));
  auto st = sup.status().at(0);
  std::filesystem::remove(st.dir);
  auto r = sup.restart("once", true);
  EXPECT_TRUE(r) << r.error().message;
  EXPECT_TRUE(std::filesystem::is_directory(st.dir));
}

TEST(SupervisorVerbs, RestartFailsWhenTheNodeNoLongerBecomesReady) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  // Ready while its data dir is empty; once it holds "poison" the node exits at start.
  auto n = node("picky", {"--exit-if-exists", "{dir}/poison", "--listen", "{port}"},
                plan::ProbeKind::tcp);
  ASSERT_TRUE(sup.start({n}));
  std::ofstream(sup.status().at(0).dir / "poison") << "x";
  auto r = sup.restart("picky", false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("node 'picky' exited with code 4 before it was ready"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("poison exists"), std::string::npos) << r.error().message;
  ASSERT_TRUE(sup.restart("picky", true));  // wiping the poison heals it
  EXPECT_EQ(sup.status().at(0).state, NodeState::ready);
}

}  // namespace
}  // namespace fl::supervisor::testing
