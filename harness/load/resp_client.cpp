#include "harness/load/resp_client.h"

#include <fmt/core.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/hash_ring.h"
#include <algorithm>
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
// Backoff between retries of -TRYAGAIN / -CLUSTERDOWN: the first, doubled up to the last.
constexpr auto kFirstBackoff = std::chrono::milliseconds(10);
constexpr auto kMaxBackoff = std::chrono::milliseconds(100);

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
  // Balance::round_robin: the address this connection worked with last.
  size_t current = 0;
};

struct Pool {
  std::vector<Endpoint> addresses;  // failover order
  size_t current = 0;               // Balance::first: the address that worked last
  std::vector<std::shared_ptr<Conn>> conns;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The error reply's code: "TRYAGAIN" of "TRYAGAIN master not ready".
std::string_view error_code_of(std::string_view msg) { return msg.substr(0, msg.find(' ')); }

// "MOVED 3 127.0.0.1:6381 db-s3-r0" -> shard (-1 when it is not a number), host, port, and the
// instance id (empty when the reply has none, as Redis's).
bool parse_moved(std::string_view msg, int& shard, std::string& host, uint16_t& port,
                 std::string& id) {
  if (!msg.starts_with("MOVED ")) return false;
  auto addr_at = msg.find(' ', 6);
  if (addr_at == std::string_view::npos) return false;
  std::string_view slot = msg.substr(6, addr_at - 6);
  shard = -1;
  if (auto [end, ec] = std::from_chars(slot.data(), slot.data() + slot.size(), shard);
      ec != std::errc() || end != slot.data() + slot.size()) {
    shard = -1;
  }
  std::string_view addr = msg.substr(addr_at + 1);
  id.clear();
  if (auto sp = addr.find(' '); sp != std::string_view::npos) {
    id = std::string(addr.substr(sp + 1));
    addr = addr.substr(0, sp);
  }
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

std::optional<std::string_view> command_key(const std::vector<std::string>& argv) {
  if (argv.size() < 2) return std::nullopt;
  if (iequals(argv[0], "XREADGROUP") || iequals(argv[0], "XREAD")) {
    for (size_t i = 1; i + 1 < argv.size(); ++i) {
      if (iequals(argv[i], "STREAMS")) return argv[i + 1];
    }
    return std::nullopt;
  }
  if (iequals(argv[0], "XGROUP")) {
    if (argv.size() < 3) return std::nullopt;
    return argv[2];
  }
  return argv[1];
}

struct RespClient::Impl {
  Impl(asio::io_context& i, std::vector<Endpoint> endpoints, ClientOptions o) : io(i), options(o) {
    options.connections = std::max(options.connections, 1);
    options.pipeline = std::max(options.pipeline, 1);
    options.shards = std::max(options.shards, 1);
    init_pool(primary, std::move(endpoints));
    routes.assign(static_cast<size_t>(options.shards), nullptr);
  }

  asio::io_context& io;
  ClientOptions options;
  ClientStats stats;
  Pool primary;
  std::unordered_map<std::string, std::unique_ptr<Pool>> redirect_pools;
  // Per shard: the pool of the address its last MOVED named, or nullptr for the primary list.
  std::vector<Pool*> routes;
  bool closed = false;
  std::vector<std::string_view> argv_scratch;

  void init_pool(Pool& pool, std::vector<Endpoint> addresses) {
    pool.addresses = std::move(addresses);
    for (int i = 0; i < options.connections; ++i) {
      pool.conns.push_back(std::make_shared<Conn>(io));
      if (options.balance == plan::Balance::round_robin) {
        pool.conns.back()->current = static_cast<size_t>(i) % pool.addresses.size();
      }
    }
  }

  // The shard of the command's key; 0 for commands without a key.
  size_t shard_of_command(const std::vector<std::string>& argv) const {
    if (options.shards <= 1) return 0;
    auto key = command_key(argv);
    return key ? static_cast<size_t>(fl::shard_of(*key, options.shards)) : 0;
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
    size_t& current = options.balance == plan::Balance::round_robin ? c->current : pool.current;
    for (size_t i = 0; i < n && !closed; ++i) {
      size_t idx = (current + i) % n;
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
      if (idx != current) ++stats.failovers;
      current = idx;
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
  Impl& m = *impl_;
  const size_t shard = m.shard_of_command(argv);
  auto backoff = std::chrono::duration_cast<Clock::duration>(kFirstBackoff);
  int redirects = 0;
  // The address of a route that refused this call: until the cluster elects a new master, its
  // nodes keep redirecting there, which is waited out like -CLUSTERDOWN rather than followed.
  std::string refused;
  for (;;) {
    Pool* pool = m.routes[shard] ? m.routes[shard] : &m.primary;
    CallResult r = co_await m.call_on(*pool, lane, argv, deadline);
    if (pool != &m.primary && r.status != CallResult::Status::reply) {
      // The shard's remembered address failed (a dead or paused master): forget it, and ask
      // the endpoint list again if the request certainly never reached it and time is left.
      if (m.routes[shard] == pool) {  // not a newer route another call learned meanwhile
        m.routes[shard] = nullptr;
        ++m.stats.route_resets;
      }
      if (r.status == CallResult::Status::not_sent && !m.closed && Clock::now() < deadline) {
        const Endpoint& ep = pool->addresses.front();
        refused = fmt::format("{}:{}", ep.host, ep.port);
        continue;
      }
    }
    if (r.status != CallResult::Status::reply || r.reply.type != resp::Type::error) co_return r;
    const std::string_view code = error_code_of(r.reply.str);
    int moved_shard = -1;
    std::string host, id;
    uint16_t port = 0;
    bool wait = code == "TRYAGAIN" || code == "CLUSTERDOWN";
    if (code == "MOVED") {
      if (!parse_moved(r.reply.str, moved_shard, host, port, id)) co_return r;
      // A node this client has an endpoint for is reached there (a proxy's client link, say),
      // not at the address the db node itself uses for it.
      for (const Endpoint& e : m.primary.addresses) {
        if (!id.empty() && e.id == id) {
          host = e.host;
          port = e.port;
          break;
        }
      }
      if (!refused.empty() && refused == fmt::format("{}:{}", host, port)) {
        wait = true;  // the master it names is the one that just refused: no new one yet
      } else {
        if (++redirects > m.options.max_redirects) co_return r;
        ++m.stats.redirects;
        const size_t route = moved_shard >= 0 && moved_shard < m.options.shards
                                 ? static_cast<size_t>(moved_shard)
                                 : shard;
        m.routes[route] = &m.redirect_pool(host, port);
        if (route != shard) m.routes[shard] = m.routes[route];
        continue;
      }
    }
    if (wait) {
      // Certainly not applied, and no attempt before it may have been (every result retried so
      // far was one that never executed): at the deadline the call ends with this reply.
      if (Clock::now() + backoff >= deadline || m.closed) co_return r;
      ++m.stats.retries;
      asio::steady_timer t(m.io, backoff);
      co_await t.async_wait(kUseTuple);
      backoff = std::min(backoff * 2, std::chrono::duration_cast<Clock::duration>(kMaxBackoff));
      redirects = 0;
      continue;
    }
    co_return r;  // -NOQUORUM (fate unknown) and every other error: the workload decides
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
