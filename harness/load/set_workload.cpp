// `set`: each key is a set of integers. Adds of elements unique across the run (SADD), reads of
// the whole set (SMEMBERS), and a final read of every set, for the set-full checker (lost, stale
// and never-read elements).
#include <algorithm>
#include <array>

#include "harness/load/workload.h"

namespace fl::load {

extern const std::array<std::string_view, 2> kSetOps;
const std::array<std::string_view, 2> kSetOps = {"add", "read"};

namespace {

constexpr std::array<double, 2> kDefaultMix = {9, 1};
constexpr size_t kAdd = 0;

class SetWorkload final : public Workload {
 public:
  explicit SetWorkload(const plan::WorkloadSpec& spec)
      : prefix_(spec.key_prefix + "s"),
        keys_(static_cast<uint64_t>(spec.keys)), mix_(kSetOps, kDefaultMix, spec.mix) {}

  std::vector<Command> setup() const override { return delete_keys(prefix_, keys_); }

  Operation next(Rng& rng, KeyChooser& keys, int64_t, bool warmup) override {
    size_t which = mix_.next(rng);
    uint64_t k = keys.next(rng, which == kAdd);
    Operation op = keyed_operation(prefix_, k, warmup);
    if (which != kAdd) return as_read(std::move(op), "SMEMBERS");
    int64_t v = next_value_++;
    op.f = "add";
    op.value = history::Value::of(v);
    op.command = {"SADD", *op.key, std::to_string(v)};
    return op;
  }

  Interpretation interpret(const Operation& op, const resp::Value& reply) const override {
    if (reply.type == resp::Type::error) return {error_outcome(op, reply), {}};
    if (op.f == "add") {
      // 0 (already a member) cannot happen with unique elements unless a retry applied it twice;
      // either way the element is in the set.
      if (reply.type == resp::Type::integer) return {{history::Type::ok, op.value, {}}, {}};
      return {unexpected_reply(op, reply), {}};
    }
    if (reply.type != resp::Type::array) return {unexpected_reply(op, reply), {}};
    std::vector<history::Value> members;
    members.reserve(reply.elements.size());
    for (const auto& e : reply.elements) {
      auto v = e.type == resp::Type::bulk_string ? parse_int(e.str) : std::nullopt;
      if (!v) return {unexpected_reply(op, reply), {}};
      members.push_back(history::Value::of(*v));
    }
    std::sort(members.begin(), members.end(), [](const history::Value& a, const history::Value& b) {
      return a.integer < b.integer;
    });
    return {{history::Type::ok, history::Value::of(std::move(members)), {}}, {}};
  }

  std::optional<Operation> final_op(int64_t) override {
    auto op = next_final_key(prefix_, keys_, final_next_);
    if (!op) return std::nullopt;
    return as_read(std::move(*op), "SMEMBERS");
  }

 private:
  // The keys' names: the workload's key_prefix and "s", then the key's index.
  std::string prefix_;
  uint64_t keys_;
  MixChooser mix_;
  int64_t next_value_ = 1;
  uint64_t final_next_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_set_workload(const plan::WorkloadSpec& spec) {
  return std::make_unique<SetWorkload>(spec);
}

}  // namespace fl::load
