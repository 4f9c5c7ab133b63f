// GET /metrics: the nodes of a running cluster in the Prometheus text exposition format
// (version 0.0.4): per-node up, paused and restarts, and every numeric INFO field of the
// reference nodes as one gauge per field, `faultline_info_<field>{node,kind,group}`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "harness/check/evidence.h"
#include "harness/supervisor/supervisor.h"

namespace fl::control {

// `name` made a valid metric name component: every character outside [a-zA-Z0-9_:] becomes '_',
// and a leading digit gets a '_' in front.
std::string metric_name(std::string_view name);

// A label value escaped for the text format (backslash, double quote, newline).
std::string label_value(std::string_view value);

// The exposition text. `info` holds the INFO of the nodes that answered (any order); fields whose
// values are not numbers are left out.
std::string render_metrics(const std::vector<supervisor::NodeStatus>& nodes,
                           const std::vector<check::NodeStats>& info);

}  // namespace fl::control
