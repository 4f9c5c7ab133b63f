// End to end: `faultline up` of a real cluster, driven by `faultline ctl` through the control
// API: status, kill, a partition on the proxy network and its heal, then SIGTERM of `up` leaves
// no process behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_process.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

const fs::path kSource = FL_SOURCE_DIR;

using fl::test::alive;
using fl::test::eventually;
using fl::test::Process;
using fl::test::slurp;

class CtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fl::test::make_temp_dir("fl-ctl-");
    ASSERT_FALSE(tmp_.empty());
  }
  void TearDown() override {
    fl::test::kill_alive(pids_);
    fs::remove_all(tmp_);
  }

  struct Result {
    int code = -1;
    std::string out, err;
  };

  // Runs `faultline ctl args...` to its end.
  Result ctl(std::vector<std::string> args, const fs::path& cwd = kSource) {
    args.insert(args.begin(), "ctl");
    const std::string tag = "ctl" + std::to_string(++ctl_runs_);
    Process p(args, cwd, tmp_ / (tag + ".out"), tmp_ / (tag + ".err"));
    Result r;
    r.code = p.wait(120s).value_or(-1000);
    r.out = p.out();
    r.err = p.err();
    return r;
  }

  // Starts `faultline up PLAN` with its run directory at `run` and waits until its control API
  // is up; remembers the nodes' pids for cleanup.
  std::unique_ptr<Process> up(const std::string& plan, const fs::path& run) {
    auto p = std::make_unique<Process>(std::vector<std::string>{"up", plan, "--out", run.string()},
                                       kSource, tmp_ / "up.out", tmp_ / "up.err");
    bool ready =
        eventually([&] { return p->out().find("Press Ctrl-C") != std::string::npos; }, 120s);
    EXPECT_TRUE(ready) << "up did not come up; stderr:\n" << p->err();
    if (!ready) return p;
    auto nodes = json::parse(slurp(run / "cluster.json")).as_object().at("nodes").as_array();
    for (const auto& n : nodes) pids_.push_back(static_cast<int>(n.at("pid").as_int64()));
    return p;
  }

  // GET /nodes through `ctl status --json`: id -> node object.
  std::map<std::string, json::object> status(const fs::path& run) {
    auto r = ctl({"--run", run.string(), "--json", "status"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::map<std::string, json::object> out;
    if (r.code != 0) return out;
    const json::value v = json::parse(r.out);
    for (const auto& n : v.at("nodes").as_array()) {
      out[std::string(n.at("id").as_string())] = n.as_object();
    }
    return out;
  }

  std::vector<json::object> events(const fs::path& run, std::string_view type) {
    std::vector<json::object> out;
    std::istringstream in(slurp(run / "events.jsonl"));
    for (std::string line; std::getline(in, line);) {
      auto e = json::parse(line).as_object();
      if (e.at("type").as_string() == type) out.push_back(std::move(e));
    }
    return out;
  }

  fs::path tmp_;
  std::vector<int> pids_;
  int ctl_runs_ = 0;
};

TEST_F(CtlTest, KillsPartitionsAndHealsARunningUp) {
  const fs::path run = tmp_ / "run";
  auto u = up("tests/control/proxy-db.toml", run);
  ASSERT_FALSE(HasFailure());
  EXPECT_NE(u->out().find("control: http://127.0.0.1:"), std::string::npos) << u->out();

  // status: a table of the three db nodes, every one ready, one master.
  auto table = ctl({"--run", run.string(), "status"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("ID ", 0), 0u) << table.out;
  for (const char* id : {"db-s0-r0", "db-s0-r1", "db-s0-r2"}) {
    EXPECT_NE(table.out.find(id), std::string::npos) << table.out;
  }
  auto nodes = status(run);
  ASSERT_EQ(nodes.size(), 3u);
  std::string master, slave;
  for (const auto& [id, n] : nodes) {
    EXPECT_EQ(n.at("state").as_string(), "ready") << id;
    const auto* role = n.if_contains("role");
    if (role && role->as_string() == "master") master = id;
    if (role && role->as_string() == "slave") slave = id;
  }
  ASSERT_FALSE(master.empty()) << table.out;
  ASSERT_FALSE(slave.empty()) << table.out;

  // kill: the node is shown exited, its process gone.
  const int killed_pid = static_cast<int>(nodes[slave].at("pid").as_int64());
  auto kill = ctl({"--run", run.string(), "kill", slave});
  ASSERT_EQ(kill.code, 0) << kill.err;
  EXPECT_EQ(kill.out, "killed " + slave + "\n");
  EXPECT_FALSE(alive(killed_pid));
  nodes = status(run);
  EXPECT_EQ(nodes[slave].at("state").as_string(), "exited");
  EXPECT_EQ(nodes[slave].at("pid").as_int64(), 0);
  EXPECT_EQ(nodes[slave].at("exit_signal").as_int64(), SIGKILL);

  // partition isolate: every link to and from the master is cut on the proxy.
  auto part = ctl({"--run", run.string(), "partition", "isolate", master});
  ASSERT_EQ(part.code, 0) << part.err;
  EXPECT_NE(part.out.find("partition isolate (drop), handle "), std::string::npos) << part.out;
  EXPECT_NE(part.out.find(master + " -/-> "), std::string::npos) << part.out;
  auto links = ctl({"--run", run.string(), "--json", "links"});
  ASSERT_EQ(links.code, 0) << links.err;
  auto link_list = json::parse(links.out).at("links").as_array();
  int cut_links = 0;
  for (const auto& l : link_list) {
    const bool touches = l.at("from").as_string() == master || l.at("to").as_string() == master;
    const bool cut = l.at("cut_up").as_bool() || l.at("cut_down").as_bool();
    if (l.at("from").as_string() == "client") continue;
    EXPECT_EQ(cut, touches) << json::serialize(l);
    cut_links += cut;
  }
  EXPECT_GT(cut_links, 0) << links.out;
  auto injected = events(run, "fault.start");
  ASSERT_EQ(injected.size(), 2u);
  EXPECT_EQ(injected[0].at("action").as_string(), "kill");
  EXPECT_EQ(injected[1].at("action").as_string(), "partition");
  EXPECT_EQ(injected[1].at("source").as_string(), "control");
  EXPECT_FALSE(injected[1].at("cuts").as_array().empty());

  // heal: no link is cut any more, and the killed node is back with a new process.
  auto heal = ctl({"--run", run.string(), "heal"});
  ASSERT_EQ(heal.code, 0) << heal.err;
  EXPECT_NE(heal.out.find("restarted " + slave), std::string::npos) << heal.out;
  links = ctl({"--run", run.string(), "--json", "links"});
  ASSERT_EQ(links.code, 0) << links.err;
  const json::value healed = json::parse(links.out);
  for (const auto& l : healed.at("links").as_array()) {
    EXPECT_FALSE(l.at("cut_up").as_bool() || l.at("cut_down").as_bool()) << json::serialize(l);
  }
  nodes = status(run);
  EXPECT_EQ(nodes[slave].at("state").as_string(), "ready");
  const int new_pid = static_cast<int>(nodes[slave].at("pid").as_int64());
  EXPECT_NE(new_pid, 0);
  EXPECT_NE(new_pid, killed_pid);
  pids_.push_back(new_pid);
  EXPECT_EQ(events(run, "fault.end").size(), 1u);

  // metrics: up for every node.
  auto metrics = ctl({"--run", run.string(), "metrics"});
  ASSERT_EQ(metrics.code, 0) << metrics.err;
  for (const char* id : {"db-s0-r0", "db-s0-r1", "db-s0-r2"}) {
    EXPECT_NE(metrics.out.find(std::string("faultline_node_up{node=\"") + id +
                               "\",kind=\"db\",group=\"db\"} 1"),
              std::string::npos)
        << metrics.out;
  }

  // SIGTERM: up exits 0 and every process it started, the restarted one too, is gone.
  u->signal(SIGTERM);
  ASSERT_EQ(u->wait(60s), 0) << u->err();
  for (int pid : pids_) EXPECT_FALSE(alive(pid)) << pid;
  // Nothing answers any more.
  auto after = ctl({"--run", run.string(), "status"});
  EXPECT_EQ(after.code, 3);
}

TEST_F(CtlTest, FindsTheRunUnderRunsAndRefusesLinkFaultsOnADirectNetwork) {
  // The run directory under <cwd>/runs, where `ctl` looks without --run.
  const fs::path cwd = tmp_ / "work";
  const fs::path run = cwd / "runs" / "chain";
  fs::create_directories(cwd / "runs");
  auto u = up((kSource / "tests/plans/good/chain.toml").string(), run);
  ASSERT_FALSE(HasFailure());
  auto st = ctl({"status"}, cwd);
  ASSERT_EQ(st.code, 0) << st.err;
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_NE(st.out.find(std::string("\n") + id + " "), std::string::npos) << st.out;
  }
  auto part = ctl({"partition", "halves"}, cwd);
  EXPECT_EQ(part.code, 3);
  EXPECT_NE(part.err.find("network is direct"), std::string::npos) << part.err;
  auto unknown = ctl({"kill", "nope"}, cwd);
  EXPECT_EQ(unknown.code, 3);
  EXPECT_NE(unknown.err.find("no node 'nope'"), std::string::npos) << unknown.err;
  // A forged token file gets nothing done.
  fs::path forged = tmp_ / "forged";
  fs::create_directories(forged);
  fs::copy_file(run / "control.json", forged / "control.json");
  std::ofstream(forged / "control.token") << std::string(64, '0') << "\n";
  auto refused = ctl({"--run", forged.string(), "kill", "a"});
  EXPECT_EQ(refused.code, 3);
  EXPECT_NE(refused.err.find("HTTP 401"), std::string::npos) << refused.err;
  EXPECT_TRUE(events(run, "fault.start").empty());

  u->signal(SIGTERM);
  ASSERT_EQ(u->wait(60s), 0) << u->err();
  for (int pid : pids_) EXPECT_FALSE(alive(pid)) << pid;
}

}  // namespace
