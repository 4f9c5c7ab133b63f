// A 3 shards x 1 replica cluster of the real faultline-db: every node routes keys of other
// shards with -MOVED to the right node, serves its own, refuses cross-shard multi-key commands
// and reports the shard map in CLUSTER SHARDS.
#include <gtest/gtest.h>

#include "common/hash_ring.h"
#include "tests/db/db_cluster.h"

namespace fl::dbtest {
namespace {

using resp::Type;
using resp::Value;

TEST(DbSharding, EveryNodeRedirectsKeysOfOtherShardsAndServesItsOwn) {
  DbCluster c(3, 1);
  ASSERT_TRUE(c.start()) << c.logs();
  std::vector<int> per_shard(3, 0);
  for (int k = 0; k < 60; ++k) {
    const std::string key = "key:" + std::to_string(k);
    const int shard = fl::shard_of(key, 3);
    ++per_shard[static_cast<size_t>(shard)];
    for (size_t i = 0; i < c.size(); ++i) {
      auto v = c.call(i, {"SET", key, "v" + std::to_string(k)});
      if (c.spec(i).shard == shard) {
        ASSERT_TRUE(v && v->type == Type::simple_string) << key << " on " << c.spec(i).id;
      } else {
        ASSERT_TRUE(is_error(v, "MOVED")) << key << " on " << c.spec(i).id;
        EXPECT_EQ(v->str, "MOVED " + std::to_string(shard) + " " + c.address(size_t(shard)) +
                              " " + c.spec(size_t(shard)).id);
      }
    }
    auto got = c.call_routed(0, {"GET", key});
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, Value::bulk("v" + std::to_string(k)));
  }
  // The ring spreads 60 keys over every shard.
  for (int n : per_shard) EXPECT_GT(n, 0);
  // Each node holds only its own shard's keys.
  int total = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    auto n = c.call(i, {"DBSIZE"});
    ASSERT_TRUE(n && n->type == Type::integer);
    EXPECT_EQ(n->integer, per_shard[i]);
    total += static_cast<int>(n->integer);
  }
  EXPECT_EQ(total, 60);
}

TEST(DbSharding, MultiKeyCommandsMustStayInOneShard) {
  DbCluster c(3, 1);
  ASSERT_TRUE(c.start()) << c.logs();
  // Two keys of different shards, and two of shard 0.
  std::string other, same_a, same_b;
  for (int k = 0; other.empty() || same_b.empty(); ++k) {
    const std::string key = "m" + std::to_string(k);
    const int s = fl::shard_of(key, 3);
    if (s == 0 && same_a.empty()) {
      same_a = key;
    } else if (s == 0 && same_b.empty()) {
      same_b = key;
    } else if (s != 0 && other.empty()) {
      other = key;
    }
  }
  EXPECT_TRUE(is_error(c.call(0, {"MSET", same_a, "1", other, "2"}), "CROSSSLOT"));
  EXPECT_TRUE(is_error(c.call(0, {"DEL", same_a, other}), "CROSSSLOT"));
  auto ok = c.call(0, {"MSET", same_a, "1", same_b, "2"});
  ASSERT_TRUE(ok && ok->type == Type::simple_string);
  auto both = c.call(0, {"MGET", same_a, same_b});
  ASSERT_TRUE(both);
  EXPECT_EQ(*both, Value::array({Value::bulk("1"), Value::bulk("2")}));
  // Keyless commands are answered by whichever node is asked.
  for (size_t i = 0; i < c.size(); ++i) {
    auto p = c.call(i, {"PING"});
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, Value::simple("PONG"));
  }
}

TEST(DbSharding, ClusterShardsListsEveryShardWithItsMaster) {
  DbCluster c(3, 1);
  ASSERT_TRUE(c.start()) << c.logs();
  // Every node has a connected link to each of the two others.
  for (size_t i = 0; i < c.size(); ++i) {
    ASSERT_TRUE(eventually([&] {
      auto v = c.call(i, {"INFO", "peers"});
      if (!v || v->type != Type::bulk_string) return false;
      size_t connected = 0;
      for (size_t at = 0; (at = v->str.find("connected=1", at)) != std::string::npos; ++at) {
        ++connected;
      }
      return connected == 2;
    })) << c.call(i, {"INFO", "peers"})->str;
  }
  for (size_t i = 0; i < c.size(); ++i) {
    // Other shards' roles arrive with the first status broadcasts.
    std::optional<Value> v;
    ASSERT_TRUE(eventually([&] {
      v = c.call(i, {"CLUSTER", "SHARDS"});
      if (!v || v->type != Type::array || v->elements.size() != 3) return false;
      for (const Value& s : v->elements) {
        if (s.elements.size() != 4 || s.elements[1].str.empty()) return false;
        if (s.elements[3].elements.size() != 1 || s.elements[3].elements[0].elements.size() != 5)
          return false;
        if (s.elements[3].elements[0].elements[2].str != "master") return false;
      }
      return true;
    })) << (v ? resp::encode(*v) : "no reply");
    for (size_t s = 0; s < 3; ++s) {
      const Value& shard = v->elements[s];
      EXPECT_EQ(shard.elements[0], Value::integer_value(int64_t(s)));
      EXPECT_EQ(shard.elements[1].str, c.address(s));
      const Value& node = shard.elements[3].elements[0];
      EXPECT_EQ(node.elements[0].str, c.spec(s).id);
      EXPECT_EQ(node.elements[1].str, c.address(s));
    }
  }
}

TEST(DbQuorum, ReadsAndWritesThroughAnyNode) {
  DbCluster c(1, 3,
              {"--replication", "quorum", "--quorum-n", "3", "--quorum-w", "2", "--quorum-r", "2"});
  ASSERT_TRUE(c.start()) << c.logs();
  for (int k = 0; k < 30; ++k) {
    const std::string key = "q" + std::to_string(k);
    auto w = c.call(size_t(k) % 3, {"SET", key, "v" + std::to_string(k)});
    ASSERT_TRUE(w && w->type == Type::simple_string) << (w ? w->str : "no reply") << c.logs();
    for (size_t i = 0; i < 3; ++i) {
      auto r = c.call(i, {"GET", key});
      ASSERT_TRUE(r);
      EXPECT_EQ(*r, Value::bulk("v" + std::to_string(k))) << "node " << i;
    }
  }
  auto d = c.call(1, {"DEL", "q0"});
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, Value::integer_value(1));
  auto gone = c.call(2, {"GET", "q0"});
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->type, Type::null);
  // With one node down, W=2 and R=2 still hold.
  c.process(2).kill();
  auto w = c.call(0, {"SET", "after", "kill"});
  ASSERT_TRUE(w && w->type == Type::simple_string) << (w ? w->str : "no reply");
  auto r = c.call(1, {"GET", "after"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, Value::bulk("kill"));
}

TEST(DbFlags, BadTopologyAndOptionsAreUsageErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--member", "x"}, "want ID,SHARD,HOST:PORT"},
      {{"--id", "b", "--member", "a,0,127.0.0.1:1"}, "not among the --member"},
      {{"--id", "a", "--member", "a,0,127.0.0.1:1", "--member", "b,2,127.0.0.1:2"},
       "numbered 0..S-1"},
      {{"--id", "a", "--shard", "1", "--member", "a,0,127.0.0.1:1"}, "--shard is 1"},
      {{"--bug", "nope"}, "unknown bug"},
      {{"--lease", "400ms"}, "shorter than --election-timeout"},
      {{"--replication", "quorum"}, "needs --member"},
      {{"--replication", "quorum", "--id", "a", "--member", "a,0,127.0.0.1:1", "--quorum-n", "3"},
       "N <= members"},
      {{"--fsync", "sometimes"}, "--fsync"},
      {{"--reads", "nobody"}, "--reads"},
  };
  for (const auto& [args, expect] : cases) {
    std::vector<std::string> full = {"--port", "0"};
    full.insert(full.end(), args.begin(), args.end());
    std::string err;
    EXPECT_EQ(run_db_to_exit(full, err), 3) << args[0];
    EXPECT_NE(err.find(expect), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace fl::dbtest
