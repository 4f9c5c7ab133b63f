#include "harness/check/perf.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "common/units.h"
#include "harness/check/paired.h"

namespace fl::check {
namespace {

namespace json = boost::json;
using history::Type;

struct Samples {
  PerfReport::PerF stats;
  std::vector<int64_t> latencies;

  void add(const PairedOp& p) {
    switch (p.outcome()) {
      case Type::ok:
        ++stats.ok;
        latencies.push_back(p.ret() - p.call());
        break;
      case Type::fail:
        ++stats.fail;
        break;
      default:
        ++stats.info;
        break;
    }
  }
  PerfReport::PerF finish(std::string f, int64_t span_ns) {
    stats.f = std::move(f);
    stats.latency = quantiles(latencies);
    stats.throughput =
        span_ns > 0 ? static_cast<double>(stats.ok) * 1e9 / static_cast<double>(span_ns) : 0;
    return std::move(stats);
  }
};

json::object latency_json(const Quantiles& q) {
  return json::object{{"count", q.count}, {"min", q.min},   {"p50", q.p50}, {"p90", q.p90},
                      {"p99", q.p99},     {"p999", q.p999}, {"max", q.max}, {"mean", q.mean}};
}

json::object per_f_json(const PerfReport::PerF& s) {
  return json::object{{"ok", s.ok},
                      {"fail", s.fail},
                      {"info", s.info},
                      {"throughput", s.throughput},
                      {"latency_ns", latency_json(s.latency)}};
}

}  // namespace

PerfReport check_perf(const Input& in) {
  PerfReport r;
  auto paired = pair_ops(in.history);
  if (!paired) {
    r.reason = "malformed history: " + paired.error().message;
    return r;
  }
  if (paired->empty()) {
    r.reason = "the history has no operations";
    return r;
  }
  // The final-read phase (events.jsonl marks its start) checks data, it is not load: leave it
  // out of throughput and latency.
  int64_t final_phase = INT64_MAX;
  for (const auto& e : in.events) {
    if (e.type == "phase.final-reads") final_phase = std::min(final_phase, e.time);
  }
  int64_t first = INT64_MAX, last = INT64_MIN;
  Samples all;
  std::map<std::string_view, Samples> by_f;
  for (const auto& p : *paired) {
    if (p.call() >= final_phase) continue;
    first = std::min(first, p.call());
    last = std::max(last, p.completed() ? p.ret() : p.call());
    all.add(p);
    by_f[p.f()].add(p);
  }
  r.span_ns = last - first;
  r.overall = all.finish("", r.span_ns);
  r.throughput = r.overall.throughput;
  for (auto& [f, s] : by_f) r.by_f.push_back(s.finish(std::string(f), r.span_ns));
  r.verdict = Verdict::valid;
  return r;
}

std::string report_json(const PerfReport& r) {
  json::object o;
  o["verdict"] = to_string(r.verdict);
  if (!r.reason.empty()) o["reason"] = r.reason;
  o["span_ns"] = r.span_ns;
  o["throughput"] = r.throughput;
  o["overall"] = per_f_json(r.overall);
  json::object by_f;
  for (const auto& s : r.by_f) by_f[s.f] = per_f_json(s);
  o["by_f"] = std::move(by_f);
  return json::serialize(o);
}

namespace {

class PerfChecker final : public Checker {
 public:
  Result check(const Input& in) override {
    PerfReport r = check_perf(in);
    Result out;
    out.name = "perf";
    out.verdict = r.verdict;
    if (r.verdict == Verdict::unknown) {
      out.summary = fmt::format("unknown: {}", r.reason);
    } else {
      out.summary =
          fmt::format("valid: {:.1f} ok ops/s over {}; latency {}", r.throughput,
                      format_duration_brief(Duration(r.span_ns)), brief(r.overall.latency));
    }
    out.details_json = report_json(r);
    return out;
  }
};

}  // namespace

result<std::unique_ptr<Checker>> make_perf_checker(const plan::CheckSpec&) {
  return std::make_unique<PerfChecker>();
}

}  // namespace fl::check
