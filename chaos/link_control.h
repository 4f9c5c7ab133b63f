// What a fault does to the links between nodes, behind one interface with two backends: the
// link proxy (harness/run/network: every directed link through chaos::LinkProxy, toxics per
// direction) and network namespaces (chaos/netns: cuts as nftables rules). The fault schedule,
// `faultline ctl` and the control API act through it; neither knows which backend runs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "harness/plan/plan.h"

namespace fl::chaos {

// The pseudo-node of the harness's own connections (load, final reads) in links and cuts.
inline constexpr std::string_view kClientNode = "client";

// Messages `from` sends to `to` do not arrive. A two-way partition is both pairs.
struct Cut {
  std::string from, to;
  friend bool operator==(const Cut&, const Cut&) = default;
  friend auto operator<=>(const Cut&, const Cut&) = default;
};

// One directed link as the backend sees it now.
struct LinkInfo {
  std::string from, to;     // node ids; from may be "client"
  std::string listen;       // proxy: host:port of its listener; netns: ""
  bool cut_up = false;      // what `from` sends is lost
  bool cut_down = false;    // what `to` sends back on this link is lost
  size_t toxics = 0;        // active toxics besides cuts
  uint64_t connections = 0; // accepted so far (proxy)
  uint64_t bytes_up = 0, bytes_down = 0;
};

class LinkControl {
 public:
  using Handle = uint64_t;
  virtual ~LinkControl() = default;

  // "proxy" or "netns".
  virtual std::string_view backend() const = 0;

  // Cuts every pair (both node ids; "client" allowed where the backend has client links) and
  // returns a handle for heal(). drop: bytes or packets vanish; reject: connections refused
  // and reset (a one-way cut of a proxied link drops the other way's bytes instead). Applies to
  // live connections at once.
  virtual result<Handle> cut(const std::vector<Cut>& cuts, plan::CutMode mode) = 0;

  // Puts `toxics` on every link from a node of `from` to a node of `to` in `direction`.
  // Backends fail with errc::unsupported for toxics they cannot apply (netns has
  // no delay: tc netem is not in this kernel).
  virtual result<Handle> degrade(const std::vector<std::string>& from,
                                 const std::vector<std::string>& to, plan::Direction direction,
                                 const std::vector<plan::Toxic>& toxics) = 0;

  // Undoes one cut or degrade. An unknown (already healed) handle is not an error.
  virtual result<void> heal(Handle h) = 0;
  // Undoes every cut and degrade (link rules of [[network.link]] stay).
  virtual void heal_all() = 0;

  virtual std::vector<LinkInfo> links() const = 0;
};

}  // namespace fl::chaos
