#include "harness/run/session.h"

#include "chaos/ledgered_control.h"
#include "chaos/process_faults.h"
#include "common/rng.h"
#include "common/units.h"
#include "harness/rundir/run_dir.h"

#include <boost/json.hpp>
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace fl::run {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json::object node_event_fields(const supervisor::Event& e) {
  json::object o;
  o["node"] = e.node;
  if (e.pid) o["pid"] = e.pid;
  if (e.exit_code) o["exit_code"] = *e.exit_code;
  if (e.exit_signal) o["signal"] = *e.exit_signal;
  if (e.kind == supervisor::Event::Kind::exited) o["expected"] = e.expected;
  if (!e.detail.empty()) o["detail"] = e.detail;
  return o;
}

// A db node's role: what it answered ROLE when the cluster became ready (`observed`), else as
// the plan configured it (replica 0 of each shard its first master, the others slaves; quorum
// nodes are peers). External programs have no role the harness knows of.
json::value role_of(const plan::Plan& p, const plan::Instance* inst,
                    const std::map<std::string, std::string>& observed) {
  if (!inst || inst->kind != "db" || inst->shard < 0) return nullptr;
  if (p.cluster.db.replication == plan::Replication::quorum) return "peer";
  if (auto it = observed.find(inst->id); it != observed.end()) return json::value(it->second);
  return inst->replica % std::max(p.cluster.db.replicas, 1) == 0 ? "master" : "slave";
}

// Waits until every db shard has a node answering ROLE "master" (replicated modes only), so load
// and faults never start into the first election. Returns each asked node's role.
result<std::map<std::string, std::string>> wait_for_masters(
    const plan::Plan& p, const std::vector<supervisor::NodeStatus>& nodes) {
  std::map<std::string, std::string> roles;
  const auto& db = p.cluster.db;
  if (!db.enabled || db.replication == plan::Replication::quorum) return roles;
  const auto instances = p.instances();
  const auto patience = std::max<std::chrono::nanoseconds>(std::chrono::seconds(10),
                                                           db.election_timeout * 30);
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    std::vector<bool> has_master(static_cast<size_t>(db.shards), false);
    std::string missing;
    for (const auto& i : instances) {
      if (i.shard < 0) continue;
      auto n = std::find_if(nodes.begin(), nodes.end(), [&](auto& x) { return x.id == i.id; });
      if (n == nodes.end()) continue;
      auto r = chaos::query_role(n->host, n->port, std::chrono::milliseconds(300));
      if (!r) continue;
      roles[i.id] = r->role;
      if (r->role == "master") has_master[static_cast<size_t>(i.shard)] = true;
    }
    for (int shard = 0; shard < db.shards; ++shard) {
      if (!has_master[static_cast<size_t>(shard)]) {
        missing += (missing.empty() ? "" : ", ") + std::to_string(shard);
      }
    }
    if (missing.empty()) return roles;
    if (std::chrono::steady_clock::now() > deadline) {
      return Error(errc::not_ready,
                   fmt::format("db shard{} {} elected no master within {}",
                               missing.find(',') == std::string::npos ? "" : "s", missing,
                               format_duration(patience)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// cluster.json's "network": the backend and every link it made (node to node, and the
// harness's client links).
json::object network_json(const Network& net) {
  json::array links;
  for (const auto& l : net.links()) {
    links.push_back(json::object{{"from", l.from}, {"to", l.to}, {"listen", l.listen}});
  }
  return json::object{{"backend", net.backend()}, {"links", std::move(links)}};
}

std::string cluster_json(const plan::Plan& p, uint64_t seed, const fs::path& run_dir,
                         const std::vector<supervisor::NodeStatus>& nodes,
                         const std::map<std::string, std::string>& observed,
                         const std::map<std::string, std::string>& client_addresses,
                         const Network& net) {
  json::object root;
  root["plan"] = p.name;
  root["seed"] = seed;
  root["run_dir"] = fs::absolute(run_dir).string();
  root["harness_pid"] = ::getpid();
  root["written_at"] = rundir::utc_timestamp();
  const auto instances = p.instances();
  json::array arr;
  for (const auto& n : nodes) {
    auto inst = std::find_if(instances.begin(), instances.end(),
                             [&](const plan::Instance& i) { return i.id == n.id; });
    const plan::Instance* found = inst == instances.end() ? nullptr : &*inst;
    json::object o{
        {"id", n.id},
        {"group", n.group},
        {"kind", n.kind},
        {"role", role_of(p, found, observed)},
        {"pid", n.pid},
        {"state", supervisor::to_string(n.state)},
        {"host", n.host},
        {"port", n.port},
        {"address", fmt::format("{}:{}", n.host, n.port)},
        {"dir", fs::absolute(n.dir).string()},
        {"log", fs::absolute(n.log).string()},
    };
    if (found && found->shard >= 0) o["shard"] = found->shard;
    // Where the harness's client (and a user's redis-cli) reaches it: through the network's
    // client link, which partitions can cut; `address` is where it listens.
    if (auto c = client_addresses.find(n.id); c != client_addresses.end()) {
      o["client_address"] = c->second;
    }
    arr.push_back(std::move(o));
  }
  root["nodes"] = std::move(arr);
  root["network"] = network_json(net);
  return json::serialize(root) + "\n";
}

}  // namespace

struct Session::Events {
  rundir::JsonLines file;
};

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

Session::Session(const plan::Plan& plan, SessionOptions options)
    : plan_(plan),
      options_(std::move(options)),
      start_(std::chrono::steady_clock::now()),
      events_(std::make_unique<Events>()) {}

Session::~Session() {
  stop_cluster();
  supervisor_.reset();
}

result<std::unique_ptr<Session>> Session::create(const plan::Plan& plan, SessionOptions options) {
  std::unique_ptr<Session> s(new Session(plan, std::move(options)));
  s->seed_ = s->options_.seed ? *s->options_.seed : plan.seed.value_or(random_seed());
  auto dir = rundir::create(plan.name, s->options_.out);
  if (!dir) return dir.error();
  s->dir_ = *dir;
  const bool seed_in_file = plan.seed.has_value() && !s->options_.seed;
  std::string text = plan.source.empty() ? std::string() : read_file(plan.source);
  if (!seed_in_file && plan.seed) {
    // --seed replaced the plan's own: comment that line out so the file replays this run.
    std::string patched;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("seed", 0) == 0 && line.find('=') != std::string::npos) line = "# " + line;
      patched += line + "\n";
    }
    text = patched;
  }
  if (auto w = rundir::write_atomic(s->dir_ / "plan.toml",
                                    rundir::plan_as_run(text, seed_in_file, s->seed_));
      !w) {
    return w.error();
  }
  if (auto o = s->events_->file.open(s->dir_ / "events.jsonl"); !o) return o.error();
  s->event("run.start", json::serialize(json::object{{"plan", plan.name},
                                                     {"seed", s->seed_},
                                                     {"command", s->options_.command}}));

  // What dead runs left on this machine (namespaces, nft tables, stopped processes) goes first.
  chaos::sweep_stale_at_start();
  // The run's id on the machine: its directory's absolute path, so two runs never share one.
  std::error_code abs_ec;
  const std::string run_id = fs::absolute(s->dir_, abs_ec).lexically_normal().string();
  NetworkContext nctx;
  nctx.run_dir = s->dir_;
  nctx.run_id = run_id;
  nctx.seed = s->seed_;
  Session* owner = s.get();
  nctx.event = [owner](std::string_view type, std::string fields) { owner->event(type, fields); };
  auto network = make_network(plan, nctx);
  if (!network) {
    s->event("run.stop", json::serialize(json::object{{"reason", network.error().message}}));
    return network.error();
  }
  s->network_ = std::move(*network);

  supervisor::Options sopts;
  sopts.run_dir = s->dir_;
  if (s->network_->backend() != "direct") {
    Network* net = s->network_.get();
    sopts.placement = [net](const plan::Instance& i) { return net->placement(i); };
    sopts.link = [net](std::string_view from, std::string_view to,
                       const supervisor::Endpoint& real) { return net->link(from, to, real); };
  }
  sopts.bindir = s->options_.bindir.value_or(fs::read_symlink("/proc/self/exe").parent_path());
  sopts.echo_logs = s->options_.echo_logs;
  Session* self = s.get();
  sopts.on_event = [self](const supervisor::Event& e) {
    self->event(fmt::format("node.{}", supervisor::to_string(e.kind)),
                json::serialize(node_event_fields(e)));
    if (self->options_.on_node_event) self->options_.on_node_event(e);
  };
  s->supervisor_ = std::make_unique<supervisor::Supervisor>(std::move(sopts));
  s->supervisor_control_ = std::make_unique<chaos::SupervisorControl>(*s->supervisor_);
  if (auto ledger = chaos::Ledger::open(run_id, s->dir_)) {
    s->ledger_ = std::move(*ledger);
    supervisor::Supervisor* sup = s->supervisor_.get();
    s->process_ = std::make_unique<chaos::LedgeredControl>(
        *s->supervisor_control_, *s->ledger_, [sup](std::string_view id) {
          for (const auto& n : sup->status()) {
            if (n.id == id) return n.pid;
          }
          return 0;
        });
  } else {
    fmt::print(stderr, "faultline: {} (a pause this run makes is not recorded for `faultline heal`)\n",
               ledger.error().message);
    s->process_ = std::make_unique<chaos::SupervisorControl>(*s->supervisor_);
  }
  return s;
}

int64_t Session::now() const { return rundir::since(start_); }

void Session::event(std::string_view type, std::string_view fields_json) {
  json::object o;
  o["time"] = now();
  o["type"] = type;
  if (!fields_json.empty()) {
    boost::system::error_code ec;
    auto fields = json::parse(fields_json, ec);
    if (!ec && fields.is_object()) {
      for (const auto& [k, v] : fields.as_object()) o[k] = v;
    }
  }
  events_->file.append(json::serialize(o));
}

result<void> Session::start_cluster() {
  auto started = supervisor_->start(plan_.instances());
  if (!started) {
    event("run.stop", json::serialize(json::object{{"reason", started.error().message}}));
    return started;
  }
  auto roles = wait_for_masters(plan_, nodes());
  if (!roles) {
    event("run.stop", json::serialize(json::object{{"reason", roles.error().message}}));
    stop_cluster();
    return roles.error();
  }
  std::map<std::string, std::string> client_addresses;
  for (const auto& n : nodes()) {
    auto c = network_->client_endpoint(n.id, {n.host, n.port});
    if (!c) {
      event("run.stop", json::serialize(json::object{{"reason", c.error().message}}));
      stop_cluster();
      return c.error();
    }
    client_addresses[n.id] = fmt::format("{}:{}", c->host, c->port);
  }
  auto w = rundir::write_atomic(
      dir_ / "cluster.json",
      cluster_json(plan_, seed_, dir_, nodes(), *roles, client_addresses, *network_));
  if (!w) return w;
  event("cluster.ready", json::serialize(json::object{{"nodes", nodes().size()}}));
  return {};
}

void Session::stop_cluster() {
  if (supervisor_) supervisor_->shutdown();
  if (network_) network_->close();
  if (ledger_) ledger_->close();
}

std::vector<supervisor::NodeStatus> Session::nodes() const { return supervisor_->status(); }

}  // namespace fl::run
