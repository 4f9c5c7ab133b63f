// What report.html shows, loaded from a run directory (docs/report.md): results.json, the fault
// windows, node states and phases of events.jsonl, the cluster of cluster.json, and the history
// reduced to time bins as it streams past (OpBinner): a history of millions of operations is
// never held whole, and each bin keeps a bounded sample of its operations plus their extremes.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "harness/report/results.h"

namespace fl::report {

enum class Outcome : uint8_t { ok, fail, info };
inline constexpr size_t kOutcomes = 3;

// One completed operation as the plots see it.
struct OpPoint {
  int64_t time = 0;     // ns since the run began: when it was invoked (the intended start)
  int64_t latency = 0;  // ns: completion time - invoke time
};

// Latencies on a log scale, 16 buckets per power of two (about 4% wide), 1 ns .. ~2^42 ns.
class LatencyHistogram {
 public:
  static constexpr int kSubBuckets = 16;
  static constexpr int kBuckets = 42 * kSubBuckets;
  void add(int64_t latency_ns);
  void merge(const LatencyHistogram& other);
  int64_t count() const { return count_; }
  // The q-quantile (0 < q <= 1) in ns, within a bucket's width; 0 when empty.
  double quantile(double q) const;

 private:
  static int bucket_of(int64_t ns);
  std::vector<uint32_t> buckets_;  // allocated on first add
  int64_t count_ = 0;
  int64_t max_ = 0;
};

// The operations of one (operation kind, outcome) in one bin: how many, a bounded sample, and the
// fastest and slowest (always kept).
struct Cell {
  int64_t count = 0;
  std::vector<OpPoint> sample;  // at most OpBinner::Options::sample_per_cell, excluding min/max
  OpPoint min{0, INT64_MAX}, max{0, -1};
};

struct Bin {
  std::vector<Cell> cells;   // index f * kOutcomes + outcome; grows with the kinds seen
  LatencyHistogram latency;  // every completed operation of the bin
  // Operations that completed in this bin (by completion time, unlike the cells), per outcome.
  std::array<int64_t, kOutcomes> completed{};
  // Per shard: operations with a key of the shard, and how many of them were served (ok, or a
  // fail answered on purpose). Sized to the shard count.
  std::vector<int64_t> shard_total, shard_served;
};

// Reduces a stream of completed operations to at most `max_bins` equal time bins. Bins start
// `initial_width` wide and double (neighbours merged) whenever an operation would fall beyond
// the last, so the span need not be known in advance. Memory: O(max_bins × kinds × sample).
class OpBinner {
 public:
  struct Options {
    size_t max_bins = 600;
    int64_t initial_width = 10'000'000;  // ns
    size_t sample_per_cell = 6;
    int shards = 0;  // 0: no per-shard counts
  };
  explicit OpBinner(Options options);

  // Registers an operation kind ("read", "write"); returns its index (stable).
  uint16_t kind(std::string_view f);
  // `shard` is -1 for an operation without a key (or when shards are off).
  void add(uint16_t f, Outcome outcome, OpPoint p, int shard, bool served);

  int64_t width() const { return width_; }
  const std::vector<Bin>& bins() const { return bins_; }
  const std::vector<std::string>& kinds() const { return kinds_; }
  int shards() const { return o_.shards; }
  int64_t total() const { return total_; }
  int64_t keyed() const { return keyed_; }
  // Totals per kind and outcome over the whole history.
  int64_t count(uint16_t f, Outcome o) const;
  // The extremes of the whole history (max latency point), for tests and the page's text.
  OpPoint max_latency() const { return max_; }

 private:
  void grow_to(size_t index);
  void merge_pairs();
  void merge_cell(Cell& into, Cell&& from);
  uint64_t next_random();

  Options o_;
  int64_t width_;
  std::vector<Bin> bins_;
  std::vector<std::string> kinds_;
  std::unordered_map<std::string, uint16_t> kind_ids_;
  std::vector<int64_t> totals_;  // f * kOutcomes + outcome
  int64_t total_ = 0, keyed_ = 0;
  OpPoint max_{0, -1};
  uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
};

// A node's state over an interval, derived from node.* and fault.* events.
struct NodeSpan {
  // stopped: exited because the harness asked (the end of the run, a requested restart).
  enum class State : uint8_t { starting, up, down, paused, cut, slow, stopped } state = State::up;
  int64_t start = 0, end = 0;
  std::string why;  // the event detail that began it
};

struct ClusterNode {
  std::string id, kind, group;
  int shard = -1;
  std::vector<NodeSpan> spans;  // in time order, covering [first spawn, run end]
};

struct PhaseMark {
  std::string name;  // "main", "recovery", "final-reads", ...
  int64_t start = 0;
  std::optional<int64_t> duration;
};

struct RunData {
  std::filesystem::path dir;
  std::optional<RunReport> results;  // nullopt when results.json is missing or unreadable
  std::vector<ClusterNode> nodes;
  std::vector<FaultWindow> faults;  // in start order
  std::vector<PhaseMark> phases;
  int shards = 0;   // db shards (from cluster.json); 1 when only keyless nodes exist
  int64_t end = 0;  // ns: the run's end (run.stop, or the last event or operation)
  OpBinner ops{{}};
  int64_t never_completed = 0;  // invokes without a completion
  // Problems that did not stop the page (a missing file, a malformed line): shown on it.
  std::vector<std::string> warnings;
};

struct LoadOptions {
  size_t max_bins = 600;
  size_t sample_per_cell = 6;
};

// Loads a run directory. Only a missing directory is an error; missing or malformed files
// become warnings so a crashed run still gets a page.
result<RunData> load_run(const std::filesystem::path& dir, const LoadOptions& options = {});

// Streams history.jsonl into `data.ops` (exposed for the benchmark and tests).
void load_history(const std::filesystem::path& file, RunData& data, const LoadOptions& options);

}  // namespace fl::report
