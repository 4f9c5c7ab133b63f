// Pieces of report.html shared between the page (html.cpp) and the checks section
// (html_checks.cpp): escaping, and the sections that render check verdicts and their evidence.
#pragma once

#include "harness/report/results.h"

#include <string>
#include <string_view>

namespace fl::report {

// Text for HTML content and attribute values: & < > " ' escaped.
std::string html_escape(std::string_view text);

// <section id="checks">: one <div class="check" data-kind=".." data-verdict=".."> per check, in
// plan order, with its verdict, summary and evidence (its details); for an invalid
// linearizable check with a failing window, violation_timeline_svg() of it. Gates follow, one
// <div class="gate" data-passed="true|false"> each.
std::string checks_section(const RunReport& r);

// For a linearizable check whose details carry `failing_window` (docs/checkers.md): an
// <svg class="violation-timeline"> with one lane per process, each operation of the window a
// bar from invocation to completion (<g class="op" data-process=".." data-type="ok|fail|info">),
// pending operations open-ended, and the illegal point (the failing operation, where the
// linearizable prefix ends) marked by <g class="illegal-point">. "" when there is no window.
std::string violation_timeline_svg(const CheckOutcome& c);

}  // namespace fl::report
