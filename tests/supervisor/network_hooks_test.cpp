// Options::placement (a node's bind host and a command prefix) and Options::link (the endpoint a
// node is given for another), the hooks the run's network backends plug into.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tests/supervisor/test_support.h"

namespace fl::supervisor::testing {
namespace {

TEST(SupervisorPlacement, NodeBindsItsHostIsProbedThereAndRunsUnderItsWrap) {
  ScratchDir dir;
  EventLog events;
  auto opts = quiet_options(dir.path, events);
  std::vector<std::string> placed;
  opts.placement = [&](const plan::Instance& inst) {
    placed.push_back(inst.id);
    Placement p;
    if (inst.id == "far") {
      p.host = "127.0.0.2";
      p.wrap = {"/usr/bin/env", "FL_WRAPPED=yes"};
    }
    return p;
  };
  Supervisor sup(opts);
  // `far` listens on 127.0.0.2 only: its tcp probe passes only if it is aimed there.
  auto far = listener("far", {"--host", "{host}", "--print", "host={host}"});
  auto near = node("near", {"--print", "far={addr:far} host={host:far} port={port:far}"});
  ASSERT_TRUE(sup.start({far, near}));
  EXPECT_EQ(placed, (std::vector<std::string>{"far", "near"}));
  auto st = sup.status();
  const auto* f = find_status(st, "far");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->host, "127.0.0.2");
  EXPECT_EQ(find_status(st, "near")->host, "127.0.0.1");  // an empty host keeps Options::host
  EXPECT_TRUE(eventually([&] {
    auto text = read_file(find_status(st, "near")->log);
    return text.find(fmt::format("far=127.0.0.2:{} host=127.0.0.2 port={}", f->port, f->port)) !=
           std::string::npos;
  }));
  EXPECT_NE(read_file(f->log).find("listening on 127.0.0.2:"), std::string::npos);
  auto spawned = events.of("far", Event::Kind::spawned);
  ASSERT_EQ(spawned.size(), 1u);
  EXPECT_TRUE(spawned[0].detail.starts_with("/usr/bin/env FL_WRAPPED=yes " + test_node()))
      << spawned[0].detail;
}

TEST(SupervisorLink, EveryReferenceGoesThroughLinkOncePerPairAcrossRestarts) {
  ScratchDir dir;
  EventLog events;
  auto opts = quiet_options(dir.path, events);
  std::mutex mu;
  std::vector<std::string> calls;
  std::map<std::string, uint16_t> real_ports;
  opts.link = [&](std::string_view from, std::string_view to,
                  const Endpoint& real) -> result<Endpoint> {
    std::lock_guard lock(mu);
    calls.push_back(fmt::format("{}->{}", from, to));
    real_ports[std::string(to)] = real.port;
    EXPECT_EQ(real.host, "127.0.0.1");
    // A stand-in for a proxy listener: a distinct, recognisable port per pair.
    return Endpoint{"127.0.0.9", static_cast<uint16_t>(60000 + calls.size())};
  };
  Supervisor sup(opts);
  auto a = listener("a");
  auto b = listener("b", {"--print", "a={addr:a} again={host:a}:{port:a} self={host}:{port}"});
  b.env["FL_PEER"] = "{addr:a}";
  ASSERT_TRUE(sup.start({a, b}));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(calls, (std::vector<std::string>{"b->a"}));
    EXPECT_EQ(real_ports["a"], find_status(sup.status(), "a")->port);
  }
  auto st = sup.status();
  const auto* bs = find_status(st, "b");
  ASSERT_TRUE(eventually([&] {
    return read_file(bs->log).find(fmt::format("a=127.0.0.9:60001 again=127.0.0.9:60001 "
                                               "self=127.0.0.1:{}",
                                               bs->port)) != std::string::npos;
  })) << read_file(bs->log);
  ASSERT_TRUE(sup.restart("b", false));
  EXPECT_EQ(calls.size(), 1u);  // the restarted b keeps its argv: no second call
  // A later start() reuses the pair's answer and asks only for new pairs.
  auto c = node("c", {"--print", "c={addr:a} {addr:b}"});
  ASSERT_TRUE(sup.start({c}));
  std::lock_guard lock(mu);
  EXPECT_EQ(calls, (std::vector<std::string>{"b->a", "c->a", "c->b"}));
}

TEST(SupervisorLink, AFailedLinkFailsTheStartNamingThePair) {
  ScratchDir dir;
  EventLog events;
  auto opts = quiet_options(dir.path, events);
  opts.link = [](std::string_view, std::string_view, const Endpoint&) -> result<Endpoint> {
    return Error(errc::unsupported, "no listener for you");
  };
  Supervisor sup(opts);
  auto r = sup.start({listener("a"), node("b", {"--print", "{addr:a}"})});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "node 'b': the link b -> a: no listener for you");
  EXPECT_EQ(r.error().code, make_error_code(errc::unsupported));
}

TEST(SupervisorLink, WithoutHooksReferencesAreTheNodesOwnAddresses) {
  ScratchDir dir;
  EventLog events;
  Supervisor sup(quiet_options(dir.path, events));
  ASSERT_TRUE(sup.start({listener("a"), node("b", {"--print", "a={addr:a}"})}));
  auto st = sup.status();
  EXPECT_TRUE(eventually([&] {
    return read_file(find_status(st, "b")->log)
               .find(fmt::format("a=127.0.0.1:{}", find_status(st, "a")->port)) !=
           std::string::npos;
  }));
}

}  // namespace
}  // namespace fl::supervisor::testing
