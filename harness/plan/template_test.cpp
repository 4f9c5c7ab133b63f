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

TEST(Template, PortRefs) {
  EXPECT_EQ(template_port_refs("--peers={port:a},{port:b-1} {port} {{port:c}}"),
            (std::vector<std::string>{"a", "b-1"}));
  EXPECT_TRUE(template_port_refs("no refs").empty());
}

}  // namespace
}  // namespace fl::plan
