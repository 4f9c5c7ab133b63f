#include "harness/load/workload.h"

#include <fmt/core.h>

#include <charconv>
#include <numeric>

namespace fl::load {

Outcome error_outcome(const Operation& op, const resp::Value& reply) {
  // -NOQUORUM: a replicated write that reached some replicas. -TIMEOUT (LB, cache): sent onward
  // and not answered in time, or its onward connection broke.
  const std::string_view code = std::string_view(reply.str).substr(0, reply.str.find(' '));
  const bool may_apply = !op.read_only && (code == "NOQUORUM" || code == "TIMEOUT");
  return {may_apply ? history::Type::info : history::Type::fail, history::Value::null(), reply.str};
}

Outcome unexpected_reply(const Operation& op, const resp::Value& reply) {
  std::string what;
  switch (reply.type) {
    case resp::Type::simple_string:
      what = "+" + reply.str;
      break;
    case resp::Type::error:
      what = "-" + reply.str;
      break;
    case resp::Type::integer:
      what = ":" + std::to_string(reply.integer);
      break;
    case resp::Type::bulk_string:
      what = "bulk of " + std::to_string(reply.str.size()) + " bytes";
      break;
    case resp::Type::array:
      what = "array of " + std::to_string(reply.elements.size());
      break;
    case resp::Type::null:
      what = "nil";
      break;
  }
  return {op.read_only ? history::Type::fail : history::Type::info, history::Value::null(),
          "unexpected reply to " + (op.command.empty() ? std::string("?") : op.command[0]) + ": " +
              what};
}

MixChooser::MixChooser(std::span<const std::string_view> names,
                       std::span<const double> default_weights,
                       const std::map<std::string, double>& weights) {
  double total = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    double w = default_weights[i];
    if (!weights.empty()) {
      auto it = weights.find(std::string(names[i]));
      w = it == weights.end() ? 0 : it->second;
    }
    total += std::max(w, 0.0);
    cumulative_.push_back(total);
  }
}

size_t MixChooser::next(Rng& rng) const {
  double x = rng.unit() * cumulative_.back();
  for (size_t i = 0; i < cumulative_.size(); ++i) {
    if (x < cumulative_[i]) return i;
  }
  // Rounding at the top end: the last operation with a positive weight.
  for (size_t i = cumulative_.size(); i-- > 0;) {
    if (i == 0 || cumulative_[i] > cumulative_[i - 1]) return i;
  }
  return 0;
}

std::string key_name(std::string_view prefix, uint64_t index, bool warmup) {
  return fmt::format("{}{}{}", warmup ? "warmup:" : "", prefix, index);
}

std::vector<Command> delete_keys(std::string_view prefix, uint64_t keys) {
  std::vector<Command> out;
  out.reserve(keys);
  for (uint64_t k = 0; k < keys; ++k) out.push_back({"DEL", key_name(prefix, k, false)});
  return out;
}

Operation keyed_operation(std::string_view prefix, uint64_t k, bool warmup) {
  Operation op;
  op.key = key_name(prefix, k, warmup);
  op.key_index = k;
  op.warmup = warmup;
  return op;
}

Operation as_read(Operation op, std::string_view command) {
  op.f = "read";
  op.read_only = true;
  op.command = {std::string(command), *op.key};
  return op;
}

std::optional<Operation> next_final_key(std::string_view prefix, uint64_t keys, uint64_t& cursor) {
  if (cursor >= keys) return std::nullopt;
  return keyed_operation(prefix, cursor++, false);
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

const WorkloadKind* find_workload(std::string_view name) {
  for (const auto& k : workload_kinds()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

result<std::unique_ptr<Workload>> make_workload(const plan::WorkloadSpec& spec) {
  const WorkloadKind* kind = find_workload(spec.kind);
  if (!kind)
    return Error(errc::invalid_argument, fmt::format("unknown workload kind '{}'", spec.kind));
  return kind->make(spec);
}

}  // namespace fl::load
