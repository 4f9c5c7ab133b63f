#include "harness/run/gate_check.h"

#include <fmt/core.h>

#include <cmath>
#include <limits>

namespace fl::run {

std::vector<report::GateOutcome> evaluate_gates(const report::RunReport& r,
                                                const std::vector<plan::Gate>& gates) {
  std::vector<report::GateOutcome> out;
  for (const auto& g : gates) {
    if (g.regression) continue;
    report::GateOutcome o;
    o.text = g.text;
    o.metric = g.workload.empty() ? std::string(plan::to_string(g.metric))
                                  : g.workload + "/" + std::string(plan::to_string(g.metric));
    o.limit = g.limit;
    const std::string limit = "limit " + g.limit_text();
    const auto value = report::metric_value(r, g.metric, g.workload);
    if (!value) {
      o.value = std::numeric_limits<double>::quiet_NaN();
      o.passed = false;
      o.summary = fmt::format("{} not measured (the run has no {} phase), {}: missed", o.metric,
                              g.workload.empty() ? "main" : g.workload + "/main", limit);
    } else {
      o.value = *value;
      o.passed = g.met(*value);
      o.summary = fmt::format("{} {}, {}: {}", o.metric, plan::format_metric(g.metric, *value),
                              limit, o.passed ? "met" : "missed");
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace fl::run
