#include "harness/report/compare.h"

#include "harness/report/stats.h"

#include <boost/json.hpp>
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cctype>
#include <system_error>
#include <tuple>

namespace fl::report {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kRed = "\x1b[31m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kReset = "\x1b[0m";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "rep-2" before "rep-10": names compared with their trailing number as a number.
bool natural_less(const fs::path& a, const fs::path& b) {
  auto split = [](const std::string& s) {
    size_t digits = s.size();
    while (digits > 0 && std::isdigit(static_cast<unsigned char>(s[digits - 1]))) --digits;
    const std::string tail = s.substr(digits);
    // A tail too long for a number sorts by text after every shorter one.
    const unsigned long long n = tail.empty() || tail.size() > 18 ? 0 : std::stoull(tail);
    return std::make_tuple(s.substr(0, digits), tail.size() > 18, n, s);
  };
  return split(a.filename().string()) < split(b.filename().string());
}

// "rep-3": a repetition `faultline run --repeat` wrote.
bool is_rep_name(std::string_view name) {
  constexpr std::string_view kRep = "rep-";
  if (name.size() <= kRep.size() || name.substr(0, kRep.size()) != kRep) return false;
  return std::all_of(name.begin() + kRep.size(), name.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string metric_label(plan::GateMetric m, const std::string& workload) {
  return workload.empty() ? std::string(plan::to_string(m))
                          : fmt::format("{}/{}", workload, plan::to_string(m));
}

Distribution distribution(std::vector<double> values) {
  Distribution d;
  d.median = median(values);
  d.min = *std::min_element(values.begin(), values.end());
  d.max = *std::max_element(values.begin(), values.end());
  d.values = std::move(values);
  return d;
}

result<std::vector<double>> values_of(const RunSet& set, plan::GateMetric m,
                                      const std::string& workload, std::string_view why) {
  std::vector<double> out;
  for (size_t i = 0; i < set.reports.size(); ++i) {
    auto v = metric_value(set.reports[i], m, workload);
    if (!v) {
      return Error(
          errc::invalid_argument,
          fmt::format("{}: run {} has no {} phase to read {} from", why, set.dirs[i].string(),
                      workload.empty() ? std::string("main") : workload + "/main",
                      plan::to_string(m)));
    }
    out.push_back(*v);
  }
  return out;
}

CompareRow make_row(plan::GateMetric m, std::string workload, std::vector<double> base,
                    std::vector<double> cand) {
  CompareRow row;
  row.metric = m;
  row.workload = std::move(workload);
  row.absolute = plan::is_ratio(m);
  // "Worse" is lower throughput, or higher latency or ratio: the test asks whether the
  // candidate's values tend to lie on that side of the baseline's.
  const bool higher_better = plan::higher_is_better(m);
  const auto test =
      mann_whitney_u(cand, base, higher_better ? Alternative::less : Alternative::greater);
  row.p = test.p;
  row.exact = test.exact;
  row.cliffs_delta = cliffs_delta(cand, base);
  row.shift = hodges_lehmann(cand, base);
  row.baseline = distribution(std::move(base));
  row.candidate = distribution(std::move(cand));
  const double b = row.baseline.median, c = row.candidate.median;
  if (row.absolute) {
    row.change = c - b;
  } else if (b != 0) {
    row.change = (c - b) / std::abs(b);
  } else {
    row.change = c == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), c);
  }
  row.worsening = higher_better ? -row.change : row.change;
  return row;
}

std::string format_p(double p) {
  if (p < 0.0001) return "<0.0001";
  return fmt::format("{:.3g}", p);
}

std::string format_change(const CompareRow& r) {
  if (r.absolute) return fmt::format("{:+.2f} pp", r.change * 100);
  if (std::isinf(r.change)) return r.change > 0 ? "+∞" : "-∞";
  if (std::abs(r.change) >= 1) return fmt::format("{:+.0f}%", r.change * 100);
  return fmt::format("{:+.1f}%", r.change * 100);
}

std::string count_runs(size_t n) { return fmt::format("{} run{}", n, n == 1 ? "" : "s"); }

std::string format_distribution(const CompareRow& r, const Distribution& d) {
  return fmt::format("{} [{}–{}]", plan::format_metric(r.metric, d.median),
                     plan::format_metric(r.metric, d.min), plan::format_metric(r.metric, d.max));
}

std::string format_effect(double delta) {
  return fmt::format("{:+.2f} {}", delta, cliffs_magnitude(delta));
}

std::string headline(const Comparison& c) {
  std::vector<std::string> regressions, missed, shaky;
  size_t gates = 0;
  for (const auto& r : c.rows) {
    if (!r.gate) continue;
    ++gates;
    const std::string label = metric_label(r.metric, r.workload);
    switch (r.verdict) {
      case RowVerdict::regression:
        regressions.push_back(
            fmt::format("{} {} (p = {})", label, format_change(r), format_p(r.p)));
        break;
      case RowVerdict::missed:
        missed.push_back(fmt::format("{} (candidate median {})", r.gate->text,
                                     plan::format_metric(r.metric, r.candidate.median)));
        break;
      case RowVerdict::not_significant:
        shaky.push_back(fmt::format("{} {} (p = {})", label, format_change(r), format_p(r.p)));
        break;
      default:
        break;
    }
  }
  auto join = [](const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
    return out;
  };
  std::string line;
  if (!regressions.empty()) line = "regression: " + join(regressions);
  if (!missed.empty()) line += (line.empty() ? "" : "; ") + std::string("missed: ") + join(missed);
  if (line.empty() && c.exit_code == 2) {
    line = fmt::format(
        "inconclusive: {} against {} cannot reach p < {:g} (the smallest p possible is {}); "
        "run at least {} repetitions of each",
        count_runs(c.baseline_dirs.size()), count_runs(c.candidate_dirs.size()), c.alpha,
        format_p(c.min_p), c.repetitions_needed);
  }
  if (line.empty()) {
    line = fmt::format("no regression: {} gate{} passed ({} of the baseline, {} of the candidate)",
                       gates, gates == 1 ? "" : "s", count_runs(c.baseline_dirs.size()),
                       count_runs(c.candidate_dirs.size()));
  }
  if (!shaky.empty()) {
    line += "; worse but not significant (more repetitions would decide): " + join(shaky);
  }
  return line;
}

// Columns of display text, padded by code points so "–" and "∞" count as one.
size_t display_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

std::string pad(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

json::value number_or_null(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

json::object distribution_json(const Distribution& d) {
  json::array values;
  for (double v : d.values) values.push_back(number_or_null(v));
  return {{"median", number_or_null(d.median)},
          {"min", number_or_null(d.min)},
          {"max", number_or_null(d.max)},
          {"values", std::move(values)}};
}

}  // namespace

result<std::vector<fs::path>> resolve_run_dirs(std::string_view arg) {
  std::vector<fs::path> out;
  size_t start = 0;
  while (start <= arg.size()) {
    const size_t comma = std::min(arg.find(',', start), arg.size());
    const std::string_view part = trim(arg.substr(start, comma - start));
    start = comma + 1;
    if (part.empty()) continue;
    fs::path p{std::string(part)};
    std::error_code ec;
    if (p.filename() == "results.json" && fs::is_regular_file(p, ec)) {
      out.push_back(p.parent_path().empty() ? fs::path(".") : p.parent_path());
      continue;
    }
    if (!fs::is_directory(p, ec)) {
      return Error(errc::not_found, fmt::format("{}: no such run directory", p.string()));
    }
    if (fs::is_regular_file(p / "results.json", ec)) {
      out.push_back(p);
      continue;
    }
    // A directory of runs counts only as the output of `faultline run --repeat` (repeat.json,
    // or every run in it named rep-N): a sweep's output or a `runs/` directory holds runs of
    // different configurations, and pooling them as repetitions would compare nonsense.
    const bool repeat_json = fs::is_regular_file(p / "repeat.json", ec);
    std::vector<fs::path> runs;
    std::vector<std::string> strangers;
    for (const auto& entry : fs::directory_iterator(p, ec)) {
      std::error_code entry_ec;
      if (entry.is_directory(entry_ec) &&
          fs::is_regular_file(entry.path() / "results.json", entry_ec)) {
        runs.push_back(entry.path());
        if (!is_rep_name(entry.path().filename().string())) {
          strangers.push_back(entry.path().filename().string());
        }
      }
    }
    if (ec) {
      return Error(errc::io_error, fmt::format("{}: {}", p.string(), ec.message()));
    }
    if (runs.empty()) {
      return Error(errc::not_found,
                   fmt::format("{}: neither a run directory (no results.json) nor a directory "
                               "of repetitions (as `faultline run --repeat` writes)",
                               p.string()));
    }
    if (!repeat_json && !strangers.empty()) {
      std::sort(strangers.begin(), strangers.end(), natural_less);
      return Error(errc::invalid_argument,
                   fmt::format("{}: not the output of `faultline run --repeat` (no repeat.json, "
                               "and runs not named rep-N: {}); its runs may be different "
                               "configurations. Name the runs to compare, separated by commas",
                               p.string(), fmt::join(strangers, ", ")));
    }
    std::sort(runs.begin(), runs.end(), natural_less);
    out.insert(out.end(), runs.begin(), runs.end());
  }
  if (out.empty()) return Error(errc::invalid_argument, "no run directory given");
  return out;
}

result<RunSet> load_run_set(std::string_view arg) {
  auto dirs = resolve_run_dirs(arg);
  if (!dirs) return dirs.error();
  RunSet set;
  for (const auto& dir : *dirs) {
    auto r = read_results(dir / "results.json");
    if (!r) return r.error();
    if (r->verdict == "error") {
      return Error(errc::invalid_argument,
                   fmt::format("{}: the run ended in an error ({}); the harness did not finish "
                               "it, so its numbers measure nothing. Rerun it, or leave it out",
                               dir.string(), r->error.empty() ? "no message" : r->error));
    }
    set.dirs.push_back(dir);
    set.reports.push_back(std::move(*r));
  }
  return set;
}

std::vector<plan::Gate> default_gates() {
  std::vector<plan::Gate> out;
  for (const char* text :
       {"regression throughput < 10%", "regression p50 < 20%", "regression p99 < 20%",
        "regression p999 < 30%", "regression error_ratio < 1%"}) {
    out.push_back(plan::parse_gate(text).value());
  }
  return out;
}

std::string_view to_string(RowVerdict v) {
  switch (v) {
    case RowVerdict::pass:
      return "pass";
    case RowVerdict::regression:
      return "regression";
    case RowVerdict::not_significant:
      return "not significant";
    case RowVerdict::missed:
      return "missed";
    case RowVerdict::inconclusive:
      return "inconclusive";
    case RowVerdict::info:
      return "info";
  }
  return "?";
}

result<Comparison> compare_runs(const RunSet& baseline, const RunSet& candidate,
                                const CompareOptions& options) {
  Comparison c;
  c.alpha = options.alpha;
  c.min_effect = options.min_effect;
  for (const auto& d : baseline.dirs) c.baseline_dirs.push_back(d.string());
  for (const auto& d : candidate.dirs) c.candidate_dirs.push_back(d.string());
  if (baseline.reports.empty() || candidate.reports.empty()) {
    return Error(errc::invalid_argument, "compare: a side without runs");
  }
  c.baseline_plan = baseline.reports.front().plan;
  c.candidate_plan = candidate.reports.front().plan;
  c.min_p = min_p_value(baseline.reports.size(), candidate.reports.size(), Alternative::less);
  c.repetitions_needed = repetitions_needed(options.alpha, Alternative::less);
  const bool too_few = c.min_p >= options.alpha;

  auto note_runs = [&](const RunSet& set, std::string_view side) {
    std::vector<std::string> delays;
    for (const auto& r : set.reports) {
      if (!r.versions.test_delay.empty()) delays.push_back(r.versions.test_delay);
    }
    if (!delays.empty()) {
      std::sort(delays.begin(), delays.end());
      delays.erase(std::unique(delays.begin(), delays.end()), delays.end());
      const size_t with = std::count_if(set.reports.begin(), set.reports.end(),
                                        [](const RunReport& r) { return !r.versions.test_delay.empty(); });
      c.notes.push_back(fmt::format(
          "{} runs: {} of {} had FAULTLINE_TEST_DELAY={} (every node delayed each reply on "
          "purpose)",
          side, with, set.reports.size(), fmt::join(delays, ",")));
    }
    for (size_t i = 0; i < set.reports.size(); ++i) {
      const auto& r = set.reports[i];
      if (r.plan != set.reports.front().plan) {
        c.notes.push_back(fmt::format("{} run {} is of plan '{}', the first of plan '{}'", side,
                                      set.dirs[i].string(), r.plan, set.reports.front().plan));
      }
      if (r.verdict != "valid") {
        c.notes.push_back(fmt::format(
            "{} run {}: verdict {} (a check did not pass); its performance is compared all the "
            "same",
            side, set.dirs[i].string(), r.verdict));
      }
    }
  };
  if (c.baseline_plan != c.candidate_plan) {
    c.notes.push_back(fmt::format("the baseline ran plan '{}', the candidate plan '{}'",
                                  c.baseline_plan, c.candidate_plan));
  }
  note_runs(baseline, "baseline");
  note_runs(candidate, "candidate");

  bool regression = false, inconclusive = false;
  for (const auto& g : options.gates) {
    auto base = values_of(baseline, g.metric, g.workload, fmt::format("gate '{}'", g.text));
    if (!base) return base.error();
    auto cand = values_of(candidate, g.metric, g.workload, fmt::format("gate '{}'", g.text));
    if (!cand) return cand.error();
    CompareRow row = make_row(g.metric, g.workload, std::move(*base), std::move(*cand));
    row.gate = g;
    if (!g.regression) {
      const double m = row.candidate.median;
      row.verdict = g.met(m) ? RowVerdict::pass : RowVerdict::missed;
    } else {
      const bool beyond =
          row.worsening > g.limit && (row.absolute || row.worsening >= options.min_effect);
      if (too_few) {
        // No data could have shown a difference, so a gate met proves nothing either.
        row.verdict = RowVerdict::inconclusive;
        inconclusive = true;
      } else if (!beyond) {
        row.verdict = RowVerdict::pass;
      } else {
        row.verdict = row.p < options.alpha ? RowVerdict::regression : RowVerdict::not_significant;
      }
    }
    regression =
        regression || row.verdict == RowVerdict::regression || row.verdict == RowVerdict::missed;
    c.rows.push_back(std::move(row));
  }
  // The usual metrics no gate covers, for context.
  for (auto m : {plan::GateMetric::throughput, plan::GateMetric::p50, plan::GateMetric::p99,
                 plan::GateMetric::p999, plan::GateMetric::error_ratio}) {
    const bool gated = std::any_of(options.gates.begin(), options.gates.end(), [&](const auto& g) {
      return g.metric == m && g.workload.empty();
    });
    if (gated) continue;
    auto base = values_of(baseline, m, {}, "");
    auto cand = values_of(candidate, m, {}, "");
    if (!base || !cand) continue;
    c.rows.push_back(make_row(m, {}, std::move(*base), std::move(*cand)));
  }
  c.exit_code = regression ? 1 : inconclusive ? 2 : 0;
  c.headline = headline(c);
  return c;
}

std::string comparison_table(const Comparison& c, bool color) {
  auto paint = [&](const std::string& text, const char* code) {
    return color ? fmt::format("{}{}{}", code, text, kReset) : text;
  };
  std::string out = paint("faultline compare", color ? kBold : "");
  out += fmt::format(
      ": plan {}, {} of the baseline against {} of the candidate (one-sided "
      "Mann-Whitney U, alpha {:g}, min effect {:g}%)\n",
      c.baseline_plan == c.candidate_plan ? c.baseline_plan
                                          : c.baseline_plan + " / " + c.candidate_plan,
      count_runs(c.baseline_dirs.size()), count_runs(c.candidate_dirs.size()), c.alpha,
      c.min_effect * 100);
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"METRIC", "BASELINE median [min–max]", "CANDIDATE median [min–max]", "CHANGE",
                   "P", "CLIFF'S DELTA", "GATE", "VERDICT"});
  for (const auto& r : c.rows) {
    cells.push_back({metric_label(r.metric, r.workload), format_distribution(r, r.baseline),
                     format_distribution(r, r.candidate), format_change(r), format_p(r.p),
                     format_effect(r.cliffs_delta), r.gate ? r.gate->limit_text() : "-",
                     r.verdict == RowVerdict::info ? "-" : std::string(to_string(r.verdict))});
  }
  std::vector<size_t> widths(cells.front().size(), 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  for (size_t k = 0; k < cells.size(); ++k) {
    std::string line = " ";
    for (size_t i = 0; i + 1 < cells[k].size(); ++i) line += " " + pad(cells[k][i], widths[i]);
    std::string verdict = cells[k].back();
    if (k > 0) {
      const auto v = c.rows[k - 1].verdict;
      if (v == RowVerdict::regression || v == RowVerdict::missed) verdict = paint(verdict, kRed);
      if (v == RowVerdict::pass) verdict = paint(verdict, kGreen);
      if (v == RowVerdict::not_significant || v == RowVerdict::inconclusive) {
        verdict = paint(verdict, kYellow);
      }
    }
    out += line + " " + verdict + "\n";
  }
  for (const auto& n : c.notes) out += "  note: " + n + "\n";
  const char* code = c.exit_code == 0 ? kGreen : c.exit_code == 1 ? kRed : kYellow;
  out += paint(fmt::format("Result: {} (exit {})", c.headline, c.exit_code), code) + "\n";
  return out;
}

std::string comparison_markdown(const Comparison& c) {
  const char* mark = c.exit_code == 0 ? "✅" : c.exit_code == 1 ? "❌" : "❔";
  std::string out = fmt::format("### {} faultline compare: {}\n\n", mark, c.headline);
  out += fmt::format(
      "Plan `{}`: {} of the baseline against {} of the candidate. A regression gate fails when the "
      "candidate is worse by more than its limit, by at least {:g}%, and a one-sided "
      "Mann-Whitney U test gives p < {:g}.\n\n",
      c.baseline_plan == c.candidate_plan ? c.baseline_plan
                                          : c.baseline_plan + "` / `" + c.candidate_plan,
      count_runs(c.baseline_dirs.size()), count_runs(c.candidate_dirs.size()), c.min_effect * 100,
      c.alpha);
  out +=
      "| metric | baseline median [min–max] | candidate median [min–max] | change | p-value "
      "| effect (Cliff's δ) | gate | verdict |\n";
  out += "| --- | ---: | ---: | ---: | ---: | ---: | --- | :---: |\n";
  for (const auto& r : c.rows) {
    std::string verdict = "—";
    switch (r.verdict) {
      case RowVerdict::pass:
        verdict = "✅";
        break;
      case RowVerdict::regression:
        verdict = "❌ regression";
        break;
      case RowVerdict::missed:
        verdict = "❌ missed";
        break;
      case RowVerdict::not_significant:
        verdict = "⚠️ not significant";
        break;
      case RowVerdict::inconclusive:
        verdict = "❔ too few runs";
        break;
      case RowVerdict::info:
        break;
    }
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                       metric_label(r.metric, r.workload), format_distribution(r, r.baseline),
                       format_distribution(r, r.candidate), format_change(r), format_p(r.p),
                       format_effect(r.cliffs_delta),
                       r.gate ? fmt::format("`{}`", r.gate->text) : "", verdict);
  }
  if (!c.notes.empty()) {
    out += "\n";
    for (const auto& n : c.notes) out += "- " + n + "\n";
  }
  return out;
}

std::string comparison_json(const Comparison& c) {
  json::array rows;
  for (const auto& r : c.rows) {
    json::object row{{"metric", plan::to_string(r.metric)},
                     {"workload", r.workload},
                     {"gate", r.gate ? json::value(r.gate->text) : json::value(nullptr)},
                     {"baseline", distribution_json(r.baseline)},
                     {"candidate", distribution_json(r.candidate)},
                     {"change", number_or_null(r.change)},
                     {"change_is_absolute", r.absolute},
                     {"p_value", r.p},
                     {"exact", r.exact},
                     {"cliffs_delta", r.cliffs_delta},
                     {"hodges_lehmann_shift", number_or_null(r.shift)},
                     {"verdict", to_string(r.verdict)}};
    rows.push_back(std::move(row));
  }
  json::array base_dirs, cand_dirs, notes;
  for (const auto& d : c.baseline_dirs) base_dirs.push_back(json::string(d));
  for (const auto& d : c.candidate_dirs) cand_dirs.push_back(json::string(d));
  for (const auto& n : c.notes) notes.push_back(json::string(n));
  json::object o{{"baseline", {{"plan", c.baseline_plan}, {"runs", std::move(base_dirs)}}},
                 {"candidate", {{"plan", c.candidate_plan}, {"runs", std::move(cand_dirs)}}},
                 {"alpha", c.alpha},
                 {"min_effect", c.min_effect},
                 {"min_p_value", c.min_p},
                 {"repetitions_needed", c.repetitions_needed},
                 {"rows", std::move(rows)},
                 {"notes", std::move(notes)},
                 {"headline", c.headline},
                 {"exit_code", c.exit_code}};
  return json::serialize(o) + "\n";
}

}  // namespace fl::report
