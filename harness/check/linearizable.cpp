#include "harness/check/linearizable.h"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <thread>
#include <variant>

#include "common/units.h"
#include "harness/check/models.h"
#include "harness/check/search.h"

namespace fl::check {
namespace {

using namespace lin;
using history::Compact;
using history::CompactOp;
using history::kNever;
using Clock = std::chrono::steady_clock;

// Steps each search of a violation's explanation may take at least (more for keys whose own
// check took more).
constexpr uint64_t kExplainMinSteps = 1'000'000;
// The step cap of the first round of key searches.
constexpr uint64_t kFirstRoundSteps = 1 << 16;

using AnyModel = std::variant<RegisterModel, KvAppendModel, SetModel, FifoQueueModel,
                              MapModel<RegisterModel>, MapModel<KvAppendModel>>;

constexpr std::string_view kModels[] = {"register",  "cas-register", "kv",
                                        "kv-append", "set",          "fifo-queue"};

AnyModel make_model(const Compact& h, std::string_view name, bool split) {
  if (!split && name == "kv-append")
    return AnyModel(std::in_place_type<MapModel<KvAppendModel>>, h);
  if (!split) {
    return AnyModel(std::in_place_type<MapModel<RegisterModel>>, h, true, std::string_view("kv"));
  }
  if (name == "register") return RegisterModel(h, false, "register");
  if (name == "kv-append") return KvAppendModel(h);
  if (name == "set") return SetModel(h);
  if (name == "fifo-queue") return FifoQueueModel(h);
  return RegisterModel(h, true, name == "kv" ? "kv" : "cas-register");
}

struct Partition {
  uint32_t key = 0;
  std::vector<POp> ops;
  std::vector<Kind> kinds;
  Outcome outcome = Outcome::budget;
  Stats stats;
};

Outcome run_search(AnyModel& model, const std::vector<POp>& ops, const std::vector<Kind>& kinds,
                   uint32_t init, Budget& budget, Stats* stats = nullptr, uint64_t max_steps = 0) {
  return std::visit([&](auto& m) { return search(m, ops, kinds, init, budget, stats, max_steps); },
                    model);
}

uint32_t init_of(const AnyModel& model) {
  return std::visit([](const auto& m) { return m.init(); }, model);
}

bool make_pending(const AnyModel& model, POpK& op) {
  return std::visit([&](const auto& m) { return m.make_pending(op); }, model);
}

// Finds the longest linearizable prefix and the smallest failing window of a failing key.
class Explainer {
 public:
  // Each search of the explanation may take at most `max_steps` steps (deterministic, unlike a
  // deadline): a window that cannot be shown failing within it is not reported.
  Explainer(AnyModel& model, const Partition& p, Budget& budget, uint64_t max_steps)
      : model_(model), p_(p), budget_(budget), max_steps_(max_steps) {
    struct Ev {
      int64_t t;
      bool ret;
      uint32_t op;
    };
    std::vector<Ev> evs;
    for (uint32_t i = 0; i < p.ops.size(); ++i) {
      evs.push_back({p.ops[i].call, false, i});
      if (p.ops[i].ret != kNever) evs.push_back({p.ops[i].ret, true, i});
    }
    std::sort(evs.begin(), evs.end(), [](const Ev& x, const Ev& y) {
      if (x.t != y.t) return x.t < y.t;
      if (x.ret != y.ret) return !x.ret;
      return x.op < y.op;
    });
    call_pos_.assign(p.ops.size(), 0);
    ret_pos_.assign(p.ops.size(), SIZE_MAX);
    for (size_t k = 0; k < evs.size(); ++k) {
      (evs[k].ret ? ret_pos_ : call_pos_)[evs[k].op] = k;
      times_.push_back(evs[k].t);
      ev_op_.push_back(evs[k].op);
    }
  }

  // False when the budget ran out before an answer.
  bool explain(LinearizableReport& r) {
    // Linearizability is prefix-closed (an op still running at the cut may or may not have
    // taken effect), so the first failing prefix is found by bisection.
    size_t lo = 0, hi = times_.size();
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      build(mid, 0, false);
      Outcome o = run_search(model_, ops_, kinds_, init_of(model_), budget_, nullptr, max_steps_);
      if (o == Outcome::budget) return false;
      (o == Outcome::linearizable ? lo : hi) = mid;
    }
    r.failing_op = p_.ops[ev_op_[hi - 1]].src;
    r.prefix_end_time = lo ? times_[lo - 1] : 0;
    r.prefix_ops = 0;
    for (size_t i = 0; i < p_.ops.size(); ++i) r.prefix_ops += ret_pos_[i] < lo;

    // Windows ending at the failing event, starting at the call of the j-th latest op.
    std::vector<int64_t> starts;
    for (size_t i = 0; i < p_.ops.size(); ++i) {
      if (call_pos_[i] < hi) starts.push_back(p_.ops[i].call);
    }
    std::sort(starts.begin(), starts.end(), std::greater<>());
    starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
    auto fails = [&](size_t j, bool& out_of_budget) {
      build(hi, starts[j - 1], true);
      Outcome o = run_search(model_, ops_, kinds_, kAny, budget_, nullptr, max_steps_);
      out_of_budget = o == Outcome::budget;
      return o == Outcome::violation;
    };
    size_t found = 0, below = 0;
    bool oob = false;
    for (size_t j = 1;; j = std::min(j * 2, starts.size())) {
      if (fails(j, oob)) {
        found = j;
        break;
      }
      if (oob) break;
      below = j;
      if (j == starts.size()) break;
    }
    while (found && found - below > 1 && !oob) {
      size_t mid = below + (found - below) / 2;
      if (fails(mid, oob))
        found = mid;
      else
        below = mid;
    }
    if (found) {
      build(hi, starts[found - 1], true);
      r.window_from_start = false;
    } else {
      build(hi, 0, false);
      r.window_from_start = true;
    }
    r.window.clear();
    for (size_t i = 0; i < ops_.size(); ++i) {
      r.window.push_back({ops_[i].src, pending_[i], optional_[i]});
    }
    std::sort(r.window.begin(), r.window.end(),
              [](const ReportOp& x, const ReportOp& y) { return x.op < y.op; });
    return true;
  }

 private:
  // The ops of the prefix of `end` events; with `window`, only those that had not completed
  // before `start` (ops called before it become optional: no return, may be skipped).
  void build(size_t end, int64_t start, bool window) {
    ops_.clear();
    kinds_.clear();
    pending_.clear();
    optional_.clear();
    for (size_t i = 0; i < p_.ops.size(); ++i) {
      if (call_pos_[i] >= end) continue;
      POpK op{p_.ops[i], p_.kinds[i]};
      bool pending = op.op.ret != kNever && ret_pos_[i] >= end;
      bool optional = false;
      if (window && op.op.call < start) {
        if (op.op.ret != kNever && ret_pos_[i] < end && op.op.ret < start) continue;
        optional = true;
        op.op.ret = kNever;
      }
      if (pending && !make_pending(model_, op)) continue;
      ops_.push_back(op.op);
      kinds_.push_back(op.kind);
      pending_.push_back(pending);
      optional_.push_back(optional);
    }
  }

  AnyModel& model_;
  const Partition& p_;
  Budget& budget_;
  uint64_t max_steps_;
  std::vector<size_t> call_pos_, ret_pos_;
  std::vector<int64_t> times_;
  std::vector<uint32_t> ev_op_;
  std::vector<POp> ops_;
  std::vector<Kind> kinds_;
  std::vector<bool> pending_, optional_;
};

}  // namespace

std::vector<std::string_view> linearizable_models() {
  return {std::begin(kModels), std::end(kModels)};
}

bool is_linearizable_model(std::string_view model) {
  return std::find(std::begin(kModels), std::end(kModels), model) != std::end(kModels);
}

result<LinearizableReport> check_linearizable(const Compact& h, const LinearizableOptions& opts) {
  auto started = Clock::now();
  if (!is_linearizable_model(opts.model)) {
    return Error(errc::invalid_argument,
                 fmt::format("unknown model '{}' (register, cas-register, kv, kv-append, set, "
                             "fifo-queue)",
                             opts.model));
  }
  if (!opts.split_keys && opts.model != "kv" && opts.model != "kv-append") {
    return Error(errc::invalid_argument,
                 fmt::format("checking without a split per key needs model kv or kv-append, not {}",
                             opts.model));
  }
  LinearizableReport r;
  Budget budget;
  budget.deadline = started + opts.time_budget;
  budget.memory_limit = opts.memory_budget;

  // Split per key, converting each op into its model's terms.
  std::vector<int32_t> part_of(h.keys.size(), -1);
  std::vector<Partition> parts;
  std::vector<AnyModel> models;
  std::string error;
  for (uint32_t i = 0; i < h.ops.size(); ++i) {
    const CompactOp& co = h.ops[i];
    int32_t& pi = part_of[opts.split_keys ? co.key : 0];
    if (pi < 0) {
      pi = static_cast<int32_t>(parts.size());
      parts.emplace_back().key = co.key;
      models.push_back(make_model(h, opts.model, opts.split_keys));
    }
    POpK op;
    bool keep = std::visit([&](auto& m) { return m.convert(co, op, error); }, models[pi]);
    if (!error.empty()) return Error(errc::invalid_argument, error);
    if (!keep) continue;
    op.op.src = i;
    parts[pi].ops.push_back(op.op);
    parts[pi].kinds.push_back(op.kind);
    ++r.ops;
  }
  r.keys = parts.size();

  // Keys are searched in rounds with a step cap that grows 8x per round, so a key whose
  // violation is quick to find is not stuck behind a key whose search is long (the first
  // violation settles the verdict), at a cost of at most ~15% repeated work. Deterministic: the
  // caps count steps, not time, and a round always runs to its end.
  std::vector<size_t> pending(parts.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  unsigned threads =
      opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  for (uint64_t cap = kFirstRoundSteps; !pending.empty(); cap *= 8) {
    // Biggest keys first, so the last worker does not start a long search alone.
    std::stable_sort(pending.begin(), pending.end(),
                     [&](size_t x, size_t y) { return parts[x].ops.size() > parts[y].ops.size(); });
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t n; (n = next.fetch_add(1)) < pending.size();) {
        Partition& p = parts[pending[n]];
        p.outcome = run_search(models[pending[n]], p.ops, p.kinds, init_of(models[pending[n]]),
                               budget, &p.stats, cap);
      }
    };
    unsigned t = static_cast<unsigned>(std::min<size_t>(threads, pending.size()));
    if (t <= 1) {
      work();
    } else {
      std::vector<std::jthread> pool;
      for (unsigned i = 0; i < t; ++i) pool.emplace_back(work);
    }
    if (budget.exhausted) break;
    bool violation = false;
    std::vector<size_t> again;
    for (size_t i : pending) {
      if (parts[i].outcome == Outcome::violation) violation = true;
      if (parts[i].outcome == Outcome::budget) again.push_back(i);
    }
    if (violation) break;
    pending.swap(again);
  }

  int32_t failing = -1;
  int32_t unknown = -1;
  for (size_t i = 0; i < parts.size(); ++i) {
    r.search_steps += parts[i].stats.steps;
    r.cache_entries += parts[i].stats.cache_entries;
    if (parts[i].outcome == Outcome::violation) {
      ++r.keys_invalid;
      if (failing < 0) failing = static_cast<int32_t>(i);
    } else if (parts[i].outcome == Outcome::budget) {
      ++r.keys_unknown;
      if (unknown < 0) unknown = static_cast<int32_t>(i);
    }
  }
  if (failing >= 0) {
    r.verdict = Verdict::invalid;
    r.key = parts[failing].key;
    if (opts.explain) {
      // Explaining shares the check's deadline (the verdict is already certain: if time runs
      // out, the report just has no window) and gets the memory the finished searches freed.
      Budget eb;
      eb.deadline = budget.deadline;
      eb.memory_limit = opts.memory_budget;
      Explainer ex(models[failing], parts[failing], eb,
                   std::max<uint64_t>(kExplainMinSteps, 8 * parts[failing].stats.steps));
      if (!ex.explain(r)) r.reason = "the failing window was not found within the budget";
    }
  } else if (unknown >= 0) {
    r.verdict = Verdict::unknown;
    std::string key = h.keys[parts[unknown].key];
    r.reason = fmt::format(
        "{} budget of {} exhausted{}{} ({} of {} keys unfinished)",
        budget.out_of_memory ? "memory" : "time",
        budget.out_of_memory ? format_size(opts.memory_budget) : format_duration(opts.time_budget),
        key.empty() ? "" : " on key ", key, r.keys_unknown, r.keys);
  } else {
    r.verdict = Verdict::valid;
  }
  r.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  return r;
}

// ---- rendering ----

namespace {

std::string op_text(const Compact& h, uint32_t op) {
  const CompactOp& co = h.ops[op];
  const history::Value in = history::invoke_value(h, co);
  std::string s = fmt::format("process {}: {}", co.process, h.functions[co.f]);
  if (!in.is_null()) s += " " + history::to_string(in);
  if (!co.completed()) {
    s += " -> (never completed)";
    s += fmt::format("  [index {}, time {}]", co.invoke, co.call);
    return s;
  }
  const history::Value out = co.echo ? in : h.values[co.out];
  s += fmt::format(" -> {}", history::to_string(co.outcome));
  if (!out.is_null() && out != in) s += " " + history::to_string(out);
  if (co.error != 0) s += " (" + h.errors[co.error] + ")";
  s += fmt::format("  [index {}..{}, time {}..{}]", co.invoke, co.complete(), co.call, co.done);
  return s;
}

boost::json::value op_json(const history::Op& op) {
  return boost::json::parse(history::to_json_line(op));
}

boost::json::value invoke_json(const Compact& h, const CompactOp& co) {
  return op_json(history::invoke_op(h, co));
}

boost::json::value completion_json(const Compact& h, const CompactOp& co) {
  auto op = history::completion_op(h, co);
  return op ? op_json(*op) : boost::json::value(nullptr);
}

}  // namespace

std::string describe_op(const Compact& h, const ReportOp& op) {
  std::string s = op_text(h, op.op);
  if (op.pending) s += " (still running at the failing point)";
  if (op.optional) s += " (began before the window)";
  return s;
}

std::string report_json(const Compact& h, const LinearizableReport& r) {
  namespace json = boost::json;
  json::object o;
  o["verdict"] = to_string(r.verdict);
  o["ops"] = r.ops;
  o["keys"] = r.keys;
  o["keys_invalid"] = r.keys_invalid;
  o["keys_unknown"] = r.keys_unknown;
  o["elapsed_ms"] = r.elapsed_ms;
  o["search_steps"] = r.search_steps;
  o["cache_entries"] = r.cache_entries;
  if (!r.reason.empty()) o["reason"] = r.reason;
  if (r.verdict == Verdict::invalid) {
    o["key"] = h.keys[r.key];
    if (r.failing_op != history::kNoPosition) {
      const CompactOp& f = h.ops[r.failing_op];
      json::object fo;
      fo["invoke"] = invoke_json(h, f);
      if (f.completed()) fo["completion"] = completion_json(h, f);
      o["failing_op"] = std::move(fo);
      json::object prefix;
      prefix["ops"] = r.prefix_ops;
      prefix["end_time"] = r.prefix_end_time;
      o["linearizable_prefix"] = std::move(prefix);
      json::object w;
      w["from_start"] = r.window_from_start;
      json::array ops;
      for (const auto& op : r.window) {
        const CompactOp& co = h.ops[op.op];
        json::object e;
        e["invoke"] = invoke_json(h, co);
        e["completion"] = completion_json(h, co);
        e["pending"] = op.pending;
        e["optional"] = op.optional;
        e["text"] = describe_op(h, op);
        ops.push_back(std::move(e));
      }
      w["ops"] = std::move(ops);
      o["failing_window"] = std::move(w);
    }
  }
  return json::serialize(o);
}

// ---- the [[check]] kind ----

namespace {

class LinearizableChecker final : public Checker {
 public:
  explicit LinearizableChecker(LinearizableOptions opts) : opts_(std::move(opts)) {}

  Result check(const Input& in) override {
    Result res;
    res.name = "linearizable";
    const history::Compact* h = &in.history;
    auto r = check_linearizable(*h, opts_);
    if (!r) {
      res.verdict = Verdict::unknown;
      res.summary = "unknown: " + r.error().message;
      return res;
    }
    res.verdict = r->verdict;
    std::string counts = fmt::format("{} ops, {} keys, {:.0f} ms", r->ops, r->keys, r->elapsed_ms);
    switch (r->verdict) {
      case Verdict::valid:
        res.summary = "valid: " + counts;
        break;
      case Verdict::invalid:
        res.summary = fmt::format(
            "invalid: key '{}' is not linearizable ({} of {} keys; failing "
            "window of {} ops); {}",
            h->keys[r->key], r->keys_invalid, r->keys, r->window.size(), counts);
        break;
      case Verdict::unknown:
        res.summary = "unknown: " + r->reason + "; " + counts;
        break;
    }
    res.details_json = report_json(*h, *r);
    return res;
  }

 private:
  LinearizableOptions opts_;
};

}  // namespace

std::unique_ptr<Checker> make_linearizable_checker(const plan::CheckSpec& spec) {
  LinearizableOptions o;
  o.model = spec.model.empty() ? "cas-register" : spec.model;
  o.time_budget = spec.time_budget;
  o.memory_budget = spec.memory_budget;
  return std::make_unique<LinearizableChecker>(std::move(o));
}

}  // namespace fl::check
