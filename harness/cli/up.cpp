#include "common/exit_codes.h"
#include "common/rng.h"
#include "common/units.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/cli/signals.h"
#include "harness/plan/plan.h"
#include "harness/rundir/run_dir.h"
#include "harness/supervisor/supervisor.h"

#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <sstream>

namespace fl::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kUsage = R"(Usage: faultline up PLAN [--out DIR]

Starts every node of PLAN as a real local process, in dependency order, waits until each passes
its readiness probe, prints a table of nodes and writes cluster.json into the run directory. Then
stays up, reporting any node that exits, until Ctrl-C or SIGTERM, when it stops every node in
reverse dependency order and exits 0. Exits 3 if the plan is bad or a node fails to start.
)";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string log_tail(const fs::path& log, size_t lines) {
  std::ifstream in(log);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(std::move(line));
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += "    " + l + "\n";
  return out;
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)));
}

// `time` is taken when the event is logged, on the run's clock (ns since the harness started),
// so node events and the harness's own events share one time base.
json::object event_json(const supervisor::Event& e, int64_t time) {
  json::object o;
  o["time"] = time;
  o["type"] = fmt::format("node.{}", supervisor::to_string(e.kind));
  o["node"] = e.node;
  if (e.pid) o["pid"] = e.pid;
  if (e.exit_code) o["exit_code"] = *e.exit_code;
  if (e.exit_signal) o["signal"] = *e.exit_signal;
  if (e.kind == supervisor::Event::Kind::exited) o["expected"] = e.expected;
  if (!e.detail.empty()) o["detail"] = e.detail;
  return o;
}

std::string role_of(const supervisor::NodeStatus& n) {
  // A single-node reference database is its own master; external programs have no known role.
  return n.kind == "db" ? "master" : "";
}

std::string cluster_json(const plan::Plan& p, uint64_t seed, const fs::path& run_dir,
                         const std::vector<supervisor::NodeStatus>& nodes) {
  json::object root;
  root["plan"] = p.name;
  root["seed"] = seed;
  root["run_dir"] = fs::absolute(run_dir).string();
  root["harness_pid"] = ::getpid();
  root["written_at"] = utc_now();
  json::array arr;
  for (const auto& n : nodes) {
    json::object o;
    o["id"] = n.id;
    o["group"] = n.group;
    o["kind"] = n.kind;
    auto role = role_of(n);
    if (role.empty()) {
      o["role"] = nullptr;
    } else {
      o["role"] = role;
    }
    o["pid"] = n.pid;
    o["state"] = supervisor::to_string(n.state);
    o["host"] = n.host;
    o["port"] = n.port;
    o["address"] = fmt::format("{}:{}", n.host, n.port);
    o["dir"] = fs::absolute(n.dir).string();
    o["log"] = fs::absolute(n.log).string();
    arr.push_back(std::move(o));
  }
  root["nodes"] = std::move(arr);
  return json::serialize(root) + "\n";
}

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
  std::fflush(stdout);
}

}  // namespace

int up_main(int argc, char** argv) {
  const auto started = std::chrono::steady_clock::now();
  po::options_description options("Options");
  options.add_options()("plan", po::value<std::string>()->required(), "the plan file")(
      "out", po::value<std::string>(), "run directory (default runs/<plan>-<UTC time>)");
  po::positional_options_description positional;
  positional.add("plan", 1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;

  const std::string plan_path = (*vm)["plan"].as<std::string>();
  auto loaded = plan::load_plan_file(plan_path);
  if (!loaded.plan) {
    for (const auto& d : loaded.errors) fmt::print(stderr, "{}\n", d.str());
    return kExitHarness;
  }
  const plan::Plan& p = *loaded.plan;
  const uint64_t seed = p.seed.value_or(random_seed());

  std::optional<fs::path> out;
  if (vm->count("out")) out = (*vm)["out"].as<std::string>();
  auto run_dir = rundir::create(p.name, out);
  if (!run_dir) {
    fmt::print(stderr, "faultline up: {}\n", run_dir.error().message);
    return kExitHarness;
  }
  if (auto w = rundir::write_atomic(*run_dir / "plan.toml",
                                    rundir::plan_as_run(read_file(plan_path), p.seed.has_value(),
                                                        seed));
      !w) {
    fmt::print(stderr, "faultline up: {}\n", w.error().message);
    return kExitHarness;
  }
  rundir::JsonLines events;
  if (auto o = events.open(*run_dir / "events.jsonl"); !o) {
    fmt::print(stderr, "faultline up: {}\n", o.error().message);
    return kExitHarness;
  }
  {
    json::object e{{"time", rundir::since(started)}, {"type", "run.start"}, {"plan", p.name},
                   {"seed", seed}, {"command", "up"}};
    events.append(json::serialize(e));
  }
  fmt::print(stderr, "faultline: plan '{}', seed {}, run directory {}\n", p.name, seed,
             run_dir->string());

  StopSignals stop;  // installed before any child exists, so no start can miss a Ctrl-C
  const fs::path nodes_dir = *run_dir / "nodes";
  std::atomic<bool> cluster_up{false};

  supervisor::Options sopts;
  sopts.run_dir = *run_dir;
  sopts.bindir = fs::read_symlink("/proc/self/exe").parent_path();
  sopts.on_event = [&](const supervisor::Event& e) {
    events.append(json::serialize(event_json(e, rundir::since(started))));
    using K = supervisor::Event::Kind;
    if (!cluster_up.load() || stop.requested()) return;
    if (e.kind == K::exited && !e.expected) {
      std::string how = e.exit_signal ? fmt::format("was killed by signal {}", *e.exit_signal)
                                      : fmt::format("exited with code {}", e.exit_code.value_or(-1));
      fmt::print(stderr, "faultline: node {} {}; last lines of its log:\n{}", e.node, how,
                 log_tail(nodes_dir / e.node / "output.log", 20));
    } else if (e.kind == K::restarting) {
      fmt::print(stderr, "faultline: restarting node {} {}\n", e.node, e.detail);
    } else if (e.kind == K::failed) {
      fmt::print(stderr, "faultline: node {} is down for good: {}\n", e.node, e.detail);
    }
  };
  supervisor::Supervisor sup(std::move(sopts));
  stop.on_stop([&] { sup.shutdown(); });

  auto instances = p.instances();
  auto started_ok = sup.start(instances);
  if (!started_ok) {
    if (stop.requested()) {
      stop.wait_done();
      fmt::print(stderr, "faultline: interrupted while starting; every node stopped\n");
      events.append(json::serialize(json::object{{"time", rundir::since(started)},
                                                 {"type", "run.stop"},
                                                 {"reason", "interrupted"}}));
      return kExitOk;
    }
    fmt::print(stderr, "faultline up: {}\n", started_ok.error().message);
    events.append(json::serialize(json::object{{"time", rundir::since(started)},
                                               {"type", "run.stop"},
                                               {"reason", started_ok.error().message}}));
    return kExitHarness;
  }
  auto nodes = sup.status();
  if (auto w = rundir::write_atomic(*run_dir / "cluster.json", cluster_json(p, seed, *run_dir, nodes));
      !w) {
    fmt::print(stderr, "faultline up: {}\n", w.error().message);
    sup.shutdown();
    return kExitHarness;
  }
  cluster_up = true;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  events.append(json::serialize(json::object{{"time", rundir::since(started)},
                                             {"type", "cluster.ready"},
                                             {"nodes", nodes.size()}}));
  fmt::print("faultline: {} node{} ready in {:.2f}s; cluster.json in {}\n", nodes.size(),
             nodes.size() == 1 ? "" : "s", secs, run_dir->string());
  print_table(nodes);
  fmt::print("Press Ctrl-C to stop.\n");
  std::fflush(stdout);

  stop.wait_done();
  fmt::print(stderr, "faultline: every node stopped ({})\n", stop.signal_name());
  events.append(json::serialize(json::object{{"time", rundir::since(started)},
                                             {"type", "run.stop"},
                                             {"reason", stop.signal_name()}}));
  return kExitOk;
}

}  // namespace fl::cli
