#include "common/exit_codes.h"
#include "common/units.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/cli/signals.h"
#include "harness/plan/plan.h"
#include "harness/run/run.h"

#include <fmt/core.h>

namespace fl::cli {
namespace {

constexpr std::string_view kUsage =
    R"(Usage: faultline run PLAN [--seed N] [--duration D] [--out DIR] [--logs] [--quiet]

Starts PLAN's cluster, drives its [workload] for the plan's duration (then reads every key once
more), stops the cluster, and judges the history with the plan's [[check]]s. Everything lands in
the run directory: plan.toml (with the seed), cluster.json, history.jsonl, events.jsonl and
results.json. Prints a summary and exits 0 when every check passed, 1 when an invariant was
violated, 2 when a checker gave up within its budget, 3 when the harness could not do its job.
Ctrl-C ends the load early; what was recorded is still checked.
)";

}  // namespace

int run_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("plan", po::value<std::string>()->required(), "the plan file")(
      "seed", po::value<uint64_t>(), "replace the plan's seed")(
      "duration", po::value<std::string>(), "replace the plan's duration (e.g. 10s)")(
      "out", po::value<std::string>(), "run directory (default runs/<plan>-<UTC time>)")(
      "logs", po::bool_switch(), "show node output on the terminal")(
      "quiet", po::bool_switch(), "no live progress line");
  po::positional_options_description positional;
  positional.add("plan", 1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;

  run::RunOptions ropts;
  if (vm->count("seed")) ropts.seed = (*vm)["seed"].as<uint64_t>();
  if (vm->count("duration")) {
    auto d = parse_duration((*vm)["duration"].as<std::string>());
    if (!d) {
      fmt::print(stderr, "faultline run: --duration: {}\n", d.error().message);
      return kExitHarness;
    }
    ropts.duration = *d;
  }
  if (vm->count("out")) ropts.out = (*vm)["out"].as<std::string>();
  ropts.echo_logs = (*vm)["logs"].as<bool>();
  ropts.progress = !(*vm)["quiet"].as<bool>();

  auto loaded = plan::load_plan_file((*vm)["plan"].as<std::string>());
  if (!loaded.plan) {
    for (const auto& d : loaded.errors) fmt::print(stderr, "{}\n", d.str());
    return kExitHarness;
  }
  StopSignals stop;
  auto outcome = run::execute(*loaded.plan, ropts, [&](std::function<void()> end_early) {
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
