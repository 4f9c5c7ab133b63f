#include "common/exit_codes.h"
#include "harness/cli/commands.h"

#include <fmt/core.h>

#include <string_view>

namespace fl::cli {
namespace {

constexpr std::string_view kUsage = R"(faultline: an embedded-cluster test harness and chaos tool

Usage: faultline <command> [options]

Commands:
  validate PLAN...      check plans and print the topology each one resolves to
  up PLAN [--out DIR]   start a plan's cluster and keep it running until Ctrl-C
  run PLAN [--seed N] [--duration D] [--out DIR]
                        start the cluster, drive the workload, check the history, report
  sweep PLAN --set KEY=V1,V2,... [--out DIR] [--duration D]
                        run the plan once per value of one key; table and chart of the runs
  check FILE... --model M [--format jsonl|edn|jepsen-log]
                        judge recorded histories for linearizability
  report RUNDIR [--out FILE]
                        make a run directory's report.html again
  heal [--all]          undo what dead runs left (namespaces, nft tables, paused processes)
  proxy LISTEN UPSTREAM [--latency D] [--jitter D] [--loss P] [--bandwidth R] ...
                        relay TCP connections with link faults until Ctrl-C
  ctl [--run DIR] status|kill|pause|resume|restart|partition|slow|heal|links|metrics
                        control a running `faultline up`
  compare BASELINE CANDIDATE [--gate EXPR]... [--markdown FILE]
                        compare repeated runs for performance regressions

Run 'faultline <command> --help' for a command's options.

Exit codes: 0 ok, 1 invariant violated or gate missed, 2 unknown (a checker gave up),
3 the harness could not do its job (bad plan, a node failed to start, internal error).
Docs: docs/cli.md, docs/plan-format.md
)";

struct Command {
  std::string_view name;
  int (*run)(int, char**);
};

constexpr Command kCommands[] = {
    {"validate", validate_main},
    {"up", up_main},
    {"run", run_main},
    {"check", check_main},
    {"heal", heal_main},
    {"proxy", proxy_main},
    {"ctl", ctl_main},
    {"compare", compare_main},
    {"report", report_main},
    {"sweep", sweep_main},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "{}", kUsage);
    return kExitHarness;
  }
  std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    if (name == "help" && argc > 2) {
      for (const auto& c : kCommands) {
        if (c.name == argv[2]) {
          char help[] = "--help";
          char* args[] = {argv[2], help, nullptr};
          return c.run(2, args);
        }
      }
    }
    fmt::print("{}", kUsage);
    return kExitOk;
  }
  if (name == "--version") {
    fmt::print("faultline 0.1.0\n");
    return kExitOk;
  }
  for (const auto& c : kCommands) {
    if (c.name == name) return c.run(argc - 1, argv + 1);
  }
  fmt::print(stderr, "faultline: unknown command '{}'\n\n{}", name, kUsage);
  return kExitHarness;
}

}  // namespace fl::cli
