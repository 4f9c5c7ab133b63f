#include "harness/plan/plan.h"

#include <gtest/gtest.h>

namespace fl::plan {
namespace {

TemplateContext context() {
  TemplateContext ctx;
  ctx.id = "redis-1";
  ctx.replica = 1;
  ctx.port = 7001;
  ctx.dir = "/run/x/nodes/redis-1";
  ctx.bindir = "/opt/fl/bin";
  ctx.port_of = [](std::string_view id) -> std::optional<uint16_t> {
    if (id == "db-0") return 7100;
    return std::nullopt;
  };
  return ctx;
}

std::string expand(std::string_view text) {
  auto r = expand_template(text, context());
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : "";
}

std::string failure(std::string_view text) {
  auto r = expand_template(text, context());
  EXPECT_FALSE(r) << text;
  return r ? "" : r.error().message;
}

TEST(Template, ExpandsEveryName) {
  EXPECT_EQ(expand("{port}"), "7001");
  EXPECT_EQ(expand("--dir={dir}"), "--dir=/run/x/nodes/redis-1");
  EXPECT_EQ(expand("{id}/{replica}"), "redis-1/1");
  EXPECT_EQ(expand("{host}:{port}"), "127.0.0.1:7001");
  EXPECT_EQ(expand("{bindir}/faultline-db"), "/opt/fl/bin/faultline-db");
  EXPECT_EQ(expand("db={host}:{port:db-0}"), "db=127.0.0.1:7100");
  EXPECT_EQ(expand(""), "");
  EXPECT_EQ(expand("plain"), "plain");
}

TEST(Template, Escapes) {
  EXPECT_EQ(expand("{{port}}"), "{port}");
  EXPECT_EQ(expand("{{{port}}}"), "{7001}");
  EXPECT_EQ(expand("{{\"a\": 1}}"), "{\"a\": 1}");
}

TEST(Template, Errors) {
  EXPECT_EQ(failure("{prot}"), "unknown template '{prot}' (did you mean '{port}'?)");
  EXPECT_EQ(failure("{port:redis-9}"), "template '{port:redis-9}' names no instance 'redis-9'");
  EXPECT_EQ(failure("{port:}"), "template '{port:}' names no instance ''");
  EXPECT_EQ(failure("a{port"), "unterminated '{' in \"a{port\" (write '{{' for a literal '{')");
  EXPECT_EQ(failure("a}b"), "unmatched '}' in \"a}b\" (write '}}' for a literal '}')");
  EXPECT_NE(failure("{\"a\": 1}").find("write '{{' and '}}' for literal braces"),
            std::string::npos);
}

TEST(Template, NoPortLookupMeansUnknownInstance) {
  TemplateContext ctx;
  EXPECT_FALSE(expand_template("{port:db-0}", ctx));
}

TEST(Template, AddressOfAnotherInstanceWithoutAddressOf) {
  EXPECT_EQ(expand("--db={addr:db-0}"), "--db=127.0.0.1:7100");
  EXPECT_EQ(expand("{host:db-0}"), "127.0.0.1");
  EXPECT_EQ(failure("{addr:db-9}"), "template '{addr:db-9}' names no instance 'db-9'");
  EXPECT_EQ(failure("{host:}"), "template '{host:}' names no instance ''");
}

// With address_of set, every form naming another instance goes through it (a proxy listener
// or a namespace address); {host} and {port} stay the node's own.
TEST(Template, AddressOfRoutesEveryReference) {
  TemplateContext ctx = context();
  std::vector<std::string> asked;
  ctx.address_of = [&](std::string_view id) -> std::optional<std::pair<std::string, uint16_t>> {
    asked.emplace_back(id);
    if (id == "db-0") return std::make_pair(std::string("10.213.0.5"), uint16_t{9100});
    return std::nullopt;
  };
  auto ok = [&](std::string_view text) {
    auto r = expand_template(text, ctx);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : "";
  };
  EXPECT_EQ(ok("{addr:db-0}"), "10.213.0.5:9100");
  EXPECT_EQ(ok("{host:db-0}"), "10.213.0.5");
  EXPECT_EQ(ok("{port:db-0}"), "9100");
  EXPECT_EQ(ok("{host}:{port}"), "127.0.0.1:7001");
  EXPECT_EQ(asked, (std::vector<std::string>{"db-0", "db-0", "db-0"}));
  auto bad = expand_template("{addr:db-9}", ctx);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "template '{addr:db-9}' names no instance 'db-9'");
}

TEST(Template, PortRefs) {
  EXPECT_EQ(template_port_refs("--peers={port:a},{port:b-1} {port} {{port:c}}"),
            (std::vector<std::string>{"a", "b-1"}));
  EXPECT_EQ(template_port_refs("{addr:a} {host:b}:{port:c} {host}"),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(template_port_refs("no refs").empty());
}

}  // namespace
}  // namespace fl::plan
