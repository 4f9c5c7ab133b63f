// The load generator against real servers: redis-server and faultline-db as child processes,
// a fake server answering -MOVED, a closed port for failover, SIGSTOP for timeouts.
#include "harness/load/runner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/load/servers.h"

namespace fl::load {
namespace {

using namespace std::chrono_literals;
using history::Type;
using testing::ServerProcess;
using Clock = std::chrono::steady_clock;

// An in-memory history::Writer.
class MemoryWriter final : public history::Writer {
 public:
  int64_t append(const history::Op& op) override {
    std::lock_guard lock(mu_);
    ops_.push_back(op);
    ops_.back().index = static_cast<int64_t>(ops_.size()) - 1;
    return ops_.back().index;
  }
  void flush() override {}
  void close() override {}
  int64_t count() const override {
    std::lock_guard lock(mu_);
    return static_cast<int64_t>(ops_.size());
  }
  std::vector<history::Op> ops() const {
    std::lock_guard lock(mu_);
    return ops_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<history::Op> ops_;
};

plan::WorkloadSpec spec_of(std::string kind) {
  plan::WorkloadSpec s;
  s.kind = std::move(kind);
  s.keys = 10;
  s.rate = 2000;
  s.concurrency = 4;
  return s;
}

Endpoint at(uint16_t port, std::string id = "server") { return {std::move(id), "127.0.0.1", port}; }

// Checks the history's shape: times never go back, each process alternates invoke and
// completion with the same f and key, and a process never invokes after an `info`.
// Returns the number of completed operations per type.
std::map<Type, int64_t> check_well_formed(const std::vector<history::Op>& ops) {
  std::map<int64_t, const history::Op*> open;  // process -> its pending invoke
  std::set<int64_t> retired;
  std::map<Type, int64_t> done;
  int64_t last_time = 0;
  for (const auto& op : ops) {
    EXPECT_GE(op.time, last_time) << op.index;
    last_time = op.time;
    EXPECT_FALSE(retired.count(op.process)) << "process " << op.process << " invoked after info";
    if (op.type == Type::invoke) {
      EXPECT_FALSE(open.count(op.process)) << "process " << op.process << " has two invokes";
      open[op.process] = &op;
      continue;
    }
    auto it = open.find(op.process);
    EXPECT_NE(it, open.end()) << "completion without invoke at " << op.index;
    if (it == open.end()) continue;
    EXPECT_EQ(it->second->f, op.f);
    EXPECT_EQ(it->second->key, op.key);
    open.erase(it);
    ++done[op.type];
    if (op.type == Type::info) retired.insert(op.process);
  }
  EXPECT_TRUE(open.empty()) << open.size() << " operations never completed";
  return done;
}

TEST(LoadRunner, RegisterOnFaultlineDbRecordsAWellFormedHistory) {
  auto db = ServerProcess::faultline_db();
  MemoryWriter history;
  auto spec = spec_of("register");
  spec.warmup = 100ms;
  ASSERT_TRUE(validate(spec));
  Runner runner(spec, {at(db->port(), "db")}, history, 7, Clock::now());
  bool hook_ran = false;
  auto summary = runner.run(500ms, [&] { hook_ran = true; });
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_TRUE(hook_ran);
  auto ops = history.ops();
  auto done = check_well_formed(ops);
  EXPECT_EQ(done[Type::ok] + done[Type::fail] + done[Type::info],
            summary->main.ok + summary->main.fail + summary->main.info + summary->final_reads.ok +
                summary->final_reads.fail + summary->final_reads.info);
  EXPECT_GT(summary->main.ok, 100);
  EXPECT_EQ(summary->main.info, 0);
  EXPECT_EQ(summary->final_reads.ok, 10);  // every key read once
  // Write values are unique; every read returns null or a value some write or cas wrote.
  std::set<int64_t> written;
  int64_t cas_ok = 0, cas_fail = 0;
  for (const auto& op : ops) {
    EXPECT_TRUE(op.key && op.key->starts_with("k")) << "warm-up keys stay out of the history";
    if (op.type != Type::invoke) {
      if (op.f == "cas") (op.type == Type::ok ? cas_ok : cas_fail)++;
      continue;
    }
    if (op.f == "write") {
      EXPECT_TRUE(written.insert(op.value.integer).second);
    }
    if (op.f == "cas") {
      EXPECT_TRUE(written.insert(op.value.list.at(1).integer).second);
    }
  }
  for (const auto& op : ops) {
    if (op.f == "read" && op.type == Type::ok && !op.value.is_null()) {
      EXPECT_TRUE(written.count(op.value.integer)) << op.value.integer;
    }
  }
  EXPECT_GT(cas_ok, 0);
  EXPECT_GT(cas_fail, 0);
  EXPECT_GT(summary->main.p99.count(), 0);
  EXPECT_GE(summary->main.max, summary->main.p99);
}

TEST(LoadRunner, ClosedLoopKvMixOnRedis) {
  auto redis = ServerProcess::redis();
  MemoryWriter history;
  auto spec = spec_of("kv-mix");
  spec.mode = plan::LoadMode::closed;
  spec.concurrency = 8;
  spec.connections = 2;
  spec.pipeline = 4;
  spec.value_size = 64;
  Runner runner(spec, {at(redis->port(), "redis")}, history, 1, Clock::now());
  auto summary = runner.run(300ms);
  ASSERT_TRUE(summary) << summary.error().message;
  auto done = check_well_formed(history.ops());
  EXPECT_GT(summary->main.ok, 100);
  EXPECT_EQ(summary->main.fail + summary->main.info, 0);
  EXPECT_EQ(done[Type::ok], summary->main.ok);
  EXPECT_EQ(summary->final_reads.started, 0);  // kv-mix has no final reads
  EXPECT_EQ(summary->connections, 2);
  EXPECT_EQ(summary->connects, 2);
}

TEST(LoadRunner, SetAndCounterOnRedis) {
  auto redis = ServerProcess::redis();
  for (std::string kind : {"set", "counter"}) {
    MemoryWriter history;
    Runner runner(spec_of(kind), {at(redis->port())}, history, 3, Clock::now());
    auto summary = runner.run(200ms);
    ASSERT_TRUE(summary) << summary.error().message;
    check_well_formed(history.ops());
    EXPECT_EQ(summary->main.fail + summary->main.info, 0) << kind;
    EXPECT_EQ(summary->final_reads.ok, 10) << kind;
  }
}

TEST(LoadRunner, QueueOnRedisDeliversEachEnqueuedValueOnceAndDrains) {
  auto redis = ServerProcess::redis();
  MemoryWriter history;
  auto spec = spec_of("queue");
  spec.keys = 2;
  Runner runner(spec, {at(redis->port())}, history, 5, Clock::now());
  auto summary = runner.run(300ms);
  ASSERT_TRUE(summary) << summary.error().message;
  check_well_formed(history.ops());
  std::set<int64_t> enqueued, dequeued;
  for (const auto& op : history.ops()) {
    if (op.type != Type::ok) continue;
    if (op.f == "enqueue") enqueued.insert(op.value.integer);
    if (op.f == "dequeue" && !op.value.is_null()) {  // null: found the queue empty
      EXPECT_TRUE(dequeued.insert(op.value.integer).second) << "duplicate";
    }
  }
  EXPECT_GT(enqueued.size(), 50u);
  EXPECT_EQ(enqueued, dequeued);  // the final phase drained every queue
}

// Two runners side by side on one server, as `faultline run` drives two workloads: interleaved
// process ids, prefixed keys, one well-formed history.
TEST(LoadRunner, RunnersSideBySideKeepTheirProcessesAndKeysApart) {
  auto db = ServerProcess::faultline_db();
  MemoryWriter history;
  auto reg = spec_of("register");
  reg.key_prefix = "reg:";
  auto set = spec_of("set");
  set.key_prefix = "sets:";
  const auto start = Clock::now();
  Runner a(reg, {at(db->port(), "db")}, history, 1, start, {1, 0, 2});
  Runner b(set, {at(db->port(), "db")}, history, 2, start, {1, 1, 2});
  result<Summary> sa = Error(errc::internal, "not run"), sb = sa;
  std::thread other([&] { sb = b.run(300ms); });
  sa = a.run(300ms);
  other.join();
  ASSERT_TRUE(sa) << sa.error().message;
  ASSERT_TRUE(sb) << sb.error().message;
  // Each runner's part is well-formed (between runners `time` may differ slightly from file
  // order: docs/history-format.md).
  auto ops = history.ops();
  for (int64_t parity : {0, 1}) {
    std::vector<history::Op> part;
    for (const auto& op : ops) {
      if (op.process % 2 == parity) part.push_back(op);
    }
    check_well_formed(part);
  }
  int64_t even = 0, odd = 0;
  for (const auto& op : ops) {
    ASSERT_TRUE(op.key);
    if (op.process % 2 == 0) {
      EXPECT_TRUE(op.key->starts_with("reg:k")) << *op.key;
      ++even;
    } else {
      EXPECT_TRUE(op.key->starts_with("sets:s")) << *op.key;
      ++odd;
    }
  }
  EXPECT_GT(even, 100);
  EXPECT_GT(odd, 100);
}

TEST(LoadRunner, FollowsMovedRedirects) {
  auto redis = ServerProcess::redis();
  testing::FixedReplyServer mover("-MOVED 1234 127.0.0.1:" + std::to_string(redis->port()) +
                                  "\r\n");
  MemoryWriter history;
  auto spec = spec_of("register");
  spec.mix = {{"read", 1}, {"write", 1}};  // redis-server 7.0 has no IFEQ
  Runner runner(spec, {at(mover.port(), "mover")}, history, 9, Clock::now());
  auto summary = runner.run(200ms);
  ASSERT_TRUE(summary) << summary.error().message;
  check_well_formed(history.ops());
  EXPECT_GT(summary->main.ok, 50);
  EXPECT_EQ(summary->main.fail + summary->main.info, 0);
  // The route is remembered: only the calls in flight before the first redirect came back are
  // redirected (at most one per connection); every later one goes straight to redis.
  EXPECT_GE(summary->redirects, 1);
  EXPECT_LE(summary->redirects, spec.concurrency);
  EXPECT_EQ(mover.commands(), summary->redirects);
  EXPECT_NE(testing::raw_command(redis->port(), {"DBSIZE"}), ":0\r\n");
}

TEST(LoadRunner, EndlessRedirectsEndInFail) {
  testing::FixedReplyServer loop("-MOVED 1 127.0.0.1:{port}\r\n");  // redirects to itself
  MemoryWriter history;
  auto spec = spec_of("kv-mix");
  spec.mode = plan::LoadMode::closed;
  spec.concurrency = 1;
  spec.mix = {{"get", 1}};
  Runner runner(spec, {at(loop.port())}, history, 9, Clock::now());
  auto summary = runner.run(100ms);
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_GT(summary->main.fail, 0);
  EXPECT_EQ(summary->main.ok, 0);
  EXPECT_EQ(summary->redirects, 5 * summary->main.fail);  // each call gave up after 5 hops
  for (const auto& op : history.ops()) {
    if (op.type == Type::fail) {
      EXPECT_TRUE(op.error.starts_with("MOVED 1 ")) << op.error;
    }
  }
}

TEST(LoadRunner, FailsOverToTheNextEndpoint) {
  auto redis = ServerProcess::redis();
  uint16_t down = testing::closed_port();
  MemoryWriter history;
  auto spec = spec_of("register");
  spec.mix = {{"read", 1}, {"write", 1}};
  Runner runner(spec, {at(down, "lb-0"), at(redis->port(), "lb-1")}, history, 11, Clock::now());
  auto summary = runner.run(200ms);
  ASSERT_TRUE(summary) << summary.error().message;
  check_well_formed(history.ops());
  EXPECT_EQ(summary->main.fail + summary->main.info, 0);
  EXPECT_GT(summary->main.ok, 50);
  EXPECT_GE(summary->failovers, 1);
}

TEST(LoadRunner, NoEndpointUpMeansFailedOperationsNotAHarnessError) {
  MemoryWriter history;
  auto spec = spec_of("kv-mix");  // no setup commands
  spec.mode = plan::LoadMode::closed;
  spec.concurrency = 2;
  Runner runner(spec, {at(testing::closed_port(), "a"), at(testing::closed_port(), "b")}, history,
                1, Clock::now());
  auto summary = runner.run(100ms);
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_GT(summary->main.fail, 0);
  EXPECT_EQ(summary->main.ok + summary->main.info, 0);
}

TEST(LoadRunner, SetupFailureIsAHarnessError) {
  MemoryWriter history;
  auto spec = spec_of("register");  // setup deletes its keys: needs a server
  spec.timeout = 200ms;
  Runner runner(spec, {at(testing::closed_port())}, history, 1, Clock::now());
  auto summary = runner.run(100ms);
  ASSERT_FALSE(summary);
  EXPECT_NE(summary.error().message.find("workload setup"), std::string::npos);
}

// Waits for pred with a generous deadline.
bool eventually(const std::function<bool()>& pred, std::chrono::seconds limit = 20s) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

TEST(LoadRunner, TimeoutsMakeWritesInfoAndReadsFailAndRetireProcesses) {
  auto redis = ServerProcess::redis();
  MemoryWriter history;
  auto spec = spec_of("kv-mix");
  spec.mix = {{"get", 1}, {"set", 1}};
  spec.rate = 500;
  spec.concurrency = 8;
  spec.timeout = 200ms;
  Runner runner(spec, {at(redis->port())}, history, 13, Clock::now());
  result<Summary> summary = Error(errc::internal, "not run");
  std::thread t([&] { summary = runner.run(std::chrono::hours(1)); });
  // Pause the server once load flows; resume once timeouts were recorded; then stop.
  EXPECT_TRUE(eventually([&] { return runner.progress().ok > 20; }));
  redis->pause();
  EXPECT_TRUE(eventually([&] { return runner.progress().info > 0 && runner.progress().fail > 0; }));
  redis->resume();
  int64_t ok_before = runner.progress().ok;
  EXPECT_TRUE(eventually([&] { return runner.progress().ok > ok_before + 20; }));
  runner.stop();
  t.join();
  ASSERT_TRUE(summary) << summary.error().message;
  auto ops = history.ops();
  check_well_formed(ops);  // includes: no process invokes after its info
  int64_t info_sets = 0, failed_gets = 0;
  for (const auto& op : ops) {
    if (op.type == Type::info) {
      EXPECT_EQ(op.f, "set");
      ++info_sets;
    }
    if (op.type == Type::fail && op.f == "get") ++failed_gets;
  }
  EXPECT_GT(info_sets, 0);
  EXPECT_GT(failed_gets, 0);
  EXPECT_GT(summary->processes, spec.concurrency);  // retired processes got new ids
  EXPECT_GE(summary->main.max, 200ms);
  EXPECT_GT(summary->connects, 1);  // reconnected after the timeout closed the connection
}

TEST(LoadRunner, StopEndsTheMainPhaseEarly) {
  auto redis = ServerProcess::redis();
  MemoryWriter history;
  auto spec = spec_of("counter");
  spec.mode = plan::LoadMode::closed;
  Runner runner(spec, {at(redis->port())}, history, 2, Clock::now());
  std::thread stopper([&] {
    eventually([&] { return runner.progress().ok > 10; });
    runner.stop();
  });
  auto summary = runner.run(std::chrono::hours(1));
  stopper.join();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->final_reads.ok, 10);
}

}  // namespace
}  // namespace fl::load
