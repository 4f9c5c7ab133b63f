// Port allocation: free, locked across runs, disjoint between supervisors in one process and in
// two processes, and actually bound by the nodes that got them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "harness/supervisor/port_allocator.h"
#include "tests/supervisor/test_support.h"

extern char** environ;

namespace fl::supervisor::testing {
namespace {

TEST(PortAllocator, RangeStaysBelowTheEphemeralRange) {
  auto [first, last] = PortAllocator::default_range();
  EXPECT_LE(first, last);
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 0, hi = 0;
  if (in >> lo >> hi) {
    EXPECT_TRUE(last < lo || first > hi) << first << ".." << last;
  }
}

TEST(PortAllocator, PortsAreLockedAndFree) {
  ScratchDir dir;
  PortAllocator::Options o;
  o.lock_dir = dir.path / "locks";
  PortAllocator a(o), b(o);
  std::set<uint16_t> seen;
  for (int i = 0; i < 20; ++i) {
    auto pa = a.allocate();
    auto pb = b.allocate();
    ASSERT_TRUE(pa && pb);
    EXPECT_TRUE(seen.insert(*pa).second);
    EXPECT_TRUE(seen.insert(*pb).second);
  }
  // The lock is really held: another open file description cannot take it.
  uint16_t p = a.held().front();
  int fd = ::open((o.lock_dir / (std::to_string(p) + ".lock")).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0);
  a.release(p);
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ::close(fd);
}

std::set<uint16_t> ports_of(const Supervisor& sup) {
  std::set<uint16_t> out;
  for (const auto& s : sup.status()) out.insert(s.port);
  return out;
}

void expect_bound_by_node(const Supervisor& sup) {
  for (const auto& s : sup.status()) {
    EXPECT_TRUE(can_connect(s.port)) << s.id;
    EXPECT_NE(read_file(s.log).find("listening on 127.0.0.1:" + std::to_string(s.port)),
              std::string::npos)
        << s.id;
  }
}

TEST(SupervisorPorts, TwoSupervisorsInOneProcessGetDisjointPorts) {
  ScratchDir dir;
  EventLog ea, eb;
  Supervisor a(quiet_options(dir.path / "a", ea));
  Supervisor b(quiet_options(dir.path / "b", eb));
  std::vector<plan::Instance> na, nb;
  for (int i = 0; i < 6; ++i) {
    na.push_back(listener("n" + std::to_string(i)));
    nb.push_back(listener("n" + std::to_string(i)));
  }
  ASSERT_TRUE(a.start(na));
  ASSERT_TRUE(b.start(nb));
  auto pa = ports_of(a), pb = ports_of(b);
  EXPECT_EQ(pa.size(), 6u);
  EXPECT_EQ(pb.size(), 6u);
  for (uint16_t p : pa) EXPECT_EQ(pb.count(p), 0u) << p;
  expect_bound_by_node(a);
  expect_bound_by_node(b);
}

// A port holder in a child process: its stdin and stdout are pipes to us.
struct Holder {
  pid_t pid = 0;
  int in = -1;   // write end of its stdin
  int out = -1;  // read end of its stdout
  std::set<uint16_t> ports;
  std::vector<int> pids;

  explicit Holder(const std::filesystem::path& run_dir);
  ~Holder() {
    if (in >= 0) ::close(in);
    if (out >= 0) ::close(out);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }
  int finish() {
    ::close(in);  // EOF tells the holder to shut down
    in = -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = 0;
    return status;
  }
};

Holder::Holder(const std::filesystem::path& run_dir) {
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) return;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
  std::string holder = FL_PORT_HOLDER, run = run_dir.string();
  std::vector<char*> argv = {holder.data(), run.data(), nullptr};
  if (::posix_spawn(&pid, holder.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid = 0;
  posix_spawn_file_actions_destroy(&fa);
  ::close(to_child[0]);
  ::close(from_child[1]);
  in = to_child[1];
  out = from_child[0];
  // It prints "ports p1 ...\npids n1 ...\n" once its nodes are ready.
  std::string text;
  char buf[512];
  while (std::count(text.begin(), text.end(), '\n') < 2) {
    ssize_t n = ::read(out, buf, sizeof buf);
    if (n <= 0) return;
    text.append(buf, size_t(n));
  }
  std::istringstream lines(text);
  std::string word;
  lines >> word;
  for (int p; lines >> p;) ports.insert(uint16_t(p));
  lines.clear();
  lines >> word;
  for (int p; lines >> p;) pids.push_back(p);
}

TEST(SupervisorPorts, TwoProcessesGetDisjointPorts) {
  ScratchDir dir;
  Holder holder(dir.path / "holder");
  ASSERT_EQ(holder.ports.size(), 6u);

  EventLog events;
  Supervisor mine(quiet_options(dir.path / "mine", events));
  std::vector<plan::Instance> nodes;
  for (int i = 0; i < 6; ++i) nodes.push_back(listener("m" + std::to_string(i)));
  ASSERT_TRUE(mine.start(nodes));
  for (uint16_t p : ports_of(mine)) EXPECT_EQ(holder.ports.count(p), 0u) << p;
  for (uint16_t p : holder.ports) EXPECT_TRUE(can_connect(p)) << p;
  expect_bound_by_node(mine);
  int status = holder.finish();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  for (int pid : holder.pids) EXPECT_TRUE(eventually([&] { return gone(pid); })) << pid;
}

TEST(SupervisorShutdown, NodesDieWithAKilledHarness) {
  ScratchDir dir;
  Holder holder(dir.path / "holder");
  ASSERT_EQ(holder.pids.size(), 6u);
  for (int pid : holder.pids) EXPECT_FALSE(gone(pid)) << pid;
  ::kill(holder.pid, SIGKILL);  // no destructor, no shutdown: only PR_SET_PDEATHSIG is left
  for (int pid : holder.pids) EXPECT_TRUE(eventually([&] { return gone(pid); })) << pid;
  // Its port locks died with it: the ports can be taken again.
  PortAllocator::Options o;
  o.first = *holder.ports.begin();
  o.last = *holder.ports.begin();
  PortAllocator again(o);
  EXPECT_TRUE(eventually([&] { return again.allocate().has_value(); }));
}

}  // namespace
}  // namespace fl::supervisor::testing
