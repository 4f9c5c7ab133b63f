#include <fmt/core.h>

#include <filesystem>
#include <string>

#include "common/exit_codes.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/report/html.h"
#include "harness/report/junit.h"
#include "harness/report/results.h"
#include "harness/rundir/run_dir.h"

namespace fl::cli {
namespace {

constexpr std::string_view kUsage = R"(Usage: faultline report RUNDIR [--out FILE]

Makes report.html of a run directory again, from the directory's files alone (results.json,
events.jsonl, history.jsonl, cluster.json): one self-contained page with the run's metadata and
replay command, latency and throughput over time with the fault windows, availability per node
and per shard, the checks with their evidence, and the phases. `faultline run` writes the same
page at the end of every run. A run directory with files missing (a killed run) still gets a
page, listing what is missing. Without --out, junit.xml is written again too (from
results.json, when the run got that far). Prints the files written; exits 0, or 3 when RUNDIR
is not a directory or a file cannot be written. See docs/report.md.
)";

}  // namespace

int report_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("run-dir", po::value<std::string>(), "the run directory")(
      "out", po::value<std::string>(), "write the page here (default RUNDIR/report.html)");
  po::positional_options_description positional;
  positional.add("run-dir", 1);
  int exit_code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, exit_code);
  if (!vm) return exit_code;
  if (!vm->count("run-dir")) {
    fmt::print(stderr, "faultline report: a run directory is required\n{}", kUsage);
    return kExitHarness;
  }
  const std::filesystem::path dir = (*vm)["run-dir"].as<std::string>();
  const std::filesystem::path out = vm->count("out")
                                        ? std::filesystem::path((*vm)["out"].as<std::string>())
                                        : dir / "report.html";
  if (auto r = report::write_html_report(dir, out); !r) {
    fmt::print(stderr, "faultline report: {}\n", r.error().message);
    return kExitHarness;
  }
  fmt::print("{}\n", out.string());
  if (vm->count("out") || !std::filesystem::exists(dir / "results.json")) return kExitOk;
  auto results = report::read_results(dir / "results.json");
  if (!results) {
    fmt::print(stderr, "faultline report: junit.xml not written: {}\n", results.error().message);
    return kExitHarness;
  }
  if (auto w = rundir::write_atomic(dir / "junit.xml", report::junit_xml(*results)); !w) {
    fmt::print(stderr, "faultline report: {}\n", w.error().message);
    return kExitHarness;
  }
  fmt::print("{}\n", (dir / "junit.xml").string());
  return kExitOk;
}

}  // namespace fl::cli
