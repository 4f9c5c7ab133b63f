#include "harness/run/node_query.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fl::run {
namespace {

using Clock = NodeConnection::Clock;

// Waits for `events` on fd until `deadline`; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

Error io(std::string_view what, const std::string& address, int err) {
  return Error(errc::io_error, fmt::format("{} {}: {}", what, address, std::strerror(err)));
}

}  // namespace

result<NodeConnection> NodeConnection::open(const std::string& host, uint16_t port,
                                            Clock::time_point deadline) {
  const std::string address = fmt::format("{}:{}", host, port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return Error(errc::invalid_argument, fmt::format("bad IPv4 address '{}'", host));
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return io("socket", address, errno);
  NodeConnection c(fd, address);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return io("connect", address, errno);
    if (!wait_for(fd, POLLOUT, deadline)) {
      return Error(errc::timeout, fmt::format("connect {}: timed out", address));
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return io("connect", address, err);
  }
  return c;
}

NodeConnection::NodeConnection(NodeConnection&& o) noexcept
    : fd_(o.fd_), address_(std::move(o.address_)), parser_(std::move(o.parser_)) {
  o.fd_ = -1;
}

NodeConnection& NodeConnection::operator=(NodeConnection&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
    address_ = std::move(o.address_);
    parser_ = std::move(o.parser_);
  }
  return *this;
}

NodeConnection::~NodeConnection() {
  if (fd_ >= 0) ::close(fd_);
}

result<std::vector<resp::Value>> NodeConnection::call_many(
    const std::vector<std::vector<std::string>>& commands, Clock::time_point deadline) {
  if (fd_ < 0) return Error(errc::io_error, fmt::format("{}: connection closed", address_));
  std::string request;
  resp::Writer w(request);
  for (const auto& argv : commands) {
    std::vector<std::string_view> views(argv.begin(), argv.end());
    w.command(views);
  }
  auto broken = [&](Error e) {
    ::close(fd_);
    fd_ = -1;
    return e;
  };
  size_t sent = 0;
  std::vector<resp::Value> replies;
  replies.reserve(commands.size());
  // Interleave writing and reading so that a large batch cannot deadlock on full buffers.
  while (replies.size() < commands.size()) {
    short events = POLLIN;
    if (sent < request.size()) events |= POLLOUT;
    if (!wait_for(fd_, events, deadline)) {
      return broken(Error(errc::timeout, fmt::format("{}: no reply in time", address_)));
    }
    if (sent < request.size()) {
      ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return broken(io("send", address_, errno));
      }
    }
    auto buf = parser_.prepare(64 * 1024);
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n == 0) {
      parser_.commit(0);
      return broken(Error(errc::io_error, fmt::format("{}: connection closed", address_)));
    }
    if (n < 0) {
      parser_.commit(0);
      if (errno == EAGAIN || errno == EINTR) continue;
      return broken(io("recv", address_, errno));
    }
    parser_.commit(static_cast<size_t>(n));
    for (;;) {
      resp::Value v;
      auto st = parser_.next(v);
      if (st == resp::Status::need_more) break;
      if (st == resp::Status::error) {
        return broken(Error(errc::protocol_error,
                            fmt::format("{}: {}", address_, parser_.error())));
      }
      replies.push_back(std::move(v));
    }
  }
  return replies;
}

result<resp::Value> NodeConnection::call(const std::vector<std::string>& argv,
                                         Clock::time_point deadline) {
  auto r = call_many({argv}, deadline);
  if (!r) return r.error();
  return std::move(r->front());
}

}  // namespace fl::run
