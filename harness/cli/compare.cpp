#include "common/exit_codes.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/plan/plan.h"
#include "harness/report/compare.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unistd.h>

namespace fl::cli {
namespace {

constexpr std::string_view kUsage =
    R"(Usage: faultline compare BASELINE CANDIDATE [--gate EXPR]... [--alpha A] [--min-effect P]
                         [--markdown FILE] [--json FILE]

Compares the performance of repeated runs of a candidate with repeated runs of a baseline.
BASELINE and CANDIDATE are each a run directory, the output of `faultline run --repeat N`
(DIR/rep-1 .. rep-N), or several of either separated by commas.

A regression gate ("regression p99 < 20%") fails when the candidate's median is worse by more
than the limit, by at least --min-effect, and a one-sided Mann-Whitney U test over the runs gives
p < --alpha. A fixed gate ("p99 < 5ms") fails when the candidate runs' median misses it. The
gates are every --gate; else the candidate plan's [gates]; else regression throughput < 10%,
p50 < 20%, p99 < 20%, p999 < 30%, error_ratio < 1% (percentage points). docs/gating.md.

Exit codes: 0 no regression, 1 a regression or a fixed gate missed, 2 inconclusive (too few runs
for the test ever to reach alpha: at least 4 against 4 for alpha 0.05), 3 bad input.
)";

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    fmt::print(stderr, "faultline compare: cannot write {}: {}\n", path, std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace

int compare_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("baseline", po::value<std::string>()->required(), "the baseline's runs")(
      "candidate", po::value<std::string>()->required(), "the candidate's runs")(
      "gate", po::value<std::vector<std::string>>()->composing(),
      "a gate, e.g. 'regression p99 < 20%' or 'p99 < 5ms' (repeatable; replaces the plan's "
      "and the default gates)")("alpha", po::value<double>(),
                                "significance of the one-sided test (default 0.05)")(
      "min-effect", po::value<std::string>(),
      "smallest relative change of medians that counts, e.g. 5% (default 5%)")(
      "markdown", po::value<std::string>(), "also write the comparison as Markdown (a PR comment)")(
      "json", po::value<std::string>(), "also write the comparison as JSON");
  po::positional_options_description positional;
  positional.add("baseline", 1).add("candidate", 1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;

  // The command line's alpha and min_effect, checked before any run is read.
  std::optional<double> cli_alpha;
  std::optional<double> cli_min_effect;
  if (vm->count("alpha")) {
    cli_alpha = (*vm)["alpha"].as<double>();
    if (!(*cli_alpha > 0 && *cli_alpha < 1)) {
      fmt::print(stderr,
                 "faultline compare: --alpha must be greater than 0 and less than 1, not {}\n",
                 *cli_alpha);
      return kExitHarness;
    }
  }
  if (vm->count("min-effect")) {
    const auto& text = (*vm)["min-effect"].as<std::string>();
    auto f = plan::parse_fraction(text, true);
    if (!f) {
      fmt::print(stderr,
                 "faultline compare: --min-effect: '{}' is not a percentage (e.g. 5%) or a "
                 "fraction (e.g. 0.05)\n",
                 text);
      return kExitHarness;
    }
    if (*f >= 1) {
      fmt::print(stderr,
                 "faultline compare: --min-effect must be at least 0% and below 100%, not '{}'\n",
                 text);
      return kExitHarness;
    }
    cli_min_effect = *f;
  }

  auto baseline = report::load_run_set((*vm)["baseline"].as<std::string>());
  if (!baseline) {
    fmt::print(stderr, "faultline compare: baseline: {}\n", baseline.error().message);
    return kExitHarness;
  }
  auto candidate = report::load_run_set((*vm)["candidate"].as<std::string>());
  if (!candidate) {
    fmt::print(stderr, "faultline compare: candidate: {}\n", candidate.error().message);
    return kExitHarness;
  }

  report::CompareOptions copts;
  // The candidate's plan: its [gates] when the command line names none, and its alpha and
  // min_effect unless the command line sets them.
  std::optional<plan::GatesSpec> plan_gates;
  const auto plan_file = candidate->dirs.front() / "plan.toml";
  std::error_code ec;
  if (std::filesystem::exists(plan_file, ec)) {
    auto loaded = plan::load_plan_file(plan_file);
    if (loaded.plan) {
      plan_gates = loaded.plan->gates;
    } else {
      fmt::print(stderr,
                 "faultline compare: warning: {} does not load ({}); its [gates] are not used\n",
                 plan_file.string(),
                 loaded.errors.empty() ? std::string("no message") : loaded.errors.front().str());
    }
  }
  if (plan_gates) {
    copts.alpha = plan_gates->alpha;
    copts.min_effect = plan_gates->min_effect;
  }
  if (vm->count("gate")) {
    for (const auto& text : (*vm)["gate"].as<std::vector<std::string>>()) {
      auto g = plan::parse_gate(text);
      if (!g) {
        fmt::print(stderr, "faultline compare: --gate: {}\n", g.error().message);
        return kExitHarness;
      }
      copts.gates.push_back(*g);
    }
  } else if (plan_gates && !plan_gates->empty()) {
    copts.gates = plan_gates->limits;
    // A plan that sets only fixed limits still gets the default regression gates.
    auto regressions =
        plan_gates->regressions.empty() ? report::default_gates() : plan_gates->regressions;
    copts.gates.insert(copts.gates.end(), regressions.begin(), regressions.end());
  } else {
    copts.gates = report::default_gates();
  }
  if (cli_alpha) copts.alpha = *cli_alpha;
  if (cli_min_effect) copts.min_effect = *cli_min_effect;

  auto comparison = report::compare_runs(*baseline, *candidate, copts);
  if (!comparison) {
    fmt::print(stderr, "faultline compare: {}\n", comparison.error().message);
    return kExitHarness;
  }
  const bool color = ::isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
  fmt::print("{}", report::comparison_table(*comparison, color));
  if (vm->count("markdown") &&
      !write_file((*vm)["markdown"].as<std::string>(), report::comparison_markdown(*comparison))) {
    return kExitHarness;
  }
  if (vm->count("json") &&
      !write_file((*vm)["json"].as<std::string>(), report::comparison_json(*comparison))) {
    return kExitHarness;
  }
  return comparison->exit_code;
}

}  // namespace fl::cli
