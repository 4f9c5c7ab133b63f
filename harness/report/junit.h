// junit.xml: a run's checks and gates as JUnit test cases, so CI systems (Jenkins, GitLab,
// GitHub test reporters) show chaos results natively. Shape and mapping: docs/results-format.md.
#pragma once

#include <string>
#include <string_view>

#include "harness/report/results.h"

namespace fl::report {

// One <testsuites> with one <testsuite name="faultline.<plan>">: a <testcase> per check and per
// gate; an invalid check or a missed gate is a <failure> carrying the key evidence, an unknown
// check is <skipped>, a harness error (verdict "error") an extra testcase "harness" with an
// <error>. <properties> name the seed, plan, replay command and run directory; <system-out>
// holds the terminal summary without colour. Valid XML 1.0 whatever the text it carries.
std::string junit_xml(const RunReport& r);

// Text for XML attribute values (and content): & < > " ' escaped, tab, newline and carriage return
// as character references (kept in attributes), other characters XML 1.0 forbids (C0 controls,
// U+FFFE, U+FFFF) written as visible "\xNN" text, and invalid UTF-8 replaced with U+FFFD.
std::string xml_escape(std::string_view text);

}  // namespace fl::report
