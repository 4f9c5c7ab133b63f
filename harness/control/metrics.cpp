#include "harness/control/metrics.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <map>

namespace fl::control {
namespace {

bool name_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

// A finite number in the text, whole; nullopt for anything else ("master", "12ms", "").
std::optional<double> number(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::string format_value(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string node_labels(const supervisor::NodeStatus& n) {
  return fmt::format(R"(node="{}",kind="{}",group="{}")", label_value(n.id), label_value(n.kind),
                     label_value(n.group));
}

}  // namespace

std::string metric_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) out += name_char(c, false) ? c : '_';
  if (out.empty() || !name_char(out.front(), true)) out.insert(out.begin(), '_');
  return out;
}

std::string label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_metrics(const std::vector<supervisor::NodeStatus>& nodes,
                           const std::vector<check::NodeStats>& info) {
  std::string out;
  out +=
      "# HELP faultline_node_up 1 when the node's process is running and passed its readiness "
      "probe (not paused).\n# TYPE faultline_node_up gauge\n";
  for (const auto& n : nodes) {
    out += fmt::format("faultline_node_up{{{}}} {}\n", node_labels(n),
                       n.state == supervisor::NodeState::ready ? 1 : 0);
  }
  out +=
      "# HELP faultline_node_paused 1 when the node's processes are stopped (SIGSTOP).\n"
      "# TYPE faultline_node_paused gauge\n";
  for (const auto& n : nodes) {
    out += fmt::format("faultline_node_paused{{{}}} {}\n", node_labels(n),
                       n.state == supervisor::NodeState::paused ? 1 : 0);
  }
  out +=
      "# HELP faultline_node_restarts_total Restarts made by the node's restart policy.\n"
      "# TYPE faultline_node_restarts_total counter\n";
  for (const auto& n : nodes) {
    out += fmt::format("faultline_node_restarts_total{{{}}} {}\n", node_labels(n), n.restarts);
  }

  // One family per INFO field, its samples together (the format requires it), in name order.
  std::map<std::string, std::vector<std::string>> families;
  std::map<std::string, std::string> field_of;
  for (const auto& s : info) {
    supervisor::NodeStatus labels;
    labels.id = s.id;
    labels.kind = s.kind;
    labels.group = s.group;
    std::map<std::string, bool> seen;  // a field repeated within one INFO: its first value
    for (const auto& [field, value] : s.info) {
      auto v = number(value);
      if (!v) continue;
      std::string name = "faultline_info_" + metric_name(field);
      if (seen[name]) continue;
      seen[name] = true;
      field_of.emplace(name, field);
      families[name].push_back(
          fmt::format("{}{{{}}} {}\n", name, node_labels(labels), format_value(*v)));
    }
  }
  for (const auto& [name, samples] : families) {
    out += fmt::format("# HELP {} INFO field '{}' of the reference nodes.\n# TYPE {} gauge\n", name,
                       field_of[name], name);
    for (const auto& s : samples) out += s;
  }
  return out;
}

}  // namespace fl::control
