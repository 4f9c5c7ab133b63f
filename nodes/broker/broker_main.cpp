#include "nodes/broker/broker_main.h"

#include <fmt/core.h>

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/units.h"
#include "nodes/broker/broker.h"
#include "nodes/broker/broker_node.h"
#include "nodes/common/clock.h"
#include "nodes/common/command_table.h"
#include "nodes/common/node_flags.h"
#include "nodes/common/resp_server.h"

namespace fl::broker {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kProgram = "faultline-broker";

struct Config {
  nodes::ServerOptions server;
  BrokerOptions broker;
  NodeOptions node;
};

// Parses the command line. Returns nullopt after printing --help; an Error for bad flags.
result<std::optional<Config>> parse_args(int argc, char** argv) {
  nodes::ServerFlags server;
  server.port = 6390;
  server.max_bulk = "512MiB";
  std::string dir, id = "broker", fsync = "always", ack_timeout = "5s";
  std::string compact_every = "10s", segment = "64MiB";
  int partitions = 4;
  uint64_t max_count = 1000;
  std::vector<std::string> compact, bugs;
  po::options_description desc(
      "faultline-broker: the reference broker (RESP2; partitioned durable logs, consumer groups, "
      "pub/sub)\n\nOptions");
  nodes::add_server_flags(desc, server);
  desc.add_options()("id", po::value(&id)->default_value(id), "node id, reported by INFO")(
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
      "bug", po::value(&bugs)->composing(),
      "TEST ONLY: enable a seeded bug (repeated): ack-before-write (XADD answered before its "
      "record is written; a timer writes it ~200ms later)");
  auto run = nodes::parse_flags_or_help(argc, argv, desc, "faultline-broker --dir DIR [options]");
  if (!run) return run.error();
  if (!*run) return std::optional<Config>();
  Config cfg;
  if (dir.empty()) return Error(errc::invalid_argument, "--dir is required");
  if (partitions <= 0 || partitions > 1024) {
    return Error(errc::invalid_argument, "--partitions must be in 1..1024");
  }
  if (max_count == 0) return Error(errc::invalid_argument, "--max-count must be positive");
  auto policy = parse_fsync_policy(fsync);
  if (!policy) return Error(errc::invalid_argument, "--fsync: " + policy.error().message);
  auto ack_ms = nodes::milliseconds_flag("ack-timeout", ack_timeout);
  if (!ack_ms) return ack_ms.error();
  auto compact_ms = nodes::milliseconds_flag("compact-every", compact_every);
  if (!compact_ms) return compact_ms.error();
  auto seg = parse_size(segment);
  if (!seg) return Error(errc::invalid_argument, "--segment-size: " + seg.error().message);
  if (*seg < 4096) return Error(errc::invalid_argument, "--segment-size must be at least 4KiB");
  if (auto applied = nodes::apply_server_flags(server, cfg.server); !applied) {
    return applied.error();
  }
  for (const std::string& b : bugs) {
    if (b == "ack-before-write") {
      cfg.broker.ack_before_write = true;
    } else {
      return Error(errc::invalid_argument, fmt::format("--bug: unknown bug '{}'", b));
    }
  }

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
  if (!parsed) return nodes::report_bad_flags(kProgram, parsed.error());
  if (!*parsed) return 0;
  Config cfg = std::move(**parsed);

  auto broker = Broker::open(cfg.broker);
  if (!broker) return nodes::report_start_failure(kProgram, broker.error());
  const BrokerStats& rs = (*broker)->stats();
  if (rs.recovered_entries > 0 || rs.torn_bytes > 0) {
    log::info("recovered {} topic(s), {} entries; cut {} torn bytes", (*broker)->topics().size(),
              rs.recovered_entries, rs.torn_bytes);
  }

  nodes::ServerStats stats;
  nodes::CommandTable table;
  nodes::RespServer server(cfg.server, table, stats);
  auto port = server.listen();
  if (!port) return nodes::report_start_failure(kProgram, port.error());
  BrokerNode node(cfg.node, std::move(*broker), server, stats);
  node.start(table);
  nodes::add_clock_command(table);

  nodes::serve_until_stopped(server, kProgram, cfg.node.id, cfg.server.host, *port);
  return 0;
}

}  // namespace fl::broker
