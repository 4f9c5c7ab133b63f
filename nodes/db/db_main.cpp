#include "nodes/db/db_main.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <tuple>
#include <vector>

#include "common/log.h"
#include "common/units.h"
#include "nodes/common/command_table.h"
#include "nodes/common/resp_server.h"
#include "nodes/db/cluster.h"
#include "nodes/db/wal.h"

namespace fl::db {
namespace {

namespace po = boost::program_options;

constexpr int kExitBadUsage = 3;
struct Config {
  nodes::ServerOptions server;
  ClusterOptions cluster;
};

// "ID,SHARD,HOST:PORT".
result<ShardMember> parse_member(const std::string& text) {
  const auto bad = [&](std::string_view why) {
    return Error(errc::invalid_argument,
                 fmt::format("--member '{}': {} (want ID,SHARD,HOST:PORT)", text, why));
  };
  const size_t c1 = text.find(',');
  const size_t c2 = c1 == std::string::npos ? c1 : text.find(',', c1 + 1);
  if (c2 == std::string::npos) return bad("missing fields");
  ShardMember m;
  m.id = text.substr(0, c1);
  if (m.id.empty()) return bad("empty id");
  const std::string shard = text.substr(c1 + 1, c2 - c1 - 1);
  const std::string addr = text.substr(c2 + 1);
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("address without host:port");
  m.host = addr.substr(0, colon);
  try {
    size_t used = 0;
    const long s = std::stol(shard, &used);
    if (used != shard.size() || s < 0 || s > 1'000'000) return bad("bad shard");
    m.shard = static_cast<int>(s);
    const std::string port = addr.substr(colon + 1);
    const long p = std::stol(port, &used);
    if (used != port.size() || p <= 0 || p > 65535) return bad("bad port");
    m.port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return bad("bad number");
  }
  return m;
}

result<int64_t> parse_ms(std::string_view flag, const std::string& text) {
  auto d = parse_duration(text);
  if (!d) return Error(errc::invalid_argument, fmt::format("--{}: {}", flag, d.error().message));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
  if (ms <= 0) return Error(errc::invalid_argument, fmt::format("--{} must be positive", flag));
  return ms;
}

// Parses the command line. Returns nullopt after printing --help; an Error for bad flags.
result<std::optional<Config>> parse_args(int argc, char** argv) {
  std::string host = "127.0.0.1", max_bulk = "512MiB", idle = "0", log_level = "info";
  std::string dir, id = "db", broker, changes_topic = "changes";
  int port = 6379;
  int shard = 0;
  std::vector<std::string> members, bugs;
  std::string replication = "sync", reads = "master", fsync = "everysec";
  std::string heartbeat = "50ms", election_timeout = "300ms", lease = "250ms";
  std::string quorum_timeout = "500ms";
  int quorum_n = 3, quorum_w = 2, quorum_r = 2;
  uint64_t snapshot_every = 100000, seed = 1;
  uint64_t max_clients = 10000;
  size_t scan_count = 1000;
  po::options_description desc(
      "faultline-db: the reference database node (RESP2; sharded, replicated, durable)\n\n"
      "Options");
  desc.add_options()("help,h", "print this help and exit")(
      "host", po::value(&host)->default_value(host), "address to listen on")(
      "port", po::value(&port)->default_value(port), "TCP port; 0 picks a free port")(
      "dir", po::value(&dir), "data directory (created): write-ahead log and snapshots")(
      "id", po::value(&id)->default_value(id), "node id, reported by INFO")(
      "max-bulk", po::value(&max_bulk)->default_value(max_bulk),
      "largest bulk string a client may send (e.g. 512MiB)")(
      "max-clients", po::value(&max_clients)->default_value(max_clients),
      "most simultaneous clients")("idle-timeout", po::value(&idle)->default_value(idle),
                                   "close clients idle this long (e.g. 30s); 0 disables")(
      "scan-count", po::value(&scan_count)->default_value(scan_count), "cap on SCAN/SSCAN COUNT")(
      "log-level", po::value(&log_level)->default_value(log_level),
      "trace|debug|info|warn|error|off")("shard", po::value(&shard)->default_value(shard),
                                         "this node's shard")(
      "member", po::value(&members)->composing(),
      "ID,SHARD,HOST:PORT of every node of the cluster, this one included (repeated); none = "
      "standalone")("replication", po::value(&replication)->default_value(replication),
                    "async|sync|quorum")(
      "reads", po::value(&reads)->default_value(reads),
      "master|slaves|any: who serves reads (slaves/any may be stale)")(
      "fsync", po::value(&fsync)->default_value(fsync), "always|everysec|never")(
      "heartbeat", po::value(&heartbeat)->default_value(heartbeat), "master heartbeat period")(
      "election-timeout", po::value(&election_timeout)->default_value(election_timeout),
      "silence after which a slave starts an election (randomized up to 2x)")(
      "lease", po::value(&lease)->default_value(lease),
      "master lease; must be shorter than the election timeout")(
      "quorum-n", po::value(&quorum_n)->default_value(quorum_n), "quorum mode: replicas per key")(
      "quorum-w", po::value(&quorum_w)->default_value(quorum_w), "quorum mode: write acks")(
      "quorum-r", po::value(&quorum_r)->default_value(quorum_r), "quorum mode: read answers")(
      "quorum-timeout", po::value(&quorum_timeout)->default_value(quorum_timeout),
      "quorum mode: -NOQUORUM after this")(
      "snapshot-every", po::value(&snapshot_every)->default_value(snapshot_every),
      "log entries between snapshots (0 disables)")("seed", po::value(&seed)->default_value(seed),
                                                    "seed of election jitter")(
      "broker", po::value(&broker),
      "HOST:PORT of the broker the master publishes change events to (async/sync modes)")(
      "changes-topic", po::value(&changes_topic)->default_value(changes_topic),
      "topic (stream) of the change events")(
      "bug", po::value(&bugs)->composing(),
      "TEST ONLY: enable a seeded bug (repeated): ack-before-majority, ack-before-log, "
      "quorum-read-one, no-fencing");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Error(errc::invalid_argument, e.what());
  }
  if (vm.count("help")) {
    std::cout << "usage: faultline-db [options]\n\n" << desc << '\n';
    return std::optional<Config>();
  }
  Config cfg;
  if (port < 0 || port > 65535) {
    return Error(errc::invalid_argument, fmt::format("--port {} is out of range 0..65535", port));
  }
  auto bulk = parse_size(max_bulk);
  if (!bulk) return Error(errc::invalid_argument, "--max-bulk: " + bulk.error().message);
  if (*bulk == 0) return Error(errc::invalid_argument, "--max-bulk must be positive");
  Duration idle_timeout{0};
  if (idle != "0") {
    auto d = parse_duration(idle);
    if (!d) return Error(errc::invalid_argument, "--idle-timeout: " + d.error().message);
    idle_timeout = *d;
  }
  if (max_clients == 0) return Error(errc::invalid_argument, "--max-clients must be positive");
  if (scan_count == 0) return Error(errc::invalid_argument, "--scan-count must be positive");
  log::Level level{};
  if (!log::parse_level(log_level, level)) {
    return Error(errc::invalid_argument,
                 fmt::format("--log-level: unknown level '{}' (trace|debug|info|warn|error|off)",
                             log_level));
  }
  log::set_level(level);

  cfg.server.host = host;
  cfg.server.port = static_cast<uint16_t>(port);
  cfg.server.max_clients = max_clients;
  cfg.server.idle_timeout = idle_timeout;
  cfg.server.max_bulk = *bulk;
  ClusterOptions& c = cfg.cluster;
  c.db.id = id;
  c.db.scan_count_cap = scan_count;
  c.dir = dir;
  c.id = id;
  c.host = host;
  c.shard = shard;
  if (!broker.empty()) {
    auto parsed = parse_member("broker,0," + broker);
    if (!parsed) {
      return Error(errc::invalid_argument,
                   fmt::format("--broker '{}': want HOST:PORT with a port in 1..65535", broker));
    }
    c.broker_host = parsed->host;
    c.broker_port = parsed->port;
  }
  if (changes_topic.empty()) return Error(errc::invalid_argument, "--changes-topic is empty");
  c.changes_topic = changes_topic;
  for (const std::string& m : members) {
    auto parsed = parse_member(m);
    if (!parsed) return parsed.error();
    c.members.push_back(std::move(*parsed));
  }
  if (replication == "async") {
    c.mode = ClusterMode::async;
  } else if (replication == "sync") {
    c.mode = ClusterMode::sync;
  } else if (replication == "quorum") {
    c.mode = ClusterMode::quorum;
  } else {
    return Error(errc::invalid_argument,
                 fmt::format("--replication: '{}' is not async, sync or quorum", replication));
  }
  if (reads == "master") {
    c.reads = ReadPolicy::master;
  } else if (reads == "slaves") {
    c.reads = ReadPolicy::slaves;
  } else if (reads == "any") {
    c.reads = ReadPolicy::any;
  } else {
    return Error(errc::invalid_argument,
                 fmt::format("--reads: '{}' is not master, slaves or any", reads));
  }
  auto policy = parse_fsync_policy(fsync);
  if (!policy) return Error(errc::invalid_argument, "--fsync: " + policy.error().message);
  c.fsync = *policy;
  for (auto [flag, text, out] :
       {std::tuple{"heartbeat", &heartbeat, &c.heartbeat_ms},
        std::tuple{"election-timeout", &election_timeout, &c.election_timeout_ms},
        std::tuple{"lease", &lease, &c.lease_ms},
        std::tuple{"quorum-timeout", &quorum_timeout, &c.quorum_timeout_ms}}) {
    auto ms = parse_ms(flag, *text);
    if (!ms) return ms.error();
    *out = *ms;
  }
  if (c.heartbeat_ms >= c.lease_ms) {
    // A master renews its lease by heartbeats: a lease shorter than the heartbeat runs out
    // between them, and the master answers -TRYAGAIN most of the time.
    return Error(errc::invalid_argument, "--heartbeat must be shorter than --lease");
  }
  if (c.lease_ms >= c.election_timeout_ms) {
    return Error(errc::invalid_argument, "--lease must be shorter than --election-timeout");
  }
  c.quorum_n = quorum_n;
  c.quorum_w = quorum_w;
  c.quorum_r = quorum_r;
  c.snapshot_every = snapshot_every;
  c.seed = seed;
  for (const std::string& b : bugs) {
    const auto& known = known_bugs();
    if (std::find(known.begin(), known.end(), b) == known.end()) {
      return Error(errc::invalid_argument, fmt::format("--bug: unknown bug '{}'", b));
    }
    c.bugs.push_back(b);
  }
  if (auto v = validate(c); !v) return v.error();
  return std::optional<Config>(std::move(cfg));
}

}  // namespace

int db_main(int argc, char** argv) {
  auto parsed = parse_args(argc, argv);
  if (!parsed) {
    std::cerr << "faultline-db: " << parsed.error().message << "\nTry 'faultline-db --help'.\n";
    return kExitBadUsage;
  }
  if (!*parsed) return 0;
  Config cfg = std::move(**parsed);

  ClusterOptions& cl = cfg.cluster;
  if (!cl.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cl.dir, ec);
    if (ec) {
      std::cerr << "faultline-db: cannot create --dir '" << cl.dir.string() << "': " << ec.message()
                << '\n';
      return kExitBadUsage;
    }
  }

  nodes::ServerStats stats;
  nodes::CommandTable table;
  nodes::RespServer server(cfg.server, table, stats);
  auto port = server.listen();
  if (!port) {
    std::cerr << "faultline-db: " << port.error().message << '\n';
    return kExitBadUsage;
  }

  const auto idle_s = std::chrono::duration_cast<std::chrono::seconds>(cfg.server.idle_timeout);
  cl.port = *port;
  cl.db.config = {
      {"save", ""},
      {"appendonly", cl.dir.empty() ? "no" : "yes"},
      {"appendfsync", std::string(to_string(cl.fsync))},
      {"bind", cfg.server.host},
      {"port", std::to_string(*port)},
      {"dir", cl.dir.string()},
      {"databases", "1"},
      {"maxclients", std::to_string(cfg.server.max_clients)},
      {"timeout", std::to_string(idle_s.count())},
      {"proto-max-bulk-len", std::to_string(cfg.server.max_bulk)},
  };
  ClusterNode node(cl, server, stats);
  if (auto started = node.start(table); !started) {
    std::cerr << "faultline-db: " << started.error().message << '\n';
    return kExitBadUsage;
  }

  log::debug("faultline-db {} listening on {}:{} ({} shard(s), {})", cl.id, cfg.server.host, *port,
             node.shard_count(), to_string(cl.mode));
  std::printf("faultline-db %s ready on %s:%u\n", cl.id.c_str(), cfg.server.host.c_str(),
              static_cast<unsigned>(*port));
  std::fflush(stdout);

  server.run();
  log::info("faultline-db {} stopped", cl.id);
  return 0;
}

}  // namespace fl::db
