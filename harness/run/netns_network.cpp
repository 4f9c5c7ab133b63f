// The netns backend of run::Network (declared in network.h): chaos::NetnsFabric, whose file
// chaos/netns.h describes, plus a ledger file of its own (`<run id>-netns.json`) recording the
// bridge, namespaces and root table until close(). Nodes bind and are reached at their
// namespace's address and run under `ip netns exec <ns>`; the harness reaches them through the
// bridge. docs/netns.md.
#include <fmt/core.h>

#include <atomic>
#include <boost/json.hpp>

#include "chaos/ledger.h"
#include "chaos/netns.h"
#include "harness/plan/fault.h"
#include "harness/run/network.h"

namespace fl::run {
namespace {

class NetnsNetwork final : public Network {
 public:
  NetnsNetwork(std::unique_ptr<chaos::Ledger> ledger, std::unique_ptr<chaos::NetnsFabric> fabric)
      : ledger_(std::move(ledger)), fabric_(std::move(fabric)) {}
  ~NetnsNetwork() override { close(); }

  supervisor::Placement placement(const plan::Instance& i) override {
    supervisor::Placement p;
    p.host = fabric_->address(i.id).value_or("127.0.0.1");
    if (auto ns = fabric_->namespace_of(i.id)) p.wrap = {"ip", "netns", "exec", *ns};
    return p;
  }

  // Nodes reach each other directly at their namespace addresses: cuts are nft rules, not a
  // proxy in between.
  result<supervisor::Endpoint> link(std::string_view /*from*/, std::string_view to,
                                    const supervisor::Endpoint& real) override {
    return at_namespace(to, real);
  }
  result<supervisor::Endpoint> client_endpoint(std::string_view id,
                                               const supervisor::Endpoint& real) override {
    return at_namespace(id, real);
  }

  void close() override {
    closed_ = true;
    fabric_->close();
    ledger_->close();
  }

  std::string_view backend() const override { return fabric_->backend(); }
  result<Handle> cut(const std::vector<chaos::Cut>& cuts, plan::CutMode mode) override {
    return fabric_->cut(cuts, mode);
  }
  result<Handle> degrade(const std::vector<std::string>& from, const std::vector<std::string>& to,
                         plan::Direction direction,
                         const std::vector<plan::Toxic>& toxics) override {
    return fabric_->degrade(from, to, direction, toxics);
  }
  result<void> heal(Handle h) override { return fabric_->heal(h); }
  void heal_all() override { fabric_->heal_all(); }
  std::vector<chaos::LinkInfo> links() const override { return fabric_->links(); }

 private:
  result<supervisor::Endpoint> at_namespace(std::string_view id,
                                            const supervisor::Endpoint& real) const {
    if (closed_) return Error(errc::cancelled, "netns: the network is closed");
    auto addr = fabric_->address(id);
    if (!addr) return Error(errc::not_found, fmt::format("netns: no node '{}'", id));
    return supervisor::Endpoint{*addr, real.port};
  }

  std::unique_ptr<chaos::Ledger> ledger_;
  std::unique_ptr<chaos::NetnsFabric> fabric_;
  std::atomic<bool> closed_{false};
};

}  // namespace

result<std::unique_ptr<Network>> make_netns_network(const plan::Plan& plan,
                                                    const NetworkContext& ctx) {
  if (auto why = chaos::netns_unavailable_reason(); !why.empty()) {
    return Error(errc::unsupported, why);
  }
  // Toxics nft cannot apply fail before anything is created.
  for (const auto& rule : plan.network.links) {
    for (const auto& t : rule.toxics) {
      using K = plan::Toxic::Kind;
      if (t.kind != K::loss && t.kind != K::bandwidth && t.kind != K::blackhole &&
          t.kind != K::refuse) {
        return Error(errc::unsupported,
                     fmt::format("{}:{}: [[network.link]] toxic '{}' is not available with "
                                 "backend = \"netns\": it needs tc netem, which this kernel "
                                 "does not have; use backend = \"proxy\"",
                                 rule.where.file, rule.where.line, plan::to_string(t.kind)));
      }
    }
  }
  auto ledger = chaos::Ledger::open(ctx.run_id + "-netns", ctx.run_dir);
  if (!ledger) return ledger.error();
  std::vector<std::string> ids;
  for (const auto& i : plan.instances()) ids.push_back(i.id);
  auto fabric = chaos::NetnsFabric::create({ctx.run_id, plan.network.subnet, ledger->get()}, ids);
  if (!fabric) {
    (*ledger)->close();
    return fabric.error();
  }
  // [[network.link]] rules hold for the whole run: heal_all() (the end of a fault) keeps them.
  for (const auto& rule : plan.network.links) {
    auto h = (*fabric)->degrade(plan::static_members(plan, rule.from),
                                plan::static_members(plan, rule.to), rule.direction, rule.toxics);
    if (!h) {
      (*fabric)->close();
      (*ledger)->close();
      return Error(h.error().code, fmt::format("{}:{}: [[network.link]]: {}", rule.where.file,
                                               rule.where.line, h.error().message));
    }
    (*fabric)->keep_on_heal_all(*h);
  }
  if (ctx.event) {
    boost::json::object o;
    o["bridge"] = (*fabric)->bridge();
    o["address"] = *(*fabric)->address(chaos::kClientNode);
    boost::json::object nodes;
    for (const auto& id : ids) {
      nodes[id] = {{"netns", *(*fabric)->namespace_of(id)}, {"address", *(*fabric)->address(id)}};
    }
    o["nodes"] = std::move(nodes);
    ctx.event("network.netns", boost::json::serialize(o));
  }
  return std::unique_ptr<Network>(
      std::make_unique<NetnsNetwork>(std::move(*ledger), std::move(*fabric)));
}

}  // namespace fl::run
