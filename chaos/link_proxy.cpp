#include "chaos/link_proxy.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace fl::chaos {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using plan::Direction;
using plan::Toxic;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

Duration now() { return Clock::now().time_since_epoch(); }
Clock::time_point time_at(Duration d) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(d));
}

// Runs `fn` on `ex`'s thread and waits for it.
template <class F>
void run_on(const asio::any_io_executor& ex, F&& fn) {
  std::promise<void> done;
  auto f = done.get_future();
  asio::post(ex, [&] {
    fn();
    done.set_value();
  });
  f.wait();
}

struct Conn;

struct ToxicEntry {
  ToxicId id;
  Direction direction;
  Toxic toxic;
};

// A link's shared state. `mu` guards toxics, conns and rng; the acceptor, placeholder and
// refusing are touched only on the accept context's thread (after add_link set them up).
struct Link {
  Link(std::string n, asio::io_context& accept_ctx, uint64_t seed)
      : name(std::move(n)), acceptor(accept_ctx), rng(Rng(seed).fork(name)) {}

  std::string name;
  tcp::endpoint upstream;
  tcp::endpoint local;
  tcp::acceptor acceptor;
  int placeholder = -1;  // holds the port while refusing
  bool refusing = false;
  bool closed = false;

  std::mutex mu;
  std::vector<ToxicEntry> toxics;
  std::set<std::shared_ptr<Conn>> conns;
  Rng rng;
  uint64_t next_conn = 0;

  std::atomic<uint64_t> connections{0}, bytes_up{0}, bytes_down{0};
};

// One direction of a connection: reads `src`, writes `dst`. Touched only on the connection's
// thread.
struct Pump {
  struct Chunk {
    Duration at;
    std::vector<char> data;
    bool close = false;  // pass the close on (shutdown dst) instead of writing
  };

  Pump(Conn& c, tcp::socket& s, tcp::socket& d, std::atomic<uint64_t>& b, size_t cap, size_t max_q,
       Duration opened, Rng r)
      : conn(c),
        src(s),
        dst(d),
        bytes(b),
        buf(new char[cap]),
        capacity(cap),
        max_queued(max_q),
        toxics(opened),
        rng(r),
        timer(s.get_executor()) {}

  void read();
  void on_read(const error_code& ec, size_t n);
  void write_direct(size_t n);
  void process(size_t n);
  void kick();
  void service_queue(Duration t);
  void shut();

  Conn& conn;
  tcp::socket& src;
  tcp::socket& dst;
  std::atomic<uint64_t>& bytes;
  std::unique_ptr<char[]> buf;
  size_t capacity;
  size_t max_queued;
  DirectionToxics toxics;
  Rng rng;
  asio::steady_timer timer;
  std::deque<Chunk> queue;
  size_t queued = 0;
  size_t held = 0;        // bytes of a chunk in buf kept back by a stall
  bool reading = false;   // a read into buf is in flight
  bool buf_busy = false;  // a write straight from buf is in flight
  bool writing = false;   // a write of queue.front() is in flight
  bool timer_armed = false;
  bool eof_pending = false;  // src closed; the close is not scheduled yet
  bool src_eof = false;
  bool dst_shut = false;
};

struct Conn : std::enable_shared_from_this<Conn> {
  Conn(std::shared_ptr<Link> l, tcp::socket c, const LinkProxy::Options& o, uint64_t n)
      : link(std::move(l)),
        client(std::move(c)),
        server(client.get_executor()),
        opened(now()),
        up(*this, client, server, link->bytes_up, o.buffer_bytes, o.max_queued_bytes, opened,
           link->rng.fork(fmt::format("{}/up", n))),
        down(*this, server, client, link->bytes_down, o.buffer_bytes, o.max_queued_bytes, opened,
             link->rng.fork(fmt::format("{}/down", n))),
        reset_timer(client.get_executor()) {}

  void start();
  void apply(const ToxicEntry& e, bool applies);
  void unapply(ToxicId id);
  void arm_reset();
  void abort(bool rst);
  void maybe_finish();

  std::shared_ptr<Link> link;
  tcp::socket client;
  tcp::socket server;
  Duration opened;
  Pump up;
  Pump down;
  asio::steady_timer reset_timer;
  std::map<ToxicId, Duration> resets;  // reset toxics that applied, and their `after`
  bool running = false;                // start() ran (on this connection's thread)
  bool connected = false;
  bool closed = false;
};

void Pump::read() {
  reading = true;
  src.async_read_some(
      asio::buffer(buf.get(), capacity),
      [self = conn.shared_from_this(), this](const error_code& ec, size_t n) { on_read(ec, n); });
}

void Pump::on_read(const error_code& ec, size_t n) {
  reading = false;
  if (conn.closed) return;
  if (ec) {
    if (ec == asio::error::eof) {
      src_eof = eof_pending = true;
      kick();
    } else {
      conn.abort(true);
    }
    return;
  }
  // The hot path: no toxic on this direction, nothing queued.
  if (toxics.empty() && queue.empty() && !writing) {
    write_direct(n);
    return;
  }
  process(n);
  kick();
}

// Writes buf[0, n) to dst: at once when the socket takes it all (the usual case, saving a trip
// through the io_context), else the rest asynchronously. Reads again when done and nothing else
// is waiting.
void Pump::write_direct(size_t n) {
  error_code ec;
  const size_t done = dst.write_some(asio::buffer(buf.get(), n), ec);  // dst is non-blocking
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    conn.abort(true);
    return;
  }
  bytes.fetch_add(done, std::memory_order_relaxed);
  if (done == n) {
    if (toxics.empty() && queue.empty()) {
      read();
    } else {
      kick();
    }
    return;
  }
  buf_busy = true;
  asio::async_write(dst, asio::buffer(buf.get() + done, n - done),
                    [self = conn.shared_from_this(), this](const error_code& ec2, size_t m) {
                      buf_busy = false;
                      if (conn.closed) return;
                      if (ec2) {
                        conn.abort(true);
                        return;
                      }
                      bytes.fetch_add(m, std::memory_order_relaxed);
                      if (toxics.empty() && queue.empty()) {
                        read();
                      } else {
                        kick();
                      }
                    });
}

void Pump::process(size_t n) {
  const Duration t = now();
  const Verdict v = toxics.on_chunk(t, n, rng);
  switch (v.kind) {
    case Verdict::Kind::drop:
      return;
    case Verdict::Kind::hold:
      held = n;
      return;
    case Verdict::Kind::deliver:
      if (v.at <= t && queue.empty() && !writing) {
        write_direct(n);
      } else {
        queue.push_back({v.at, std::vector<char>(buf.get(), buf.get() + n)});
        queued += n;
      }
      return;
  }
}

void Pump::shut() {
  error_code ignored;
  dst.shutdown(tcp::socket::shutdown_send, ignored);
  dst_shut = true;
  conn.maybe_finish();
}

// Moves the direction along after any event: a held chunk once the stall is gone, the queue,
// the next read, a close read from src.
void Pump::kick() {
  if (conn.closed || !conn.connected) return;
  const Duration t = now();
  if (held && !buf_busy && !toxics.stalled(t)) {
    const size_t n = held;
    held = 0;
    process(n);
  }
  if (eof_pending && !held && !buf_busy && !toxics.blackholed() && !toxics.stalled(t)) {
    eof_pending = false;
    Duration at = t + toxics.close_delay();
    if (!queue.empty()) at = std::max(at, queue.back().at);
    if (at <= t && queue.empty() && !writing) {
      shut();
      if (conn.closed) return;
    } else {
      queue.push_back({at, {}, true});
    }
  }
  service_queue(t);
  if (!reading && !buf_busy && !held && !src_eof && queued < max_queued) read();
}

void Pump::service_queue(Duration t) {
  if (writing || buf_busy || timer_armed || queue.empty() || toxics.stalled(t)) return;
  Chunk& c = queue.front();
  if (c.at > t) {
    timer_armed = true;
    timer.expires_at(time_at(c.at));
    timer.async_wait([self = conn.shared_from_this(), this](const error_code&) {
      timer_armed = false;
      kick();
    });
    return;
  }
  if (c.close) {
    queue.pop_front();
    shut();
    return;
  }
  writing = true;
  asio::async_write(dst, asio::buffer(c.data),
                    [self = conn.shared_from_this(), this](const error_code& ec, size_t m) {
                      writing = false;
                      if (conn.closed) return;
                      if (ec) {
                        conn.abort(true);
                        return;
                      }
                      bytes.fetch_add(m, std::memory_order_relaxed);
                      queued -= queue.front().data.size();
                      queue.pop_front();
                      kick();
                    });
}

void Conn::start() {
  running = true;
  if (closed) return;
  arm_reset();
  server.async_connect(link->upstream, [self = shared_from_this(), this](const error_code& ec) {
    if (closed) return;
    if (ec) {
      abort(true);  // the connecting side sees a reset, as close to a refusal as it gets
      return;
    }
    connected = true;
    error_code ignored;
    for (tcp::socket* s : {&client, &server}) {
      s->set_option(tcp::no_delay(true), ignored);
      s->non_blocking(true, ignored);
    }
    up.kick();
    down.kick();
  });
}

void Conn::apply(const ToxicEntry& e, bool applies) {
  if (!applies || closed) return;
  switch (e.toxic.kind) {
    case Toxic::Kind::reset:
      resets[e.id] = e.toxic.after;
      arm_reset();
      return;
    case Toxic::Kind::refuse:
      return;  // the link's
    default:
      break;
  }
  if (e.direction != Direction::down) {
    up.toxics.add(e.id, e.toxic);
    up.kick();
  }
  if (e.direction != Direction::up && !closed) {
    down.toxics.add(e.id, e.toxic);
    down.kick();
  }
}

void Conn::unapply(ToxicId id) {
  if (closed) return;
  if (resets.erase(id)) arm_reset();
  if (up.toxics.remove(id)) up.kick();
  if (!closed && down.toxics.remove(id)) down.kick();
}

void Conn::arm_reset() {
  if (!running || closed) return;  // start() arms it
  if (resets.empty()) {
    reset_timer.cancel();
    return;
  }
  Duration after = Duration::max();
  for (const auto& [id, a] : resets) after = std::min(after, a);
  reset_timer.expires_at(time_at(opened + after));
  reset_timer.async_wait([self = shared_from_this(), this](const error_code& ec) {
    if (!ec && !closed) abort(true);
  });
}

void Conn::abort(bool rst) {
  if (closed) return;
  closed = true;
  error_code ignored;
  for (tcp::socket* s : {&client, &server}) {
    if (rst && s->is_open()) s->set_option(asio::socket_base::linger(true, 0), ignored);
    s->close(ignored);
  }
  up.timer.cancel();
  down.timer.cancel();
  reset_timer.cancel();
  std::lock_guard lock(link->mu);
  link->conns.erase(shared_from_this());
}

void Conn::maybe_finish() {
  if (up.dst_shut && down.dst_shut) abort(false);
}

// SO_REUSEADDR and SO_REUSEPORT on a fresh TCP socket bound to `at`: the port stays ours while
// the listener is closed (refuse), and the listener can come back on it.
int bind_placeholder(const tcp::endpoint& at) {
  const int fd = ::socket(at.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, at.data(), static_cast<socklen_t>(at.size())) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

struct LinkProxy::Impl {
  explicit Impl(Options o) : options(o) {
    const int n = std::max(1, options.threads);
    for (int i = 0; i < n; ++i) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
      guards.emplace_back(contexts.back()->get_executor());
    }
    running = n;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([this, i] {
        contexts[static_cast<size_t>(i)]->run();
        std::lock_guard lock(run_mu);
        --running;
        run_cv.notify_all();
      });
    }
  }

  asio::io_context& accept_context() { return *contexts.front(); }
  asio::io_context& next_context() { return *contexts[rr++ % contexts.size()]; }

  void accept(const std::shared_ptr<Link>& link);
  void on_accept(const std::shared_ptr<Link>& link, tcp::socket s);
  result<void> listen(Link& link, const tcp::endpoint& at);
  void stop_threads();

  Options options;
  // Declared before the links: destroyed after them.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::mutex run_mu;
  std::condition_variable run_cv;
  int running = 0;
  std::atomic<size_t> rr{0};

  mutable std::mutex api_mu;  // serializes the public methods
  std::map<std::string, std::shared_ptr<Link>, std::less<>> links;
  std::map<ToxicId, std::shared_ptr<Link>> toxic_links;
  ToxicId next_id = 1;
  bool closed = false;
};

result<void> LinkProxy::Impl::listen(Link& link, const tcp::endpoint& at) {
  error_code ec;
  link.acceptor.open(at.protocol(), ec);
  if (!ec) link.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) link.acceptor.set_option(reuse_port(true), ec);
  if (!ec) link.acceptor.bind(at, ec);
  if (!ec) link.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    link.acceptor.close(ignored);
    return Error(errc::io_error, fmt::format("link {}: cannot listen on {}:{}: {}", link.name,
                                             at.address().to_string(), at.port(), ec.message()));
  }
  link.local = link.acceptor.local_endpoint(ec);
  return {};
}

void LinkProxy::Impl::accept(const std::shared_ptr<Link>& link) {
  link->acceptor.async_accept(next_context(), [this, link](const error_code& ec, tcp::socket s) {
    if (link->closed || link->refusing || !link->acceptor.is_open()) return;
    if (!ec) on_accept(link, std::move(s));
    accept(link);
  });
}

void LinkProxy::Impl::on_accept(const std::shared_ptr<Link>& link, tcp::socket s) {
  std::shared_ptr<Conn> conn;
  {
    std::lock_guard lock(link->mu);
    conn = std::make_shared<Conn>(link, std::move(s), options, link->next_conn++);
    for (const auto& e : link->toxics) conn->apply(e, toxic_applies(e.toxic, link->rng));
    link->conns.insert(conn);
  }
  link->connections.fetch_add(1, std::memory_order_relaxed);
  asio::post(conn->client.get_executor(), [conn] { conn->start(); });
}

LinkProxy::LinkProxy(Options options) : impl_(std::make_unique<Impl>(options)) {}

LinkProxy::~LinkProxy() { close(); }

result<supervisor::Endpoint> LinkProxy::add_link(std::string name,
                                                 const supervisor::Endpoint& upstream,
                                                 std::string bind_host) {
  return add_link(std::move(name), upstream, supervisor::Endpoint{std::move(bind_host), 0});
}

result<supervisor::Endpoint> LinkProxy::add_link(std::string name,
                                                 const supervisor::Endpoint& upstream,
                                                 const supervisor::Endpoint& listen) {
  std::lock_guard api(impl_->api_mu);
  if (impl_->closed) return Error(errc::cancelled, "link proxy: closed");
  if (impl_->links.count(name)) {
    return Error(errc::invalid_argument, fmt::format("link proxy: link {} exists", name));
  }
  auto link = std::make_shared<Link>(name, impl_->accept_context(), impl_->options.seed);
  error_code ec;
  auto addr = asio::ip::make_address(upstream.host, ec);
  if (!ec) {
    link->upstream = tcp::endpoint(addr, upstream.port);
  } else {
    asio::io_context resolve_ctx;
    tcp::resolver resolver(resolve_ctx);
    auto found = resolver.resolve(upstream.host, std::to_string(upstream.port), ec);
    if (ec || found.empty()) {
      return Error(errc::not_found, fmt::format("link {}: cannot resolve upstream {}: {}", name,
                                                upstream.host, ec.message()));
    }
    link->upstream = found.begin()->endpoint();
  }
  auto bind_addr = asio::ip::make_address(listen.host, ec);
  if (ec) {
    return Error(errc::invalid_argument,
                 fmt::format("link {}: bind host {} is not an address", name, listen.host));
  }
  if (auto r = impl_->listen(*link, tcp::endpoint(bind_addr, listen.port)); !r) return r.error();
  run_on(impl_->accept_context().get_executor(), [&] { impl_->accept(link); });
  impl_->links.emplace(std::move(name), link);
  return supervisor::Endpoint{link->local.address().to_string(), link->local.port()};
}

result<ToxicId> LinkProxy::add_toxic(std::string_view link_name, Direction direction,
                                     const Toxic& toxic) {
  if (toxic.kind == Toxic::Kind::bandwidth && toxic.bytes_per_second == 0) {
    return Error(errc::invalid_argument, "bandwidth toxic: bytes per second must be > 0");
  }
  if (toxic.kind == Toxic::Kind::loss && !(toxic.probability >= 0 && toxic.probability <= 1)) {
    return Error(errc::invalid_argument, "loss toxic: probability must be within 0..1");
  }
  std::lock_guard api(impl_->api_mu);
  if (impl_->closed) return Error(errc::cancelled, "link proxy: closed");
  auto it = impl_->links.find(link_name);
  if (it == impl_->links.end()) {
    return Error(errc::not_found, fmt::format("link proxy: no link {}", link_name));
  }
  const std::shared_ptr<Link>& link = it->second;
  const ToxicEntry entry{impl_->next_id++, direction, toxic};
  std::vector<std::pair<std::shared_ptr<Conn>, bool>> live;
  bool was_refusing = false;
  {
    std::lock_guard lock(link->mu);
    was_refusing = std::any_of(link->toxics.begin(), link->toxics.end(),
                               [](const auto& e) { return e.toxic.kind == Toxic::Kind::refuse; });
    link->toxics.push_back(entry);
    for (const auto& c : link->conns) live.emplace_back(c, toxic_applies(toxic, link->rng));
  }
  if (toxic.kind == Toxic::Kind::refuse) {
    if (!was_refusing) {
      run_on(impl_->accept_context().get_executor(), [&] {
        link->placeholder = bind_placeholder(link->local);
        link->refusing = true;
        error_code ignored;
        link->acceptor.close(ignored);
      });
    }
    for (auto& [c, applies] : live) run_on(c->client.get_executor(), [&] { c->abort(true); });
  } else {
    for (auto& [c, applies] : live) {
      run_on(c->client.get_executor(), [&] { c->apply(entry, applies); });
    }
  }
  impl_->toxic_links.emplace(entry.id, link);
  return entry.id;
}

bool LinkProxy::remove_toxic(ToxicId id) {
  std::lock_guard api(impl_->api_mu);
  if (impl_->closed) return false;
  auto it = impl_->toxic_links.find(id);
  if (it == impl_->toxic_links.end()) return false;
  std::shared_ptr<Link> link = it->second;
  impl_->toxic_links.erase(it);
  std::vector<std::shared_ptr<Conn>> live;
  bool unrefuse = false;
  {
    std::lock_guard lock(link->mu);
    auto e = std::find_if(link->toxics.begin(), link->toxics.end(),
                          [&](const ToxicEntry& t) { return t.id == id; });
    if (e == link->toxics.end()) return false;
    const bool refuse = e->toxic.kind == Toxic::Kind::refuse;
    link->toxics.erase(e);
    unrefuse = refuse && std::none_of(link->toxics.begin(), link->toxics.end(), [](const auto& t) {
                 return t.toxic.kind == Toxic::Kind::refuse;
               });
    live.assign(link->conns.begin(), link->conns.end());
  }
  if (unrefuse) {
    run_on(impl_->accept_context().get_executor(), [&] {
      link->refusing = false;
      if (impl_->listen(*link, link->local)) impl_->accept(link);
      if (link->placeholder >= 0) ::close(link->placeholder);
      link->placeholder = -1;
    });
  }
  for (auto& c : live) run_on(c->client.get_executor(), [&] { c->unapply(id); });
  return true;
}

result<LinkStats> LinkProxy::stats(std::string_view link_name) const {
  std::lock_guard api(impl_->api_mu);
  auto it = impl_->links.find(link_name);
  if (it == impl_->links.end()) {
    return Error(errc::not_found, fmt::format("link proxy: no link {}", link_name));
  }
  Link& link = *it->second;
  LinkStats s;
  s.connections = link.connections.load();
  s.bytes_up = link.bytes_up.load();
  s.bytes_down = link.bytes_down.load();
  std::lock_guard lock(link.mu);
  s.open_connections = link.conns.size();
  s.toxics = link.toxics.size();
  return s;
}

std::vector<std::string> LinkProxy::links() const {
  std::lock_guard api(impl_->api_mu);
  std::vector<std::string> out;
  for (const auto& [name, link] : impl_->links) out.push_back(name);
  return out;
}

void LinkProxy::Impl::stop_threads() {
  // Every socket and timer is closed, so each context runs out of work and its thread ends;
  // stop() is the fallback should one not.
  guards.clear();
  std::unique_lock lock(run_mu);
  if (!run_cv.wait_for(lock, std::chrono::seconds(5), [&] { return running == 0; })) {
    for (auto& c : contexts) c->stop();
  }
  lock.unlock();
  for (auto& t : threads) t.join();
  threads.clear();
}

void LinkProxy::close() {
  if (!impl_) return;
  std::lock_guard api(impl_->api_mu);
  if (impl_->closed) return;
  impl_->closed = true;
  for (auto& [name, link] : impl_->links) {
    run_on(impl_->accept_context().get_executor(), [&] {
      link->closed = true;
      error_code ignored;
      link->acceptor.close(ignored);
      if (link->placeholder >= 0) ::close(link->placeholder);
      link->placeholder = -1;
    });
    std::vector<std::shared_ptr<Conn>> live;
    {
      std::lock_guard lock(link->mu);
      live.assign(link->conns.begin(), link->conns.end());
    }
    for (auto& c : live) run_on(c->client.get_executor(), [&] { c->abort(false); });
  }
  impl_->stop_threads();
  impl_->toxic_links.clear();
  impl_->links.clear();
}

}  // namespace fl::chaos
