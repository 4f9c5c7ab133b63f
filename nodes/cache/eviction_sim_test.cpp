// Hit-ratio simulation of the eviction policies (read-through: a miss installs the key), under
// the workloads the cache plans use. Prints the table quoted in docs/reference-cache.md and
// checks the orderings that decide which policies the node offers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "nodes/cache/cache_store.h"

namespace fl::cache {
namespace {

class Zipf {
 public:
  Zipf(size_t n, double theta) : cdf_(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += 1.0 / std::pow(static_cast<double>(i + 1), theta);
    double acc = 0;
    for (size_t i = 0; i < n; ++i) {
      acc += 1.0 / std::pow(static_cast<double>(i + 1), theta) / sum;
      cdf_[i] = acc;
    }
  }
  size_t next(std::mt19937_64& rng) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

enum class Load { zipf, zipf_scan, scan_loop, shifting };

const char* name(Load l) {
  switch (l) {
    case Load::zipf: return "zipf 0.99";
    case Load::zipf_scan: return "zipf + scans";
    case Load::scan_loop: return "scan loop";
    case Load::shifting: return "shifting zipf";
  }
  return "?";
}

// Hit ratio of reads only of the zipfian part (scans' own misses are not the point).
double simulate(Eviction e, Load load) {
  constexpr size_t kKeys = 20000;
  constexpr size_t kCapacityEntries = 1000;
  constexpr int kOps = 400000;
  StoreOptions o;
  o.eviction = e;
  o.capacity = kCapacityEntries * CacheStore::charge("k00000", "0123456789");
  CacheStore store(o);
  std::mt19937_64 rng(42);
  Zipf zipf(kKeys, 0.99);
  const std::string value = "0123456789";
  uint64_t hits = 0, reads = 0;
  size_t scan_pos = 0;
  char key[32];
  for (int i = 0; i < kOps; ++i) {
    bool counted = true;
    if (load == Load::scan_loop) {
      // A working set twice the capacity read in order, over and over.
      std::snprintf(key, sizeof key, "k%05zu", scan_pos++ % (2 * kCapacityEntries));
    } else if (load == Load::zipf_scan && (i / 20000) % 2 == 1 && i % 2 == 0) {
      // Every other 20k operations, half the reads are a one-pass scan of cold keys.
      std::snprintf(key, sizeof key, "s%07zu", scan_pos++);
      counted = false;
    } else if (load == Load::shifting) {
      // The hot set moves to other keys every 50k operations.
      const size_t shift = static_cast<size_t>(i / 50000) * 5000;
      std::snprintf(key, sizeof key, "k%05zu", (zipf.next(rng) + shift) % kKeys);
    } else {
      std::snprintf(key, sizeof key, "k%05zu", zipf.next(rng));
    }
    const bool hit = store.get(key, 0) != nullptr;
    if (!hit) store.put(key, value, 0);
    if (counted && i >= kOps / 10) {  // after warm-up
      ++reads;
      hits += hit ? 1 : 0;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(reads);
}

TEST(EvictionSim, HitRatios) {
  double r[4][3];
  std::printf("%-14s %8s %8s %8s\n", "workload", "lru", "lfu", "tinylfu");
  for (Load l : {Load::zipf, Load::zipf_scan, Load::scan_loop, Load::shifting}) {
    const int li = static_cast<int>(l);
    for (Eviction e : {Eviction::lru, Eviction::lfu, Eviction::tinylfu}) {
      r[li][static_cast<int>(e)] = simulate(e, l);
    }
    std::printf("%-14s %8.3f %8.3f %8.3f\n", name(l), r[li][0], r[li][1], r[li][2]);
  }
  const int z = static_cast<int>(Load::zipf), zs = static_cast<int>(Load::zipf_scan),
            loop = static_cast<int>(Load::scan_loop);
  const int lru = 0, lfu = 1, tiny = 2;
  // Frequency beats recency on a skewed load, and more so when scans pass through.
  EXPECT_GT(r[z][lfu], r[z][lru]);
  EXPECT_GT(r[zs][lfu], r[zs][lru]);
  // A cyclic scan larger than the cache is LRU's worst case: every read misses.
  EXPECT_LT(r[loop][lru], 0.01);
  // TinyLFU admission keeps part of a looping working set (it refuses most newcomers).
  EXPECT_GT(r[loop][tiny], 0.2);
  EXPECT_GT(r[zs][tiny], r[zs][lru]);
}

}  // namespace
}  // namespace fl::cache
