// [[fault]] in a real run: faultline-db processes under load, killed, paused and restarted by
// the schedule, with every injection and heal in events.jsonl and as nemesis ops in the history.
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "harness/run/run.h"

namespace fl::run {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::vector<json::object> lines(const fs::path& p) {
  std::vector<json::object> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line).as_object());
  }
  return out;
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

class FaultScheduleRun : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fl-faults-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override { fs::remove_all(tmp_); }

  RunOutcome run(const std::string& toml) {
    auto loaded = plan::load_plan_string(toml, "faults.toml");
    std::string errors;
    for (const auto& d : loaded.errors) errors += d.str() + "\n";
    EXPECT_TRUE(loaded.plan) << errors;
    if (!loaded.plan) return {};
    RunOptions opts;
    opts.out = tmp_ / "run";
    opts.progress = false;
    opts.echo_logs = false;
    return execute(*loaded.plan, opts, [](std::function<void()>) {});
  }

  fs::path tmp_;
};

TEST_F(FaultScheduleRun, KillPauseAndRestartAreInjectedHealedAndRecorded) {
  const std::string db = FL_BIN_DIR "/faultline-db";
  const std::string toml = fmt::format(R"toml(
name = "faults"
seed = 5
duration = "3s"

[[node]]
id = "a"
replicas = 3
command = ["{db}", "--host", "{{host}}", "--port", "{{port}}", "--id", "{{id}}"]
ready = {{ kind = "resp" }}

[[node]]
id = "b"
command = ["{db}", "--host", "{{host}}", "--port", "{{port}}", "--id", "{{id}}"]
ready = {{ kind = "resp" }}

[workload]
kind = "register"
rate = 200
keys = 10
targets = ["b", "a"]

[[check]]
kind = "availability"

[[fault]]
at = "300ms"
action = "kill"
target = "a-0"
duration = "500ms"

[[fault]]
at = "400ms"
action = "pause"
target = "a-1"
duration = "300ms"

[[fault]]
at = "500ms"
action = "pause"
target = "random(a)"

[[fault]]
at = "600ms"
action = "restart-wiped"
target = "b"

[[fault]]
at = "700ms"
action = "terminate"
target = "a-2"
)toml",
                                       fmt::arg("db", db));
  RunOutcome out = run(toml);
  ASSERT_EQ(out.exit_code, 0) << out.summary;
  const auto events = lines(out.dir / "events.jsonl");

  int64_t main_at = -1;
  std::vector<json::object> faults;
  std::map<std::string, int> node_events;
  for (const auto& e : events) {
    const std::string type = str(e, "type");
    if (type == "phase.main") main_at = e.at("time").as_int64();
    if (type.rfind("fault.", 0) == 0) faults.push_back(e);
    if (type.rfind("node.", 0) == 0) ++node_events[type + " " + str(e, "node")];
  }
  ASSERT_GE(main_at, 0);
  std::vector<std::string> seen;
  for (const auto& f : faults) {
    seen.push_back(fmt::format("{} {} {}", str(f, "type"), str(f, "action"), str(f, "node")));
  }
  SCOPED_TRACE(fmt::format("{}", fmt::join(seen, "\n")));

  auto find = [&](std::string_view type, std::string_view action,
                  std::string_view node) -> const json::object* {
    for (const auto& f : faults) {
      if (str(f, "type") == type && str(f, "action") == action && str(f, "node") == node) {
        return &f;
      }
    }
    return nullptr;
  };
  auto at = [&](const json::object* e) { return e ? e->at("time").as_int64() - main_at : -1; };

  // kill a-0 for 500ms: down, then started again by the schedule.
  const auto* kill = find("fault.start", "kill", "a-0");
  const auto* started = find("fault.end", "kill", "a-0");
  ASSERT_TRUE(kill && started);
  EXPECT_GE(at(kill), 300'000'000);
  EXPECT_GE(at(started) - at(kill), 500'000'000);
  EXPECT_EQ(str(*started, "detail"), "start after 500ms");
  EXPECT_EQ(node_events["node.spawned a-0"], 2);
  EXPECT_EQ(node_events["node.ready a-0"], 2);

  // pause a-1 for 300ms: resumed by the schedule.
  const auto* pause = find("fault.start", "pause", "a-1");
  const auto* resume = find("fault.end", "pause", "a-1");
  ASSERT_TRUE(pause && resume);
  EXPECT_GE(at(resume) - at(pause), 300'000'000);
  EXPECT_GE(node_events["node.paused a-1"], 1);
  EXPECT_GE(node_events["node.resumed a-1"], 1);

  // random(a) without a duration: one of a's nodes, resumed when the main phase ended (if it
  // was not down: a-0 is down at 500ms, and pausing it is an error recorded as such).
  int random_starts = 0;
  for (const auto& f : faults) {
    if (str(f, "target") != "random(a)") continue;
    if (str(f, "type") == "fault.start") {
      ++random_starts;
      EXPECT_EQ(str(f, "node").rfind("a-", 0), 0u);
    }
    if (str(f, "type") == "fault.end") {
      EXPECT_EQ(str(f, "detail"), "resume at the end of the main phase");
    }
  }
  EXPECT_EQ(random_starts, 1);

  // restart-wiped b: over once it is ready again.
  const auto* wipe = find("fault.start", "restart-wiped", "b");
  const auto* ready = find("fault.end", "restart-wiped", "b");
  ASSERT_TRUE(wipe && ready);
  EXPECT_EQ(node_events["node.ready b"], 2);

  // terminate a-2 without a duration: stays down; no heal.
  ASSERT_TRUE(find("fault.start", "terminate", "a-2"));
  EXPECT_FALSE(find("fault.end", "terminate", "a-2"));
  EXPECT_EQ(node_events["node.spawned a-2"], 1);

  // Every injection and heal is a nemesis op in the history, at the event's time.
  std::vector<std::string> nemesis;
  for (const auto& op : lines(out.dir / "history.jsonl")) {
    if (op.at("process") == "nemesis") {
      EXPECT_EQ(str(op, "type"), "info");
      nemesis.push_back(str(op, "f") + " " +
                        (op.at("value").is_string() ? str(op, "value") : std::string("?")));
    }
  }
  auto has = [&](const std::string& s) {
    return std::find(nemesis.begin(), nemesis.end(), s) != nemesis.end();
  };
  EXPECT_TRUE(has("kill a-0"));
  EXPECT_TRUE(has("start a-0"));
  EXPECT_TRUE(has("pause a-1"));
  EXPECT_TRUE(has("resume a-1"));
  EXPECT_TRUE(has("restart-wiped b"));
  EXPECT_TRUE(has("ready b"));
  EXPECT_TRUE(has("terminate a-2"));

  // The availability check saw the faults as events to recover from.
  const auto results = json::parse([&] {
                         std::ifstream in(out.dir / "results.json");
                         std::stringstream s;
                         s << in.rdbuf();
                         return s.str();
                       }())
                           .as_object();
  const auto& avail = results.at("checks").as_array().at(0).at("details").as_object();
  EXPECT_GE(avail.at("recoveries").as_array().size(), 5u);
}

TEST_F(FaultScheduleRun, AFaultAfterAShortenedDurationIsSkippedAndRecorded) {
  const std::string db = FL_BIN_DIR "/faultline-db";
  auto loaded = plan::load_plan_string(fmt::format(R"toml(
name = "late"
seed = 1
duration = "10s"
[[node]]
id = "a"
command = ["{}", "--host", "{{host}}", "--port", "{{port}}"]
ready = {{ kind = "resp" }}
[workload]
kind = "register"
rate = 50
[[check]]
kind = "availability"
[[fault]]
at = "5s"
action = "kill"
target = "a"
)toml",
                                                   db),
                                       "late.toml");
  ASSERT_TRUE(loaded.plan);
  RunOptions opts;
  opts.out = tmp_ / "run";
  opts.progress = false;
  opts.echo_logs = false;
  opts.duration = std::chrono::milliseconds(500);
  auto out = execute(*loaded.plan, opts, [](std::function<void()>) {});
  ASSERT_EQ(out.exit_code, 0) << out.summary;
  int skipped = 0;
  for (const auto& e : lines(out.dir / "events.jsonl")) {
    if (str(e, "type") == "fault.skipped") {
      ++skipped;
      EXPECT_NE(str(e, "detail").find("ended before"), std::string::npos);
    }
    EXPECT_NE(str(e, "type"), "fault.start");
  }
  EXPECT_EQ(skipped, 1);
}

TEST_F(FaultScheduleRun, MasterSelectorAsksTheShardAndFailoverIsMeasured) {
  // A real replicated shard: the schedule must find its master by ROLE, kill it, and the
  // failover check must time the first ok write on the shard after the kill.
  auto loaded = plan::load_plan_string(R"toml(
name = "failover"
seed = 3
duration = "3s"
[cluster.db]
shards = 2
replicas = 3
[workload]
kind = "register"
rate = 200
keys = 20
timeout = "500ms"
[[check]]
kind = "failover"
max_failover = "20s"
[[fault]]
at = "500ms"
action = "kill"
target = "db:shard=1:master"
duration = "1s"
[[fault]]
at = "2s"
action = "pause"
target = "random(db:shard=0:slave)"
duration = "200ms"
)toml",
                                       "failover.toml");
  ASSERT_TRUE(loaded.plan);
  RunOptions opts;
  opts.out = tmp_ / "run";
  opts.progress = false;
  opts.echo_logs = false;
  opts.bindir = fs::path(FL_BIN_DIR);
  auto out = execute(*loaded.plan, opts, [](std::function<void()>) {});
  ASSERT_EQ(out.exit_code, 0) << out.summary;

  // cluster.json names one master per shard, as the nodes reported it.
  std::ifstream cj(out.dir / "cluster.json");
  std::stringstream text;
  text << cj.rdbuf();
  int masters = 0;
  const json::value cluster = json::parse(text.str());
  for (const auto& n : cluster.at("nodes").as_array()) {
    masters += str(n.as_object(), "role") == "master";
  }
  EXPECT_EQ(masters, 2);

  const json::object* kill = nullptr;
  const json::object* pause = nullptr;
  const auto events = lines(out.dir / "events.jsonl");
  for (const auto& e : events) {
    if (str(e, "type") != "fault.start") continue;
    (str(e, "action") == "kill" ? kill : pause) = &e;
  }
  ASSERT_TRUE(kill && pause);
  EXPECT_EQ(str(*kill, "role"), "master");
  EXPECT_EQ(kill->at("shard").as_int64(), 1);
  EXPECT_GE(kill->at("term").as_int64(), 1);
  EXPECT_EQ(str(*kill, "node").rfind("db-s1-", 0), 0u);
  EXPECT_EQ(str(*pause, "role"), "slave");
  EXPECT_EQ(str(*pause, "node").rfind("db-s0-", 0), 0u);

  std::ifstream rj(out.dir / "results.json");
  std::stringstream rtext;
  rtext << rj.rdbuf();
  const json::value results = json::parse(rtext.str());
  const auto& check = results.at("checks").as_array().at(0).as_object();
  EXPECT_EQ(str(check, "kind"), "failover");
  const auto& details = check.at("details").as_object();
  EXPECT_EQ(details.at("shards").as_array().size(), 2u);
  const auto& failovers = details.at("failovers").as_array();
  ASSERT_EQ(failovers.size(), 1u);  // the slave's pause is not a failover
  EXPECT_EQ(failovers[0].at("shard").as_int64(), 1);
  EXPECT_TRUE(failovers[0].at("failover_ns").is_int64()) << json::serialize(failovers[0]);
  EXPECT_GT(failovers[0].at("failover_ns").as_int64(), 0);
}

}  // namespace
}  // namespace fl::run
