#include "nodes/common/resp_server.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <csignal>
#include <deque>
#include <exception>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "common/resp/resp.h"

namespace fl::nodes {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Bytes asked of each read. Large enough for a -P 16 batch of small commands from one client.
constexpr size_t kReadChunk = 16 * 1024;
// A reply buffer grown beyond this by one large reply is released after it is written.
constexpr size_t kKeepReplyCapacity = 1024 * 1024;
// Pipelined mode: reading pauses while this many reply bytes wait for the writer (a client that
// pipelines without reading its replies must not grow the buffer without bound).
constexpr size_t kMaxQueuedOutput = 4 * 1024 * 1024;

// Exceptions escaping a coroutine are bugs: rethrow them out of io_context::run().
void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

// Parks the calling coroutine until `timer` is cancelled (it never expires).
asio::awaitable<void> wait_woken(asio::steady_timer& timer) {
  timer.expires_at(asio::steady_timer::time_point::max());
  co_await timer.async_wait(kUseTuple);
}

// Answers a RESP protocol error and marks the connection to close once it is written.
void reply_protocol_error(resp::Writer& writer, const resp::Parser& parser, Session& session) {
  std::string msg = "ERR ";
  msg += parser.error();
  writer.error(msg);
  session.after = AfterReply::close;
}

// A connection's state. The holding mode (serve) uses only the first members; the pipelined mode
// (serve_pipelined + write_loop) uses the reply queue as well.
struct Connection final : detail::PushSink {
  explicit Connection(tcp::socket s)
      : socket(std::move(s)), wake(socket.get_executor()), writer_wake(socket.get_executor()) {}
  tcp::socket socket;
  // Waited on (never expiring) while the reader waits (a deferred reply, room in the queue, the
  // output to drain); cancelled to resume.
  asio::steady_timer wake;
  Clock::time_point last_active = Clock::now();
  Session session;

  // ---- pipelined mode ----
  // A deferred reply not yet written, and the replies (and pushes) queued after it that are
  // already complete.
  struct Slot {
    std::shared_ptr<detail::PendingReply> pending;
    std::string after;
  };
  // Waited on by the writer while there is nothing to write.
  asio::steady_timer writer_wake;
  // Complete replies ready to be written, in order: everything before the first pending slot.
  std::string out;
  // Replies after the first one still pending, in command order.
  std::deque<Slot> queue;
  // Set while the reader dispatches: a completion then leaves the queue alone (it must not pop
  // the slot whose `after` a handler is appending to); the reader advances afterwards.
  bool dispatching = false;
  // The writer is writing, or was woken and has not yet looked at `out`.
  bool writer_busy = false;
  bool writer_done = false;
  // The reader waits on `wake` (for room, the drain, or the writer's end).
  bool reader_waiting = false;
  // Set once the connection is closing: pushes are refused and completions are dropped.
  bool closed = false;

  // Where the next complete reply goes: after the last pending slot, or straight to `out`.
  std::string& tail() { return queue.empty() ? out : queue.back().after; }

  // Moves the completed head run of the queue to `out` and wakes the writer and the reader.
  void advance() {
    if (dispatching) return;  // the reader calls advance() once the handler returned
    while (!queue.empty() && queue.front().pending->done) {
      Slot& head = queue.front();
      head.pending->wake = nullptr;
      out += head.pending->bytes;
      out += head.after;
      queue.pop_front();
    }
    wake_writer();
    wake_reader();
  }

  // Wakes the writer if it waits for output, and the reader if it waits for room (a cancel per
  // completed reply would otherwise cost a scheduler round trip each).
  void wake_writer() {
    if (writer_busy) return;
    writer_busy = true;
    writer_wake.cancel();
  }
  void wake_reader() {
    if (reader_waiting) wake.cancel();
  }

  bool push(std::string bytes) override {
    if (closed || !socket.is_open()) return false;
    if (queue.empty() && out.empty()) {
      out = std::move(bytes);
    } else {
      tail() += bytes;
    }
    wake_writer();
    return true;
  }
  bool open() const override { return !closed && socket.is_open(); }

  // Closes the socket and drops every reply still pending (their complete() becomes a no-op).
  void close() {
    closed = true;
    for (Slot& slot : queue) {
      slot.pending->abandoned = true;
      slot.pending->wake = nullptr;
    }
    queue.clear();
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    wake.cancel();
    writer_wake.cancel();
  }
};

// The pipelined reader parks until woken: for room in the queue, the drain, or the writer's end.
asio::awaitable<void> reader_wait(Connection& c) {
  c.reader_waiting = true;
  co_await wait_woken(c.wake);
  c.reader_waiting = false;
}

}  // namespace

struct RespServer::Impl {
  Impl(ServerOptions o, const CommandTable& c, ServerStats& s)
      : options(std::move(o)), commands(c), stats(s) {}

  ServerOptions options;
  const CommandTable& commands;
  ServerStats& stats;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io};
  asio::steady_timer idle_timer{io};
  std::vector<std::unique_ptr<asio::steady_timer>> tick_timers;
  std::vector<std::function<void()>> stop_hooks;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections;
  uint64_t next_id = 1;
  bool stopping = false;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Connection> c);
  asio::awaitable<void> serve_pipelined(std::shared_ptr<Connection> c);
  asio::awaitable<void> write_loop(std::shared_ptr<Connection> c);
  asio::awaitable<void> reject(tcp::socket socket);
  asio::awaitable<void> idle_loop();
  asio::awaitable<void> tick_loop(asio::steady_timer& timer, Duration period,
                                  std::function<void()> tick);
  void stop();
};

asio::awaitable<void> RespServer::Impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
    if (stopping) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      log::warn("accept failed: {}", ec.message());
      asio::steady_timer backoff(io, std::chrono::milliseconds(50));
      co_await backoff.async_wait(kUseTuple);
      continue;
    }
    boost::system::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    ++stats.total_connections_received;
    if (stats.connected_clients >= options.max_clients) {
      ++stats.rejected_connections;
      asio::co_spawn(io, reject(std::move(socket)), rethrow);
      continue;
    }
    auto c = std::make_shared<Connection>(std::move(socket));
    c->session.id = next_id++;
    connections.emplace(c->session.id, c);
    ++stats.connected_clients;
    if (options.pipeline_deferred) {
      c->session.push_sink = c;
      asio::co_spawn(io, serve_pipelined(std::move(c)), rethrow);
    } else {
      asio::co_spawn(io, serve(std::move(c)), rethrow);
    }
  }
}

asio::awaitable<void> RespServer::Impl::reject(tcp::socket socket) {
  static constexpr std::string_view kMsg = "-ERR max number of clients reached\r\n";
  co_await asio::async_write(socket, asio::buffer(kMsg), kUseTuple);
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

asio::awaitable<void> RespServer::Impl::serve(std::shared_ptr<Connection> c) {
  resp::Limits limits;
  limits.max_bulk = options.max_bulk;
  resp::Parser parser(limits);
  std::vector<std::string_view> argv;
  argv.reserve(16);
  std::string out;
  out.reserve(kReadChunk);
  resp::Writer writer(out);
  Session& session = c->session;

  while (!stopping) {
    // Answer every complete command buffered into one buffer, then write once. A deferred reply
    // holds the rest of the batch back until it is complete, so replies stay in order.
    bool aborted = false;
    for (;;) {
      const resp::Status st = parser.next_command(argv);
      if (st == resp::Status::need_more) break;
      if (st == resp::Status::error) {
        reply_protocol_error(writer, parser, session);
        break;
      }
      ++stats.total_commands_processed;
      if (auto pending = commands.dispatch(argv, writer, session, &out)) {
        if (!pending->done) {
          pending->wake = [conn = c.get()] { conn->wake.cancel(); };
          while (!pending->done && !stopping && c->socket.is_open()) co_await wait_woken(c->wake);
          pending->wake = nullptr;
          if (!pending->done) {
            pending->abandoned = true;
            aborted = true;
            break;
          }
        }
        out += pending->bytes;
      }
      if (session.after != AfterReply::keep) break;
    }
    if (aborted) break;
    if (!out.empty()) {
      if (options.reply_delay > Duration::zero()) {
        // `wake` is idle here; stop() and the idle watchdog cancel it, cutting the delay short.
        c->wake.expires_after(options.reply_delay);
        co_await c->wake.async_wait(kUseTuple);
        if (stopping) break;
      }
      auto [wec, written] = co_await asio::async_write(c->socket, asio::buffer(out), kUseTuple);
      (void)written;
      out.clear();
      if (out.capacity() > kKeepReplyCapacity) {
        out.shrink_to_fit();
        out.reserve(kReadChunk);
      }
      if (wec) break;
    }
    if (session.after == AfterReply::shutdown) {
      log::info("SHUTDOWN requested by client {}", session.id);
      stop();
      break;
    }
    if (session.after == AfterReply::close) break;

    std::span<char> space = parser.prepare(kReadChunk);
    auto [ec, n] =
        co_await c->socket.async_read_some(asio::buffer(space.data(), space.size()), kUseTuple);
    if (ec) break;
    parser.commit(n);
    c->last_active = Clock::now();
  }

  boost::system::error_code ec;
  c->socket.shutdown(tcp::socket::shutdown_both, ec);
  c->socket.close(ec);
  connections.erase(session.id);
  --stats.connected_clients;
}

asio::awaitable<void> RespServer::Impl::serve_pipelined(std::shared_ptr<Connection> c) {
  resp::Limits limits;
  limits.max_bulk = options.max_bulk;
  resp::Parser parser(limits);
  std::vector<std::string_view> argv;
  argv.reserve(16);
  c->out.reserve(kReadChunk);
  Session& session = c->session;
  const size_t max_pending = std::max<size_t>(options.max_pending, 1);
  c->writer_busy = true;  // until write_loop starts and finds nothing to write
  asio::co_spawn(io, write_loop(c), rethrow);

  bool drain = false;  // close only after every queued reply is written (QUIT, protocol error)
  while (!stopping && !c->closed && c->socket.is_open()) {
    // Dispatch every buffered command while there is room; replies queue in command order.
    bool room = true;
    c->dispatching = true;
    for (;;) {
      if (c->queue.size() >= max_pending || c->out.size() >= kMaxQueuedOutput) {
        room = false;
        break;
      }
      const resp::Status st = parser.next_command(argv);
      if (st == resp::Status::need_more) break;
      std::string& target = c->tail();
      resp::Writer writer(target);
      if (st == resp::Status::error) {
        reply_protocol_error(writer, parser, session);
        break;
      }
      ++stats.total_commands_processed;
      if (auto pending = commands.dispatch(argv, writer, session, &target)) {
        if (pending->done) {
          // Still the tail: a handler cannot add slots, and advance() waits until it returns.
          target += pending->bytes;
        } else {
          pending->wake = [conn = c.get()] { conn->advance(); };
          c->queue.push_back({std::move(pending), {}});
        }
      }
      if (session.after != AfterReply::keep) break;
    }
    c->dispatching = false;
    c->advance();  // also wakes the writer for the replies just queued

    if (session.after != AfterReply::keep) {
      drain = true;
      break;
    }
    if (!room) {
      // Wait for replies to complete or be written; never expires.
      co_await reader_wait(*c);
      continue;
    }
    std::span<char> space = parser.prepare(kReadChunk);
    auto [ec, n] =
        co_await c->socket.async_read_some(asio::buffer(space.data(), space.size()), kUseTuple);
    if (ec) break;
    parser.commit(n);
    c->last_active = Clock::now();
  }

  if (drain) {
    // Stop reading; let every reply already queued (this one's included) be written first.
    while (!stopping && !c->closed && c->socket.is_open() &&
           (!c->queue.empty() || !c->out.empty() || c->writer_busy)) {
      co_await reader_wait(*c);
    }
    if (session.after == AfterReply::shutdown && !c->closed) {
      log::info("SHUTDOWN requested by client {}", session.id);
      stop();
    }
  }
  c->close();
  while (!c->writer_done) co_await reader_wait(*c);
  session.push_sink.reset();
  connections.erase(session.id);
  --stats.connected_clients;
}

asio::awaitable<void> RespServer::Impl::write_loop(std::shared_ptr<Connection> c) {
  std::string writing;
  writing.reserve(kReadChunk);
  while (!c->closed && c->socket.is_open()) {
    if (c->out.empty()) {
      c->writer_busy = false;
      c->wake_reader();  // a draining reader waits for the writer to go idle
      co_await wait_woken(c->writer_wake);
      continue;
    }
    c->writer_busy = true;
    if (options.reply_delay > Duration::zero()) {
      // writer_busy keeps wake_writer() off `writer_wake`; close() cancels it.
      c->writer_wake.expires_after(options.reply_delay);
      co_await c->writer_wake.async_wait(kUseTuple);
      if (c->closed || !c->socket.is_open()) break;
    }
    // Everything complete so far goes out in one write; replies completed meanwhile gather in
    // `out` for the next one.
    std::swap(writing, c->out);
    auto [ec, written] = co_await asio::async_write(c->socket, asio::buffer(writing), kUseTuple);
    (void)written;
    writing.clear();
    if (writing.capacity() > kKeepReplyCapacity) {
      writing.shrink_to_fit();
      writing.reserve(kReadChunk);
    }
    if (ec) {
      c->close();
      break;
    }
    c->wake_reader();  // the reader may be waiting for output room
  }
  c->writer_busy = false;
  c->writer_done = true;
  c->wake.cancel();
}

asio::awaitable<void> RespServer::Impl::idle_loop() {
  // A watchdog over all connections instead of a timer per read keeps the hot path lean; a
  // connection is closed within idle_timeout plus one period.
  const auto period = std::clamp<Duration>(options.idle_timeout / 4, std::chrono::milliseconds(10),
                                           std::chrono::seconds(1));
  while (!stopping) {
    idle_timer.expires_after(period);
    auto [ec] = co_await idle_timer.async_wait(kUseTuple);
    if (ec || stopping) co_return;
    const auto deadline = Clock::now() - options.idle_timeout;
    for (auto& [id, c] : connections) {
      if (c->last_active <= deadline && c->socket.is_open()) {
        log::debug("closing idle client {}", id);
        boost::system::error_code cec;
        c->socket.shutdown(tcp::socket::shutdown_both, cec);
        c->socket.close(cec);
        c->wake.cancel();
        c->writer_wake.cancel();
      }
    }
  }
}

asio::awaitable<void> RespServer::Impl::tick_loop(asio::steady_timer& timer, Duration period,
                                                  std::function<void()> tick) {
  while (!stopping) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec || stopping) co_return;
    tick();
  }
}

void RespServer::Impl::stop() {
  if (stopping) return;
  stopping = true;
  boost::system::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  idle_timer.cancel();
  for (auto& t : tick_timers) t->cancel();
  for (auto& f : stop_hooks) f();
  // Closing cancels each connection's pending read or write; its coroutine then cleans up.
  for (auto& [id, c] : connections) {
    c->socket.shutdown(tcp::socket::shutdown_both, ec);
    c->socket.close(ec);
    c->wake.cancel();
    c->writer_wake.cancel();
  }
}

RespServer::RespServer(ServerOptions options, const CommandTable& commands, ServerStats& stats)
    : impl_(std::make_unique<Impl>(std::move(options), commands, stats)) {}

RespServer::~RespServer() = default;

result<uint16_t> RespServer::listen() {
  Impl& s = *impl_;
  boost::system::error_code ec;
  tcp::resolver resolver(s.io);
  auto endpoints = resolver.resolve(s.options.host, std::to_string(s.options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return Error(errc::invalid_argument,
                 fmt::format("cannot resolve listen address '{}': {}", s.options.host,
                             ec ? ec.message() : "no addresses"));
  }
  const tcp::endpoint ep = endpoints.begin()->endpoint();
  const auto fail = [&](std::string_view what) {
    return Error(errc::io_error, fmt::format("cannot listen on {}:{}: {} failed: {}",
                                             s.options.host, s.options.port, what, ec.message()));
  };
  // With BOOST_ASIO_NO_DEPRECATED these return void: check ec after each.
  s.acceptor.open(ep.protocol(), ec);
  if (ec) return fail("open");
  s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("setsockopt");
  s.acceptor.bind(ep, ec);
  if (ec) return fail("bind");
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  const uint16_t bound = s.acceptor.local_endpoint(ec).port();
  if (ec) return fail("getsockname");
  s.stats.tcp_port = bound;
  return bound;
}

void RespServer::every(Duration period, std::function<void()> tick) {
  auto& timer = *impl_->tick_timers.emplace_back(std::make_unique<asio::steady_timer>(impl_->io));
  asio::co_spawn(impl_->io, impl_->tick_loop(timer, period, std::move(tick)), rethrow);
}

void RespServer::run() {
  Impl& s = *impl_;
  if (s.options.handle_signals) {
    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.async_wait([&s](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      log::info("signal {} received, shutting down", signo);
      s.stop();
    });
  }
  asio::co_spawn(s.io, s.accept_loop(), rethrow);
  if (s.options.idle_timeout > Duration::zero()) asio::co_spawn(s.io, s.idle_loop(), rethrow);
  s.io.run();
}

void RespServer::stop() { impl_->stop(); }

void RespServer::post_stop() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->stop(); });
}

asio::io_context& RespServer::io() { return impl_->io; }

void RespServer::on_stop(std::function<void()> f) { impl_->stop_hooks.push_back(std::move(f)); }

uint16_t RespServer::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace fl::nodes
