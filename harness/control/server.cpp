#include "harness/control/server.h"

#include "common/file_io.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/random.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

namespace fl::control {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// How long a connection may take to send a request or read a response before it is dropped.
constexpr auto kIoDeadline = std::chrono::seconds(30);
// Request bodies are small JSON objects.
constexpr uint64_t kBodyLimit = 1 << 20;


}  // namespace

result<std::string> random_token() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(errc::io_error, fmt::format("getrandom: {}", std::strerror(errno)));
    }
    got += static_cast<size_t>(n);
  }
  std::string hex;
  hex.reserve(64);
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

result<void> write_token_file(const fs::path& path, const std::string& token) {
  // 0600 at creation (the umask can only take bits away), so there is no moment in which
  // another user could open it; O_EXCL so an existing file (or a symlink planted there) is
  // never written through.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Error(errc::io_error,
                 fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  }
  const std::string text = token + "\n";
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return Error(errc::io_error,
                   fmt::format("cannot write {}: {}", path.string(), std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    return Error(errc::io_error,
                 fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  return {};
}

struct ControlServer::Impl {
  // Destroyed in reverse: the acceptor, then the io_context with any suspended connection
  // (whose frames may hold work on the pool), then the (joined) pool.
  asio::thread_pool workers;
  asio::io_context io;
  tcp::acceptor acceptor;
  Api api;
  std::string host;
  std::string token;
  uint16_t port = 0;
  std::thread thread;
  bool stopped = false;

  Impl(Backend backend, std::string tok, int worker_count)
      : workers(static_cast<size_t>(std::max(1, worker_count))),
        acceptor(io),
        api(std::move(backend), tok),
        token(std::move(tok)) {}

  asio::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kBodyLimit);
      stream.expires_after(kIoDeadline);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (ec) break;  // the peer closed, timed out or sent something that is not HTTP
      const auto& req = parser.get();
      Request r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      r.authorization = std::string(req[http::field::authorization]);
      r.body = req.body();
      // Handled on a worker: a restart waits for the node to be ready again.
      Response out = co_await asio::co_spawn(
          workers,
          [&]() -> asio::awaitable<Response> {
            try {
              co_return api.handle(r);
            } catch (const std::exception& e) {
              co_return Response{500, "application/json",
                                 boost::json::serialize(boost::json::object{
                                     {"error", fmt::format("internal error: {}", e.what())}}) +
                                     "\n"};
            }
          },
          asio::use_awaitable);
      http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
      res.set(http::field::server, "faultline");
      res.set(http::field::content_type, out.content_type);
      res.set(http::field::cache_control, "no-store");
      res.keep_alive(req.keep_alive());
      res.body() = std::move(out.body);
      res.prepare_payload();
      stream.expires_after(kIoDeadline);
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) {
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
        continue;  // a connection that failed before it was accepted (EMFILE, reset)
      }
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    io.stop();
    if (thread.joinable()) thread.join();
    workers.join();
    beast::error_code ignored;
    acceptor.close(ignored);
  }
};

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlServer::~ControlServer() { stop(); }

result<std::unique_ptr<ControlServer>> ControlServer::start(Backend backend,
                                                            ServerOptions options) {
  auto token = random_token();
  if (!token) return token.error();
  auto impl = std::make_unique<Impl>(std::move(backend), *token, options.workers);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec)
    return Error(errc::invalid_argument, fmt::format("bad control address '{}'", options.host));
  if (!address.is_loopback()) {
    return Error(errc::invalid_argument,
                 fmt::format("the control API listens on loopback only, not on {}", options.host));
  }
  tcp::endpoint ep(address, 0);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(errc::io_error,
                 fmt::format("control API: cannot listen on {}: {}", options.host, ec.message()));
  }
  impl->host = options.host;
  impl->port = impl->acceptor.local_endpoint().port();

  if (auto w = write_token_file(options.run_dir / "control.token", impl->token); !w) {
    return w.error();
  }
  boost::json::object info{{"url", fmt::format("http://{}:{}", impl->host, impl->port)},
                           {"host", impl->host},
                           {"port", impl->port},
                           {"pid", ::getpid()},
                           {"token_file", "control.token"}};
  if (auto w = fl::common::replace_file(options.run_dir / "control.json",
                                     boost::json::serialize(info) + "\n");
      !w) {
    return w.error();
  }

  Impl& m = *impl;
  asio::co_spawn(m.io, m.accept_loop(), asio::detached);
  m.thread = std::thread([&m] { m.io.run(); });
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

const std::string& ControlServer::host() const { return impl_->host; }
uint16_t ControlServer::port() const { return impl_->port; }
std::string ControlServer::url() const {
  return fmt::format("http://{}:{}", impl_->host, impl_->port);
}
const std::string& ControlServer::token() const { return impl_->token; }
void ControlServer::stop() { impl_->stop(); }

}  // namespace fl::control
