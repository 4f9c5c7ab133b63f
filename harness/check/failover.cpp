#include "harness/check/failover.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>

#include "common/hash_ring.h"
#include "common/units.h"
#include "harness/check/paired.h"

namespace fl::check {
namespace {

namespace json = boost::json;

std::string ms(int64_t ns) { return format_duration_brief(Duration(ns)); }

// Reads observe; everything else a workload does changes state and needs the shard's master.
bool is_write(std::string_view f) { return f != "read" && f != "get"; }

bool master_fault(const RunEvent& e) {
  return e.type == "fault.start" && e.role == "master" && e.shard >= 0 &&
         (e.action == "kill" || e.action == "terminate" || e.action == "pause");
}

}  // namespace

FailoverReport check_failover(const Input& in, const FailoverOptions& opts) {
  FailoverReport r;
  const int shards = std::max(opts.shards, 1);
  auto paired = pair_ops(in.history);
  if (!paired) {
    r.reason = "malformed history: " + paired.error().message;
    return r;
  }
  // The shard of each interned key, computed once per key.
  std::vector<int> shard_of_key(in.history.keys.size(), -1);
  for (size_t k = 1; k < in.history.keys.size(); ++k) {
    shard_of_key[k] = shard_of(in.history.keys[k], shards);
  }
  r.shards.resize(static_cast<size_t>(shards));
  for (int s = 0; s < shards; ++s) r.shards[static_cast<size_t>(s)].shard = s;
  // Per shard: ok writes as (invoke, completion), for the first ok write after a time.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> writes(static_cast<size_t>(shards));
  // Per shard: when the last write of any outcome was invoked. A fault after it cannot be
  // measured (the load ended first), which is no evidence of a shard that stayed down.
  std::vector<int64_t> last_write_call(static_cast<size_t>(shards), INT64_MIN);
  for (const auto& p : *paired) {
    const uint32_t key = p.op().key;
    if (key == 0) {
      ++r.keyless;
      continue;
    }
    const auto s = static_cast<size_t>(shard_of_key[key]);
    ++r.shards[s].total;
    if (p.answered()) ++r.shards[s].ok;
    if (is_write(p.f())) last_write_call[s] = std::max(last_write_call[s], p.call());
    if (p.ok() && is_write(p.f())) writes[s].emplace_back(p.call(), p.ret());
  }
  // Suffix minimum of completion times over writes sorted by invoke time.
  std::vector<std::vector<int64_t>> first_ret(static_cast<size_t>(shards));
  for (size_t s = 0; s < writes.size(); ++s) {
    std::sort(writes[s].begin(), writes[s].end());
    first_ret[s].assign(writes[s].size() + 1, kNoReturn);
    for (size_t i = writes[s].size(); i-- > 0;) {
      first_ret[s][i] = std::min(first_ret[s][i + 1], writes[s][i].second);
    }
  }
  std::vector<RunEvent> faults;
  for (const auto& e : in.events) {
    if (master_fault(e)) faults.push_back(e);
  }
  std::stable_sort(faults.begin(), faults.end(),
                   [](const RunEvent& a, const RunEvent& b) { return a.time < b.time; });
  std::vector<int64_t> times;
  for (auto& e : faults) {
    FailoverReport::Failover f{e, std::nullopt};
    if (e.shard < shards) {
      const auto s = static_cast<size_t>(e.shard);
      auto it = std::lower_bound(writes[s].begin(), writes[s].end(),
                                 std::pair<int64_t, int64_t>(e.time, INT64_MIN));
      const int64_t ret = first_ret[s][static_cast<size_t>(it - writes[s].begin())];
      if (ret != kNoReturn) {
        f.after_ns = ret - e.time;
        times.push_back(*f.after_ns);
      } else if (last_write_call[s] < e.time) {
        f.measured = false;
      }
    }
    r.failovers.push_back(std::move(f));
  }
  if (!times.empty()) {
    std::sort(times.begin(), times.end());
    // The lower median for an even count: a measured value, never an average of two.
    r.median_ns = times[(times.size() - 1) / 2];
    r.max_ns = times.back();
  }
  r.verdict = Verdict::valid;
  if (opts.max_failover_ns) {
    const size_t unmeasured = static_cast<size_t>(std::count_if(
        r.failovers.begin(), r.failovers.end(), [](const auto& f) { return !f.measured; }));
    const size_t unrecovered = r.failovers.size() - times.size() - unmeasured;
    if (unrecovered > 0) {
      r.verdict = Verdict::invalid;
      r.reason = fmt::format("{} of {} master faults saw no ok write on their shard afterwards",
                             unrecovered, r.failovers.size());
    } else if (r.max_ns && *r.max_ns > *opts.max_failover_ns) {
      r.verdict = Verdict::invalid;
      r.reason = fmt::format("failover took up to {}, above the maximum {}", ms(*r.max_ns),
                             ms(*opts.max_failover_ns));
    }
  }
  return r;
}

std::string report_json(const FailoverReport& r) {
  json::object o;
  o["verdict"] = to_string(r.verdict);
  if (!r.reason.empty()) o["reason"] = r.reason;
  json::array shards;
  for (const auto& s : r.shards) {
    shards.push_back(json::object{
        {"shard", s.shard},
        {"ok", s.ok},
        {"total", s.total},
        {"ok_ratio", s.total ? static_cast<double>(s.ok) / static_cast<double>(s.total) : 0.0}});
  }
  o["shards"] = std::move(shards);
  o["keyless_ops"] = r.keyless;
  json::array list;
  for (const auto& f : r.failovers) {
    json::object e{{"time", f.event.time},
                   {"node", f.event.node},
                   {"shard", f.event.shard},
                   {"action", f.event.action}};
    e["failover_ns"] = f.after_ns ? json::value(*f.after_ns) : json::value(nullptr);
    e["measured"] = f.measured;
    list.push_back(std::move(e));
  }
  o["failovers"] = std::move(list);
  o["failover_median_ns"] = r.median_ns ? json::value(*r.median_ns) : json::value(nullptr);
  o["failover_max_ns"] = r.max_ns ? json::value(*r.max_ns) : json::value(nullptr);
  return json::serialize(o);
}

namespace {

class FailoverChecker final : public Checker {
 public:
  explicit FailoverChecker(FailoverOptions opts) : opts_(opts) {}

  Result check(const Input& in) override {
    FailoverReport r = check_failover(in, opts_);
    Result out;
    out.name = "failover";
    out.verdict = r.verdict;
    if (r.verdict == Verdict::unknown) {
      out.summary = fmt::format("unknown: {}", r.reason);
    } else {
      double worst = 1;
      int worst_shard = 0;
      for (const auto& s : r.shards) {
        const double ratio =
            s.total ? static_cast<double>(s.ok) / static_cast<double>(s.total) : 1.0;
        if (ratio < worst) worst = ratio, worst_shard = s.shard;
      }
      out.summary =
          fmt::format("{}: {} shard{}, lowest ok {:.2f}% (shard {})", to_string(r.verdict),
                      r.shards.size(), r.shards.size() == 1 ? "" : "s", 100 * worst, worst_shard);
      if (r.failovers.empty()) {
        out.summary += "; no master faults";
      } else if (r.max_ns) {
        out.summary += fmt::format("; {} master faults, failover median {} max {}",
                                   r.failovers.size(), ms(*r.median_ns), ms(*r.max_ns));
      } else {
        out.summary += fmt::format("; {} master faults, no ok write after any", r.failovers.size());
      }
      if (r.verdict == Verdict::invalid) out.summary += "; " + r.reason;
    }
    out.details_json = report_json(r);
    return out;
  }

 private:
  FailoverOptions opts_;
};

}  // namespace

result<std::unique_ptr<Checker>> make_failover_checker(const plan::CheckSpec& spec) {
  FailoverOptions opts;
  opts.shards = spec.shards;
  if (spec.max_failover) opts.max_failover_ns = spec.max_failover->count();
  return std::make_unique<FailoverChecker>(opts);
}

}  // namespace fl::check
