// The network-namespace backend of chaos::LinkControl: every node of a run in its own network
// namespace (`fl-<run6>-<n>`, one veth `flv-<run6>-<n>` whose peer is the namespace's eth0) on
// one bridge (`flbr-<run6>`, address .1 of a /24 drawn from the plan's subnet). The harness in
// the root namespace is the pseudo-node "client" at the bridge's address.
//
// Cuts and degrades are nftables rules in the sending side's namespace: each namespace (and the
// root one, for the client) has a table `inet faultline_<run6>` with an output chain, and a
// Cut{A, B} is a rule in A's namespace matching `ip daddr <B>`. Rules in a node's namespace need
// neither br_netfilter nor bridge-family reject, and disappear with the namespace; only the
// root table, the bridge and the namespaces outlive a crash, and the ledger records them.
//
// Supported at packet level: cuts (drop; reject = TCP reset, other protocols dropped), loss
// (`numgen random`, independent losses only), bandwidth (`limit rate over`), blackhole (drop)
// and refuse (reject). Delay, jitter, stall, reset-after and slow-close need tc netem, which this
// kernel does not have: they fail with errc::unsupported (use backend = "proxy").
//
// Requires root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and the `ip` and `nft` tools.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chaos/link_control.h"
#include "common/error.h"

namespace fl::chaos {

class Ledger;

// Runs argv[0] (looked up in PATH) with `input` on its stdin, without a shell. Returns its
// stdout when it exits 0; otherwise errc::process_failed naming the command and its stderr.
result<std::string> run_tool(const std::vector<std::string>& argv, std::string_view input = {});

// The 6 hex characters naming a run's namespaces, bridge and tables (a hash of the run id).
std::string run_tag(std::string_view run_id);

// Names derived from a run tag.
std::string netns_name(std::string_view tag, size_t index);  // fl-<tag>-<index>
std::string veth_name(std::string_view tag, size_t index);   // flv-<tag>-<index>
std::string bridge_name(std::string_view tag);               // flbr-<tag>
std::string table_name(std::string_view tag);                // faultline_<tag>

// Why the backend cannot run here ("" when it can): not root, `ip netns` or `nft` missing.
std::string netns_unavailable_reason();

class NetnsFabric final : public LinkControl {
 public:
  struct Options {
    // Names come from run_tag(run_id).
    std::string run_id;
    // The IPv4 /16 (or any prefix up to /24) the bridge's /24 is drawn from; a /24 with any
    // address already on this machine is skipped.
    std::string subnet = "10.213.0.0/16";
    // Records the bridge, namespaces and the root table before they are created, so a crash
    // leaves something `faultline heal` can find. May be null (tests).
    Ledger* ledger = nullptr;
  };

  // Creates the bridge, one namespace per node (lo and eth0 up, address .2, .3, ... in `nodes`
  // order) and the tables. At most 253 nodes; ids must be unique and not "client". On failure
  // whatever was created is removed again.
  static result<std::unique_ptr<NetnsFabric>> create(Options options,
                                                     const std::vector<std::string>& nodes);
  ~NetnsFabric() override;  // close()
  NetnsFabric(const NetnsFabric&) = delete;
  NetnsFabric& operator=(const NetnsFabric&) = delete;

  // The node's IPv4 address; for "client", the bridge's. nullopt for an unknown id.
  std::optional<std::string> address(std::string_view node) const;
  // The node's namespace name; nullopt for an unknown id and for "client".
  std::optional<std::string> namespace_of(std::string_view node) const;
  const std::string& bridge() const { return bridge_; }
  const std::string& tag() const { return tag_; }

  // Keeps `h` across heal_all() (a [[network.link]] rule). heal(h) still removes it.
  void keep_on_heal_all(Handle h);

  // Deletes the namespaces (and so their veths and tables), the bridge and the root table, and
  // takes them out of the ledger. Idempotent; processes still in a namespace keep running.
  void close();

  std::string_view backend() const override { return "netns"; }
  result<Handle> cut(const std::vector<Cut>& cuts, plan::CutMode mode) override;
  result<Handle> degrade(const std::vector<std::string>& from, const std::vector<std::string>& to,
                         plan::Direction direction,
                         const std::vector<plan::Toxic>& toxics) override;
  result<void> heal(Handle h) override;
  void heal_all() override;
  std::vector<LinkInfo> links() const override;

 private:
  struct Node {
    std::string id, netns, address;
  };
  // One nft rule: the namespace it lives in ("" = root) and its handle there.
  struct Rule {
    std::string netns;
    uint64_t handle = 0;
  };
  struct Applied {
    std::vector<Rule> rules;
    std::vector<Cut> cuts;                                      // for links(): cut pairs
    std::vector<std::pair<std::string, std::string>> degraded;  // for links(): (from, to)
  };
  // A rule to add: in `from`'s namespace, matching packets to `to`'s address.
  struct Pending {
    std::string from, to, statement;
  };

  NetnsFabric(Options options, std::string tag);
  result<void> build(const std::vector<std::string>& nodes);
  const Node* find(std::string_view id) const;
  std::string netns_of_sender(std::string_view id) const;  // "" for the client
  result<Handle> apply(const std::vector<Pending>& pending, Applied applied);
  result<void> remove_rules(const std::vector<Rule>& rules);

  Options options_;
  std::string tag_, bridge_, table_, bridge_address_, prefix_;  // prefix_: "10.213.7."
  std::vector<Node> nodes_;
  bool created_ = false;  // close() deletes only what this object made
  bool root_table_ = false;
  bool closed_ = false;

  mutable std::mutex mu_;
  Handle next_handle_ = 1;
  std::map<Handle, Applied> applied_;
  std::set<Handle> kept_;
};

}  // namespace fl::chaos
