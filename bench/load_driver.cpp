// load_driver: runs one fl::load::Runner against host:port with a real history writer and prints
// its summary as `key=value` lines, for bench/load_accuracy.sh.
//
//   load_driver --port 6379 --kind kv-mix --mode open --rate 20000 --duration 20s
//               --history /tmp/h.jsonl [--mix get=1,set=1] [--concurrency 50] [--connections 0]
//               [--pipeline 1] [--keys 10000] [--value-size 16] [--timeout 5s] [--warmup 0s]
//               [--host 127.0.0.1] [--seed 1]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "common/units.h"
#include "harness/history/history.h"
#include "harness/load/runner.h"

namespace {

int usage(const std::string& why) {
  std::fprintf(stderr, "load_driver: %s\n", why.c_str());
  return 3;
}

double ms(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  using namespace fl;
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (!k.starts_with("--")) return usage("expected --flag value pairs, got " + k);
    args[k.substr(2)] = argv[i + 1];
  }
  if (argc % 2 == 0) return usage("expected --flag value pairs");
  auto get = [&](const std::string& k, std::string def) {
    auto it = args.find(k);
    return it == args.end() ? def : it->second;
  };
  plan::WorkloadSpec spec;
  spec.kind = get("kind", "kv-mix");
  spec.mode = get("mode", "open") == "closed" ? plan::LoadMode::closed : plan::LoadMode::open;
  spec.rate = std::stod(get("rate", "1000"));
  spec.concurrency = std::stoi(get("concurrency", "50"));
  spec.connections = std::stoi(get("connections", "0"));
  spec.pipeline = std::stoi(get("pipeline", "1"));
  spec.keys = std::stoi(get("keys", "10000"));
  spec.value_size = std::stoull(get("value-size", "16"));
  spec.final_reads = get("final-reads", "false") == "true";
  auto timeout = parse_duration(get("timeout", "5s"));
  auto warmup = parse_duration(get("warmup", "0s"));
  auto duration = parse_duration(get("duration", "10s"));
  if (!timeout || !warmup || !duration) return usage("bad duration");
  spec.timeout = *timeout;
  spec.warmup = *warmup;
  std::string mix = get("mix", "");
  for (size_t at = 0; at < mix.size();) {
    size_t comma = mix.find(',', at);
    std::string item = mix.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    size_t eq = item.find('=');
    if (eq == std::string::npos) return usage("--mix wants name=weight,...");
    spec.mix[item.substr(0, eq)] = std::stod(item.substr(eq + 1));
    at = comma == std::string::npos ? mix.size() : comma + 1;
  }
  if (auto ok = load::validate(spec); !ok) return usage(ok.error().message);
  auto writer = history::Writer::open(get("history", "/dev/null"));
  if (!writer) return usage(writer.error().message);

  auto port = static_cast<uint16_t>(std::stoi(get("port", "6379")));
  load::Runner runner(spec, {{"server", get("host", "127.0.0.1"), port}}, **writer,
                      std::stoull(get("seed", "1")), std::chrono::steady_clock::now());
  auto s = runner.run(*duration);
  (*writer)->close();
  if (!s) return usage(s.error().message);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto& m = s->main;
  std::printf("target_rate=%.0f\nops_per_sec=%.1f\nstarted=%lld\nok=%lld\nfail=%lld\ninfo=%lld\n",
              s->target_rate, m.ops_per_sec, static_cast<long long>(m.started),
              static_cast<long long>(m.ok), static_cast<long long>(m.fail),
              static_cast<long long>(m.info));
  std::printf("late=%lld\nmissed=%lld\nelapsed_s=%.3f\n", static_cast<long long>(m.late),
              static_cast<long long>(m.missed), ms(m.elapsed) / 1000);
  std::printf("p50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\np999_ms=%.3f\nmax_ms=%.3f\n", ms(m.p50),
              ms(m.p90), ms(m.p99), ms(m.p999), ms(m.max));
  std::printf("history_ops=%lld\npeak_rss_mib=%.1f\n", static_cast<long long>((*writer)->count()),
              static_cast<double>(ru.ru_maxrss) / 1024);
  return 0;
}
