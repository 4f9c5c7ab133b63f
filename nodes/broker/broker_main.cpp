#include "nodes/broker/broker_main.h"

#include <fmt/core.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/units.h"
#include "nodes/broker/broker.h"
#include "nodes/broker/broker_node.h"
#include "nodes/common/command_table.h"
#include "nodes/common/resp_server.h"

namespace fl::broker {
namespace {

namespace po = boost::program_options;

constexpr int kExitBadUsage = 3;

struct Config {
  nodes::ServerOptions server;
  BrokerOptions broker;
  NodeOptions node;
};

result<int64_t> parse_ms(std::string_view flag, const std::string& text, bool allow_zero) {
  auto d = parse_duration(text);
  if (!d) return Error(errc::invalid_argument, fmt::format("--{}: {}", flag, d.error().message));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
  if (ms < 0 || (ms == 0 && !allow_zero)) {
    return Error(errc::invalid_argument, fmt::format("--{} must be positive", flag));
  }
  return ms;
}

// Parses the command line. Returns nullopt after printing --help; an Error for bad flags.
result<std::optional<Config>> parse_args(int argc, char** argv) {
  std::string host = "127.0.0.1", dir, id = "broker", fsync = "always", ack_timeout = "5s";
  std::string compact_every = "10s", segment = "64MiB", idle = "0", log_level = "info";
  std::string max_bulk = "512MiB";
  int port = 6390;
  int partitions = 4;
  uint64_t max_count = 1000, max_clients = 10000;
  std::vector<std::string> compact, bugs;
  po::options_description desc(
      "faultline-broker: the reference broker (RESP2; partitioned durable logs, consumer groups, "
      "pub/sub)\n\nOptions");
  desc.add_options()("help,h", "print this help and exit")("id", po::value(&id)->default_value(id),
                                                           "node id, reported by INFO")(
      "host", po::value(&host)->default_value(host), "address to listen on")(
      "port", po::value(&port)->default_value(port), "TCP port; 0 picks a free port")(
      "dir", po::value(&dir), "data directory (required; created): topics, logs, group offsets")(
      "partitions", po::value(&partitions)->default_value(partitions),
      "partitions of each new topic")("fsync", po::value(&fsync)->default_value(fsync),
                                      "always|everysec|never: when writes reach the disk")(
      "ack-timeout", po::value(&ack_timeout)->default_value(ack_timeout),
      "delivered, unacknowledged entries are delivered again after this")(
      "compact", po::value(&compact)->composing(),
      "a topic to compact (repeated): keep the last entry per `key` field")(
      "compact-every", po::value(&compact_every)->default_value(compact_every),
      "period of the compaction of --compact topics")(
      "max-count", po::value(&max_count)->default_value(max_count),
      "most entries in one XRANGE/XREAD/XREADGROUP reply")(
      "segment-size", po::value(&segment)->default_value(segment),
      "size at which a partition starts a new segment file")(
      "max-clients", po::value(&max_clients)->default_value(max_clients),
      "most simultaneous clients")("idle-timeout", po::value(&idle)->default_value(idle),
                                   "close clients idle this long (e.g. 30s); 0 disables")(
      "max-bulk", po::value(&max_bulk)->default_value(max_bulk),
      "largest bulk string a client may send")("log-level",
                                               po::value(&log_level)->default_value(log_level),
                                               "trace|debug|info|warn|error|off")(
      "bug", po::value(&bugs)->composing(),
      "TEST ONLY: enable a seeded bug (repeated): ack-before-write (XADD answered before its "
      "record is written; a timer writes it ~200ms later)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Error(errc::invalid_argument, e.what());
  }
  if (vm.count("help")) {
    std::cout << "usage: faultline-broker --dir DIR [options]\n\n" << desc << '\n';
    return std::optional<Config>();
  }
  Config cfg;
  if (dir.empty()) return Error(errc::invalid_argument, "--dir is required");
  if (port < 0 || port > 65535) {
    return Error(errc::invalid_argument, fmt::format("--port {} is out of range 0..65535", port));
  }
  if (partitions <= 0 || partitions > 1024) {
    return Error(errc::invalid_argument, "--partitions must be in 1..1024");
  }
  if (max_count == 0) return Error(errc::invalid_argument, "--max-count must be positive");
  if (max_clients == 0) return Error(errc::invalid_argument, "--max-clients must be positive");
  auto policy = parse_fsync_policy(fsync);
  if (!policy) return Error(errc::invalid_argument, "--fsync: " + policy.error().message);
  auto ack_ms = parse_ms("ack-timeout", ack_timeout, false);
  if (!ack_ms) return ack_ms.error();
  auto compact_ms = parse_ms("compact-every", compact_every, false);
  if (!compact_ms) return compact_ms.error();
  auto seg = parse_size(segment);
  if (!seg) return Error(errc::invalid_argument, "--segment-size: " + seg.error().message);
  if (*seg < 4096) return Error(errc::invalid_argument, "--segment-size must be at least 4KiB");
  auto bulk = parse_size(max_bulk);
  if (!bulk || *bulk == 0) return Error(errc::invalid_argument, "--max-bulk: bad size");
  Duration idle_timeout{0};
  if (idle != "0") {
    auto d = parse_duration(idle);
    if (!d) return Error(errc::invalid_argument, "--idle-timeout: " + d.error().message);
    idle_timeout = *d;
  }
  log::Level level{};
  if (!log::parse_level(log_level, level)) {
    return Error(errc::invalid_argument,
                 fmt::format("--log-level: unknown level '{}' (trace|debug|info|warn|error|off)",
                             log_level));
  }
  log::set_level(level);
  for (const std::string& b : bugs) {
    if (b == "ack-before-write") {
      cfg.broker.ack_before_write = true;
    } else {
      return Error(errc::invalid_argument, fmt::format("--bug: unknown bug '{}'", b));
    }
  }

  cfg.server.host = host;
  cfg.server.port = static_cast<uint16_t>(port);
  cfg.server.max_clients = max_clients;
  cfg.server.idle_timeout = idle_timeout;
  cfg.server.max_bulk = *bulk;
  cfg.server.pipeline_deferred = true;
  cfg.broker.dir = dir;
  cfg.broker.partitions = static_cast<uint32_t>(partitions);
  cfg.broker.fsync = *policy;
  cfg.broker.ack_timeout_ms = *ack_ms;
  cfg.broker.compact_topics.insert(compact.begin(), compact.end());
  cfg.broker.compact_every_ms = *compact_ms;
  cfg.broker.segment_bytes = *seg;
  cfg.node.id = id;
  cfg.node.max_count = max_count;
  return std::optional<Config>(std::move(cfg));
}

}  // namespace

int broker_main(int argc, char** argv) {
  auto parsed = parse_args(argc, argv);
  if (!parsed) {
    std::cerr << "faultline-broker: " << parsed.error().message
              << "\nTry 'faultline-broker --help'.\n";
    return kExitBadUsage;
  }
  if (!*parsed) return 0;
  Config cfg = std::move(**parsed);

  auto broker = Broker::open(cfg.broker);
  if (!broker) {
    std::cerr << "faultline-broker: " << broker.error().message << '\n';
    return kExitBadUsage;
  }
  const BrokerStats& rs = (*broker)->stats();
  if (rs.recovered_entries > 0 || rs.torn_bytes > 0) {
    log::info("recovered {} topic(s), {} entries; cut {} torn bytes", (*broker)->topics().size(),
              rs.recovered_entries, rs.torn_bytes);
  }

  nodes::ServerStats stats;
  nodes::CommandTable table;
  nodes::RespServer server(cfg.server, table, stats);
  auto port = server.listen();
  if (!port) {
    std::cerr << "faultline-broker: " << port.error().message << '\n';
    return kExitBadUsage;
  }
  BrokerNode node(cfg.node, std::move(*broker), server, stats);
  node.start(table);

  std::printf("faultline-broker %s ready on %s:%u\n", cfg.node.id.c_str(), cfg.server.host.c_str(),
              static_cast<unsigned>(*port));
  std::fflush(stdout);
  server.run();
  log::info("faultline-broker {} stopped", cfg.node.id);
  return 0;
}

}  // namespace fl::broker
