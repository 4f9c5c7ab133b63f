#include <fmt/core.h>

#include <filesystem>
#include <string>

#include "common/exit_codes.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/report/html.h"

namespace fl::cli {
namespace {

constexpr std::string_view kUsage = R"(Usage: faultline report RUNDIR [--out FILE]

Makes report.html of a run directory again, from the directory's files alone (results.json,
events.jsonl, history.jsonl, cluster.json): one self-contained page with the run's metadata and
replay command, latency and throughput over time with the fault windows, availability per node
and per shard, the checks with their evidence, and the phases. `faultline run` writes the same
page at the end of every run. A run directory with files missing (a killed run) still gets a
page, listing what is missing. Prints the file written; exits 0, or 3 when RUNDIR is not a
directory or the page cannot be written. See docs/report.md.
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
  return kExitOk;
}

}  // namespace fl::cli
