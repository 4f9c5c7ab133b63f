// The RESP client against in-test servers that answer like a sharded, replicated faultline-db:
// -MOVED routes remembered per shard, -TRYAGAIN / -CLUSTERDOWN retried until the deadline,
// -NOQUORUM returned at once, and round-robin balancing over the endpoints.
#include "harness/load/resp_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/hash_ring.h"
#include "tests/load/servers.h"

namespace fl::load {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::ScriptedServer;
using Clock = std::chrono::steady_clock;
using Argv = std::vector<std::string>;

Endpoint at(uint16_t port, std::string id = "server") { return {std::move(id), "127.0.0.1", port}; }

// Runs one call to its end on `io` (a generous bound, so a bug cannot hang the test).
CallResult call(asio::io_context& io, RespClient& client, size_t lane, Argv argv,
                std::chrono::milliseconds timeout = 2s) {
  std::optional<CallResult> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        out = co_await client.call(lane, argv, Clock::now() + timeout);
      },
      asio::detached);
  io.restart();
  const auto give_up = Clock::now() + timeout + 10s;
  while (!out && Clock::now() < give_up) io.run_one_for(100ms);
  EXPECT_TRUE(out.has_value()) << "the call never ended";
  return out.value_or(CallResult{});
}

bool is_ok(const CallResult& r) {
  return r.status == CallResult::Status::reply && r.reply.type == resp::Type::simple_string &&
         r.reply.str == "OK";
}

bool is_error(const CallResult& r, std::string_view code) {
  return r.status == CallResult::Status::reply && r.reply.type == resp::Type::error &&
         r.reply.str.starts_with(code);
}

// Keys of each shard of `shards`, `per_shard` of each.
std::vector<std::vector<std::string>> keys_by_shard(int shards, size_t per_shard) {
  std::vector<std::vector<std::string>> out(static_cast<size_t>(shards));
  for (int i = 0;
       std::any_of(out.begin(), out.end(), [&](auto& v) { return v.size() < per_shard; }); ++i) {
    std::string key = "k" + std::to_string(i);
    auto& bucket = out[static_cast<size_t>(fl::shard_of(key, shards))];
    if (bucket.size() < per_shard) bucket.push_back(key);
  }
  return out;
}

TEST(CommandKey, IsTheKeyArgument) {
  EXPECT_EQ(command_key({"GET", "k1"}), "k1");
  EXPECT_EQ(command_key({"SET", "k1", "2", "IFEQ", "1"}), "k1");
  EXPECT_EQ(command_key({"XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "q3", ">"}),
            "q3");
  EXPECT_EQ(command_key({"XGROUP", "CREATE", "q1", "g", "$", "MKSTREAM"}), "q1");
  EXPECT_EQ(command_key({"PING"}), std::nullopt);
}

TEST(RespClient, RemembersTheMovedRoutePerShard) {
  constexpr int kShards = 2;
  // One master per shard; each refuses keys of the other shard, so a wrong route shows.
  std::vector<std::unique_ptr<ScriptedServer>> masters;
  std::vector<std::atomic<int>> wrong(kShards);
  for (int s = 0; s < kShards; ++s) {
    masters.push_back(std::make_unique<ScriptedServer>([&, s](const Argv& argv, uint16_t) {
      if (fl::shard_of(argv.at(1), kShards) != s) {
        ++wrong[static_cast<size_t>(s)];
        return std::string("-ERR wrong shard\r\n");
      }
      return std::string("+OK\r\n");
    }));
  }
  // The entry node redirects every key to its shard's master.
  ScriptedServer entry([&](const Argv& argv, uint16_t) {
    int s = fl::shard_of(argv.at(1), kShards);
    return "-MOVED " + std::to_string(s) +
           " 127.0.0.1:" + std::to_string(masters[static_cast<size_t>(s)]->port()) + "\r\n";
  });
  asio::io_context io;
  ClientOptions o;
  o.shards = kShards;
  RespClient client(io, {at(entry.port(), "entry")}, o);
  auto keys = keys_by_shard(kShards, 5);
  for (size_t i = 0; i < 5; ++i) {
    for (int s = 0; s < kShards; ++s) {
      auto r = call(io, client, 0, {"SET", keys[static_cast<size_t>(s)][i], "1"});
      EXPECT_TRUE(is_ok(r)) << r.error << r.reply.str;
    }
  }
  EXPECT_EQ(entry.commands(), kShards);  // one redirect per shard, then straight to its master
  EXPECT_EQ(client.stats().redirects, kShards);
  for (int s = 0; s < kShards; ++s) {
    EXPECT_EQ(masters[static_cast<size_t>(s)]->commands(), 5) << "shard " << s;
    EXPECT_EQ(wrong[static_cast<size_t>(s)].load(), 0);
  }
}

// A MOVED naming an instance id the client has an endpoint for goes to that endpoint (the
// harness's own address for the node, such as its client link through the proxy), not to the
// host:port the db node itself uses; an unknown id falls back to host:port.
TEST(RespClient, MovedWithAKnownIdGoesToTheClientsOwnEndpointForIt) {
  ScriptedServer mine([](const Argv&, uint16_t) { return std::string("+OK\r\n"); });
  ScriptedServer theirs([](const Argv&, uint16_t) { return std::string("+OK\r\n"); });
  ScriptedServer other([](const Argv&, uint16_t) { return std::string("+OK\r\n"); });
  ScriptedServer entry([&](const Argv& argv, uint16_t) {
    if (argv.at(1) == "k1") {
      return "-MOVED 0 127.0.0.1:" + std::to_string(theirs.port()) + " db-s0-r1\r\n";
    }
    return "-MOVED 0 127.0.0.1:" + std::to_string(other.port()) + " db-s0-r9\r\n";
  });
  asio::io_context io;
  RespClient client(io, {at(entry.port(), "db-s0-r0"), at(mine.port(), "db-s0-r1")},
                    ClientOptions{});
  auto r = call(io, client, 0, {"SET", "k1", "1"});
  EXPECT_TRUE(is_ok(r)) << r.error << r.reply.str;
  EXPECT_EQ(mine.commands(), 1);
  EXPECT_EQ(theirs.commands(), 0);
  // The route is now `mine`; a redirect from there is not expected, so ask the entry again
  // with a fresh client for the unknown id.
  RespClient fresh(io, {at(entry.port(), "db-s0-r0")}, ClientOptions{});
  auto r2 = call(io, fresh, 0, {"SET", "k2", "1"});
  EXPECT_TRUE(is_ok(r2)) << r2.error << r2.reply.str;
  EXPECT_EQ(other.commands(), 1);
}

TEST(RespClient, ForgetsARouteWhoseAddressIsDead) {
  std::atomic<int> seen{0};
  // First a redirect to a port where nothing listens (a killed master), then answers itself.
  const uint16_t dead = testing::closed_port();
  ScriptedServer entry([&](const Argv&, uint16_t) {
    return ++seen == 1 ? "-MOVED 0 127.0.0.1:" + std::to_string(dead) + "\r\n"
                       : std::string("+OK\r\n");
  });
  asio::io_context io;
  RespClient client(io, {at(entry.port())}, ClientOptions{});
  auto r = call(io, client, 0, {"SET", "k", "1"});
  EXPECT_TRUE(is_ok(r)) << r.error << r.reply.str;
  EXPECT_EQ(client.stats().route_resets, 1);
  EXPECT_TRUE(is_ok(call(io, client, 0, {"SET", "k", "2"})));
  EXPECT_EQ(entry.commands(), 3);
}

// A killed master: until the election ends the other nodes keep naming it. Redirects to the
// address that just refused are waited out with the backoff (they would otherwise use up the
// redirect limit in a few milliseconds), and the new master's MOVED is followed.
TEST(RespClient, WaitsOutRedirectsToTheMasterThatRefused) {
  ScriptedServer master([](const Argv&, uint16_t) { return std::string("+OK\r\n"); });
  const uint16_t dead = testing::closed_port();
  std::atomic<int> seen{0};
  ScriptedServer entry([&](const Argv&, uint16_t) {
    const uint16_t to = ++seen <= 8 ? dead : master.port();
    return "-MOVED 0 127.0.0.1:" + std::to_string(to) + "\r\n";
  });
  asio::io_context io;
  RespClient client(io, {at(entry.port(), "entry")}, ClientOptions{});
  auto r = call(io, client, 0, {"SET", "k", "1"}, 5s);
  EXPECT_TRUE(is_ok(r)) << r.error << r.reply.str;
  EXPECT_EQ(entry.commands(), 9);
  EXPECT_EQ(client.stats().redirects, 2);  // to the dead master, then to the new one
  EXPECT_EQ(client.stats().retries, 7);
  EXPECT_EQ(client.stats().route_resets, 1);
  EXPECT_EQ(master.commands(), 1);
}

TEST(RespClient, RetriesTryAgainThenSucceeds) {
  std::atomic<int> seen{0};
  ScriptedServer server([&](const Argv&, uint16_t) {
    return ++seen <= 3 ? std::string("-TRYAGAIN master has not committed its term\r\n")
                       : std::string("+OK\r\n");
  });
  asio::io_context io;
  RespClient client(io, {at(server.port())}, ClientOptions{});
  auto r = call(io, client, 0, {"SET", "k", "1"}, 5s);
  EXPECT_TRUE(is_ok(r)) << r.error << r.reply.str;
  EXPECT_EQ(server.commands(), 4);
  EXPECT_EQ(client.stats().retries, 3);
}

TEST(RespClient, ClusterDownUntilTheDeadlineEndsWithThatReply) {
  ScriptedServer server(
      [](const Argv&, uint16_t) { return std::string("-CLUSTERDOWN shard 0 has no master\r\n"); });
  asio::io_context io;
  RespClient client(io, {at(server.port())}, ClientOptions{});
  auto r = call(io, client, 0, {"SET", "k", "1"}, 300ms);
  // Never applied, so the call ends with the error reply (the workload's `fail`), not a timeout.
  EXPECT_TRUE(is_error(r, "CLUSTERDOWN")) << static_cast<int>(r.status) << " " << r.error;
  EXPECT_GE(server.commands(), 2);
  EXPECT_EQ(client.stats().retries, server.commands() - 1);
}

TEST(RespClient, NoQuorumIsNotRetried) {
  ScriptedServer server([](const Argv&, uint16_t) {
    return std::string("-NOQUORUM 1 of 2 acks before the timeout\r\n");
  });
  asio::io_context io;
  RespClient client(io, {at(server.port())}, ClientOptions{});
  auto r = call(io, client, 0, {"SET", "k", "1"});
  EXPECT_TRUE(is_error(r, "NOQUORUM"));
  EXPECT_EQ(server.commands(), 1);
  EXPECT_EQ(client.stats().retries, 0);
}

// Three nodes and three connections: with round-robin each connection starts at its own node;
// with first every connection starts at the first.
TEST(RespClient, RoundRobinSpreadsConnectionsOverTheTargets) {
  for (auto balance : {plan::Balance::round_robin, plan::Balance::first}) {
    std::vector<std::unique_ptr<ScriptedServer>> nodes;
    std::vector<Endpoint> endpoints;
    for (int i = 0; i < 3; ++i) {
      nodes.push_back(std::make_unique<ScriptedServer>(
          [](const Argv&, uint16_t) { return std::string("+OK\r\n"); }));
      endpoints.push_back(at(nodes.back()->port(), "n" + std::to_string(i)));
    }
    asio::io_context io;
    ClientOptions o;
    o.connections = 3;
    o.balance = balance;
    RespClient client(io, endpoints, o);
    for (size_t lane = 0; lane < 6; ++lane) {
      EXPECT_TRUE(is_ok(call(io, client, lane, {"SET", "k", "1"})));
    }
    if (balance == plan::Balance::round_robin) {
      for (const auto& n : nodes) EXPECT_EQ(n->commands(), 2);
    } else {
      EXPECT_EQ(nodes[0]->commands(), 6);
    }
    EXPECT_EQ(client.stats().failovers, 0);
  }
}

// A node that stops accepting connections: round-robin connections fail over to the next node.
TEST(RespClient, RoundRobinFailsOverFromADeadTarget) {
  ScriptedServer live([](const Argv&, uint16_t) { return std::string("+OK\r\n"); });
  asio::io_context io;
  ClientOptions o;
  o.connections = 2;
  o.balance = plan::Balance::round_robin;
  RespClient client(io, {at(live.port(), "live"), at(testing::closed_port(), "dead")}, o);
  EXPECT_TRUE(is_ok(call(io, client, 0, {"GET", "k"})));
  EXPECT_TRUE(is_ok(call(io, client, 1, {"GET", "k"})));  // starts at "dead", fails over
  EXPECT_EQ(live.commands(), 2);
  EXPECT_EQ(client.stats().failovers, 1);
}

}  // namespace
}  // namespace fl::load
