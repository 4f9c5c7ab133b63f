#include "nodes/cache/cache_node.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>

#include "common/log.h"
#include "common/resp/resp.h"
#include "nodes/cache/invalidation_feed.h"
#include "nodes/common/clock.h"
#include "nodes/common/resp_server.h"

namespace fl::cache {
namespace {

using nodes::CommandContext;
using nodes::iequals;

constexpr std::string_view kOk = "+OK\r\n";

std::string integer_reply(int64_t i) {
  std::string out;
  resp::Writer(out).integer(i);
  return out;
}

std::string bulk_reply(std::string_view s) {
  std::string out;
  resp::Writer(out).bulk(s);
  return out;
}

// The payload of a bulk-string reply; false for any other reply.
bool bulk_payload(std::string_view reply, std::string_view& payload) {
  if (reply.size() < 5 || reply[0] != '$') return false;
  const size_t cr = reply.find('\r');
  if (cr == std::string_view::npos) return false;
  int64_t len = 0;
  for (size_t i = 1; i < cr; ++i) {
    if (reply[i] < '0' || reply[i] > '9') return false;  // $-1 (nil) included
    len = len * 10 + (reply[i] - '0');
  }
  if (cr + 2 + static_cast<size_t>(len) + 2 != reply.size()) return false;
  payload = reply.substr(cr + 2, static_cast<size_t>(len));
  return true;
}

bool parse_integer_reply(std::string_view reply, int64_t& out) {
  if (reply.size() < 4 || reply[0] != ':') return false;
  out = 0;
  bool neg = false;
  size_t i = 1;
  if (reply[i] == '-') {
    neg = true;
    ++i;
  }
  for (; i < reply.size() && reply[i] != '\r'; ++i) {
    if (reply[i] < '0' || reply[i] > '9') return false;
    out = out * 10 + (reply[i] - '0');
  }
  if (neg) out = -out;
  return true;
}

bool is_error(std::string_view reply) { return !reply.empty() && reply[0] == '-'; }

// Commands forwarded without changing the key (their replies never invalidate an entry).
bool is_read_only(std::string_view name) {
  static constexpr std::string_view kReads[] = {
      "exists",    "strlen",     "ttl",    "pttl",        "type",        "smembers",
      "sismember", "smismember", "scard",  "srandmember", "xrange",      "xrevrange",
      "xlen",      "getrange",   "substr", "expiretime",  "pexpiretime", "dump",
      "lrange",    "llen",       "hget",   "hgetall",     "sscan"};
  for (std::string_view r : kReads) {
    if (iequals(name, r)) return true;
  }
  return false;
}

std::vector<std::string> own(std::span<const std::string_view> argv) {
  return std::vector<std::string>(argv.begin(), argv.end());
}

// Runs `parts` asynchronous steps and then `combine` with their replies in order.
class Gather : public std::enable_shared_from_this<Gather> {
 public:
  using Combine = std::function<void(std::vector<std::string>&)>;
  Gather(size_t n, Combine combine) : replies_(n), left_(n), combine_(std::move(combine)) {}
  std::function<void(std::string)> slot(size_t i) {
    auto self = shared_from_this();
    return [self, i](std::string r) {
      self->replies_[i] = std::move(r);
      if (--self->left_ == 0) self->combine_(self->replies_);
    };
  }

 private:
  std::vector<std::string> replies_;
  size_t left_;
  Combine combine_;
};

// The first error among `replies`, if any.
const std::string* first_error(const std::vector<std::string>& replies) {
  for (const std::string& r : replies) {
    if (is_error(r)) return &r;
  }
  return nullptr;
}

// Combines replies of a command split per key (EXISTS, DEL): the first error, else the sum of
// the integer replies.
Gather::Combine answer_sum(std::function<void(std::string)> done) {
  return [done = std::move(done)](std::vector<std::string>& replies) {
    if (const std::string* e = first_error(replies)) return done(*e);
    int64_t sum = 0;
    for (const std::string& r : replies) {
      int64_t n = 0;
      if (parse_integer_reply(r, n)) sum += n;
    }
    done(integer_reply(sum));
  };
}

}  // namespace

const char* to_string(WritePolicy p) {
  switch (p) {
    case WritePolicy::write_through:
      return "write-through";
    case WritePolicy::write_around:
      return "write-around";
    case WritePolicy::write_back:
      return "write-back";
  }
  return "?";
}

bool parse_write_policy(std::string_view text, WritePolicy& out) {
  if (text == "write-through") {
    out = WritePolicy::write_through;
  } else if (text == "write-around") {
    out = WritePolicy::write_around;
  } else if (text == "write-back") {
    out = WritePolicy::write_back;
  } else {
    return false;
  }
  return true;
}

CacheNode::CacheNode(CacheOptions options, nodes::RespServer& server,
                     const nodes::ServerStats& stats)
    : options_(std::move(options)),
      server_(server),
      server_stats_(stats),
      store_(options_.store),
      write_back_(options_.write_back) {
  RouterOptions ro;
  ro.timeout = options_.timeout;
  ro.client_name = options_.id;
  router_ = std::make_unique<DbRouter>(server_.io(), options_.db, ro);
  if (!options_.broker_host.empty()) {
    FeedOptions fo;
    fo.host = options_.broker_host;
    fo.port = options_.broker_port;
    fo.topic = options_.changes_topic;
    fo.group = "cache-" + options_.id;
    fo.consumer = options_.id;
    fo.timeout = options_.timeout;
    feed_ = std::make_unique<InvalidationFeed>(
        server_.io(), fo, [this](const ChangeEvent& e) { on_change(e); },
        [this] { on_feed_lost(); });
  }
  started_ms_ = now_ms();
}

CacheNode::~CacheNode() = default;

// The node's steady clock, skewed by a clock fault (CLOCK SET): TTLs and write-back ages.
int64_t CacheNode::now_ms() { return nodes::node_clock().steady_ms(); }

void CacheNode::start() {
  if (feed_) feed_->start();
  server_.every(std::chrono::milliseconds(5), [this] { flush_tick(); });
  server_.on_stop([this] {
    if (feed_) feed_->stop();
    router_->close();
  });
  if (options_.warm > 0 && feed_) warm();
}

void CacheNode::register_commands(nodes::CommandTable& t) {
  t.add("get", 2, [this](CommandContext& c) { get(c); });
  t.add("set", -3, [this](CommandContext& c) { set(c); });
  auto deferred = [](CommandContext& c) {
    return [reply = c.defer()](std::string r) mutable { reply.complete(std::move(r)); };
  };
  t.add("del", -2,
        [this, deferred](CommandContext& c) { del(own(c.argv.subspan(1)), deferred(c)); });
  t.add("unlink", -2,
        [this, deferred](CommandContext& c) { del(own(c.argv.subspan(1)), deferred(c)); });
  t.add("exists", -2,
        [this, deferred](CommandContext& c) { exists(own(c.argv.subspan(1)), deferred(c)); });
  t.add("mget", -2,
        [this, deferred](CommandContext& c) { mget(own(c.argv.subspan(1)), deferred(c)); });
  t.add("ping", -1, [](CommandContext& c) {
    if (c.argv.size() > 2) return c.out.error("ERR wrong number of arguments for 'ping' command");
    if (c.argv.size() == 2) return c.out.bulk(c.argv[1]);
    c.out.simple("PONG");
  });
  t.add("echo", 2, [](CommandContext& c) { c.out.bulk(c.argv[1]); });
  t.add("quit", -1, [](CommandContext& c) {
    c.session.after = nodes::AfterReply::close;
    c.out.simple("OK");
  });
  t.add("command", -1, [](CommandContext& c) { c.out.array_header(0); });
  t.add("select", 2, [](CommandContext& c) {
    if (c.argv[1] != "0") return c.out.error("ERR DB index is out of range");
    c.out.simple("OK");
  });
  t.add("client", -2, [this](CommandContext& c) { client(c); });
  t.add("info", -1, [this](CommandContext& c) { info(c); });
  t.add("cache.peek", 2, [this](CommandContext& c) { peek(c); });
  t.add("cache.keys", -2, [this](CommandContext& c) { keys(c); });
  t.add("cache.flush", 1, [this](CommandContext& c) {
    store_.clear();
    guard_.changed_all();
    c.out.simple("OK");
  });
  t.set_fallback([this, deferred](CommandContext& c) {
    if (c.argv.size() < 2) {
      return c.out.error(fmt::format(
          "ERR '{}' has no key: faultline-cache forwards keyed commands only", c.argv[0]));
    }
    forward(own(c.argv), deferred(c));
  });
}

// ---- reads ----

void CacheNode::get(CommandContext& ctx) {
  const std::string_view key = ctx.argv[1];
  if (options_.policy == WritePolicy::write_back) {
    if (const auto* pending = write_back_.find(key)) {
      ++counters_.dirty_hits;
      if (*pending) return ctx.out.bulk(**pending);
      return ctx.out.null();
    }
  }
  if (!busy_.empty() && busy_.find(key) != busy_.end()) {
    auto reply = ctx.defer();
    std::string k(key);
    Done done = [reply](std::string r) mutable { reply.complete(std::move(r)); };
    return when_ready(
        k, [this, k, done]() mutable { get_owned(k, std::move(done)); }, done);
  }
  if (const std::string* v = store_.get(key, now_ms())) return ctx.out.bulk(*v);
  auto reply = ctx.defer();
  fill(std::string(key), [reply](std::string r) mutable { reply.complete(std::move(r)); });
}

void CacheNode::get_owned(const std::string& key, Done done) {
  if (options_.policy == WritePolicy::write_back) {
    if (const auto* pending = write_back_.find(key)) {
      ++counters_.dirty_hits;
      std::string out;
      if (*pending) {
        resp::Writer(out).bulk(**pending);
      } else {
        resp::Writer(out).null();
      }
      return done(std::move(out));
    }
  }
  if (busy_.find(key) != busy_.end()) {
    return when_ready(
        key, [this, key, done]() mutable { get_owned(key, std::move(done)); }, done);
  }
  if (const std::string* v = store_.get(key, now_ms())) return done(bulk_reply(*v));
  fill(key, std::move(done));
}

void CacheNode::fill(const std::string& key, Done done) {
  const FillGuard::Ticket ticket = guard_.begin(key);
  router_->call(key, {"GET", key}, [this, key, ticket, done = std::move(done)](std::string r) {
    const bool clean = guard_.finish(key, ticket);
    std::string_view value;
    if (bulk_payload(r, value)) {
      if (clean) {
        store_.put(key, value, now_ms());
        ++counters_.fills;
      } else {
        ++counters_.fill_races;
      }
    }
    done(std::move(r));
  });
}

void CacheNode::exists(std::vector<std::string> keys, Done done) {
  auto g = std::make_shared<Gather>(keys.size(), answer_sum(std::move(done)));
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& k = keys[i];
    auto slot = g->slot(i);
    if (options_.policy == WritePolicy::write_back) {
      if (const auto* pending = write_back_.find(k)) {
        slot(integer_reply(pending->has_value() ? 1 : 0));
        continue;
      }
    }
    if (busy_.find(k) == busy_.end() && store_.peek(k, now_ms())) {
      slot(integer_reply(1));
      continue;
    }
    forward({"EXISTS", k}, std::move(slot));
  }
}

void CacheNode::mget(std::vector<std::string> keys, Done done) {
  const size_t n = keys.size();
  auto g = std::make_shared<Gather>(n, [done, n](std::vector<std::string>& replies) {
    if (const std::string* e = first_error(replies)) return done(*e);
    std::string out;
    resp::Writer(out).array_header(n);
    for (const std::string& r : replies) out += r;
    done(std::move(out));
  });
  for (size_t i = 0; i < n; ++i) get_owned(keys[i], g->slot(i));
}

// ---- writes ----

void CacheNode::set(CommandContext& ctx) {
  const std::string_view key = ctx.argv[1];
  const std::string_view value = ctx.argv[2];
  // The written value may be installed when the options only make the write conditional.
  bool installable = true;
  for (size_t i = 3; i < ctx.argv.size(); ++i) {
    if (iequals(ctx.argv[i], "nx") || iequals(ctx.argv[i], "xx")) continue;
    if (iequals(ctx.argv[i], "ifeq") && i + 1 < ctx.argv.size()) {
      ++i;
      continue;
    }
    installable = false;  // EX/PX/KEEPTTL/GET...: expiry or reply the cache does not model
  }
  if (options_.policy == WritePolicy::write_back && ctx.argv.size() == 3) {
    write_back_.write(key, value, now_ms());
    guard_.changed(key);
    store_.put(key, value, now_ms());
    return ctx.out.simple("OK");
  }
  auto reply = ctx.defer();
  std::optional<std::string> install;
  if (installable && options_.policy == WritePolicy::write_through) install.emplace(value);
  forward_write(own(ctx.argv), std::move(install),
                [reply](std::string r) mutable { reply.complete(std::move(r)); });
}

void CacheNode::del(std::vector<std::string> keys, Done done) {
  auto g = std::make_shared<Gather>(keys.size(), answer_sum(std::move(done)));
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& k = keys[i];
    auto slot = g->slot(i);
    if (options_.policy == WritePolicy::write_back) {
      // Acknowledged from the cache when it knows whether the key exists; else the DB decides.
      const auto* pending = write_back_.find(k);
      const bool cached = busy_.find(k) == busy_.end() && store_.peek(k, now_ms()) != nullptr;
      if (pending || cached) {
        const bool existed = pending ? pending->has_value() : true;
        write_back_.write(k, std::nullopt, now_ms());
        guard_.changed(k);
        store_.erase(k);
        slot(integer_reply(existed ? 1 : 0));
        continue;
      }
    }
    forward_write({"DEL", k}, std::nullopt, std::move(slot));
  }
}

void CacheNode::forward(std::vector<std::string> argv, Done done) {
  const std::string key = argv[1];
  if (iequals(argv[0], "get") || is_read_only(argv[0])) {
    return when_ready(
        key,
        [this, key, argv = std::move(argv), done]() mutable {
          router_->call(key, std::move(argv), std::move(done));
        },
        done);
  }
  forward_write(std::move(argv), std::nullopt, std::move(done));
}

void CacheNode::forward_write(std::vector<std::string> argv, std::optional<std::string> install,
                              Done done) {
  const std::string key = argv[1];
  if (options_.policy == WritePolicy::write_back && write_back_.dirty(key)) {
    // The DB must hold the buffered write before this one is applied on top of it.
    wait_dirty(
        key,
        [this, argv = std::move(argv), install = std::move(install), done]() mutable {
          forward_write(std::move(argv), std::move(install), std::move(done));
        },
        done);
    return;
  }
  acquire(key);
  guard_.changed(key);
  if (!install) store_.erase(key);
  const FillGuard::Ticket ticket = guard_.begin(key);
  router_->call(
      key, std::move(argv),
      [this, key, ticket, install = std::move(install), done = std::move(done)](std::string r) {
        const bool clean = guard_.finish(key, ticket);
        guard_.changed(key);
        if (install && clean && r == kOk) {
          store_.put(key, *install, now_ms());
        } else {
          store_.erase(key);
        }
        release(key);
        done(std::move(r));
      });
}

void CacheNode::wait_dirty(const std::string& key, std::function<void()> proceed, Done fail) {
  // Whichever comes first: the key's successful flush, or the request timeout (the command
  // was never sent, so -CLUSTERDOWN).
  auto settled = std::make_shared<bool>(false);
  auto timer = std::make_shared<boost::asio::steady_timer>(server_.io(), options_.timeout);
  ++dirty_waiters_;
  write_back_.wait_clean(key, [this, settled, timer, proceed = std::move(proceed)]() mutable {
    if (*settled) return;
    *settled = true;
    --dirty_waiters_;
    timer->cancel();
    proceed();
  });
  timer->async_wait(
      [this, settled, key, fail = std::move(fail)](const boost::system::error_code& ec) {
        if (ec || *settled) return;
        *settled = true;
        --dirty_waiters_;
        std::string out;
        resp::Writer(out).error(fmt::format(
            "CLUSTERDOWN write-back flush of '{}' has not reached the DB; not sent", key));
        fail(std::move(out));
      });
}

void CacheNode::when_ready(const std::string& key, std::function<void()> f, Done fail) {
  if (options_.policy == WritePolicy::write_back && write_back_.dirty(key)) {
    wait_dirty(
        key, [this, key, f = std::move(f), fail]() mutable { when_ready(key, std::move(f), fail); },
        fail);
    return;
  }
  auto it = busy_.find(key);
  if (it == busy_.end()) return f();
  it->second.waiters.push_back(std::move(f));
}

void CacheNode::acquire(const std::string& key) { ++busy_[key].writes; }

void CacheNode::release(const std::string& key) {
  auto it = busy_.find(key);
  if (it == busy_.end() || --it->second.writes > 0) return;
  std::vector<std::function<void()>> waiters = std::move(it->second.waiters);
  busy_.erase(it);
  for (auto& f : waiters) f();
}

// ---- write-back flushing ----

void CacheNode::flush_tick() {
  if (options_.policy != WritePolicy::write_back || flushing_ > 0) return;
  // A command waiting for a dirty key does not wait for the interval too.
  if (dirty_waiters_ == 0 && !write_back_.flush_due(now_ms())) return;
  if (write_back_.waiting() == 0) return;
  std::vector<WriteBackBuffer::Item> batch = write_back_.take_batch();
  flushing_ = batch.size();
  for (WriteBackBuffer::Item& item : batch) {
    std::vector<std::string> argv;
    if (item.value) {
      argv = {"SET", item.key, *item.value};
    } else {
      argv = {"DEL", item.key};
    }
    const std::string key = item.key;
    router_->call(key, std::move(argv), [this, item = std::move(item)](std::string r) {
      const bool ok = !r.empty() && (r[0] == '+' || r[0] == ':');
      if (!ok) log::warn("write-back flush of '{}' failed: {}", item.key, r.substr(0, 200));
      write_back_.flushed(item, ok, now_ms());
      --flushing_;
    });
  }
}

// ---- invalidation ----

void CacheNode::on_change(const ChangeEvent& e) {
  if (options_.bug_skip_invalidation) return;
  if (e.origin == options_.id) {
    ++counters_.own_events;
    return;
  }
  ++counters_.feed_events;
  if (e.every_key) {  // FLUSHALL / FLUSHDB on a db master
    store_.clear();
    guard_.changed_all();
    ++counters_.invalidations;
    return;
  }
  guard_.changed(e.key);
  if (store_.erase(e.key)) ++counters_.invalidations;
}

void CacheNode::on_feed_lost() {
  if (options_.bug_skip_invalidation) return;
  ++counters_.feed_drops;
  store_.clear();
  guard_.changed_all();
}

void CacheNode::warm() {
  feed_->read_recent(static_cast<size_t>(options_.warm), [this](std::vector<std::string> keys) {
    log::info("warming with {} key(s) of recent change events", keys.size());
    // At most 64 fills in flight; each completion starts the next.
    auto queue = std::make_shared<std::vector<std::string>>(std::move(keys));
    std::reverse(queue->begin(), queue->end());
    auto step = std::make_shared<std::function<void()>>();
    std::weak_ptr<std::function<void()>> weak = step;
    *step = [this, queue, weak] {
      std::string key;
      while (key.empty() && !queue->empty()) {
        key = std::move(queue->back());
        queue->pop_back();
        if (store_.peek(key, now_ms()) || write_back_.dirty(key)) key.clear();
      }
      if (key.empty()) return;
      ++counters_.warmed;
      fill(key, [weak](std::string) {
        if (auto s = weak.lock()) (*s)();
      });
    };
    warm_step_ = step;
    for (int i = 0; i < 64; ++i) (*step)();
  });
}

// ---- admin and INFO ----

void CacheNode::peek(CommandContext& ctx) {
  const std::string* v = store_.peek(ctx.argv[1], now_ms());
  if (!v) return ctx.out.null();
  ctx.out.bulk(*v);
}

void CacheNode::keys(CommandContext& ctx) {
  uint64_t cursor = 0;
  size_t count = 10;
  const auto parse_u64 = [](std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    out = 0;
    for (char ch : s) {
      if (ch < '0' || ch > '9') return false;
      out = out * 10 + static_cast<uint64_t>(ch - '0');
    }
    return true;
  };
  if (!parse_u64(ctx.argv[1], cursor)) return ctx.out.error("ERR invalid cursor");
  for (size_t i = 2; i < ctx.argv.size(); ++i) {
    uint64_t n = 0;
    if (iequals(ctx.argv[i], "count") && i + 1 < ctx.argv.size() && parse_u64(ctx.argv[i + 1], n) &&
        n > 0) {
      count = static_cast<size_t>(std::min<uint64_t>(n, 100000));
      ++i;
    } else {
      return ctx.out.error("ERR syntax error");
    }
  }
  std::vector<std::string> out;
  const uint64_t next = store_.scan(cursor, count, out);
  ctx.out.array_header(2);
  ctx.out.bulk(std::to_string(next));
  ctx.out.array_header(out.size());
  for (const std::string& k : out) ctx.out.bulk(k);
}

void CacheNode::client(CommandContext& ctx) {
  const std::string_view sub = ctx.argv[1];
  if (iequals(sub, "id") && ctx.argv.size() == 2) {
    return ctx.out.integer(static_cast<int64_t>(ctx.session.id));
  }
  if (iequals(sub, "getname") && ctx.argv.size() == 2) {
    if (ctx.session.name.empty()) return ctx.out.null();
    return ctx.out.bulk(ctx.session.name);
  }
  if (iequals(sub, "setname") && ctx.argv.size() == 3) {
    ctx.session.name = std::string(ctx.argv[2]);
    return ctx.out.simple("OK");
  }
  if (iequals(sub, "setinfo") && ctx.argv.size() == 4) return ctx.out.simple("OK");
  ctx.out.error(fmt::format("ERR unknown subcommand '{}'. Try CLIENT HELP.", sub));
}

void CacheNode::info(CommandContext& ctx) {
  const StoreStats& s = store_.stats();
  const uint64_t hits = s.hits + counters_.dirty_hits;
  const uint64_t lookups = hits + s.misses;
  const double ratio = lookups ? static_cast<double>(hits) / static_cast<double>(lookups) : 0.0;
  const RouterStats& r = router_->stats();
  std::string text;
  text += fmt::format(
      "# Server\r\nnode_id:{}\r\nrole:cache\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n\r\n",
      options_.id, server_stats_.tcp_port, (now_ms() - started_ms_) / 1000);
  text += fmt::format(
      "# Clients\r\nconnected_clients:{}\r\n\r\n# Stats\r\ntotal_connections_received:{}\r\n"
      "total_commands_processed:{}\r\n\r\n",
      server_stats_.connected_clients, server_stats_.total_connections_received,
      server_stats_.total_commands_processed);
  text += fmt::format(
      "# Cache\r\nwrite_policy:{}\r\neviction:{}\r\ncapacity:{}\r\nused_bytes:{}\r\nentries:{}\r\n"
      "hits:{}\r\nmisses:{}\r\nhit_ratio:{:.4f}\r\nevictions:{}\r\nthrash_evictions:{}\r\n"
      "expired:{}\r\nrejected:{}\r\nfills:{}\r\nfill_races:{}\r\ninvalidations:{}\r\n"
      "feed_events:{}\r\nfeed_drops:{}\r\ndirty:{}\r\nflushed:{}\r\nflush_failures:{}\r\n"
      "feed_connected:{}\r\nfeed_received:{}\r\nown_events:{}\r\nttl_ms:{}\r\nwarmed:{}\r\n\r\n",
      to_string(options_.policy), to_string(store_.eviction()), store_.capacity(),
      store_.used_bytes(), store_.entries(), hits, s.misses, ratio, s.evictions, s.thrash_evictions,
      s.expired, s.rejected, counters_.fills, counters_.fill_races, counters_.invalidations,
      counters_.feed_events, counters_.feed_drops, write_back_.dirty_count(),
      write_back_.flushed_total(), write_back_.failures(), feed_ && feed_->connected() ? 1 : 0,
      feed_ ? feed_->stats().events : 0, counters_.own_events, options_.store.ttl_ms,
      counters_.warmed);
  text += fmt::format(
      "# Upstream\r\ndb_shards:{}\r\ndb_requests:{}\r\ndb_moved:{}\r\ndb_retries:{}\r\n"
      "db_timeouts:{}\r\ndb_clusterdown:{}\r\n",
      router_->shards(), r.requests, r.moved, r.retries, r.timeouts, r.clusterdown);
  for (int sh = 0; sh < router_->shards(); ++sh) {
    text += fmt::format("shard_{}_master:{}\r\n", sh, router_->master_of(sh));
  }
  ctx.out.bulk(text);
}

}  // namespace fl::cache
