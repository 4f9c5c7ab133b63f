#include "harness/supervisor/probe.h"

#include <fmt/core.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace fl::supervisor {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Reads one "\r\n"-terminated line (at most 4 KiB).
asio::awaitable<std::string> read_line(tcp::socket& s) {
  std::string buf;
  auto [ec, n] =
      co_await asio::async_read_until(s, asio::dynamic_buffer(buf, 4096), "\r\n", kTuple);
  if (ec) co_return std::string();
  co_return buf.substr(0, n);
}

asio::awaitable<bool> attempt(const plan::ReadyProbe& probe, tcp::endpoint ep) {
  tcp::socket s(co_await asio::this_coro::executor);
  auto [cec] = co_await s.async_connect(ep, kTuple);
  if (cec) co_return false;
  switch (probe.kind) {
    case plan::ProbeKind::tcp:
      co_return true;
    case plan::ProbeKind::resp: {
      static constexpr std::string_view kPing = "*1\r\n$4\r\nPING\r\n";
      auto [wec, wn] = co_await asio::async_write(s, asio::buffer(kPing), kTuple);
      if (wec) co_return false;
      std::string line = co_await read_line(s);
      co_return line.rfind("+PONG", 0) == 0;
    }
    case plan::ProbeKind::http: {
      std::string req = fmt::format(
          "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: faultline\r\nConnection: close\r\n\r\n",
          probe.path.empty() ? "/" : probe.path, ep.address().to_string(), ep.port());
      auto [wec, wn] = co_await asio::async_write(s, asio::buffer(req), kTuple);
      if (wec) co_return false;
      int status = http_status(co_await read_line(s));
      co_return status >= 200 && status < 300;
    }
    default:
      co_return false;
  }
}

}  // namespace

int http_status(std::string_view line) {
  if (line.rfind("HTTP/", 0) != 0) return 0;
  auto sp = line.find(' ');
  if (sp == std::string_view::npos || line.size() < sp + 4) return 0;
  int status = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (line[i] < '0' || line[i] > '9') return 0;
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > sp + 4 && line[sp + 4] != ' ' && line[sp + 4] != '\r') return 0;
  return status;
}

asio::awaitable<bool> probe_once(const plan::ReadyProbe& probe, tcp::endpoint endpoint,
                                 std::chrono::steady_clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  auto r = co_await (attempt(probe, endpoint) || timer.async_wait(kTuple));
  co_return r.index() == 0 && std::get<0>(r);
}

}  // namespace fl::supervisor
