// `counter`: each key is a counter. Increments by 1..5 (INCRBY) and reads (GET, absent = 0), for
// the counter checker: every read lies between the acknowledged and the attempted sums.
#include <array>

#include "harness/load/workload.h"

namespace fl::load {

extern const std::array<std::string_view, 2> kCounterOps;
const std::array<std::string_view, 2> kCounterOps = {"add", "read"};

namespace {

constexpr std::array<double, 2> kDefaultMix = {4, 1};
constexpr size_t kAdd = 0;

class CounterWorkload final : public Workload {
 public:
  explicit CounterWorkload(const plan::WorkloadSpec& spec)
      : prefix_(spec.key_prefix + "c"),
        keys_(static_cast<uint64_t>(spec.keys)), mix_(kCounterOps, kDefaultMix, spec.mix) {}

  std::vector<Command> setup() const override { return delete_keys(prefix_, keys_); }

  Operation next(Rng& rng, KeyChooser& keys, int64_t, bool warmup) override {
    size_t which = mix_.next(rng);
    uint64_t k = keys.next(rng, which == kAdd);
    Operation op = keyed_operation(prefix_, k, warmup);
    if (which != kAdd) return as_read(std::move(op), "GET");
    auto delta = static_cast<int64_t>(rng.uniform(1, 5));
    op.f = "add";
    op.value = history::Value::of(delta);
    op.command = {"INCRBY", *op.key, std::to_string(delta)};
    return op;
  }

  Interpretation interpret(const Operation& op, const resp::Value& reply) const override {
    if (reply.type == resp::Type::error) return {error_outcome(op, reply), {}};
    if (op.f == "add") {
      if (reply.type == resp::Type::integer) return {{history::Type::ok, op.value, {}}, {}};
      return {unexpected_reply(op, reply), {}};
    }
    if (reply.type == resp::Type::null) return {{history::Type::ok, history::Value::of(0), {}}, {}};
    if (reply.type == resp::Type::bulk_string) {
      if (auto v = parse_int(reply.str))
        return {{history::Type::ok, history::Value::of(*v), {}}, {}};
    }
    return {unexpected_reply(op, reply), {}};
  }

  std::optional<Operation> final_op(int64_t) override {
    auto op = next_final_key(prefix_, keys_, final_next_);
    if (!op) return std::nullopt;
    return as_read(std::move(*op), "GET");
  }

 private:
  // The keys' names: the workload's key_prefix and "c", then the key's index.
  std::string prefix_;
  uint64_t keys_;
  MixChooser mix_;
  uint64_t final_next_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_counter_workload(const plan::WorkloadSpec& spec) {
  return std::make_unique<CounterWorkload>(spec);
}

}  // namespace fl::load
