#include "common/exit_codes.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/cli/signals.h"
#include "harness/plan/plan.h"
#include "harness/run/session.h"

#include <fmt/core.h>

#include <atomic>

namespace fl::cli {
namespace {

constexpr std::string_view kUsage = R"(Usage: faultline up PLAN [--out DIR]

Starts every node of PLAN as a real local process, in dependency order, waits until each passes
its readiness probe, prints a table of nodes and writes cluster.json into the run directory. Then
stays up, reporting any node that exits, until Ctrl-C or SIGTERM, when it stops every node in
reverse dependency order and exits 0. Exits 3 if the plan is bad or a node fails to start.
)";

void print_table(const std::vector<supervisor::NodeStatus>& nodes) {
  size_t id_w = 2, kind_w = 4;
  for (const auto& n : nodes) {
    id_w = std::max(id_w, n.id.size());
    kind_w = std::max(kind_w, n.kind.size());
  }
  std::string out = fmt::format("  {:<{}}  {:<{}}  {:>7}  {}\n", "ID", id_w, "KIND", kind_w, "PID",
                                "ADDRESS");
  for (const auto& n : nodes) {
    out += fmt::format("  {:<{}}  {:<{}}  {:>7}  {}:{}\n", n.id, id_w, n.kind, kind_w, n.pid,
                       n.host, n.port);
  }
  fmt::print("{}", out);
}

}  // namespace

int up_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("plan", po::value<std::string>()->required(), "the plan file")(
      "out", po::value<std::string>(), "run directory (default runs/<plan>-<UTC time>)");
  po::positional_options_description positional;
  positional.add("plan", 1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;

  auto loaded = plan::load_plan_file((*vm)["plan"].as<std::string>());
  if (!loaded.plan) {
    for (const auto& d : loaded.errors) fmt::print(stderr, "{}\n", d.str());
    return kExitHarness;
  }

  StopSignals stop;  // installed before any child exists, so no start can miss a Ctrl-C
  std::atomic<bool> cluster_up{false};
  run::SessionOptions sopts;
  sopts.command = "up";
  if (vm->count("out")) sopts.out = (*vm)["out"].as<std::string>();
  std::filesystem::path nodes_dir;
  sopts.on_node_event = [&](const supervisor::Event& e) {
    using K = supervisor::Event::Kind;
    if (!cluster_up.load() || stop.requested()) return;
    if (e.kind == K::exited && !e.expected) {
      std::string how = e.exit_signal
                            ? fmt::format("was killed by signal {}", *e.exit_signal)
                            : fmt::format("exited with code {}", e.exit_code.value_or(-1));
      fmt::print(stderr, "faultline: node {} {}; last lines of its log:\n{}", e.node, how,
                 run::log_tail(nodes_dir / e.node / "output.log", 20));
    } else if (e.kind == K::restarting) {
      fmt::print(stderr, "faultline: restarting node {} {}\n", e.node, e.detail);
    } else if (e.kind == K::failed) {
      fmt::print(stderr, "faultline: node {} is down for good: {}\n", e.node, e.detail);
    }
  };
  auto session = run::Session::create(*loaded.plan, std::move(sopts));
  if (!session) {
    fmt::print(stderr, "faultline up: {}\n", session.error().message);
    return kExitHarness;
  }
  run::Session& s = **session;
  nodes_dir = s.dir() / "nodes";
  fmt::print(stderr, "faultline: plan '{}', seed {}, run directory {}\n", loaded.plan->name,
             s.seed(), s.dir().string());
  if (!loaded.plan->faults.empty()) {
    fmt::print(stderr,
               "faultline: the plan's {} [[fault]] entries are not injected by `up` (only by "
               "`run`)\n",
               loaded.plan->faults.size());
  }
  stop.on_stop([&] { s.stop_cluster(); });

  if (auto started = s.start_cluster(); !started) {
    if (stop.requested()) {
      stop.wait_done();
      fmt::print(stderr, "faultline: interrupted while starting; every node stopped\n");
      s.event("run.stop", R"({"reason":"interrupted"})");
      return kExitOk;
    }
    fmt::print(stderr, "faultline up: {}\n", started.error().message);
    return kExitHarness;
  }
  cluster_up = true;
  auto nodes = s.nodes();
  fmt::print("faultline: {} node{} ready in {:.2f}s; cluster.json in {}\n", nodes.size(),
             nodes.size() == 1 ? "" : "s", static_cast<double>(s.now()) / 1e9, s.dir().string());
  print_table(nodes);
  fmt::print("Press Ctrl-C to stop.\n");
  std::fflush(stdout);

  stop.wait_done();
  fmt::print(stderr, "faultline: every node stopped ({})\n", stop.signal_name());
  s.event("run.stop", fmt::format(R"({{"reason":"{}"}})", stop.signal_name()));
  return kExitOk;
}

}  // namespace fl::cli
