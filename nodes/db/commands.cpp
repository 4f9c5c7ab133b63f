#include "nodes/db/commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <iterator>
#include <limits>

#include "common/resp/resp.h"
#include "nodes/common/client_command.h"
#include "nodes/db/glob.h"

#ifndef FL_VERSION
#define FL_VERSION "0.0.0"
#endif

namespace fl::db {
namespace {

using nodes::iequals;

constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
constexpr std::string_view kSyntax = "ERR syntax error";
constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
constexpr int64_t kMaxI64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinI64 = std::numeric_limits<int64_t>::min();

// Strict decimal int64 as Redis's string2ll: optional '-', no '+', no spaces, no leading zeros.
bool parse_int(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  if (s.size() > 1 && s[0] == '-' && s[1] == '0') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_cursor(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

void write_cursor(resp::Writer& w, uint64_t cursor) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, cursor);
  (void)ec;
  w.bulk(std::string_view(buf, static_cast<size_t>(p - buf)));
}

// Parses "[MATCH pattern] [COUNT n]" from argv[first..]. Writes an error and returns false on
// bad input.
bool parse_scan_options(nodes::CommandContext& c, size_t first, size_t cap,
                        std::string_view& pattern, size_t& count) {
  pattern = {};
  count = 10;
  for (size_t i = first; i < c.argv.size(); i += 2) {
    if (i + 1 >= c.argv.size()) {
      c.out.error(kSyntax);
      return false;
    }
    if (iequals(c.argv[i], "match")) {
      pattern = c.argv[i + 1];
    } else if (iequals(c.argv[i], "count")) {
      int64_t n = 0;
      if (!parse_int(c.argv[i + 1], n)) {
        c.out.error(kNotInteger);
        return false;
      }
      if (n < 1) {
        c.out.error(kSyntax);
        return false;
      }
      count = static_cast<size_t>(n);
    } else {
      c.out.error(kSyntax);
      return false;
    }
  }
  if (cap > 0 && count > cap) count = cap;
  return true;
}

// Writes a scan reply: the next cursor and the matching elements.
void scan_reply(resp::Writer& w, uint64_t next, const std::vector<std::string_view>& found) {
  w.array_header(2);
  write_cursor(w, next);
  w.array_header(found.size());
  for (auto s : found) w.bulk(s);
}

struct NamedInfo {
  std::string_view name;
  CommandInfo info;
};

// Every command that touches keys. Keyless commands (PING, INFO, ...) are absent.
constexpr NamedInfo kCommandInfo[] = {
    {"get", {false, 1, 1, 1}},      {"set", {true, 1, 1, 1}},       {"del", {true, 1, -1, 1}},
    {"exists", {false, 1, -1, 1}},  {"incr", {true, 1, 1, 1}},      {"decr", {true, 1, 1, 1}},
    {"incrby", {true, 1, 1, 1}},    {"decrby", {true, 1, 1, 1}},    {"mget", {false, 1, -1, 1}},
    {"mset", {true, 1, -1, 2}},     {"type", {false, 1, 1, 1}},     {"expire", {true, 1, 1, 1}},
    {"pexpire", {true, 1, 1, 1}},   {"pexpireat", {true, 1, 1, 1}}, {"ttl", {false, 1, 1, 1}},
    {"pttl", {false, 1, 1, 1}},     {"persist", {true, 1, 1, 1}},   {"sadd", {true, 1, 1, 1}},
    {"srem", {true, 1, 1, 1}},      {"scard", {false, 1, 1, 1}},    {"sismember", {false, 1, 1, 1}},
    {"smembers", {false, 1, 1, 1}}, {"sscan", {false, 1, 1, 1}},    {"scan", {false, 0, 0, 0}},
    {"dbsize", {false, 0, 0, 0}},   {"flushall", {true, 0, 0, 0}},  {"flushdb", {true, 0, 0, 0}},
};

}  // namespace

const CommandInfo* DbCommands::command_info(std::string_view name) {
  for (const auto& c : kCommandInfo) {
    if (iequals(c.name, name)) return &c.info;
  }
  return nullptr;
}

DbCommands::DbCommands(Store& store, const nodes::ServerStats& server_stats, DbOptions options)
    : store_(store),
      server_stats_(server_stats),
      options_(std::move(options)),
      started_ms_(store.clock().now_ms()) {}

size_t DbCommands::sweep(size_t max) { return store_.sweep(max); }

Entry* DbCommands::lookup_read(std::string_view key) {
  Entry* e = store_.find(key);
  ++(e ? stats_.hits : stats_.misses);
  return e;
}

void DbCommands::register_all(nodes::CommandTable& t) {
  table_ = &t;
  t.add("ping", -1, [this](Ctx& c) { ping(c); });
  t.add("echo", 2, [this](Ctx& c) { echo(c); });
  t.add("get", 2, [this](Ctx& c) { get(c); });
  t.add("set", -3, [this](Ctx& c) { set(c); });
  t.add("del", -2, [this](Ctx& c) { del(c); });
  t.add("exists", -2, [this](Ctx& c) { exists(c); });
  t.add("incr", 2, [this](Ctx& c) { incr_by(c, 1); });
  t.add("decr", 2, [this](Ctx& c) { incr_by(c, -1); });
  t.add("incrby", 3, [this](Ctx& c) { incr_by_arg(c, false); });
  t.add("decrby", 3, [this](Ctx& c) { incr_by_arg(c, true); });
  t.add("mget", -2, [this](Ctx& c) { mget(c); });
  t.add("mset", -3, [this](Ctx& c) { mset(c); });
  t.add("type", 2, [this](Ctx& c) { type(c); });
  t.add("expire", 3, [this](Ctx& c) { expire(c, 1000); });
  t.add("pexpire", 3, [this](Ctx& c) { expire(c, 1); });
  t.add("pexpireat", 3, [this](Ctx& c) { pexpireat(c); });
  t.add("ttl", 2, [this](Ctx& c) { ttl(c, 1000); });
  t.add("pttl", 2, [this](Ctx& c) { ttl(c, 1); });
  t.add("persist", 2, [this](Ctx& c) { persist(c); });
  t.add("sadd", -3, [this](Ctx& c) { sadd(c); });
  t.add("srem", -3, [this](Ctx& c) { srem(c); });
  t.add("scard", 2, [this](Ctx& c) { scard(c); });
  t.add("sismember", 3, [this](Ctx& c) { sismember(c); });
  t.add("smembers", 2, [this](Ctx& c) { smembers(c); });
  t.add("sscan", -3, [this](Ctx& c) { sscan(c); });
  t.add("scan", -2, [this](Ctx& c) { scan(c); });
  t.add("dbsize", 1, [this](Ctx& c) { dbsize(c); });
  t.add("digest", 1, [this](Ctx& c) { digest(c); });
  t.add("flushall", -1, [this](Ctx& c) { flushall(c); });
  t.add("flushdb", -1, [this](Ctx& c) { flushall(c); });
  t.add("info", -1, [this](Ctx& c) { info(c); });
  t.add("role", 1, [this](Ctx& c) { role(c); });
  t.add("quit", -1, [this](Ctx& c) { quit(c); });
  t.add("shutdown", -1, [this](Ctx& c) { shutdown(c); });
  t.add("command", -1, [this](Ctx& c) { command(c); });
  t.add("config", -2, [this](Ctx& c) { config(c); });
  t.add("client", -2, nodes::client_command);
  t.add("select", 2, [this](Ctx& c) { select(c); });
}

void DbCommands::ping(Ctx& c) {
  if (c.argv.size() > 2) {
    c.out.error("ERR wrong number of arguments for 'ping' command");
  } else if (c.argv.size() == 2) {
    c.out.bulk(c.argv[1]);
  } else {
    c.out.simple("PONG");
  }
}

void DbCommands::echo(Ctx& c) { c.out.bulk(c.argv[1]); }

void DbCommands::get(Ctx& c) {
  Entry* e = lookup_read(c.argv[1]);
  if (!e) return c.out.null();
  if (const std::string* s = e->string()) return c.out.bulk(*s);
  c.out.error(kWrongType);
}

void DbCommands::set(Ctx& c) {
  enum class Cond { none, nx, xx };
  enum class Exp { none, ex, px, exat, pxat, keep };
  Cond cond = Cond::none;
  Exp exp = Exp::none;
  int64_t exp_value = 0;
  bool want_get = false;
  bool has_ifeq = false;
  std::string_view ifeq;

  const auto& argv = c.argv;
  for (size_t i = 3; i < argv.size(); ++i) {
    const std::string_view opt = argv[i];
    const bool has_next = i + 1 < argv.size();
    if (iequals(opt, "nx") && cond == Cond::none && !has_ifeq) {
      cond = Cond::nx;
    } else if (iequals(opt, "xx") && cond == Cond::none && !has_ifeq) {
      cond = Cond::xx;
    } else if (iequals(opt, "get")) {
      want_get = true;
    } else if (iequals(opt, "keepttl") && exp == Exp::none) {
      exp = Exp::keep;
    } else if (has_next && exp == Exp::none &&
               (iequals(opt, "ex") || iequals(opt, "px") || iequals(opt, "exat") ||
                iequals(opt, "pxat"))) {
      exp = iequals(opt, "ex")     ? Exp::ex
            : iequals(opt, "px")   ? Exp::px
            : iequals(opt, "exat") ? Exp::exat
                                   : Exp::pxat;
      if (!parse_int(argv[++i], exp_value)) return c.out.error(kNotInteger);
    } else if (has_next && iequals(opt, "ifeq") && cond == Cond::none && !has_ifeq) {
      has_ifeq = true;
      ifeq = argv[++i];
    } else {
      return c.out.error(kSyntax);
    }
  }

  TimeMs expire_at = 0;
  if (exp != Exp::none && exp != Exp::keep) {
    const TimeMs now = store_.clock().now_ms();
    bool ok = exp_value > 0;
    switch (exp) {
      case Exp::ex:
        ok = ok && exp_value <= (kMaxI64 - now) / 1000;
        expire_at = ok ? now + exp_value * 1000 : 0;
        break;
      case Exp::px:
        ok = ok && exp_value <= kMaxI64 - now;
        expire_at = ok ? now + exp_value : 0;
        break;
      case Exp::exat:
        ok = ok && exp_value <= kMaxI64 / 1000;
        expire_at = ok ? exp_value * 1000 : 0;
        break;
      default:
        expire_at = exp_value;
        break;
    }
    if (!ok) return c.out.error("ERR invalid expire time in 'set' command");
  }

  const std::string_view key = argv[1];
  const std::string_view value = argv[2];
  Entry* e = store_.find(key);
  if (e && (want_get || has_ifeq) && e->kind() != Kind::string) return c.out.error(kWrongType);

  bool apply = true;
  if (cond == Cond::nx && e) apply = false;
  if (cond == Cond::xx && !e) apply = false;
  if (has_ifeq && (!e || *e->string() != ifeq)) apply = false;

  if (want_get) {
    // The reply is the old value whether or not the write happens; write it before replacing.
    if (e) {
      c.out.bulk(*e->string());
    } else {
      c.out.null();
    }
  }
  if (apply) {
    if (!e) {
      e = &store_.insert(key, std::string(value));
    } else if (std::string* s = e->string()) {
      s->assign(value);  // reuses the old value's capacity
    } else {
      e->value = std::string(value);
    }
    if (exp != Exp::keep) store_.set_expire(*e, expire_at);
  }
  if (!want_get) {
    if (apply) {
      c.out.simple("OK");
    } else {
      c.out.null();
    }
  }
}

void DbCommands::del(Ctx& c) {
  int64_t n = 0;
  for (size_t i = 1; i < c.argv.size(); ++i) n += store_.erase(c.argv[i]) ? 1 : 0;
  c.out.integer(n);
}

void DbCommands::exists(Ctx& c) {
  int64_t n = 0;
  for (size_t i = 1; i < c.argv.size(); ++i) n += store_.find(c.argv[i]) ? 1 : 0;
  c.out.integer(n);
}

void DbCommands::incr_by_arg(Ctx& c, bool negate) {
  int64_t delta = 0;
  if (!parse_int(c.argv[2], delta)) return c.out.error(kNotInteger);
  if (negate) {
    if (delta == kMinI64) return c.out.error("ERR decrement would overflow");
    delta = -delta;
  }
  incr_by(c, delta);
}

void DbCommands::incr_by(Ctx& c, int64_t delta) {
  Entry* e = store_.find(c.argv[1]);
  int64_t cur = 0;
  if (e) {
    const std::string* s = e->string();
    if (!s) return c.out.error(kWrongType);
    if (!parse_int(*s, cur)) return c.out.error(kNotInteger);
  }
  if ((delta < 0 && cur < 0 && delta < kMinI64 - cur) ||
      (delta > 0 && cur > 0 && delta > kMaxI64 - cur)) {
    return c.out.error(kOverflow);
  }
  cur += delta;
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, cur);
  (void)ec;
  const std::string_view text(buf, static_cast<size_t>(p - buf));
  if (e) {
    e->string()->assign(text);  // keeps the key's TTL, as Redis does
  } else {
    store_.insert(c.argv[1], std::string(text));
  }
  c.out.integer(cur);
}

void DbCommands::mget(Ctx& c) {
  c.out.array_header(c.argv.size() - 1);
  for (size_t i = 1; i < c.argv.size(); ++i) {
    Entry* e = lookup_read(c.argv[i]);
    const std::string* s = e ? e->string() : nullptr;
    if (s) {
      c.out.bulk(*s);
    } else {
      c.out.null();
    }
  }
}

void DbCommands::mset(Ctx& c) {
  if (c.argv.size() % 2 == 0)
    return c.out.error("ERR wrong number of arguments for 'mset' command");
  for (size_t i = 1; i + 1 < c.argv.size(); i += 2) {
    Entry* e = store_.find(c.argv[i]);
    if (!e) {
      store_.insert(c.argv[i], std::string(c.argv[i + 1]));
      continue;
    }
    if (std::string* s = e->string()) {
      s->assign(c.argv[i + 1]);
    } else {
      e->value = std::string(c.argv[i + 1]);
    }
    store_.set_expire(*e, 0);
  }
  c.out.simple("OK");
}

void DbCommands::type(Ctx& c) {
  Entry* e = store_.find(c.argv[1]);
  c.out.simple(!e ? "none" : e->kind() == Kind::string ? "string" : "set");
}

void DbCommands::expire(Ctx& c, int64_t unit_ms) {
  int64_t n = 0;
  if (!parse_int(c.argv[2], n)) return c.out.error(kNotInteger);
  const TimeMs now = store_.clock().now_ms();
  if ((n > 0 && n > (kMaxI64 - now) / unit_ms) || (n < 0 && n < (kMinI64 + now) / unit_ms)) {
    return c.out.error(fmt::format("ERR invalid expire time in '{}' command",
                                   unit_ms == 1 ? "pexpire" : "expire"));
  }
  Entry* e = store_.find(c.argv[1]);
  if (!e) return c.out.integer(0);
  const TimeMs at = now + n * unit_ms;
  if (at <= now) {
    store_.erase(*e);
  } else {
    store_.set_expire(*e, at);
  }
  c.out.integer(1);
}

// PEXPIREAT key ms: what EXPIRE and PEXPIRE become in the replication log, so every replica
// expires the key at the same absolute time.
void DbCommands::pexpireat(Ctx& c) {
  int64_t at = 0;
  if (!parse_int(c.argv[2], at)) return c.out.error(kNotInteger);
  Entry* e = store_.find(c.argv[1]);
  if (!e) return c.out.integer(0);
  if (at <= store_.clock().now_ms()) {
    store_.erase(*e);
  } else {
    store_.set_expire(*e, at);
  }
  c.out.integer(1);
}

void DbCommands::ttl(Ctx& c, int64_t unit_ms) {
  Entry* e = store_.find(c.argv[1]);
  if (!e) return c.out.integer(-2);
  if (e->expire_at == 0) return c.out.integer(-1);
  const TimeMs left = e->expire_at - store_.clock().now_ms();
  c.out.integer((left + unit_ms / 2) / unit_ms);
}

void DbCommands::persist(Ctx& c) {
  Entry* e = store_.find(c.argv[1]);
  if (!e || e->expire_at == 0) return c.out.integer(0);
  store_.set_expire(*e, 0);
  c.out.integer(1);
}

void DbCommands::sadd(Ctx& c) {
  Entry* e = store_.find(c.argv[1]);
  if (e && e->kind() != Kind::set) return c.out.error(kWrongType);
  if (!e) e = &store_.insert_set(c.argv[1]);
  Set& set = *e->set();
  int64_t added = 0;
  for (size_t i = 2; i < c.argv.size(); ++i) added += set_add(set, c.argv[i]) ? 1 : 0;
  c.out.integer(added);
}

void DbCommands::srem(Ctx& c) {
  Entry* e = store_.find(c.argv[1]);
  if (!e) return c.out.integer(0);
  Set* set = e->set();
  if (!set) return c.out.error(kWrongType);
  int64_t removed = 0;
  for (size_t i = 2; i < c.argv.size(); ++i) removed += set_remove(*set, c.argv[i]) ? 1 : 0;
  if (set->empty()) store_.erase(*e);  // an empty set does not exist, as in Redis
  c.out.integer(removed);
}

void DbCommands::scard(Ctx& c) {
  Entry* e = lookup_read(c.argv[1]);
  if (!e) return c.out.integer(0);
  const Set* set = e->set();
  if (!set) return c.out.error(kWrongType);
  c.out.integer(static_cast<int64_t>(set->size()));
}

void DbCommands::sismember(Ctx& c) {
  Entry* e = lookup_read(c.argv[1]);
  if (!e) return c.out.integer(0);
  const Set* set = e->set();
  if (!set) return c.out.error(kWrongType);
  c.out.integer(set_contains(*set, c.argv[2]) ? 1 : 0);
}

void DbCommands::smembers(Ctx& c) {
  Entry* e = lookup_read(c.argv[1]);
  if (!e) return c.out.array_header(0);
  const Set* set = e->set();
  if (!set) return c.out.error(kWrongType);
  c.out.array_header(set->size());
  for (const auto& m : *set) c.out.bulk(m.str);
}

void DbCommands::sscan(Ctx& c) {
  uint64_t cursor = 0;
  if (!parse_cursor(c.argv[2], cursor)) return c.out.error("ERR invalid cursor");
  std::string_view pattern;
  size_t count = 0;
  if (!parse_scan_options(c, 3, options_.scan_count_cap, pattern, count)) return;
  Entry* e = lookup_read(c.argv[1]);
  std::vector<std::string_view> found;
  if (!e) return scan_reply(c.out, 0, found);
  const Set* set = e->set();
  if (!set) return c.out.error(kWrongType);
  const uint64_t next = Store::scan_set(*set, cursor, count, [&](const std::string& m) {
    if (pattern.empty() || glob_match(pattern, m)) found.push_back(m);
  });
  scan_reply(c.out, next, found);
}

void DbCommands::scan(Ctx& c) {
  uint64_t cursor = 0;
  if (!parse_cursor(c.argv[1], cursor)) return c.out.error("ERR invalid cursor");
  std::string_view pattern;
  size_t count = 0;
  if (!parse_scan_options(c, 2, options_.scan_count_cap, pattern, count)) return;
  std::vector<std::string_view> found;
  const uint64_t next = store_.scan(cursor, count, [&](const std::string& k) {
    if (pattern.empty() || glob_match(pattern, k)) found.push_back(k);
  });
  scan_reply(c.out, next, found);
}

void DbCommands::dbsize(Ctx& c) { c.out.integer(static_cast<int64_t>(store_.size())); }

void DbCommands::digest(Ctx& c) { c.out.bulk(fmt::format("{:016x}", store_.digest())); }

void DbCommands::flushall(Ctx& c) {
  if (c.argv.size() > 2 ||
      (c.argv.size() == 2 && !iequals(c.argv[1], "sync") && !iequals(c.argv[1], "async"))) {
    return c.out.error(kSyntax);
  }
  store_.clear();
  c.out.simple("OK");
}

void DbCommands::info(Ctx& c) {
  static constexpr std::string_view kSections[] = {
      "server", "clients", "stats", "replication", "persistence", "keyspace", "changes"};
  bool want[std::size(kSections)] = {};
  if (c.argv.size() == 1) {
    for (bool& w : want) w = true;
  }
  for (size_t i = 1; i < c.argv.size(); ++i) {
    const std::string_view a = c.argv[i];
    for (size_t s = 0; s < std::size(kSections); ++s) {
      if (iequals(a, "all") || iequals(a, "default") || iequals(a, "everything") ||
          iequals(a, kSections[s])) {
        want[s] = true;
      }
    }
  }
  const TimeMs now = store_.clock().now_ms();
  const int64_t uptime_s = (now - started_ms_) / 1000;
  std::string text;
  auto out = std::back_inserter(text);
  auto section = [&](size_t s, std::string_view title) {
    if (!want[s]) return false;
    if (!text.empty()) text += "\r\n";
    fmt::format_to(out, "# {}\r\n", title);
    return true;
  };
  if (section(0, "Server")) {
    // redis_version is reported because tools (redis-cli, client libraries) read it.
    fmt::format_to(out,
                   "redis_version:7.0.0\r\nfaultline_version:{}\r\nnode_kind:db\r\nid:{}\r\n"
                   "process_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\n",
                   FL_VERSION, options_.id, ::getpid(), server_stats_.tcp_port, uptime_s,
                   uptime_s / 86400);
  }
  if (section(1, "Clients")) {
    fmt::format_to(out, "connected_clients:{}\r\n", server_stats_.connected_clients);
  }
  if (section(2, "Stats")) {
    fmt::format_to(out,
                   "total_connections_received:{}\r\ntotal_commands_processed:{}\r\n"
                   "rejected_connections:{}\r\nexpired_keys:{}\r\nkeyspace_hits:{}\r\n"
                   "keyspace_misses:{}\r\n",
                   server_stats_.total_connections_received, server_stats_.total_commands_processed,
                   server_stats_.rejected_connections, store_.expired_total(), stats_.hits,
                   stats_.misses);
  }
  if (section(3, "Replication")) {
    const ReplicationStatus r =
        replication_ ? replication_->replication_status() : ReplicationStatus{};
    fmt::format_to(out,
                   "role:{}\r\nterm:{}\r\nshard:{}\r\nmaster_id:{}\r\nmaster_host:{}\r\n"
                   "master_port:{}\r\n",
                   r.role, r.term, r.shard, r.master_id, r.master_host, r.master_port);
    if (r.role != "master") fmt::format_to(out, "master_link_status:{}\r\n", r.slave_state);
    fmt::format_to(out,
                   "master_repl_offset:{}\r\ncommit_offset:{}\r\napplied_offset:{}\r\n"
                   "connected_slaves:{}\r\n",
                   r.last_index, r.commit, r.applied, r.slaves.size());
    for (size_t i = 0; i < r.slaves.size(); ++i) {
      const ReplicaStatus& s = r.slaves[i];
      fmt::format_to(out, "slave{}:id={},addr={},offset={},lag_ms={}\r\n", i, s.id, s.addr,
                     s.offset, s.lag_ms);
    }
    fmt::format_to(out, "lease_ms_left:{}\r\n", r.lease_ms_left);
  }
  if (replication_ && section(4, "Persistence")) text += replication_->persistence_info();
  if (section(5, "Keyspace") && store_.size() > 0) {
    fmt::format_to(out, "db0:keys={},expires={},avg_ttl=0\r\n", store_.size(), store_.expires());
  }
  if (replication_) {
    if (std::string changes = replication_->changes_info(); !changes.empty()) {
      if (section(6, "Changes")) text += changes;
    }
  }
  c.out.bulk(text);
}

// As Redis's ROLE, with the term appended as the last element.
void DbCommands::role(Ctx& c) {
  const ReplicationStatus r =
      replication_ ? replication_->replication_status() : ReplicationStatus{};
  if (r.role == "master") {
    c.out.array_header(4);
    c.out.bulk("master");
    c.out.integer(static_cast<int64_t>(r.last_index));
    c.out.array_header(r.slaves.size());
    for (const ReplicaStatus& s : r.slaves) {
      const size_t colon = s.addr.rfind(':');
      c.out.array_header(3);
      c.out.bulk(colon == std::string::npos ? s.addr : s.addr.substr(0, colon));
      c.out.bulk(colon == std::string::npos ? "0" : s.addr.substr(colon + 1));
      c.out.bulk(std::to_string(s.offset));
    }
  } else {
    c.out.array_header(6);
    c.out.bulk("slave");
    c.out.bulk(r.master_host);
    c.out.integer(r.master_port);
    c.out.bulk(r.slave_state);
    c.out.integer(static_cast<int64_t>(r.applied));
  }
  c.out.integer(static_cast<int64_t>(r.term));
}

void DbCommands::quit(Ctx& c) {
  c.session.after = nodes::AfterReply::close;
  c.out.simple("OK");
}

void DbCommands::shutdown(Ctx& c) {
  for (size_t i = 1; i < c.argv.size(); ++i) {
    const std::string_view a = c.argv[i];
    if (iequals(a, "abort")) return c.out.error("ERR No shutdown in progress.");
    if (!iequals(a, "nosave") && !iequals(a, "save") && !iequals(a, "now") &&
        !iequals(a, "force")) {
      return c.out.error(kSyntax);
    }
  }
  // No reply: like Redis, the connection closes as the server exits.
  c.session.after = nodes::AfterReply::shutdown;
}

void DbCommands::command(Ctx& c) {
  if (c.argv.size() == 1 || iequals(c.argv[1], "docs") || iequals(c.argv[1], "info")) {
    // Clients (redis-cli on connect) ask for command docs; an empty answer makes them fall
    // back to their built-in help.
    return c.out.array_header(0);
  }
  if (iequals(c.argv[1], "count")) {
    return c.out.integer(static_cast<int64_t>(table_ ? table_->size() : 0));
  }
  c.out.error(fmt::format("ERR unknown subcommand '{}'. Try COMMAND HELP.", c.argv[1]));
}

void DbCommands::config(Ctx& c) {
  if (iequals(c.argv[1], "get")) {
    if (c.argv.size() < 3)
      return c.out.error("ERR wrong number of arguments for 'config|get' command");
    std::vector<const std::pair<std::string, std::string>*> found;
    for (const auto& kv : options_.config) {
      for (size_t i = 2; i < c.argv.size(); ++i) {
        if (glob_match(c.argv[i], kv.first, true)) {
          found.push_back(&kv);
          break;
        }
      }
    }
    c.out.array_header(found.size() * 2);
    for (const auto* kv : found) {
      c.out.bulk(kv->first);
      c.out.bulk(kv->second);
    }
    return;
  }
  if (iequals(c.argv[1], "resetstat")) {
    stats_ = {};
    return c.out.simple("OK");
  }
  if (iequals(c.argv[1], "set"))
    return c.out.error("ERR CONFIG SET is not supported by faultline-db");
  c.out.error(fmt::format("ERR unknown subcommand '{}'. Try CONFIG HELP.", c.argv[1]));
}

void DbCommands::select(Ctx& c) {
  int64_t db = 0;
  if (!parse_int(c.argv[1], db)) return c.out.error(kNotInteger);
  if (db != 0) return c.out.error("ERR DB index is out of range");
  c.out.simple("OK");
}

}  // namespace fl::db
