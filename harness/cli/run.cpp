#include "common/exit_codes.h"
#include "common/units.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/cli/signals.h"
#include "harness/plan/gates.h"
#include "harness/plan/plan.h"
#include "harness/rundir/run_dir.h"
#include "harness/run/repeat.h"
#include "harness/run/run.h"

#include <fmt/core.h>

#include <cstdio>

namespace fl::cli {
namespace {

constexpr std::string_view kUsage =
    R"(Usage: faultline run PLAN [--seed N] [--duration D] [--out DIR] [--gate EXPR]...
                    [--repeat N] [--logs] [--quiet]

Starts PLAN's cluster, drives its [workload] for the plan's duration (then reads every key once
more), stops the cluster, and judges the history with the plan's [[check]]s and its fixed
[gates] limits (with any --gate). Everything lands in the run directory: plan.toml (with the
seed), cluster.json, history.jsonl, events.jsonl and results.json. Prints a summary and exits 0
when every check passed and every gate was met, 1 when an invariant was violated or a gate
missed, 2 when a checker gave up within its budget, 3 when the harness could not do its job.
Ctrl-C ends the load early; what was recorded is still checked.

--repeat N runs the plan N times with one seed into DIR/rep-1 .. DIR/rep-N, prints a line per
repetition and a summary (median, min-max), writes DIR/repeat.json, and exits with the worst
code (3, then 1, then 2, then 0). Ctrl-C stops the current repetition and skips the rest.
)";

// The --gate texts as fixed limits added to the plan's, checked like [gates] `limits`.
bool add_gates(plan::Plan& p, const std::vector<std::string>& texts) {
  for (const auto& text : texts) {
    auto g = plan::parse_gate(text);
    if (!g) {
      fmt::print(stderr, "faultline run: --gate '{}': {}\n", text, g.error().message);
      return false;
    }
    if (g->regression) {
      fmt::print(stderr,
                 "faultline run: --gate '{}': a regression gate compares runs; give it to "
                 "`faultline compare --gate` or the plan's [gates] regression list\n",
                 text);
      return false;
    }
    if (!g->workload.empty() && !p.find_workload(g->workload)) {
      fmt::print(stderr, "faultline run: --gate '{}': the plan has no workload '{}'\n", text,
                 g->workload);
      return false;
    }
    p.gates.limits.push_back(std::move(*g));
  }
  return true;
}

// --repeat: N runs of `p` into <out>/rep-I with one seed.
int repeat_runs(const plan::Plan& p, run::RunOptions ropts, int count, StopSignals& stop) {
  auto base = rundir::create(p.name, ropts.out);
  if (!base) {
    fmt::print(stderr, "faultline run: {}\n", base.error().message);
    return kExitHarness;
  }
  // One seed for every repetition: the plan's own is left as the plan says it (each run's
  // plan.toml then keeps it as written); --seed, or one drawn once, is passed to each run.
  const uint64_t seed = run::series_seed(ropts.seed, p.seed);
  if (ropts.seed || !p.seed) ropts.seed = seed;
  fmt::print("faultline run: {} repetitions of {} with seed {} into {}\n", count, p.name, seed,
             base->string());
  std::fflush(stdout);

  SeriesStop series(stop,
                    "\nfaultline: stopping early; checking what was recorded, then no more "
                    "repetitions\n");
  std::vector<run::Repetition> reps;
  int code = kExitOk;
  for (int i = 1; i <= count && !series.interrupted(); ++i) {
    ropts.out = *base / fmt::format("rep-{}", i);
    auto outcome = series.run_one(
        [&](const SeriesStop::Hook& hook) { return run::execute(p, ropts, hook); });
    auto rep =
        run::read_repetition(i, outcome.dir.empty() ? *ropts.out : outcome.dir, outcome.exit_code);
    if (outcome.dir.empty() && rep.error.empty()) rep.error = "no run directory";
    code = run::worst_exit_code(code, rep.exit_code);
    fmt::print("{}\n", run::repetition_line(rep, count));
    std::fflush(stdout);
    reps.push_back(std::move(rep));
  }
  const bool interrupted = series.interrupted();
  if (interrupted && static_cast<int>(reps.size()) < count) {
    code = run::worst_exit_code(code, kExitUnknown);
  }
  fmt::print("{}", run::repeat_summary(reps, count, interrupted));
  if (auto w = rundir::write_atomic(*base / "repeat.json",
                                    run::repeat_json(p.name, seed, count, interrupted, reps, code));
      !w) {
    fmt::print(stderr, "faultline run: {}\n", w.error().message);
    code = run::worst_exit_code(code, kExitHarness);
  }
  fmt::print("repetitions in {}; exit {}\n", base->string(), code);
  return code;
}

}  // namespace

int run_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("plan", po::value<std::string>()->required(), "the plan file")(
      "seed", po::value<uint64_t>(), "replace the plan's seed")(
      "duration", po::value<std::string>(), "replace the plan's duration (e.g. 10s)")(
      "out", po::value<std::string>(), "run directory (default runs/<plan>-<UTC time>)")(
      "gate", po::value<std::vector<std::string>>()->composing(),
      "a fixed limit the run must meet, added to the plan's [gates] (e.g. 'p99 < 5ms'); "
      "repeatable")("repeat", po::value<int>(),
                    "run the plan N times with one seed into DIR/rep-1 .. DIR/rep-N")(
      "logs", po::bool_switch(), "show node output on the terminal")(
      "quiet", po::bool_switch(), "no live progress line");
  po::positional_options_description positional;
  positional.add("plan", 1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;

  run::RunOptions ropts;
  if (!read_seed_and_duration(*vm, "run", ropts)) return kExitHarness;
  int repeat = 0;
  if (vm->count("repeat")) {
    repeat = (*vm)["repeat"].as<int>();
    if (repeat < 1 || repeat > 1000) {
      fmt::print(stderr, "faultline run: --repeat {} is out of range 1..1000\n", repeat);
      return kExitHarness;
    }
  }
  if (vm->count("out")) ropts.out = (*vm)["out"].as<std::string>();
  ropts.echo_logs = (*vm)["logs"].as<bool>();
  ropts.progress = !(*vm)["quiet"].as<bool>();

  auto loaded = plan::load_plan_file((*vm)["plan"].as<std::string>());
  if (!loaded.plan) {
    for (const auto& d : loaded.errors) fmt::print(stderr, "{}\n", d.str());
    return kExitHarness;
  }
  plan::Plan& p = *loaded.plan;
  if (vm->count("gate") && !add_gates(p, (*vm)["gate"].as<std::vector<std::string>>())) {
    return kExitHarness;
  }
  StopSignals stop;
  if (repeat > 0) return repeat_runs(p, ropts, repeat, stop);
  auto outcome = run::execute(p, ropts, [&](std::function<void()> end_early) {
    stop.on_stop([end_early = std::move(end_early)] {
      fmt::print(stderr, "\nfaultline: stopping early; checking what was recorded\n");
      end_early();
    });
  });
  // The hook points into execute()'s stack, which is gone now: a late Ctrl-C must not reach it.
  stop.on_stop([] {});
  fmt::print("{}", outcome.summary);
  return outcome.exit_code;
}

}  // namespace fl::cli
