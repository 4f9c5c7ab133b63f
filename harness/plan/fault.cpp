#include "harness/plan/fault.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>

namespace fl::plan {
namespace {

bool is_id(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

result<Selector> parse_plain(std::string_view text) {
  Selector sel;
  sel.text = std::string(text);
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    if (!is_id(text)) {
      return Error(errc::invalid_argument,
                   fmt::format("\"{}\" is not a node id ([a-z0-9_-]+) or a selector", text));
    }
    sel.name = std::string(text);
    if (text == "client") sel.kind = Selector::Kind::client;
    return sel;
  }
  const std::string_view group = text.substr(0, colon);
  if (group == "region") {
    const std::string_view name = text.substr(colon + 1);
    if (!is_id(name)) {
      return Error(errc::invalid_argument,
                   fmt::format("\"{}\": a region name must match [a-z0-9_-]+", text));
    }
    sel.kind = Selector::Kind::region;
    sel.name = std::string(name);
    return sel;
  }
  if (group != "db") {
    return Error(
        errc::invalid_argument,
        fmt::format("\"{}\": only the db group has shard selectors (db:shard=<s>...); regions "
                    "are region:<name>",
                    text));
  }
  sel.name = "db";
  std::string_view rest = text.substr(colon + 1);
  constexpr std::string_view kShard = "shard=";
  if (!rest.starts_with(kShard)) {
    return Error(errc::invalid_argument,
                 fmt::format("\"{}\": expected shard=<s> after \"db:\"", text));
  }
  rest.remove_prefix(kShard.size());
  const auto end = rest.find(':');
  const std::string_view number = rest.substr(0, end);
  int shard = 0;
  auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), shard);
  if (ec != std::errc() || p != number.data() + number.size() || number.empty() || shard < 0) {
    return Error(errc::invalid_argument,
                 fmt::format("\"{}\": the shard must be a number >= 0, got \"{}\"", text, number));
  }
  sel.shard = shard;
  if (end == std::string_view::npos) {
    sel.kind = Selector::Kind::shard;
    return sel;
  }
  const std::string_view role = rest.substr(end + 1);
  if (role == "master") {
    sel.kind = Selector::Kind::master;
  } else if (role == "slave" || role == "slaves") {
    sel.kind = Selector::Kind::slaves;
  } else {
    return Error(errc::invalid_argument,
                 fmt::format("\"{}\": unknown role \"{}\" (master or slave)", text, role));
  }
  return sel;
}

}  // namespace

std::string_view to_string(FaultAction a) {
  switch (a) {
    case FaultAction::kill:
      return "kill";
    case FaultAction::terminate:
      return "terminate";
    case FaultAction::pause:
      return "pause";
    case FaultAction::restart:
      return "restart";
    case FaultAction::restart_wiped:
      return "restart-wiped";
    case FaultAction::partition:
      return "partition";
    case FaultAction::link:
      return "link";
    case FaultAction::clock:
      return "clock";
  }
  return "kill";
}

std::string_view to_string(PartitionShape s) {
  switch (s) {
    case PartitionShape::isolate:
      return "isolate";
    case PartitionShape::halves:
      return "halves";
    case PartitionShape::random_halves:
      return "random-halves";
    case PartitionShape::bridge:
      return "bridge";
    case PartitionShape::majorities_ring:
      return "majorities-ring";
    case PartitionShape::primaries:
      return "primaries";
    case PartitionShape::groups:
      return "groups";
    case PartitionShape::one_way:
      return "one-way";
  }
  return "isolate";
}

std::string_view to_string(CutMode m) { return m == CutMode::drop ? "drop" : "reject"; }

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::both:
      return "both";
    case Direction::up:
      return "up";
    case Direction::down:
      return "down";
  }
  return "both";
}

std::string_view to_string(Toxic::Kind k) {
  switch (k) {
    case Toxic::Kind::latency:
      return "latency";
    case Toxic::Kind::bandwidth:
      return "bandwidth";
    case Toxic::Kind::loss:
      return "loss";
    case Toxic::Kind::reset:
      return "reset";
    case Toxic::Kind::stall:
      return "stall";
    case Toxic::Kind::slow_close:
      return "slow-close";
    case Toxic::Kind::blackhole:
      return "blackhole";
    case Toxic::Kind::refuse:
      return "refuse";
  }
  return "latency";
}

std::string_view to_string(Toxic::Distribution d) {
  switch (d) {
    case Toxic::Distribution::uniform:
      return "uniform";
    case Toxic::Distribution::normal:
      return "normal";
    case Toxic::Distribution::pareto:
      return "pareto";
  }
  return "normal";
}

std::string_view to_string(SelectMode m) {
  switch (m) {
    case SelectMode::all:
      return "all";
    case SelectMode::one:
      return "one";
    case SelectMode::minority:
      return "minority";
    case SelectMode::majority:
      return "majority";
    case SelectMode::percent:
      return "percent";
  }
  return "all";
}

std::string_view to_string(NetworkBackend b) {
  switch (b) {
    case NetworkBackend::direct:
      return "direct";
    case NetworkBackend::proxy:
      return "proxy";
    case NetworkBackend::netns:
      return "netns";
  }
  return "direct";
}

result<Selector> parse_selector(std::string_view text) {
  constexpr std::string_view kRandom = "random(";
  if (text.starts_with(kRandom)) {
    if (!text.ends_with(')')) {
      return Error(errc::invalid_argument, fmt::format("\"{}\": missing ')'", text));
    }
    const std::string_view inner = text.substr(kRandom.size(), text.size() - kRandom.size() - 1);
    if (inner.starts_with(kRandom)) {
      return Error(errc::invalid_argument, fmt::format("\"{}\": random() does not nest", text));
    }
    auto sel = parse_plain(inner);
    if (!sel) return sel;
    if (sel->kind == Selector::Kind::client) {
      return Error(errc::invalid_argument,
                   fmt::format("\"{}\": client is one pseudo-node, random() has nothing to draw",
                               text));
    }
    sel->random = true;
    sel->text = std::string(text);
    return sel;
  }
  return parse_plain(text);
}

std::vector<const Instance*> selector_candidates(const Selector& s,
                                                 const std::vector<Instance>& instances) {
  std::vector<const Instance*> out;
  for (const auto& i : instances) {
    bool match = false;
    switch (s.kind) {
      case Selector::Kind::instance:
        // A name that is a group id means the group (the loader keeps ids unique).
        match = i.id == s.name || i.group == s.name;
        break;
      case Selector::Kind::group:
        match = i.group == s.name;
        break;
      case Selector::Kind::shard:
      case Selector::Kind::master:
      case Selector::Kind::slaves:
        match = i.group == s.name && i.shard == s.shard;
        break;
      case Selector::Kind::region:  // resolved against [[network.region]] by the schedule
      case Selector::Kind::client:
        break;
    }
    if (match) out.push_back(&i);
  }
  return out;
}

namespace {

void add_members(const Plan& plan, const std::vector<Instance>& instances, const Selector& s,
                 std::vector<std::string>& regions_seen, std::vector<bool>& picked,
                 bool& client) {
  if (s.kind == Selector::Kind::client) {
    client = true;
    return;
  }
  if (s.kind == Selector::Kind::region) {
    // A region naming itself (directly or through another) adds nothing more.
    if (std::find(regions_seen.begin(), regions_seen.end(), s.name) != regions_seen.end()) return;
    regions_seen.push_back(s.name);
    for (const auto& region : plan.network.regions) {
      if (region.name != s.name) continue;
      for (const auto& member : region.nodes) {
        add_members(plan, instances, member, regions_seen, picked, client);
      }
    }
    return;
  }
  for (const Instance* i : selector_candidates(s, instances)) {
    picked[static_cast<size_t>(i - instances.data())] = true;
  }
}

}  // namespace

std::vector<std::string> static_members(const Plan& plan, const Selector& s) {
  const std::vector<Instance> instances = plan.instances();
  std::vector<bool> picked(instances.size(), false);
  std::vector<std::string> regions_seen;
  bool client = false;
  add_members(plan, instances, s, regions_seen, picked, client);
  std::vector<std::string> out;
  for (size_t i = 0; i < instances.size(); ++i) {
    if (picked[i]) out.push_back(instances[i].id);
  }
  if (client) out.emplace_back("client");
  return out;
}

NetworkBackend network_backend(const Plan& plan) {
  if (plan.network.backend) return *plan.network.backend;
  const bool links = !plan.network.links.empty() ||
                     std::any_of(plan.faults.begin(), plan.faults.end(), [](const FaultSpec& f) {
                       return f.action == FaultAction::partition || f.action == FaultAction::link;
                     });
  return links ? NetworkBackend::proxy : NetworkBackend::direct;
}

}  // namespace fl::plan
