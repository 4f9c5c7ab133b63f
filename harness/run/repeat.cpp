#include "harness/run/repeat.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>

#include "common/exit_codes.h"
#include "common/rng.h"
#include "harness/plan/gates.h"
#include "harness/report/results.h"
#include "harness/report/stats.h"

namespace fl::run {
namespace {

namespace json = boost::json;

// Severity of an exit code for worst_exit_code(): unknown codes count as harness errors.
int severity(int code) {
  switch (code) {
    case kExitOk:
      return 0;
    case kExitUnknown:
      return 1;
    case kExitViolation:
      return 2;
    default:
      return 3;
  }
}

std::string ms_text(const std::optional<double>& v) {
  return v ? fmt::format("{:.2f}ms", *v) : std::string("-");
}

json::value or_null(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

uint64_t series_seed(std::optional<uint64_t> given, std::optional<uint64_t> plan_seed) {
  if (given) return *given;
  if (plan_seed) return *plan_seed;
  return random_seed();
}

Repetition read_repetition(int index, const std::filesystem::path& dir, int exit_code) {
  Repetition rep;
  rep.index = index;
  rep.dir = dir;
  rep.exit_code = exit_code;
  auto r = report::read_results(dir / "results.json");
  if (!r) {
    rep.verdict = "error";
    rep.error = r.error().message;
    rep.exit_code = kExitHarness;
    return rep;
  }
  rep.verdict = r->verdict;
  rep.error = r->error;
  rep.throughput = report::metric_value(*r, plan::GateMetric::throughput);
  rep.p50_ms = report::metric_value(*r, plan::GateMetric::p50);
  rep.p99_ms = report::metric_value(*r, plan::GateMetric::p99);
  rep.p999_ms = report::metric_value(*r, plan::GateMetric::p999);
  rep.error_ratio = report::metric_value(*r, plan::GateMetric::error_ratio);
  return rep;
}

int worst_exit_code(int a, int b) { return severity(a) >= severity(b) ? a : b; }

std::string repetition_line(const Repetition& r, int total) {
  std::string line = fmt::format("rep {}/{}  {:<8}", r.index, total, r.verdict);
  if (r.throughput) {
    line += fmt::format(" {:>9.0f} ops/s  p50 {}  p99 {}", *r.throughput, ms_text(r.p50_ms),
                        ms_text(r.p99_ms));
  }
  if (!r.error.empty()) line += "  " + r.error;
  line += "  " + r.dir.string();
  return line;
}

std::string repeat_summary(const std::vector<Repetition>& reps, int requested, bool interrupted) {
  std::string out = fmt::format("\n{} of {} repetitions{}:", reps.size(), requested,
                                interrupted ? " (stopped early)" : "");
  for (std::string_view v : {"valid", "invalid", "unknown", "error"}) {
    const auto n = std::count_if(reps.begin(), reps.end(), [&](auto& r) { return r.verdict == v; });
    if (n > 0) out += fmt::format(" {} {}", n, v);
  }
  out += "\n";
  struct Row {
    std::string_view name;
    std::optional<double> Repetition::*field;
    bool latency;
  };
  constexpr std::array<Row, 4> kRows{{{"throughput", &Repetition::throughput, false},
                                      {"p50", &Repetition::p50_ms, true},
                                      {"p99", &Repetition::p99_ms, true},
                                      {"p999", &Repetition::p999_ms, true}}};
  for (const auto& row : kRows) {
    std::vector<double> values;
    for (const auto& r : reps) {
      if (r.*row.field) values.push_back(*(r.*row.field));
    }
    if (values.empty()) continue;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    if (row.latency) {
      out += fmt::format("  {:<10} median {:>10.3f}ms   min-max {:.3f}-{:.3f}ms\n", row.name,
                         report::median(values), *lo, *hi);
    } else {
      out += fmt::format("  {:<10} median {:>8.0f} ops/s   min-max {:.0f}-{:.0f} ops/s\n", row.name,
                         report::median(values), *lo, *hi);
    }
  }
  return out;
}

std::string repeat_json(const std::string& plan, uint64_t seed, int requested, bool interrupted,
                        const std::vector<Repetition>& reps, int exit_code) {
  json::object root;
  root["plan"] = plan;
  root["seed"] = seed;
  root["requested"] = requested;
  root["completed"] = reps.size();
  root["interrupted"] = interrupted;
  root["exit_code"] = exit_code;
  json::array list;
  for (const auto& r : reps) {
    json::object o;
    o["index"] = r.index;
    o["dir"] = r.dir.filename().string();
    o["exit_code"] = r.exit_code;
    o["verdict"] = r.verdict;
    if (!r.error.empty()) o["error"] = r.error;
    o["throughput"] = or_null(r.throughput);
    o["p50_ms"] = or_null(r.p50_ms);
    o["p99_ms"] = or_null(r.p99_ms);
    o["p999_ms"] = or_null(r.p999_ms);
    list.push_back(std::move(o));
  }
  root["repetitions"] = std::move(list);
  return json::serialize(root) + "\n";
}

}  // namespace fl::run
