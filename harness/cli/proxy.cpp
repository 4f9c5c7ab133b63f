#include "chaos/link_proxy.h"
#include "common/exit_codes.h"
#include "common/units.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/cli/signals.h"

#include <fmt/core.h>

#include <string>
#include <vector>

namespace fl::cli {
namespace {

constexpr std::string_view kUsage = R"(Usage: faultline proxy LISTEN UPSTREAM [toxics...]

Relays every TCP connection made to LISTEN (host:port; port 0 picks a free one) to UPSTREAM
(host:port) through the link proxy faultline puts between nodes, with the toxics given, until
Ctrl-C or SIGTERM. Prints the address it listens on. With no toxic it is a plain relay (for
benchmarks: bench/proxy_bench.sh). docs/link-proxy.md describes each toxic.

Examples:
  faultline proxy 127.0.0.1:7000 127.0.0.1:6379 --latency 20ms --jitter 2ms
  faultline proxy 127.0.0.1:0 127.0.0.1:6379 --loss 0.01 --loss-burst 4 --direction up
  faultline proxy 127.0.0.1:7000 127.0.0.1:6379 --bandwidth 1MiB/s --direction down
)";

result<supervisor::Endpoint> parse_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Error(errc::invalid_argument, fmt::format("'{}' is not host:port", text));
  }
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port(text.substr(colon + 1));
  char* end = nullptr;
  const unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p > 65535) {
    return Error(errc::invalid_argument, fmt::format("'{}': bad port '{}'", text, port));
  }
  return supervisor::Endpoint{host, static_cast<uint16_t>(p)};
}

result<plan::Direction> parse_direction(std::string_view s) {
  if (s == "both") return plan::Direction::both;
  if (s == "up") return plan::Direction::up;
  if (s == "down") return plan::Direction::down;
  return Error(errc::invalid_argument,
               fmt::format("--direction '{}': expected up, down or both", s));
}

result<plan::Toxic::Distribution> parse_distribution(std::string_view s) {
  if (s == "uniform") return plan::Toxic::Distribution::uniform;
  if (s == "normal") return plan::Toxic::Distribution::normal;
  if (s == "pareto") return plan::Toxic::Distribution::pareto;
  return Error(errc::invalid_argument,
               fmt::format("--distribution '{}': expected uniform, normal or pareto", s));
}

// The toxics the options ask for.
result<std::vector<plan::Toxic>> toxics_from(const po::variables_map& vm) {
  using plan::Toxic;
  std::vector<Toxic> out;
  auto duration = [&](const char* key) -> result<Duration> {
    auto d = parse_duration(vm[key].as<std::string>());
    if (!d) return Error(errc::invalid_argument, fmt::format("--{}: {}", key, d.error().message));
    return *d;
  };
  auto toxicity = vm["toxicity"].as<double>();
  if (!(toxicity >= 0 && toxicity <= 1)) {
    return Error(errc::invalid_argument, "--toxicity must be within 0..1");
  }
  auto add = [&](Toxic t) {
    t.toxicity = toxicity;
    out.push_back(t);
  };
  if (vm.count("latency") || vm.count("jitter")) {
    Toxic t;
    t.kind = Toxic::Kind::latency;
    if (vm.count("latency")) {
      auto d = duration("latency");
      if (!d) return d.error();
      t.latency = *d;
    }
    if (vm.count("jitter")) {
      auto d = duration("jitter");
      if (!d) return d.error();
      t.jitter = *d;
    }
    auto dist = parse_distribution(vm["distribution"].as<std::string>());
    if (!dist) return dist.error();
    t.distribution = *dist;
    add(t);
  }
  if (vm.count("bandwidth")) {
    std::string text = vm["bandwidth"].as<std::string>();
    if (text.ends_with("/s")) text.resize(text.size() - 2);
    auto rate = parse_size(text);
    if (!rate || *rate == 0) {
      return Error(errc::invalid_argument,
                   fmt::format("--bandwidth '{}': expected a size per second such as 1MiB/s",
                               vm["bandwidth"].as<std::string>()));
    }
    Toxic t;
    t.kind = Toxic::Kind::bandwidth;
    t.bytes_per_second = *rate;
    add(t);
  }
  if (vm.count("loss")) {
    Toxic t;
    t.kind = Toxic::Kind::loss;
    t.probability = vm["loss"].as<double>();
    t.burst = vm["loss-burst"].as<double>();
    if (!(t.probability >= 0 && t.probability <= 1)) {
      return Error(errc::invalid_argument, "--loss must be within 0..1");
    }
    add(t);
  }
  struct Timed {
    const char* key;
    Toxic::Kind kind;
  };
  for (Timed k :
       {Timed{"reset-after", Toxic::Kind::reset}, Timed{"stall-after", Toxic::Kind::stall},
        Timed{"slow-close", Toxic::Kind::slow_close}}) {
    if (!vm.count(k.key)) continue;
    auto d = duration(k.key);
    if (!d) return d.error();
    Toxic t;
    t.kind = k.kind;
    t.after = *d;
    add(t);
  }
  if (vm.count("blackhole")) {
    Toxic t;
    t.kind = Toxic::Kind::blackhole;
    add(t);
  }
  return out;
}

}  // namespace

int proxy_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()                                                            //
      ("listen", po::value<std::string>()->required(), "host:port to listen on")   //
      ("upstream", po::value<std::string>()->required(), "host:port to relay to")  //
      ("direction", po::value<std::string>()->default_value("both"),
       "which bytes the toxics act on: up (sent to UPSTREAM), down (its replies), both")  //
      ("latency", po::value<std::string>(), "delay every chunk by this (\"20ms\")")       //
      ("jitter", po::value<std::string>(), "vary the delay by this (\"2ms\")")            //
      ("distribution", po::value<std::string>()->default_value("normal"),
       "of the jitter: uniform, normal (jitter = standard deviation), pareto")                    //
      ("bandwidth", po::value<std::string>(), "at most this many bytes per second (\"1MiB/s\")")  //
      ("loss", po::value<double>(), "share of chunks dropped (0..1)")                             //
      ("loss-burst", po::value<double>()->default_value(1),
       "mean chunks per loss burst (1: independent losses)")  //
      ("reset-after", po::value<std::string>(),
       "reset each connection this long after it opened")  //
      ("stall-after", po::value<std::string>(),
       "stop forwarding this long after a connection opened (it stays open)")          //
      ("slow-close", po::value<std::string>(), "pass each close on after this delay")  //
      ("blackhole", "accept connections, forward nothing")                             //
      ("toxicity", po::value<double>()->default_value(1.0),
       "chance per connection that the toxics apply to it (0..1)")   //
      ("threads", po::value<int>()->default_value(1), "io threads")  //
      ("seed", po::value<uint64_t>()->default_value(0), "seeds toxicity, jitter and loss draws");
  po::positional_options_description positional;
  positional.add("listen", 1).add("upstream", 1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;

  auto fail = [](const std::string& message) {
    fmt::print(stderr, "faultline proxy: {}\n", message);
    return kExitHarness;
  };
  auto listen = parse_endpoint((*vm)["listen"].as<std::string>());
  if (!listen) return fail(listen.error().message);
  auto upstream = parse_endpoint((*vm)["upstream"].as<std::string>());
  if (!upstream) return fail(upstream.error().message);
  auto direction = parse_direction((*vm)["direction"].as<std::string>());
  if (!direction) return fail(direction.error().message);
  auto toxics = toxics_from(*vm);
  if (!toxics) return fail(toxics.error().message);

  StopSignals stop;
  chaos::LinkProxy proxy(
      {.threads = std::max(1, (*vm)["threads"].as<int>()), .seed = (*vm)["seed"].as<uint64_t>()});
  const std::string name = fmt::format("{}:{}", upstream->host, upstream->port);
  auto bound = proxy.add_link(name, *upstream, *listen);
  if (!bound) return fail(bound.error().message);
  for (const auto& t : *toxics) {
    if (auto id = proxy.add_toxic(name, *direction, t); !id) return fail(id.error().message);
  }
  fmt::print("faultline proxy: {}:{} -> {}:{} ({} toxic{}); Ctrl-C to stop\n", bound->host,
             bound->port, upstream->host, upstream->port, toxics->size(),
             toxics->size() == 1 ? "" : "s");
  std::fflush(stdout);
  result<chaos::LinkStats> final_stats = Error(errc::cancelled, "");
  stop.on_stop([&] {
    final_stats = proxy.stats(name);
    proxy.close();
  });
  stop.wait_done();
  if (final_stats) {
    fmt::print(stderr, "faultline proxy: {} connections, {} bytes up, {} bytes down ({})\n",
               final_stats->connections, final_stats->bytes_up, final_stats->bytes_down,
               stop.signal_name());
  }
  return kExitOk;
}

}  // namespace fl::cli
