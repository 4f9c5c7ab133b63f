#include "nodes/lb/lb_main.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/program_options.hpp>
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
#include "nodes/lb/load_balancer.h"

namespace fl::lb {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kProgram = "faultline-lb";

struct Config {
  nodes::ServerOptions server;
  LbOptions lb;
  std::string dir;
};

// Parses the command line. Returns nullopt after printing --help; an Error for bad flags.
result<std::optional<Config>> parse_args(int argc, char** argv) {
  nodes::ServerFlags server;
  std::string dir, id = "lb";
  std::string policy = "key-hash", health_interval = "100ms", health_timeout = "250ms";
  std::string timeout = "1s";
  int vnodes = 128, fall = 2, rise = 2, passive = 3, connections = 2;
  uint64_t max_pending = 1024;
  std::vector<std::string> backends, bugs;
  po::options_description desc(
      "faultline-lb: the reference load balancer (a RESP-aware proxy with health checks)\n\n"
      "Options");
  nodes::add_server_flags(desc, server);
  desc.add_options()("id", po::value(&id)->default_value(id), "node id, reported by INFO")(
      "dir", po::value(&dir), "data directory (created; the LB keeps no data in it)")(
      "backend", po::value(&backends)->composing(),
      "ID,HOST:PORT of a backend (repeated; at most 64)")(
      "policy", po::value(&policy)->default_value(policy),
      "round-robin|least-connections|key-hash")("vnodes", po::value(&vnodes)->default_value(vnodes),
                                                "virtual nodes per backend on the key-hash ring")(
      "health-interval", po::value(&health_interval)->default_value(health_interval),
      "time between active checks (PING) of a backend")(
      "health-timeout", po::value(&health_timeout)->default_value(health_timeout),
      "a check not answered within this fails")("fall", po::value(&fall)->default_value(fall),
                                                "consecutive failed checks that eject")(
      "rise", po::value(&rise)->default_value(rise),
      "consecutive successful checks that bring an ejected backend back")(
      "passive-failures", po::value(&passive)->default_value(passive),
      "consecutive timeouts/broken links of forwarded requests that eject; 0 disables")(
      "timeout", po::value(&timeout)->default_value(timeout), "deadline of each forwarded attempt")(
      "connections", po::value(&connections)->default_value(connections),
      "connections per backend for forwarded requests")(
      "max-pending", po::value(&max_pending)->default_value(max_pending),
      "replies a client connection may have outstanding before the LB stops reading it")(
      "bug", po::value(&bugs)->composing(),
      "TEST ONLY: enable a seeded bug (repeated): retry-writes");
  auto run = nodes::parse_flags_or_help(
      argc, argv, desc, "faultline-lb --backend ID,HOST:PORT [--backend ...] [options]");
  if (!run) return run.error();
  if (!*run) return std::optional<Config>();
  Config cfg;
  if (max_pending == 0) return Error(errc::invalid_argument, "--max-pending must be positive");
  if (auto applied = nodes::apply_server_flags(server, cfg.server); !applied) {
    return applied.error();
  }

  cfg.dir = dir;
  cfg.server.pipeline_deferred = true;
  cfg.server.max_pending = max_pending;

  LbOptions& o = cfg.lb;
  o.id = id;
  for (const std::string& b : backends) {
    auto parsed = parse_backend(b);
    if (!parsed) return parsed.error();
    o.backends.push_back(std::move(*parsed));
  }
  auto p = parse_policy(policy);
  if (!p) return Error(errc::invalid_argument, "--policy: " + p.error().message);
  o.policy = *p;
  o.vnodes = vnodes;
  for (auto [flag, text, out] :
       {std::tuple{"health-interval", &health_interval, &o.health.interval},
        std::tuple{"health-timeout", &health_timeout, &o.health.timeout},
        std::tuple{"timeout", &timeout, &o.timeout}}) {
    auto d = nodes::duration_flag(flag, *text);
    if (!d) return d.error();
    *out = *d;
  }
  o.health.fall = fall;
  o.health.rise = rise;
  o.health.passive_failures = passive;
  o.connections = connections;
  for (const std::string& b : bugs) {
    const auto& known = known_bugs();
    if (std::find(known.begin(), known.end(), b) == known.end()) {
      return Error(errc::invalid_argument, fmt::format("--bug: unknown bug '{}'", b));
    }
    if (b == "retry-writes") o.bug_retry_writes = true;
  }
  if (auto v = validate(o); !v) return v.error();
  return std::optional<Config>(std::move(cfg));
}

}  // namespace

int lb_main(int argc, char** argv) {
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
  LoadBalancer lb(cfg.lb, server, stats);
  lb.start(table);
  nodes::add_clock_command(table);

  nodes::serve_until_stopped(
      server, kProgram, cfg.lb.id, cfg.server.host, *port,
      fmt::format("({} backends, {})", cfg.lb.backends.size(), to_string(cfg.lb.policy)));
  return 0;
}

}  // namespace fl::lb
