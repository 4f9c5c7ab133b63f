#include "harness/supervisor/node_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "harness/supervisor/probe.h"

namespace fl::supervisor {
namespace {

struct TempLog {
  TempLog() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fl-nodelog-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    ::close(fd);
    path = tmpl;
  }
  ~TempLog() { std::filesystem::remove(path); }
  void append(std::string_view s) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    ASSERT_EQ(::write(fd, s.data(), s.size()), ssize_t(s.size()));
    ::close(fd);
  }
  std::filesystem::path path;
};

std::vector<std::string> read_all(NodeLog& log, size_t budget = 1 << 20) {
  std::vector<std::string> lines;
  while (log.read(budget, [&](std::string_view l) { lines.emplace_back(l); })) {
  }
  return lines;
}

TEST(NodeLog, FollowsFromTheEndAndSplitsWholeLines) {
  TempLog f;
  f.append("old output\n");
  NodeLog log;
  ASSERT_TRUE(log.open(f.path));
  f.append("one\r\ntw");
  EXPECT_EQ(read_all(log), std::vector<std::string>{"one"});
  f.append("o\nthree");
  EXPECT_EQ(read_all(log, 3), std::vector<std::string>{"two"});
  std::vector<std::string> rest;
  log.flush_partial([&](std::string_view l) { rest.emplace_back(l); });
  EXPECT_EQ(rest, std::vector<std::string>{"three"});
}

TEST(NodeLog, SkipResumesAtALineStart) {
  TempLog f;
  NodeLog log;
  ASSERT_TRUE(log.open(f.path));
  f.append("aaaa\nbbbb\ncccc\n");
  EXPECT_EQ(log.skip(7), 8u);  // lands inside "bbbb": drops it, keeps "cccc"
  EXPECT_EQ(read_all(log), std::vector<std::string>{"cccc"});
  f.append("dddd\neeee\n");
  EXPECT_EQ(log.skip(5), 5u);  // lands exactly after "dddd\n"
  EXPECT_EQ(read_all(log), std::vector<std::string>{"eeee"});
  EXPECT_EQ(log.skip(0), 0u);
}

TEST(NodeLog, TailLines) {
  TempLog f;
  for (int i = 0; i < 30; ++i) f.append("line " + std::to_string(i) + "\n");
  auto tail = tail_lines(f.path, 20);
  ASSERT_EQ(tail.size(), 20u);
  EXPECT_EQ(tail.front(), "line 10");
  EXPECT_EQ(tail.back(), "line 29");
  EXPECT_TRUE(tail_lines(f.path / "missing", 20).empty());
}

TEST(Probe, HttpStatusLine) {
  EXPECT_EQ(http_status("HTTP/1.1 200 OK\r\n"), 200);
  EXPECT_EQ(http_status("HTTP/1.0 204\r\n"), 204);
  EXPECT_EQ(http_status("HTTP/1.1 503 Service Unavailable"), 503);
  EXPECT_EQ(http_status("+PONG\r\n"), 0);
  EXPECT_EQ(http_status("HTTP/1.1 20"), 0);
  EXPECT_EQ(http_status("HTTP/1.1 2000 OK"), 0);
}

}  // namespace
}  // namespace fl::supervisor
