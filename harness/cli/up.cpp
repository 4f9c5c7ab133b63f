#include "common/exit_codes.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/cli/signals.h"
#include "harness/control/server.h"
#include "harness/control/session_backend.h"
#include "harness/plan/plan.h"
#include "harness/run/session.h"

#include <fmt/core.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <sstream>

namespace fl::cli {
namespace {

constexpr std::string_view kUsage = R"(Usage: faultline up PLAN [--out DIR]

Starts every node of PLAN as a real local process, in dependency order, waits until each passes
its readiness probe, prints a table of nodes (LBs first: the ports clients connect to; then the
caches, the db nodes, the broker and external programs, each with its role, pid, port and the
address a client uses: with [network] backend = "proxy" that is the node's client link, which
faults and `faultline ctl partition` can cut) and writes cluster.json into the run directory. Then
stays up, reporting any node that exits, until Ctrl-C or SIGTERM, when it stops every node in
reverse dependency order and exits 0. Exits 3 if the plan is bad or a node fails to start.
)";

// The order nodes are listed in: the cluster's front door first (the LBs, where a client or
// redis-cli connects), then the layers behind it, then external programs.
int listing_rank(std::string_view kind) {
  constexpr std::string_view kOrder[] = {"lb", "cache", "db", "broker"};
  for (size_t i = 0; i < std::size(kOrder); ++i) {
    if (kind == kOrder[i]) return static_cast<int>(i);
  }
  return static_cast<int>(std::size(kOrder));
}

// What a node is for, in a few words: "lb key-hash -> cache", "cache write-back lru", "db master
// shard 0", "broker fsync always". `db_roles` are the roles cluster.json recorded.
std::string role_text(const plan::Plan& p, const supervisor::NodeStatus& n,
                      const std::map<std::string, std::string>& db_roles) {
  const plan::Cluster& c = p.cluster;
  if (n.kind == "lb") {
    return fmt::format("lb {} -> {}", plan::to_string(c.lb.policy), c.lb.backends);
  }
  if (n.kind == "cache") {
    if (const auto* g = c.find_cache(n.group)) {
      return fmt::format("cache {} {}", plan::to_string(g->write_policy),
                         plan::to_string(g->eviction));
    }
  }
  if (n.kind == "db") {
    auto role = db_roles.find(n.id);
    const std::string shard = n.id.substr(0, n.id.rfind('-'));  // db-s0-r1 -> db-s0
    return fmt::format("db {} shard {}", role == db_roles.end() ? "?" : role->second,
                       shard.substr(shard.rfind('s') + 1));
  }
  if (n.kind == "broker") return fmt::format("broker fsync {}", plan::to_string(c.broker.fsync));
  return n.kind;
}

// A string field of every node in cluster.json: the role of each db node (observed with ROLE at
// startup), or the client_address of each node (its client link).
std::map<std::string, std::string> node_field(const std::filesystem::path& cluster_json,
                                              std::string_view field) {
  std::map<std::string, std::string> out;
  std::ifstream in(cluster_json);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto v = boost::json::parse(text.str(), ec);
  if (ec || !v.is_object()) return out;
  const auto* nodes = v.as_object().if_contains("nodes");
  if (!nodes || !nodes->is_array()) return out;
  for (const auto& n : nodes->as_array()) {
    const auto* o = n.if_object();
    if (!o) continue;
    const auto* id = o->if_contains("id");
    const auto* role = o->if_contains(field);
    if (id && id->is_string() && role && role->is_string()) {
      out.emplace(std::string(id->as_string()), std::string(role->as_string()));
    }
  }
  return out;
}

void print_table(const plan::Plan& p, std::vector<supervisor::NodeStatus> nodes,
                 const std::map<std::string, std::string>& roles,
                 const std::map<std::string, std::string>& client_addresses) {
  auto address = [&](const supervisor::NodeStatus& n) {
    auto it = client_addresses.find(n.id);
    return it != client_addresses.end() ? it->second : fmt::format("{}:{}", n.host, n.port);
  };
  std::stable_sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) {
    return listing_rank(a.kind) < listing_rank(b.kind);
  });
  std::vector<std::string> role(nodes.size());
  size_t id_w = 2, role_w = 4;
  for (size_t i = 0; i < nodes.size(); ++i) {
    role[i] = role_text(p, nodes[i], roles);
    id_w = std::max(id_w, nodes[i].id.size());
    role_w = std::max(role_w, role[i].size());
  }
  std::string out = fmt::format("  {:<{}}  {:<{}}  {:>7}  {:>5}  {}\n", "ID", id_w, "ROLE", role_w,
                                "PID", "PORT", "ADDRESS");
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto& n = nodes[i];
    out += fmt::format("  {:<{}}  {:<{}}  {:>7}  {:>5}  {}\n", n.id, id_w, role[i], role_w,
                       n.pid, n.port, address(n));
  }
  // Where a developer points a client: the first LB, else the first cache (either takes any key;
  // a db node answers -MOVED for the other shards' keys).
  if (!nodes.empty() && listing_rank(nodes.front().kind) <= listing_rank("cache")) {
    const std::string a = address(nodes.front());
    const std::string host = a.substr(0, a.rfind(':'));
    const std::string where = (host == "127.0.0.1" ? "" : "-h " + host + " ") + "-p " +
                              a.substr(a.rfind(':') + 1);
    out += fmt::format("Try: redis-cli {} SET k v && redis-cli {} GET k\n", where, where);
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
  // The control API stops first, so that no request acts on nodes and links being torn down.
  std::atomic<control::ControlServer*> api{nullptr};
  stop.on_stop([&] {
    if (auto* c = api.load()) c->stop();
    s.stop_cluster();
  });

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
  print_table(*loaded.plan, nodes, node_field(s.dir() / "cluster.json", "role"),
              node_field(s.dir() / "cluster.json", "client_address"));
  // The control API (`faultline ctl`, docs/control-api.md), on loopback with the run's token.
  chaos::ProcessControl& process = s.process();
  chaos::LinkControl* links = s.network().backend() == "direct" ? nullptr : &s.network();
  auto control =
      control::ControlServer::start(control::session_backend(s, process, links), {s.dir()});
  if (!control) {
    fmt::print(stderr, "faultline up: {}\n", control.error().message);
    s.stop_cluster();
    s.event("run.stop",
            boost::json::serialize(boost::json::object{{"reason", control.error().message}}));
    return kExitHarness;
  }
  api = control->get();
  fmt::print("control: {} (token in {})\n", (*control)->url(),
             (s.dir() / "control.token").string());
  fmt::print("Press Ctrl-C to stop.\n");
  std::fflush(stdout);

  stop.wait_done();
  (*control)->stop();
  fmt::print(stderr, "faultline: every node stopped ({})\n", stop.signal_name());
  s.event("run.stop", fmt::format(R"({{"reason":"{}"}})", stop.signal_name()));
  return kExitOk;
}

}  // namespace fl::cli
