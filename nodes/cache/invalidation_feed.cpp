#include "nodes/cache/invalidation_feed.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/log.h"
#include "common/resp/resp.h"
#include "nodes/common/upstream.h"

namespace fl::cache {

bool parse_change_events(std::string_view reply_bytes, std::vector<std::string>& ids,
                         std::vector<ChangeEvent>& events) {
  resp::Parser p;
  p.feed(reply_bytes);
  resp::Value v;
  if (p.next(v) != resp::Status::ok) return false;
  if (v.type == resp::Type::null) return true;
  if (v.type != resp::Type::array) return false;
  for (const resp::Value& stream : v.elements) {
    if (stream.type != resp::Type::array || stream.elements.size() != 2) return false;
    const resp::Value& entries = stream.elements[1];
    if (entries.type == resp::Type::null) continue;
    if (entries.type != resp::Type::array) return false;
    for (const resp::Value& e : entries.elements) {
      if (e.type != resp::Type::array || e.elements.size() != 2) return false;
      ids.push_back(e.elements[0].str);
      const resp::Value& fields = e.elements[1];
      if (fields.type != resp::Type::array) continue;  // a deleted entry (nil fields)
      ChangeEvent ev;
      bool has_key = false;
      for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        const std::string& f = fields.elements[i].str;
        if (f == "key") {
          ev.key = fields.elements[i + 1].str;
          has_key = true;
        } else if (f == "origin") {
          ev.origin = fields.elements[i + 1].str;
        }
      }
      if (has_key) events.push_back(std::move(ev));
    }
  }
  return true;
}

InvalidationFeed::InvalidationFeed(boost::asio::io_context& io, FeedOptions options,
                                   OnChange on_change, OnLost on_lost)
    : io_(io),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      on_lost_(std::move(on_lost)) {
  nodes::UpstreamOptions uo;
  uo.connections = 1;
  uo.timeout = std::chrono::milliseconds(options_.block_ms) + options_.timeout;
  uo.client_name = options_.consumer;
  upstream_ = std::make_unique<nodes::Upstream>(io_, options_.host, options_.port, uo);
}

InvalidationFeed::~InvalidationFeed() {
  *alive_ = false;
  stop();
}

void InvalidationFeed::stop() {
  if (stopped_) return;
  stopped_ = true;
  upstream_->close();
}

void InvalidationFeed::start() { create_group(); }

void InvalidationFeed::later(std::function<void()> f) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, options_.retry);
  std::weak_ptr<bool> alive = alive_;
  timer->async_wait([timer, alive, f = std::move(f)](const boost::system::error_code& ec) {
    if (!ec && !alive.expired()) f();
  });
}

void InvalidationFeed::failed() {
  if (connected_) {
    connected_ = false;
    ++stats_.losses;
    log::warn("invalidation feed from {}:{} lost", options_.host, options_.port);
    on_lost_();
  }
  if (!stopped_) later([this] { create_group(); });
}

void InvalidationFeed::create_group() {
  if (stopped_) return;
  const std::string_view argv[] = {"XGROUP", "CREATE", options_.topic, options_.group, "$",
                                   "MKSTREAM"};
  upstream_->call(argv, [this](nodes::UpstreamReply&& r) {
    if (stopped_) return;
    if (r.status != nodes::UpstreamReply::Status::ok) return failed();
    // +OK, or -BUSYGROUP when the group exists already: either way, read.
    if (!r.bytes.empty() && r.bytes[0] == '-' && r.bytes.rfind("-BUSYGROUP", 0) != 0) {
      log::warn("invalidation feed: XGROUP CREATE answered {}", r.bytes.substr(1));
      return failed();
    }
    read();
  });
}

void InvalidationFeed::read() {
  if (stopped_) return;
  const std::string block = std::to_string(options_.block_ms);
  const std::string_view argv[] = {"XREADGROUP", "GROUP", options_.group, options_.consumer,
                                   "COUNT",      "1000",  "BLOCK",        block,
                                   "STREAMS",    options_.topic, ">"};
  upstream_->call(argv, [this](nodes::UpstreamReply&& r) {
    if (stopped_) return;
    if (r.status != nodes::UpstreamReply::Status::ok || r.bytes.empty() || r.bytes[0] == '-') {
      if (r.status == nodes::UpstreamReply::Status::ok) {
        log::warn("invalidation feed: XREADGROUP answered {}", r.bytes.substr(1));
      }
      return failed();
    }
    std::vector<std::string> ids;
    std::vector<ChangeEvent> events;
    if (!parse_change_events(r.bytes, ids, events)) {
      log::warn("invalidation feed: unexpected XREADGROUP reply");
      return failed();
    }
    connected_ = true;
    ++stats_.reads;
    stats_.events += events.size();
    for (const ChangeEvent& e : events) on_change_(e);
    if (!ids.empty()) {
      std::vector<std::string_view> ack = {"XACK", options_.topic, options_.group};
      for (const std::string& id : ids) ack.push_back(id);
      upstream_->call(ack, [](nodes::UpstreamReply&&) {});
    }
    read();
  });
}

}  // namespace fl::cache
