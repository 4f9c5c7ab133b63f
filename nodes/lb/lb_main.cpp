#include "nodes/lb/lb_main.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <tuple>
#include <vector>

#include "common/log.h"
#include "common/units.h"
#include "nodes/common/command_table.h"
#include "nodes/common/resp_server.h"
#include "nodes/lb/load_balancer.h"

namespace fl::lb {
namespace {

namespace po = boost::program_options;

constexpr int kExitBadUsage = 3;

struct Config {
  nodes::ServerOptions server;
  LbOptions lb;
  std::string dir;
};

result<Duration> positive_duration(std::string_view flag, const std::string& text) {
  auto d = parse_duration(text);
  if (!d) return Error(errc::invalid_argument, fmt::format("--{}: {}", flag, d.error().message));
  if (*d <= Duration::zero()) {
    return Error(errc::invalid_argument, fmt::format("--{} must be positive", flag));
  }
  return *d;
}

// Parses the command line. Returns nullopt after printing --help; an Error for bad flags.
result<std::optional<Config>> parse_args(int argc, char** argv) {
  std::string host = "127.0.0.1", idle = "0", log_level = "info", dir, id = "lb";
  std::string policy = "key-hash", health_interval = "100ms", health_timeout = "250ms";
  std::string timeout = "1s";
  int port = 6379, vnodes = 128, fall = 2, rise = 2, passive = 3, connections = 2;
  uint64_t max_clients = 10000, max_pending = 1024;
  std::vector<std::string> backends, bugs;
  po::options_description desc(
      "faultline-lb: the reference load balancer (a RESP-aware proxy with health checks)\n\n"
      "Options");
  desc.add_options()("help,h", "print this help and exit")(
      "id", po::value(&id)->default_value(id), "node id, reported by INFO")(
      "host", po::value(&host)->default_value(host), "address to listen on")(
      "port", po::value(&port)->default_value(port), "TCP port; 0 picks a free port")(
      "dir", po::value(&dir), "data directory (created; the LB keeps no data in it)")(
      "backend", po::value(&backends)->composing(),
      "ID,HOST:PORT of a backend (repeated; at most 64)")(
      "policy", po::value(&policy)->default_value(policy),
      "round-robin|least-connections|key-hash")(
      "vnodes", po::value(&vnodes)->default_value(vnodes),
      "virtual nodes per backend on the key-hash ring")(
      "health-interval", po::value(&health_interval)->default_value(health_interval),
      "time between active checks (PING) of a backend")(
      "health-timeout", po::value(&health_timeout)->default_value(health_timeout),
      "a check not answered within this fails")(
      "fall", po::value(&fall)->default_value(fall), "consecutive failed checks that eject")(
      "rise", po::value(&rise)->default_value(rise),
      "consecutive successful checks that bring an ejected backend back")(
      "passive-failures", po::value(&passive)->default_value(passive),
      "consecutive timeouts/broken links of forwarded requests that eject; 0 disables")(
      "timeout", po::value(&timeout)->default_value(timeout),
      "deadline of each forwarded attempt")(
      "connections", po::value(&connections)->default_value(connections),
      "connections per backend for forwarded requests")(
      "max-clients", po::value(&max_clients)->default_value(max_clients),
      "most simultaneous clients")(
      "max-pending", po::value(&max_pending)->default_value(max_pending),
      "replies a client connection may have outstanding before the LB stops reading it")(
      "idle-timeout", po::value(&idle)->default_value(idle),
      "close clients idle this long (e.g. 30s); 0 disables")(
      "log-level", po::value(&log_level)->default_value(log_level),
      "trace|debug|info|warn|error|off")(
      "bug", po::value(&bugs)->composing(),
      "TEST ONLY: enable a seeded bug (repeated): retry-writes");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Error(errc::invalid_argument, e.what());
  }
  if (vm.count("help")) {
    std::cout << "usage: faultline-lb --backend ID,HOST:PORT [--backend ...] [options]\n\n"
              << desc << '\n';
    return std::optional<Config>();
  }
  Config cfg;
  if (port < 0 || port > 65535) {
    return Error(errc::invalid_argument, fmt::format("--port {} is out of range 0..65535", port));
  }
  Duration idle_timeout{0};
  if (idle != "0") {
    auto d = parse_duration(idle);
    if (!d) return Error(errc::invalid_argument, "--idle-timeout: " + d.error().message);
    idle_timeout = *d;
  }
  if (max_clients == 0) return Error(errc::invalid_argument, "--max-clients must be positive");
  if (max_pending == 0) return Error(errc::invalid_argument, "--max-pending must be positive");
  log::Level level{};
  if (!log::parse_level(log_level, level)) {
    return Error(errc::invalid_argument,
                 fmt::format("--log-level: unknown level '{}' (trace|debug|info|warn|error|off)",
                             log_level));
  }
  log::set_level(level);

  cfg.dir = dir;
  cfg.server.host = host;
  cfg.server.port = static_cast<uint16_t>(port);
  cfg.server.max_clients = max_clients;
  cfg.server.idle_timeout = idle_timeout;
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
  for (auto [flag, text, out] : {std::tuple{"health-interval", &health_interval, &o.health.interval},
                                 std::tuple{"health-timeout", &health_timeout, &o.health.timeout},
                                 std::tuple{"timeout", &timeout, &o.timeout}}) {
    auto d = positive_duration(flag, *text);
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
  if (!parsed) {
    std::cerr << "faultline-lb: " << parsed.error().message << "\nTry 'faultline-lb --help'.\n";
    return kExitBadUsage;
  }
  if (!*parsed) return 0;
  Config cfg = std::move(**parsed);
  if (!cfg.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cfg.dir, ec);
    if (ec) {
      std::cerr << "faultline-lb: cannot create --dir '" << cfg.dir << "': " << ec.message()
                << '\n';
      return kExitBadUsage;
    }
  }

  nodes::ServerStats stats;
  nodes::CommandTable table;
  nodes::RespServer server(cfg.server, table, stats);
  auto port = server.listen();
  if (!port) {
    std::cerr << "faultline-lb: " << port.error().message << '\n';
    return kExitBadUsage;
  }
  LoadBalancer lb(cfg.lb, server, stats);
  lb.start(table);

  std::printf("faultline-lb %s ready on %s:%u (%zu backends, %s)\n", cfg.lb.id.c_str(),
              cfg.server.host.c_str(), static_cast<unsigned>(*port), cfg.lb.backends.size(),
              std::string(to_string(cfg.lb.policy)).c_str());
  std::fflush(stdout);
  server.run();
  log::info("faultline-lb {} stopped", cfg.lb.id);
  return 0;
}

}  // namespace fl::lb
