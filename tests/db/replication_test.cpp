// One shard of three replicas (sync mode) of the real faultline-db: a master is elected, writes
// are acknowledged, a SIGKILLed master is replaced within seconds with every acknowledged write
// readable from its successor, and the killed node rejoins as a slave and catches up. Also:
// after SIGKILL with --fsync always a restarted node has every write it acknowledged.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "common/hash_ring.h"
#include "tests/db/db_cluster.h"

namespace fl::dbtest {
namespace {

using resp::Type;
using resp::Value;

bool is_ok(const std::optional<Value>& v) {
  return v && v->type == Type::simple_string && v->str == "OK";
}

// SET through `c`, starting at a random live node and following MOVED; retried on
// -TRYAGAIN/-CLUSTERDOWN/no answer until `timeout`. True once acknowledged.
bool write_acked(DbCluster& c, const std::string& key, const std::string& value,
                 std::chrono::milliseconds timeout = kDeadline) {
  size_t start = 0;
  return eventually(
      [&] {
        for (size_t n = 0; n < c.size(); ++n) {
          start = (start + 1) % c.size();
          if (c.process(start).running()) break;
        }
        return is_ok(c.call_routed(start, {"SET", key, value}));
      },
      timeout);
}

// The slave's applied offset (ROLE's fifth element), or -1.
int64_t slave_offset(DbCluster& c, size_t i) {
  auto v = c.call(i, {"ROLE"});
  if (!v || v->type != Type::array || v->elements.size() != 6 || v->elements[0].str != "slave")
    return -1;
  return v->elements[4].integer;
}

// The master's log offset (ROLE's second element), or -1.
int64_t master_offset(DbCluster& c, size_t i) {
  auto v = c.call(i, {"ROLE"});
  if (!v || v->type != Type::array || v->elements.size() != 4 || v->elements[0].str != "master")
    return -1;
  return v->elements[1].integer;
}

TEST(DbReplication, SyncShardFailsOverWithoutLosingAcknowledgedWrites) {
  DbCluster c(1, 3, {"--replication", "sync", "--fsync", "everysec"});
  ASSERT_TRUE(c.start()) << c.logs();
  std::optional<size_t> master;
  ASSERT_TRUE(eventually([&] { return (master = c.master_of(0)).has_value(); })) << c.logs();

  std::vector<std::pair<std::string, std::string>> acked;
  int next = 0;
  const auto write_some = [&](int n) {
    for (int i = 0; i < n; ++i, ++next) {
      const std::string key = "k" + std::to_string(next), value = "v" + std::to_string(next);
      ASSERT_TRUE(write_acked(c, key, value)) << key << "\n" << c.logs();
      acked.emplace_back(key, value);
    }
  };
  write_some(100);

  std::vector<double> failover_ms;
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(eventually([&] { return (master = c.master_of(0)).has_value(); })) << c.logs();
    const size_t old = *master;
    c.process(old).kill(SIGKILL);
    const auto killed = SteadyClock::now();
    // The first acknowledged write after the kill, anywhere in the shard.
    ASSERT_TRUE(write_acked(c, "after-kill-" + std::to_string(round), "x")) << c.logs();
    failover_ms.push_back(
        std::chrono::duration<double, std::milli>(SteadyClock::now() - killed).count());
    acked.emplace_back("after-kill-" + std::to_string(round), "x");
    std::optional<size_t> successor = c.master_of(0);
    ASSERT_TRUE(successor && *successor != old) << c.logs();

    // Every acknowledged write is readable from the new master.
    for (const auto& [k, v] : acked) {
      auto got = c.call(*successor, {"GET", k});
      ASSERT_TRUE(got) << k;
      ASSERT_EQ(*got, Value::bulk(v)) << k << " lost after failover\n" << c.logs();
    }
    write_some(50);

    // The old master rejoins as a slave and catches up with the master's log.
    ASSERT_TRUE(c.restart(old)) << c.logs();
    ASSERT_TRUE(eventually([&] {
      const int64_t m = master_offset(c, *successor);
      return m > 0 && slave_offset(c, old) >= m;
    })) << c.logs();
    // Asked a write, it redirects to the master (asked again each time: on a loaded machine a
    // new election may have moved it meanwhile).
    std::string last;
    EXPECT_TRUE(eventually([&] {
      auto moved = c.call(old, {"SET", "to-slave", "x"});
      auto now_master = c.master_of(0);
      last = moved ? moved->str : "no reply";
      return now_master && is_error(moved, "MOVED") &&
             moved->str == "MOVED 0 " + c.address(*now_master) + " " + c.spec(*now_master).id;
    })) << last << c.logs();
  }
  std::string list;
  for (double ms : failover_ms) list += std::to_string(static_cast<int>(ms)) + "ms ";
  std::printf("failover (SIGKILL of the master -> first acknowledged write): %s\n", list.c_str());
  RecordProperty("failover_ms", list);
}

TEST(DbReplication, OtherShardsRedirectToTheNewMasterAfterAFailover) {
  DbCluster c(2, 3, {"--replication", "sync"});
  ASSERT_TRUE(c.start()) << c.logs();
  std::optional<size_t> m0, m1;
  ASSERT_TRUE(eventually([&] {
    m0 = c.master_of(0);
    m1 = c.master_of(1);
    return m0 && m1;
  })) << c.logs();
  // A key of shard 1, asked of every node of shard 0: MOVED to shard 1's master.
  std::string key;
  for (int k = 0; key.empty(); ++k) {
    if (fl::shard_of("r" + std::to_string(k), 2) == 1) key = "r" + std::to_string(k);
  }
  const auto moved_to = [&](size_t asked) -> std::string {
    auto v = c.call(asked, {"SET", key, "x"});
    return is_error(v, "MOVED") ? v->str : "";
  };
  ASSERT_TRUE(eventually([&] {
    for (size_t i = 0; i < 3; ++i) {
      if (moved_to(i) != "MOVED 1 " + c.address(*m1) + " " + c.spec(*m1).id) return false;
    }
    return true;
  })) << moved_to(0)
      << " vs " << c.address(*m1);

  c.process(*m1).kill(SIGKILL);
  std::optional<size_t> next;
  ASSERT_TRUE(eventually([&] {
    next = c.master_of(1);
    return next.has_value();
  })) << c.logs();
  ASSERT_NE(*next, *m1);
  // Shard 0's nodes learn the new master from the status broadcasts.
  ASSERT_TRUE(eventually([&] {
    for (size_t i = 0; i < 3; ++i) {
      if (moved_to(i) != "MOVED 1 " + c.address(*next) + " " + c.spec(*next).id) {
        return false;
      }
    }
    return true;
  })) << moved_to(0)
      << " vs " << c.address(*next);
  ASSERT_TRUE(is_ok(c.call_routed(0, {"SET", key, "y"})));
  auto got = c.call_routed(1, {"GET", key});
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, Value::bulk("y"));
  // CLUSTER SHARDS on a shard-0 node names the new master and its term.
  auto shards = c.call(0, {"CLUSTER", "SHARDS"});
  ASSERT_TRUE(shards && shards->elements.size() == 2);
  EXPECT_EQ(shards->elements[1].elements[1].str, c.address(*next));
  EXPECT_GT(shards->elements[1].elements[2].integer, 0);
}

TEST(DbReplication, EachShardOfThreeFailsOverWhenItsMasterIsKilled) {
  DbCluster c(3, 3, {"--replication", "sync"});
  ASSERT_TRUE(c.start()) << c.logs();
  // A key per shard.
  std::vector<std::string> keys(3);
  for (int k = 0; keys[0].empty() || keys[1].empty() || keys[2].empty(); ++k) {
    const std::string key = "f" + std::to_string(k);
    auto& slot = keys[static_cast<size_t>(fl::shard_of(key, 3))];
    if (slot.empty()) slot = key;
  }
  std::string list;
  for (int shard = 0; shard < 3; ++shard) {
    std::optional<size_t> m;
    ASSERT_TRUE(eventually([&] { return (m = c.master_of(shard)).has_value(); })) << c.logs();
    ASSERT_TRUE(write_acked(c, keys[size_t(shard)], "before"));
    c.process(*m).kill(SIGKILL);
    const auto killed = SteadyClock::now();
    ASSERT_TRUE(write_acked(c, keys[size_t(shard)], "after")) << c.logs();
    list += std::to_string(static_cast<int>(
                std::chrono::duration<double, std::milli>(SteadyClock::now() - killed).count())) +
            "ms ";
    // Every live node routes a read to the new master (other shards learn it from its status).
    for (size_t i = 0; i < c.size(); ++i) {
      if (!c.process(i).running()) continue;
      std::optional<Value> got;
      ASSERT_TRUE(eventually([&] {
        got = c.call_routed(i, {"GET", keys[size_t(shard)]});
        return got && *got == Value::bulk("after");
      })) << "asked "
          << c.spec(i).id << ": " << (got ? resp::encode(*got) : "no reply");
    }
  }
  std::printf("3x3 failover (SIGKILL of the master -> first acknowledged write): %s\n",
              list.c_str());
  RecordProperty("failover_ms", list);
}

TEST(DbReplication, PausedMasterIsReplacedAndStepsDownWhenResumed) {
  DbCluster c(1, 3, {"--replication", "sync"});
  ASSERT_TRUE(c.start()) << c.logs();
  std::optional<size_t> master;
  ASSERT_TRUE(eventually([&] { return (master = c.master_of(0)).has_value(); })) << c.logs();
  ASSERT_TRUE(write_acked(c, "before", "pause"));
  const size_t old = *master;
  c.process(old).signal(SIGSTOP);
  // A write through the other nodes succeeds once they elected a new master.
  const size_t other = (old + 1) % 3;
  ASSERT_TRUE(eventually([&] {
    return is_ok(c.call_routed(other, {"SET", "during", "pause"}));
  })) << c.logs();
  c.process(old).signal(SIGCONT);
  // The old master learns the higher term, steps down and redirects writes.
  ASSERT_TRUE(eventually([&] {
    auto v = c.call(old, {"SET", "after", "resume"});
    return is_error(v, "MOVED");
  })) << c.logs();
  EXPECT_EQ(c.role(old), "slave");
  for (const char* k : {"before", "during"}) {
    auto got = c.call_routed(old, {"GET", k});
    ASSERT_TRUE(got) << k;
    EXPECT_EQ(got->type, Type::bulk_string) << k;
  }
}

TEST(DbReplication, AsyncShardElectsAMasterAndServesWrites) {
  DbCluster c(1, 3, {"--replication", "async"});
  ASSERT_TRUE(c.start()) << c.logs();
  ASSERT_TRUE(eventually([&] { return c.master_of(0).has_value(); })) << c.logs();
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(write_acked(c, "a" + std::to_string(i), "v")) << c.logs();
  }
  const size_t m = *c.master_of(0);
  // The slaves catch up with the master's log.
  ASSERT_TRUE(eventually([&] {
    const int64_t off = master_offset(c, m);
    for (size_t i = 0; i < 3; ++i) {
      if (i != m && slave_offset(c, i) < off) return false;
    }
    return off > 0;
  })) << c.logs();
}

TEST(DbDurability, FsyncAlwaysKeepsEveryAcknowledgedWriteThroughSigkill) {
  for (bool clustered : {false, true}) {
    SCOPED_TRACE(clustered ? "1 shard x 1 replica" : "standalone");
    DbCluster c(1, 1, {"--fsync", "always"});
    if (!clustered) c.standalone();
    ASSERT_TRUE(c.start()) << c.logs();
    ASSERT_TRUE(eventually([&] { return c.master_of(0).has_value(); })) << c.logs();
    std::vector<std::string> acked;
    for (int i = 0; i < 300; ++i) {
      const std::string key = "d" + std::to_string(i);
      auto v = c.call(0, {"SET", key, "value-" + std::to_string(i)});
      if (is_ok(v)) acked.push_back(key);
      auto n = c.call(0, {"INCR", "counter"});
      ASSERT_TRUE(n && n->type == Type::integer);
    }
    ASSERT_EQ(acked.size(), 300u) << c.logs();
    c.process(0).kill(SIGKILL);
    ASSERT_TRUE(c.restart(0)) << c.logs();
    ASSERT_TRUE(eventually([&] { return c.master_of(0).has_value(); })) << c.logs();
    for (const std::string& key : acked) {
      auto got = c.call(0, {"GET", key});
      ASSERT_TRUE(got);
      ASSERT_EQ(*got, Value::bulk("value-" + key.substr(1))) << key << "\n" << c.logs();
    }
    auto counter = c.call(0, {"GET", "counter"});
    ASSERT_TRUE(counter);
    EXPECT_EQ(*counter, Value::bulk("300"));
  }
}

}  // namespace
}  // namespace fl::dbtest
