#include "nodes/common/peer_links.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <exception>
#include <map>

#include "common/log.h"
#include "nodes/common/resp_server.h"

namespace fl::nodes {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Most bytes gathered into one write.
constexpr size_t kMaxBatchBytes = 256 * 1024;

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

// RESP array of bulk strings.
std::string encode(const std::vector<std::string>& argv) {
  std::string out;
  size_t n = 16;
  for (const auto& a : argv) n += a.size() + 16;
  out.reserve(n);
  out += fmt::format("*{}\r\n", argv.size());
  for (const auto& a : argv) {
    out += fmt::format("${}\r\n", a.size());
    out += a;
    out += "\r\n";
  }
  return out;
}

}  // namespace

struct PeerLinks::Impl : std::enable_shared_from_this<PeerLinks::Impl> {
  struct Link {
    explicit Link(asio::io_context& ctx) : wake(ctx) {}
    PeerLinkStats stats;
    std::string host;
    uint16_t port = 0;
    std::deque<std::string> queue;
    size_t queue_bytes = 0;
    // Cancelled when a message is queued or the link must stop waiting.
    asio::steady_timer wake;
    std::shared_ptr<tcp::socket> socket;
    // True while the writer waits for a message (not while it backs off).
    bool waiting_for_data = false;
  };

  Impl(asio::io_context& ctx, PeerLinkOptions o) : io(ctx), options(o) {}

  asio::io_context& io;
  PeerLinkOptions options;
  std::map<std::string, std::shared_ptr<Link>, std::less<>> links;
  bool stopping = false;

  asio::awaitable<void> run(std::shared_ptr<Link> link);
  asio::awaitable<void> read_replies(std::shared_ptr<Link> link, std::shared_ptr<tcp::socket> s);
  asio::awaitable<bool> connect(Link& link, std::shared_ptr<tcp::socket> s);

  void stop() {
    stopping = true;
    for (auto& [id, l] : links) {
      l->wake.cancel();
      if (l->socket) {
        boost::system::error_code ec;
        l->socket->close(ec);
      }
    }
  }
};

asio::awaitable<bool> PeerLinks::Impl::connect(Link& link, std::shared_ptr<tcp::socket> s) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(link.host, ec);
  tcp::endpoint ep;
  if (ec) {
    tcp::resolver resolver(io);
    auto [rec, results] =
        co_await resolver.async_resolve(link.host, std::to_string(link.port), kUseTuple);
    if (rec || results.empty()) co_return false;
    ep = results.begin()->endpoint();
  } else {
    ep = tcp::endpoint(addr, link.port);
  }
  // A timer closes the socket if the connect hangs (e.g. a peer that is paused or filtered).
  asio::steady_timer deadline(io, options.connect_timeout);
  deadline.async_wait([s](const boost::system::error_code& e) {
    if (!e) {
      boost::system::error_code ignored;
      s->close(ignored);
    }
  });
  auto [cec] = co_await s->async_connect(ep, kUseTuple);
  deadline.cancel();
  co_return !cec && s->is_open();
}

asio::awaitable<void> PeerLinks::Impl::read_replies(std::shared_ptr<Link> link,
                                                    std::shared_ptr<tcp::socket> s) {
  char buf[4096];
  for (;;) {
    auto [ec, n] = co_await s->async_read_some(asio::buffer(buf), kUseTuple);
    if (ec) break;
    link->stats.reply_bytes += n;
  }
  boost::system::error_code ignored;
  s->close(ignored);
  link->wake.cancel();
}

asio::awaitable<void> PeerLinks::Impl::run(std::shared_ptr<Link> link) {
  auto self = shared_from_this();
  Duration backoff = options.backoff_min;
  std::string batch;
  while (!stopping) {
    auto s = std::make_shared<tcp::socket>(io);
    link->socket = s;
    if (!co_await connect(*link, s)) {
      if (stopping) break;
      boost::system::error_code ignored;
      s->close(ignored);
      // A peer that was up and is now unreachable loses what is sent to it meanwhile, as it
      // would over a real network: a restarted node must not be handed the writes it missed
      // (the protocols resend what matters). Before the first connect, messages wait, so
      // nodes starting side by side do not lose their first words.
      if (link->stats.connects > 0 && !link->queue.empty()) {
        link->stats.dropped += link->queue.size();
        link->queue.clear();
        link->queue_bytes = 0;
      }
      link->wake.expires_after(backoff);
      co_await link->wake.async_wait(kUseTuple);
      backoff = std::min(backoff * 2, options.backoff_max);
      continue;
    }
    backoff = options.backoff_min;
    boost::system::error_code ec;
    s->set_option(tcp::no_delay(true), ec);
    link->stats.connected = true;
    ++link->stats.connects;
    log::debug("peer link to {} ({}) connected", link->stats.peer_id, link->stats.address);
    asio::co_spawn(io, read_replies(link, s), rethrow);

    while (!stopping && s->is_open()) {
      if (link->queue.empty()) {
        link->wake.expires_at(asio::steady_timer::time_point::max());
        link->waiting_for_data = true;
        co_await link->wake.async_wait(kUseTuple);
        link->waiting_for_data = false;
        continue;
      }
      batch.clear();
      size_t count = 0;
      while (!link->queue.empty() && (count == 0 || batch.size() < kMaxBatchBytes)) {
        batch += link->queue.front();
        link->queue_bytes -= link->queue.front().size();
        link->queue.pop_front();
        ++count;
      }
      auto [wec, written] = co_await asio::async_write(*s, asio::buffer(batch), kUseTuple);
      (void)written;
      if (wec) {
        // The batch may be partly delivered; peer messages are idempotent or superseded.
        link->stats.dropped += count;
        break;
      }
      link->stats.sent += count;
    }
    s->close(ec);
    if (link->stats.connected) {
      log::debug("peer link to {} ({}) lost", link->stats.peer_id, link->stats.address);
    }
    link->stats.connected = false;
  }
  link->socket.reset();
}

PeerLinks::PeerLinks(RespServer& server, PeerLinkOptions options)
    : impl_(std::make_shared<Impl>(server.io(), options)) {
  server.on_stop([impl = impl_] { impl->stop(); });
}

PeerLinks::~PeerLinks() { impl_->stop(); }

void PeerLinks::add_peer(const std::string& id, const std::string& host, uint16_t port) {
  if (impl_->links.count(id)) return;
  auto link = std::make_shared<Impl::Link>(impl_->io);
  link->stats.peer_id = id;
  link->stats.address = fmt::format("{}:{}", host, port);
  link->host = host;
  link->port = port;
  impl_->links.emplace(id, link);
  asio::co_spawn(impl_->io, impl_->run(link), rethrow);
}

bool PeerLinks::send(std::string_view peer_id, const std::vector<std::string>& argv) {
  auto it = impl_->links.find(peer_id);
  if (it == impl_->links.end() || impl_->stopping) return false;
  Impl::Link& l = *it->second;
  std::string msg = encode(argv);
  l.queue_bytes += msg.size();
  l.queue.push_back(std::move(msg));
  while (l.queue.size() > impl_->options.max_queue ||
         (l.queue_bytes > impl_->options.max_queue_bytes && l.queue.size() > 1)) {
    l.queue_bytes -= l.queue.front().size();
    l.queue.pop_front();
    ++l.stats.dropped;
  }
  if (l.waiting_for_data) l.wake.cancel();
  return true;
}

std::vector<PeerLinkStats> PeerLinks::stats() const {
  std::vector<PeerLinkStats> out;
  for (const auto& [id, l] : impl_->links) {
    out.push_back(l->stats);
    out.back().queued = l->queue.size();
  }
  return out;
}

}  // namespace fl::nodes
