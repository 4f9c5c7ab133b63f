// Port allocation: free, locked across runs, disjoint between supervisors in one process and in
// two processes, and actually bound by the nodes that got them.
#include "harness/supervisor/port_allocator.h"
#include "tests/supervisor/test_support.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

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
    EXPECT_NE(read_file(s.log).find("listening on 127.0.0.1:" + std::to_string(s.port)), std::string::npos)
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

TEST(SupervisorPorts, TwoProcessesGetDisjointPorts) {
  ScratchDir dir;
  int to_child[2], from_child[2];
  ASSERT_EQ(::pipe2(to_child, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(from_child, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
  std::string holder = FL_PORT_HOLDER, run = (dir.path / "holder").string();
  std::vector<char*> argv = {holder.data(), run.data(), nullptr};
  pid_t child = 0;
  ASSERT_EQ(::posix_spawn(&child, holder.c_str(), &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(to_child[0]);
  ::close(from_child[1]);

  EventLog events;
  Supervisor mine(quiet_options(dir.path / "mine", events));
  std::vector<plan::Instance> nodes;
  for (int i = 0; i < 6; ++i) nodes.push_back(listener("m" + std::to_string(i)));
  ASSERT_TRUE(mine.start(nodes));

  // The holder prints "ports p1 p2 ...\n" once its nodes are ready.
  std::string text;
  char buf[512];
  while (text.find('\n') == std::string::npos) {
    ssize_t n = ::read(from_child[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, size_t(n));
  }
  ASSERT_EQ(text.rfind("ports ", 0), 0u) << text;
  std::set<uint16_t> theirs;
  std::istringstream in(text.substr(6));
  for (int p; in >> p;) theirs.insert(uint16_t(p));
  EXPECT_EQ(theirs.size(), 6u);
  for (uint16_t p : ports_of(mine)) EXPECT_EQ(theirs.count(p), 0u) << p;
  for (uint16_t p : theirs) EXPECT_TRUE(can_connect(p)) << p;
  expect_bound_by_node(mine);

  ::close(to_child[1]);  // EOF tells the holder to shut down
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ::close(from_child[0]);
}

}  // namespace
}  // namespace fl::supervisor::testing
