// Clock faults on a real cluster started by the supervisor from a plan: the reference nodes'
// CLOCK command (set through chaos::NodeClockControl, read back with CLOCK GET) and its effect
// on a cache's TTLs and a db's key expiry; and external programs under libfaketime
// (faketime = true): `date` in a shell loop follows the offset, and a long-running program
// (faultline-db started as a plain [[node]], whose CLOCK GET reports its wall clock) the rate.
// redis-server cannot run under libfaketime (its jemalloc and libfaketime recurse at start).
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "chaos/resp_clock_control.h"
#include "harness/plan/faketime.h"
#include "harness/plan/plan.h"
#include "harness/supervisor/supervisor.h"
#include "tests/db/db_cluster.h"

namespace fl {
namespace {

using namespace std::chrono_literals;
using dbtest::eventually;
using dbtest::RespClient;
using resp::Value;

constexpr std::string_view kPlan = R"(
name = "clock-faults"
[cluster.db]
shards = 1
replicas = 1
[cluster.cache]
nodes = 1
ttl = "60s"
[cluster.lb]
nodes = 1
[cluster.broker]
[[node]]
id = "ticker"
command = ["sh", "-c", "while :; do date +%s%3N > {dir}/now.tmp && mv {dir}/now.tmp {dir}/now; sleep 0.02; done"]
ready = { kind = "none" }
faketime = true
[[node]]
id = "dbx"
command = ["{bindir}/faultline-db", "--host", "{host}", "--port", "{port}", "--id", "dbx"]
ready = { kind = "resp" }
faketime = true
[[node]]
id = "plain"
command = ["sh", "-c", "while :; do date +%s%3N > {dir}/now.tmp && mv {dir}/now.tmp {dir}/now; sleep 0.02; done"]
ready = { kind = "none" }
)";

int64_t real_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ClockFaults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!plan::find_libfaketime()) return;
    auto loaded = plan::load_plan_string(kPlan, "clock-faults.toml");
    std::string errors;
    for (const auto& d : loaded.errors) errors += d.str() + "\n";
    ASSERT_TRUE(loaded.plan) << errors;
    plan_ = new plan::Plan(std::move(*loaded.plan));
    dir_ = new dbtest::ScratchDir;
    supervisor::Options o;
    o.run_dir = dir_->path;
    o.bindir = FL_BIN_DIR;
    o.echo_logs = false;
    supervisor_ = new supervisor::Supervisor(o);
    auto started = supervisor_->start(plan_->instances());
    ASSERT_TRUE(started) << started.error().message;
    control_ = new chaos::NodeClockControl(*plan_, *supervisor_);
  }
  static void TearDownTestSuite() {
    delete control_;
    delete supervisor_;  // stops and reaps every node
    delete dir_;
    delete plan_;
  }
  void SetUp() override {
    if (!plan::find_libfaketime()) GTEST_SKIP() << "libfaketime is not installed";
    ASSERT_TRUE(control_) << "the cluster did not start (see the suite's set-up failure)";
  }

  static std::unique_ptr<RespClient> client(std::string_view id) {
    for (const supervisor::NodeStatus& s : supervisor_->status()) {
      if (s.id == id) return std::make_unique<RespClient>(s.host, s.port);
    }
    std::string ids;
    for (const supervisor::NodeStatus& s : supervisor_->status()) ids += " " + s.id;
    ADD_FAILURE() << "no node " << id << " among" << ids;
    return nullptr;
  }

  // CLOCK GET's offset, or a sentinel when the reply is not the expected array.
  static int64_t clock_offset(RespClient& c) {
    auto v = c.call({"CLOCK", "GET"});
    if (!v || v->type != resp::Type::array || v->elements.size() != 3) return INT64_MIN;
    return v->elements[0].integer;
  }

  // What `date +%s%3N` last wrote in node `id`'s data dir, or -1.
  static int64_t ticker_ms(std::string_view id) {
    std::ifstream in(dir_->path / "nodes" / std::string(id) / "data" / "now");
    int64_t ms = -1;
    in >> ms;
    return in ? ms : -1;
  }

  // The wall clock a program reports as CLOCK GET's third element (unix ms), or -1.
  static int64_t reported_ms(RespClient& c) {
    auto v = c.call({"CLOCK", "GET"});
    if (!v || v->type != resp::Type::array || v->elements.size() != 3) return -1;
    return v->elements[2].integer;
  }

  static plan::Plan* plan_;
  static dbtest::ScratchDir* dir_;
  static supervisor::Supervisor* supervisor_;
  static chaos::NodeClockControl* control_;
};

plan::Plan* ClockFaults::plan_ = nullptr;
dbtest::ScratchDir* ClockFaults::dir_ = nullptr;
supervisor::Supervisor* ClockFaults::supervisor_ = nullptr;
chaos::NodeClockControl* ClockFaults::control_ = nullptr;

TEST_F(ClockFaults, EveryReferenceNodeAnswersClockAndSurvivesBadArguments) {
  for (std::string_view id : {"db-s0-r0", "cache", "lb", "broker"}) {
    SCOPED_TRACE(std::string(id));
    auto c = client(id);
    ASSERT_TRUE(c);
    EXPECT_EQ(clock_offset(*c), 0);
    auto bad = c->call({"CLOCK", "SET", "soon", "1"});
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->type, resp::Type::error);
    bad = c->call({"CLOCK", "SET", "10", "0"});
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->type, resp::Type::error);
    EXPECT_EQ(c->call({"PING"}), Value::simple("PONG"));  // the same connection

    ASSERT_TRUE(control_->set(id, 90s, 2.0));
    auto got = c->call({"CLOCK", "GET"});
    ASSERT_TRUE(got && got->type == resp::Type::array && got->elements.size() == 3);
    EXPECT_EQ(got->elements[0].integer, 90'000);
    EXPECT_EQ(got->elements[1].str, "2");
    EXPECT_GE(got->elements[2].integer, real_unix_ms() + 89'000);
    ASSERT_TRUE(control_->reset(id));
    EXPECT_EQ(clock_offset(*c), 0);
  }
}

TEST_F(ClockFaults, AForwardClockExpiresACachedEntryBeforeItsTtl) {
  auto cache = client("cache");
  ASSERT_TRUE(cache);
  ASSERT_EQ(cache->call({"SET", "ttl-key", "v1"}), Value::simple("OK"));
  // Write-through: cached for 60 s of the cache's clock.
  ASSERT_EQ(cache->call({"CACHE.PEEK", "ttl-key"}), Value::bulk("v1"));
  ASSERT_TRUE(control_->set("cache", 61s, 1.0));
  EXPECT_EQ(clock_offset(*cache), 61'000);
  EXPECT_EQ(cache->call({"CACHE.PEEK", "ttl-key"}), Value::nil());
  // A read fills it again from the db, whose clock is not skewed.
  EXPECT_EQ(cache->call({"GET", "ttl-key"}), Value::bulk("v1"));
  EXPECT_EQ(cache->call({"CACHE.PEEK", "ttl-key"}), Value::bulk("v1"));
  ASSERT_TRUE(control_->reset("cache"));
}

TEST_F(ClockFaults, ADbMasterAheadExpiresKeysEarly) {
  auto db = client("db-s0-r0");
  ASSERT_TRUE(db);
  ASSERT_EQ(db->call({"SET", "exp-key", "v", "EX", "100"}), Value::simple("OK"));
  ASSERT_TRUE(control_->set("db-s0-r0", 50s, 1.0));
  auto ttl = db->call({"TTL", "exp-key"});
  ASSERT_TRUE(ttl && ttl->type == resp::Type::integer);
  EXPECT_LE(ttl->integer, 50);
  EXPECT_GT(ttl->integer, 0);
  ASSERT_TRUE(control_->set("db-s0-r0", 101s, 1.0));
  EXPECT_EQ(db->call({"GET", "exp-key"}), Value::nil());
  ASSERT_TRUE(control_->reset("db-s0-r0"));
}

TEST_F(ClockFaults, DateUnderLibfaketimeFollowsTheOffset) {
  ASSERT_TRUE(eventually([&] { return ticker_ms("ticker") > 0; }));
  ASSERT_TRUE(control_->set("ticker", 3600s, 1.0));
  EXPECT_TRUE(eventually([&] { return ticker_ms("ticker") >= real_unix_ms() + 3'599'000; }))
      << ticker_ms("ticker") - real_unix_ms();
  ASSERT_TRUE(control_->set("ticker", -7200s, 1.0));
  EXPECT_TRUE(eventually([&] {
    const int64_t t = ticker_ms("ticker");
    return t > 0 && t <= real_unix_ms() - 7'199'000;
  })) << ticker_ms("ticker") - real_unix_ms();
  ASSERT_TRUE(control_->reset("ticker"));
  EXPECT_TRUE(eventually([&] { return std::abs(ticker_ms("ticker") - real_unix_ms()) < 1000; }));
  std::ifstream rc(dir_->path / "nodes" / "ticker" / "faketime.rc");
  std::string setting;
  std::getline(rc, setting);
  EXPECT_EQ(setting, "+0 x1");
}

TEST_F(ClockFaults, ALongRunningProgramUnderLibfaketimeFollowsTheRate) {
  auto dbx = client("dbx");
  ASSERT_TRUE(dbx);
  EXPECT_EQ(clock_offset(*dbx), 0);  // its own skew stays 0: libfaketime moves its clock
  ASSERT_TRUE(control_->set("dbx", 0s, 20.0));
  // Without the rate folded into the offset, libfaketime would count it from the process start
  // and put the clock 19 x the process's age ahead at once.
  const int64_t gap_at_set = reported_ms(*dbx) - real_unix_ms();
  EXPECT_LT(gap_at_set, 3000);
  EXPECT_TRUE(eventually([&] { return reported_ms(*dbx) - real_unix_ms() >= 5'000; }))
      << reported_ms(*dbx) - real_unix_ms();
  ASSERT_TRUE(control_->set("dbx", 600s, 1.0));
  EXPECT_TRUE(eventually([&] {
    const int64_t gap = reported_ms(*dbx) - real_unix_ms();
    return gap >= 599'000 && gap < 601'000;
  })) << reported_ms(*dbx) - real_unix_ms();
  ASSERT_TRUE(control_->reset("dbx"));
  EXPECT_TRUE(eventually([&] { return std::abs(reported_ms(*dbx) - real_unix_ms()) < 1000; }));
}

TEST_F(ClockFaults, AnExternalNodeWithoutFaketimeIsRefused) {
  auto r = control_->set("plain", 1s, 1.0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::unsupported));
  EXPECT_NE(r.error().message.find("faketime = true"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace fl
