// Test support (unit tests and benchmarks only): histories of simulated linearizable registers,
// with known verdicts. Processes run one op at a time with random durations; each op takes
// effect atomically at a random point inside its interval, in the order of those points, so the
// history is linearizable by construction. Crashes end an op `info` (it took effect or not, at
// random) and the worker continues under a new process id. Every written value is unique, which
// lets `inject_stale_read` plant a definite violation.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "common/rng.h"
#include "harness/history/history.h"

namespace fl::check::sim {

struct Options {
  int processes = 4;
  int ops = 40;  // operations in total
  int keys = 1;  // keys "k0".."k{keys-1}"; 1 key writes no key field
  double crash = 0.05;
  double fail_write = 0.03;         // a write rejected up front (fail: did not happen)
  double read = 0.4, write = 0.35;  // the rest are cas
  bool nemesis = true;
};

struct SimOp {
  int64_t call, ret, lin;
  int64_t process;
  std::string f;
  int key;
  int64_t a = 0, b = 0;  // write value, or cas [a b]
  history::Type outcome = history::Type::ok;
  bool effect = true;   // took effect (ok, or info that happened)
  history::Value read;  // what a read returned
};

inline std::vector<SimOp> simulate(Rng& rng, const Options& o) {
  std::vector<SimOp> ops;
  std::vector<int64_t> clock(static_cast<size_t>(o.processes), 0);
  std::vector<int64_t> pid(static_cast<size_t>(o.processes));
  int64_t next_pid = 0;
  for (auto& p : pid) p = next_pid++;
  int64_t next_value = 1;
  for (int i = 0; i < o.ops; ++i) {
    auto w = static_cast<size_t>(rng.uniform(0, static_cast<uint64_t>(o.processes) - 1));
    SimOp op;
    // Times are multiples of 4 plus an offset per worker, so no two events share a time.
    op.call = (clock[w] + static_cast<int64_t>(rng.uniform(1, 6))) * 4 * o.processes +
              static_cast<int64_t>(w);
    int64_t dur = static_cast<int64_t>(rng.uniform(1, 12)) * 4 * o.processes;
    op.ret = op.call + dur;
    op.lin = op.call + 1 + static_cast<int64_t>(rng.uniform(0, static_cast<uint64_t>(dur - 2)));
    clock[w] = (op.ret - static_cast<int64_t>(w)) / (4 * o.processes);
    op.process = pid[w];
    op.key = static_cast<int>(rng.uniform(0, static_cast<uint64_t>(o.keys) - 1));
    double r = rng.unit();
    if (r < o.read) {
      op.f = "read";
    } else if (r < o.read + o.write) {
      op.f = "write";
      op.a = next_value++;
    } else {
      op.f = "cas";
      op.b = next_value++;
    }
    if (op.f == "write" && rng.chance(o.fail_write)) {
      op.outcome = history::Type::fail;
      op.effect = false;
    } else if (rng.chance(o.crash)) {
      op.outcome = history::Type::info;
      op.effect = rng.chance(0.5);
      op.lin = op.call + 1 + static_cast<int64_t>(rng.uniform(0, static_cast<uint64_t>(dur * 3)));
      pid[w] = next_pid++;
    }
    ops.push_back(op);
  }
  // Apply the ops in linearization order to the true registers.
  std::vector<size_t> order(ops.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return ops[x].lin < ops[y].lin; });
  std::map<int, int64_t> reg;  // absent = null (0 never written)
  std::vector<int64_t> recent;
  for (size_t i : order) {
    SimOp& op = ops[i];
    int64_t& cur = reg[op.key];
    if (op.f == "cas") {
      // Expect a value that is likely there: the current one, or a recent one.
      op.a =
          rng.chance(0.6) ? cur : (recent.empty() ? 0 : recent[rng.uniform(0, recent.size() - 1)]);
    }
    if (!op.effect) continue;
    if (op.f == "read") {
      op.read = cur ? history::Value::of(cur) : history::Value::null();
    } else if (op.f == "write") {
      cur = op.a;
      recent.push_back(op.a);
    } else if (cur == op.a) {
      cur = op.b;
      recent.push_back(op.b);
    } else if (op.outcome == history::Type::ok) {
      op.outcome = history::Type::fail;
    }
    if (recent.size() > 8) recent.erase(recent.begin());
  }
  // Reads that crashed observed nothing.
  return ops;
}

// Plants a definite violation: a read returns the value of a write W1 although another write
// W2 began after W1 completed and completed before the read began (values are unique, so
// nothing else wrote W1's value). Returns false when the history has no such triple.
inline bool inject_stale_read(Rng& rng, std::vector<SimOp>& ops) {
  std::vector<size_t> reads;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].f == "read" && ops[i].outcome == history::Type::ok) reads.push_back(i);
  }
  std::shuffle(reads.begin(), reads.end(), rng);
  for (size_t r : reads) {
    for (size_t w1 = 0; w1 < ops.size(); ++w1) {
      const SimOp& a = ops[w1];
      if (a.f != "write" || a.outcome != history::Type::ok || a.key != ops[r].key) continue;
      for (size_t w2 = 0; w2 < ops.size(); ++w2) {
        const SimOp& b = ops[w2];
        if (b.f != "write" || b.outcome != history::Type::ok || b.key != ops[r].key) continue;
        if (a.ret < b.call && b.ret < ops[r].call) {
          ops[r].read = history::Value::of(a.a);
          return true;
        }
      }
    }
  }
  return false;
}

// The history.jsonl form: invokes and completions in time order, with nemesis events mixed in.
inline std::vector<history::Op> to_history(const std::vector<SimOp>& sim, int keys,
                                           bool nemesis = false) {
  struct Ev {
    int64_t t;
    history::Op op;
  };
  std::vector<Ev> evs;
  auto value_pair = [](int64_t a, int64_t b) {
    return history::Value::of(std::vector<history::Value>{
        a ? history::Value::of(a) : history::Value::null(), history::Value::of(b)});
  };
  for (const SimOp& s : sim) {
    history::Op inv;
    inv.time = s.call;
    inv.process = s.process;
    inv.type = history::Type::invoke;
    inv.f = s.f;
    if (keys > 1) inv.key = "k" + std::to_string(s.key);
    if (s.f == "write") inv.value = history::Value::of(s.a);
    if (s.f == "cas") inv.value = value_pair(s.a, s.b);
    history::Op done = inv;
    done.time = s.ret;
    done.type = s.outcome;
    if (s.f == "read")
      done.value = s.outcome == history::Type::ok ? s.read : history::Value::null();
    if (s.outcome == history::Type::info) done.error = "timeout";
    evs.push_back({s.call, inv});
    evs.push_back({s.ret, done});
  }
  if (nemesis && !sim.empty()) {
    history::Op n;
    n.process = history::kNemesis;
    n.type = history::Type::info;
    n.f = "kill";
    n.value = history::Value::of("n1");
    n.time = sim[sim.size() / 2].call + 1;
    evs.push_back({n.time, n});
  }
  std::stable_sort(evs.begin(), evs.end(), [](const Ev& x, const Ev& y) { return x.t < y.t; });
  std::vector<history::Op> out;
  out.reserve(evs.size());
  for (auto& e : evs) {
    e.op.index = static_cast<int64_t>(out.size());
    out.push_back(std::move(e.op));
  }
  return out;
}

}  // namespace fl::check::sim
