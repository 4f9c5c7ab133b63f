// Throughput of the checkers other than linearizable on synthetic histories of realistic shape.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>

#include "harness/check/availability.h"
#include "harness/check/counter.h"
#include "harness/check/log_check.h"
#include "harness/check/perf.h"
#include "harness/check/set_full.h"
#include "harness/check/staleness.h"
#include "harness/check/total_queue.h"

namespace fl::check {
namespace {

using history::Op;
using history::Type;
using history::Value;

// Appends an invoke/completion pair; `processes` run round-robin with overlapping times.
struct Gen {
  std::vector<Op> ops;
  std::mt19937_64 rng{42};
  int64_t now = 0;

  void op(int64_t process, std::string key, std::string f, Value in, Type t, Value out) {
    now += 1000;
    const int64_t lat = 100'000 + static_cast<int64_t>(rng() % 2'000'000);
    Op a;
    a.index = static_cast<int64_t>(ops.size());
    a.time = now;
    a.process = process;
    a.f = f;
    a.key = key;
    a.value = std::move(in);
    ops.push_back(a);
    Op b = ops.back();
    b.index = a.index + 1;
    b.time = now + lat;
    b.type = t;
    b.value = std::move(out);
    ops.push_back(std::move(b));
  }
};

const std::vector<RunEvent> kNoEvents;

// `n` operations on 100 keys: reads and writes, 1% fail, 1% info.
Gen mixed(int64_t n) {
  Gen g;
  for (int64_t i = 0; i < n; ++i) {
    const auto r = g.rng() % 100;
    const Type t = r == 0 ? Type::fail : r == 1 ? Type::info : Type::ok;
    g.op(i, "k" + std::to_string(i % 100), r % 2 ? "read" : "add", Value::of(int64_t{1}), t,
         Value::null());
  }
  return g;
}

void BM_Perf(benchmark::State& state) {
  Gen g = mixed(state.range(0));
  const history::Compact gc = *history::compact(g.ops);
  for (auto _ : state) benchmark::DoNotOptimize(check_perf(Input{gc, kNoEvents}));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Perf)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_Availability(benchmark::State& state) {
  Gen g = mixed(state.range(0));
  std::vector<RunEvent> events;
  for (int i = 0; i < 100; ++i) events.push_back({g.now / 100 * i, "fault.start", "db", ""});
  const history::Compact gc = *history::compact(g.ops);
  for (auto _ : state) {
    benchmark::DoNotOptimize(check_availability(Input{gc, events}, AvailabilityOptions{}));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Availability)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_Counter(benchmark::State& state) {
  Gen g;
  std::vector<int64_t> total(100, 0);
  for (int64_t i = 0; i < state.range(0); ++i) {
    const size_t k = i % 100;
    if (g.rng() % 2) {
      total[k] += 3;
      g.op(i, "k" + std::to_string(k), "add", Value::of(int64_t{3}), Type::ok,
           Value::of(int64_t{3}));
    } else {
      g.op(i, "k" + std::to_string(k), "read", Value::null(), Type::ok, Value::of(total[k]));
    }
  }
  const history::Compact gc = *history::compact(g.ops);
  for (auto _ : state) {
    benchmark::DoNotOptimize(check_counter(Input{gc, kNoEvents}, CounterOptions{}));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Counter)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_TotalQueue(benchmark::State& state) {
  Gen g;
  const int64_t n = state.range(0) / 2;
  for (int64_t i = 0; i < n; ++i) {
    g.op(i, "q" + std::to_string(i % 100), "enqueue", Value::of(i), Type::ok, Value::of(i));
  }
  for (int64_t i = 0; i < n; ++i) {
    g.op(i, "q" + std::to_string(i % 100), "dequeue", Value::null(), Type::ok, Value::of(i));
  }
  const history::Compact gc = *history::compact(g.ops);
  for (auto _ : state) {
    benchmark::DoNotOptimize(check_total_queue(Input{gc, kNoEvents}, TotalQueueOptions{}));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_TotalQueue)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// 100 keys; per key `range(0)` adds and one read after every 10 adds, each returning the set so
// far: read sizes grow to range(0), the shape that makes set-full quadratic in the worst case.
void BM_SetFull(benchmark::State& state) {
  Gen g;
  const int64_t adds = state.range(0);
  int64_t elements_read = 0;
  std::vector<std::vector<Value>> sets(100);
  for (int64_t i = 0; i < adds; ++i) {
    for (size_t k = 0; k < 100; ++k) {
      const Value e = Value::of(i);
      sets[k].push_back(e);
      g.op(static_cast<int64_t>(k), "s" + std::to_string(k), "add", e, Type::ok, e);
      if (i % 10 == 9) {
        g.op(1000 + static_cast<int64_t>(k), "s" + std::to_string(k), "read", Value::null(),
             Type::ok, Value::of(sets[k]));
        elements_read += static_cast<int64_t>(sets[k].size());
      }
    }
  }
  const history::Compact gc = *history::compact(g.ops);
  for (auto _ : state) {
    benchmark::DoNotOptimize(check_set_full(Input{gc, kNoEvents}, SetFullOptions{}));
  }
  state.counters["ops"] = static_cast<double>(g.ops.size() / 2);
  state.counters["elements_read"] = static_cast<double>(elements_read);
  state.SetItemsProcessed(state.iterations() * elements_read);
}
BENCHMARK(BM_SetFull)->Arg(300)->Arg(1000)->Unit(benchmark::kMillisecond);

// range(0) produces over 4 partitions, consumed 10 at a time, then replayed in pages of 500.
void BM_Log(benchmark::State& state) {
  Gen g;
  const int64_t n = state.range(0);
  auto str = [](std::string x) { return Value::of(std::move(x)); };
  std::vector<Value> entries;
  std::vector<int64_t> offsets(4, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = i % 4;
    const std::string id = std::to_string(p) + "-" + std::to_string(offsets[p]++);
    const std::string k = "k" + std::to_string(i % 100);
    g.op(i, "log", "produce", Value::of(std::vector<Value>{str(k), Value::of(i)}), Type::ok,
         Value::of(std::vector<Value>{str(k), Value::of(i), str(id)}));
    entries.push_back(Value::of(std::vector<Value>{str(id), str(k), Value::of(i)}));
  }
  int64_t proc = n;
  for (size_t i = 0; i < entries.size(); i += 10) {
    std::vector<Value> batch(entries.begin() + static_cast<ptrdiff_t>(i),
                             entries.begin() + static_cast<ptrdiff_t>(std::min(i + 10, entries.size())));
    g.op(proc++, "log", "consume", Value::null(), Type::ok, Value::of(std::move(batch)));
  }
  // Log order: partition-major.
  std::sort(entries.begin(), entries.end(), [](const Value& a, const Value& b) {
    return a.list[0].string.substr(0, 1) != b.list[0].string.substr(0, 1)
               ? a.list[0].string < b.list[0].string
               : a.list[2].integer < b.list[2].integer;
  });
  std::string start = "-";
  for (size_t i = 0; i <= entries.size(); i += 500) {
    std::vector<Value> page(entries.begin() + static_cast<ptrdiff_t>(std::min(i, entries.size())),
                            entries.begin() + static_cast<ptrdiff_t>(std::min(i + 500, entries.size())));
    const std::string next = page.empty() ? start : "(" + page.back().list[0].string;
    g.op(proc++, "log", "replay", Value::of(std::vector<Value>{str(start), Value::of(int64_t{500})}),
         Type::ok, Value::of(std::move(page)));
    start = next;
  }
  const history::Compact gc = *history::compact(g.ops);
  for (auto _ : state) {
    auto r = check_log(Input{gc, kNoEvents}, LogOptions{});
    if (r.verdict != Verdict::valid) state.SkipWithError(r.reason.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Log)->Arg(300'000)->Unit(benchmark::kMillisecond);

// 100 registers; writes of increasing values and reads of the latest or an older one.
void BM_Staleness(benchmark::State& state) {
  Gen g;
  std::vector<int64_t> last(100, 0);
  for (int64_t i = 0; i < state.range(0); ++i) {
    const size_t k = static_cast<size_t>(i % 100);
    if (g.rng() % 4 == 0) {
      last[k] = i + 1;
      g.op(i, "k" + std::to_string(k), "write", Value::of(i + 1), Type::ok, Value::of(i + 1));
    } else {
      const int64_t v = last[k];
      g.op(i, "k" + std::to_string(k), "read", Value::null(), Type::ok,
           v == 0 ? Value::null() : Value::of(v));
    }
  }
  const history::Compact gc = *history::compact(g.ops);
  for (auto _ : state) {
    benchmark::DoNotOptimize(check_staleness(Input{gc, kNoEvents}, StalenessOptions{}));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Staleness)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fl::check
