// Write-ahead log throughput: append + sync() per record, as a master does before acknowledging
// each write, for each fsync policy and for 32-byte and 1 KiB records. The log lives in
// $TMPDIR (so the figures are those of that file system) and is compacted every 100k records,
// outside the timing, to bound its size.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "nodes/db/wal.h"

namespace fl::db {
namespace {

namespace fs = std::filesystem;

void BM_AppendSync(benchmark::State& state) {
  const auto policy = static_cast<FsyncPolicy>(state.range(0));
  const auto size = static_cast<size_t>(state.range(1));
  std::string tmpl = (fs::temp_directory_path() / "wal_bench.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const fs::path dir = tmpl;
  {
    WalRecovery rec;
    auto wal = Wal::open(dir, policy, rec);
    if (!wal) {
      state.SkipWithError(wal.error().message.c_str());
      return;
    }
    WalRecord r{0, 1, std::string(size, 'v')};
    for (auto _ : state) {
      r.index = (*wal)->last_index() + 1;
      (*wal)->append(r);
      if (!(*wal)->sync()) {
        state.SkipWithError("sync failed");
        break;
      }
      if (r.index % 100'000 == 0) {
        state.PauseTiming();
        (void)(*wal)->write_snapshot(WalSnapshot{r.index, 1, ""});
        state.ResumeTiming();
      }
    }
    const WalStats st = (*wal)->stats();
    state.counters["fsyncs"] = static_cast<double>(st.fsyncs);
    state.counters["last_fsync_us"] = static_cast<double>(st.last_fsync_us);
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
    state.SetLabel(std::string(to_string(policy)));
  }
  fs::remove_all(dir);
}

// Group commit under `always`: `batch` appends, then one sync() for all of them.
void BM_GroupCommitAlways(benchmark::State& state) {
  const auto batch = static_cast<uint64_t>(state.range(0));
  std::string tmpl = (fs::temp_directory_path() / "wal_bench.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const fs::path dir = tmpl;
  {
    WalRecovery rec;
    auto wal = Wal::open(dir, FsyncPolicy::always, rec);
    if (!wal) {
      state.SkipWithError(wal.error().message.c_str());
      return;
    }
    WalRecord r{0, 1, std::string(32, 'v')};
    for (auto _ : state) {
      for (uint64_t i = 0; i < batch; ++i) {
        r.index = (*wal)->last_index() + 1;
        (*wal)->append(r);
      }
      if (!(*wal)->sync()) {
        state.SkipWithError("sync failed");
        break;
      }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
  }
  fs::remove_all(dir);
}

BENCHMARK(BM_GroupCommitAlways)->ArgName("batch")->Arg(16)->Arg(128)->UseRealTime();

BENCHMARK(BM_AppendSync)
    ->ArgNames({"policy", "bytes"})
    ->ArgsProduct({{static_cast<int64_t>(FsyncPolicy::always),
                    static_cast<int64_t>(FsyncPolicy::everysec),
                    static_cast<int64_t>(FsyncPolicy::never)},
                   {32, 1024}})
    ->UseRealTime();

}  // namespace
}  // namespace fl::db
