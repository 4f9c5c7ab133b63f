#include "harness/run/network.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "chaos/link_proxy.h"
#include "common/rng.h"
#include "harness/plan/fault.h"

namespace fl::run {
namespace {

namespace json = boost::json;
using chaos::Cut;
using chaos::LinkInfo;
using supervisor::Endpoint;

std::string address(const Endpoint& e) { return fmt::format("{}:{}", e.host, e.port); }

// ---- direct ------------------------------------------------------------------------------------

class DirectNetwork final : public Network {
 public:
  std::string_view backend() const override { return "direct"; }
  supervisor::Placement placement(const plan::Instance&) override { return {}; }
  result<Endpoint> link(std::string_view, std::string_view, const Endpoint& real) override {
    return real;
  }
  result<Endpoint> client_endpoint(std::string_view, const Endpoint& real) override { return real; }
  result<Handle> cut(const std::vector<Cut>&, plan::CutMode) override { return unsupported(); }
  result<Handle> degrade(const std::vector<std::string>&, const std::vector<std::string>&,
                         plan::Direction, const std::vector<plan::Toxic>&) override {
    return unsupported();
  }
  result<void> heal(Handle) override { return {}; }
  void heal_all() override {}
  std::vector<LinkInfo> links() const override { return {}; }
  void close() override {}

 private:
  static Error unsupported() {
    return Error(errc::unsupported,
                 "the direct network has no links to cut or slow: set [network] backend = "
                 "\"proxy\" in the plan");
  }
};

// ---- proxy -------------------------------------------------------------------------------------

using LinkKey = std::pair<std::string, std::string>;  // (from, to)

// One cut, degrade or [[network.link]] rule, and the toxics it put on links so far.
struct LinkFault {
  enum class Kind { cut, degrade, rule } kind = Kind::cut;
  // cut
  std::set<Cut> cuts;
  plan::CutMode mode = plan::CutMode::drop;
  // degrade and rule
  std::set<std::string> from, to;
  plan::Direction direction = plan::Direction::both;
  std::vector<plan::Toxic> toxics;
  // What it put where, for heal.
  std::vector<std::pair<LinkKey, LinkDriver::ToxicId>> applied;
};

plan::Toxic toxic_of(plan::Toxic::Kind kind) {
  plan::Toxic t;
  t.kind = kind;
  return t;
}

// The toxics `f` puts on the link from -> to. A Cut{A,B} (A's messages do not reach B) is a
// stall on A->B's up stream and on B->A's down stream: bytes are held, not discarded, and
// delivered on heal, as TCP delivers what it retransmits once a partition heals (a discarded
// chunk would leave a gap in the middle of the stream, which no real network does); with mode reject and B->A cut too,
// both links refuse (existing connections reset, new ones refused). A one-way reject drops:
// refusing A->B would also tell A that B is gone.
std::vector<std::pair<plan::Direction, plan::Toxic>> effects(const LinkFault& f,
                                                             const LinkKey& link) {
  std::vector<std::pair<plan::Direction, plan::Toxic>> out;
  const auto& [from, to] = link;
  if (f.kind == LinkFault::Kind::cut) {
    const bool up = f.cuts.count(Cut{from, to}) > 0;
    const bool down = f.cuts.count(Cut{to, from}) > 0;
    if (up && down && f.mode == plan::CutMode::reject) {
      out.emplace_back(plan::Direction::both, toxic_of(plan::Toxic::Kind::refuse));
      return out;
    }
    if (up) out.emplace_back(plan::Direction::up, toxic_of(plan::Toxic::Kind::stall));
    if (down) out.emplace_back(plan::Direction::down, toxic_of(plan::Toxic::Kind::stall));
    return out;
  }
  if (f.from.count(from) && f.to.count(to)) {
    for (const auto& t : f.toxics) out.emplace_back(f.direction, t);
  }
  return out;
}

class ProxyNetwork final : public Network {
 public:
  ProxyNetwork(const plan::Plan& plan, NetworkContext ctx, std::unique_ptr<LinkDriver> driver)
      : ctx_(std::move(ctx)), driver_(std::move(driver)) {
    for (const auto& rule : plan.network.links) {
      LinkFault f;
      f.kind = LinkFault::Kind::rule;
      for (auto& id : plan::static_members(plan, rule.from)) f.from.insert(std::move(id));
      for (auto& id : plan::static_members(plan, rule.to)) f.to.insert(std::move(id));
      f.direction = rule.direction;
      f.toxics = rule.toxics;
      rules_.push_back(std::move(f));
    }
  }
  ~ProxyNetwork() override { close(); }

  std::string_view backend() const override { return "proxy"; }

  supervisor::Placement placement(const plan::Instance&) override { return {}; }

  result<Endpoint> link(std::string_view from, std::string_view to, const Endpoint& real) override {
    std::lock_guard lock(mu_);
    if (closed_) return Error(errc::cancelled, "the network is closed");
    LinkKey key{std::string(from), std::string(to)};
    if (auto it = links_.find(key); it != links_.end()) return it->second.listen;
    auto listen = driver_->add_link(fmt::format("{}->{}", from, to), real, "127.0.0.1");
    if (!listen) {
      return Error(listen.error().code, fmt::format("cannot proxy the link {} -> {}: {}", from, to,
                                                    listen.error().message));
    }
    links_.emplace(key, Link{*listen, real});
    order_.push_back(key);
    if (ctx_.event) {
      ctx_.event("network.link", json::serialize(json::object{
                                     {"from", key.first},
                                     {"to", key.second},
                                     {"listen", address(*listen)},
                                     {"upstream", address(real)},
                                 }));
    }
    // Rules hold from the link's first byte; so do cuts and degrades made before it existed.
    for (auto& f : rules_) {
      if (auto r = apply(f, key); !r) return r.error();
    }
    for (auto& [h, f] : faults_) {
      if (auto r = apply(f, key); !r) return r.error();
    }
    return *listen;
  }

  result<Endpoint> client_endpoint(std::string_view id, const Endpoint& real) override {
    return link(chaos::kClientNode, id, real);
  }

  result<Handle> cut(const std::vector<Cut>& cuts, plan::CutMode mode) override {
    LinkFault f;
    f.kind = LinkFault::Kind::cut;
    f.cuts.insert(cuts.begin(), cuts.end());
    f.mode = mode;
    return add(std::move(f));
  }

  result<Handle> degrade(const std::vector<std::string>& from, const std::vector<std::string>& to,
                         plan::Direction direction,
                         const std::vector<plan::Toxic>& toxics) override {
    LinkFault f;
    f.kind = LinkFault::Kind::degrade;
    f.from.insert(from.begin(), from.end());
    f.to.insert(to.begin(), to.end());
    f.direction = direction;
    f.toxics = toxics;
    return add(std::move(f));
  }

  result<void> heal(Handle h) override {
    std::lock_guard lock(mu_);
    auto it = faults_.find(h);
    if (it == faults_.end()) return {};
    undo(it->second);
    faults_.erase(it);
    return {};
  }

  void heal_all() override {
    std::lock_guard lock(mu_);
    for (auto& [h, f] : faults_) undo(f);
    faults_.clear();
  }

  std::vector<LinkInfo> links() const override {
    std::lock_guard lock(mu_);
    std::vector<LinkInfo> out;
    for (const auto& key : order_) {
      const Link& l = links_.at(key);
      LinkInfo info;
      info.from = key.first;
      info.to = key.second;
      info.listen = address(l.listen);
      for (const auto& f : rules_) info.toxics += effects(f, key).size();
      for (const auto& [h, f] : faults_) {
        for (const auto& [dir, t] : effects(f, key)) {
          const bool whole = t.kind == plan::Toxic::Kind::refuse || dir == plan::Direction::both;
          if (f.kind != LinkFault::Kind::cut) {
            ++info.toxics;
          } else {
            info.cut_up = info.cut_up || whole || dir == plan::Direction::up;
            info.cut_down = info.cut_down || whole || dir == plan::Direction::down;
          }
        }
      }
      auto st = driver_->stats(fmt::format("{}->{}", key.first, key.second));
      info.connections = st.connections;
      info.bytes_up = st.bytes_up;
      info.bytes_down = st.bytes_down;
      out.push_back(std::move(info));
    }
    return out;
  }

  void close() override {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    for (auto& [h, f] : faults_) undo(f);
    faults_.clear();
    for (auto& f : rules_) undo(f);
    driver_->close();
  }

 private:
  struct Link {
    Endpoint listen;
    Endpoint upstream;
  };

  result<Handle> add(LinkFault f) {
    std::lock_guard lock(mu_);
    if (closed_) return Error(errc::cancelled, "the network is closed");
    for (const auto& key : order_) {
      if (auto r = apply(f, key); !r) {
        undo(f);
        return r.error();
      }
    }
    const Handle h = next_handle_++;
    faults_.emplace(h, std::move(f));
    return h;
  }

  result<void> apply(LinkFault& f, const LinkKey& key) {
    const std::string name = fmt::format("{}->{}", key.first, key.second);
    for (const auto& [dir, toxic] : effects(f, key)) {
      auto id = driver_->add_toxic(name, dir, toxic);
      if (!id) {
        return Error(id.error().code,
                     fmt::format("link {}: {} on {}: {}", name, plan::to_string(toxic.kind),
                                 plan::to_string(dir), id.error().message));
      }
      f.applied.emplace_back(key, *id);
    }
    return {};
  }

  void undo(LinkFault& f) {
    for (const auto& [key, id] : f.applied) driver_->remove_toxic(id);
    f.applied.clear();
  }

  NetworkContext ctx_;
  mutable std::mutex mu_;
  std::unique_ptr<LinkDriver> driver_;
  std::map<LinkKey, Link> links_;
  std::vector<LinkKey> order_;  // creation order, for links()
  std::vector<LinkFault> rules_;
  std::map<Handle, LinkFault> faults_;
  Handle next_handle_ = 1;
  bool closed_ = false;
};

// chaos::LinkProxy as a LinkDriver.
class LinkProxyDriver final : public LinkDriver {
 public:
  explicit LinkProxyDriver(uint64_t seed) : proxy_(options(seed)) {}
  result<Endpoint> add_link(const std::string& name, const Endpoint& upstream,
                            const std::string& bind_host) override {
    auto r = proxy_.add_link(name, upstream, bind_host);
    if (!r) return r.error();
    return Endpoint{r->host, r->port};
  }
  result<ToxicId> add_toxic(const std::string& name, plan::Direction direction,
                            const plan::Toxic& toxic) override {
    auto r = proxy_.add_toxic(name, direction, toxic);
    if (!r) return r.error();
    return static_cast<ToxicId>(*r);
  }
  void remove_toxic(ToxicId id) override { proxy_.remove_toxic(id); }
  Stats stats(const std::string& name) override {
    Stats out;
    if (auto s = proxy_.stats(name)) {
      out.connections = s->connections;
      out.bytes_up = s->bytes_up;
      out.bytes_down = s->bytes_down;
    }
    return out;
  }
  void close() override { proxy_.close(); }

 private:
  static chaos::LinkProxy::Options options(uint64_t seed) {
    chaos::LinkProxy::Options o;
    o.seed = Rng(seed).fork("network").seed();
    return o;
  }
  chaos::LinkProxy proxy_;
};

}  // namespace

std::unique_ptr<Network> make_proxy_network(const plan::Plan& plan, const NetworkContext& ctx,
                                            std::unique_ptr<LinkDriver> driver) {
  return std::make_unique<ProxyNetwork>(plan, ctx, std::move(driver));
}

result<std::unique_ptr<Network>> make_network(const plan::Plan& plan, const NetworkContext& ctx) {
  switch (plan::network_backend(plan)) {
    case plan::NetworkBackend::direct:
      return std::unique_ptr<Network>(std::make_unique<DirectNetwork>());
    case plan::NetworkBackend::proxy:
      return make_proxy_network(plan, ctx, std::make_unique<LinkProxyDriver>(ctx.seed));
    case plan::NetworkBackend::netns:
      return make_netns_network(plan, ctx);
  }
  return Error(errc::internal, "unknown network backend");
}

}  // namespace fl::run
