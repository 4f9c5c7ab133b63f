#include "chaos/netns.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "chaos/ledger.h"

extern char** environ;

namespace fl::chaos {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() { close_both(); }
  void close_both() {
    for (int& f : fd) {
      if (f >= 0) ::close(f);
      f = -1;
    }
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// An IPv4 prefix from /16 to /24: room for at least one /24.
struct Subnet {
  unsigned a = 0, b = 0, c = 0, len = 16;
};

result<Subnet> parse_subnet(std::string_view subnet) {
  Subnet n;
  unsigned d = 0;
  std::string s(subnet);
  if (std::sscanf(s.c_str(), "%u.%u.%u.%u/%u", &n.a, &n.b, &n.c, &d, &n.len) != 5 || n.a > 255 ||
      n.b > 255 || n.c > 255 || d > 255 || n.len < 16 || n.len > 24) {
    return Error(errc::invalid_argument,
                 fmt::format("network subnet '{}': expected an IPv4 prefix from /16 to /24 "
                             "(such as 10.213.0.0/16)",
                             subnet));
  }
  return n;
}

std::string nft_statement(plan::CutMode mode) {
  return mode == plan::CutMode::drop ? "drop" : "meta l4proto tcp reject with tcp reset";
}

std::string unsupported_toxic(plan::Toxic::Kind k, std::string_view why) {
  return fmt::format(
      "toxic '{}' is not available with backend = \"netns\": {}; use backend = \"proxy\"",
      plan::to_string(k), why);
}

// write(2) to a pipe whose reader may have exited: EPIPE instead of a SIGPIPE that would end the
// harness. SIGPIPE is blocked on this thread for the write and a pending one consumed.
ssize_t write_no_sigpipe(int fd, std::string_view data) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t w = ::write(fd, data.data(), data.size());
  if (w < 0 && errno == EPIPE) {
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
    errno = EPIPE;
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return w;
}

}  // namespace

result<std::string> run_tool(const std::vector<std::string>& argv, std::string_view input) {
  if (argv.empty()) return Error(errc::internal, "run_tool: empty argv");
  Pipe in, out, err;
  if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0 ||
      ::pipe2(err.fd, O_CLOEXEC) != 0) {
    return Error(errc::io_error, fmt::format("pipe: {}", std::strerror(errno)));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  std::string command = fmt::format("{}", fmt::join(argv, " "));
  if (rc != 0) {
    return Error(errc::process_failed,
                 fmt::format("cannot run '{}': {}", command, std::strerror(rc)));
  }
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);
  if (input.empty()) in.close_end(1);
  std::string stdout_text, stderr_text;
  size_t written = 0;
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    pollfd fds[3];
    nfds_t n = 0;
    auto watch = [&](int fd, short ev) {
      if (fd >= 0) fds[n++] = pollfd{fd, ev, 0};
    };
    watch(out.fd[0], POLLIN);
    watch(err.fd[0], POLLIN);
    watch(in.fd[1], POLLOUT);
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in.fd[1]) {
        ssize_t w = write_no_sigpipe(in.fd[1], input.substr(written));
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EINTR && errno != EAGAIN) written = input.size();
        if (written >= input.size()) in.close_end(1);
        continue;
      }
      char buf[4096];
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        (fds[i].fd == out.fd[0] ? stdout_text : stderr_text).append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (fds[i].fd == out.fd[0]) {
          out.close_end(0);
        } else {
          err.close_end(0);
        }
      }
    }
  }
  in.close_end(1);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!stderr_text.empty() && (stderr_text.back() == '\n' || stderr_text.back() == ' ')) {
      stderr_text.pop_back();
    }
    return Error(errc::process_failed,
                 fmt::format("'{}' failed ({}): {}", command,
                             WIFEXITED(status) ? fmt::format("exit {}", WEXITSTATUS(status))
                                               : fmt::format("signal {}", WTERMSIG(status)),
                             stderr_text.empty() ? "no output" : stderr_text));
  }
  return stdout_text;
}

std::string run_tag(std::string_view run_id) {
  return fmt::format("{:06x}", fnv1a(run_id) & 0xffffff);
}
std::string netns_name(std::string_view tag, size_t index) {
  return fmt::format("fl-{}-{}", tag, index);
}
std::string veth_name(std::string_view tag, size_t index) {
  return fmt::format("flv-{}-{}", tag, index);
}
std::string bridge_name(std::string_view tag) { return fmt::format("flbr-{}", tag); }
std::string table_name(std::string_view tag) { return fmt::format("faultline_{}", tag); }

std::string netns_unavailable_reason() {
  if (::geteuid() != 0) {
    return "backend = \"netns\" needs root (it creates network namespaces, a bridge and "
           "nftables rules); run as root or use backend = \"proxy\"";
  }
  if (auto r = run_tool({"ip", "netns", "list"}); !r) return r.error().message;
  if (auto r = run_tool({"nft", "list", "tables"}); !r) return r.error().message;
  return "";
}

NetnsFabric::NetnsFabric(Options options, std::string tag)
    : options_(std::move(options)),
      tag_(std::move(tag)),
      bridge_(bridge_name(tag_)),
      table_(table_name(tag_)) {}

NetnsFabric::~NetnsFabric() { close(); }

result<std::unique_ptr<NetnsFabric>> NetnsFabric::create(Options options,
                                                         const std::vector<std::string>& nodes) {
  if (nodes.size() > 253) {
    return Error(errc::limit_exceeded,
                 fmt::format("backend = \"netns\" puts a run on one /24: at most 253 nodes, the "
                             "plan has {}",
                             nodes.size()));
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& n : nodes) {
    if (n == kClientNode || !seen.insert(n).second) {
      return Error(errc::invalid_argument, fmt::format("netns: bad or duplicate node id '{}'", n));
    }
  }
  std::string tag = run_tag(options.run_id);
  std::unique_ptr<NetnsFabric> f(new NetnsFabric(std::move(options), std::move(tag)));
  if (auto r = f->build(nodes); !r) {
    f->close();
    return r.error();
  }
  return f;
}

result<void> NetnsFabric::build(const std::vector<std::string>& ids) {
  auto net = parse_subnet(options_.subnet);
  if (!net) return net.error();
  const Subnet sub = *net;
  // A /24 with no address of this machine in it, starting at one the tag picks so concurrent
  // runs rarely probe the same one first.
  auto addrs = run_tool({"ip", "-o", "-4", "addr", "show"});
  if (!addrs) return addrs.error();
  const unsigned span = 1u << (24 - sub.len);
  const unsigned base_c = sub.c & ~(span - 1);
  const unsigned start = static_cast<unsigned>(std::stoul(tag_, nullptr, 16) % span);
  std::optional<unsigned> chosen;
  for (unsigned i = 0; i < span && !chosen; ++i) {
    unsigned c = base_c + (start + i) % span;
    std::string p = fmt::format(" {}.{}.{}.", sub.a, sub.b, c);
    if (addrs->find(p) == std::string::npos) chosen = c;
  }
  if (!chosen) {
    return Error(errc::limit_exceeded,
                 fmt::format("netns: every /24 of {} is in use on this machine", options_.subnet));
  }
  prefix_ = fmt::format("{}.{}.{}.", sub.a, sub.b, *chosen);
  bridge_address_ = prefix_ + "1";

  // The tag is 24 bits of a hash: should two live runs share one, the second must not touch the
  // first's bridge and namespaces (close() deletes by name).
  if (run_tool({"ip", "link", "show", bridge_})) {
    return Error(errc::invalid_argument,
                 fmt::format("netns: bridge {} already exists (a live run with the same tag, "
                             "or one `faultline heal` would remove)",
                             bridge_));
  }
  created_ = true;
  auto note = [&](LedgerEntry::Kind k, std::string name) -> result<void> {
    if (!options_.ledger) return {};
    return options_.ledger->add(LedgerEntry{k, std::move(name)});
  };
  // Ledger entries first: a crash between them and the change leaves an entry that the sweep
  // finds already undone, never a change it does not know of.
  if (auto r = note(LedgerEntry::Kind::link, bridge_); !r) return r;
  if (auto r = note(LedgerEntry::Kind::nft_table, "inet " + table_); !r) return r;
  for (size_t i = 0; i < ids.size(); ++i) {
    nodes_.push_back(Node{ids[i], netns_name(tag_, i), fmt::format("{}{}", prefix_, i + 2)});
    if (auto r = note(LedgerEntry::Kind::netns, nodes_.back().netns); !r) return r;
  }

  std::string batch;
  batch += fmt::format("link add {} type bridge\n", bridge_);
  batch += fmt::format("addr add {}/24 dev {}\n", bridge_address_, bridge_);
  batch += fmt::format("link set {} up\n", bridge_);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    batch += fmt::format("netns add {}\n", nodes_[i].netns);
  }
  if (auto r = run_tool({"ip", "-batch", "-"}, batch); !r) return r.error();
  batch.clear();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    std::string veth = veth_name(tag_, i);
    batch += fmt::format("link add {} type veth peer name eth0 netns {}\n", veth, n.netns);
    batch += fmt::format("link set {} master {} up\n", veth, bridge_);
  }
  if (auto r = run_tool({"ip", "-batch", "-"}, batch); !r) return r.error();
  for (const auto& n : nodes_) {
    batch = fmt::format("addr add {}/24 dev eth0\nlink set eth0 up\nlink set lo up\n", n.address);
    if (auto r = run_tool({"ip", "-n", n.netns, "-batch", "-"}, batch); !r) return r.error();
  }

  std::string table = fmt::format(
      "table inet {} {{\n  chain output {{ type filter hook output priority 0; policy accept; }}\n"
      "}}\n",
      table_);
  root_table_ = true;
  if (auto r = run_tool({"nft", "-f", "-"}, table); !r) return r.error();
  for (const auto& n : nodes_) {
    if (auto r = run_tool({"ip", "netns", "exec", n.netns, "nft", "-f", "-"}, table); !r) {
      return r.error();
    }
  }
  return {};
}

void NetnsFabric::close() {
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  applied_.clear();
  if (!created_) return;
  auto forget = [&](LedgerEntry::Kind k, const std::string& name) {
    if (options_.ledger) (void)options_.ledger->remove(LedgerEntry{k, name});
  };
  for (const auto& n : nodes_) {
    (void)run_tool({"ip", "netns", "delete", n.netns});
    forget(LedgerEntry::Kind::netns, n.netns);
  }
  if (root_table_) (void)run_tool({"nft", "delete", "table", "inet", table_});
  forget(LedgerEntry::Kind::nft_table, "inet " + table_);
  (void)run_tool({"ip", "link", "delete", bridge_});
  forget(LedgerEntry::Kind::link, bridge_);
}

const NetnsFabric::Node* NetnsFabric::find(std::string_view id) const {
  for (const auto& n : nodes_) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

std::optional<std::string> NetnsFabric::address(std::string_view node) const {
  if (node == kClientNode) return bridge_address_;
  if (const Node* n = find(node)) return n->address;
  return std::nullopt;
}

std::optional<std::string> NetnsFabric::namespace_of(std::string_view node) const {
  if (const Node* n = find(node)) return n->netns;
  return std::nullopt;
}

std::string NetnsFabric::netns_of_sender(std::string_view id) const {
  const Node* n = find(id);
  return n ? n->netns : std::string();
}

void NetnsFabric::keep_on_heal_all(Handle h) {
  std::lock_guard lock(mu_);
  kept_.insert(h);
}

result<LinkControl::Handle> NetnsFabric::cut(const std::vector<Cut>& cuts, plan::CutMode mode) {
  std::vector<Pending> pending;
  Applied applied;
  for (const auto& c : cuts) {
    if (!address(c.from) || !address(c.to)) {
      return Error(errc::not_found, fmt::format("netns cut {} -> {}: unknown node", c.from, c.to));
    }
    if (c.from == c.to) continue;
    pending.push_back(Pending{c.from, c.to, nft_statement(mode)});
    // Reject answers TCP with a reset; everything else to that address is dropped.
    if (mode == plan::CutMode::reject) pending.push_back(Pending{c.from, c.to, "drop"});
    applied.cuts.push_back(c);
  }
  return apply(pending, std::move(applied));
}

result<LinkControl::Handle> NetnsFabric::degrade(const std::vector<std::string>& from,
                                                 const std::vector<std::string>& to,
                                                 plan::Direction direction,
                                                 const std::vector<plan::Toxic>& toxics) {
  std::vector<std::string> statements;
  for (const auto& t : toxics) {
    if (t.toxicity < 1) {
      return Error(errc::unsupported,
                   unsupported_toxic(t.kind,
                                     "a toxicity below 1 (per connection) needs "
                                     "connection tracking the netns rules do not keep"));
    }
    switch (t.kind) {
      case plan::Toxic::Kind::loss: {
        if (t.burst > 1) {
          return Error(errc::unsupported,
                       unsupported_toxic(t.kind,
                                         "loss bursts need tc netem, which this kernel "
                                         "does not have (independent losses work)"));
        }
        auto k = static_cast<long>(std::lround(std::clamp(t.probability, 0.0, 1.0) * 10000));
        statements.push_back(fmt::format("numgen random mod 10000 < {} drop", k));
        break;
      }
      case plan::Toxic::Kind::bandwidth:
        if (t.bytes_per_second == 0) {
          return Error(errc::invalid_argument, "netns: bandwidth toxic without a rate");
        }
        statements.push_back(
            fmt::format("limit rate over {} bytes/second drop", t.bytes_per_second));
        break;
      case plan::Toxic::Kind::blackhole:
        statements.push_back("drop");
        break;
      case plan::Toxic::Kind::refuse:
        statements.push_back(nft_statement(plan::CutMode::reject));
        statements.push_back("drop");
        break;
      default:
        return Error(errc::unsupported,
                     unsupported_toxic(t.kind,
                                       "it needs tc netem (delays, stalls and timed "
                                       "resets), which this kernel does not have"));
    }
  }
  std::vector<Pending> pending;
  Applied applied;
  auto add = [&](const std::string& a, const std::string& b) {
    for (const auto& s : statements) pending.push_back(Pending{a, b, s});
  };
  for (const auto& f : from) {
    for (const auto& t : to) {
      if (!address(f) || !address(t)) {
        return Error(errc::not_found, fmt::format("netns degrade {} -> {}: unknown node", f, t));
      }
      if (f == t) continue;
      if (direction != plan::Direction::down) add(f, t);
      if (direction != plan::Direction::up) add(t, f);
      applied.degraded.emplace_back(f, t);
    }
  }
  return apply(pending, std::move(applied));
}

result<LinkControl::Handle> NetnsFabric::apply(const std::vector<Pending>& pending,
                                               Applied applied) {
  std::lock_guard lock(mu_);
  if (closed_) return Error(errc::cancelled, "netns: the network is closed");
  // One nft transaction per namespace; --echo --handle prints each added rule's handle in order.
  std::map<std::string, std::vector<const Pending*>> by_ns;
  for (const auto& p : pending) by_ns[netns_of_sender(p.from)].push_back(&p);
  for (const auto& [ns, list] : by_ns) {
    std::string script;
    for (const Pending* p : list) {
      script += fmt::format("add rule inet {} output ip daddr {} {}\n", table_, *address(p->to),
                            p->statement);
    }
    std::vector<std::string> argv;
    if (!ns.empty()) argv = {"ip", "netns", "exec", ns};
    for (const char* a : {"nft", "--echo", "--handle", "-f", "-"}) argv.emplace_back(a);
    auto out = run_tool(argv, script);
    if (!out) {
      (void)remove_rules(applied.rules);
      return out.error();
    }
    size_t pos = 0, found = 0;
    while ((pos = out->find("# handle ", pos)) != std::string::npos) {
      pos += 9;
      applied.rules.push_back(Rule{ns, std::stoull(out->substr(pos))});
      ++found;
    }
    if (found != list.size()) {
      (void)remove_rules(applied.rules);
      return Error(errc::internal, fmt::format("nft added {} rules but echoed {} handles: {}",
                                               list.size(), found, *out));
    }
  }
  Handle h = next_handle_++;
  applied_.emplace(h, std::move(applied));
  return h;
}

result<void> NetnsFabric::remove_rules(const std::vector<Rule>& rules) {
  std::map<std::string, std::string> by_ns;
  for (const auto& r : rules) {
    by_ns[r.netns] += fmt::format("delete rule inet {} output handle {}\n", table_, r.handle);
  }
  result<void> status;
  for (const auto& [ns, script] : by_ns) {
    std::vector<std::string> argv;
    if (!ns.empty()) argv = {"ip", "netns", "exec", ns};
    argv.insert(argv.end(), {"nft", "-f", "-"});
    if (auto r = run_tool(argv, script); !r) status = r.error();
  }
  return status;
}

result<void> NetnsFabric::heal(Handle h) {
  std::lock_guard lock(mu_);
  auto it = applied_.find(h);
  if (it == applied_.end()) return {};
  auto r = remove_rules(it->second.rules);
  if (!r) return r;  // still applied: heal_all() and close() try again
  applied_.erase(it);
  kept_.erase(h);
  return r;
}

void NetnsFabric::heal_all() {
  std::vector<Handle> handles;
  {
    std::lock_guard lock(mu_);
    for (const auto& [h, a] : applied_) {
      if (!kept_.count(h)) handles.push_back(h);
    }
  }
  for (Handle h : handles) (void)heal(h);
}

std::vector<LinkInfo> NetnsFabric::links() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> ids{std::string(kClientNode)};
  for (const auto& n : nodes_) ids.push_back(n.id);
  std::map<std::pair<std::string, std::string>, LinkInfo> out;
  for (const auto& f : ids) {
    for (const auto& t : ids) {
      if (f == t || t == kClientNode) continue;
      LinkInfo& li = out[{f, t}];
      li.from = f;
      li.to = t;
    }
  }
  for (const auto& [h, a] : applied_) {
    for (const auto& c : a.cuts) {
      if (auto it = out.find({c.from, c.to}); it != out.end()) it->second.cut_up = true;
      if (auto it = out.find({c.to, c.from}); it != out.end()) it->second.cut_down = true;
    }
    for (const auto& [f, t] : a.degraded) {
      if (auto it = out.find({f, t}); it != out.end()) ++it->second.toxics;
    }
  }
  std::vector<LinkInfo> v;
  for (auto& [k, li] : out) v.push_back(std::move(li));
  return v;
}

}  // namespace fl::chaos
