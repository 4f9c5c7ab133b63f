#include "nodes/db/commands.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "common/resp/resp.h"

namespace fl::db {
namespace {

using nodes::AfterReply;

constexpr const char* kNil = "$-1\r\n";
constexpr const char* kOk = "+OK\r\n";
constexpr const char* kWrongType =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
constexpr const char* kNotInt = "-ERR value is not an integer or out of range\r\n";
constexpr const char* kSyntax = "-ERR syntax error\r\n";

std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string integer(int64_t i) { return ":" + std::to_string(i) + "\r\n"; }

class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest() {
    DbOptions o;
    o.id = "db-test";
    o.scan_count_cap = 50;
    o.config = {{"save", ""}, {"appendonly", "no"}, {"port", "7000"}};
    commands_ = std::make_unique<DbCommands>(store_, stats_, o);
    commands_->register_all(table_);
    session_.id = 7;
  }

  std::string run(std::vector<std::string_view> argv) {
    std::string out;
    resp::Writer w(out);
    table_.dispatch(argv, w, session_);
    return out;
  }

  // Decodes a reply; for scan replies and arrays of unknown order.
  resp::Value decode(const std::string& raw) {
    resp::Parser p;
    p.feed(raw);
    resp::Value v;
    EXPECT_EQ(p.next(v), resp::Status::ok) << raw;
    return v;
  }

  std::set<std::string> members_of(const resp::Value& arr) {
    std::set<std::string> out;
    for (const auto& e : arr.elements) out.insert(e.str);
    return out;
  }

  ManualClock clock_;
  Store store_{clock_};
  nodes::ServerStats stats_;
  nodes::CommandTable table_;
  nodes::Session session_;
  std::unique_ptr<DbCommands> commands_;
};

TEST_F(CommandsTest, PingAndEcho) {
  EXPECT_EQ(run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(run({"ping", "hi"}), bulk("hi"));
  EXPECT_EQ(run({"ping", "a", "b"}), "-ERR wrong number of arguments for 'ping' command\r\n");
  EXPECT_EQ(run({"ECHO", "x y"}), bulk("x y"));
}

TEST_F(CommandsTest, UnknownAndArityErrors) {
  EXPECT_EQ(run({"FOO"}), "-ERR unknown command 'FOO', with args beginning with: \r\n");
  EXPECT_EQ(run({"get"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(run({"GET", "a", "b"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(run({"set", "a"}), "-ERR wrong number of arguments for 'set' command\r\n");
  EXPECT_EQ(run({"incrby", "a"}), "-ERR wrong number of arguments for 'incrby' command\r\n");
}

TEST_F(CommandsTest, GetSet) {
  EXPECT_EQ(run({"GET", "k"}), kNil);
  EXPECT_EQ(run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(run({"GET", "k"}), bulk("v"));
  EXPECT_EQ(run({"set", "k", "w"}), kOk);
  EXPECT_EQ(run({"get", "k"}), bulk("w"));
  EXPECT_EQ(run({"SET", "e", ""}), kOk);
  EXPECT_EQ(run({"GET", "e"}), bulk(""));
  EXPECT_EQ(commands_->keyspace_stats().hits, 3u);
  EXPECT_EQ(commands_->keyspace_stats().misses, 1u);
}

TEST_F(CommandsTest, SetNxXx) {
  EXPECT_EQ(run({"SET", "k", "1", "XX"}), kNil);
  EXPECT_EQ(run({"GET", "k"}), kNil);
  EXPECT_EQ(run({"SET", "k", "1", "NX"}), kOk);
  EXPECT_EQ(run({"SET", "k", "2", "nx"}), kNil);
  EXPECT_EQ(run({"GET", "k"}), bulk("1"));
  EXPECT_EQ(run({"SET", "k", "3", "xx"}), kOk);
  EXPECT_EQ(run({"GET", "k"}), bulk("3"));
  EXPECT_EQ(run({"SET", "k", "4", "NX", "XX"}), kSyntax);
  EXPECT_EQ(run({"SET", "k", "4", "BOGUS"}), kSyntax);
}

TEST_F(CommandsTest, SetExPxExpireWithClock) {
  EXPECT_EQ(run({"SET", "a", "1", "EX", "10"}), kOk);
  EXPECT_EQ(run({"SET", "b", "1", "PX", "1500"}), kOk);
  EXPECT_EQ(run({"TTL", "a"}), integer(10));
  EXPECT_EQ(run({"PTTL", "b"}), integer(1500));
  clock_.advance(1499);
  EXPECT_EQ(run({"GET", "b"}), bulk("1"));
  clock_.advance(1);
  EXPECT_EQ(run({"GET", "b"}), kNil);
  clock_.advance(8499);
  EXPECT_EQ(run({"GET", "a"}), bulk("1"));
  clock_.advance(1);
  EXPECT_EQ(run({"GET", "a"}), kNil);
  EXPECT_EQ(run({"TTL", "a"}), integer(-2));
}

TEST_F(CommandsTest, SetWithoutTtlClearsTtlButKeepTtlKeepsIt) {
  run({"SET", "a", "1", "EX", "10"});
  EXPECT_EQ(run({"SET", "a", "2"}), kOk);
  EXPECT_EQ(run({"TTL", "a"}), integer(-1));
  run({"SET", "a", "1", "EX", "10"});
  EXPECT_EQ(run({"SET", "a", "3", "KEEPTTL"}), kOk);
  EXPECT_EQ(run({"TTL", "a"}), integer(10));
}

TEST_F(CommandsTest, SetExpiryErrors) {
  EXPECT_EQ(run({"SET", "a", "1", "EX", "0"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run({"SET", "a", "1", "PX", "-5"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run({"SET", "a", "1", "EX", "abc"}), kNotInt);
  EXPECT_EQ(run({"SET", "a", "1", "EX", "9223372036854775807"}),
            "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run({"SET", "a", "1", "EX", "10", "PX", "10"}), kSyntax);
  EXPECT_EQ(run({"SET", "a", "1", "EX"}), kSyntax);
  EXPECT_EQ(run({"GET", "a"}), kNil);
}

TEST_F(CommandsTest, SetExAtAndPxAt) {
  const auto now = clock_.now_ms();
  EXPECT_EQ(run({"SET", "a", "1", "PXAT", std::to_string(now + 100)}), kOk);
  EXPECT_EQ(run({"PTTL", "a"}), integer(100));
  EXPECT_EQ(run({"SET", "b", "1", "EXAT", std::to_string(now / 1000 + 5)}), kOk);
  clock_.advance(100);
  EXPECT_EQ(run({"GET", "a"}), kNil);
  EXPECT_EQ(run({"GET", "b"}), bulk("1"));
}

TEST_F(CommandsTest, SetIfEqIsCompareAndSet) {
  EXPECT_EQ(run({"SET", "k", "new", "IFEQ", "old"}), kNil);  // missing key: condition fails
  EXPECT_EQ(run({"GET", "k"}), kNil);
  run({"SET", "k", "old"});
  EXPECT_EQ(run({"SET", "k", "new", "IFEQ", "other"}), kNil);
  EXPECT_EQ(run({"GET", "k"}), bulk("old"));
  EXPECT_EQ(run({"SET", "k", "new", "ifeq", "old"}), kOk);
  EXPECT_EQ(run({"GET", "k"}), bulk("new"));
  EXPECT_EQ(run({"SET", "k", "x", "IFEQ", "new", "NX"}), kSyntax);
  EXPECT_EQ(run({"SET", "k", "x", "XX", "IFEQ", "new"}), kSyntax);
  EXPECT_EQ(run({"SET", "k", "x", "IFEQ"}), kSyntax);
  // With expiry and GET.
  EXPECT_EQ(run({"SET", "k", "y", "IFEQ", "new", "PX", "10", "GET"}), bulk("new"));
  EXPECT_EQ(run({"GET", "k"}), bulk("y"));
  EXPECT_EQ(run({"SET", "k", "z", "IFEQ", "nope", "GET"}), bulk("y"));
  EXPECT_EQ(run({"GET", "k"}), bulk("y"));
  clock_.advance(10);
  EXPECT_EQ(run({"SET", "k", "z", "IFEQ", "y"}), kNil);  // expired: absent
  run({"SADD", "s", "a"});
  EXPECT_EQ(run({"SET", "s", "z", "IFEQ", "a"}), kWrongType);
}

TEST_F(CommandsTest, SetGet) {
  EXPECT_EQ(run({"SET", "k", "1", "GET"}), kNil);
  EXPECT_EQ(run({"SET", "k", "2", "GET"}), bulk("1"));
  EXPECT_EQ(run({"SET", "k", "3", "NX", "GET"}), bulk("2"));
  EXPECT_EQ(run({"GET", "k"}), bulk("2"));
  run({"SADD", "s", "a"});
  EXPECT_EQ(run({"SET", "s", "1", "GET"}), kWrongType);
  EXPECT_EQ(run({"SET", "s", "1"}), kOk);  // plain SET overwrites any type
  EXPECT_EQ(run({"GET", "s"}), bulk("1"));
}

TEST_F(CommandsTest, DelExists) {
  run({"SET", "a", "1"});
  run({"SET", "b", "1"});
  EXPECT_EQ(run({"EXISTS", "a", "b", "c", "a"}), integer(3));
  EXPECT_EQ(run({"DEL", "a", "c", "b"}), integer(2));
  EXPECT_EQ(run({"EXISTS", "a"}), integer(0));
  EXPECT_EQ(run({"DEL", "a"}), integer(0));
}

TEST_F(CommandsTest, IncrDecr) {
  EXPECT_EQ(run({"INCR", "n"}), integer(1));
  EXPECT_EQ(run({"INCRBY", "n", "41"}), integer(42));
  EXPECT_EQ(run({"DECR", "n"}), integer(41));
  EXPECT_EQ(run({"DECRBY", "n", "50"}), integer(-9));
  EXPECT_EQ(run({"INCRBY", "n", "-1"}), integer(-10));
  EXPECT_EQ(run({"GET", "n"}), bulk("-10"));
  EXPECT_EQ(run({"DECR", "fresh"}), integer(-1));
}

TEST_F(CommandsTest, IncrKeepsTtl) {
  run({"SET", "n", "1", "EX", "100"});
  EXPECT_EQ(run({"INCR", "n"}), integer(2));
  EXPECT_EQ(run({"TTL", "n"}), integer(100));
}

TEST_F(CommandsTest, IncrErrors) {
  run({"SET", "s", "abc"});
  EXPECT_EQ(run({"INCR", "s"}), kNotInt);
  run({"SET", "s", " 1"});
  EXPECT_EQ(run({"INCR", "s"}), kNotInt);
  run({"SET", "s", "01"});
  EXPECT_EQ(run({"INCR", "s"}), kNotInt);
  run({"SET", "s", "1.5"});
  EXPECT_EQ(run({"INCR", "s"}), kNotInt);
  run({"SET", "s", "99999999999999999999"});
  EXPECT_EQ(run({"INCR", "s"}), kNotInt);
  EXPECT_EQ(run({"INCRBY", "n", "x"}), kNotInt);
  EXPECT_EQ(run({"INCRBY", "n", "+1"}), kNotInt);
  run({"SADD", "set", "a"});
  EXPECT_EQ(run({"INCR", "set"}), kWrongType);
}

TEST_F(CommandsTest, IncrOverflow) {
  run({"SET", "n", "9223372036854775806"});
  EXPECT_EQ(run({"INCR", "n"}), integer(9223372036854775807));
  EXPECT_EQ(run({"INCR", "n"}), "-ERR increment or decrement would overflow\r\n");
  EXPECT_EQ(run({"GET", "n"}), bulk("9223372036854775807"));
  run({"SET", "m", "-9223372036854775807"});
  EXPECT_EQ(run({"DECR", "m"}), integer(INT64_MIN));
  EXPECT_EQ(run({"DECR", "m"}), "-ERR increment or decrement would overflow\r\n");
  EXPECT_EQ(run({"INCRBY", "m", "-1"}), "-ERR increment or decrement would overflow\r\n");
  EXPECT_EQ(run({"DECRBY", "x", "-9223372036854775808"}), "-ERR decrement would overflow\r\n");
  run({"SET", "p", "1"});
  EXPECT_EQ(run({"INCRBY", "p", "9223372036854775807"}),
            "-ERR increment or decrement would overflow\r\n");
}

TEST_F(CommandsTest, Mget) {
  run({"SET", "a", "1"});
  run({"SADD", "s", "x"});
  EXPECT_EQ(run({"MGET", "a", "nope", "s"}), "*3\r\n" + bulk("1") + kNil + kNil);
}

TEST_F(CommandsTest, Mset) {
  run({"SET", "b", "old", "EX", "10"});
  run({"SADD", "s", "x"});
  EXPECT_EQ(run({"MSET", "a", "1", "b", "2", "s", "3"}), kOk);
  EXPECT_EQ(run({"MGET", "a", "b", "s"}), "*3\r\n" + bulk("1") + bulk("2") + bulk("3"));
  EXPECT_EQ(run({"TTL", "b"}), integer(-1));
  EXPECT_EQ(run({"MSET", "a", "1", "b"}), "-ERR wrong number of arguments for 'mset' command\r\n");
}

TEST_F(CommandsTest, WrongTypeOnStringCommandsAgainstSets) {
  run({"SADD", "s", "a"});
  EXPECT_EQ(run({"GET", "s"}), kWrongType);
  run({"SET", "str", "v"});
  EXPECT_EQ(run({"SADD", "str", "a"}), kWrongType);
  EXPECT_EQ(run({"SREM", "str", "a"}), kWrongType);
  EXPECT_EQ(run({"SCARD", "str"}), kWrongType);
  EXPECT_EQ(run({"SMEMBERS", "str"}), kWrongType);
  EXPECT_EQ(run({"SSCAN", "str", "0"}), kWrongType);
  EXPECT_EQ(run({"TYPE", "s"}), "+set\r\n");
  EXPECT_EQ(run({"TYPE", "str"}), "+string\r\n");
  EXPECT_EQ(run({"TYPE", "none"}), "+none\r\n");
}

TEST_F(CommandsTest, Sets) {
  EXPECT_EQ(run({"SADD", "s", "a", "b", "a"}), integer(2));
  EXPECT_EQ(run({"SADD", "s", "b", "c"}), integer(1));
  EXPECT_EQ(run({"SCARD", "s"}), integer(3));
  EXPECT_EQ(run({"SISMEMBER", "s", "a"}), integer(1));
  EXPECT_EQ(run({"SISMEMBER", "s", "z"}), integer(0));
  EXPECT_EQ(members_of(decode(run({"SMEMBERS", "s"}))), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(run({"SREM", "s", "a", "z"}), integer(1));
  EXPECT_EQ(run({"SCARD", "s"}), integer(2));
  EXPECT_EQ(run({"SREM", "s", "b", "c"}), integer(2));
  EXPECT_EQ(run({"EXISTS", "s"}), integer(0));  // empty sets vanish
  EXPECT_EQ(run({"SCARD", "s"}), integer(0));
  EXPECT_EQ(run({"SMEMBERS", "s"}), "*0\r\n");
  EXPECT_EQ(run({"SREM", "s", "a"}), integer(0));
}

TEST_F(CommandsTest, SscanVisitsEveryMember) {
  for (int i = 0; i < 120; ++i) run({"SADD", "s", "m" + std::to_string(i)});
  std::set<std::string> seen;
  std::string cursor = "0";
  int steps = 0;
  do {
    auto v = decode(run({"SSCAN", "s", cursor, "COUNT", "10"}));
    ASSERT_EQ(v.elements.size(), 2u);
    cursor = v.elements[0].str;
    for (const auto& m : v.elements[1].elements) seen.insert(m.str);
    ++steps;
  } while (cursor != "0" && steps < 1000);
  EXPECT_EQ(seen.size(), 120u);
  EXPECT_GT(steps, 5);
  EXPECT_EQ(run({"SSCAN", "missing", "0"}), "*2\r\n" + bulk("0") + "*0\r\n");
  std::set<std::string> matched;
  cursor = "0";
  steps = 0;
  do {
    auto v = decode(run({"SSCAN", "s", cursor, "MATCH", "m1?", "COUNT", "1000"}));
    cursor = v.elements[0].str;
    for (const auto& m : v.elements[1].elements) matched.insert(m.str);
  } while (cursor != "0" && ++steps < 1000);
  EXPECT_EQ(matched.size(), 10u);  // m10..m19
}

TEST_F(CommandsTest, ScanWithMatchAndCount) {
  for (int i = 0; i < 30; ++i) run({"SET", "user:" + std::to_string(i), "x"});
  for (int i = 0; i < 30; ++i) run({"SET", "item:" + std::to_string(i), "x"});
  std::set<std::string> seen;
  std::string cursor = "0";
  int steps = 0;
  do {
    auto v = decode(run({"SCAN", cursor, "MATCH", "user:*", "COUNT", "7"}));
    cursor = v.elements[0].str;
    for (const auto& k : v.elements[1].elements) {
      EXPECT_EQ(k.str.rfind("user:", 0), 0u);
      seen.insert(k.str);
    }
  } while (cursor != "0" && ++steps < 1000);
  EXPECT_EQ(seen.size(), 30u);
}

TEST_F(CommandsTest, ScanCountIsCapped) {
  for (int i = 0; i < 200; ++i) run({"SET", "k" + std::to_string(i), "x"});
  auto v = decode(run({"SCAN", "0", "COUNT", "100000"}));
  EXPECT_NE(v.elements[0].str, "0");
  EXPECT_LE(v.elements[1].elements.size(), 55u);  // cap 50, plus at most a hash group
}

TEST_F(CommandsTest, ScanErrors) {
  EXPECT_EQ(run({"SCAN", "abc"}), "-ERR invalid cursor\r\n");
  EXPECT_EQ(run({"SCAN", "0", "COUNT", "0"}), kSyntax);
  EXPECT_EQ(run({"SCAN", "0", "COUNT", "x"}), kNotInt);
  EXPECT_EQ(run({"SCAN", "0", "MATCH"}), kSyntax);
  EXPECT_EQ(run({"SCAN", "0", "BOGUS", "1"}), kSyntax);
}

TEST_F(CommandsTest, ScanIsCompleteWhileKeysAreAddedAndRemoved) {
  for (int i = 0; i < 500; ++i) run({"SET", "stable:" + std::to_string(i), "x"});
  std::set<std::string> seen;
  std::string cursor = "0";
  int steps = 0, churn = 0;
  do {
    auto v = decode(run({"SCAN", cursor, "COUNT", "5"}));
    cursor = v.elements[0].str;
    for (const auto& k : v.elements[1].elements) seen.insert(k.str);
    for (int j = 0; j < 5; ++j) {
      run({"SET", "churn:" + std::to_string(churn), "x"});
      run({"DEL", "churn:" + std::to_string(churn / 2)});
      ++churn;
    }
  } while (cursor != "0" && ++steps < 10000);
  ASSERT_EQ(cursor, "0");
  for (int i = 0; i < 500; ++i) EXPECT_TRUE(seen.count("stable:" + std::to_string(i))) << i;
}

TEST_F(CommandsTest, ExpirePersistTtl) {
  run({"SET", "a", "1"});
  EXPECT_EQ(run({"TTL", "a"}), integer(-1));
  EXPECT_EQ(run({"EXPIRE", "a", "5"}), integer(1));
  EXPECT_EQ(run({"TTL", "a"}), integer(5));
  EXPECT_EQ(run({"PERSIST", "a"}), integer(1));
  EXPECT_EQ(run({"PERSIST", "a"}), integer(0));
  EXPECT_EQ(run({"PEXPIRE", "a", "10"}), integer(1));
  clock_.advance(10);
  EXPECT_EQ(run({"EXISTS", "a"}), integer(0));
  EXPECT_EQ(run({"EXPIRE", "a", "5"}), integer(0));
  run({"SET", "b", "1"});
  EXPECT_EQ(run({"EXPIRE", "b", "0"}), integer(1));
  EXPECT_EQ(run({"EXISTS", "b"}), integer(0));
}

TEST_F(CommandsTest, ActiveSweepRemovesExpiredKeys) {
  for (int i = 0; i < 10; ++i) run({"SET", "k" + std::to_string(i), "v", "PX", "100"});
  run({"SET", "keep", "v"});
  EXPECT_EQ(run({"DBSIZE"}), integer(11));
  clock_.advance(100);
  EXPECT_EQ(commands_->sweep(1000), 10u);
  EXPECT_EQ(run({"DBSIZE"}), integer(1));
  EXPECT_NE(decode(run({"INFO", "stats"})).str.find("expired_keys:10\r\n"), std::string::npos);
}

TEST_F(CommandsTest, DbsizeFlushall) {
  run({"SET", "a", "1"});
  run({"SADD", "s", "1"});
  EXPECT_EQ(run({"DBSIZE"}), integer(2));
  EXPECT_EQ(run({"FLUSHALL"}), kOk);
  EXPECT_EQ(run({"DBSIZE"}), integer(0));
  EXPECT_EQ(run({"FLUSHALL", "ASYNC"}), kOk);
  EXPECT_EQ(run({"FLUSHALL", "bogus"}), kSyntax);
}

TEST_F(CommandsTest, Info) {
  stats_.tcp_port = 7000;
  stats_.connected_clients = 3;
  run({"SET", "a", "1", "EX", "10"});
  run({"GET", "a"});
  run({"GET", "b"});
  const std::string all = decode(run({"INFO"})).str;
  for (const char* needle :
       {"# Server\r\n", "id:db-test\r\n", "tcp_port:7000\r\n",
        "process_id:", "uptime_in_seconds:", "# Clients\r\nconnected_clients:3\r\n", "# Stats\r\n",
        "total_commands_processed:", "keyspace_hits:1\r\n", "keyspace_misses:1\r\n",
        "# Replication\r\nrole:master\r\n", "# Keyspace\r\ndb0:keys=1,expires=1,"}) {
    EXPECT_NE(all.find(needle), std::string::npos) << needle;
  }
  const std::string repl = decode(run({"INFO", "replication"})).str;
  EXPECT_EQ(repl,
            "# Replication\r\nrole:master\r\nterm:0\r\nshard:0\r\nmaster_id:\r\nmaster_host:\r\n"
            "master_port:0\r\nmaster_repl_offset:0\r\ncommit_offset:0\r\napplied_offset:0\r\n"
            "connected_slaves:0\r\nlease_ms_left:0\r\n");
  EXPECT_EQ(decode(run({"info", "SERVER"})).str.find("# Clients"), std::string::npos);
  EXPECT_EQ(decode(run({"INFO", "nosuch"})).str, "");
}

TEST_F(CommandsTest, Role) {
  EXPECT_EQ(run({"ROLE"}), "*4\r\n$6\r\nmaster\r\n:0\r\n*0\r\n:0\r\n");
}

namespace {
struct FixedStatus final : ReplicationStatusSource {
  ReplicationStatus status;
  ReplicationStatus replication_status() const override { return status; }
};
}  // namespace

TEST_F(CommandsTest, RoleAndInfoReportTheReplica) {
  FixedStatus src;
  src.status.role = "slave";
  src.status.term = 7;
  src.status.shard = 2;
  src.status.master_id = "db-s2-r0";
  src.status.master_host = "127.0.0.1";
  src.status.master_port = 7001;
  src.status.applied = 41;
  src.status.last_index = 42;
  commands_->set_replication_source(&src);
  EXPECT_EQ(run({"ROLE"}),
            "*6\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:7001\r\n$9\r\nconnected\r\n:41\r\n:7\r\n");
  const std::string repl = decode(run({"INFO", "replication"})).str;
  for (const char* needle : {"role:slave\r\n", "term:7\r\n", "shard:2\r\n",
                             "master_host:127.0.0.1\r\n", "master_port:7001\r\n",
                             "master_repl_offset:42\r\n", "applied_offset:41\r\n"}) {
    EXPECT_NE(repl.find(needle), std::string::npos) << needle;
  }
  src.status.role = "master";
  src.status.slaves = {{"db-s2-r1", "127.0.0.1:7002", 40, 5}};
  EXPECT_EQ(run({"ROLE"}),
            "*4\r\n$6\r\nmaster\r\n:42\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n7002\r\n$2\r\n40\r\n"
            ":7\r\n");
  EXPECT_NE(decode(run({"INFO", "replication"})).str.find(
                "slave0:id=db-s2-r1,addr=127.0.0.1:7002,offset=40,lag_ms=5\r\n"),
            std::string::npos);
  commands_->set_replication_source(nullptr);
}

TEST_F(CommandsTest, CommandInfoAndPexpireat) {
  ASSERT_NE(DbCommands::command_info("SET"), nullptr);
  EXPECT_TRUE(DbCommands::command_info("SET")->write);
  EXPECT_FALSE(DbCommands::command_info("get")->write);
  EXPECT_EQ(DbCommands::command_info("mset")->step, 2);
  EXPECT_EQ(DbCommands::command_info("ping"), nullptr);
  run({"SET", "k", "v"});
  const std::string at = std::to_string(clock_.now_ms() + 5000);
  EXPECT_EQ(run({"PEXPIREAT", "k", at}), ":1\r\n");
  EXPECT_EQ(run({"PTTL", "k"}), ":5000\r\n");
  EXPECT_EQ(run({"PEXPIREAT", "k", std::to_string(clock_.now_ms())}), ":1\r\n");
  EXPECT_EQ(run({"EXISTS", "k"}), ":0\r\n");
  EXPECT_EQ(run({"PEXPIREAT", "k", at}), ":0\r\n");
}

TEST_F(CommandsTest, QuitClosesAndShutdownStops) {
  EXPECT_EQ(run({"QUIT"}), kOk);
  EXPECT_EQ(session_.after, AfterReply::close);
  session_.after = AfterReply::keep;
  EXPECT_EQ(run({"SHUTDOWN", "BOGUS"}), kSyntax);
  EXPECT_EQ(session_.after, AfterReply::keep);
  EXPECT_EQ(run({"SHUTDOWN", "NOSAVE"}), "");
  EXPECT_EQ(session_.after, AfterReply::shutdown);
}

TEST_F(CommandsTest, CommandDocsAndCount) {
  EXPECT_EQ(run({"COMMAND"}), "*0\r\n");
  EXPECT_EQ(run({"COMMAND", "DOCS"}), "*0\r\n");
  EXPECT_EQ(run({"COMMAND", "COUNT"}), integer(static_cast<int64_t>(table_.size())));
  EXPECT_EQ(run({"COMMAND", "NOPE"}).rfind("-ERR unknown subcommand", 0), 0u);
}

TEST_F(CommandsTest, ConfigGet) {
  EXPECT_EQ(run({"CONFIG", "GET", "save"}), "*2\r\n" + bulk("save") + bulk(""));
  EXPECT_EQ(run({"CONFIG", "GET", "appendonly"}), "*2\r\n" + bulk("appendonly") + bulk("no"));
  EXPECT_EQ(run({"CONFIG", "GET", "nosuch"}), "*0\r\n");
  EXPECT_EQ(decode(run({"CONFIG", "GET", "*"})).elements.size(), 6u);
  EXPECT_EQ(run({"CONFIG", "SET", "save", ""}).rfind("-ERR", 0), 0u);
}

TEST_F(CommandsTest, ClientAndSelect) {
  EXPECT_EQ(run({"CLIENT", "ID"}), integer(7));
  EXPECT_EQ(run({"CLIENT", "GETNAME"}), kNil);
  EXPECT_EQ(run({"CLIENT", "SETNAME", "worker-1"}), kOk);
  EXPECT_EQ(run({"CLIENT", "GETNAME"}), bulk("worker-1"));
  EXPECT_EQ(run({"CLIENT", "SETNAME", "a b"}).rfind("-ERR Client names", 0), 0u);
  EXPECT_EQ(run({"CLIENT", "NOPE"}).rfind("-ERR unknown subcommand", 0), 0u);
  EXPECT_EQ(run({"SELECT", "0"}), kOk);
  EXPECT_EQ(run({"SELECT", "1"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(run({"SELECT", "x"}), kNotInt);
}

}  // namespace
}  // namespace fl::db
