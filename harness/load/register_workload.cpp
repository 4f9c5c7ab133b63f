// `register`: each key is a register of integers. Reads (GET), writes of values unique across
// the run (SET), and compare-and-set (SET k new IFEQ expected), checked for linearizability.
#include <array>

#include "harness/load/workload.h"

namespace fl::load {

extern const std::array<std::string_view, 3> kRegisterOps;
const std::array<std::string_view, 3> kRegisterOps = {"read", "write", "cas"};

namespace {

constexpr std::array<double, 3> kDefaultMix = {1, 1, 1};
constexpr size_t kRead = 0, kWrite = 1;

class RegisterWorkload final : public Workload {
 public:
  explicit RegisterWorkload(const plan::WorkloadSpec& spec)
      : prefix_(spec.key_prefix + "k"),
        keys_(static_cast<uint64_t>(spec.keys)),
        mix_(kRegisterOps, kDefaultMix, spec.mix),
        last_sent_(keys_) {}

  std::vector<Command> setup() const override { return delete_keys(prefix_, keys_); }

  Operation next(Rng& rng, KeyChooser& keys, int64_t, bool warmup) override {
    size_t which = mix_.next(rng);
    uint64_t k = keys.next(rng, which != kRead);
    Operation op = keyed_operation(prefix_, k, warmup);
    if (which == kRead) return as_read(std::move(op), "GET");
    int64_t v = next_value_++;
    // Expect the value this generator last sent to the key: a fair share of cas succeed, and
    // the operation sequence depends only on the seed, never on how the replies raced.
    const int64_t expected = warmup ? 0 : last_sent_[k].value_or(0);
    if (!warmup) last_sent_[k] = v;
    if (which == kWrite) {
      op.f = "write";
      op.value = history::Value::of(v);
      op.command = {"SET", *op.key, std::to_string(v)};
      return op;
    }
    op.f = "cas";
    op.value = history::Value::of({history::Value::of(expected), history::Value::of(v)});
    op.command = {"SET", *op.key, std::to_string(v), "IFEQ", std::to_string(expected)};
    return op;
  }

  Interpretation interpret(const Operation& op, const resp::Value& reply) const override {
    if (reply.type == resp::Type::error) return {error_outcome(op, reply), {}};
    if (op.f == "read") {
      if (reply.type == resp::Type::null)
        return {{history::Type::ok, history::Value::null(), {}}, {}};
      if (reply.type == resp::Type::bulk_string) {
        if (auto v = parse_int(reply.str))
          return {{history::Type::ok, history::Value::of(*v), {}}, {}};
      }
      return {unexpected_reply(op, reply), {}};
    }
    bool is_ok = reply.type == resp::Type::simple_string && reply.str == "OK";
    if (is_ok) return {{history::Type::ok, op.value, {}}, {}};
    if (op.f == "cas" && reply.type == resp::Type::null) {
      return {{history::Type::fail, op.value, std::string(history::kPreconditionFailed)}, {}};
    }
    return {unexpected_reply(op, reply), {}};
  }

  std::optional<Operation> final_op(int64_t) override {
    auto op = next_final_key(prefix_, keys_, final_next_);
    if (!op) return std::nullopt;
    return as_read(std::move(*op), "GET");
  }

 private:
  // The keys' names: the workload's key_prefix and "k", then the key's index.
  std::string prefix_;
  uint64_t keys_;
  MixChooser mix_;
  std::vector<std::optional<int64_t>> last_sent_;
  int64_t next_value_ = 1;
  uint64_t final_next_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_register_workload(const plan::WorkloadSpec& spec) {
  return std::make_unique<RegisterWorkload>(spec);
}

}  // namespace fl::load
