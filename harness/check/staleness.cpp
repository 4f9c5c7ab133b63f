#include "harness/check/staleness.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <unordered_map>


namespace fl::check {
namespace {

namespace json = boost::json;
using history::CompactOp;
using history::Type;

struct Write {
  int64_t call = 0, ret = 0, invoke = 0;
  uint32_t value = 0;
};

struct Read {
  int64_t call = 0, invoke = 0;
  uint32_t value = 0;
};

struct KeyOps {
  std::vector<Write> writes;
  std::vector<Read> reads;
};

int function_id(const history::Compact& h, std::string_view name) {
  for (size_t i = 0; i < h.functions.size(); ++i) {
    if (h.functions[i] == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

StalenessReport check_staleness(const Input& in, const StalenessOptions& opts) {
  StalenessReport r;
  const history::Compact& h = in.history;
  const int f_read = function_id(h, "read"), f_write = function_id(h, "write"),
            f_cas = function_id(h, "cas");
  std::vector<KeyOps> keys(h.keys.size());
  for (const CompactOp& op : h.ops) {
    if (op.outcome != Type::ok) continue;
    const int f = op.f;
    if (f == f_read) {
      keys[op.key].reads.push_back({op.call, op.invoke, op.out});
    } else if (f == f_write) {
      keys[op.key].writes.push_back({op.call, op.ret, op.invoke, op.a});
    } else if (f == f_cas && op.pair) {
      keys[op.key].writes.push_back({op.call, op.ret, op.invoke, op.b});
    }
  }

  std::vector<int64_t> stale_ns;
  std::vector<StaleRead> stale_reads;
  for (size_t key = 0; key < keys.size(); ++key) {
    KeyOps& k = keys[key];
    if (k.reads.empty() && k.writes.empty()) continue;
    ++r.keys;
    r.reads += k.reads.size();
    // Writes by invoke time, and from each position the earliest completion of the writes
    // invoked there or later: the supersession time of a value written at `ret` is the earliest
    // completion of a write invoked after `ret`.
    std::sort(k.writes.begin(), k.writes.end(),
              [](const Write& a, const Write& b) { return a.call < b.call; });
    const size_t n = k.writes.size();
    std::vector<size_t> first_done_from(n + 1, n);  // index into writes of the earliest ret
    for (size_t i = n; i-- > 0;) {
      const size_t next = first_done_from[i + 1];
      first_done_from[i] = next == n || k.writes[i].ret <= k.writes[next].ret ? i : next;
    }
    // The write (index) superseding a value whose write completed at `ret`; n if none.
    auto superseded = [&](int64_t ret) {
      auto it = std::upper_bound(k.writes.begin(), k.writes.end(), ret,
                                 [](int64_t t, const Write& w) { return t < w.call; });
      return first_done_from[static_cast<size_t>(it - k.writes.begin())];
    };
    std::unordered_map<uint32_t, std::vector<size_t>> by_value;
    for (size_t i = 0; i < n; ++i) by_value[k.writes[i].value].push_back(i);

    for (const Read& rd : k.reads) {
      // Of the writes that could explain the value (the initial null too), the latest
      // supersession; any one not superseded before the read began makes the read fresh.
      size_t by = n;
      bool explained = false;
      bool fresh = false;
      auto consider = [&](size_t s) {
        if (s == n || k.writes[s].ret >= rd.call) {
          fresh = true;
        } else if (by == n || k.writes[s].ret > k.writes[by].ret) {
          by = s;
        }
      };
      if (rd.value == 0) {
        explained = true;
        consider(first_done_from[0]);
      }
      if (auto it = by_value.find(rd.value); it != by_value.end()) {
        for (size_t wi : it->second) {
          explained = true;
          const Write& w = k.writes[wi];
          if (w.ret >= rd.call) {
            fresh = true;  // still in flight when the read began
          } else {
            consider(superseded(w.ret));
          }
          if (fresh) break;
        }
      }
      if (!explained) {
        ++r.unjudged;
        continue;
      }
      ++r.judged;
      if (fresh || by == n) continue;
      ++r.stale;
      const int64_t lag = rd.call - k.writes[by].ret;
      stale_ns.push_back(lag);
      stale_reads.push_back({h.keys[key], rd.invoke, lag, history::to_string(h.values[rd.value]),
                             k.writes[by].invoke});
    }
  }
  r.stale_ratio = r.judged == 0 ? 0 : static_cast<double>(r.stale) / static_cast<double>(r.judged);
  r.staleness = quantiles(stale_ns);
  const size_t listed = std::min(opts.max_listed, stale_reads.size());
  std::partial_sort(stale_reads.begin(), stale_reads.begin() + static_cast<ptrdiff_t>(listed),
                    stale_reads.end(), [](const StaleRead& a, const StaleRead& b) {
                      return a.staleness > b.staleness;
                    });
  stale_reads.resize(listed);
  r.worst = std::move(stale_reads);

  if (r.judged == 0) {
    r.verdict = Verdict::unknown;
    r.reason = r.reads == 0 ? "no ok reads to judge" : "no read returned an acknowledged value";
    return r;
  }
  r.verdict = Verdict::valid;
  if (opts.max_stale_ratio && r.stale_ratio > *opts.max_stale_ratio) r.verdict = Verdict::invalid;
  if (opts.max_staleness && r.staleness.max > opts.max_staleness->count()) {
    r.verdict = Verdict::invalid;
  }
  return r;
}

std::string report_json(const StalenessReport& r, const StalenessOptions& opts) {
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  json::object o;
  o["verdict"] = to_string(r.verdict);
  if (!r.reason.empty()) o["reason"] = r.reason;
  o["keys"] = r.keys;
  o["reads"] = r.reads;
  o["judged"] = r.judged;
  o["unjudged"] = r.unjudged;
  o["stale"] = r.stale;
  o["stale_ratio"] = r.stale_ratio;
  o["staleness_ms"] = json::object{{"p50", ms(r.staleness.p50)},
                                   {"p99", ms(r.staleness.p99)},
                                   {"max", ms(r.staleness.max)},
                                   {"mean", r.staleness.mean / 1e6}};
  if (opts.max_stale_ratio) o["max_stale_ratio"] = *opts.max_stale_ratio;
  if (opts.max_staleness) o["max_staleness_ms"] = ms(opts.max_staleness->count());
  json::array worst;
  for (const auto& s : r.worst) {
    worst.push_back(json::object{{"key", s.key},
                                 {"index", s.index},
                                 {"staleness_ms", ms(s.staleness)},
                                 {"value", json::parse(s.value)},
                                 {"superseded_by", s.superseded_by}});
  }
  o["stalest"] = std::move(worst);
  return json::serialize(o);
}

namespace {

class StalenessChecker final : public Checker {
 public:
  explicit StalenessChecker(StalenessOptions opts) : opts_(opts) {}
  Result check(const Input& in) override {
    StalenessReport r = check_staleness(in, opts_);
    Result out;
    out.name = "staleness";
    out.verdict = r.verdict;
    if (r.verdict == Verdict::unknown) {
      out.summary = fmt::format("unknown: {}", r.reason);
    } else {
      out.summary = fmt::format("{}: {} of {} reads stale ({:.2f}%), staleness {}",
                                to_string(r.verdict), r.stale, r.judged, 100 * r.stale_ratio,
                                brief(r.staleness));
    }
    out.details_json = report_json(r, opts_);
    return out;
  }

 private:
  StalenessOptions opts_;
};

}  // namespace

result<std::unique_ptr<Checker>> make_staleness_checker(const plan::CheckSpec& spec) {
  StalenessOptions o;
  o.max_stale_ratio = spec.max_stale_ratio;
  o.max_staleness = spec.max_staleness;
  return std::make_unique<StalenessChecker>(o);
}

}  // namespace fl::check
