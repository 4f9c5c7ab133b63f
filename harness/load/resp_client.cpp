#include "harness/load/resp_client.h"

#include <fmt/core.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <deque>
#include <list>
#include <unordered_map>

namespace fl::load {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 64 * 1024;

struct Pending {
  explicit Pending(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  uint64_t seq = 0;
  bool done = false;  // completed, or abandoned by its caller: a later reply is dropped
  CallResult result;
};

struct Conn {
  explicit Conn(asio::io_context& io) : socket(io) {}
  enum class State { closed, connecting, open };
  tcp::socket socket;
  State state = State::closed;
  uint64_t generation = 0;  // bumped on every open and close; stale handlers compare it
  std::string out;          // encoded requests not yet handed to the socket
  std::string writing;      // the buffer of the write in progress
  bool write_active = false;
  uint64_t next_seq = 1;
  uint64_t written_seq = 0;  // requests up to this one may have reached the peer
  std::deque<std::shared_ptr<Pending>> inflight;
  std::list<asio::steady_timer*> waiters;  // calls waiting for the state or a pipeline slot
  std::string peer;
};

struct Pool {
  std::vector<Endpoint> addresses;  // failover order
  size_t current = 0;               // the address that worked last
  std::vector<std::shared_ptr<Conn>> conns;
};

// "MOVED 3999 127.0.0.1:6381" -> host, port.
bool parse_moved(std::string_view msg, std::string& host, uint16_t& port) {
  if (!msg.starts_with("MOVED ")) return false;
  auto addr_at = msg.rfind(' ');
  if (addr_at == std::string_view::npos || addr_at < 6) return false;
  std::string_view addr = msg.substr(addr_at + 1);
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  unsigned p = 0;
  auto digits = addr.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (ec != std::errc() || end != digits.data() + digits.size() || p == 0 || p > 65535)
    return false;
  host = std::string(addr.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  port = static_cast<uint16_t>(p);
  return true;
}

}  // namespace

struct RespClient::Impl {
  Impl(asio::io_context& i, std::vector<Endpoint> endpoints, ClientOptions o) : io(i), options(o) {
    options.connections = std::max(options.connections, 1);
    options.pipeline = std::max(options.pipeline, 1);
    init_pool(primary, std::move(endpoints));
  }

  asio::io_context& io;
  ClientOptions options;
  ClientStats stats;
  Pool primary;
  std::unordered_map<std::string, std::unique_ptr<Pool>> redirect_pools;
  bool closed = false;
  std::vector<std::string_view> argv_scratch;

  void init_pool(Pool& pool, std::vector<Endpoint> addresses) {
    pool.addresses = std::move(addresses);
    for (int i = 0; i < options.connections; ++i) pool.conns.push_back(std::make_shared<Conn>(io));
  }

  Pool& redirect_pool(const std::string& host, uint16_t port) {
    std::string name = fmt::format("{}:{}", host, port);
    auto& p = redirect_pools[name];
    if (!p) {
      p = std::make_unique<Pool>();
      init_pool(*p, {Endpoint{name, host, port}});
    }
    return *p;
  }

  // Wakes every waiter (the connection's state changed).
  static void notify(Conn& c) {
    for (auto* t : c.waiters) t->cancel();
  }

  // Wakes the `n` longest waiters (pipeline slots freed), not the whole crowd. A waiter whose
  // deadline already fired cannot be woken; the next one is.
  static void notify_some(Conn& c, size_t n) {
    for (auto it = c.waiters.begin(); it != c.waiters.end() && n > 0; ++it) {
      if ((*it)->cancel() > 0) --n;
    }
  }

  // Waits for a notify on `c` or the deadline; false at the deadline.
  asio::awaitable<bool> wait(Conn& c, Clock::time_point deadline) {
    asio::steady_timer t(io, deadline);
    c.waiters.push_back(&t);
    auto it = std::prev(c.waiters.end());
    auto [ec] = co_await t.async_wait(kUseTuple);
    c.waiters.erase(it);
    co_return ec == asio::error::operation_aborted;
  }

  void close_conn(const std::shared_ptr<Conn>& c, const std::string& why) {
    if (c->state != Conn::State::open) return;
    c->state = Conn::State::closed;
    ++c->generation;
    boost::system::error_code ignored;
    c->socket.close(ignored);
    c->out.clear();
    c->write_active = false;
    for (auto& p : c->inflight) {
      if (p->done) continue;
      p->done = true;
      p->result.status =
          p->seq <= c->written_seq ? CallResult::Status::lost : CallResult::Status::not_sent;
      p->result.error = why;
      p->timer.cancel();
    }
    c->inflight.clear();
    notify(*c);
  }

  void start_write(const std::shared_ptr<Conn>& c) {
    if (c->write_active || c->out.empty() || c->state != Conn::State::open) return;
    c->write_active = true;
    c->writing.clear();
    c->writing.swap(c->out);
    c->written_seq = c->next_seq - 1;
    uint64_t gen = c->generation;
    asio::async_write(c->socket, asio::buffer(c->writing),
                      [this, c, gen](boost::system::error_code ec, size_t) {
                        if (c->generation != gen) return;
                        c->write_active = false;
                        if (ec) {
                          close_conn(c, fmt::format("write to {}: {}", c->peer, ec.message()));
                          return;
                        }
                        start_write(c);
                      });
  }

  asio::awaitable<void> read_loop(std::shared_ptr<Conn> c, uint64_t gen) {
    resp::Parser parser;
    resp::Value v;
    for (;;) {
      auto buf = parser.prepare(kReadChunk);
      auto [ec, n] =
          co_await c->socket.async_read_some(asio::buffer(buf.data(), buf.size()), kUseTuple);
      if (c->generation != gen) co_return;
      if (ec) {
        close_conn(c, ec == asio::error::eof
                          ? fmt::format("connection to {} closed by peer", c->peer)
                          : fmt::format("read from {}: {}", c->peer, ec.message()));
        co_return;
      }
      parser.commit(n);
      size_t freed = 0;
      for (;;) {
        auto st = parser.next(v);
        if (st == resp::Status::need_more) break;
        if (st == resp::Status::error || c->inflight.empty()) {
          close_conn(c, st == resp::Status::error
                            ? fmt::format("from {}: {}", c->peer, parser.error())
                            : fmt::format("unexpected reply from {}", c->peer));
          co_return;
        }
        auto p = std::move(c->inflight.front());
        c->inflight.pop_front();
        ++freed;
        if (!p->done) {
          p->done = true;
          p->result.status = CallResult::Status::reply;
          p->result.reply = std::move(v);
          p->timer.cancel();
        }
        v = resp::Value{};
      }
      if (freed > 0 && !c->waiters.empty()) notify_some(*c, freed);
    }
  }

  // Connects `c` to the pool's first address that accepts, starting from the one that worked
  // last; each address gets an equal share of the time left. Empty string on success.
  asio::awaitable<std::string> connect(Pool& pool, std::shared_ptr<Conn> c,
                                       Clock::time_point deadline) {
    c->state = Conn::State::connecting;
    std::string errors;
    size_t n = pool.addresses.size();
    for (size_t i = 0; i < n && !closed; ++i) {
      size_t idx = (pool.current + i) % n;
      const Endpoint& ep = pool.addresses[idx];
      auto now = Clock::now();
      if (now >= deadline) break;
      auto attempt_deadline = now + (deadline - now) / static_cast<int64_t>(n - i);
      boost::system::error_code ec;
      auto addr = asio::ip::make_address(ep.host, ec);
      tcp::socket s(io);
      if (ec) {
        tcp::resolver resolver(io);
        auto [rec, results] =
            co_await resolver.async_resolve(ep.host, std::to_string(ep.port), kUseTuple);
        if (rec || results.empty()) {
          errors += fmt::format("{}{} ({}): cannot resolve: {}", errors.empty() ? "" : "; ", ep.id,
                                ep.host, rec ? rec.message() : "no address");
          ++stats.connect_failures;
          continue;
        }
        addr = results.begin()->endpoint().address();
      }
      // The guard's handler may run after this frame is gone, so it shares what it touches.
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      auto timed_out = std::make_shared<bool>(false);
      asio::steady_timer guard(io, attempt_deadline);
      guard.async_wait([sock, timed_out](boost::system::error_code gec) {
        if (gec || !sock->is_open()) return;
        *timed_out = true;
        boost::system::error_code ignored;
        sock->close(ignored);
      });
      auto [cec] = co_await sock->async_connect(tcp::endpoint(addr, ep.port), kUseTuple);
      guard.cancel();
      if (*timed_out) cec = asio::error::timed_out;
      if (!cec && closed) cec = asio::error::operation_aborted;
      if (cec) {
        errors += fmt::format("{}connect to {} ({}:{}): {}", errors.empty() ? "" : "; ", ep.id,
                              ep.host, ep.port, cec.message());
        ++stats.connect_failures;
        continue;
      }
      sock->set_option(tcp::no_delay(true), ec);
      c->socket = std::move(*sock);
      c->state = Conn::State::open;
      ++c->generation;
      c->peer = fmt::format("{} ({}:{})", ep.id, ep.host, ep.port);
      c->written_seq = c->next_seq - 1;
      if (idx != pool.current) ++stats.failovers;
      pool.current = idx;
      ++stats.connects;
      asio::co_spawn(io, read_loop(c, c->generation), asio::detached);
      notify(*c);
      co_return std::string();
    }
    c->state = Conn::State::closed;
    notify(*c);
    if (closed) co_return std::string("client closed");
    if (errors.empty()) errors = "no time left to connect";
    co_return errors;
  }

  asio::awaitable<CallResult> call_on(Pool& pool, size_t lane, const std::vector<std::string>& argv,
                                      Clock::time_point deadline) {
    auto c = pool.conns[lane % pool.conns.size()];
    for (;;) {
      if (closed) co_return CallResult{CallResult::Status::not_sent, {}, "client closed"};
      if (c->state == Conn::State::closed) {
        std::string err = co_await connect(pool, c, deadline);
        if (!err.empty()) co_return CallResult{CallResult::Status::not_sent, {}, std::move(err)};
        continue;
      }
      if (c->state == Conn::State::open &&
          c->inflight.size() < static_cast<size_t>(options.pipeline)) {
        break;
      }
      if (!co_await wait(*c, deadline)) {
        co_return CallResult{CallResult::Status::not_sent,
                             {},
                             c->state == Conn::State::open ? "timeout waiting for a pipeline slot"
                                                           : "timeout while connecting"};
      }
    }
    auto p = std::make_shared<Pending>(io);
    p->seq = c->next_seq++;
    argv_scratch.assign(argv.begin(), argv.end());
    resp::Writer(c->out).command(argv_scratch);
    c->inflight.push_back(p);
    start_write(c);
    p->timer.expires_at(deadline);
    co_await p->timer.async_wait(kUseTuple);
    if (p->done) co_return std::move(p->result);
    // The deadline passed: the peer is unresponsive. Drop the connection so that later calls do
    // not queue behind a reply that may never come.
    p->done = true;
    close_conn(c, fmt::format("connection to {} closed after a timeout", c->peer));
    co_return CallResult{CallResult::Status::timeout, {}, "timeout"};
  }
};

RespClient::RespClient(asio::io_context& io, std::vector<Endpoint> endpoints, ClientOptions options)
    : impl_(std::make_unique<Impl>(io, std::move(endpoints), options)) {}

RespClient::~RespClient() { close(); }

asio::awaitable<CallResult> RespClient::call(size_t lane, const std::vector<std::string>& argv,
                                             TimePoint deadline) {
  Pool* pool = &impl_->primary;
  for (int hop = 0;; ++hop) {
    CallResult r = co_await impl_->call_on(*pool, lane, argv, deadline);
    if (r.status != CallResult::Status::reply || r.reply.type != resp::Type::error) co_return r;
    std::string host;
    uint16_t port = 0;
    if (hop >= impl_->options.max_redirects || !parse_moved(r.reply.str, host, port)) co_return r;
    ++impl_->stats.redirects;
    pool = &impl_->redirect_pool(host, port);
  }
}

void RespClient::close() {
  impl_->closed = true;
  auto close_pool = [this](Pool& pool) {
    for (auto& c : pool.conns) impl_->close_conn(c, "client closed");
  };
  close_pool(impl_->primary);
  for (auto& [name, pool] : impl_->redirect_pools) close_pool(*pool);
}

const ClientStats& RespClient::stats() const { return impl_->stats; }

}  // namespace fl::load
