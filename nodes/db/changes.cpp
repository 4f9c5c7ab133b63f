#include "nodes/db/changes.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>

#include "common/log.h"
#include "common/resp/resp.h"
#include "nodes/common/upstream.h"

namespace fl::db {
namespace {

namespace asio = boost::asio;
constexpr Duration kRetryMax = std::chrono::seconds(1);

}  // namespace

struct ChangePublisher::Impl : std::enable_shared_from_this<ChangePublisher::Impl> {
  struct Item {
    std::string bytes;  // the encoded XADD
    bool in_flight = false;
    bool done = false;
    bool tried = false;
  };

  Impl(asio::io_context& ctx, ChangePublisherOptions o)
      : io(ctx),
        options(std::move(o)),
        upstream(ctx, options.host, options.port, upstream_options()),
        retry_timer(ctx),
        backoff(options.retry_min) {}

  nodes::UpstreamOptions upstream_options() const {
    nodes::UpstreamOptions u;
    u.connections = 1;
    u.max_in_flight = std::max<size_t>(options.window, 1) + 1;
    u.timeout = options.timeout;
    u.client_name = options.client_name;
    return u;
  }

  asio::io_context& io;
  ChangePublisherOptions options;
  nodes::Upstream upstream;
  ChangePublisherStats stats;
  // Events in order; the front one has sequence number `base`. Acknowledged events leave from
  // the front; one acknowledged behind an unacknowledged one waits there, marked done.
  std::deque<Item> outbox;
  uint64_t base = 0;
  // Items before `cursor` have been sent since the last (re)start of sending.
  size_t cursor = 0;
  size_t in_flight = 0;
  size_t pending = 0;  // items not done
  // A send failed: send nothing new until every answer is in, then resend from the front.
  bool retrying = false;
  bool retry_scheduled = false;
  asio::steady_timer retry_timer;
  Duration backoff;
  bool closed = false;

  void send_more();
  void on_reply(uint64_t seq, nodes::UpstreamReply&& r);
  void pop_done();
  void schedule_retry();
};

void ChangePublisher::Impl::pop_done() {
  while (!outbox.empty() && outbox.front().done) {
    outbox.pop_front();
    ++base;
    if (cursor > 0) --cursor;
  }
}

void ChangePublisher::Impl::send_more() {
  if (closed || retrying) return;
  while (in_flight < options.window && cursor < outbox.size()) {
    const uint64_t seq = base + cursor;
    Item& item = outbox[cursor++];
    if (item.done || item.in_flight) continue;
    item.in_flight = true;
    if (item.tried) ++stats.resent;
    item.tried = true;
    ++in_flight;
    upstream.call_encoded(
        item.bytes,
        [weak = weak_from_this(), seq](nodes::UpstreamReply&& r) {
          if (auto self = weak.lock()) self->on_reply(seq, std::move(r));
        },
        options.timeout);
  }
}

void ChangePublisher::Impl::on_reply(uint64_t seq, nodes::UpstreamReply&& r) {
  --in_flight;
  if (closed) return;
  if (seq >= base && seq - base < outbox.size()) {
    Item& item = outbox[seq - base];
    item.in_flight = false;
    const bool error_reply = r.ok() && !r.bytes.empty() && r.bytes[0] == '-';
    if (r.ok() && !error_reply) {
      item.done = true;
      --pending;
      ++stats.published;
      backoff = options.retry_min;
    } else if (error_reply && r.bytes.rfind("-ERR", 0) == 0) {
      // A refusal that a resend would only repeat: drop it rather than block every later event.
      log::warn("change event refused by the broker: {}", r.bytes.substr(1, r.bytes.size() - 3));
      item.done = true;
      --pending;
      ++stats.dropped;
    } else {
      if (!retrying) {
        log::debug("change events: broker {} failed ({}); resending", upstream.address(),
                   r.ok() ? r.bytes : r.error);
      }
      retrying = true;
    }
    pop_done();
  }
  if (retrying) {
    if (in_flight == 0) schedule_retry();
    return;
  }
  send_more();
}

void ChangePublisher::Impl::schedule_retry() {
  if (retry_scheduled) return;
  retry_scheduled = true;
  retry_timer.expires_after(backoff);
  backoff = std::min(backoff * 2, kRetryMax);
  retry_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed) return;
    self->retry_scheduled = false;
    self->retrying = false;
    self->cursor = 0;  // resend from the oldest unacknowledged event
    self->send_more();
  });
}

ChangePublisher::ChangePublisher(asio::io_context& io, ChangePublisherOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

ChangePublisher::~ChangePublisher() { close(); }

void ChangePublisher::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->retry_timer.cancel();
  impl_->upstream.close();
}

void ChangePublisher::publish(ChangeEvent e) {
  Impl& s = *impl_;
  if (s.closed) return;
  std::string bytes;
  const std::string shard = std::to_string(e.shard);
  const std::string index = std::to_string(e.index);
  resp::Writer(bytes).command({"XADD", s.options.topic, "*", "key", e.key, "op", e.op, "shard",
                               shard, "index", index, "origin", e.origin});
  s.outbox.push_back({std::move(bytes)});
  ++s.pending;
  while (s.outbox.size() > std::max<size_t>(s.options.max_outbox, 1)) {
    // The oldest goes; if it is in flight, its answer finds it gone and is ignored.
    if (!s.outbox.front().done) {
      --s.pending;
      ++s.stats.dropped;
    }
    s.outbox.pop_front();
    ++s.base;
    if (s.cursor > 0) --s.cursor;
  }
  s.send_more();
}

std::string ChangePublisher::info() const {
  const Impl& s = *impl_;
  return fmt::format(
      "changes_broker:{}\r\nchanges_topic:{}\r\nchanges_connected:{}\r\nchanges_published:{}\r\n"
      "changes_pending:{}\r\nchanges_dropped:{}\r\nchanges_resent:{}\r\n",
      s.upstream.address(), s.options.topic, s.upstream.connected() ? 1 : 0, s.stats.published,
      s.pending, s.stats.dropped, s.stats.resent);
}

size_t ChangePublisher::pending() const { return impl_->pending; }

const ChangePublisherStats& ChangePublisher::stats() const { return impl_->stats; }

}  // namespace fl::db
