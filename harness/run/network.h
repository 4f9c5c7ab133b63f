// How a run's nodes reach each other, and the harness's client reaches them: the plan's
// [network] backend behind one interface. The Session asks it where each node lives
// (placement), which address a node is given for another (link: the supervisor calls it while
// it expands {addr:<id>} templates) and which address the harness's own client uses
// (client_endpoint); the fault schedule and the control API cut and degrade links through its
// chaos::LinkControl side.
//
//   direct  every address is the node's own; link faults fail with errc::unsupported
//   proxy   one chaos::LinkProxy listener per directed link (from, to), made when first asked
//           for; cuts and toxics act on those listeners (docs/architecture.md, "Network")
//   netns   each node in its own network namespace (harness/run/netns_network.cpp)
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "chaos/link_control.h"
#include "common/error.h"
#include "harness/plan/plan.h"
#include "harness/supervisor/supervisor.h"

namespace fl::run {

struct NetworkContext {
  std::filesystem::path run_dir;
  std::string run_id;
  uint64_t seed = 0;
  // Appends a harness event to events.jsonl (Session::event); may be null.
  std::function<void(std::string_view type, std::string fields_json)> event;
};

// Thread-safe: the supervisor's thread, the load and the fault schedule call it side by side.
class Network : public chaos::LinkControl {
 public:
  // Where `instance` binds and is reached, and the command prefix it runs under. An empty host
  // means the supervisor's own (127.0.0.1).
  virtual supervisor::Placement placement(const plan::Instance& instance) = 0;
  // The endpoint node `from` is given for node `to`, which listens on `real`. The same pair
  // always gets the same endpoint. Fails when the backend cannot make the link.
  virtual result<supervisor::Endpoint> link(std::string_view from, std::string_view to,
                                            const supervisor::Endpoint& real) = 0;
  // The endpoint the harness's client ("client", chaos::kClientNode) uses for node `id`.
  virtual result<supervisor::Endpoint> client_endpoint(std::string_view id,
                                                       const supervisor::Endpoint& real) = 0;
  // Reverts everything the backend set up (listeners, toxics, namespaces). Idempotent; after
  // it, link() and client_endpoint() fail with errc::cancelled.
  virtual void close() = 0;
};

// The backend the plan asks for ([network] backend; default proxy when a fault or link rule
// needs links, else direct). Fails when it cannot be set up (netns without root).
result<std::unique_ptr<Network>> make_network(const plan::Plan& plan, const NetworkContext& ctx);

// Defined in netns_network.cpp (issue 6, piece D).
result<std::unique_ptr<Network>> make_netns_network(const plan::Plan& plan,
                                                    const NetworkContext& ctx);

// What the proxy backend needs of a link proxy: chaos::LinkProxy, or a fake in tests.
class LinkDriver {
 public:
  using ToxicId = uint64_t;
  struct Stats {
    uint64_t connections = 0;
    uint64_t bytes_up = 0, bytes_down = 0;
  };
  virtual ~LinkDriver() = default;
  // A listener on `bind_host` forwarding to `upstream`, named "from->to".
  virtual result<supervisor::Endpoint> add_link(const std::string& name,
                                                const supervisor::Endpoint& upstream,
                                                const std::string& bind_host) = 0;
  // Starts `toxic` on one direction of link `name` (live connections too).
  virtual result<ToxicId> add_toxic(const std::string& name, plan::Direction direction,
                                    const plan::Toxic& toxic) = 0;
  virtual void remove_toxic(ToxicId id) = 0;
  virtual Stats stats(const std::string& name) = 0;
  virtual void close() = 0;
};

// The proxy backend over `driver` (make_network gives it a chaos::LinkProxy).
std::unique_ptr<Network> make_proxy_network(const plan::Plan& plan, const NetworkContext& ctx,
                                            std::unique_ptr<LinkDriver> driver);

// The backend a plan runs with: [network] backend, else proxy when a [[fault]] is a partition
// or link fault or a [[network.link]] exists, else direct.
plan::NetworkBackend network_backend(const plan::Plan& plan);

}  // namespace fl::run
