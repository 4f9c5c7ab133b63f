#include "nodes/common/node_flags.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "common/log.h"
#include "nodes/common/resp_server.h"

namespace fl::nodes {
namespace {

namespace po = boost::program_options;

Error invalid(std::string message) { return Error(errc::invalid_argument, std::move(message)); }

// A decimal number of digits only (no sign, no spaces) up to `max`.
std::optional<uint64_t> parse_bounded(std::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : text) v = v * 10 + static_cast<uint64_t>(c - '0');
  if (v > max) return std::nullopt;
  return v;
}

}  // namespace

void add_server_flags(po::options_description& desc, ServerFlags& f) {
  desc.add_options()("help,h", "print this help and exit")(
      "host", po::value(&f.host)->default_value(f.host), "address to listen on")(
      "port", po::value(&f.port)->default_value(f.port), "TCP port; 0 picks a free port")(
      "max-clients", po::value(&f.max_clients)->default_value(f.max_clients),
      "most simultaneous clients")("idle-timeout",
                                   po::value(&f.idle_timeout)->default_value(f.idle_timeout),
                                   "close clients idle this long (e.g. 30s); 0 disables");
  if (f.max_bulk) {
    desc.add_options()("max-bulk", po::value(&*f.max_bulk)->default_value(*f.max_bulk),
                       "largest bulk string a client may send (e.g. 512MiB)");
  }
  desc.add_options()("log-level", po::value(&f.log_level)->default_value(f.log_level),
                     "trace|debug|info|warn|error|off");
}

result<bool> parse_flags_or_help(int argc, char** argv, const po::options_description& desc,
                                 std::string_view usage) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return invalid(e.what());
  }
  if (vm.count("help")) {
    std::cout << "usage: " << usage << "\n\n" << desc << '\n';
    return false;
  }
  return true;
}

result<void> apply_server_flags(const ServerFlags& f, ServerOptions& out) {
  if (f.port < 0 || f.port > 65535) {
    return invalid(fmt::format("--port {} is out of range 0..65535", f.port));
  }
  if (f.max_clients == 0) return invalid("--max-clients must be positive");
  auto idle = duration_flag("idle-timeout", f.idle_timeout, /*zero_ok=*/true);
  if (!idle) return idle.error();
  if (f.max_bulk) {
    auto bulk = parse_size(*f.max_bulk);
    if (!bulk) return invalid("--max-bulk: " + bulk.error().message);
    if (*bulk == 0) return invalid("--max-bulk must be positive");
    out.max_bulk = *bulk;
  }
  log::Level level{};
  if (!log::parse_level(f.log_level, level)) {
    return invalid(fmt::format("--log-level: unknown level '{}' (trace|debug|info|warn|error|off)",
                               f.log_level));
  }
  log::set_level(level);
  auto delay = test_delay(std::getenv(kTestDelayEnv));
  if (!delay) return delay.error();
  if (*delay > Duration::zero()) {
    log::warn("{}={}: every reply is delayed (a test-only slowdown)", kTestDelayEnv,
              format_duration(*delay));
  }
  out.reply_delay = *delay;
  out.host = f.host;
  out.port = static_cast<uint16_t>(f.port);
  out.max_clients = f.max_clients;
  out.idle_timeout = *idle;
  return {};
}

result<Duration> test_delay(const char* value) {
  if (value == nullptr || *value == '\0') return Duration::zero();
  auto d = parse_duration(value);
  if (!d) {
    return invalid(fmt::format("{} '{}': {} (a test-only reply delay, e.g. 2ms)", kTestDelayEnv,
                               value, d.error().message));
  }
  return *d;
}

result<Duration> duration_flag(std::string_view flag, std::string_view text, bool zero_ok) {
  auto d = parse_duration(text);
  if (!d) return invalid(fmt::format("--{}: {}", flag, d.error().message));
  if (!zero_ok && *d <= Duration::zero()) {
    return invalid(fmt::format("--{} must be positive", flag));
  }
  return *d;
}

result<int64_t> milliseconds_flag(std::string_view flag, std::string_view text) {
  auto d = duration_flag(flag, text, /*zero_ok=*/true);
  if (!d) return d.error();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
  if (ms <= 0) return invalid(fmt::format("--{} must be positive", flag));
  return ms;
}

result<HostPort> parse_host_port(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return invalid("address without host:port");
  const auto port = parse_bounded(text.substr(colon + 1), 65535);
  if (!port || *port == 0) return invalid("bad port");
  return HostPort{std::string(text.substr(0, colon)), static_cast<uint16_t>(*port)};
}

result<HostPort> host_port_flag(std::string_view flag, std::string_view text) {
  auto hp = parse_host_port(text);
  if (!hp) {
    return invalid(fmt::format("--{} '{}': {} (want HOST:PORT)", flag, text, hp.error().message));
  }
  return hp;
}

result<ShardMemberFlag> shard_member_flag(std::string_view flag, std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return invalid(fmt::format("--{} '{}': {} (want ID,SHARD,HOST:PORT)", flag, text, why));
  };
  const size_t c1 = text.find(',');
  const size_t c2 = c1 == std::string_view::npos ? c1 : text.find(',', c1 + 1);
  if (c2 == std::string_view::npos) return bad("missing fields");
  ShardMemberFlag m;
  m.id = std::string(text.substr(0, c1));
  if (m.id.empty()) return bad("empty id");
  const auto shard = parse_bounded(text.substr(c1 + 1, c2 - c1 - 1), 1'000'000);
  auto address = parse_host_port(text.substr(c2 + 1));
  if (!address) return bad(address.error().message);
  if (!shard) return bad("bad shard");
  m.shard = static_cast<int>(*shard);
  m.address = std::move(*address);
  return m;
}

int report_bad_flags(std::string_view program, const Error& error) {
  std::cerr << program << ": " << error.message << "\nTry '" << program << " --help'.\n";
  return kExitBadUsage;
}

int report_start_failure(std::string_view program, const Error& error) {
  std::cerr << program << ": " << error.message << '\n';
  return kExitBadUsage;
}

result<void> create_dir_flag(const std::string& dir) {
  if (dir.empty()) return {};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return invalid(fmt::format("cannot create --dir '{}': {}", dir, ec.message()));
  return {};
}

void serve_until_stopped(RespServer& server, std::string_view program, std::string_view id,
                         std::string_view host, uint16_t port, std::string_view detail) {
  fmt::print(stdout, "{} {} ready on {}:{}{}{}\n", program, id, host, port,
             detail.empty() ? "" : " ", detail);
  std::fflush(stdout);
  server.run();
  log::info("{} {} stopped", program, id);
}

}  // namespace fl::nodes
