#include "chaos/resp_call.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fl::chaos {
namespace {

using Clock = std::chrono::steady_clock;

// A socket closed when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

}  // namespace

result<resp::Value> resp_call(const std::string& host, uint16_t port,
                              std::initializer_list<std::string_view> argv,
                              std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string where = fmt::format("{}:{}", host, port);
  const auto failed = [&](std::string_view what, int err) {
    return Error(errc::io_error, fmt::format("{}: {}: {}", where, what, std::strerror(err)));
  };
  const auto timed_out = [&](std::string_view what) {
    return Error(errc::timeout, fmt::format("{}: {} within {} ms", where, what, timeout.count()));
  };
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return Error(errc::invalid_argument, fmt::format("'{}' is not an IPv4 address", host));
  }
  Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return failed("socket", errno);
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return failed("connect", errno);
    if (!wait_for(s.fd, POLLOUT, deadline)) return timed_out("no connection");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return failed("connect", err);
  }
  std::string request;
  resp::Writer(request).command(argv);
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_for(s.fd, POLLOUT, deadline)) return timed_out("could not send");
    } else if (n < 0 && errno != EINTR) {
      return failed("send", errno);
    }
  }
  resp::Parser parser;
  resp::Value reply;
  for (;;) {
    const auto st = parser.next(reply);
    if (st == resp::Status::ok) return reply;
    if (st == resp::Status::error) {
      return Error(errc::protocol_error, fmt::format("{}: {}", where, parser.error()));
    }
    if (!wait_for(s.fd, POLLIN, deadline)) return timed_out("no reply");
    auto buf = parser.prepare(4096);
    const ssize_t n = ::recv(s.fd, buf.data(), buf.size(), 0);
    if (n == 0) return Error(errc::io_error, fmt::format("{}: connection closed", where));
    if (n < 0) {
      parser.commit(0);
      if (errno == EAGAIN || errno == EINTR) continue;
      return failed("recv", errno);
    }
    parser.commit(static_cast<size_t>(n));
  }
}

}  // namespace fl::chaos
