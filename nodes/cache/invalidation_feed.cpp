#include "nodes/cache/invalidation_feed.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <set>

#include "common/log.h"
#include "common/resp/resp.h"
#include "nodes/common/upstream.h"

namespace fl::cache {

namespace {

// One XRANGE-shaped entry list into ids and events.
bool parse_entries(const resp::Value& entries, std::vector<std::string>& ids,
                   std::vector<ChangeEvent>& events) {
  if (entries.type == resp::Type::null) return true;
  if (entries.type != resp::Type::array) return false;
  for (const resp::Value& e : entries.elements) {
    if (e.type != resp::Type::array || e.elements.size() != 2) return false;
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
    ids.push_back(e.elements[0].str);
    if (has_key) {
      events.push_back(std::move(ev));
    } else {
      events.push_back(ChangeEvent{});
    }
  }
  return true;
}

}  // namespace

bool parse_range_events(std::string_view reply_bytes, std::vector<std::string>& ids,
                        std::vector<ChangeEvent>& events) {
  resp::Parser p;
  p.feed(reply_bytes);
  resp::Value v;
  if (p.next(v) != resp::Status::ok) return false;
  return parse_entries(v, ids, events);
}

std::vector<std::string> recent_keys(const std::vector<std::string>& ids,
                                     const std::vector<ChangeEvent>& events, size_t n) {
  // Partition -> its events' keys, oldest first.
  std::vector<std::pair<std::string, std::vector<const std::string*>>> parts;
  for (size_t i = 0; i < ids.size() && i < events.size(); ++i) {
    if (events[i].key.empty()) continue;
    const std::string part = ids[i].substr(0, ids[i].find('-'));
    if (parts.empty() || parts.back().first != part) parts.push_back({part, {}});
    parts.back().second.push_back(&events[i].key);
  }
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  std::vector<size_t> taken(parts.size(), 0);
  size_t visited = 0;
  bool more = true;
  while (visited < n && more) {
    more = false;
    for (size_t p = 0; p < parts.size() && visited < n; ++p) {
      auto& keys = parts[p].second;
      if (taken[p] >= keys.size()) continue;
      more = true;
      const std::string& k = *keys[keys.size() - 1 - taken[p]++];
      ++visited;
      if (seen.insert(k).second) out.push_back(k);
    }
  }
  return out;
}

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
    if (!parse_entries(stream.elements[1], ids, events)) return false;
  }
  // Entries without a key field carry nothing to invalidate.
  std::erase_if(events, [](const ChangeEvent& e) { return e.key.empty(); });
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
    connected_ = true;  // the broker answers and the group exists
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

namespace fl::cache {

void InvalidationFeed::read_recent(size_t n, std::function<void(std::vector<std::string>)> done,
                                   size_t max_pages) {
  struct State {
    std::vector<std::string> ids;
    std::vector<ChangeEvent> events;
    size_t pages = 0;
  };
  auto st = std::make_shared<State>();
  auto page = std::make_shared<std::function<void(std::string)>>();
  std::weak_ptr<std::function<void(std::string)>> weak_page = page;
  *page = [this, st, n, done, max_pages, weak_page](std::string start) {
    const std::string_view argv[] = {"XRANGE", options_.topic, start, "+", "COUNT", "1000"};
    upstream_->call(argv, [this, st, n, done, max_pages, weak_page](nodes::UpstreamReply&& r) {
      std::vector<std::string> ids;
      std::vector<ChangeEvent> events;
      if (!r.ok() || !parse_range_events(r.bytes, ids, events)) {
        log::warn("warm: cannot read {} from the broker", options_.topic);
        return done(recent_keys(st->ids, st->events, n));
      }
      const bool last = ids.size() < 1000 || ++st->pages >= max_pages;
      const std::string next = ids.empty() ? std::string() : "(" + ids.back();
      st->ids.insert(st->ids.end(), ids.begin(), ids.end());
      for (auto& e : events) st->events.push_back(std::move(e));
      auto self = weak_page.lock();
      if (last || !self) return done(recent_keys(st->ids, st->events, n));
      (*self)(next);
    });
  };
  // The chain keeps itself alive through the pending call's callback.
  auto keep = page;
  (*page)("-");
  pending_warm_ = keep;
}

}  // namespace fl::cache
