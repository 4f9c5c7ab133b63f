// The linearizability checker at scale: a simulated history of 1,000,000 register operations over
// 1,000 keys (50 processes, 5% crashes), checked per key on every core. Also times
// history::Writer on the same ops. With FL_WRITE_HISTORY=path set, the history is written there
// as history.jsonl, for timing `faultline check` on it (bench/check_vs_porcupine.sh).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "harness/check/linearizable.h"
#include "harness/check/register_sim.h"
#include "harness/history/compact.h"

namespace fl::check {
namespace {

const std::vector<history::Op>& million_ops() {
  static const std::vector<history::Op> ops = [] {
    Rng rng(20240601);
    sim::Options o;
    o.processes = 50;
    o.ops = 1'000'000;
    o.keys = 1000;
    o.crash = 0.05;
    auto h = sim::to_history(sim::simulate(rng, o), o.keys);
    if (const char* path = std::getenv("FL_WRITE_HISTORY")) {
      auto w = history::Writer::open(path);
      if (w) {
        for (const auto& op : h) (*w)->append(op);
        (*w)->close();
      }
    }
    return h;
  }();
  return ops;
}

void BM_Linearizable1MOps1KKeys(benchmark::State& state) {
  const auto& ops = million_ops();
  for (auto _ : state) {
    auto c = history::compact(ops);
    if (!c) state.SkipWithError(c.error().message.c_str());
    LinearizableOptions o;
    o.model = "cas-register";
    auto r = check_linearizable(*c, o);
    if (!r || r->verdict != Verdict::valid) state.SkipWithError("expected valid");
    state.counters["ops"] = static_cast<double>(r->ops);
    state.counters["keys"] = static_cast<double>(r->keys);
    state.counters["steps"] = static_cast<double>(r->search_steps);
    state.counters["bytes_per_op"] = static_cast<double>(sizeof(history::CompactOp));
  }
}
BENCHMARK(BM_Linearizable1MOps1KKeys)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_WriterAppend(benchmark::State& state) {
  const auto& ops = million_ops();
  auto path = std::filesystem::temp_directory_path() / "fl-bench-history.jsonl";
  for (auto _ : state) {
    auto w = history::Writer::open(path);
    for (size_t i = 0; i < 200'000; ++i) (*w)->append(ops[i]);
    (*w)->close();
  }
  std::filesystem::remove(path);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 200'000);
}
BENCHMARK(BM_WriterAppend)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace fl::check
