// [network] backend = "proxy" with real processes: a run whose every node-to-node and client
// connection goes through the harness's link proxy passes, and cluster.json lists the links;
// cutting a db master from its slaves through Network::cut stops its writes, a slave takes
// over, and after heal the old master rejoins as a slave.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "chaos/process_faults.h"
#include "harness/run/node_query.h"
#include "harness/run/run.h"
#include "harness/run/session.h"
#include "tests/support/test_process.h"

namespace fl::run {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

json::value read_json(const fs::path& p) { return json::parse(fl::test::slurp(p)); }

std::string str(const json::value& v, std::string_view key) {
  const auto* x = v.as_object().if_contains(key);
  return x && x->is_string() ? std::string(x->as_string()) : std::string();
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = 20s) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

class NetworkRun : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fl::test::make_temp_dir("fl-network-");
    ASSERT_FALSE(tmp_.empty());
  }
  void TearDown() override { fs::remove_all(tmp_); }

  static plan::Plan load(const std::string& toml) {
    auto loaded = plan::load_plan_string(toml, "network.toml");
    std::string errors;
    for (const auto& d : loaded.errors) errors += d.str() + "\n";
    EXPECT_TRUE(loaded.plan) << errors;
    return loaded.plan ? *loaded.plan : plan::Plan{};
  }

  fs::path tmp_;
};

TEST_F(NetworkRun, ProxiedClusterPassesAndClusterJsonListsItsLinks) {
  const plan::Plan p = load(R"toml(
name = "proxied"
seed = 11
duration = "2s"

[network]
backend = "proxy"

[cluster.db]
shards = 1
replicas = 3
replication = "sync"

[cluster.cache]
nodes = 1

[cluster.lb]
nodes = 1

[workload]
kind = "register"
rate = 100
keys = 10
)toml");
  RunOptions opts;
  opts.out = tmp_ / "run";
  opts.progress = false;
  opts.echo_logs = false;
  opts.bindir = FL_BIN_DIR;
  RunOutcome out = execute(p, opts, [](std::function<void()>) {});
  ASSERT_EQ(out.exit_code, 0) << out.summary;

  const auto cluster = read_json(out.dir / "cluster.json");
  const auto& network = cluster.at("network");
  EXPECT_EQ(str(network, "backend"), "proxy");
  std::set<std::string> links;
  std::set<std::string> listens;
  for (const auto& l : network.at("links").as_array()) {
    links.insert(str(l, "from") + "->" + str(l, "to"));
    listens.insert(str(l, "listen"));
  }
  // Every db pair both ways (peer links are one-way), the cache to each db node, the LB to the
  // cache, and the client to every node.
  for (const char* a : {"db-s0-r0", "db-s0-r1", "db-s0-r2"}) {
    for (const char* b : {"db-s0-r0", "db-s0-r1", "db-s0-r2"}) {
      if (std::string(a) != b) {
        EXPECT_TRUE(links.count(fmt::format("{}->{}", a, b))) << a << b;
      }
    }
    EXPECT_TRUE(links.count(fmt::format("cache->{}", a))) << a;
    EXPECT_TRUE(links.count(fmt::format("client->{}", a))) << a;
  }
  EXPECT_TRUE(links.count("lb->cache"));
  EXPECT_TRUE(links.count("client->lb"));
  EXPECT_TRUE(links.count("client->cache"));
  EXPECT_EQ(listens.size(), links.size()) << "every link has its own listener";
  // Each node's client_address is its client link's listener, not its own port.
  for (const auto& n : cluster.at("nodes").as_array()) {
    const std::string client = str(n, "client_address");
    EXPECT_TRUE(listens.count(client)) << str(n, "id") << " " << client;
    EXPECT_NE(client, str(n, "address"));
  }
  // The node commands dial the proxy: the LB's --backend is the lb->cache listener.
  std::ifstream events(out.dir / "events.jsonl");
  int link_events = 0;
  for (std::string line; std::getline(events, line);) {
    if (line.find(R"("type":"network.link")") != std::string::npos) ++link_events;
  }
  EXPECT_EQ(link_events, static_cast<int>(links.size()));
  // Operations went through client->lb and were acknowledged.
  const auto results = read_json(out.dir / "results.json");
  int64_t ok = 0;
  for (const auto& ph : results.at("phases").as_array()) {
    if (str(ph, "name") == "main") ok = ph.at("ok").as_int64();
  }
  EXPECT_GT(ok, 50);
}

// SET through `endpoint` with a deadline: the reply, or the error (timeout, reset).
result<resp::Value> set(const supervisor::Endpoint& endpoint, const std::string& key,
                        const std::string& value, std::chrono::milliseconds within) {
  const auto deadline = Clock::now() + within;
  auto c = NodeConnection::open(endpoint.host, endpoint.port, deadline);
  if (!c) return c.error();
  return c->call({"SET", key, value}, deadline);
}

bool is_ok(const result<resp::Value>& r) {
  return r && r->type == resp::Type::simple_string && r->str == "OK";
}

TEST_F(NetworkRun, CuttingTheMasterFromItsSlavesMovesTheShardAndHealBringsItBack) {
  const plan::Plan p = load(R"toml(
name = "cut"
seed = 3

[network]
backend = "proxy"

[cluster.db]
shards = 1
replicas = 3
replication = "sync"
)toml");
  SessionOptions so;
  so.out = tmp_ / "run";
  so.echo_logs = false;
  so.bindir = FL_BIN_DIR;
  auto created = Session::create(p, so);
  ASSERT_TRUE(created) << created.error().message;
  Session& s = **created;
  ASSERT_TRUE(s.start_cluster());
  EXPECT_EQ(s.network().backend(), "proxy");

  std::map<std::string, supervisor::Endpoint> real, client;
  for (const auto& n : s.nodes()) {
    real[n.id] = {n.host, n.port};
    auto c = s.network().client_endpoint(n.id, real[n.id]);
    ASSERT_TRUE(c);
    client[n.id] = *c;
  }
  // Roles are asked at the nodes' own addresses: the harness's questions bypass the proxy.
  auto role = [&](const std::string& id) {
    auto r = chaos::query_role(real[id].host, real[id].port, 300ms);
    return r ? r->role : std::string("?");
  };
  std::string master;
  ASSERT_TRUE(eventually([&] {
    for (const auto& [id, e] : real) {
      if (role(id) == "master") master = id;
    }
    return !master.empty();
  }));
  ASSERT_TRUE(is_ok(set(client[master], "k", "before", 5s)));
  // A slave redirects the client, naming the master's id after the address.
  std::string slave = master == "db-s0-r0" ? "db-s0-r1" : "db-s0-r0";
  auto moved = set(client[slave], "k", "x", 5s);
  ASSERT_TRUE(moved);
  EXPECT_TRUE(moved->str.starts_with("MOVED 0 ") && moved->str.ends_with(" " + master))
      << moved->str;

  std::vector<chaos::Cut> cuts;
  std::vector<std::string> slaves;
  for (const auto& [id, e] : real) {
    if (id == master) continue;
    slaves.push_back(id);
    cuts.push_back({master, id});
    cuts.push_back({id, master});
  }
  auto handle = s.network().cut(cuts, plan::CutMode::drop);
  ASSERT_TRUE(handle) << handle.error().message;
  for (const auto& l : s.network().links()) {
    const bool between = (l.from == master) != (l.to == master) && l.from != "client";
    EXPECT_EQ(l.cut_up, between) << l.from << "->" << l.to;
  }
  // The isolated master can no longer get a write acknowledged (its client link is intact).
  auto lonely = set(client[master], "k", "isolated", 2s);
  EXPECT_FALSE(is_ok(lonely)) << (lonely ? lonely->str : lonely.error().message);
  // The slaves still reach each other: one of them is elected and takes writes.
  std::string next;
  ASSERT_TRUE(eventually([&] {
    for (const auto& id : slaves) {
      if (role(id) == "master") next = id;
    }
    return !next.empty();
  })) << "no new master among the slaves";
  ASSERT_TRUE(eventually([&] { return is_ok(set(client[next], "k", "after", 1s)); }));

  ASSERT_TRUE(s.network().heal(*handle));
  for (const auto& l : s.network().links()) EXPECT_FALSE(l.cut_up || l.cut_down);
  // Healed, the old master hears the newer term and follows.
  EXPECT_TRUE(eventually([&] { return role(master) == "slave"; })) << role(master);
  EXPECT_TRUE(eventually([&] { return is_ok(set(client[next], "k", "healed", 1s)); }));
  s.stop_cluster();
}

}  // namespace
}  // namespace fl::run
