#include "nodes/db/db_main.h"

#include <fmt/core.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "common/log.h"
#include "common/units.h"
#include "nodes/common/command_table.h"
#include "nodes/common/resp_server.h"
#include "nodes/db/commands.h"
#include "nodes/db/store.h"

namespace fl::db {
namespace {

namespace po = boost::program_options;

constexpr int kExitBadUsage = 3;
// Active expiry: every period, remove up to this many expired keys (soonest first).
constexpr auto kSweepPeriod = std::chrono::milliseconds(100);
constexpr size_t kSweepMax = 10000;

struct Config {
  nodes::ServerOptions server;
  DbOptions db;
  std::string dir;
};

// Parses the command line. Returns nullopt after printing --help; an Error for bad flags.
result<std::optional<Config>> parse_args(int argc, char** argv) {
  std::string host = "127.0.0.1", max_bulk = "512MiB", idle = "0", log_level = "info";
  std::string dir, id = "db";
  int port = 6379;
  uint64_t max_clients = 10000;
  size_t scan_count = 1000;
  po::options_description desc(
      "faultline-db: the reference database node (RESP2, single node)\n\nOptions");
  desc.add_options()("help,h", "print this help and exit")(
      "host", po::value(&host)->default_value(host), "address to listen on")(
      "port", po::value(&port)->default_value(port), "TCP port; 0 picks a free port")(
      "dir", po::value(&dir), "data directory (created; not used yet)")(
      "id", po::value(&id)->default_value(id), "node id, reported by INFO")(
      "max-bulk", po::value(&max_bulk)->default_value(max_bulk),
      "largest bulk string a client may send (e.g. 512MiB)")(
      "max-clients", po::value(&max_clients)->default_value(max_clients),
      "most simultaneous clients")("idle-timeout", po::value(&idle)->default_value(idle),
                                   "close clients idle this long (e.g. 30s); 0 disables")(
      "scan-count", po::value(&scan_count)->default_value(scan_count), "cap on SCAN/SSCAN COUNT")(
      "log-level", po::value(&log_level)->default_value(log_level),
      "trace|debug|info|warn|error|off");
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
  cfg.db.id = id;
  cfg.db.scan_count_cap = scan_count;
  cfg.dir = dir;
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

  if (!cfg.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cfg.dir, ec);
    if (ec) {
      std::cerr << "faultline-db: cannot create --dir '" << cfg.dir << "': " << ec.message()
                << '\n';
      return kExitBadUsage;
    }
  }

  SystemClock clock;
  Store store(clock);
  nodes::ServerStats stats;
  nodes::CommandTable table;
  nodes::RespServer server(cfg.server, table, stats);
  auto port = server.listen();
  if (!port) {
    std::cerr << "faultline-db: " << port.error().message << '\n';
    return kExitBadUsage;
  }

  const auto idle_s = std::chrono::duration_cast<std::chrono::seconds>(cfg.server.idle_timeout);
  cfg.db.config = {
      {"save", ""},
      {"appendonly", "no"},
      {"bind", cfg.server.host},
      {"port", std::to_string(*port)},
      {"dir", cfg.dir},
      {"databases", "1"},
      {"maxclients", std::to_string(cfg.server.max_clients)},
      {"timeout", std::to_string(idle_s.count())},
      {"proto-max-bulk-len", std::to_string(cfg.server.max_bulk)},
  };
  DbCommands commands(store, stats, cfg.db);
  commands.register_all(table);
  server.every(kSweepPeriod, [&commands] { commands.sweep(kSweepMax); });

  log::debug("faultline-db {} listening on {}:{}", cfg.db.id, cfg.server.host, *port);
  std::printf("faultline-db %s ready on %s:%u\n", cfg.db.id.c_str(), cfg.server.host.c_str(),
              static_cast<unsigned>(*port));
  std::fflush(stdout);

  server.run();
  log::info("faultline-db {} stopped", cfg.db.id);
  return 0;
}

}  // namespace fl::db
