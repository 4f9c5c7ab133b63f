#include "nodes/lb/requests.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace fl::lb {
namespace {

using Argv = std::vector<std::string_view>;

TEST(ClassifyTest, LocalRefusedReadOnlyAndWrites) {
  for (auto n : {"PING", "info", "Quit", "COMMAND", "client", "LB.ROUTE"}) {
    EXPECT_EQ(classify(n), CommandClass::local) << n;
  }
  for (auto n : {"SUBSCRIBE", "psubscribe", "UNSUBSCRIBE", "monitor"}) {
    EXPECT_EQ(classify(n), CommandClass::refused) << n;
  }
  for (auto n : {"GET", "mget", "EXISTS", "STRLEN", "TTL", "PTTL", "TYPE", "SMEMBERS",
                 "SISMEMBER", "SCARD", "XRANGE", "XLEN", "DBSIZE", "KEYS", "scan"}) {
    EXPECT_EQ(classify(n), CommandClass::read_only) << n;
  }
  for (auto n : {"SET", "DEL", "INCR", "INCRBY", "SADD", "XADD", "XACK", "XREADGROUP", "GETSET",
                 "GETDEL", "NOSUCHCOMMAND", "G", "GETX"}) {
    EXPECT_EQ(classify(n), CommandClass::write) << n;
  }
}

TEST(RoutingKeyTest, KeyIsTheFirstArgumentOrTheStream) {
  EXPECT_EQ(routing_key(Argv{"GET", "k1"}), "k1");
  EXPECT_EQ(routing_key(Argv{"set", "k2", "v"}), "k2");
  EXPECT_EQ(routing_key(Argv{"MGET", "a", "b"}), "a");
  EXPECT_EQ(routing_key(Argv{"DBSIZE"}), std::nullopt);
  EXPECT_EQ(routing_key(Argv{"KEYS", "*"}), std::nullopt);
  EXPECT_EQ(routing_key(Argv{"SCAN", "0"}), std::nullopt);
  EXPECT_EQ(routing_key(Argv{"XREAD", "COUNT", "5", "STREAMS", "orders", "0"}), "orders");
  EXPECT_EQ(routing_key(Argv{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "streams", "t", ">"}),
            "t");
  EXPECT_EQ(routing_key(Argv{"XREAD", "COUNT", "5"}), std::nullopt);
}

TEST(RoutingKeyTest, BlockingStreamReadsExtendTheDeadline) {
  EXPECT_EQ(block_millis(Argv{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "1000", "STREAMS", "t",
                              ">"}),
            1000u);
  EXPECT_EQ(block_millis(Argv{"XREAD", "block", "0", "STREAMS", "t", "$"}), 0u);
  EXPECT_EQ(block_millis(Argv{"XREAD", "STREAMS", "block", "5"}), 0u);  // a stream named block
  EXPECT_EQ(block_millis(Argv{"GET", "BLOCK"}), 0u);
  EXPECT_EQ(block_millis(Argv{"XREAD", "BLOCK", "x1", "STREAMS", "t", "$"}), 0u);
}

TEST(RetryTest, NotSentIsRetriedOnEveryBackendWhateverTheCommand) {
  RetryState s;
  EXPECT_EQ(after_failure(s, 0, Failure::not_sent, false, false), Verdict::retry);
  EXPECT_EQ(after_failure(s, 1, Failure::not_sent, false, false), Verdict::retry);
  EXPECT_EQ(s.tried, bit(0) | bit(1));
  EXPECT_FALSE(s.maybe_applied);
  EXPECT_EQ(when_no_backend(s), Verdict::clusterdown);
}

TEST(RetryTest, ReadsAreRetriedOnceAfterATimeoutOrBrokenLink) {
  for (Failure f : {Failure::timeout, Failure::lost}) {
    RetryState s;
    EXPECT_EQ(after_failure(s, 2, f, true, false), Verdict::retry);
    EXPECT_EQ(after_failure(s, 0, f, true, false), Verdict::timeout);
    EXPECT_TRUE(s.maybe_applied);
    EXPECT_EQ(when_no_backend(s), Verdict::timeout);
  }
  // A not_sent retry after a timeout does not use up the one retry.
  RetryState s;
  EXPECT_EQ(after_failure(s, 0, Failure::not_sent, true, false), Verdict::retry);
  EXPECT_EQ(after_failure(s, 1, Failure::timeout, true, false), Verdict::retry);
  EXPECT_EQ(after_failure(s, 2, Failure::not_sent, true, false), Verdict::retry);
  EXPECT_EQ(after_failure(s, 3, Failure::lost, true, false), Verdict::timeout);
}

TEST(RetryTest, WritesAreNeverSentTwiceExceptWithTheSeededBug) {
  for (Failure f : {Failure::timeout, Failure::lost}) {
    RetryState s;
    EXPECT_EQ(after_failure(s, 0, f, false, false), Verdict::timeout);
    RetryState bug;
    EXPECT_EQ(after_failure(bug, 0, f, false, true), Verdict::retry);
    EXPECT_EQ(after_failure(bug, 1, f, false, true), Verdict::timeout);
  }
}

}  // namespace
}  // namespace fl::lb
