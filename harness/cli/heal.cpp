#include <fmt/core.h>

#include "chaos/ledger.h"
#include "common/exit_codes.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"

namespace fl::cli {
namespace {

constexpr std::string_view kUsage = R"(Usage: faultline heal [--all]

Undoes what dead faultline runs left on this machine. Every run records the network namespaces,
bridges, nftables tables and paused (SIGSTOPped) process groups it creates in a ledger file in
$FAULTLINE_STATE_DIR (default /run/faultline as root); a run killed with SIGKILL cannot clean up,
so heal resumes and kills its paused process groups, kills what is left in its namespaces and
deletes them, its bridge and its tables. Runs still alive are left alone. Every `run` and `up`
does the same when it starts. Prints what it removed; exits 0, or 3 when something could not be
removed.
)";

}  // namespace

int heal_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("all", po::bool_switch(),
                        "also remove every fl-* namespace, flbr-*/flv-* interface and "
                        "faultline_* nftables table that no live run's ledger holds");
  int exit_code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, {}, exit_code);
  if (!vm) return exit_code;
  auto report = chaos::sweep_stale((*vm)["all"].as<bool>());
  if (!report) {
    fmt::print(stderr, "faultline heal: {}\n", report.error().message);
    return kExitHarness;
  }
  for (const auto& r : report->removed) fmt::print("removed {}\n", r);
  if (report->removed.empty()) fmt::print("nothing to remove\n");
  for (const auto& e : report->errors) fmt::print(stderr, "faultline heal: {}\n", e);
  return report->errors.empty() ? kExitOk : kExitHarness;
}

}  // namespace fl::cli
