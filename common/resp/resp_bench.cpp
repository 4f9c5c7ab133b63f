// Parse and encode throughput of fl::resp. Input is fed through prepare/commit in 16 KiB reads,
// as the server does, so the copy a socket read would make is part of every number.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/resp/resp.h"

namespace fl::resp {
namespace {

constexpr size_t kReadSize = 16 * 1024;

void feed_read(Parser& p, std::string_view part) {
  auto space = p.prepare(part.size());
  std::memcpy(space.data(), part.data(), part.size());
  p.commit(part.size());
}

// Feeds `stream` in kReadSize reads, draining commands after each; returns commands parsed.
size_t parse_commands(Parser& p, std::string_view stream, std::vector<std::string_view>& argv) {
  size_t commands = 0;
  for (size_t at = 0; at < stream.size(); at += kReadSize) {
    feed_read(p, stream.substr(at, kReadSize));
    while (p.next_command(argv) == Status::ok) {
      benchmark::DoNotOptimize(argv.data());
      ++commands;
    }
  }
  return commands;
}

void run_command_stream(benchmark::State& state, const std::string& stream, size_t per_stream) {
  Parser p;
  std::vector<std::string_view> argv;
  for (auto _ : state) {
    if (parse_commands(p, stream, argv) != per_stream) state.SkipWithError("lost commands");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_stream));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}

// (a) Pipelined SET key:000123 <16 bytes> / GET key:000123, alternating.
void BM_PipelinedSetGet(benchmark::State& state) {
  std::string stream;
  Writer w(stream);
  constexpr size_t kCommands = 10000;
  for (size_t i = 0; i < kCommands; i += 2) {
    char key[16];
    std::snprintf(key, sizeof key, "key:%06zu", i % 1000000);
    w.command({"SET", key, "0123456789abcdef"});
    w.command({"GET", key});
  }
  run_command_stream(state, stream, kCommands);
}
BENCHMARK(BM_PipelinedSetGet);

// (b) Pipelined SET with 1 KiB values.
void BM_Pipelined1KiBSet(benchmark::State& state) {
  std::string stream;
  Writer w(stream);
  const std::string value(1024, 'v');
  constexpr size_t kCommands = 1000;
  for (size_t i = 0; i < kCommands; ++i) w.command({"SET", "key:000123", value});
  run_command_stream(state, stream, kCommands);
}
BENCHMARK(BM_Pipelined1KiBSet);

// (c) One SET with a 1 MiB value arriving in 16 KiB reads.
void BM_OneMiBBulkIn16KiBReads(benchmark::State& state) {
  std::string stream;
  Writer(stream).command({"SET", "big", std::string(1 << 20, 'v')});
  run_command_stream(state, stream, 1);
}
BENCHMARK(BM_OneMiBBulkIn16KiBReads);

// (d) next() on a reply: an array of 100 bulk strings (as LRANGE or MGET would return).
void BM_NextReplyArray100(benchmark::State& state) {
  std::string reply;
  Writer w(reply);
  w.array_header(100);
  for (int i = 0; i < 100; ++i) w.bulk("value:0123456789");
  Parser p;
  Value v;
  for (auto _ : state) {
    feed_read(p, reply);
    if (p.next(v) != Status::ok) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(v.elements.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * reply.size()));
  state.counters["elements/s"] = benchmark::Counter(static_cast<double>(state.iterations() * 100),
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NextReplyArray100);

// (e) Writer: bulk replies (GET hits) of 16 bytes, 1000 per output buffer.
void BM_WriterBulkReplies(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const std::string value(size, 'v');
  std::string out;
  constexpr size_t kReplies = 1000;
  for (auto _ : state) {
    out.clear();
    Writer w(out);
    for (size_t i = 0; i < kReplies; ++i) w.bulk(value);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kReplies));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_WriterBulkReplies)->Arg(16)->Arg(1024);

}  // namespace
}  // namespace fl::resp
