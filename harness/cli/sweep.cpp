// `faultline sweep PLAN --set KEY=V1,V2,...`: one run of PLAN per value of one plan key, then a
// table and a chart of throughput and latency against the value. The value is set in the plan's
// TOML before it is validated (sweep_plan.h), and the plan so changed is written next to its
// run (`<out>/<key>=<value>.toml`), so a bad value is reported against a file the user can open
// and each run directory's plan.toml replays that run.
#include "common/exit_codes.h"
#include "common/units.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/cli/signals.h"
#include "harness/cli/sweep_plan.h"
#include "harness/plan/gates.h"
#include "harness/plan/plan.h"
#include "harness/report/html_sections.h"
#include "harness/report/svg.h"
#include "harness/rundir/run_dir.h"
#include "harness/run/repeat.h"
#include "harness/run/run.h"

#include <boost/json.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace fl::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kUsage =
    R"(Usage: faultline sweep PLAN --set KEY=V1,V2,... [--out DIR] [--duration D] [--seed N] [--quiet]

Runs PLAN once for each value of one plan key, with the same seed, and compares the runs. KEY is
a dotted path into the plan's TOML: cluster.db.shards, cluster.cache.nodes, cluster.lb.nodes,
workload.rate, workload.concurrency, or any other key (an element of an array of tables by
its index: workload.1.rate). The value takes the type the key has in the plan (integer,
float, boolean or string); a key the plan does not have is added, as an integer, float or
boolean when it reads as one, else a string.

Writes, under DIR (default runs/<plan>-sweep-<UTC time>): <KEY>=<V>.toml (the plan as run) and
<KEY>=<V>/ (its run directory) for each value, then sweep.json, sweep.md (a table: verdict,
throughput, p50, p99, error ratio per value) and sweep.svg (throughput and p99 against the
value). Exits with the worst exit code of the runs (0 all passed, 1 a check failed, 2 unknown,
3 a bad plan, key or value, or a run the harness could not do).
)";

// One value's run: its figures as `run --repeat` reads a repetition.
struct Point {
  std::string value;
  run::Repetition rep;
};

std::string fmt_opt(const std::optional<double>& v, plan::GateMetric m) {
  return v ? plan::format_metric(m, *v) : std::string("-");
}

std::string sweep_markdown(std::string_view plan, std::string_view key,
                           const std::vector<Point>& points) {
  std::string out = fmt::format("# faultline sweep {} --set {}\n\n", plan, key);
  out += fmt::format("| {} | verdict | throughput | p50 | p99 | error ratio |\n", key);
  out += "| ---: | --- | ---: | ---: | ---: | ---: |\n";
  for (const Point& p : points) {
    const run::Repetition& r = p.rep;
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", p.value, r.verdict,
                       fmt_opt(r.throughput, plan::GateMetric::throughput),
                       fmt_opt(r.p50_ms, plan::GateMetric::p50),
                       fmt_opt(r.p99_ms, plan::GateMetric::p99),
                       fmt_opt(r.error_ratio, plan::GateMetric::error_ratio));
  }
  return out;
}

json::value opt_json(const std::optional<double>& v) {
  if (v) return json::value(*v);
  return json::value(nullptr);
}

std::string sweep_json(std::string_view plan, std::string_view key, uint64_t seed,
                       const std::vector<Point>& points) {
  json::array runs;
  for (const Point& p : points) {
    const run::Repetition& r = p.rep;
    runs.push_back(json::object{{"value", p.value},
                                {"run_dir", r.dir.string()},
                                {"exit_code", r.exit_code},
                                {"verdict", r.verdict},
                                {"throughput", opt_json(r.throughput)},
                                {"p50_ms", opt_json(r.p50_ms)},
                                {"p99_ms", opt_json(r.p99_ms)},
                                {"error_ratio", opt_json(r.error_ratio)}});
  }
  return json::serialize(json::object{{"plan", plan}, {"key", key}, {"seed", seed}, {"runs", runs}}) + "\n";
}

// A self-contained SVG file: two charts one above the other, throughput and p99 against the
// value (the values evenly spaced in the order given), drawn with report's chart writer and
// styled by an inline <style>.
std::string sweep_svg(std::string_view plan, std::string_view key,
                      const std::vector<Point>& points) {
  constexpr int kWidth = 640, kHeight = 250;
  const double n = static_cast<double>(points.size());
  std::vector<report::svg::Tick> x_ticks;
  for (size_t i = 0; i < points.size(); ++i) {
    x_ticks.push_back({static_cast<double>(i), points[i].value, true});
  }
  const auto chart = [&](std::string id, std::string title, std::string y_label,
                         std::optional<double> run::Repetition::*field, std::string_view css) {
    double max = 0;
    for (const Point& p : points) max = std::max(max, (p.rep.*field).value_or(0));
    report::svg::Chart::Options o;
    o.id = std::move(id);
    o.title = std::move(title);
    o.width = kWidth;
    o.height = kHeight;
    o.x_label = std::string(key);
    o.y_label = std::move(y_label);
    o.x_grid = false;
    report::svg::Chart c(o, report::svg::Scale{-0.5, n - 0.5},
                         report::svg::nice_linear(0, max > 0 ? max : 1));
    c.set_x_ticks(x_ticks);
    std::vector<std::pair<double, double>> line;
    for (size_t i = 0; i < points.size(); ++i) {
      const std::optional<double> v = points[i].rep.*field;
      line.emplace_back(static_cast<double>(i), v ? *v : std::nan(""));
    }
    c.polyline(line, fmt::format("line {}", css));
    for (size_t i = 0; i < points.size(); ++i) {
      if (const std::optional<double> v = points[i].rep.*field) {
        c.marker(static_cast<double>(i), *v, report::svg::Shape::circle,
                 fmt::format("sweep-point {}", css),
                 fmt::format("{} = {}: {:.4g}", key, points[i].value, *v));
      }
    }
    return c.finish();
  };
  std::string s = fmt::format(
      R"x(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}">)x"
      "\n<title>faultline sweep {2}: throughput and p99 against {3}</title>\n",
      kWidth, 2 * kHeight, report::html_escape(plan), report::html_escape(key));
  s += "<style>svg{font-family:system-ui,sans-serif}.chart-title{font-weight:600;font-size:13px}"
       ".tick,.legend-label{font-size:11px;fill:#4b5563}.axis-label{font-size:12px;fill:#6b7280}"
       ".grid{stroke:#eef0f3}.grid.minor{stroke:#f5f6f8}.frame{fill:none;stroke:#cfd4dc}"
       ".line{fill:none;stroke-width:2}.line.tp{stroke:#1f77b4}.line.p99{stroke:#ff7f0e}"
       ".sweep-point{stroke-width:4}.sweep-point.tp{fill:#1f77b4;stroke:#1f77b4}"
       ".sweep-point.p99{fill:#ff7f0e;stroke:#ff7f0e}</style>\n";
  s += chart("sweep-throughput", fmt::format("{}: throughput against {}", plan, key),
             "throughput (ops/s)", &run::Repetition::throughput, "tp");
  s += fmt::format(R"x(<g transform="translate(0,{})">)x", kHeight);
  s += chart("sweep-p99", fmt::format("{}: p99 against {}", plan, key), "p99 (ms)",
             &run::Repetition::p99_ms, "p99");
  s += "</g>\n</svg>\n";
  return s;
}

bool write_file(const fs::path& path, std::string_view text) {
  auto w = rundir::write_atomic(path, text);
  if (!w) fmt::print(stderr, "faultline sweep: cannot write {}: {}\n", path.string(),
                     w.error().message);
  return static_cast<bool>(w);
}

}  // namespace

int sweep_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("plan", po::value<std::string>()->required(), "the plan file")(
      "set", po::value<std::string>()->required(), "KEY=V1,V2,...: the key and its values")(
      "out", po::value<std::string>(), "directory (default runs/<plan>-sweep-<UTC time>)")(
      "duration", po::value<std::string>(), "replace the plan's duration in every run")(
      "seed", po::value<uint64_t>(), "replace the plan's seed in every run")(
      "quiet", po::bool_switch(), "no live progress line");
  po::positional_options_description positional;
  positional.add("plan", 1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;

  const fs::path plan_path = (*vm)["plan"].as<std::string>();
  const std::string set = (*vm)["set"].as<std::string>();
  const size_t eq = set.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == set.size()) {
    fmt::print(stderr, "faultline sweep: --set must be KEY=V1,V2,..., got '{}'\n", set);
    return kExitHarness;
  }
  const std::string key = set.substr(0, eq);
  const std::vector<std::string> values = split_values(std::string_view(set).substr(eq + 1));
  for (const auto& v : values) {
    if (v.empty() || v.find_first_of("/\\") != std::string::npos) {
      fmt::print(stderr, "faultline sweep: --set {}: empty value or one with a '/' in '{}'\n",
                 key, set);
      return kExitHarness;
    }
  }

  run::RunOptions ropts;
  if (!read_seed_and_duration(*vm, "sweep", ropts)) return kExitHarness;
  ropts.progress = !(*vm)["quiet"].as<bool>();

  // The plan as written must be valid first, so its own mistakes point into its own file.
  auto original = plan::load_plan_file(plan_path);
  if (!original.plan) {
    for (const auto& d : original.errors) fmt::print(stderr, "{}\n", d.str());
    return kExitHarness;
  }
  std::string plan_text;
  {
    std::ifstream in(plan_path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    plan_text = buf.str();
  }

  // One seed for every value, drawn once when neither --seed nor the plan gives one.
  const uint64_t seed = run::series_seed(ropts.seed, original.plan->seed);

  std::optional<fs::path> out;
  if (vm->count("out")) out = fs::path((*vm)["out"].as<std::string>());
  auto dir = rundir::create(original.plan->name + "-sweep", out);
  if (!dir) {
    fmt::print(stderr, "faultline sweep: {}\n", dir.error().message);
    return kExitHarness;
  }

  // Every value's plan is written and validated before anything runs.
  std::vector<plan::Plan> plans;
  std::vector<Point> points;
  bool bad = false;
  for (const auto& value : values) {
    auto text = with_key_set(plan_text, key, value);
    if (!text) {
      fmt::print(stderr, "faultline sweep: {}\n", text.error().message);
      return kExitHarness;
    }
    const fs::path file = *dir / fmt::format("{}={}.toml", key, value);
    if (!write_file(file, fmt::format("# {} with {} = {} (faultline sweep)\n{}",
                                      plan_path.string(), key, value, *text))) {
      return kExitHarness;
    }
    auto loaded = plan::load_plan_file(file);
    if (!loaded.plan) {
      for (const auto& d : loaded.errors) fmt::print(stderr, "{}\n", d.str());
      bad = true;
      continue;
    }
    plans.push_back(std::move(*loaded.plan));
    Point p;
    p.value = value;
    p.rep.dir = *dir / fmt::format("{}={}", key, value);
    points.push_back(std::move(p));
  }
  if (bad) return kExitHarness;
  fmt::print("faultline sweep: {} runs of {} with seed {} into {}\n", plans.size(),
             original.plan->name, seed, dir->string());

  StopSignals stop;
  SeriesStop series(stop,
                    "\nfaultline sweep: stopping early; checking what was recorded, then no "
                    "more values\n");
  int exit_code = kExitOk;
  size_t ran = 0;
  for (size_t i = 0; i < plans.size() && !series.interrupted(); ++i, ++ran) {
    Point& p = points[i];
    fmt::print("{} = {}: running into {}\n", key, p.value, p.rep.dir.string());
    std::fflush(stdout);
    run::RunOptions one = ropts;
    one.out = p.rep.dir;
    // --seed wins (it is in `one` already); else the value's plan keeps its own (it differs
    // from the others only when KEY is `seed`), so its plan.toml stays as written; else the one
    // drawn above.
    if (!one.seed && !plans[i].seed) one.seed = seed;
    auto outcome = series.run_one(
        [&](const SeriesStop::Hook& hook) { return run::execute(plans[i], one, hook); });
    p.rep = run::read_repetition(static_cast<int>(i) + 1, p.rep.dir, outcome.exit_code);
    exit_code = run::worst_exit_code(exit_code, p.rep.exit_code);
    if (p.rep.verdict == "error" && !p.rep.error.empty()) {
      fmt::print(stderr, "faultline sweep: {}\n", p.rep.error);
    }
    fmt::print("{} = {}: {} (exit {}), throughput {}, p50 {}, p99 {}\n", key, p.value,
               p.rep.verdict, p.rep.exit_code,
               fmt_opt(p.rep.throughput, plan::GateMetric::throughput),
               fmt_opt(p.rep.p50_ms, plan::GateMetric::p50),
               fmt_opt(p.rep.p99_ms, plan::GateMetric::p99));
  }
  points.resize(ran);  // a stop leaves the values after it out
  const std::string md = sweep_markdown(original.plan->name, key, points);
  write_file(*dir / "sweep.json", sweep_json(original.plan->name, key, seed, points));
  write_file(*dir / "sweep.md", md);
  write_file(*dir / "sweep.svg", sweep_svg(original.plan->name, key, points));
  fmt::print("\n{}\nsweep.json, sweep.md and sweep.svg in {}\n", md, dir->string());
  return exit_code;
}

}  // namespace fl::cli
