#include "nodes/cache/cache_main.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <optional>
#include <string_view>

#include "common/log.h"
#include "common/units.h"
#include "nodes/cache/cache_node.h"
#include "nodes/common/clock.h"
#include "nodes/common/command_table.h"
#include "nodes/common/node_flags.h"
#include "nodes/common/resp_server.h"

namespace fl::cache {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kProgram = "faultline-cache";

struct Config {
  nodes::ServerOptions server;
  CacheOptions cache;
  std::string dir;
};

Error bad(std::string message) { return Error(errc::invalid_argument, std::move(message)); }

result<std::optional<Config>> parse_args(int argc, char** argv) {
  nodes::ServerFlags server;
  std::string id = "cache", dir;
  std::string policy = "write-through", eviction = "lru", capacity = "64MiB", ttl = "0";
  std::string flush_interval = "100ms", broker, topic = "changes", timeout = "1s";
  int warm = 0;
  size_t flush_batch = 256;
  std::vector<std::string> dbs, bugs;
  po::options_description desc(
      "faultline-cache: the reference cache node (RESP2; read-through cache in front of "
      "faultline-db shards)\n\nOptions");
  nodes::add_server_flags(desc, server);
  desc.add_options()("id", po::value(&id)->default_value(id),
                     "node id: CLIENT SETNAME on DB connections, consumer group cache-<id>")(
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
      "bug", po::value(&bugs)->composing(), "TEST ONLY: enable a seeded bug: skip-invalidation");
  auto run = nodes::parse_flags_or_help(argc, argv, desc,
                                        "faultline-cache --db ID,SHARD,HOST:PORT ... [options]");
  if (!run) return run.error();
  if (!*run) return std::optional<Config>();
  Config cfg;
  if (auto applied = nodes::apply_server_flags(server, cfg.server); !applied) {
    return applied.error();
  }
  cfg.server.pipeline_deferred = true;
  cfg.dir = dir;

  CacheOptions& c = cfg.cache;
  c.id = id;
  if (id.empty()) return bad("--id must not be empty");
  for (const std::string& d : dbs) {
    auto m = nodes::shard_member_flag("db", d);
    if (!m) return m.error();
    c.db.push_back(
        DbMember{std::move(m->id), m->shard, std::move(m->address.host), m->address.port});
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
  auto ttl_d = nodes::duration_flag("ttl", ttl, /*zero_ok=*/true);
  if (!ttl_d) return ttl_d.error();
  c.store.ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*ttl_d).count();
  auto fi = nodes::duration_flag("flush-interval", flush_interval);
  if (!fi) return fi.error();
  c.write_back.interval_ms =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(*fi).count());
  if (flush_batch == 0) return bad("--flush-batch must be positive");
  c.write_back.batch = flush_batch;
  if (!broker.empty()) {
    auto parsed = nodes::host_port_flag("broker", broker);
    if (!parsed) return parsed.error();
    c.broker_host = std::move(parsed->host);
    c.broker_port = parsed->port;
  }
  if (topic.empty()) return bad("--changes-topic must not be empty");
  c.changes_topic = topic;
  if (warm < 0) return bad("--warm must not be negative");
  c.warm = warm;
  auto to = nodes::duration_flag("timeout", timeout);
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
  if (!parsed) return nodes::report_bad_flags(kProgram, parsed.error());
  if (!*parsed) return 0;
  Config cfg = std::move(**parsed);
  if (auto dir = nodes::create_dir_flag(cfg.dir); !dir) {
    return nodes::report_start_failure(kProgram, dir.error());
  }
  nodes::ServerStats stats;
  nodes::CommandTable table;
  nodes::RespServer server(cfg.server, table, stats);
  auto port = server.listen();
  if (!port) return nodes::report_start_failure(kProgram, port.error());
  CacheNode node(cfg.cache, server, stats);
  node.register_commands(table);
  nodes::add_clock_command(table);
  node.start();
  nodes::serve_until_stopped(server, kProgram, cfg.cache.id, cfg.server.host, *port);
  return 0;
}

}  // namespace fl::cache
