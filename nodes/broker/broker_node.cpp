#include "nodes/broker/broker_node.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <charconv>
#include <chrono>
#include <cstring>

#include "common/log.h"
#include "common/resp/resp.h"
#include "nodes/common/clock.h"

#ifndef FL_VERSION
#define FL_VERSION "0"
#endif

namespace fl::broker {
namespace {

using nodes::iequals;

constexpr std::string_view kInvalidId =
    "ERR Invalid stream ID specified as stream command argument";
constexpr std::string_view kSyntax = "ERR syntax error";
constexpr std::string_view kNullArray = "*-1\r\n";
// Blocked readers are retried this often even without a new entry (redelivery timeouts).
constexpr int64_t kRetryBlockedMs = 100;

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto* end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, end);
}

void append_header(std::string& out, char type, uint64_t n) {
  out += type;
  append_uint(out, n);
  out += "\r\n";
}

void append_bulk(std::string& out, std::string_view s) {
  append_header(out, '$', s.size());
  out.append(s);
  out += "\r\n";
}

void append_entry(std::string& out, uint32_t partition, const Entry& e) {
  char id[48];
  auto* end = std::to_chars(id, id + 20, partition).ptr;
  *end++ = '-';
  end = std::to_chars(end, id + sizeof id, e.offset).ptr;
  out += "*2\r\n";
  append_bulk(out, std::string_view(id, static_cast<size_t>(end - id)));
  out += e.fields;
}

void append_entries(std::string& out, const std::vector<Delivery>& d) {
  append_header(out, '*', d.size());
  for (const Delivery& x : d) append_entry(out, x.partition, *x.entry);
}

std::string error_reply(std::string_view msg) {
  std::string out;
  resp::Writer(out).error(msg);
  return out;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// XRANGE bounds: "-", "+", "(id" (exclusive), "id", "p" (a whole partition).
std::optional<StreamId> range_start(std::string_view s) {
  if (s == "-") return StreamId{0, 0};
  if (s == "+") return kMaxId;
  const bool exclusive = s.starts_with('(');
  if (exclusive) s.remove_prefix(1);
  auto id = parse_id(s, 0);
  if (!id) return std::nullopt;
  if (exclusive) {
    if (id->offset == UINT64_MAX) {
      if (id->partition == UINT32_MAX) return std::nullopt;
      return StreamId{id->partition + 1, 0};
    }
    ++id->offset;
  }
  return id;
}

// The first ID of an exclusive end: nullopt when nothing can precede it.
std::optional<StreamId> range_end(std::string_view s, bool& empty) {
  empty = false;
  if (s == "+") return kMaxId;
  if (s == "-") return StreamId{0, 0};
  const bool exclusive = s.starts_with('(');
  if (exclusive) s.remove_prefix(1);
  auto id = parse_id(s, UINT64_MAX);
  if (!id) return std::nullopt;
  if (exclusive) {
    if (id->offset == 0) {
      if (id->partition == 0) {
        empty = true;
        return id;
      }
      return StreamId{id->partition - 1, UINT64_MAX};
    }
    --id->offset;
  }
  return id;
}

// Reads [COUNT n] [BLOCK ms] [NOACK] options up to STREAMS; returns the index after STREAMS or 0
// on a syntax error (with `err` set).
struct ReadOptions {
  std::optional<int64_t> count;
  std::optional<int64_t> block_ms;
  bool noack = false;
  size_t streams_at = 0;
};

std::string read_options(std::span<const std::string_view> argv, size_t from, bool group,
                         ReadOptions& o) {
  for (size_t i = from; i < argv.size(); ++i) {
    if (iequals(argv[i], "STREAMS")) {
      o.streams_at = i + 1;
      return {};
    }
    if (iequals(argv[i], "COUNT") && i + 1 < argv.size()) {
      auto n = parse_int(argv[++i]);
      if (!n) return "ERR value is not an integer or out of range";
      o.count = *n;
    } else if (iequals(argv[i], "BLOCK") && i + 1 < argv.size()) {
      auto n = parse_int(argv[++i]);
      if (!n) return "ERR timeout is not an integer or out of range";
      if (*n < 0) return "ERR timeout is negative";
      o.block_ms = *n;
    } else if (group && iequals(argv[i], "NOACK")) {
      o.noack = true;
    } else {
      return std::string(kSyntax);
    }
  }
  return std::string(kSyntax);
}

}  // namespace

struct BrokerNode::Waiter {
  nodes::DeferredReply reply;
  int64_t deadline_ms = INT64_MAX;
  std::function<bool(std::string&, bool)> attempt;
  bool done = false;
};

BrokerNode::BrokerNode(NodeOptions options, std::unique_ptr<Broker> broker,
                       nodes::RespServer& server, const nodes::ServerStats& stats)
    : options_(std::move(options)),
      broker_(std::move(broker)),
      server_(server),
      stats_(stats),
      started_ms_(now_ms()),
      worker_(std::make_unique<SyncWorker>()) {}

BrokerNode::~BrokerNode() {
  worker_.reset();
  if (broker_ && broker_->options().fsync != FsyncPolicy::never) (void)broker_->sync();
}

// The node's steady clock, skewed by a clock fault (CLOCK SET): ack timeouts, blocking
// deadlines, compaction and flush periods.
int64_t BrokerNode::now_ms() const { return nodes::node_clock().steady_ms(); }

void BrokerNode::start(nodes::CommandTable& t) {
  // In subscribe mode a connection may only (un)subscribe, PING and QUIT, as in Redis.
  auto add = [&](std::string_view name, int arity, void (BrokerNode::*fn)(Ctx&),
                 bool in_subscribe = false) {
    std::string lower(name);
    t.add(name, arity, [this, fn, in_subscribe, lower](Ctx& c) {
      if (!in_subscribe && !subscriptions_.empty() && subscribed(c.session.id)) {
        resp::Writer(c.out).error("ERR Can't execute '" + lower +
                                  "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                                  "RESET are allowed in this context");
        return;
      }
      (this->*fn)(c);
    });
  };
  add("xadd", -5, &BrokerNode::xadd);
  add("xrange", -4, &BrokerNode::xrange);
  add("xlen", 2, &BrokerNode::xlen);
  add("xread", -4, &BrokerNode::xread);
  add("xreadgroup", -7, &BrokerNode::xreadgroup);
  add("xack", -4, &BrokerNode::xack);
  add("xpending", -3, &BrokerNode::xpending);
  add("xgroup", -2, &BrokerNode::xgroup);
  add("del", -2, &BrokerNode::del);
  add("compact", 2, &BrokerNode::compact);
  add("publish", 3, &BrokerNode::publish);
  add("subscribe", -2, &BrokerNode::subscribe, true);
  add("unsubscribe", -1, &BrokerNode::unsubscribe, true);
  add("ping", -1, &BrokerNode::ping, true);
  add("info", -1, &BrokerNode::info);
  add("client", -2, &BrokerNode::client);
  t.add("quit", -1, [](Ctx& c) {
    resp::Writer(c.out).simple("OK");
    c.session.after = nodes::AfterReply::close;
  });
  t.add("command", -1, [](Ctx& c) { resp::Writer(c.out).array_header(0); });
  t.add("select", 2, [](Ctx& c) {
    if (c.argv[1] == "0") {
      resp::Writer(c.out).simple("OK");
    } else {
      resp::Writer(c.out).error("ERR DB index is out of range");
    }
  });
  t.add("dbsize", 1, [this](Ctx& c) {
    resp::Writer(c.out).integer(static_cast<int64_t>(broker_->topics().size()));
  });
  t.add("exists", -2, [this](Ctx& c) {
    int64_t n = 0;
    for (size_t i = 1; i < c.argv.size(); ++i) n += broker_->find(c.argv[i]) != nullptr;
    resp::Writer(c.out).integer(n);
  });
  t.add("type", 2, [this](Ctx& c) {
    resp::Writer(c.out).simple(broker_->find(c.argv[1]) ? "stream" : "none");
  });
  server_.every(options_.tick, [this] { on_tick(); });
}

std::string BrokerNode::io_error_reply(const Error& e) {
  if (!failed_) log::error("broker storage failed: {}", e.message);
  failed_ = true;
  return error_reply("ERR broker storage failed: " + e.message);
}

void BrokerNode::reply_durable(Ctx& c, std::string reply, bool wrote) {
  const BrokerOptions& o = broker_->options();
  if (!wrote || o.fsync != FsyncPolicy::always || o.ack_before_write) {
    c.reply_encoded(reply);
    return;
  }
  commit_waiters_.emplace_back(c.defer(), std::move(reply));
  schedule_commit();
}

void BrokerNode::schedule_commit() {
  if (commit_scheduled_ || commit_running_) return;
  commit_scheduled_ = true;
  // Runs after the commands already read (from this and other connections) are dispatched, so
  // one commit covers them all.
  boost::asio::post(server_.io(), [this] { commit(); });
}

void BrokerNode::commit() {
  commit_scheduled_ = false;
  if (commit_running_) return;
  auto taken = broker_->take_sync_fds();
  if (!taken) {
    const std::string failure = io_error_reply(taken.error());
    auto waiters = std::move(commit_waiters_);
    commit_waiters_.clear();
    for (auto& [reply, bytes] : waiters) reply.complete(failure);
    return;
  }
  // The commit wrote the buffered records: they are visible now (PartitionLog::entries).
  wake_all();
  std::vector<int> fds = std::move(*taken);
  if (fds.empty()) {
    // Nothing unsynced (e.g. a compaction synced it meanwhile).
    auto waiters = std::move(commit_waiters_);
    commit_waiters_.clear();
    for (auto& [reply, bytes] : waiters) reply.complete(std::move(bytes));
    return;
  }
  commit_running_ = true;
  ++commits_;
  in_flight_ = std::move(commit_waiters_);
  commit_waiters_.clear();
  worker_->submit(std::move(fds), [this, &io = server_.io()](int err) {
    boost::asio::post(io, [this, err] { commit_done(err); });
  });
}

void BrokerNode::commit_done(int err) {
  commit_running_ = false;
  auto waiters = std::move(in_flight_);
  in_flight_.clear();
  const std::string failure =
      err == 0 ? std::string()
               : io_error_reply(
                     Error(errc::io_error, std::string("fdatasync failed: ") + std::strerror(err)));
  for (auto& [reply, bytes] : waiters) reply.complete(err == 0 ? std::move(bytes) : failure);
  if (!commit_waiters_.empty()) schedule_commit();
}

void BrokerNode::xadd(Ctx& c) {
  const auto& argv = c.argv;
  const std::string_view topic = argv[1];
  size_t i = 2;
  bool nomkstream = false;
  // Options before the ID: NOMKSTREAM, MAXLEN/MINID [=|~] n [LIMIT n] (accepted, ignored).
  for (;;) {
    if (i >= argv.size()) break;
    if (iequals(argv[i], "NOMKSTREAM")) {
      nomkstream = true;
      ++i;
    } else if (iequals(argv[i], "MAXLEN") || iequals(argv[i], "MINID")) {
      ++i;
      if (i < argv.size() && (argv[i] == "=" || argv[i] == "~")) ++i;
      ++i;
      if (i + 1 < argv.size() && iequals(argv[i], "LIMIT")) i += 2;
    } else {
      break;
    }
  }
  if (i >= argv.size() || (argv.size() - i - 1) % 2 != 0 || argv.size() - i - 1 == 0) {
    resp::Writer(c.out).error("ERR wrong number of arguments for 'xadd' command");
    return;
  }
  if (argv[i] != "*") {
    resp::Writer(c.out).error(
        "ERR faultline-broker assigns IDs itself: only '*' is accepted as the XADD ID");
    return;
  }
  if (nomkstream && !broker_->find(topic)) {
    resp::Writer(c.out).null();
    return;
  }
  auto id = broker_->add(topic, argv.subspan(i + 1));
  if (!id) {
    c.reply_encoded(io_error_reply(id.error()));
    return;
  }
  std::string reply;
  append_bulk(reply, format_id(*id));
  reply_durable(c, std::move(reply), true);
  if (!waiters_.empty()) wake(std::string(topic));
}

void BrokerNode::xrange(Ctx& c) {
  const auto& argv = c.argv;
  auto from = range_start(argv[2]);
  bool empty = false;
  auto to = range_end(argv[3], empty);
  if (!from || !to) {
    resp::Writer(c.out).error(kInvalidId);
    return;
  }
  size_t count = options_.max_count;
  if (argv.size() == 6 && iequals(argv[4], "COUNT")) {
    auto n = parse_int(argv[5]);
    if (!n) {
      resp::Writer(c.out).error("ERR value is not an integer or out of range");
      return;
    }
    count = *n <= 0 ? 0 : std::min<size_t>(static_cast<size_t>(*n), options_.max_count);
  } else if (argv.size() != 4) {
    resp::Writer(c.out).error(kSyntax);
    return;
  }
  const Topic* t = broker_->find(argv[1]);
  if (!t || empty || count == 0) {
    resp::Writer(c.out).array_header(0);
    return;
  }
  std::string out;
  append_entries(out, broker_->range(*t, *from, *to, count));
  c.reply_encoded(out);
}

void BrokerNode::xlen(Ctx& c) {
  int64_t n = 0;
  if (const Topic* t = broker_->find(c.argv[1])) {
    for (const auto& log : t->parts) n += static_cast<int64_t>(log->entries().size());
  }
  resp::Writer(c.out).integer(n);
}

void BrokerNode::xread(Ctx& c) {
  ReadOptions o;
  if (std::string err = read_options(c.argv, 1, false, o); !err.empty()) {
    resp::Writer(c.out).error(err);
    return;
  }
  const size_t rest = c.argv.size() - o.streams_at;
  if (rest == 0 || rest % 2 != 0) {
    resp::Writer(c.out).error(
        "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be "
        "specified.");
    return;
  }
  const size_t n = rest / 2;
  // Per topic: the position to read after. `$`: each partition's end now.
  struct Cursor {
    std::string topic;
    bool dollar = false;
    std::vector<uint64_t> ends;
    StreamId from;
  };
  std::vector<Cursor> cursors;
  for (size_t k = 0; k < n; ++k) {
    Cursor cur;
    cur.topic = c.argv[o.streams_at + k];
    std::string_view id = c.argv[o.streams_at + n + k];
    if (id == "$") {
      cur.dollar = true;
      if (const Topic* t = broker_->find(cur.topic)) {
        for (const auto& log : t->parts) cur.ends.push_back(log->next_offset());
      }
    } else {
      // Entries after the ID; "0" and "0-0" mean from the very start.
      if (id == "0" || id == "0-0") {
        cur.from = {0, 0};
      } else {
        auto s = range_start(std::string("(") + std::string(id));
        if (!s) {
          resp::Writer(c.out).error(kInvalidId);
          return;
        }
        cur.from = *s;
      }
    }
    cursors.push_back(std::move(cur));
  }
  const size_t count =
      std::min<size_t>(o.count && *o.count > 0 ? static_cast<size_t>(*o.count) : options_.max_count,
                       options_.max_count);
  auto attempt = [this, cursors, count](std::string& out, bool timed_out) {
    std::vector<std::pair<const std::string*, std::vector<Delivery>>> found;
    for (const Cursor& cur : cursors) {
      const Topic* t = broker_->find(cur.topic);
      if (!t) continue;
      std::vector<Delivery> d;
      if (cur.dollar) {
        for (uint32_t p = 0; p < t->parts.size() && d.size() < count; ++p) {
          const uint64_t from = p < cur.ends.size() ? cur.ends[p] : 0;
          const auto& entries = t->parts[p]->entries();
          for (size_t k = t->parts[p]->lower_bound(from); k < entries.size() && d.size() < count;
               ++k) {
            d.push_back({p, &entries[k]});
          }
        }
      } else {
        d = broker_->range(*t, cur.from, kMaxId, count);
      }
      if (!d.empty()) found.emplace_back(&cur.topic, std::move(d));
    }
    if (found.empty()) {
      if (!timed_out) return false;
      out = kNullArray;
      return true;
    }
    append_header(out, '*', found.size());
    for (const auto& [topic, d] : found) {
      out += "*2\r\n";
      append_bulk(out, *topic);
      append_entries(out, d);
    }
    return true;
  };
  std::string out;
  if (attempt(out, !o.block_ms.has_value())) {
    c.reply_encoded(out);
    return;
  }
  std::vector<std::string> topics;
  for (const Cursor& cur : cursors) topics.push_back(cur.topic);
  park(c, std::move(topics), *o.block_ms, std::move(attempt));
}

void BrokerNode::xreadgroup(Ctx& c) {
  const auto& argv = c.argv;
  if (!iequals(argv[1], "GROUP")) {
    resp::Writer(c.out).error(kSyntax);
    return;
  }
  std::string group(argv[2]), consumer(argv[3]);
  ReadOptions o;
  if (std::string err = read_options(argv, 4, true, o); !err.empty()) {
    resp::Writer(c.out).error(err);
    return;
  }
  const size_t rest = argv.size() - o.streams_at;
  if (rest != 2) {
    resp::Writer(c.out).error(
        rest % 2 != 0 || rest == 0
            ? "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' "
              "must be specified."
            : "ERR faultline-broker reads one topic per XREADGROUP");
    return;
  }
  std::string topic(argv[o.streams_at]);
  const std::string_view id = argv[o.streams_at + 1];
  const std::string nogroup = "NOGROUP No such key '" + topic + "' or consumer group '" + group +
                              "' in XREADGROUP with GROUP option";
  Topic* t = broker_->find(topic);
  ConsumerGroup* g = nullptr;
  if (t) {
    if (auto it = t->groups.find(group); it != t->groups.end()) g = &it->second;
  }
  if (!g) {
    resp::Writer(c.out).error(nogroup);
    return;
  }
  const size_t count =
      std::min<size_t>(o.count && *o.count > 0 ? static_cast<size_t>(*o.count) : options_.max_count,
                       options_.max_count);
  auto encode = [](std::string& out, const std::string& topic_name,
                   const std::vector<Delivery>& d) {
    out += "*1\r\n*2\r\n";
    append_bulk(out, topic_name);
    append_entries(out, d);
  };
  if (id != ">") {
    // History: this consumer's pending entries after the ID ("0" and "0-0": all of them).
    std::pair<uint32_t, uint64_t> after{0, 0};
    bool inclusive = true;
    if (id != "0" && id != "0-0") {
      auto parsed = parse_id(id, 0);
      if (!parsed) {
        resp::Writer(c.out).error(kInvalidId);
        return;
      }
      after = {parsed->partition, parsed->offset};
      inclusive = false;
    }
    std::string out;
    encode(out, topic, g->read_pending(t->logs, consumer, after, inclusive, count));
    c.reply_encoded(out);
    return;
  }
  auto attempt = [this, topic, group, consumer, count, noack = o.noack, nogroup, encode](
                     std::string& out, bool timed_out) {
    Topic* tt = broker_->find(topic);
    ConsumerGroup* found = nullptr;
    if (tt) {
      if (auto it = tt->groups.find(group); it != tt->groups.end()) found = &it->second;
    }
    if (!found) {
      out = error_reply(nogroup);
      return true;
    }
    ConsumerGroup& gg = *found;
    auto d = gg.read_new(tt->logs, consumer, count, now_ms(), broker_->options().ack_timeout_ms);
    if (d.empty()) {
      if (!timed_out) return false;
      out = kNullArray;
      return true;
    }
    encode(out, topic, d);
    if (noack) {
      std::vector<StreamId> ids;
      for (const Delivery& x : d) ids.push_back({x.partition, x.entry->offset});
      if (auto r = broker_->ack(*tt, gg, ids); !r) out = io_error_reply(r.error());
    }
    return true;
  };
  std::string out;
  if (attempt(out, !o.block_ms.has_value())) {
    c.reply_encoded(out);
    return;
  }
  park(c, {topic}, *o.block_ms, std::move(attempt));
}

void BrokerNode::xack(Ctx& c) {
  std::vector<StreamId> ids;
  for (size_t i = 3; i < c.argv.size(); ++i) {
    auto id = parse_id(c.argv[i], 0);
    if (!id) {
      resp::Writer(c.out).error(kInvalidId);
      return;
    }
    ids.push_back(*id);
  }
  Topic* t = broker_->find(c.argv[1]);
  if (!t) {
    resp::Writer(c.out).integer(0);
    return;
  }
  auto it = t->groups.find(c.argv[2]);
  if (it == t->groups.end()) {
    resp::Writer(c.out).integer(0);
    return;
  }
  auto n = broker_->ack(*t, it->second, ids);
  if (!n) {
    c.reply_encoded(io_error_reply(n.error()));
    return;
  }
  std::string reply;
  resp::Writer(reply).integer(*n);
  reply_durable(c, std::move(reply), *n > 0);
}

void BrokerNode::xpending(Ctx& c) {
  if (c.argv.size() != 3) {
    resp::Writer(c.out).error("ERR faultline-broker supports only the summary form of XPENDING");
    return;
  }
  Topic* t = broker_->find(c.argv[1]);
  const ConsumerGroup* g = nullptr;
  if (t) {
    if (auto it = t->groups.find(c.argv[2]); it != t->groups.end()) g = &it->second;
  }
  if (!g) {
    resp::Writer(c.out).error("NOGROUP No such key '" + std::string(c.argv[1]) +
                              "' or consumer group '" + std::string(c.argv[2]) + "'");
    return;
  }
  const PendingSummary s = g->pending_summary();
  resp::Writer w(c.out);
  w.array_header(4);
  w.integer(static_cast<int64_t>(s.count));
  if (s.count == 0) {
    w.null();
    w.null();
    w.null_array();
    return;
  }
  w.bulk(format_id({s.first.first, s.first.second}));
  w.bulk(format_id({s.last.first, s.last.second}));
  w.array_header(s.per_consumer.size());
  for (const auto& [consumer, n] : s.per_consumer) {
    w.array_header(2);
    w.bulk(consumer);
    w.bulk(std::to_string(n));
  }
}

void BrokerNode::xgroup(Ctx& c) {
  const auto& argv = c.argv;
  resp::Writer w(c.out);
  if (iequals(argv[1], "CREATE") && argv.size() >= 5) {
    bool mkstream = false;
    for (size_t i = 5; i < argv.size(); ++i) {
      if (iequals(argv[i], "MKSTREAM")) {
        mkstream = true;
      } else if (iequals(argv[i], "ENTRIESREAD") && i + 1 < argv.size()) {
        ++i;
      } else {
        w.error(kSyntax);
        return;
      }
    }
    bool from_end = false;
    if (argv[4] == "$") {
      from_end = true;
    } else if (argv[4] != "0" && argv[4] != "0-0") {
      w.error("ERR faultline-broker groups start at '$' (the end) or '0' (the beginning)");
      return;
    }
    auto r = broker_->create_group(argv[2], argv[3], from_end, mkstream);
    if (r) {
      if (auto s = broker_->sync(); !s) r = s.error();
    }
    if (!r) {
      c.reply_encoded(io_error_reply(r.error()));
    } else if (*r == Broker::GroupCreate::exists) {
      w.error("BUSYGROUP Consumer Group name already exists");
    } else if (*r == Broker::GroupCreate::no_topic) {
      w.error(
          "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may "
          "want to use the MKSTREAM option to create an empty stream automatically.");
    } else {
      w.simple("OK");
    }
    return;
  }
  if (iequals(argv[1], "DESTROY") && argv.size() == 4) {
    auto r = broker_->destroy_group(argv[2], argv[3]);
    if (r && *r) {
      if (auto s = broker_->sync(); !s) r = s.error();
    }
    if (!r) {
      c.reply_encoded(io_error_reply(r.error()));
      return;
    }
    w.integer(*r ? 1 : 0);
    return;
  }
  if (iequals(argv[1], "CREATE") || iequals(argv[1], "DESTROY")) {
    w.error("ERR wrong number of arguments for 'xgroup|" + std::string(argv[1]) + "' command");
    return;
  }
  w.error("ERR unknown subcommand '" + std::string(argv[1]) + "'. Try XGROUP HELP.");
}

void BrokerNode::del(Ctx& c) {
  int64_t n = 0;
  for (size_t i = 1; i < c.argv.size(); ++i) {
    auto r = broker_->remove_topic(c.argv[i]);
    if (!r) {
      c.reply_encoded(io_error_reply(r.error()));
      return;
    }
    n += *r;
  }
  resp::Writer(c.out).integer(n);
}

void BrokerNode::compact(Ctx& c) {
  Topic* t = broker_->find(c.argv[1]);
  if (!t) {
    resp::Writer(c.out).integer(0);
    return;
  }
  auto r = broker_->compact(*t);
  if (!r) {
    c.reply_encoded(io_error_reply(r.error()));
    return;
  }
  resp::Writer(c.out).integer(static_cast<int64_t>(r->before - r->after));
}

bool BrokerNode::subscribed(uint64_t session) const {
  auto it = subscriptions_.find(session);
  return it != subscriptions_.end() && !it->second.empty();
}

void BrokerNode::publish(Ctx& c) {
  ++published_;
  int64_t receivers = 0;
  auto it = channels_.find(std::string(c.argv[1]));
  if (it != channels_.end()) {
    std::string msg = "*3\r\n$7\r\nmessage\r\n";
    append_bulk(msg, c.argv[1]);
    append_bulk(msg, c.argv[2]);
    for (auto s = it->second.begin(); s != it->second.end();) {
      if (s->second.push(msg)) {
        ++receivers;
        ++s;
      } else {
        // The subscriber's connection is gone.
        if (auto sub = subscriptions_.find(s->first); sub != subscriptions_.end()) {
          sub->second.erase(it->first);
          if (sub->second.empty()) subscriptions_.erase(sub);
        }
        s = it->second.erase(s);
      }
    }
    if (it->second.empty()) channels_.erase(it);
  }
  delivered_ += static_cast<uint64_t>(receivers);
  resp::Writer(c.out).integer(receivers);
}

void BrokerNode::subscribe(Ctx& c) {
  nodes::PushChannel ch = c.push_channel();
  if (!ch.open()) {
    resp::Writer(c.out).error("ERR SUBSCRIBE needs a server running with pipeline_deferred");
    return;
  }
  auto& mine = subscriptions_[c.session.id];
  std::string out;
  for (size_t i = 1; i < c.argv.size(); ++i) {
    std::string name(c.argv[i]);
    mine.insert(name);
    channels_[name][c.session.id] = ch;
    out += "*3\r\n$9\r\nsubscribe\r\n";
    append_bulk(out, name);
    out += ':';
    append_uint(out, mine.size());
    out += "\r\n";
  }
  c.reply_encoded(out);
}

void BrokerNode::unsubscribe(Ctx& c) {
  auto it = subscriptions_.find(c.session.id);
  std::vector<std::string> names;
  if (c.argv.size() > 1) {
    for (size_t i = 1; i < c.argv.size(); ++i) names.emplace_back(c.argv[i]);
  } else if (it != subscriptions_.end()) {
    names.assign(it->second.begin(), it->second.end());
  }
  std::string out;
  if (names.empty()) {
    out = "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n";
  }
  for (const std::string& name : names) {
    size_t left = 0;
    if (it != subscriptions_.end()) {
      it->second.erase(name);
      left = it->second.size();
    }
    if (auto ch = channels_.find(name); ch != channels_.end()) {
      ch->second.erase(c.session.id);
      if (ch->second.empty()) channels_.erase(ch);
    }
    out += "*3\r\n$11\r\nunsubscribe\r\n";
    append_bulk(out, name);
    out += ':';
    append_uint(out, left);
    out += "\r\n";
  }
  if (it != subscriptions_.end() && it->second.empty()) subscriptions_.erase(it);
  c.reply_encoded(out);
}

void BrokerNode::ping(Ctx& c) {
  resp::Writer w(c.out);
  if (c.argv.size() > 2) {
    w.error("ERR wrong number of arguments for 'ping' command");
  } else if (subscribed(c.session.id)) {
    w.array_header(2);
    w.bulk("pong");
    w.bulk(c.argv.size() == 2 ? c.argv[1] : "");
  } else if (c.argv.size() == 2) {
    w.bulk(c.argv[1]);
  } else {
    w.simple("PONG");
  }
}

void BrokerNode::client(Ctx& c) {
  resp::Writer w(c.out);
  if (iequals(c.argv[1], "SETNAME") && c.argv.size() == 3) {
    c.session.name = c.argv[2];
    w.simple("OK");
  } else if (iequals(c.argv[1], "GETNAME")) {
    if (c.session.name.empty()) {
      w.null();
    } else {
      w.bulk(c.session.name);
    }
  } else if (iequals(c.argv[1], "ID")) {
    w.integer(static_cast<int64_t>(c.session.id));
  } else if (iequals(c.argv[1], "SETINFO") || iequals(c.argv[1], "NO-EVICT")) {
    w.simple("OK");
  } else {
    w.error("ERR unknown subcommand '" + std::string(c.argv[1]) + "'. Try CLIENT HELP.");
  }
}

void BrokerNode::info(Ctx& c) {
  const Broker& b = *broker_;
  uint64_t partitions = 0, entries = 0, bytes = 0, pending = 0, redeliveries = 0;
  for (const auto& [name, t] : b.topics()) {
    partitions += t->parts.size();
    for (const auto& log : t->parts) {
      entries += log->entries().size();
      bytes += log->bytes();
    }
    for (const auto& [gname, g] : t->groups) {
      pending += g.pending_summary().count;
      redeliveries += g.redeliveries();
    }
  }
  uint64_t subscribers = 0;
  for (const auto& [session, chans] : subscriptions_) subscribers += !chans.empty();
  const int64_t uptime_s = (now_ms() - started_ms_) / 1000;
  const BrokerStats& s = b.stats();
  std::string text = fmt::format(
      "# Server\r\nredis_version:7.0.0\r\nfaultline_version:{}\r\nfaultline_node:broker\r\n"
      "id:{}\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n\r\n"
      "# Clients\r\nconnected_clients:{}\r\nblocked_clients:{}\r\n\r\n"
      "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\r\n"
      "# Broker\r\ntopics:{}\r\npartitions:{}\r\nentries:{}\r\nbytes:{}\r\nfsync:{}\r\n"
      "fsyncs:{}\r\ngroup_commits:{}\r\ngroups:{}\r\nlag:{}\r\npending:{}\r\nredeliveries:{}\r\n"
      "adds:{}\r\nacks:{}\r\ncompactions:{}\r\ncompacted_entries:{}\r\nrecovered_entries:{}\r\n"
      "torn_bytes:{}\r\noffset_gaps:{}\r\npublished:{}\r\npublish_deliveries:{}\r\nsubscribers:{}"
      "\r\n"
      "channels:{}\r\nstorage_failed:{}\r\n",
      FL_VERSION, options_.id, ::getpid(), stats_.tcp_port, uptime_s, stats_.connected_clients,
      blocked_, stats_.total_connections_received, stats_.total_commands_processed,
      b.topics().size(), partitions, entries, bytes, to_string(b.options().fsync), b.fsyncs(),
      commits_, b.group_count(), b.lag(), pending, redeliveries, s.adds, s.acks, s.compactions,
      s.compacted_entries, s.recovered_entries, s.torn_bytes, s.offset_gaps, published_, delivered_,
      subscribers, channels_.size(), failed_ ? 1 : 0);
  if (c.argv.size() > 1) {
    // INFO <section>: only that section (case-insensitive), as Redis.
    std::string want = "# ";
    want += c.argv[1];
    std::string only;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find("\r\n\r\n", pos);
      end = end == std::string::npos ? text.size() : end + 4;
      std::string_view sec(text.data() + pos, end - pos);
      const size_t eol = sec.find("\r\n");
      if (iequals(sec.substr(0, eol), want)) only = sec;
      pos = end;
    }
    if (!iequals(c.argv[1], "all") && !iequals(c.argv[1], "everything")) text = only;
  }
  resp::Writer(c.out).bulk(text);
}

void BrokerNode::park(Ctx& c, std::vector<std::string> topics, int64_t block_ms,
                      std::function<bool(std::string&, bool)> attempt) {
  auto w = std::make_shared<Waiter>();
  w->reply = c.defer();
  w->deadline_ms = block_ms == 0 ? INT64_MAX : now_ms() + block_ms;
  w->attempt = std::move(attempt);
  for (std::string& t : topics) waiters_[std::move(t)].push_back(w);
  ++blocked_;
}

void BrokerNode::wake_all() {
  std::vector<std::string> topics;
  for (const auto& [topic, list] : waiters_) topics.push_back(topic);
  for (auto& topic : topics) wake(std::move(topic));
}

void BrokerNode::wake(std::string topic) {
  auto it = waiters_.find(topic);
  if (it == waiters_.end()) return;
  // Attempts may not add waiters; completing a reply only schedules the connection's writer.
  auto list = it->second;
  for (auto& w : list) {
    if (w->done) continue;
    if (w->reply.finished()) {
      w->done = true;
      --blocked_;
      continue;
    }
    std::string out;
    if (w->attempt(out, false)) {
      w->done = true;
      --blocked_;
      w->reply.complete(std::move(out));
    }
  }
  auto& live = waiters_[topic];
  std::erase_if(live, [](const auto& w) { return w->done; });
  if (live.empty()) waiters_.erase(topic);
}

void BrokerNode::on_tick() {
  const int64_t now = now_ms();
  if (auto r = broker_->tick(now); !r) (void)io_error_reply(r.error());
  // The seeded bug writes acknowledged records late, in tick(): they become visible only then.
  if (broker_->options().ack_before_write) wake_all();
  if (broker_->options().fsync == FsyncPolicy::everysec && now - last_everysec_ms_ >= 1000) {
    last_everysec_ms_ = now;
    commit();
  }
  if (now - last_sweep_ms_ >= 1000) {
    last_sweep_ms_ = now;
    // Forget subscribers whose connection closed (PUBLISH also drops them as it meets them).
    for (auto ch = channels_.begin(); ch != channels_.end();) {
      for (auto s = ch->second.begin(); s != ch->second.end();) {
        if (s->second.open()) {
          ++s;
          continue;
        }
        if (auto sub = subscriptions_.find(s->first); sub != subscriptions_.end()) {
          sub->second.erase(ch->first);
          if (sub->second.empty()) subscriptions_.erase(sub);
        }
        s = ch->second.erase(s);
      }
      ch = ch->second.empty() ? channels_.erase(ch) : std::next(ch);
    }
  }
  const bool retry = now - last_retry_ms_ >= kRetryBlockedMs;
  if (retry) last_retry_ms_ = now;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    for (auto& w : it->second) {
      if (w->done) continue;
      if (w->reply.finished()) {
        w->done = true;
        --blocked_;
        continue;
      }
      const bool expired = now >= w->deadline_ms;
      if (!expired && !retry) continue;
      std::string out;
      if (w->attempt(out, expired)) {
        w->done = true;
        --blocked_;
        w->reply.complete(std::move(out));
      }
    }
    std::erase_if(it->second, [](const auto& w) { return w->done; });
    it = it->second.empty() ? waiters_.erase(it) : std::next(it);
  }
}

}  // namespace fl::broker
