#include "harness/report/html.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "harness/report/html_sections.h"
#include "harness/report/run_data.h"
#include "harness/report/svg.h"
#include "harness/rundir/run_dir.h"

namespace fl::report {
namespace {

namespace fs = std::filesystem;
using svg::Chart;

constexpr double kNs = 1e9;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The most operation markers the latency plot draws (extremes are drawn beyond it).
constexpr size_t kPointBudget = 16000;

constexpr std::string_view kStyle = R"css(
:root{--ok:#3f7fbf;--fail:#d62f2f;--info:#f08c00;--ink:#1f2430;--muted:#6b7280;--line:#e5e7eb;
--bg:#f6f7f9;--card:#fff;--fault:#d62f2f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:20px 24px 48px}
header.top{display:flex;align-items:center;gap:16px;flex-wrap:wrap;margin:4px 0 14px}
header.top h1{font-size:22px;margin:0;font-weight:650}
header.top .sub{color:var(--muted)}
.badge{display:inline-block;padding:3px 10px;border-radius:999px;font-weight:650;font-size:13px;
letter-spacing:.02em;text-transform:uppercase}
.v-valid{background:#dcfce7;color:#166534}.v-invalid{background:#fee2e2;color:#991b1b}
.v-unknown{background:#fef3c7;color:#92400e}.v-error{background:#e5e7eb;color:#374151}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;
margin:14px 0;box-shadow:0 1px 2px rgba(0,0,0,.03)}
section h2{font-size:16px;margin:0 0 10px;font-weight:650}
section p.note{color:var(--muted);margin:4px 0 8px;font-size:13px}
dl.meta{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:4px 18px;margin:0}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;overflow-wrap:anywhere}
code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code#replay{display:block;background:#0f172a;color:#e2e8f0;padding:8px 12px;border-radius:6px;
margin-top:10px;overflow-x:auto;white-space:pre}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:10px;margin:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:20px;font-weight:650;margin-top:2px;white-space:nowrap}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:right;padding:5px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--muted);font-weight:600;background:#fafafa}
th:first-child,td:first-child{text-align:left}
td.l,th.l{text-align:left;white-space:normal}
svg.chart{display:block;width:100%;height:auto;max-width:100%}
svg.chart .chart-title{font-weight:650;font-size:13px;fill:var(--ink)}
svg.chart .tick,svg.chart .row-label,svg.chart .legend-label{font-size:11px;fill:#4b5563}
svg.chart .axis-label{font-size:12px;fill:var(--muted)}
svg.chart .grid{stroke:#eef0f3;stroke-width:1}svg.chart .grid.minor{stroke:#f5f6f8}
svg.chart .frame{fill:none;stroke:#cfd4dc}
svg.chart .fault-window{fill:rgba(214,47,47,.09);stroke:rgba(214,47,47,.45);stroke-width:1;stroke-dasharray:3 2}
svg.chart .fault-swatch{fill:rgba(214,47,47,.09);stroke:rgba(214,47,47,.45);stroke-dasharray:3 2}
svg.chart .fault-shade{fill:rgba(214,47,47,.06)}
svg.chart .band-label{font-size:10.5px;fill:#9b1c1c;font-weight:600}
svg.chart .phase{stroke:#94a3b8;stroke-dasharray:4 3}svg.chart .vline-label{font-size:10.5px;fill:#64748b}
svg.chart .op{stroke:none;opacity:.62}svg.chart .op.ok{fill:var(--ok)}svg.chart .op.fail{fill:var(--fail);opacity:.9}
svg.chart .op.info{fill:var(--info);opacity:.9}svg.chart .op.x{fill:none;stroke-width:1.2}
svg.chart .op.x.ok{stroke:var(--ok)}svg.chart .op.x.fail{stroke:var(--fail)}svg.chart .op.x.info{stroke:var(--info)}
svg.chart .op.kind{fill:#6b7280;opacity:1}svg.chart .op.kind.x{fill:none;stroke:#6b7280}
svg.chart .q{fill:none;stroke-width:1.6;stroke-linejoin:round}
svg.chart .q50{stroke:#111827}svg.chart .q99{stroke:#7c3aed;stroke-dasharray:6 3}
svg.chart .q999{stroke:#db2777;stroke-dasharray:2 2}
svg.chart .tp{fill:none;stroke-width:1.6;stroke-linejoin:round}svg.chart .tp.ok{stroke:var(--ok)}
svg.chart .tp.fail{stroke:var(--fail)}svg.chart .tp.info{stroke:var(--info)}
svg.chart .tp-area{fill:rgba(63,127,191,.14);stroke:none}
svg.chart .st-up{fill:#86c98f}svg.chart .st-starting{fill:#bfdbfe}svg.chart .st-down{fill:#d62f2f}
svg.chart .st-paused{fill:#f59e0b}svg.chart .st-cut{fill:#7c3aed}svg.chart .st-slow{fill:#c4b5fd}
svg.chart .st-none{fill:#eef0f3}svg.chart .st-stopped{fill:#cbd5e1}
svg.chart .av-100{fill:#4caf64}svg.chart .av-99{fill:#a3d977}svg.chart .av-90{fill:#f5d94a}svg.chart .av-50{fill:#f59e0b}
svg.chart .av-0{fill:#d62f2f}svg.chart .av-none{fill:#eef0f3}
svg.chart rect:hover,svg.chart circle:hover,svg.chart path.op:hover{stroke:#111;stroke-width:1}
svg.swatch .kind{fill:#6b7280}svg.swatch .kind.x{fill:none;stroke:#6b7280;stroke-width:1.2}
.legend-kinds{display:flex;gap:14px;flex-wrap:wrap;color:#4b5563;font-size:12px;margin:6px 0 0 70px}
.legend-kinds span{display:inline-flex;align-items:center;gap:5px}
.warn{background:#fffbeb;border-color:#fde68a}
.warn li{color:#92400e}
.check{border-top:1px solid var(--line);padding:8px 0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:20px}
nav.toc{display:flex;gap:14px;flex-wrap:wrap;font-size:13px;margin:0 0 4px}
nav.toc a{color:#2563eb;text-decoration:none}
)css";

std::string esc(std::string_view s) { return html_escape(s); }

std::string seconds_label(double s) {
  if (s < 10) return fmt::format("{:.2f} s", s);
  if (s < 100) return fmt::format("{:.1f} s", s);
  return fmt::format("{:.0f} s", s);
}

std::string ms_label(double ms) {
  if (ms <= 0) return "0";
  return svg::duration_label(ms);
}

std::string fault_title(const FaultWindow& w, size_t k, int64_t run_end) {
  const double a = static_cast<double>(w.start_ns) / kNs;
  std::string s = fmt::format(
      "fault {}", w.index >= 0 ? fmt::format("#{}", w.index) : fmt::format("({})", k + 1));
  s += ": " + w.detail;
  if (!w.target.empty() && w.detail.find(w.target) == std::string::npos) {
    s += fmt::format(" [target {}]", w.target);
  }
  if (w.end_ns) {
    const double b = static_cast<double>(*w.end_ns) / kNs;
    s += fmt::format(", {:.2f} s – {:.2f} s ({:.2f} s)", a, b, b - a);
  } else {
    s += fmt::format(", from {:.2f} s, not healed before the run ended at {:.2f} s", a,
                     static_cast<double>(run_end) / kNs);
  }
  if (w.source == "control") s += " (from the control API)";
  return s;
}

std::string fault_label(const FaultWindow& w) {
  std::string s = w.action.empty() ? "fault" : w.action;
  if (w.nodes.size() == 1) {
    s += " " + w.nodes.front();
  } else if (!w.target.empty() && w.target.size() <= 24) {
    s += " " + w.target;
  }
  return s;
}

// Fault windows as bands (and phase lines) on a time chart.
void shade_faults(Chart& c, const RunData& d, std::string_view css_class, bool labels) {
  // A label goes one row lower than the previous one when it would overlap it.
  double last_label_end = -1e9;
  int row = 0;
  for (size_t k = 0; k < d.faults.size(); ++k) {
    const auto& w = d.faults[k];
    const double a = static_cast<double>(w.start_ns) / kNs;
    const double b = static_cast<double>(w.end_ns.value_or(d.end)) / kNs;
    const std::string label = labels ? fault_label(w) : "";
    row = c.px(a) < last_label_end ? (row + 1) % 4 : 0;
    last_label_end =
        std::max(last_label_end, c.px(a) + 6.2 * static_cast<double>(label.size()) + 6);
    c.band(a, b, css_class, fault_title(w, k, d.end), label, row);
  }
}

void phase_lines(Chart& c, const RunData& d) {
  for (const auto& p : d.phases) {
    c.vline(static_cast<double>(p.start) / kNs, "phase", p.name);
  }
}

svg::Scale time_scale(const RunData& d) {
  const double end = std::max(static_cast<double>(d.end) / kNs, 0.001);
  return {0, end, false};
}

// Neighbouring bins taken together, so that a quantile or a rate is computed over enough
// operations: each group spans k bins, k the least for which groups hold `min_ops` operations on
// average and number at most `max_groups`, and there are still at least 12 groups.
struct Group {
  double t0 = 0, t1 = 0;                       // seconds
  std::array<int64_t, kOutcomes> counts{};     // invoked in the group
  std::array<int64_t, kOutcomes> completed{};  // completed in the group
  LatencyHistogram latency;
};

std::vector<Group> group_bins(const RunData& d, int64_t min_ops, size_t max_groups, bool latency) {
  const auto& bins = d.ops.bins();
  std::vector<Group> out;
  if (bins.empty()) return out;
  const auto n = static_cast<int64_t>(bins.size());
  const int64_t total = std::max<int64_t>(d.ops.total(), 1);
  int64_t k = std::max<int64_t>(
      (min_ops * n + total - 1) / total,
      (n + static_cast<int64_t>(max_groups) - 1) / static_cast<int64_t>(max_groups));
  k = std::clamp<int64_t>(k, 1, std::max<int64_t>(n / 12, 1));
  const double w = static_cast<double>(d.ops.width()) / kNs;
  for (int64_t i = 0; i < n; i += k) {
    Group g;
    const int64_t j = std::min(n, i + k);
    g.t0 = static_cast<double>(i) * w;
    g.t1 = static_cast<double>(j) * w;
    for (int64_t b = i; b < j; ++b) {
      const Bin& bin = bins[static_cast<size_t>(b)];
      for (size_t ci = 0; ci < bin.cells.size(); ++ci)
        g.counts[ci % kOutcomes] += bin.cells[ci].count;
      for (size_t o = 0; o < kOutcomes; ++o) g.completed[o] += bin.completed[o];
      if (latency) g.latency.merge(bin.latency);
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::fail:
      return "fail";
    case Outcome::info:
      return "info";
  }
  return "info";
}

std::string latency_plot(const RunData& d) {
  const auto& bins = d.ops.bins();
  double lo = std::numeric_limits<double>::max(), hi = 0;
  size_t cells = 0, sampled = 0;
  for (const auto& b : bins) {
    for (const auto& c : b.cells) {
      if (c.count == 0) continue;
      ++cells;
      sampled += c.sample.size();
      lo = std::min(lo, static_cast<double>(c.min.latency) / 1e6);
      hi = std::max(hi, static_cast<double>(c.max.latency) / 1e6);
    }
  }
  if (cells == 0) {
    lo = 0.1;
    hi = 100;
  }
  auto y = svg::nice_log(std::max(lo, 0.001), std::max(hi, std::max(lo, 0.001) * 10));
  Chart::Options o;
  o.id = "plot-latency";
  o.title = "Latency of every operation over time (log scale), with p50 / p99 / p99.9 per bin";
  o.height = 420;
  o.x_label = "time since the run began (s)";
  o.y_label = "latency";
  Chart c(o, time_scale(d), y);
  c.set_y_ticks(svg::log_ticks(y.lo, y.hi, "ms"));
  shade_faults(c, d, "fault-window", true);
  phase_lines(c, d);
  // Sample quota per cell so the whole plot stays within the point budget; extremes always drawn.
  const size_t quota =
      sampled <= kPointBudget ? std::numeric_limits<size_t>::max() : kPointBudget / cells;
  const auto kinds = d.ops.kinds();
  for (Outcome oc : {Outcome::ok, Outcome::info, Outcome::fail}) {
    const std::string cls = fmt::format("op {}", outcome_name(oc));
    const std::string cls_x = fmt::format("op x {}", outcome_name(oc));
    for (const auto& b : bins) {
      for (size_t f = 0; f < kinds.size(); ++f) {
        const size_t ci = f * kOutcomes + static_cast<size_t>(oc);
        if (ci >= b.cells.size() || b.cells[ci].count == 0) continue;
        const Cell& cell = b.cells[ci];
        const auto shape = svg::shape_for(f);
        const std::string& k = shape == svg::Shape::cross ? cls_x : cls;
        auto point = [&](const OpPoint& p, std::string_view title) {
          c.marker(static_cast<double>(p.time) / kNs,
                   std::max(static_cast<double>(p.latency) / 1e6, y.lo), shape, k, title);
        };
        const size_t n = std::min(quota, cell.sample.size());
        for (size_t i = 0; i < n; ++i) point(cell.sample[i * cell.sample.size() / n], {});
        if (cell.count > 1) point(cell.min, {});
        point(cell.max,
              fmt::format("{} {}: {} at {:.3f} s (slowest of {} in this bin)", kinds[f],
                          outcome_name(oc), ms_label(static_cast<double>(cell.max.latency) / 1e6),
                          static_cast<double>(cell.max.time) / kNs, cell.count));
      }
    }
  }
  const auto groups = group_bins(d, 100, 300, true);
  const double group_ms = groups.empty() ? 0 : (groups[0].t1 - groups[0].t0) * 1e3;
  for (auto [q, cls, name] : {std::tuple{0.5, "q q50", "p50"}, std::tuple{0.99, "q q99", "p99"},
                              std::tuple{0.999, "q q999", "p99.9"}}) {
    std::vector<std::pair<double, double>> pts;
    for (const auto& g : groups) {
      if (g.latency.count() == 0) {
        pts.emplace_back(kNaN, kNaN);
        continue;
      }
      pts.emplace_back((g.t0 + g.t1) / 2, std::max(g.latency.quantile(q) / 1e6, y.lo));
    }
    c.polyline(pts, cls, fmt::format("{} of every operation per {}", name, ms_label(group_ms)));
  }
  std::vector<svg::LegendEntry> legend{{"ok", "op ok", svg::LegendEntry::Swatch::marker},
                                       {"fail", "op fail", svg::LegendEntry::Swatch::marker},
                                       {"info", "op info", svg::LegendEntry::Swatch::marker},
                                       {"p50", "q q50", svg::LegendEntry::Swatch::line},
                                       {"p99", "q q99", svg::LegendEntry::Swatch::line},
                                       {"p99.9", "q q999", svg::LegendEntry::Swatch::line},
                                       {"fault", "fault-swatch", svg::LegendEntry::Swatch::box}};
  c.legend(std::move(legend));
  return c.finish();
}

std::string kinds_legend(const RunData& d) {
  const auto& kinds = d.ops.kinds();
  if (kinds.empty()) return {};
  std::string s = "<div class=\"legend-kinds\">operation kind:";
  for (size_t f = 0; f < kinds.size(); ++f) {
    const auto shape = svg::shape_for(f);
    int64_t n = 0;
    for (Outcome o : {Outcome::ok, Outcome::fail, Outcome::info}) {
      n += d.ops.count(static_cast<uint16_t>(f), o);
    }
    s +=
        fmt::format("<span>{}{} <small>({})</small></span>",
                    svg::marker_swatch(shape, shape == svg::Shape::cross ? "op kind x" : "op kind"),
                    esc(kinds[f]), svg::short_number(static_cast<double>(n)));
  }
  return s + "</div>";
}

std::string throughput_plot(const RunData& d) {
  const auto groups = group_bins(d, 40, 300, false);
  std::array<std::vector<std::pair<double, double>>, kOutcomes> series;
  double hi = 1;
  for (const auto& g : groups) {
    for (size_t o = 0; o < kOutcomes; ++o) {
      const double rate = static_cast<double>(g.completed[o]) / std::max(g.t1 - g.t0, 1e-9);
      hi = std::max(hi, rate);
      series[o].emplace_back((g.t0 + g.t1) / 2, rate);
    }
  }
  const double width_s = groups.empty() ? 0 : groups[0].t1 - groups[0].t0;
  Chart::Options o;
  o.id = "plot-throughput";
  o.title =
      fmt::format("Throughput over time: operations completed per second, by outcome ({} bins)",
                  ms_label(width_s * 1e3));
  o.height = 300;
  o.x_label = "time since the run began (s)";
  o.y_label = "ops/s";
  Chart c(o, time_scale(d), svg::nice_linear(0, hi * 1.05, 5));
  shade_faults(c, d, "fault-window", true);
  phase_lines(c, d);
  if (!series[0].empty()) {
    // The ok rate as an area under its line.
    std::string area = fmt::format(R"(<path class="tp-area" d="M{:.1f} {:.1f})",
                                   c.px(series[0].front().first), c.py(0));
    for (const auto& [x, y] : series[0]) area += fmt::format("L{:.1f} {:.1f}", c.px(x), c.py(y));
    area += fmt::format(R"(L{:.1f} {:.1f}z"/>)", c.px(series[0].back().first), c.py(0));
    c.raw(area);
  }
  c.polyline(series[0], "tp ok", "ok per second");
  c.polyline(series[2], "tp info", "info (indeterminate) per second");
  c.polyline(series[1], "tp fail", "fail per second");
  c.legend({{"ok", "tp ok", svg::LegendEntry::Swatch::line},
            {"fail", "tp fail", svg::LegendEntry::Swatch::line},
            {"info", "tp info", svg::LegendEntry::Swatch::line},
            {"fault", "fault-swatch", svg::LegendEntry::Swatch::box}});
  return c.finish();
}

std::string_view state_name(NodeSpan::State s) {
  switch (s) {
    case NodeSpan::State::starting:
      return "starting";
    case NodeSpan::State::up:
      return "up";
    case NodeSpan::State::down:
      return "down";
    case NodeSpan::State::paused:
      return "paused";
    case NodeSpan::State::cut:
      return "cut";
    case NodeSpan::State::slow:
      return "slow";
    case NodeSpan::State::stopped:
      return "stopped";
  }
  return "up";
}

constexpr double kRow = 18, kRowGap = 5;

std::string node_plot(const RunData& d) {
  Chart::Options o;
  o.id = "plot-availability-nodes";
  o.title = "Availability per node: process state and network faults over time";
  o.margin_left = 120;
  const size_t rows = std::max<size_t>(d.nodes.size(), 1);
  o.height = static_cast<int>(o.margin_top + o.margin_bottom + rows * (kRow + kRowGap) + kRowGap);
  o.x_label = "time since the run began (s)";
  o.y_ticks = false;
  o.y_grid = false;
  Chart c(o, time_scale(d), {0, 1, false});
  shade_faults(c, d, "fault-shade", false);
  double top = c.plot_top() + kRowGap;
  for (const auto& n : d.nodes) {
    c.rect_px_y(0, static_cast<double>(d.end) / kNs, top, kRow, "st-none",
                fmt::format("{}: no events", n.id));
    for (const auto& s : n.spans) {
      const double a = static_cast<double>(s.start) / kNs, b = static_cast<double>(s.end) / kNs;
      c.rect_px_y(
          a, b, top, kRow, fmt::format("st-{}", state_name(s.state)),
          fmt::format("{}: {} from {:.2f} s to {:.2f} s ({:.2f} s){}", n.id, state_name(s.state), a,
                      b, b - a, s.why.empty() ? "" : " — " + s.why));
    }
    std::string label = n.id;
    c.row_label(top + kRow - 5, label);
    top += kRow + kRowGap;
  }
  if (d.nodes.empty())
    c.text(c.plot_left() + 8, top + 12, "no nodes in cluster.json or events.jsonl", "tick");
  c.legend({{"up", "st-up"},
            {"starting", "st-starting"},
            {"down", "st-down"},
            {"stopped", "st-stopped"},
            {"paused", "st-paused"},
            {"cut off", "st-cut"},
            {"partly cut / slow link", "st-slow"}});
  return c.finish();
}

std::string_view ratio_class(int64_t served, int64_t total) {
  if (total == 0) return "av-none";
  const double r = static_cast<double>(served) / static_cast<double>(total);
  if (r >= 0.999) return "av-100";
  if (r >= 0.99) return "av-99";
  if (r >= 0.9) return "av-90";
  if (r >= 0.5) return "av-50";
  return "av-0";
}

std::string shard_plot(const RunData& d) {
  const auto& bins = d.ops.bins();
  const int shards = std::max(d.ops.shards(), 1);
  Chart::Options o;
  o.id = "plot-availability-shards";
  o.title = "Availability per shard: share of operations served, per time bin";
  o.margin_left = 120;
  o.height = static_cast<int>(o.margin_top + o.margin_bottom + shards * (kRow + kRowGap) + kRowGap);
  o.x_label = "time since the run began (s)";
  o.y_ticks = false;
  o.y_grid = false;
  Chart c(o, time_scale(d), {0, 1, false});
  shade_faults(c, d, "fault-shade", false);
  const double w = static_cast<double>(d.ops.width()) / kNs;
  double top = c.plot_top() + kRowGap;
  for (int s = 0; s < shards; ++s) {
    const auto si = static_cast<size_t>(s);
    auto at = [&](size_t i, bool served) -> int64_t {
      const auto& v = served ? bins[i].shard_served : bins[i].shard_total;
      return si < v.size() ? v[si] : 0;
    };
    int64_t all_served = 0, all_total = 0;
    // Runs of neighbouring bins of the same class become one rectangle.
    size_t i = 0;
    while (i < bins.size()) {
      const auto cls = ratio_class(at(i, true), at(i, false));
      size_t j = i;
      int64_t served = 0, total = 0;
      while (j < bins.size() && ratio_class(at(j, true), at(j, false)) == cls) {
        served += at(j, true);
        total += at(j, false);
        ++j;
      }
      all_served += served;
      all_total += total;
      const double a = static_cast<double>(i) * w, b = static_cast<double>(j) * w;
      std::string title =
          total == 0 ? fmt::format("shard {}, {:.2f}–{:.2f} s: no operations", s, a, b)
                     : fmt::format("shard {}, {:.2f}–{:.2f} s: {:.2f}% served ({} of {})", s, a, b,
                                   100.0 * static_cast<double>(served) / static_cast<double>(total),
                                   served, total);
      c.rect_px_y(a, b, top, kRow, cls, title);
      i = j;
    }
    c.row_label(top + kRow - 5, all_total == 0
                                    ? fmt::format("shard {}", s)
                                    : fmt::format("shard {} {:.1f}%", s,
                                                  100.0 * static_cast<double>(all_served) /
                                                      static_cast<double>(all_total)));
    top += kRow + kRowGap;
  }
  c.legend({{"≥ 99.9%", "av-100"},
            {"≥ 99%", "av-99"},
            {"≥ 90%", "av-90"},
            {"≥ 50%", "av-50"},
            {"< 50%", "av-0"},
            {"no ops", "av-none"}});
  return c.finish();
}

std::string version_text(const RunData& d) {
  std::string s;
  if (d.results) s = "faultline " + d.results->faultline_version;
  if (!d.results) return "unknown";
  std::map<std::string, std::string> kinds;
  for (const auto& n : d.results->nodes) {
    for (const auto& [k, v] : n.info) {
      if (k == "version" || k == "redis_version" || k == "server_version") {
        kinds.emplace(n.kind.empty() ? n.id : n.kind, v);
      }
    }
  }
  for (const auto& [k, v] : kinds) s += fmt::format("; {} {}", k, v);
  return s;
}

std::string meta_section(const RunData& d) {
  const RunReport* r = d.results ? &*d.results : nullptr;
  std::string s = "<section id=\"meta\"><h2>Run</h2><dl class=\"meta\">";
  auto item = [&](std::string_view k, std::string_view v) {
    s += fmt::format("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
  };
  const std::string dir = r && !r->run_dir.empty() ? r->run_dir : d.dir.string();
  item("plan", r ? r->plan : "?");
  item("plan file", r ? r->plan_file : "");
  item("seed", r ? std::to_string(r->seed) : "?");
  item("verdict", r ? r->verdict : "unknown (no results.json)");
  item("started", r ? r->started_at : "");
  item("elapsed",
       r ? fmt::format("{:.1f} s (planned {:.1f} s)", r->elapsed_seconds, r->planned_seconds)
         : seconds_label(static_cast<double>(d.end) / kNs));
  if (r) {
    std::string w = r->workload;
    if (!r->mode.empty()) w += ", " + r->mode + " loop";
    if (r->target_rate > 0)
      w += fmt::format(", {} ops/s target", svg::short_number(r->target_rate));
    if (r->concurrency > 0) w += fmt::format(", concurrency {}", r->concurrency);
    item("workload", w);
  }
  item("versions", version_text(d));
  std::map<std::string, int> kinds;
  for (const auto& n : d.nodes) ++kinds[n.kind.empty() ? "?" : n.kind];
  std::string nodes;
  for (const auto& [k, n] : kinds) nodes += fmt::format("{}{} {}", nodes.empty() ? "" : ", ", n, k);
  item("nodes", fmt::format("{}{}", nodes.empty() ? "none" : nodes,
                            d.shards > 1 ? fmt::format(" ({} db shards)", d.shards) : ""));
  item("history", fmt::format("{} operations", d.ops.total()));
  item("run directory", dir);
  if (r) {
    item("harness", fmt::format("{:.1f} s CPU, {} MiB max RSS", r->harness_cpu_seconds,
                                r->harness_max_rss_bytes / (1 << 20)));
  }
  s += "</dl>";
  std::string replay = fmt::format("faultline run {}/plan.toml", dir);
  if (r) replay += fmt::format(" --seed {}", r->seed);
  s += fmt::format("<code id=\"replay\">{}</code>", esc(replay));
  if (r && !r->error.empty()) s += fmt::format("<p class=\"note\">error: {}</p>", esc(r->error));
  return s + "</section>";
}

std::string cards(const RunData& d) {
  int64_t ok = 0, fail = 0, info = 0;
  for (size_t f = 0; f < d.ops.kinds().size(); ++f) {
    ok += d.ops.count(static_cast<uint16_t>(f), Outcome::ok);
    fail += d.ops.count(static_cast<uint16_t>(f), Outcome::fail);
    info += d.ops.count(static_cast<uint16_t>(f), Outcome::info);
  }
  const double total = static_cast<double>(std::max<int64_t>(ok + fail + info, 1));
  std::string s = "<div class=\"cards\">";
  auto card = [&](std::string_view k, std::string v) {
    s += fmt::format("<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div></div>",
                     esc(k), esc(v));
  };
  card("operations", svg::short_number(static_cast<double>(ok + fail + info)));
  card("ok", fmt::format("{:.2f}%", 100.0 * static_cast<double>(ok) / total));
  card("fail / info", fmt::format("{} / {}", fail, info));
  if (d.results) {
    const auto tp = metric_value(*d.results, plan::GateMetric::throughput);
    const auto p50 = metric_value(*d.results, plan::GateMetric::p50);
    const auto p99 = metric_value(*d.results, plan::GateMetric::p99);
    if (tp) card("throughput", svg::short_number(*tp) + "/s");
    if (p50) card("p50 (main)", ms_label(*p50));
    if (p99) card("p99 (main)", ms_label(*p99));
  }
  card("slowest",
       ms_label(static_cast<double>(std::max<int64_t>(d.ops.max_latency().latency, 0)) / 1e6));
  card("faults", std::to_string(d.faults.size()));
  return s + "</div>";
}

std::string phases_section(const RunData& d) {
  std::string s = "<section id=\"phases\"><h2>Phases</h2>";
  if (!d.results || d.results->phases.empty()) {
    s += "<p class=\"note\">No phase metrics (results.json has none).</p>";
  } else {
    s += "<table><thead><tr><th>phase</th><th>ok</th><th>fail</th><th>info</th><th>late</th>"
         "<th>ops/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>"
         "</thead><tbody>";
    for (const auto& p : d.results->phases) {
      s += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
          "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
          esc(p.name), p.ok, p.fail, p.info, p.late, svg::short_number(p.ops_per_sec),
          ms_label(p.latency.p50_ms), ms_label(p.latency.p90_ms), ms_label(p.latency.p99_ms),
          ms_label(p.latency.p999_ms), ms_label(p.latency.max_ms));
    }
    s += "</tbody></table>";
  }
  if (!d.phases.empty()) {
    s += "<p class=\"note\">Timeline: ";
    for (size_t i = 0; i < d.phases.size(); ++i) {
      const auto& p = d.phases[i];
      s += fmt::format("{}{} at {:.2f} s", i ? " · " : "", esc(p.name),
                       static_cast<double>(p.start) / kNs);
      if (p.duration) s += fmt::format(" for {:.1f} s", static_cast<double>(*p.duration) / kNs);
    }
    s += "</p>";
  }
  return s + "</section>";
}

std::string faults_section(const RunData& d) {
  std::string s = "<section id=\"faults\"><h2>Faults</h2>";
  if (d.faults.empty()) return s + "<p class=\"note\">No faults were injected.</p></section>";
  s += "<table><thead><tr><th>#</th><th>start</th><th>end</th><th>duration</th><th "
       "class=\"l\">action</th>"
       "<th class=\"l\">target</th><th class=\"l\">what happened</th></tr></thead><tbody>";
  for (size_t k = 0; k < d.faults.size(); ++k) {
    const auto& w = d.faults[k];
    const double a = static_cast<double>(w.start_ns) / kNs;
    std::string end = "not healed", dur = "–";
    if (w.end_ns) {
      const double b = static_cast<double>(*w.end_ns) / kNs;
      end = fmt::format("{:.2f} s", b);
      dur = fmt::format("{:.2f} s", b - a);
    }
    s += fmt::format(
        "<tr><td>{}</td><td>{:.2f} s</td><td>{}</td><td>{}</td><td class=\"l\">{}</td><td "
        "class=\"l\">{}"
        "</td><td class=\"l\">{}{}</td></tr>",
        w.index >= 0 ? std::to_string(w.index) : "–", a, end, dur, esc(w.action), esc(w.target),
        esc(w.detail), w.source == "control" ? " (control API)" : "");
  }
  return s + "</tbody></table></section>";
}

std::string nodes_section(const RunData& d) {
  if (!d.results || d.results->nodes.empty()) return {};
  std::string s =
      "<section id=\"nodes\"><h2>Nodes</h2><table><thead><tr><th>node</th>"
      "<th class=\"l\">kind</th><th class=\"l\">group</th><th>shard</th>"
      "<th class=\"l\">address</th><th>not up</th><th class=\"l\">at the end</th>"
      "</tr></thead><tbody>";
  for (const auto& n : d.results->nodes) {
    double not_up = 0;
    for (const auto& cn : d.nodes) {
      if (cn.id != n.id) continue;
      for (const auto& sp : cn.spans) {
        if (sp.state == NodeSpan::State::down || sp.state == NodeSpan::State::paused ||
            sp.state == NodeSpan::State::cut) {
          not_up += static_cast<double>(sp.end - sp.start) / kNs;
        }
      }
    }
    std::string end;
    for (const auto& [k, v] : n.info) {
      if (k == "role" || k == "keys" || k == "used_memory_human" || k == "entries") {
        end += fmt::format("{}{}={}", end.empty() ? "" : " ", k, v);
      }
    }
    if (!n.info_error.empty()) end = n.info_error;
    s += fmt::format(
        "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td>"
        "<td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
        esc(n.id), esc(n.kind), esc(n.group), n.shard >= 0 ? std::to_string(n.shard) : "–",
        esc(n.address), not_up > 0 ? fmt::format("{:.2f} s", not_up) : "–", esc(end));
  }
  return s + "</tbody></table></section>";
}

}  // namespace

std::string render_html(const RunData& d) {
  const RunReport* r = d.results ? &*d.results : nullptr;
  const std::string verdict = r ? r->verdict : "unknown";
  const std::string plan = r ? r->plan : d.dir.filename().string();
  std::string s;
  s.reserve(1 << 20);
  s += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  s += fmt::format("<title>faultline: {} — {}</title><style>{}</style></head><body><main>",
                   esc(plan), esc(verdict), kStyle);
  s += fmt::format(
      "<header class=\"top\"><h1>{}</h1><span class=\"badge v-{}\">{}</span><span class=\"sub\">"
      "seed {} · {}</span></header>",
      esc(plan), esc(verdict), esc(verdict), r ? std::to_string(r->seed) : "?",
      esc(r ? r->started_at : ""));
  s += "<nav class=\"toc\"><a href=\"#meta\">run</a><a href=\"#latency\">latency</a>"
       "<a href=\"#throughput\">throughput</a><a href=\"#availability\">availability</a>"
       "<a href=\"#checks\">checks</a><a href=\"#phases\">phases</a><a href=\"#faults\">faults</a>"
       "</nav>";
  s += cards(d);
  s += meta_section(d);
  if (!d.warnings.empty()) {
    s += "<section id=\"warnings\" class=\"warn\"><h2>Incomplete run directory</h2><ul>";
    for (const auto& w : d.warnings) s += "<li>" + esc(w) + "</li>";
    s += "</ul></section>";
  }
  s += "<section id=\"latency\"><h2>Latency</h2><p class=\"note\">Each mark is one operation at "
       "the time it was sent, its height how long it took to complete (completion − invocation in "
       "history.jsonl). Per time bin a bounded sample is drawn plus the fastest and slowest "
       "operation of each kind and outcome; the lines are quantiles over every operation. An "
       "open-loop run's phase table counts latency from each operation's intended start, so an "
       "operation that waited for a free process (late) weighs more there than here. Shaded: "
       "fault windows (hover for details).</p>";
  s += latency_plot(d);
  s += kinds_legend(d);
  s += "</section>";
  s += "<section id=\"throughput\"><h2>Throughput</h2>";
  s += throughput_plot(d);
  s += "</section>";
  s += "<section id=\"availability\"><h2>Availability</h2><p class=\"note\">Node states come from "
       "the supervisor's events (spawned, ready, exited, paused) and the network faults that "
       "touched each node. Shard rows show the share of the operations on the shard's keys that "
       "were served (ok, or a fail the system answered on purpose).</p>";
  s += node_plot(d);
  if (d.ops.keyed() > 0) s += shard_plot(d);
  s += "</section>";
  if (r) {
    s += checks_section(*r);
  } else {
    s += "<section id=\"checks\"><h2>Checks</h2><p class=\"note\">No results.json: the run did not "
         "finish, so there are no verdicts.</p></section>";
  }
  s += phases_section(d);
  s += faults_section(d);
  s += nodes_section(d);
  s += fmt::format("<footer>faultline {} · report of {}</footer>",
                   esc(r ? r->faultline_version : ""), esc(d.dir.string()));
  s += "</main></body></html>\n";
  return s;
}

result<void> write_html_report(const fs::path& run_dir, const fs::path& out) {
  auto d = load_run(run_dir);
  if (!d) return d.error();
  const fs::path target = out.empty() ? run_dir / "report.html" : out;
  return rundir::write_atomic(target, render_html(*d));
}

}  // namespace fl::report
