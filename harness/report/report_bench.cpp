// report.html for a synthetic run of 1,000,000 operations (2,000,000 history lines): the time to
// load the run directory (streaming history.jsonl into bins) and render the page, and the page's
// size. docs/benchmarks.md has the figures.
#include <benchmark/benchmark.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "harness/report/html.h"
#include "harness/report/run_data.h"

namespace {

namespace fs = std::filesystem;

// 1M ops over 300 s from 64 processes on 1000 keys of 3 shards: reads, writes and cas, with
// fails and infos during two faults.
const fs::path& synthetic_run() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / fmt::format("report-bench-{}", ::getpid());
    fs::remove_all(d);
    fs::create_directories(d);
    std::ofstream cluster(d / "cluster.json");
    cluster << R"({"nodes":[{"id":"db-s0-r0","kind":"db","group":"db","shard":0},)"
               R"({"id":"db-s1-r0","kind":"db","group":"db","shard":1},)"
               R"({"id":"db-s2-r0","kind":"db","group":"db","shard":2}]})";
    std::ofstream events(d / "events.jsonl");
    for (int s = 0; s < 3; ++s) {
      events << fmt::format(R"({{"time":1000,"type":"node.spawned","node":"db-s{}-r0"}})"
                            "\n",
                            s);
      events << fmt::format(R"({{"time":900000,"type":"node.ready","node":"db-s{}-r0"}})"
                            "\n",
                            s);
    }
    events << R"({"time":1000000,"type":"phase.main","duration_ns":300000000000})"
              "\n";
    events
        << R"({"time":100000000000,"type":"fault.start","node":"db-s0-r0","nodes":["db-s0-r0"],"detail":"pause db-s0-r0 for 20s","fault":0,"action":"pause","target":"db-s0-r0"})"
           "\n";
    events << R"({"time":100000100000,"type":"node.paused","node":"db-s0-r0"})"
              "\n";
    events << R"({"time":120000000000,"type":"node.resumed","node":"db-s0-r0"})"
              "\n";
    events
        << R"({"time":120000000001,"type":"fault.end","node":"db-s0-r0","nodes":["db-s0-r0"],"detail":"resume","fault":0,"action":"pause","target":"db-s0-r0"})"
           "\n";
    events
        << R"({"time":200000000000,"type":"fault.start","detail":"partition","fault":1,"action":"partition","target":"db","nodes":["db-s1-r0","db-s2-r0"],"cuts":[["db-s1-r0","db-s2-r0"]]})"
           "\n";
    events
        << R"({"time":230000000000,"type":"fault.end","detail":"heal","fault":1,"action":"partition","target":"db","handle":1})"
           "\n";
    events << R"({"time":301000000000,"type":"run.stop","reason":"done"})"
              "\n";
    std::FILE* h = std::fopen((d / "history.jsonl").c_str(), "w");
    std::mt19937_64 rng(1);
    std::exponential_distribution<double> lat(1.0 / 800'000);
    const char* fs_[] = {"read", "write", "cas"};
    int64_t index = 0;
    const int64_t n = 1'000'000;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = 1'000'000 + i * 300'000;
      const int64_t p = i % 64;
      const char* f = fs_[i % 3];
      const bool paused = t > 100'000'000'000 && t < 120'000'000'000 && rng() % 3 == 0;
      const int64_t l = paused ? 1'000'000'000 : static_cast<int64_t>(lat(rng)) + 50'000;
      const char* type = paused ? "info" : (rng() % 200 == 0 ? "fail" : "ok");
      const uint64_t key = rng() % 1000;
      std::fprintf(
          h,
          "{\"index\":%lld,\"time\":%lld,\"process\":%lld,\"type\":\"invoke\",\"f\":\"%s\","
          "\"key\":\"register:k%llu\",\"value\":null}\n",
          static_cast<long long>(index++), static_cast<long long>(t), static_cast<long long>(p), f,
          static_cast<unsigned long long>(key));
      std::fprintf(h,
                   "{\"index\":%lld,\"time\":%lld,\"process\":%lld,\"type\":\"%s\",\"f\":\"%s\","
                   "\"key\":\"register:k%llu\",\"value\":%lld%s}\n",
                   static_cast<long long>(index++), static_cast<long long>(t + l),
                   static_cast<long long>(p), type, f, static_cast<unsigned long long>(key),
                   static_cast<long long>(i), paused ? ",\"error\":\"timeout\"" : "");
    }
    std::fclose(h);
    std::atexit([] {
      fs::remove_all(fs::temp_directory_path() / fmt::format("report-bench-{}", ::getpid()));
    });
    return d;
  }();
  return dir;
}

void BM_LoadRun1M(benchmark::State& state) {
  const auto& dir = synthetic_run();
  for (auto _ : state) {
    auto d = fl::report::load_run(dir);
    benchmark::DoNotOptimize(d);
  }
  state.counters["history_MB"] = static_cast<double>(fs::file_size(dir / "history.jsonl")) / 1e6;
}
BENCHMARK(BM_LoadRun1M)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_RenderHtml1M(benchmark::State& state) {
  const auto& dir = synthetic_run();
  auto d = fl::report::load_run(dir);
  size_t bytes = 0;
  for (auto _ : state) {
    auto page = fl::report::render_html(*d);
    bytes = page.size();
    benchmark::DoNotOptimize(page);
  }
  state.counters["page_KB"] = static_cast<double>(bytes) / 1024;
}
BENCHMARK(BM_RenderHtml1M)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_WriteHtmlReport1M(benchmark::State& state) {
  const auto& dir = synthetic_run();
  for (auto _ : state) {
    auto r = fl::report::write_html_report(dir);
    benchmark::DoNotOptimize(r);
  }
  state.counters["page_KB"] = static_cast<double>(fs::file_size(dir / "report.html")) / 1024;
}
BENCHMARK(BM_WriteHtmlReport1M)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
