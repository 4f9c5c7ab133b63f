#include "nodes/cache/cache_main.h"

#include <fmt/core.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "common/log.h"
#include "common/units.h"
#include "nodes/cache/cache_node.h"
#include "nodes/common/command_table.h"
#include "nodes/common/resp_server.h"

namespace fl::cache {
namespace {

namespace po = boost::program_options;

constexpr int kExitBadUsage = 3;

struct Config {
  nodes::ServerOptions server;
  CacheOptions cache;
  std::string dir;
};

Error bad(std::string message) { return Error(errc::invalid_argument, std::move(message)); }

// "ID,SHARD,HOST:PORT", as faultline-db's --member.
result<DbMember> parse_db(const std::string& text) {
  const auto fail = [&](std::string_view why) {
    return bad(fmt::format("--db '{}': {} (want ID,SHARD,HOST:PORT)", text, why));
  };
  const size_t c1 = text.find(',');
  const size_t c2 = c1 == std::string::npos ? c1 : text.find(',', c1 + 1);
  if (c2 == std::string::npos) return fail("missing fields");
  DbMember m;
  m.id = text.substr(0, c1);
  if (m.id.empty()) return fail("empty id");
  const std::string shard = text.substr(c1 + 1, c2 - c1 - 1);
  const std::string addr = text.substr(c2 + 1);
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) return fail("address without host:port");
  m.host = addr.substr(0, colon);
  try {
    size_t used = 0;
    const long s = std::stol(shard, &used);
    if (used != shard.size() || s < 0 || s > 1'000'000) return fail("bad shard");
    m.shard = static_cast<int>(s);
    const std::string port = addr.substr(colon + 1);
    const long p = std::stol(port, &used);
    if (used != port.size() || p <= 0 || p > 65535) return fail("bad port");
    m.port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return fail("bad number");
  }
  return m;
}

result<Duration> parse_positive(std::string_view flag, const std::string& text, bool zero_ok) {
  auto d = parse_duration(text);
  if (!d) return bad(fmt::format("--{}: {}", flag, d.error().message));
  if (!zero_ok && d->count() <= 0) return bad(fmt::format("--{} must be positive", flag));
  return *d;
}

result<std::optional<Config>> parse_args(int argc, char** argv) {
  std::string host = "127.0.0.1", id = "cache", dir, log_level = "info", idle = "0";
  std::string policy = "write-through", eviction = "lru", capacity = "64MiB", ttl = "0";
  std::string flush_interval = "100ms", broker, topic = "changes", timeout = "1s";
  int port = 6379, warm = 0;
  size_t flush_batch = 256;
  uint64_t max_clients = 10000;
  std::vector<std::string> dbs, bugs;
  po::options_description desc(
      "faultline-cache: the reference cache node (RESP2; read-through cache in front of "
      "faultline-db shards)\n\nOptions");
  desc.add_options()("help,h", "print this help and exit")(
      "id", po::value(&id)->default_value(id), "node id: CLIENT SETNAME on DB connections, "
      "consumer group cache-<id>")("host", po::value(&host)->default_value(host),
                                   "address to listen on")(
      "port", po::value(&port)->default_value(port), "TCP port; 0 picks a free port")(
      "dir", po::value(&dir), "data directory (created; the cache keeps nothing on disk)")(
      "db", po::value(&dbs)->composing(),
      "ID,SHARD,HOST:PORT of every DB node (repeated; same form as faultline-db --member)")(
      "write-policy", po::value(&policy)->default_value(policy),
      "write-through|write-around|write-back")(
      "eviction", po::value(&eviction)->default_value(eviction), "lru|lfu")(
      "capacity", po::value(&capacity)->default_value(capacity),
      "bytes of keys + values + 128 bytes per entry (e.g. 64MiB)")(
      "ttl", po::value(&ttl)->default_value(ttl), "lifetime of cached entries; 0 = none")(
      "flush-interval", po::value(&flush_interval)->default_value(flush_interval),
      "write-back: longest a write waits for its flush")(
      "flush-batch", po::value(&flush_batch)->default_value(flush_batch),
      "write-back: keys per flush batch")("broker", po::value(&broker),
                                          "HOST:PORT of the broker (invalidation feed)")(
      "changes-topic", po::value(&topic)->default_value(topic), "topic of the DB's change events")(
      "warm", po::value(&warm)->default_value(warm),
      "on start, fill the keys of the last N change events")(
      "timeout", po::value(&timeout)->default_value(timeout), "deadline of one DB request")(
      "max-clients", po::value(&max_clients)->default_value(max_clients),
      "most simultaneous clients")("idle-timeout", po::value(&idle)->default_value(idle),
                                   "close clients idle this long; 0 disables")(
      "log-level", po::value(&log_level)->default_value(log_level),
      "trace|debug|info|warn|error|off")(
      "bug", po::value(&bugs)->composing(), "TEST ONLY: enable a seeded bug: skip-invalidation");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(e.what());
  }
  if (vm.count("help")) {
    std::cout << "usage: faultline-cache --db ID,SHARD,HOST:PORT ... [options]\n\n"
              << desc << '\n';
    return std::optional<Config>();
  }
  Config cfg;
  if (port < 0 || port > 65535) return bad(fmt::format("--port {} is out of range", port));
  log::Level level{};
  if (!log::parse_level(log_level, level)) {
    return bad(fmt::format("--log-level: unknown level '{}'", log_level));
  }
  log::set_level(level);
  cfg.server.host = host;
  cfg.server.port = static_cast<uint16_t>(port);
  cfg.server.pipeline_deferred = true;
  if (max_clients == 0) return bad("--max-clients must be positive");
  cfg.server.max_clients = max_clients;
  auto idle_d = parse_positive("idle-timeout", idle, true);
  if (!idle_d) return idle_d.error();
  cfg.server.idle_timeout = *idle_d;
  cfg.dir = dir;

  CacheOptions& c = cfg.cache;
  c.id = id;
  if (id.empty()) return bad("--id must not be empty");
  for (const std::string& d : dbs) {
    auto m = parse_db(d);
    if (!m) return m.error();
    c.db.push_back(std::move(*m));
  }
  if (auto why = validate_members(c.db); !why.empty()) return bad("--db: " + why);
  if (!parse_write_policy(policy, c.policy)) {
    return bad(fmt::format("--write-policy: '{}' is not write-through, write-around or write-back",
                           policy));
  }
  if (eviction == "tinylfu") {
    return bad(
        "--eviction tinylfu is not offered: it did not beat lfu under zipf + scans (see "
        "docs/reference-cache.md)");
  }
  if (!parse_eviction(eviction, c.store.eviction)) {
    return bad(fmt::format("--eviction: '{}' is not lru or lfu", eviction));
  }
  auto cap = parse_size(capacity);
  if (!cap) return bad("--capacity: " + cap.error().message);
  if (*cap == 0) return bad("--capacity must be positive");
  c.store.capacity = *cap;
  auto ttl_d = parse_positive("ttl", ttl, true);
  if (!ttl_d) return ttl_d.error();
  c.store.ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*ttl_d).count();
  auto fi = parse_positive("flush-interval", flush_interval, false);
  if (!fi) return fi.error();
  c.write_back.interval_ms =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(*fi).count());
  if (flush_batch == 0) return bad("--flush-batch must be positive");
  c.write_back.batch = flush_batch;
  if (!broker.empty()) {
    const size_t colon = broker.rfind(':');
    if (colon == std::string::npos || colon == 0) return bad("--broker: want HOST:PORT");
    c.broker_host = broker.substr(0, colon);
    try {
      size_t used = 0;
      const std::string p = broker.substr(colon + 1);
      const long v = std::stol(p, &used);
      if (used != p.size() || v <= 0 || v > 65535) return bad("--broker: bad port");
      c.broker_port = static_cast<uint16_t>(v);
    } catch (const std::exception&) {
      return bad("--broker: bad port");
    }
  }
  if (topic.empty()) return bad("--changes-topic must not be empty");
  c.changes_topic = topic;
  if (warm < 0) return bad("--warm must not be negative");
  c.warm = warm;
  auto to = parse_positive("timeout", timeout, false);
  if (!to) return to.error();
  c.timeout = *to;
  for (const std::string& b : bugs) {
    if (b != "skip-invalidation") return bad(fmt::format("--bug: unknown bug '{}'", b));
    c.bug_skip_invalidation = true;
  }
  return std::optional<Config>(std::move(cfg));
}

}  // namespace

int cache_main(int argc, char** argv) {
  auto parsed = parse_args(argc, argv);
  if (!parsed) {
    std::cerr << "faultline-cache: " << parsed.error().message
              << "\nTry 'faultline-cache --help'.\n";
    return kExitBadUsage;
  }
  if (!*parsed) return 0;
  Config cfg = std::move(**parsed);
  if (!cfg.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cfg.dir, ec);
    if (ec) {
      std::cerr << "faultline-cache: cannot create --dir '" << cfg.dir << "': " << ec.message()
                << '\n';
      return kExitBadUsage;
    }
  }
  nodes::ServerStats stats;
  nodes::CommandTable table;
  nodes::RespServer server(cfg.server, table, stats);
  auto port = server.listen();
  if (!port) {
    std::cerr << "faultline-cache: " << port.error().message << '\n';
    return kExitBadUsage;
  }
  CacheNode node(cfg.cache, server, stats);
  node.register_commands(table);
  node.start();
  std::printf("faultline-cache %s ready on %s:%u\n", cfg.cache.id.c_str(),
              cfg.server.host.c_str(), static_cast<unsigned>(*port));
  std::fflush(stdout);
  server.run();
  log::info("faultline-cache {} stopped", cfg.cache.id);
  return 0;
}

}  // namespace fl::cache
