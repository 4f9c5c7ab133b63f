#include "nodes/db/db_main.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/log.h"
#include "common/units.h"
#include "nodes/common/clock.h"
#include "nodes/common/command_table.h"
#include "nodes/common/node_flags.h"
#include "nodes/common/resp_server.h"
#include "nodes/db/cluster.h"
#include "nodes/db/wal.h"

namespace fl::db {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kProgram = "faultline-db";

struct Config {
  nodes::ServerOptions server;
  ClusterOptions cluster;
};

ShardMember to_member(nodes::ShardMemberFlag m) {
  return ShardMember{std::move(m.id), m.shard, std::move(m.address.host), m.address.port};
}

// Parses the command line. Returns nullopt after printing --help; an Error for bad flags.
result<std::optional<Config>> parse_args(int argc, char** argv) {
  nodes::ServerFlags server;
  server.max_bulk = "512MiB";
  std::string dir, id = "db", broker, changes_topic = "changes";
  int shard = 0;
  std::vector<std::string> members, bugs;
  std::string replication = "sync", reads = "master", fsync = "everysec";
  std::string heartbeat = "50ms", election_timeout = "300ms", lease = "250ms";
  std::string quorum_timeout = "500ms";
  int quorum_n = 3, quorum_w = 2, quorum_r = 2;
  uint64_t snapshot_every = 100000, seed = 1;
  size_t scan_count = 1000;
  po::options_description desc(
      "faultline-db: the reference database node (RESP2; sharded, replicated, durable)\n\n"
      "Options");
  nodes::add_server_flags(desc, server);
  desc.add_options()("dir", po::value(&dir),
                     "data directory (created): write-ahead log and snapshots")(
      "id", po::value(&id)->default_value(id), "node id, reported by INFO")(
      "scan-count", po::value(&scan_count)->default_value(scan_count), "cap on SCAN/SSCAN COUNT")(
      "shard", po::value(&shard)->default_value(shard), "this node's shard")(
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
  auto run = nodes::parse_flags_or_help(argc, argv, desc, "faultline-db [options]");
  if (!run) return run.error();
  if (!*run) return std::optional<Config>();
  Config cfg;
  if (scan_count == 0) return Error(errc::invalid_argument, "--scan-count must be positive");
  if (auto applied = nodes::apply_server_flags(server, cfg.server); !applied) {
    return applied.error();
  }

  ClusterOptions& c = cfg.cluster;
  c.db.id = id;
  c.db.scan_count_cap = scan_count;
  c.dir = dir;
  c.id = id;
  c.host = cfg.server.host;
  c.shard = shard;
  if (!broker.empty()) {
    auto parsed = nodes::host_port_flag("broker", broker);
    if (!parsed) return parsed.error();
    c.broker_host = parsed->host;
    c.broker_port = parsed->port;
  }
  if (changes_topic.empty()) return Error(errc::invalid_argument, "--changes-topic is empty");
  c.changes_topic = changes_topic;
  for (const std::string& m : members) {
    auto parsed = nodes::shard_member_flag("member", m);
    if (!parsed) return parsed.error();
    c.members.push_back(to_member(std::move(*parsed)));
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
    auto ms = nodes::milliseconds_flag(flag, *text);
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
  if (!parsed) return nodes::report_bad_flags(kProgram, parsed.error());
  if (!*parsed) return 0;
  Config cfg = std::move(**parsed);

  ClusterOptions& cl = cfg.cluster;
  if (auto dir = nodes::create_dir_flag(cl.dir.string()); !dir) {
    return nodes::report_start_failure(kProgram, dir.error());
  }

  nodes::ServerStats stats;
  nodes::CommandTable table;
  nodes::RespServer server(cfg.server, table, stats);
  auto port = server.listen();
  if (!port) return nodes::report_start_failure(kProgram, port.error());

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
  nodes::add_clock_command(table);
  if (auto started = node.start(table); !started) {
    return nodes::report_start_failure(kProgram, started.error());
  }

  log::debug("faultline-db {} listening on {}:{} ({} shard(s), {})", cl.id, cfg.server.host, *port,
             node.shard_count(), to_string(cl.mode));
  nodes::serve_until_stopped(server, kProgram, cl.id, cfg.server.host, *port);
  return 0;
}

}  // namespace fl::db
