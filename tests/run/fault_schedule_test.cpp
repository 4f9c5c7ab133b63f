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
#include <mutex>
#include <sstream>
#include <thread>

#include "chaos/partition.h"
#include "chaos/schedule.h"
#include "harness/run/fault_schedule.h"
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

// --- The schedule alone, over fake controls: what it asks of processes, links and clocks. ---

struct FakeProcess final : chaos::ProcessControl {
  std::mutex mu;
  std::vector<std::string> calls;
  result<void> record(std::string c) {
    std::lock_guard lock(mu);
    calls.push_back(std::move(c));
    return {};
  }
  result<void> kill(std::string_view id) override { return record("kill " + std::string(id)); }
  result<void> terminate(std::string_view id) override {
    return record("terminate " + std::string(id));
  }
  result<void> pause(std::string_view id) override { return record("pause " + std::string(id)); }
  result<void> resume(std::string_view id) override {
    return record("resume " + std::string(id));
  }
  result<void> restart(std::string_view id, bool wipe) override {
    return record((wipe ? "restart-wiped " : "restart ") + std::string(id));
  }
};

struct FakeLinks final : chaos::LinkControl {
  std::mutex mu;
  std::vector<std::string> calls;
  std::vector<std::vector<chaos::Cut>> cuts;
  std::set<Handle> live;
  Handle next = 1;
  int heal_all_calls = 0;
  std::string_view backend() const override { return "fake"; }
  result<Handle> cut(const std::vector<chaos::Cut>& c, plan::CutMode mode) override {
    std::lock_guard lock(mu);
    cuts.push_back(c);
    calls.push_back(fmt::format("cut {} {}", c.size(), plan::to_string(mode)));
    live.insert(next);
    return next++;
  }
  result<Handle> degrade(const std::vector<std::string>& from, const std::vector<std::string>& to,
                         plan::Direction d, const std::vector<plan::Toxic>& toxics) override {
    std::lock_guard lock(mu);
    calls.push_back(fmt::format("degrade {} -> {} {} x{}", fmt::join(from, ","),
                                fmt::join(to, ","), plan::to_string(d), toxics.size()));
    live.insert(next);
    return next++;
  }
  result<void> heal(Handle h) override {
    std::lock_guard lock(mu);
    calls.push_back(fmt::format("heal {}", h));
    live.erase(h);
    return {};
  }
  void heal_all() override {
    std::lock_guard lock(mu);
    ++heal_all_calls;
    live.clear();
  }
  std::vector<chaos::LinkInfo> links() const override { return {}; }
};

struct FakeClock final : chaos::ClockControl {
  std::mutex mu;
  std::vector<std::string> calls;
  result<void> set(std::string_view id, std::chrono::nanoseconds offset, double rate) override {
    std::lock_guard lock(mu);
    calls.push_back(fmt::format("set {} {}ms x{}", id, offset.count() / 1'000'000, rate));
    return {};
  }
  result<void> reset(std::string_view id) override {
    std::lock_guard lock(mu);
    calls.push_back(fmt::format("reset {}", id));
    return {};
  }
};

// A schedule over a plan's instances, all running; the master of each db shard is replica
// `master_replica`. Events are kept in order.
class ScheduleFixture {
 public:
  explicit ScheduleFixture(const std::string& toml, int master_replica = 0) {
    auto loaded = plan::load_plan_string(toml, "schedule.toml");
    std::string errors;
    for (const auto& d : loaded.errors) errors += d.str() + "\n";
    EXPECT_TRUE(loaded.plan) << errors;
    if (loaded.plan) plan = *loaded.plan;
    hooks.event = [this](std::string_view type, std::string fields) {
      std::lock_guard lock(mu);
      auto o = json::parse(fields).as_object();
      o["type"] = type;
      events.push_back(std::move(o));
    };
    hooks.now = [] { return int64_t{0}; };
    hooks.nodes = [this] {
      std::vector<chaos::NodeAddress> out;
      for (const auto& i : plan.instances()) out.push_back({i.id, "127.0.0.1", 1, true});
      return out;
    };
    hooks.ask = [master_replica](const chaos::NodeAddress& n) -> result<chaos::NodeRole> {
      const bool master = n.id.ends_with("-r" + std::to_string(master_replica));
      return chaos::NodeRole{master ? "master" : "slave", 3};
    };
  }

  // Runs the whole schedule at once (every firing already due), waits until `firings` firings
  // happened, then stops it.
  // With `paced`, firings happen at their planned times from now instead.
  void run(uint64_t seed, int firings, bool with_links = true, bool with_clock = true,
           bool paced = false) {
    FaultSchedule schedule(plan, {process, with_links ? &links : nullptr,
                                  with_clock ? &clock : nullptr},
                           seed, plan.duration, hooks);
    schedule.start(std::chrono::steady_clock::now() - (paced ? Duration(0) : plan.duration));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto c = schedule.counts();
      if (c.fired >= firings) break;
      std::this_thread::yield();
    }
    schedule.stop();
    counts = schedule.counts();
  }

  std::vector<json::object> of_type(std::string_view type) {
    std::vector<json::object> out;
    for (const auto& e : events) {
      if (str(e, "type") == type) out.push_back(e);
    }
    return out;
  }

  plan::Plan plan;
  FaultScheduleHooks hooks;
  FakeProcess process;
  FakeLinks links;
  FakeClock clock;
  std::mutex mu;
  std::vector<json::object> events;
  FaultSchedule::Counts counts;
};

std::vector<chaos::Cut> cuts_of(const json::object& e) {
  std::vector<chaos::Cut> out;
  for (const auto& c : e.at("cuts").as_array()) {
    out.push_back({std::string(c.as_array()[0].as_string()),
                   std::string(c.as_array()[1].as_string())});
  }
  return out;
}

constexpr std::string_view kCluster = R"toml(
name = "schedule"
duration = "60s"
[cluster.db]
shards = 2
replicas = 3
[cluster.lb]
nodes = 2
[[network.region]]
name = "east"
nodes = ["db:shard=0", "lb-0"]
)toml";

TEST(FaultScheduleFakes, PartitionsCutTheirShapeAndAreHealedByHandle) {
  ScheduleFixture f(std::string(kCluster) + R"toml(
[[fault]]
action = "partition"
shape = "halves"
at = "1s"
duration = "5s"
[[fault]]
action = "partition"
shape = "isolate"
target = "region:east"
mode = "reject"
at = "2s"
[[fault]]
action = "partition"
shape = "primaries"
at = "3s"
[[fault]]
action = "partition"
shape = "one-way"
target = "db:shard=1:master"
to = "db:shard=1:slave"
at = "4s"
)toml",
                    1);
  f.run(1, 4);
  const auto starts = f.of_type("fault.start");
  ASSERT_EQ(starts.size(), 4u);
  // Halves of the db group (the default), plan order: 3 of 6 on each side.
  EXPECT_EQ(str(starts[0], "shape"), "halves");
  EXPECT_EQ(starts[0].at("planned_ns").as_int64(), 1'000'000'000);
  Rng unused(0);
  chaos::PartitionInput in;
  in.shape = plan::PartitionShape::halves;
  in.nodes = {"db-s0-r0", "db-s0-r1", "db-s0-r2", "db-s1-r0", "db-s1-r1", "db-s1-r2"};
  const auto halves = chaos::partition_cuts(in, unused);
  EXPECT_EQ(cuts_of(starts[0]), *halves);
  // The isolated region reaches nothing outside it, in reject mode; the LBs' other half and the
  // client are untouched by the region's own members.
  EXPECT_EQ(str(starts[1], "mode"), "reject");
  for (const auto& c : cuts_of(starts[1])) {
    const bool east = [](const std::string& n) {
      return n.starts_with("db-s0-") || n == "lb-0";
    }(c.from);
    const bool east_to = c.to.starts_with("db-s0-") || c.to == "lb-0";
    EXPECT_NE(east, east_to) << c.from << " -> " << c.to;
    EXPECT_NE(c.from, "client");
  }
  EXPECT_EQ(cuts_of(starts[1]).size(), 2u * 4u * 4u);  // 4 east nodes x 4 others, both ways
  // Primaries: the masters the nodes named (replica 1 of each shard), each alone.
  const auto prim = cuts_of(starts[2]);
  for (const auto& c : prim) {
    EXPECT_TRUE(c.from.ends_with("-r1") || c.to.ends_with("-r1")) << c.from << " " << c.to;
  }
  EXPECT_EQ(prim.size(), 2u * (5u + 4u));
  // One-way: the master's messages to its slaves only.
  EXPECT_EQ(cuts_of(starts[3]),
            (std::vector<chaos::Cut>{{"db-s1-r1", "db-s1-r0"}, {"db-s1-r1", "db-s1-r2"}}));
  // Every cut was healed by its own handle, and stop() swept the rest.
  EXPECT_TRUE(f.links.live.empty());
  EXPECT_EQ(f.links.heal_all_calls, 1);
  EXPECT_EQ(f.of_type("fault.end").size(), 4u);
  for (const auto& e : f.of_type("fault.end")) EXPECT_TRUE(e.contains("handle"));
  EXPECT_EQ(f.counts.healed, 4);
}

TEST(FaultScheduleFakes, LinkAndClockFaultsAndTheirSelectModes) {
  ScheduleFixture f(std::string(kCluster) + R"toml(
[[fault]]
action = "link"
target = "lb"
select = "one"
to = "db:shard=0"
direction = "up"
latency = "50ms"
loss = 0.1
at = "1s"
duration = "1ms"
[[fault]]
action = "clock"
target = "db"
select = "majority"
offset = "-2s"
rate = 1.5
at = "2s"
)toml");
  f.run(9, 2);
  ASSERT_EQ(f.links.calls.size(), 2u);
  EXPECT_TRUE(f.links.calls[0] == "degrade lb-0 -> db-s0-r0,db-s0-r1,db-s0-r2 up x2" ||
              f.links.calls[0] == "degrade lb-1 -> db-s0-r0,db-s0-r1,db-s0-r2 up x2")
      << f.links.calls[0];
  EXPECT_EQ(f.links.calls[1], "heal 1");
  const auto starts = f.of_type("fault.start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0].at("toxics").as_array().size(), 2u);
  EXPECT_EQ(str(starts[0].at("toxics").as_array()[0].as_object(), "kind"), "latency");
  // A majority of six db nodes: four, each set and reset once.
  EXPECT_EQ(starts[1].at("nodes").as_array().size(), 4u);
  EXPECT_EQ(str(starts[1], "offset"), "-2s");
  int sets = 0, resets = 0;
  for (const auto& c : f.clock.calls) {
    sets += c.starts_with("set db-") && c.ends_with("-2000ms x1.5");
    resets += c.starts_with("reset db-");
  }
  EXPECT_EQ(sets, 4);
  EXPECT_EQ(resets, 4);
}

TEST(FaultScheduleFakes, MissingControlIsAnErrorAndAnActiveFaultIsNotFiredAgain) {
  ScheduleFixture f(std::string(kCluster) + R"toml(
[[fault]]
action = "partition"
shape = "bridge"
at = "1s"
[[fault]]
action = "pause"
target = "db-s0-r0"
at = ["2s", "3s"]
)toml");
  f.run(1, 3, /*with_links=*/false);
  ASSERT_EQ(f.of_type("fault.error").size(), 1u);
  EXPECT_NE(str(f.of_type("fault.error")[0], "detail").find("this run has none"),
            std::string::npos);
  // The pause has no duration: the second firing finds it still active; stop() resumes it.
  EXPECT_EQ(f.process.calls, (std::vector<std::string>{"pause db-s0-r0", "resume db-s0-r0"}));
  ASSERT_EQ(f.of_type("fault.skipped").size(), 1u);
  EXPECT_NE(str(f.of_type("fault.skipped")[0], "detail").find("still active"), std::string::npos);
}

// Issue 6, done-when 6: one plan and seed, one fault sequence (kinds, targets, planned times).
// Paced in real time, short: every heal is due well before its fault fires again.
TEST(FaultScheduleFakes, TheSameSeedGivesTheSameFaultSequence) {
  const std::string toml = R"toml(
name = "determinism"
duration = "3s"
[cluster.db]
shards = 2
replicas = 3
[cluster.lb]
nodes = 2
[[fault]]
action = "partition"
shape = "random-halves"
every = "500ms"
jitter = "100ms"
duration = "100ms"
[[fault]]
action = "kill"
target = "db"
select = "minority"
rate = 2
[[fault]]
action = "link"
target = "random(lb)"
latency = "20ms"
at = ["700ms", "2100ms"]
duration = "300ms"
)toml";
  auto sequence = [&](uint64_t seed) {
    ScheduleFixture f(toml);
    size_t firings = 0;
    for (size_t i = 0; i < f.plan.faults.size(); ++i) {
      Rng rng = chaos::fault_rng(seed, i);
      firings += chaos::fire_times(f.plan.faults[i], f.plan.duration, rng).size();
    }
    f.run(seed, static_cast<int>(firings), true, true, /*paced=*/true);
    EXPECT_EQ(f.counts.skipped + f.counts.errors, 0);
    std::vector<std::string> out;
    for (const auto& e : f.of_type("fault.start")) {
      out.push_back(fmt::format("{:>12} {} {} {}", e.at("planned_ns").as_int64(),
                                str(e, "action"), json::serialize(e.at("nodes")),
                                e.contains("cuts") ? json::serialize(e.at("cuts")) : ""));
    }
    std::sort(out.begin(), out.end());
    return std::pair{out, f.process.calls};
  };
  const auto a = sequence(42);
  ASSERT_GE(a.first.size(), 8u) << "6 partitions, 2 link faults and the kills";
  EXPECT_EQ(a, sequence(42));
  EXPECT_NE(a.first, sequence(43).first);
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

  // Phases: main, then every fault healed, then `recovery` (1s by default with faults) with no
  // operation invoked, then final reads.
  int64_t recovery_at = -1, final_at = -1, last_heal = -1;
  for (const auto& e : events) {
    const std::string type = str(e, "type");
    if (type == "phase.recovery") recovery_at = e.at("time").as_int64();
    if (type == "phase.final-reads") final_at = e.at("time").as_int64();
    if (type == "fault.end") last_heal = std::max(last_heal, e.at("time").as_int64());
  }
  ASSERT_GT(recovery_at, main_at);
  EXPECT_GE(final_at - recovery_at, 1'000'000'000);
  EXPECT_LE(last_heal, recovery_at);
  for (const auto& op : lines(out.dir / "history.jsonl")) {
    if (op.at("process").is_string() || str(op, "type") != "invoke") continue;
    const int64_t t = op.at("time").as_int64();
    EXPECT_FALSE(t > recovery_at && t < final_at) << json::serialize(op);
  }

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
