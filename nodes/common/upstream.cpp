#include "nodes/common/upstream.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <exception>
#include <vector>

#include "common/log.h"

namespace fl::nodes {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Bytes asked of each read.
constexpr size_t kReadChunk = 16 * 1024;
// A write buffer grown beyond this by one large batch is released after it is written.
constexpr size_t kKeepBufferCapacity = 1024 * 1024;

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

}  // namespace

resp::Value UpstreamReply::value() const {
  resp::Value v;
  if (status != Status::ok) return v;
  resp::Parser parser;
  parser.feed(bytes);
  if (parser.next(v) != resp::Status::ok) return resp::Value::nil();
  return v;
}

std::string_view to_string(UpstreamReply::Status s) {
  switch (s) {
    case UpstreamReply::Status::ok:
      return "ok";
    case UpstreamReply::Status::not_sent:
      return "not_sent";
    case UpstreamReply::Status::timeout:
      return "timeout";
    case UpstreamReply::Status::lost:
      return "lost";
  }
  return "unknown";
}

struct Upstream::Impl : std::enable_shared_from_this<Upstream::Impl> {
  struct Call {
    Callback cb;  // empty for the connection's own CLIENT SETNAME
    Clock::time_point deadline;
  };

  struct Link {
    explicit Link(asio::io_context& io)
        : socket(io), backoff_timer(io), deadline_timer(io), writer_wake(io) {}
    enum class State : uint8_t { idle, connecting, up, down };
    State state = State::idle;
    // Calls wait on a connecting link only until its first failure; after that they fail over.
    bool ever_failed = false;
    tcp::socket socket;
    asio::steady_timer backoff_timer;
    // Armed at the earliest deadline of `calls` (or later: it re-arms when it fires early).
    asio::steady_timer deadline_timer;
    Clock::time_point armed = Clock::time_point::max();
    asio::steady_timer writer_wake;
    bool writer_busy = false;
    // Encoded calls not yet handed to the socket.
    std::string out;
    // Calls waiting for a reply, in order; the bytes of the first `sent` were handed to the
    // socket (a failure makes them lost; the others not_sent).
    std::deque<Call> calls;
    size_t sent = 0;
    resp::Parser parser;
    // Bumped at every failure: coroutines of an older connection stop touching the link.
    uint64_t generation = 0;
  };

  Impl(asio::io_context& ctx, std::string h, uint16_t p, UpstreamOptions o)
      : io(ctx), host(std::move(h)), port(p), options(std::move(o)) {
    options.connections = std::max(options.connections, 1);
    options.max_in_flight = std::max<size_t>(options.max_in_flight, 1);
    for (int i = 0; i < options.connections; ++i) links.push_back(std::make_shared<Link>(io));
    if (!options.client_name.empty()) {
      resp::Writer(setname).command({"CLIENT", "SETNAME", options.client_name});
    }
  }

  asio::io_context& io;
  std::string host;
  uint16_t port;
  UpstreamOptions options;
  UpstreamStats stats;
  std::vector<std::shared_ptr<Link>> links;
  std::string setname;  // encoded CLIENT SETNAME, or empty
  size_t next_link = 0;
  // Calls (not counting CLIENT SETNAME) waiting for their end, over every link.
  size_t pending = 0;
  bool started = false;
  bool closed = false;
  bool destroyed = false;

  void start();
  std::shared_ptr<Link>* pick();
  std::shared_ptr<Link>* admit(Callback& cb);
  void fail_soon(Callback cb, std::string why);
  void finish(Call& call, UpstreamReply::Status status, std::string_view why);
  void fail_link(Link& link, std::string_view why, bool deadline_passed);
  void arm_deadline(const std::shared_ptr<Link>& link, Clock::time_point deadline);
  void on_deadline(const std::shared_ptr<Link>& link);
  void enqueue(const std::shared_ptr<Link>& link, Callback cb, std::optional<Duration> timeout);
  void shut(bool run_callbacks);

  asio::awaitable<void> run(std::shared_ptr<Link> link);
  asio::awaitable<bool> connect(std::shared_ptr<Link> link);
  asio::awaitable<void> read_loop(std::shared_ptr<Link> link, uint64_t generation);
  asio::awaitable<void> write_loop(std::shared_ptr<Link> link, uint64_t generation);
};

void Upstream::Impl::start() {
  started = true;
  for (auto& link : links) {
    link->state = Link::State::connecting;
    asio::co_spawn(io, run(link), rethrow);
  }
}

// Round-robin over the links that can take a call now: up, or making their first attempt.
std::shared_ptr<Upstream::Impl::Link>* Upstream::Impl::pick() {
  const size_t n = links.size();
  for (size_t i = 0; i < n; ++i) {
    std::shared_ptr<Link>& candidate = links[(next_link + i) % n];
    const Link& l = *candidate;
    const bool usable =
        l.state == Link::State::up || (l.state == Link::State::connecting && !l.ever_failed);
    if (usable && l.calls.size() < options.max_in_flight) {
      next_link = (next_link + i + 1) % n;
      return &candidate;
    }
  }
  return nullptr;
}

// The link a new call goes on (starting the links on the first call); null after handing `cb` to
// fail_soon when the Upstream is closed or no link can take the call.
std::shared_ptr<Upstream::Impl::Link>* Upstream::Impl::admit(Callback& cb) {
  ++stats.calls;
  if (closed) {
    fail_soon(std::move(cb), "upstream closed");
    return nullptr;
  }
  if (!started) start();
  auto* link = pick();
  if (link == nullptr) {
    fail_soon(std::move(cb), fmt::format("no connection to {}:{} can take it", host, port));
  }
  return link;
}

void Upstream::Impl::fail_soon(Callback cb, std::string why) {
  ++stats.not_sent;
  UpstreamReply reply;
  reply.status = UpstreamReply::Status::not_sent;
  reply.error = std::move(why);
  asio::post(io,
             [self = shared_from_this(), cb = std::move(cb), reply = std::move(reply)]() mutable {
               if (!self->destroyed) cb(std::move(reply));
             });
}

void Upstream::Impl::finish(Call& call, UpstreamReply::Status status, std::string_view why) {
  --pending;
  switch (status) {
    case UpstreamReply::Status::ok:
      ++stats.replies;
      break;
    case UpstreamReply::Status::not_sent:
      ++stats.not_sent;
      break;
    case UpstreamReply::Status::timeout:
      ++stats.timeouts;
      break;
    case UpstreamReply::Status::lost:
      ++stats.lost;
      break;
  }
  UpstreamReply reply;
  reply.status = status;
  reply.error = std::string(why);
  call.cb(std::move(reply));
}

// Ends the link's connection: every pending call fails (timeout if its own deadline passed and
// it was written, lost if written, else not_sent), and the link's coroutines stop.
void Upstream::Impl::fail_link(Link& link, std::string_view why, bool deadline_passed) {
  ++link.generation;
  if (link.state != Link::State::idle) link.state = Link::State::down;
  link.ever_failed = true;
  boost::system::error_code ec;
  link.socket.shutdown(tcp::socket::shutdown_both, ec);
  link.socket.close(ec);
  link.deadline_timer.cancel();
  link.armed = Clock::time_point::max();
  link.writer_wake.cancel();
  link.out.clear();
  // Callbacks may call() again: take the calls out first.
  std::deque<Call> calls = std::move(link.calls);
  link.calls.clear();
  const size_t sent = link.sent;
  link.sent = 0;
  const auto now = Clock::now();
  for (size_t i = 0; i < calls.size(); ++i) {
    Call& c = calls[i];
    if (!c.cb) continue;
    if (i >= sent) {
      finish(c, UpstreamReply::Status::not_sent, why);
    } else if (deadline_passed && c.deadline <= now) {
      finish(c, UpstreamReply::Status::timeout, "no reply before the deadline");
    } else {
      finish(c, UpstreamReply::Status::lost, why);
    }
  }
}

void Upstream::Impl::arm_deadline(const std::shared_ptr<Link>& link, Clock::time_point deadline) {
  link->armed = deadline;
  link->deadline_timer.expires_at(deadline);
  link->deadline_timer.async_wait([self = shared_from_this(), link,
                                   gen = link->generation](const boost::system::error_code& ec) {
    if (ec || self->destroyed || link->generation != gen) return;
    self->on_deadline(link);
  });
}

void Upstream::Impl::on_deadline(const std::shared_ptr<Link>& link) {
  link->armed = Clock::time_point::max();
  if (link->calls.empty()) return;
  const auto now = Clock::now();
  auto earliest = Clock::time_point::max();
  for (const Call& c : link->calls) earliest = std::min(earliest, c.deadline);
  if (earliest <= now) {
    log::debug("upstream {}:{}: a call timed out; closing its connection", host, port);
    fail_link(*link, "connection closed after another call timed out", true);
    return;
  }
  arm_deadline(link, earliest);
}

void Upstream::Impl::enqueue(const std::shared_ptr<Link>& link, Callback cb,
                             std::optional<Duration> timeout) {
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout.value_or(options.timeout));
  link->calls.push_back({std::move(cb), deadline});
  ++pending;
  if (deadline < link->armed) arm_deadline(link, deadline);
  if (link->state == Link::State::up && !link->writer_busy) {
    link->writer_busy = true;  // one wake-up per batch, not per call
    link->writer_wake.cancel();
  }
}

void Upstream::Impl::shut(bool run_callbacks) {
  closed = true;
  for (auto& link : links) {
    if (!run_callbacks) {
      link->calls.clear();
      pending = 0;
    }
    fail_link(*link, "upstream closed", false);
    link->backoff_timer.cancel();
  }
}

asio::awaitable<bool> Upstream::Impl::connect(std::shared_ptr<Link> link) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  tcp::endpoint ep;
  if (ec) {
    tcp::resolver resolver(io);
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), kUseTuple);
    if (rec || results.empty()) co_return false;
    ep = results.begin()->endpoint();
  } else {
    ep = tcp::endpoint(addr, port);
  }
  // A timer closes the socket if the connect hangs (a paused or filtered peer).
  asio::steady_timer deadline(io, options.connect_timeout);
  deadline.async_wait([link, gen = link->generation](const boost::system::error_code& e) {
    if (e || link->generation != gen || link->state != Link::State::connecting) return;
    boost::system::error_code ignored;
    link->socket.close(ignored);
  });
  auto [cec] = co_await link->socket.async_connect(ep, kUseTuple);
  deadline.cancel();
  co_return !cec && link->socket.is_open();
}

asio::awaitable<void> Upstream::Impl::run(std::shared_ptr<Link> link) {
  auto self = shared_from_this();
  Duration backoff = options.backoff_min;
  while (!closed) {
    link->state = Link::State::connecting;
    const uint64_t gen = link->generation;
    const bool ok = co_await connect(link);
    if (closed) break;
    if (!ok || link->generation != gen) {
      ++stats.connect_failures;
      fail_link(*link, fmt::format("cannot connect to {}:{}", host, port), false);
    } else {
      backoff = options.backoff_min;
      boost::system::error_code ec;
      link->socket.set_option(tcp::no_delay(true), ec);
      ++stats.connects;
      link->state = Link::State::up;
      link->parser = resp::Parser();
      if (!setname.empty()) {
        link->out.insert(0, setname);
        link->calls.push_front({nullptr, Clock::time_point::max()});
      }
      link->writer_busy = true;  // until the writer finds nothing to write
      asio::co_spawn(io, write_loop(link, gen), rethrow);
      co_await read_loop(link, gen);
      if (closed) break;
    }
    link->backoff_timer.expires_after(backoff);
    co_await link->backoff_timer.async_wait(kUseTuple);
    backoff = std::min(backoff * 2, options.backoff_max);
  }
}

asio::awaitable<void> Upstream::Impl::read_loop(std::shared_ptr<Link> link, uint64_t gen) {
  std::string_view raw;
  while (link->generation == gen) {
    std::span<char> space = link->parser.prepare(kReadChunk);
    auto [ec, n] =
        co_await link->socket.async_read_some(asio::buffer(space.data(), space.size()), kUseTuple);
    if (link->generation != gen) break;
    if (ec) {
      fail_link(*link,
                ec == asio::error::eof ? std::string("connection closed by the peer")
                                       : fmt::format("connection broken: {}", ec.message()),
                false);
      break;
    }
    link->parser.commit(n);
    while (link->generation == gen) {
      const resp::Status st = link->parser.next_raw(raw);
      if (st == resp::Status::need_more) break;
      if (st == resp::Status::error || link->calls.empty()) {
        fail_link(*link,
                  st == resp::Status::error ? fmt::format("bad reply: {}", link->parser.error())
                                            : std::string("reply without a call"),
                  false);
        break;
      }
      Call c = std::move(link->calls.front());
      link->calls.pop_front();
      --link->sent;
      if (!c.cb) continue;  // CLIENT SETNAME's reply
      ++stats.replies;
      --pending;
      UpstreamReply reply;
      reply.status = UpstreamReply::Status::ok;
      reply.bytes.assign(raw.data(), raw.size());
      c.cb(std::move(reply));
    }
  }
}

asio::awaitable<void> Upstream::Impl::write_loop(std::shared_ptr<Link> link, uint64_t gen) {
  std::string writing;
  while (link->generation == gen) {
    if (link->out.empty()) {
      link->writer_busy = false;
      link->writer_wake.expires_at(asio::steady_timer::time_point::max());
      co_await link->writer_wake.async_wait(kUseTuple);
      continue;
    }
    link->writer_busy = true;
    // Everything queued goes out in one write; calls made meanwhile gather for the next.
    std::swap(writing, link->out);
    link->sent = link->calls.size();
    auto [ec, written] = co_await asio::async_write(link->socket, asio::buffer(writing), kUseTuple);
    (void)written;
    writing.clear();
    if (writing.capacity() > kKeepBufferCapacity) writing.shrink_to_fit();
    if (link->generation != gen) break;
    if (ec) {
      fail_link(*link, fmt::format("write failed: {}", ec.message()), false);
      break;
    }
  }
}

Upstream::Upstream(asio::io_context& io, std::string host, uint16_t port, UpstreamOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(host), port, std::move(options))) {}

Upstream::~Upstream() {
  impl_->destroyed = true;
  impl_->shut(false);
}

void Upstream::call(std::span<const std::string_view> argv, Callback cb,
                    std::optional<Duration> timeout) {
  auto* link = impl_->admit(cb);
  if (link == nullptr) return;
  resp::Writer((*link)->out).command(argv);
  impl_->enqueue(*link, std::move(cb), timeout);
}

void Upstream::call_encoded(std::string_view command_bytes, Callback cb,
                            std::optional<Duration> timeout) {
  auto* link = impl_->admit(cb);
  if (link == nullptr) return;
  (*link)->out.append(command_bytes);
  impl_->enqueue(*link, std::move(cb), timeout);
}

void Upstream::close() {
  if (!impl_->closed) impl_->shut(true);
}

bool Upstream::connected() const {
  for (const auto& l : impl_->links) {
    if (l->state == Impl::Link::State::up) return true;
  }
  return false;
}

size_t Upstream::in_flight() const { return impl_->pending; }

const UpstreamStats& Upstream::stats() const { return impl_->stats; }

std::string Upstream::address() const { return fmt::format("{}:{}", impl_->host, impl_->port); }

}  // namespace fl::nodes
