// The real faultline-broker as a user meets it: redis-cli-shaped commands over TCP, SIGKILL and
// restart, compaction, pub/sub and blocking reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "tests/broker/broker_process.h"

namespace fl::brokertest {
namespace {

using resp::Type;
using resp::Value;

Value bulk(std::string s) { return Value::bulk(std::move(s)); }

// [[id, [f, v, ...]], ...] -> id -> fields.
std::vector<std::pair<std::string, std::vector<std::string>>> entries_of(const Value& v) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  EXPECT_EQ(v.type, Type::array);
  for (const Value& e : v.elements) {
    std::vector<std::string> fields;
    for (const Value& f : e.elements.at(1).elements) fields.push_back(f.str);
    out.emplace_back(e.elements.at(0).str, std::move(fields));
  }
  return out;
}

// XREADGROUP/XREAD reply [[topic, entries]] -> entries (empty for nil).
std::vector<std::pair<std::string, std::vector<std::string>>> stream_entries(const Value& v) {
  if (v.type == Type::null) return {};
  EXPECT_EQ(v.type, Type::array) << resp::encode(v);
  if (v.type != Type::array || v.elements.empty()) return {};
  return entries_of(v.elements.at(0).elements.at(1));
}

// Every entry of the topic, by XRANGE pages of `page`.
std::vector<std::pair<std::string, std::vector<std::string>>> replay(RespClient& c,
                                                                     const std::string& topic,
                                                                     int page) {
  std::vector<std::pair<std::string, std::vector<std::string>>> all;
  std::string start = "-";
  for (int guard = 0; guard < 100000; ++guard) {
    auto r = c.call({"XRANGE", topic, start, "+", "COUNT", std::to_string(page)});
    if (!r) {
      ADD_FAILURE() << "XRANGE failed";
      break;
    }
    auto got = entries_of(*r);
    if (got.empty()) break;
    start = "(" + got.back().first;
    all.insert(all.end(), got.begin(), got.end());
  }
  return all;
}

struct Node {
  explicit Node(std::vector<std::string> args) : proc(scratch.path / "data", std::move(args)) {
    std::string why;
    EXPECT_TRUE(proc.start(&why)) << why;
  }
  void restart() {
    std::string why;
    ASSERT_TRUE(proc.start(&why)) << why;
  }
  ScratchDir scratch;
  BrokerProcess proc;
};

TEST(BrokerServer, ProduceAndConsumeWithRedisShapedReplies) {
  Node n({"--partitions", "3"});
  RespClient c(n.proc.port());
  EXPECT_EQ(c.call({"PING"}), Value::simple("PONG"));
  EXPECT_EQ(c.call({"XGROUP", "CREATE", "q", "g", "$"})->type, Type::error);
  EXPECT_EQ(c.call({"XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"}), Value::simple("OK"));
  EXPECT_EQ(c.call({"XGROUP", "CREATE", "q", "g", "$"}),
            Value::err("BUSYGROUP Consumer Group name already exists"));
  // Nothing yet: nil, as Redis; the summary XPENDING of an idle group.
  EXPECT_EQ(c.call({"XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "q", ">"})->type,
            Type::null);
  EXPECT_EQ(c.call({"XPENDING", "q", "g"}),
            Value::array({Value::integer_value(0), Value::nil(), Value::nil(), Value::nil()}));

  std::set<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    auto r = c.call({"XADD", "q", "*", "key", "k" + std::to_string(i % 5), "v", std::to_string(i)});
    ASSERT_TRUE(r && r->type == Type::bulk_string) << (r ? resp::encode(*r) : "no reply");
    ids.insert(r->str);
  }
  EXPECT_EQ(ids.size(), 30u);
  EXPECT_EQ(c.call({"XLEN", "q"}), Value::integer_value(30));
  EXPECT_EQ(c.call({"XADD", "q", "5-5", "v", "1"})->type, Type::error);

  // Consume all with the queue workload's command shape, acknowledging each.
  std::set<std::string> consumed;
  for (int i = 0; i < 40; ++i) {
    auto r = c.call({"XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "q", ">"});
    ASSERT_TRUE(r);
    auto got = stream_entries(*r);
    if (got.empty()) break;
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(r->elements.at(0).elements.at(0), bulk("q"));
    consumed.insert(got[0].first);
    EXPECT_EQ(c.call({"XACK", "q", "g", got[0].first}), Value::integer_value(1));
    EXPECT_EQ(c.call({"XACK", "q", "g", got[0].first}), Value::integer_value(0));
  }
  EXPECT_EQ(consumed, ids);
  // Pending and history.
  auto r = c.call({"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", "0"});
  EXPECT_EQ(resp::encode(*r), "*1\r\n*2\r\n$1\r\nq\r\n*0\r\n");
  ASSERT_TRUE(c.call({"XADD", "q", "*", "v", "late"}));
  auto late = stream_entries(*c.call({"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", ">"}));
  ASSERT_EQ(late.size(), 1u);
  auto pending = c.call({"XPENDING", "q", "g"});
  EXPECT_EQ(pending->elements.at(0), Value::integer_value(1));
  EXPECT_EQ(pending->elements.at(1), bulk(late[0].first));
  EXPECT_EQ(pending->elements.at(3), Value::array({Value::array({bulk("c2"), bulk("1")})}));
  EXPECT_EQ(stream_entries(*c.call({"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", "0"})), late);

  // Pagination with an exclusive start covers the whole log, in ID order, fields as given.
  auto all = replay(c, "q", 7);
  ASSERT_EQ(all.size(), 31u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](const auto& a, const auto& b) {
    auto key = [](const std::string& id) {
      return std::pair(std::stoul(id.substr(0, id.find('-'))),
                       std::stoul(id.substr(id.find('-') + 1)));
    };
    return key(a.first) < key(b.first);
  }));
  EXPECT_NE(std::find(all.begin(), all.end(), late[0]), all.end());
  // XREAD from the start, nil past the end; unknown topics are empty.
  EXPECT_EQ(stream_entries(*c.call({"XREAD", "COUNT", "2", "STREAMS", "q", "0"})).size(), 2u);
  EXPECT_EQ(c.call({"XREAD", "STREAMS", "q", "$"})->type, Type::null);
  EXPECT_EQ(c.call({"XRANGE", "nope", "-", "+"}), Value::array({}));
  EXPECT_EQ(c.call({"XRANGE", "q", "x", "+"})->type, Type::error);
  EXPECT_EQ(c.call({"XREADGROUP", "GROUP", "nog", "c", "STREAMS", "q", ">"})->str.substr(0, 7),
            "NOGROUP");
  EXPECT_EQ(c.call({"XGROUP", "DESTROY", "q", "g"}), Value::integer_value(1));
  EXPECT_EQ(c.call({"XGROUP", "DESTROY", "q", "g"}), Value::integer_value(0));
  EXPECT_EQ(c.call({"DEL", "q", "other"}), Value::integer_value(1));
  EXPECT_EQ(c.call({"XLEN", "q"}), Value::integer_value(0));
  auto info = c.call({"INFO", "broker"});
  ASSERT_TRUE(info);
  EXPECT_NE(info->str.find("# Broker\r\n"), std::string::npos);
  EXPECT_NE(info->str.find("fsync:always\r\n"), std::string::npos);
  EXPECT_EQ(info->str.find("# Server"), std::string::npos);
}

TEST(BrokerServer, SigkillWithFsyncAlwaysLosesNothingAcknowledged) {
  Node n({"--partitions", "4", "--fsync", "always", "--ack-timeout", "60s"});
  std::map<std::string, std::string> acked;  // id -> value
  {
    RespClient admin(n.proc.port());
    ASSERT_EQ(admin.call({"XGROUP", "CREATE", "t", "g", "0", "MKSTREAM"}), Value::simple("OK"));
  }
  // Several producers pipelining: group commits with many XADDs each.
  std::vector<std::unique_ptr<RespClient>> producers;
  for (int p = 0; p < 4; ++p) producers.push_back(std::make_unique<RespClient>(n.proc.port()));
  for (int round = 0; round < 10; ++round) {
    for (int p = 0; p < 4; ++p) {
      std::vector<std::vector<std::string>> batch;
      for (int i = 0; i < 25; ++i) {
        const std::string v =
            std::to_string(round) + "." + std::to_string(p) + "." + std::to_string(i);
        batch.push_back({"XADD", "t", "*", "key", "k" + std::to_string(i % 13), "v", v});
      }
      ASSERT_TRUE(producers[p]->send(batch));
    }
    for (int p = 0; p < 4; ++p) {
      for (int i = 0; i < 25; ++i) {
        auto r = producers[p]->read(10s);
        ASSERT_TRUE(r && r->type == Type::bulk_string);
        acked[r->str] = std::to_string(round) + "." + std::to_string(p) + "." + std::to_string(i);
      }
    }
  }
  ASSERT_EQ(acked.size(), 1000u);
  // Consume 300, acknowledge the first 200 of them.
  RespClient c(n.proc.port());
  std::vector<std::string> delivered;
  while (delivered.size() < 300) {
    auto got = stream_entries(
        *c.call({"XREADGROUP", "GROUP", "g", "c", "COUNT", "50", "STREAMS", "t", ">"}));
    ASSERT_FALSE(got.empty());
    for (auto& [id, f] : got) delivered.push_back(id);
  }
  std::set<std::string> acknowledged(delivered.begin(), delivered.begin() + 200);
  std::vector<std::string> ack = {"XACK", "t", "g"};
  ack.insert(ack.end(), acknowledged.begin(), acknowledged.end());
  ASSERT_EQ(c.call(ack), Value::integer_value(200));

  n.proc.kill(SIGKILL);
  n.restart();
  RespClient after(n.proc.port());
  // Every acknowledged XADD is there, with its value.
  auto all = replay(after, "t", 97);
  std::map<std::string, std::string> found;
  for (auto& [id, f] : all) found[id] = f.at(3);
  for (const auto& [id, v] : acked) {
    auto it = found.find(id);
    ASSERT_NE(it, found.end()) << "acknowledged entry " << id << " lost";
    EXPECT_EQ(it->second, v);
  }
  // The group resumes from its committed offsets: everything but the acknowledged, once.
  std::set<std::string> redelivered;
  for (;;) {
    auto got = stream_entries(
        *after.call({"XREADGROUP", "GROUP", "g", "c2", "COUNT", "100", "STREAMS", "t", ">"}));
    if (got.empty()) break;
    for (auto& [id, f] : got) {
      EXPECT_FALSE(acknowledged.contains(id)) << id << " was acknowledged before the kill";
      EXPECT_TRUE(redelivered.insert(id).second) << id << " delivered twice";
    }
  }
  EXPECT_EQ(redelivered.size(), 800u);
  for (size_t i = 200; i < 300; ++i) EXPECT_TRUE(redelivered.contains(delivered[i]));
  auto info = after.call({"INFO", "broker"});
  EXPECT_NE(info->str.find("recovered_entries:1000\r\n"), std::string::npos) << info->str;
}

TEST(BrokerServer, TornTailIsCutOnRestart) {
  Node n({"--partitions", "1"});
  {
    RespClient c(n.proc.port());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.call({"XADD", "t", "*", "v", std::to_string(i)}));
  }
  n.proc.kill(SIGKILL);
  // Half a record at the end of the segment, as a write torn by a crash leaves.
  const auto part = n.scratch.path / "data" / "topics" / "t" / "p0";
  std::filesystem::path seg;
  for (const auto& de : std::filesystem::directory_iterator(part)) seg = de.path();
  {
    std::ofstream f(seg, std::ios::app | std::ios::binary);
    f << std::string("\x40\x00\x00\x00\x01\x02\x03\x04half", 12);
  }
  n.restart();
  RespClient c(n.proc.port());
  EXPECT_EQ(c.call({"XLEN", "t"}), Value::integer_value(3));
  EXPECT_EQ(c.call({"XADD", "t", "*", "v", "3"}), bulk("0-3"));
  EXPECT_NE(c.call({"INFO"})->str.find("torn_bytes:12\r\n"), std::string::npos);
}

TEST(BrokerServer, CompactionIsVisibleThroughXrangeAndSurvivesRestart) {
  Node n({"--partitions", "2", "--compact", "auto", "--compact-every", "50ms"});
  RespClient c(n.proc.port());
  for (const std::string topic : {"manual", "auto"}) {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(
          c.call({"XADD", topic, "*", "key", "k" + std::to_string(i % 4), "v", std::to_string(i)}));
    }
  }
  EXPECT_EQ(c.call({"COMPACT", "manual"}), Value::integer_value(16));
  auto check = [&](const std::string& topic) {
    auto all = replay(c, topic, 3);
    std::map<std::string, std::string> last;
    for (auto& [id, f] : all) {
      EXPECT_TRUE(last.emplace(f.at(1), f.at(3)).second) << "two entries of " << f.at(1);
    }
    return last == std::map<std::string, std::string>{
                       {"k0", "16"}, {"k1", "17"}, {"k2", "18"}, {"k3", "19"}};
  };
  EXPECT_TRUE(check("manual"));
  EXPECT_TRUE(eventually([&] { return c.call({"XLEN", "auto"}) == Value::integer_value(4); }));
  EXPECT_TRUE(check("auto"));
  n.proc.kill(SIGKILL);
  n.restart();
  RespClient again(n.proc.port());
  auto all = replay(again, "manual", 100);
  ASSERT_EQ(all.size(), 4u);
  // Offsets keep their gaps: the kept entries are the latest ones.
  for (auto& [id, f] : all) EXPECT_NE(id.substr(id.find('-') + 1), "0");
}

TEST(BrokerServer, PublishReachesSubscribers) {
  Node n({});
  RespClient sub(n.proc.port()), pub(n.proc.port());
  ASSERT_TRUE(sub.send({{"SUBSCRIBE", "news", "other"}}));
  EXPECT_EQ(sub.read(5s), Value::array({bulk("subscribe"), bulk("news"), Value::integer_value(1)}));
  EXPECT_EQ(sub.read(5s),
            Value::array({bulk("subscribe"), bulk("other"), Value::integer_value(2)}));
  EXPECT_EQ(pub.call({"PUBLISH", "news", "hello"}), Value::integer_value(1));
  EXPECT_EQ(pub.call({"PUBLISH", "nobody", "x"}), Value::integer_value(0));
  EXPECT_EQ(sub.read(5s), Value::array({bulk("message"), bulk("news"), bulk("hello")}));
  // Subscribe mode refuses other commands, as Redis.
  ASSERT_TRUE(sub.send({{"XLEN", "x"}}));
  EXPECT_EQ(sub.read(5s)->type, Type::error);
  ASSERT_TRUE(sub.send({{"UNSUBSCRIBE", "news"}}));
  EXPECT_EQ(sub.read(5s),
            Value::array({bulk("unsubscribe"), bulk("news"), Value::integer_value(1)}));
  EXPECT_EQ(pub.call({"PUBLISH", "news", "again"}), Value::integer_value(0));
  EXPECT_EQ(pub.call({"PUBLISH", "other", "two"}), Value::integer_value(1));
  EXPECT_EQ(sub.read(5s), Value::array({bulk("message"), bulk("other"), bulk("two")}));
  // A second subscriber that goes away is forgotten.
  {
    RespClient gone(n.proc.port());
    ASSERT_TRUE(gone.send({{"SUBSCRIBE", "other"}}));
    ASSERT_TRUE(gone.read(5s));
    EXPECT_NE(pub.call({"INFO", "broker"})->str.find("subscribers:2\r\n"), std::string::npos);
  }
  EXPECT_TRUE(eventually([&] {
    return pub.call({"INFO", "broker"})->str.find("subscribers:1\r\n") != std::string::npos;
  }));
  EXPECT_EQ(pub.call({"PUBLISH", "other", "three"}), Value::integer_value(1));
}

TEST(BrokerServer, BlockedReadsWakeOnANewEntry) {
  Node n({"--partitions", "2"});
  RespClient c(n.proc.port()), reader(n.proc.port()), group_reader(n.proc.port());
  ASSERT_EQ(c.call({"XGROUP", "CREATE", "t", "g", "$", "MKSTREAM"}), Value::simple("OK"));
  ASSERT_TRUE(reader.send({{"XREAD", "BLOCK", "0", "STREAMS", "t", "$"}}));
  ASSERT_TRUE(group_reader.send(
      {{"XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "BLOCK", "0", "STREAMS", "t", ">"}}));
  // Both are parked (nothing to read yet): the broker reports them blocked.
  ASSERT_TRUE(eventually([&] {
    auto info = c.call({"INFO", "clients"});
    return info && info->str.find("blocked_clients:2\r\n") != std::string::npos;
  }));
  auto id = c.call({"XADD", "t", "*", "v", "wake"});
  ASSERT_TRUE(id && id->type == Type::bulk_string);
  auto r1 = reader.read(10s);
  ASSERT_TRUE(r1);
  auto e1 = stream_entries(*r1);
  ASSERT_EQ(e1.size(), 1u);
  EXPECT_EQ(e1[0].first, id->str);
  auto r2 = group_reader.read(10s);
  ASSERT_TRUE(r2);
  EXPECT_EQ(stream_entries(*r2), e1);
  // A BLOCK with a timeout answers nil when nothing comes.
  EXPECT_EQ(c.call({"XREADGROUP", "GROUP", "g", "c", "BLOCK", "50", "STREAMS", "t", ">"})->type,
            Type::null);
}

TEST(BrokerServer, UnacknowledgedEntriesAreRedeliveredAfterTheAckTimeout) {
  Node n({"--partitions", "2", "--ack-timeout", "200ms"});
  RespClient c(n.proc.port()), blocked(n.proc.port());
  ASSERT_EQ(c.call({"XGROUP", "CREATE", "t", "g", "$", "MKSTREAM"}), Value::simple("OK"));
  auto id = c.call({"XADD", "t", "*", "v", "once"});
  ASSERT_TRUE(id && id->type == Type::bulk_string);
  // c1 takes it and dies without acknowledging; c2 waits for anything deliverable.
  auto first = stream_entries(*c.call({"XREADGROUP", "GROUP", "g", "c1", "STREAMS", "t", ">"}));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(
      blocked.send({{"XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0", "STREAMS", "t", ">"}}));
  auto again = blocked.read(20s);
  ASSERT_TRUE(again);
  EXPECT_EQ(stream_entries(*again), first);
  auto pending = c.call({"XPENDING", "t", "g"});
  EXPECT_EQ(pending->elements.at(3), Value::array({Value::array({bulk("c2"), bulk("1")})}));
  EXPECT_EQ(c.call({"XACK", "t", "g", id->str}), Value::integer_value(1));
  EXPECT_NE(c.call({"INFO", "broker"})->str.find("redeliveries:1\r\n"), std::string::npos);
}

TEST(BrokerServer, AckBeforeWriteBugLosesAcknowledgedEntriesOnSigkill) {
  Node n({"--partitions", "1", "--bug", "ack-before-write"});
  RespClient c(n.proc.port());
  std::vector<std::vector<std::string>> batch;
  for (int i = 0; i < 50; ++i) batch.push_back({"XADD", "t", "*", "v", std::to_string(i)});
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(c.read(10s));
  // Killed right after the acknowledgements, before the delayed write (~200 ms later).
  n.proc.kill(SIGKILL);
  n.restart();
  RespClient after(n.proc.port());
  auto len = after.call({"XLEN", "t"});
  ASSERT_TRUE(len);
  EXPECT_LT(len->integer, 50);
}

TEST(BrokerServer, BadFlagsExitWithUsageError) {
  ScratchDir d;
  BrokerProcess p(d.path / "x", {"--fsync", "sometimes"});
  std::string why;
  EXPECT_FALSE(p.start(&why));
  EXPECT_NE(why.find("fsync"), std::string::npos) << why;
}

}  // namespace
}  // namespace fl::brokertest
