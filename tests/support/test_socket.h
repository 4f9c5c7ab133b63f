// Header-only helpers for tests that run small TCP servers on the loopback interface.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdint>

namespace fl::test {

// A TCP socket listening on 127.0.0.1:<ephemeral> with `backlog`; its port goes to `port`. A
// failed bind or listen is a test failure (EXPECT).
inline int listen_loopback(int backlog, uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd, backlog), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// The next connection (SOCK_CLOEXEC) on listening socket `fd`, or -1 if none came within
// `timeout_ms` or accept failed.
inline int accept_within(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return -1;
  return ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
}

}  // namespace fl::test
