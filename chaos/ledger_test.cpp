#include "chaos/ledger.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "chaos/ledgered_control.h"

namespace fl::chaos {
namespace {
namespace fs = std::filesystem;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fl-ledger-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::setenv("FAULTLINE_STATE_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("FAULTLINE_STATE_DIR");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

// A child that stops itself in its own process group: a paused node left by a dead harness.
pid_t stopped_child() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::raise(SIGSTOP);
    for (;;) ::pause();
  }
  ::setpgid(pid, pid);
  int status = 0;
  ::waitpid(pid, &status, WUNTRACED);
  return pid;
}

TEST_F(LedgerTest, WritesAndReadsBackItsEntries) {
  auto l = Ledger::open("run/one", "/runs/one");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ((*l)->path(), dir_ / "run_one.json");
  ASSERT_TRUE((*l)->add({LedgerEntry::Kind::netns, "fl-abcdef-0"}));
  ASSERT_TRUE((*l)->add({LedgerEntry::Kind::nft_table, "inet faultline_abcdef"}));
  ASSERT_TRUE((*l)->add({LedgerEntry::Kind::netns, "fl-abcdef-0"}));  // recorded once
  ASSERT_TRUE((*l)->add({LedgerEntry::Kind::pgroup, "", 4242, 77}));

  auto f = read_ledger((*l)->path());
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->run_id, "run/one");
  EXPECT_EQ(f->run_dir, "/runs/one");
  EXPECT_EQ(f->owner_pid, ::getpid());
  EXPECT_EQ(f->owner_start_time, process_start_time(::getpid()).value());
  ASSERT_EQ(f->entries.size(), 3u);
  EXPECT_EQ(describe(f->entries[0]), "netns fl-abcdef-0");
  EXPECT_EQ(describe(f->entries[1]), "nft_table inet faultline_abcdef");
  EXPECT_EQ(f->entries[2].pgid, 4242);
  EXPECT_EQ(f->entries[2].start_time, 77u);

  ASSERT_TRUE((*l)->remove({LedgerEntry::Kind::netns, "fl-abcdef-0"}));
  f = read_ledger((*l)->path());
  ASSERT_TRUE(f);
  EXPECT_EQ(f->entries.size(), 2u);

  (*l)->close();
  EXPECT_FALSE(fs::exists(dir_ / "run_one.json"));
}

TEST_F(LedgerTest, OwnerLivenessUsesTheStartTime) {
  auto me = process_start_time(::getpid());
  ASSERT_TRUE(me);
  EXPECT_TRUE(process_alive(::getpid(), *me));
  // The same pid with another start time is a reused pid, not the owner.
  EXPECT_FALSE(process_alive(::getpid(), *me + 1));
  pid_t child = ::fork();
  if (child == 0) _exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_FALSE(process_start_time(child).has_value());
}

TEST_F(LedgerTest, SweepLeavesALiveOwnersLedger) {
  auto l = Ledger::open("live", "/runs/live");
  ASSERT_TRUE(l);
  pid_t paused = stopped_child();
  ASSERT_TRUE((*l)->add({LedgerEntry::Kind::pgroup, "", paused, *process_start_time(paused)}));
  auto r = sweep_stale(false);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->removed.empty());
  EXPECT_TRUE(fs::exists((*l)->path()));
  // Still stopped: the sweep did not touch a live run's group.
  int status = 0;
  EXPECT_EQ(::waitpid(paused, &status, WNOHANG | WCONTINUED), 0);
  ::kill(paused, SIGKILL);
  ::waitpid(paused, &status, 0);
}

TEST_F(LedgerTest, SweepKillsTheStoppedGroupOfADeadOwnerAndRemovesItsFile) {
  pid_t paused = stopped_child();
  uint64_t start = *process_start_time(paused);
  // A dead owner: a child that wrote its ledger and was SIGKILLed.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t owner = ::fork();
  if (owner == 0) {
    auto l = Ledger::open("dead-run", "/runs/dead");
    bool ok = l && (*l)->add({LedgerEntry::Kind::pgroup, "", paused, start}) &&
              (*l)->add({LedgerEntry::Kind::netns, "fl-nosuch-test-0"});
    char c = ok ? '1' : '0';
    (void)!::write(fds[1], &c, 1);
    for (;;) ::pause();
  }
  char c = 0;
  ASSERT_EQ(::read(fds[0], &c, 1), 1);
  ASSERT_EQ(c, '1');
  ::kill(owner, SIGKILL);
  int status = 0;
  ::waitpid(owner, &status, 0);
  ASSERT_TRUE(fs::exists(dir_ / "dead-run.json"));

  auto r = sweep_stale(false);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "dead-run.json"));
  ASSERT_EQ(::waitpid(paused, &status, 0), paused);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  bool saw_group = false;
  for (const auto& s : r->removed) saw_group |= s.rfind("pgroup", 0) == 0;
  EXPECT_TRUE(saw_group);
  // The namespace was already gone: not an error.
  EXPECT_TRUE(r->errors.empty()) << r->errors.front();
}

TEST_F(LedgerTest, SweepSparesAGroupWhosePidWasReused) {
  pid_t paused = stopped_child();
  uint64_t start = *process_start_time(paused);
  {
    std::ofstream out(dir_ / "old.json");
    // Owner pid 1 with a start time it never had; the group's start time is not this process's.
    out << R"({"run_id":"old","run_dir":"","owner_pid":1,"owner_start_time":999999999,)"
        << R"("entries":[{"kind":"pgroup","pgid":)" << paused << R"(,"start_time":)"
        << start + 12345 << "}]}\n";
  }
  auto r = sweep_stale(false);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "old.json"));
  int status = 0;
  EXPECT_EQ(::waitpid(paused, &status, WNOHANG), 0);  // not killed
  ::kill(paused, SIGKILL);
  ::waitpid(paused, &status, 0);
}

TEST_F(LedgerTest, AnUnreadableLedgerIsReportedNotFatal) {
  { std::ofstream(dir_ / "junk.json") << "{not json"; }
  auto r = sweep_stale(false);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_NE(r->errors[0].find("junk.json"), std::string::npos);
}

// Records the verbs it is asked for; fails pause for "bad".
class FakeControl final : public ProcessControl {
 public:
  result<void> kill(std::string_view) override { return {}; }
  result<void> terminate(std::string_view) override { return {}; }
  result<void> pause(std::string_view id) override {
    if (id == "bad") return Error(errc::invalid_argument, "not running");
    return {};
  }
  result<void> resume(std::string_view) override { return {}; }
  result<void> restart(std::string_view, bool) override { return {}; }
};

TEST_F(LedgerTest, LedgeredControlRecordsPausedGroupsUntilResumedOrKilled) {
  auto l = Ledger::open("ctl", "/runs/ctl");
  ASSERT_TRUE(l);
  FakeControl inner;
  const int me = static_cast<int>(::getpid());
  LedgeredControl ctl(inner, **l, [&](std::string_view id) { return id == "gone" ? 0 : me; });

  ASSERT_TRUE(ctl.pause("a"));
  auto entries = (*l)->entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].kind, LedgerEntry::Kind::pgroup);
  EXPECT_EQ(entries[0].pgid, me);
  EXPECT_EQ(entries[0].start_time, *process_start_time(me));
  auto f = read_ledger((*l)->path());
  ASSERT_TRUE(f);
  EXPECT_EQ(f->entries.size(), 1u);

  ASSERT_TRUE(ctl.resume("a"));
  EXPECT_TRUE((*l)->entries().empty());

  ASSERT_TRUE(ctl.pause("a"));
  ASSERT_TRUE(ctl.kill("a"));
  EXPECT_TRUE((*l)->entries().empty());

  EXPECT_FALSE(ctl.pause("bad"));  // a failed pause leaves nothing recorded
  EXPECT_TRUE((*l)->entries().empty());
  ASSERT_TRUE(ctl.pause("gone"));  // no process: nothing to record
  EXPECT_TRUE((*l)->entries().empty());
}

}  // namespace
}  // namespace fl::chaos
