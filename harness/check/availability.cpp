#include "harness/check/availability.h"

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

constexpr int64_t kSecond = 1'000'000'000;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string ms(int64_t ns) { return format_duration_brief(Duration(ns)); }

}  // namespace

AvailabilityReport check_availability(const Input& in, const AvailabilityOptions& opts) {
  AvailabilityReport r;
  auto paired = pair_ops(in.history);
  if (!paired) {
    r.reason = "malformed history: " + paired.error().message;
    return r;
  }
  const auto& ops = *paired;
  if (ops.empty()) {
    r.reason = "the history has no operations";
    return r;
  }

  // Per-second windows and totals.
  std::map<int64_t, AvailabilityReport::Second> seconds;
  int64_t end = 0;  // the last event of the history
  for (const auto& p : ops) {
    end = std::max(end, p.completed() ? p.ret() : p.call());
    const int64_t s = floor_div(p.completed() ? p.ret() : p.call(), kSecond);
    auto& w = seconds[s];
    w.second = s;
    ++w.total;
    switch (p.answered() ? Type::ok : p.outcome()) {
      case Type::ok:
        ++r.ok, ++w.ok;
        break;
      case Type::fail:
        ++r.fail;
        break;
      default:
        ++r.info;
        break;
    }
  }
  for (int64_t s = seconds.begin()->first; s <= seconds.rbegin()->first; ++s) {
    auto it = seconds.find(s);
    r.per_second.push_back(it != seconds.end() ? it->second : AvailabilityReport::Second{s, 0, 0});
  }
  r.ok_ratio = static_cast<double>(r.ok) / static_cast<double>(ops.size());

  // Unavailable stretches: a sweep over invokes and completions in time order (completions
  // first at equal times). A stretch opens at the first invoke when nothing is pending since the
  // last ok completion, or at that ok completion when operations are still in flight, and closes
  // at the next ok completion.
  struct Event {
    int64_t time;
    int kind;  // 0: ok completion, 1: other completion, 2: invoke
  };
  std::vector<Event> events;
  events.reserve(ops.size() * 2);
  for (const auto& p : ops) {
    events.push_back({p.call(), 2});
    if (p.completed()) events.push_back({p.ret(), p.answered() ? 0 : 1});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.time, a.kind) < std::tie(b.time, b.kind);
  });
  size_t in_flight = 0;
  std::optional<int64_t> open;
  auto close = [&](int64_t at, bool recovered) {
    if (open && at - *open > r.longest_unavailable_ns) {
      r.longest_unavailable_ns = at - *open;
      r.longest_unavailable_from = *open;
      r.longest_recovered = recovered;
    }
  };
  for (const auto& e : events) {
    if (e.kind == 2) {
      ++in_flight;
      if (!open) open = e.time;
    } else {
      --in_flight;
      if (e.kind == 0) {
        close(e.time, true);
        open = in_flight > 0 ? std::optional<int64_t>(e.time) : std::nullopt;
      }
    }
  }
  close(end, false);

  // Recovery after each event: the first ok completion of an operation invoked at or after it.
  // Ok operations sorted by invoke time, with a suffix minimum of their completion times.
  std::vector<std::pair<int64_t, int64_t>> oks;  // (call, ret)
  for (const auto& p : ops) {
    if (p.answered()) oks.emplace_back(p.call(), p.ret());
  }
  std::sort(oks.begin(), oks.end());
  std::vector<int64_t> first_ret(oks.size() + 1, kNoReturn);
  for (size_t i = oks.size(); i-- > 0;) first_ret[i] = std::min(first_ret[i + 1], oks[i].second);
  // Only what can hurt availability counts as an event to recover from: faults, and node exits,
  // pauses and give-ups the harness did not ask for, while the history was still running.
  std::vector<RunEvent> run_events;
  for (const auto& ev : in.events) {
    const bool fault = ev.type == "fault.start" || ev.type == "node.paused" ||
                       ev.type == "node.failed" || (ev.type == "node.exited" && !ev.expected);
    if (fault && ev.time <= end) run_events.push_back(ev);
  }
  std::stable_sort(run_events.begin(), run_events.end(),
                   [](const RunEvent& a, const RunEvent& b) { return a.time < b.time; });
  for (auto& ev : run_events) {
    auto it =
        std::lower_bound(oks.begin(), oks.end(), std::pair<int64_t, int64_t>(ev.time, INT64_MIN));
    const int64_t ret = first_ret[static_cast<size_t>(it - oks.begin())];
    AvailabilityReport::Recovery rec{std::move(ev), std::nullopt};
    if (ret != kNoReturn) rec.recovered_after_ns = ret - rec.event.time;
    r.recoveries.push_back(std::move(rec));
  }

  if (opts.min_ok_ratio > 0 && r.ok_ratio < opts.min_ok_ratio) {
    r.verdict = Verdict::invalid;
    r.reason =
        fmt::format("ok ratio {:.4f} is below the minimum {:.4f}", r.ok_ratio, opts.min_ok_ratio);
  } else {
    r.verdict = Verdict::valid;
  }
  return r;
}

std::string report_json(const AvailabilityReport& r) {
  json::object o;
  o["verdict"] = to_string(r.verdict);
  if (!r.reason.empty()) o["reason"] = r.reason;
  o["ok"] = r.ok;
  o["fail"] = r.fail;
  o["info"] = r.info;
  o["ok_ratio"] = r.ok_ratio;
  json::array seconds;
  for (const auto& s : r.per_second) {
    seconds.push_back(json::object{
        {"second", s.second},
        {"ok", s.ok},
        {"total", s.total},
        {"ok_ratio", s.total ? static_cast<double>(s.ok) / static_cast<double>(s.total) : 0.0}});
  }
  o["per_second"] = std::move(seconds);
  o["longest_unavailable"] = {{"from", r.longest_unavailable_from},
                              {"ns", r.longest_unavailable_ns},
                              {"recovered", r.longest_recovered}};
  json::array recoveries;
  for (const auto& rec : r.recoveries) {
    json::object e{{"time", rec.event.time}, {"type", rec.event.type}, {"node", rec.event.node}};
    if (!rec.event.detail.empty()) e["detail"] = rec.event.detail;
    e["recovered_after_ns"] =
        rec.recovered_after_ns ? json::value(*rec.recovered_after_ns) : json::value(nullptr);
    recoveries.push_back(std::move(e));
  }
  o["recoveries"] = std::move(recoveries);
  return json::serialize(o);
}

namespace {

class AvailabilityChecker final : public Checker {
 public:
  explicit AvailabilityChecker(AvailabilityOptions opts) : opts_(opts) {}

  Result check(const Input& in) override {
    AvailabilityReport r = check_availability(in, opts_);
    Result out;
    out.name = "availability";
    out.verdict = r.verdict;
    if (r.verdict == Verdict::unknown) {
      out.summary = fmt::format("unknown: {}", r.reason);
    } else {
      int64_t worst_recovery = 0;
      bool unrecovered = false;
      for (const auto& rec : r.recoveries) {
        if (!rec.recovered_after_ns)
          unrecovered = true;
        else
          worst_recovery = std::max(worst_recovery, *rec.recovered_after_ns);
      }
      out.summary =
          fmt::format("{}: {:.2f}% ok of {} ops; longest unavailable {}{}", to_string(r.verdict),
                      100 * r.ok_ratio, r.ok + r.fail + r.info, ms(r.longest_unavailable_ns),
                      r.longest_recovered ? "" : " (at the end, not recovered)");
      if (!r.recoveries.empty()) {
        out.summary +=
            unrecovered ? fmt::format("; no recovery after some of {} events", r.recoveries.size())
                        : fmt::format("; recovered within {} after each of {} events",
                                      ms(worst_recovery), r.recoveries.size());
      }
      if (r.verdict == Verdict::invalid) out.summary += "; " + r.reason;
    }
    out.details_json = report_json(r);
    return out;
  }

 private:
  AvailabilityOptions opts_;
};

}  // namespace

result<std::unique_ptr<Checker>> make_availability_checker(const plan::CheckSpec& spec) {
  return std::make_unique<AvailabilityChecker>(AvailabilityOptions{spec.min_ok_ratio});
}

}  // namespace fl::check
