#include "harness/plan/gates.h"

#include "common/units.h"

#include <fmt/core.h>

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace fl::plan {
namespace {

constexpr std::array<std::pair<GateMetric, std::string_view>, 9> kMetrics{{
    {GateMetric::throughput, "throughput"},
    {GateMetric::p50, "p50"},
    {GateMetric::p90, "p90"},
    {GateMetric::p99, "p99"},
    {GateMetric::p999, "p999"},
    {GateMetric::max, "max"},
    {GateMetric::error_ratio, "error_ratio"},
    {GateMetric::fail_ratio, "fail_ratio"},
    {GateMetric::info_ratio, "info_ratio"},
}};

bool is_latency(GateMetric m) { return m != GateMetric::throughput && !is_ratio(m); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<double> number(std::string_view s) {
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(d) || d < 0) {
    return std::nullopt;
  }
  return d;
}

}  // namespace

std::optional<double> parse_fraction(std::string_view text, bool allow_bare) {
  std::string_view s = trim(text);
  if (!s.empty() && s.back() == '%') {
    auto d = number(trim(s.substr(0, s.size() - 1)));
    if (!d) return std::nullopt;
    return *d / 100.0;
  }
  if (!allow_bare) return std::nullopt;
  return number(s);
}

std::string_view to_string(GateMetric m) {
  for (const auto& [metric, name] : kMetrics) {
    if (metric == m) return name;
  }
  return "?";
}

std::optional<GateMetric> gate_metric(std::string_view name) {
  for (const auto& [metric, n] : kMetrics) {
    if (n == name) return metric;
  }
  return std::nullopt;
}

bool is_ratio(GateMetric m) {
  return m == GateMetric::error_ratio || m == GateMetric::fail_ratio ||
         m == GateMetric::info_ratio;
}

std::string Gate::limit_text() const {
  if (regression) return fmt::format("< {:g}%", limit * 100);
  return fmt::format("{} {}", below ? "<" : ">", format_metric(metric, limit));
}

bool higher_is_better(GateMetric m) { return m == GateMetric::throughput; }

std::string format_metric(GateMetric m, double value) {
  if (m == GateMetric::throughput) return fmt::format("{:.0f}/s", value);
  if (!is_latency(m)) return fmt::format("{:.2f}%", value * 100.0);
  return format_duration_brief(Duration(static_cast<int64_t>(std::llround(value * 1e6))));
}

result<Gate> parse_gate(std::string_view text) { return parse_gate(text, false); }

result<Gate> parse_gate(std::string_view text, bool regression) {
  auto bad = [&](std::string why) {
    return Error(errc::invalid_argument, fmt::format("gate '{}': {}", text, why));
  };
  Gate g;
  g.text = std::string(trim(text));
  std::string_view rest = trim(text);
  constexpr std::string_view kRegression = "regression ";
  if (rest.substr(0, kRegression.size()) == kRegression) {
    regression = true;
    rest = trim(rest.substr(kRegression.size()));
  }
  g.regression = regression;
  const auto op = rest.find_first_of("<>");
  if (op == std::string_view::npos) {
    return bad("expected METRIC < LIMIT or METRIC > LIMIT (e.g. 'p99 < 5ms', "
               "'throughput > 20000/s', 'regression p99 < 10%')");
  }
  std::string_view name = trim(rest.substr(0, op));
  std::string_view value = trim(rest.substr(op + 1));
  if (!value.empty() && value.front() == '=') value = trim(value.substr(1));  // "<=" reads as "<"
  g.below = rest[op] == '<';
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) {
    g.workload = std::string(name.substr(0, slash));
    name = name.substr(slash + 1);
    if (g.workload.empty()) return bad("empty workload name before '/'");
  }
  auto metric = gate_metric(name);
  if (!metric) {
    return bad(fmt::format("unknown metric '{}' (throughput, p50, p90, p99, p999, max, "
                           "error_ratio, fail_ratio, info_ratio)",
                           name));
  }
  g.metric = *metric;
  if (value.empty()) return bad("no limit after the comparison");
  if (g.regression) {
    if (!g.below) return bad("a regression limit reads 'regression METRIC < N%'");
    auto f = parse_fraction(value, false);
    if (!f) return bad(fmt::format("'{}' is not a percentage (e.g. 10%)", value));
    g.limit = *f;
    return g;
  }
  if (g.metric == GateMetric::throughput) {
    std::string_view v = value;
    if (v.size() > 2 && v.substr(v.size() - 2) == "/s") v = trim(v.substr(0, v.size() - 2));
    auto d = number(v);
    if (!d) return bad(fmt::format("'{}' is not a throughput (e.g. 20000/s)", value));
    g.limit = *d;
  } else if (is_latency(g.metric)) {
    auto d = parse_duration(value);
    if (!d) return bad(d.error().message);
    g.limit = static_cast<double>(d->count()) / 1e6;
  } else {
    auto f = parse_fraction(value, true);
    if (!f || *f > 1.0) return bad(fmt::format("'{}' is not a ratio (e.g. 1% or 0.01)", value));
    g.limit = *f;
  }
  return g;
}

}  // namespace fl::plan
