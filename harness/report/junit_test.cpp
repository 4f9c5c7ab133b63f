#include "harness/report/junit.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fl::report {
namespace {

namespace fs = std::filesystem;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class JunitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "fl-junit-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // xmllint's verdict on `xml` against tests/data/junit.xsd: "" when it validates, else what
  // xmllint said.
  std::string validate(const std::string& xml) {
    const fs::path file = dir_ / "junit.xml";
    const fs::path log = dir_ / "xmllint.log";
    std::ofstream(file) << xml;
    const std::string cmd = "xmllint --noout --schema '" FL_SOURCE_DIR "/tests/data/junit.xsd' '" +
                            file.string() + "' >'" + log.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    if (status == 0) return {};
    std::ifstream in(log);
    std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return said.empty() ? "xmllint failed to run" : said;
  }

  fs::path dir_;
};

RunReport mixed_report() {
  RunReport r;
  r.faultline_version = "0.1.0";
  r.plan = "seeded-bug";
  r.plan_file = "plans/seeded-bug.toml";
  r.seed = 42;
  r.run_dir = "runs/seeded-bug-20261128T100000";
  r.started_at = "2026-11-28T10:00:00Z";
  r.elapsed_seconds = 9.5;
  r.workload = "register";
  r.phases.push_back({"main", 900, 50, 50, 0, 100, {1, 2, 3, 4, 5}});
  // Hostile text: markup, quotes, an escape sequence, a NUL, invalid UTF-8, a CDATA end.
  const std::string hostile = std::string("read <k7> & \"got\" 'x' \x1b[31m ]]> \x01") +
                              std::string(1, '\0') + "\xff\xfe bad \xc3\xa9 ok";
  r.checks.push_back(
      {"linearizable", "cas-register", "valid", "50 keys linearizable", "{}", 0.5, ""});
  r.checks.push_back(
      {"set-full", "", "invalid", "2 acknowledged writes lost: " + hostile,
       R"({"lost":["k1","k2"],"lost_count":2,"elapsed_ms":1.38951147E2,"window":{"p99":2.5E-1},"note":")" +
           std::string(10000, 'x') + R"("})",
       0.25, ""});
  r.checks.push_back({"availability", "", "unknown", "no operation in a window", "{}", 0, ""});
  r.checks.push_back({"availability", "", "valid", "same name twice", "{}", 0, ""});
  r.gates.push_back({"p99 < 5ms", "p99", 5, 3, true, "p99 3ms, limit < 5ms: passed"});
  r.gates.push_back({"throughput > 800/s", "throughput", 800, 100, false,
                     "throughput 100/s, limit > 800/s: missed"});
  r.verdict = "invalid";
  r.exit_code = 1;
  return r;
}

TEST_F(JunitTest, EveryCheckAndGateIsATestCaseAndTheFileValidates) {
  const std::string xml = junit_xml(mixed_report());
  EXPECT_EQ(validate(xml), "") << xml;
  EXPECT_NE(xml.find(R"(<testsuite name="faultline.seeded-bug" tests="6" failures="2" )"
                     R"(errors="0" skipped="1" time="9.500" timestamp="2026-11-28T10:00:00">)"),
            std::string::npos)
      << xml;
  EXPECT_EQ(count(xml, "<testcase "), 6u);
  EXPECT_NE(xml.find(R"x(classname="faultline.seeded-bug" name="linearizable(cas-register)" )x"
                     R"(time="0.500"/>)"),
            std::string::npos)
      << xml;
  // The invalid check: a failure whose message is the summary and whose text is the evidence.
  EXPECT_NE(xml.find(R"(<failure message="2 acknowledged writes lost: read &lt;k7&gt; &amp; )"
                     R"(&quot;got&quot; &apos;x&apos; \x1b[31m ]]&gt; \x01\x00)"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("lost: [\"k1\",\"k2\"]\nlost_count: 2\nelapsed_ms: 138.951147\nwindow: "
                     "{\"p99\":0.25}\n"),
            std::string::npos)
      << xml;
  // Evidence is bounded.
  EXPECT_NE(xml.find("more bytes in results.json"), std::string::npos);
  EXPECT_LT(xml.size(), 12000u);
  // Invalid UTF-8 is replaced, valid UTF-8 kept.
  EXPECT_NE(xml.find("\xef\xbf\xbd\xef\xbf\xbd bad \xc3\xa9 ok"), std::string::npos);
  // The unknown check is skipped; names stay unique.
  EXPECT_NE(xml.find(R"(<skipped message="no operation in a window">)"), std::string::npos);
  EXPECT_NE(xml.find(R"(name="availability #2")"), std::string::npos);
  // Gates: one case each; the missed one fails.
  EXPECT_NE(xml.find(R"(name="gate: p99 &lt; 5ms" time="0.000"/>)"), std::string::npos) << xml;
  EXPECT_NE(xml.find(R"(name="gate: throughput &gt; 800/s" time="0.000">)"
                     "\n"
                     R"(      <failure message="throughput 100/s, limit &gt; 800/s: missed" )"
                     R"(type="gate">)"),
            std::string::npos)
      << xml;
  // Properties and the summary without colour.
  EXPECT_NE(xml.find(R"(<property name="seed" value="42"/>)"), std::string::npos);
  EXPECT_NE(xml.find(R"(<property name="replay" value="faultline run )"
                     R"(runs/seeded-bug-20261128T100000/plan.toml"/>)"),
            std::string::npos);
  EXPECT_NE(xml.find("<system-out>faultline run seeded-bug (seed 42)"), std::string::npos);
  EXPECT_NE(xml.find("Result: invalid (exit 1)"), std::string::npos);
}

TEST_F(JunitTest, AHarnessErrorIsAnErrorTestCase) {
  RunReport r;
  r.plan = "broken";
  r.verdict = "error";
  r.exit_code = 3;
  r.error = "node db-0 failed to start: <exit 1>";
  const std::string xml = junit_xml(r);
  EXPECT_EQ(validate(xml), "") << xml;
  EXPECT_NE(xml.find(R"(tests="1" failures="0" errors="1" skipped="0")"), std::string::npos);
  EXPECT_NE(xml.find(R"(name="harness")"), std::string::npos);
  EXPECT_NE(xml.find(R"(<error message="node db-0 failed to start: &lt;exit 1&gt;" type="error">)"),
            std::string::npos)
      << xml;
}

TEST_F(JunitTest, TheSchemaRejectsWhatIsNotJunit) {
  // The validation is not vacuous: a testcase without a name, and a failure outside a testcase,
  // are refused.
  EXPECT_NE(validate(R"(<testsuites><testsuite name="s" tests="1"><testcase/></testsuite>)"
                     R"(</testsuites>)"),
            "");
  EXPECT_NE(validate(R"(<testsuites><testsuite name="s" tests="1"><failure/></testsuite>)"
                     R"(</testsuites>)"),
            "");
  EXPECT_EQ(validate(R"(<testsuites><testsuite name="s" tests="1"><testcase name="c"/>)"
                     R"(</testsuite></testsuites>)"),
            "");
}

TEST(XmlEscape, AttributeSafeForEveryByte) {
  EXPECT_EQ(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
  EXPECT_EQ(xml_escape("x\ty\nz\r"), "x&#9;y&#10;z&#13;");
  EXPECT_EQ(xml_escape(std::string("\x01\x1f", 2)), "\\x01\\x1f");
  EXPECT_EQ(xml_escape("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  EXPECT_EQ(xml_escape("\xef\xbf\xbf"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // U+FFFF
  EXPECT_EQ(xml_escape("\xf0\x9f\x92\xa5"), "\xf0\x9f\x92\xa5");                  // kept
  EXPECT_EQ(xml_escape("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd");                  // cut short
}

}  // namespace
}  // namespace fl::report
