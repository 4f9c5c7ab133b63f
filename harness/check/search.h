// Internal: Wing & Gong's linearizability search with Lowe's memoization, over one key's ops.
//
// The history is a doubly linked list of call and return entries in time order. The search
// walks it: at a call it tries to linearize that op next (the model must accept it from the
// current state, and the pair (linearized set, new state) must be new to the cache); on success
// it removes the op's call and return from the list and restarts from the head; at a return it
// backtracks (that op had to be linearized before anything later). Ops that never return (info,
// pending, optional) have no return entry: they never force a backtrack, so the search succeeds
// as soon as every op with a return is linearized.
//
// The linearized set is a bitset with a Zobrist hash kept up to date by XOR, so a cache probe
// costs one hash of 8 bytes plus a memcmp of the bitset on a hit. The cache is an open-addressing
// table over an arena of bitsets; nothing is allocated in the loop except when they grow.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "harness/check/models.h"

namespace fl::check::lin {

enum class Outcome { linearizable, violation, budget };

// Shared by the searches of one check.
struct Budget {
  std::chrono::steady_clock::time_point deadline;
  uint64_t memory_limit = 0;
  std::atomic<uint64_t> memory_used{0};
  std::atomic<bool> exhausted{false};
  std::atomic<bool> out_of_memory{false};

  bool charge(int64_t bytes) {
    uint64_t now =
        memory_used.fetch_add(static_cast<uint64_t>(bytes)) + static_cast<uint64_t>(bytes);
    if (bytes > 0 && now > memory_limit) {
      out_of_memory = true;
      exhausted = true;
      return false;
    }
    return true;
  }
};

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// (linearized bitset, state) pairs seen so far.
class Cache {
 public:
  // Takes this thread's tables from the last search, if small enough to be worth clearing:
  // fresh tables of a megabyte or more cost page faults on first touch.
  Cache(size_t words, Budget& budget) : words_(words), budget_(budget) {
    Pool& p = pool();
    slots_.swap(p.slots);
    arena_.swap(p.arena);
    slots_.assign(1024, Slot{});  // keeps the capacity
    arena_.clear();
    account();
  }
  ~Cache() {
    budget_.charge(-charged_);
    if (slots_.capacity() <= kPooledSlots && arena_.capacity() <= 4 * kPooledSlots) {
      Pool& p = pool();
      slots_.swap(p.slots);
      arena_.swap(p.arena);
    }
  }
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Inserts the pair; false if it was already there. Sets `full` when the memory budget is out.
  bool insert(uint64_t zobrist, uint32_t state, const uint64_t* bits, bool& full) {
    if ((count_ + 1) * 2 > slots_.size() && !grow()) {
      full = true;
      return false;
    }
    uint64_t h = mix64(zobrist ^ (uint64_t{state} * 0x9e3779b97f4a7c15ULL));
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.entry == kEmpty) {
        if (arena_.size() + words_ > arena_.capacity() && !reserve_arena()) {
          full = true;
          return false;
        }
        s = Slot{h, state, static_cast<uint32_t>(count_)};
        arena_.insert(arena_.end(), bits, bits + words_);
        ++count_;
        return true;
      }
      if (s.hash == h && s.state == state &&
          std::memcmp(&arena_[size_t{s.entry} * words_], bits, words_ * sizeof(uint64_t)) == 0) {
        return false;
      }
    }
  }
  size_t size() const { return count_; }

 private:
  static constexpr uint32_t kEmpty = 0xffffffffu;
  static constexpr size_t kPooledSlots = 1 << 17;
  struct Slot {
    uint64_t hash = 0;
    uint32_t state = 0;
    uint32_t entry = kEmpty;
  };
  struct Pool {
    std::vector<Slot> slots;
    std::vector<uint64_t> arena;
  };
  static Pool& pool() {
    thread_local Pool p;
    return p;
  }

  bool account() {
    int64_t bytes = static_cast<int64_t>(slots_.capacity() * sizeof(Slot) +
                                         arena_.capacity() * sizeof(uint64_t));
    int64_t delta = bytes - charged_;
    charged_ = bytes;
    return budget_.charge(delta);
  }
  bool grow() {
    if (count_ >= 0xfffffff0u) return false;
    std::vector<Slot> old(slots_.begin(), slots_.end());
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.entry == kEmpty) continue;
      size_t i = s.hash & mask;
      while (slots_[i].entry != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
    return account();
  }
  bool reserve_arena() {
    arena_.reserve(std::max<size_t>(arena_.capacity() * 2, words_ * 1024));
    return account();
  }

  size_t words_;
  Budget& budget_;
  std::vector<Slot> slots_;
  std::vector<uint64_t> arena_;
  size_t count_ = 0;
  int64_t charged_ = 0;
};

struct Stats {
  uint64_t steps = 0;
  size_t cache_entries = 0;
};

// Charges the growth of a model's intern tables (the states it built) to the budget.
template <class Model>
bool charge_model(Model& m, Budget& budget) {
  if constexpr (requires { m.bytes(); }) {
    size_t b = m.bytes();
    if (b <= m.charged) return !budget.exhausted;
    int64_t delta = static_cast<int64_t>(b - m.charged);
    m.charged = b;
    return budget.charge(delta);
  } else {
    return true;
  }
}

// Searches for a linearization of `ops` (any order; kinds[i] belongs to ops[i]) from `init`.
// Lookahead for models whose state only grows (kv-append strings, sets): the first pending read
// in the list must be linearized before anything after its completion; if no op that could
// reset the state can come first and the model says the read's value can no longer be reached
// from `state`, this configuration is a dead end. Sound: may_reach may say yes wrongly, never no.
template <class Model>
bool unreachable_read(Model& model, uint32_t state, const std::vector<POp>& ops,
                      const std::vector<Kind>& kinds, const std::vector<int32_t>& next,
                      int32_t head, int32_t n, const std::vector<int32_t>& op_of_return) {
  int32_t read = -1, end = -1;
  int walked = 0;
  for (int32_t x = next[head]; x >= 0 && walked < 64; x = next[x], ++walked) {
    if (x >= n && kinds[op_of_return[x - n]] == kRead) {
      read = op_of_return[x - n];
      end = x;
      break;
    }
  }
  if (read < 0 || model.may_reach(state, ops[read])) return false;
  for (int32_t x = next[head]; x != end; x = next[x]) {
    if (x < n && model.may_reset(ops[x], kinds[x], ops[read])) return false;
  }
  return true;
}

// `max_steps` (0: none) bounds this search alone, deterministically; past it the outcome is
// `budget` but the shared budget is not marked exhausted.
template <class Model>
Outcome search(Model& model, const std::vector<POp>& ops, const std::vector<Kind>& kinds,
               uint32_t init, Budget& budget, Stats* stats = nullptr, uint64_t max_steps = 0) {
  const int32_t n = static_cast<int32_t>(ops.size());
  if (budget.exhausted) return Outcome::budget;
  // Entries: [0, n) calls (entry i is op i's call), [n, n + returns) returns, then the head.
  struct Event {
    int64_t time;
    int32_t id;  // entry id
    bool ret;
  };
  std::vector<Event> order;
  order.reserve(2 * ops.size());
  std::vector<int32_t> match(ops.size(), -1);
  std::vector<int32_t> op_of_return;  // return entry id - n -> op
  int32_t entries = n;
  int32_t finite = 0;
  for (int32_t i = 0; i < n; ++i) {
    order.push_back({ops[i].call, i, false});
    if (ops[i].ret != history::kNever) {
      match[i] = entries;
      op_of_return.push_back(i);
      order.push_back({ops[i].ret, entries++, true});
      ++finite;
    }
  }
  // Calls before returns at equal times: ops that touch at an instant are concurrent.
  std::sort(order.begin(), order.end(), [](const Event& x, const Event& y) {
    if (x.time != y.time) return x.time < y.time;
    if (x.ret != y.ret) return !x.ret;
    return x.id < y.id;
  });
  // Ops that never return and do the same thing (same kind and arguments) are interchangeable;
  // the search only linearizes the earliest-called of a set of twins first (symmetry reduction:
  // the earlier one is available wherever the later one is).
  std::vector<int32_t> twin(ops.size(), -1);
  {
    struct TwinKey {
      uint32_t kind, a, b, out;
      bool operator==(const TwinKey&) const = default;
    };
    struct TwinHash {
      size_t operator()(const TwinKey& k) const {
        return mix64((uint64_t{k.kind} << 32 | k.a) ^ mix64(uint64_t{k.b} << 32 | k.out));
      }
    };
    std::unordered_map<TwinKey, int32_t, TwinHash> last_twin;
    for (const Event& ev : order) {
      if (ev.ret || ev.id >= n || ops[ev.id].ret != history::kNever) continue;
      const POp& o = ops[ev.id];
      auto [it, fresh] = last_twin.try_emplace(TwinKey{kinds[ev.id], o.a, o.b, o.out}, ev.id);
      if (!fresh) {
        twin[ev.id] = it->second;
        it->second = ev.id;
      }
    }
  }
  const int32_t head = entries;
  std::vector<int32_t> next(static_cast<size_t>(entries) + 1),
      prev(static_cast<size_t>(entries) + 1);
  int32_t last = head;
  for (const Event& e : order) {
    next[last] = e.id;
    prev[e.id] = last;
    last = e.id;
  }
  next[last] = -1;

  auto lift = [&](int32_t e) {
    next[prev[e]] = next[e];
    if (next[e] >= 0) prev[next[e]] = prev[e];
  };
  auto unlift = [&](int32_t e) {
    next[prev[e]] = e;
    if (next[e] >= 0) prev[next[e]] = e;
  };

  const size_t words = (ops.size() + 63) / 64;
  std::vector<uint64_t> bits(std::max<size_t>(words, 1), 0);
  std::vector<uint64_t> zobrist(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) zobrist[i] = mix64(0x9e3779b97f4a7c15ULL * (i + 1));
  uint64_t hash = 0;
  Cache cache(std::max<size_t>(words, 1), budget);

  struct Frame {
    int32_t entry;
    uint32_t state;
    bool forced;
  };
  std::vector<Frame> stack;
  stack.reserve(ops.size());

  uint32_t state = init;
  int32_t remaining = finite;
  int32_t e = next[head];
  uint64_t steps = 0;
  Outcome result = Outcome::linearizable;
  while (remaining > 0) {
    if ((++steps & 0x3ff) == 0) {
      if (max_steps && steps > max_steps) {
        result = Outcome::budget;
        break;
      }
      if (budget.exhausted || std::chrono::steady_clock::now() > budget.deadline ||
          !charge_model(model, budget)) {
        budget.exhausted = true;
        result = Outcome::budget;
        break;
      }
    }
    if (e >= 0 && e < n) {
      if (int32_t t = twin[e]; t >= 0 && !(bits[t >> 6] >> (t & 63) & 1)) {
        e = next[e];
        continue;
      }
      uint32_t next_state;
      if (!model.step(state, ops[e], kinds[e], next_state)) {
        e = next[e];
        continue;
      }
      const bool returns = match[e] >= 0;
      if (!returns && next_state == state) {
        // Linearizing an op that need never be linearized, with no effect now, leads nowhere
        // that leaving it out does not.
        e = next[e];
        continue;
      }
      // An op that never changes the state (a read, a failed cas) and can go now may as well go
      // now: any linearization placing it later still works with it moved here. So it is not a
      // choice point: if its configuration is known to fail, so is this one.
      const bool forced = returns && preserves_state(kinds[e]) && next_state == state;
      size_t w = static_cast<size_t>(e) >> 6;
      uint64_t bit = uint64_t{1} << (e & 63);
      bits[w] |= bit;
      hash ^= zobrist[e];
      bool full = false;
      if (cache.insert(hash, next_state, bits.data(), full)) {
        stack.push_back({e, state, forced});
        state = next_state;
        if (returns) {
          --remaining;
          lift(match[e]);
        }
        lift(e);
        e = next[head];
        if constexpr (requires { model.may_reach(state, ops[0]); }) {
          if (unreachable_read(model, state, ops, kinds, next, head, n, op_of_return)) e = -1;
        }
        continue;
      }
      if (full) {
        result = Outcome::budget;
        break;
      }
      bits[w] &= ~bit;
      hash ^= zobrist[e];
      if (!forced) {
        e = next[e];
        continue;
      }
    }
    // A return entry (or the end of the list, or a forced op that fails): something before it
    // must be undone. Forced ops are undone without trying alternatives after them.
    bool found = false;
    while (!stack.empty()) {
      Frame f = stack.back();
      stack.pop_back();
      state = f.state;
      bits[static_cast<size_t>(f.entry) >> 6] &= ~(uint64_t{1} << (f.entry & 63));
      hash ^= zobrist[f.entry];
      unlift(f.entry);
      if (match[f.entry] >= 0) {
        ++remaining;
        unlift(match[f.entry]);
      }
      if (!f.forced) {
        e = next[f.entry];
        found = true;
        break;
      }
    }
    if (!found) {
      result = Outcome::violation;
      break;
    }
  }
  if (stats) {
    stats->steps += steps;
    stats->cache_entries += cache.size();
  }
  return result;
}

}  // namespace fl::check::lin
