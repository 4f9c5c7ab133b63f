#include "chaos/process_faults.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "common/resp/resp.h"
#include "harness/plan/fault.h"
#include "harness/supervisor/supervisor.h"

namespace fl::chaos {
namespace {

using Clock = std::chrono::steady_clock;

// A socket closed when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Waits for `events` on fd until `deadline`; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

Error io_error(std::string_view what, const std::string& host, uint16_t port, int err) {
  return Error(errc::io_error,
               fmt::format("ROLE {}:{}: {}: {}", host, port, what, std::strerror(err)));
}

}  // namespace

result<void> SupervisorControl::kill(std::string_view id) { return s_.kill(id); }
result<void> SupervisorControl::terminate(std::string_view id) { return s_.terminate(id); }
result<void> SupervisorControl::pause(std::string_view id) { return s_.pause(id); }
result<void> SupervisorControl::resume(std::string_view id) { return s_.resume(id); }
result<void> SupervisorControl::restart(std::string_view id, bool wipe) {
  return s_.restart(id, wipe);
}

result<void> inject(ProcessControl& control, plan::FaultAction action, std::string_view id) {
  switch (action) {
    case plan::FaultAction::kill:
      return control.kill(id);
    case plan::FaultAction::terminate:
      return control.terminate(id);
    case plan::FaultAction::pause:
      return control.pause(id);
    case plan::FaultAction::restart:
      return control.restart(id, false);
    case plan::FaultAction::restart_wiped:
      return control.restart(id, true);
    case plan::FaultAction::partition:
    case plan::FaultAction::link:
    case plan::FaultAction::clock:
      break;
  }
  return Error(errc::invalid_argument, "not a process fault");
}

result<void> heal(ProcessControl& control, plan::FaultAction action, std::string_view id) {
  switch (action) {
    case plan::FaultAction::kill:
    case plan::FaultAction::terminate:
      return control.restart(id, false);
    case plan::FaultAction::pause:
      return control.resume(id);
    case plan::FaultAction::restart:
    case plan::FaultAction::restart_wiped:
      return {};
    case plan::FaultAction::partition:
    case plan::FaultAction::link:
    case plan::FaultAction::clock:
      break;
  }
  return Error(errc::invalid_argument, "not a process fault");
}

result<NodeRole> query_role(const std::string& host, uint16_t port,
                            std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return Error(errc::invalid_argument, fmt::format("ROLE: bad IPv4 address '{}'", host));
  }
  Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return io_error("socket", host, port, errno);
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return io_error("connect", host, port, errno);
    if (!wait_for(s.fd, POLLOUT, deadline)) {
      return Error(errc::timeout, fmt::format("ROLE {}:{}: connect timed out", host, port));
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return io_error("connect", host, port, err);
  }
  const std::string request = "*1\r\n$4\r\nROLE\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_for(s.fd, POLLOUT, deadline)) {
        return Error(errc::timeout, fmt::format("ROLE {}:{}: send timed out", host, port));
      }
    } else if (n < 0 && errno != EINTR) {
      return io_error("send", host, port, errno);
    }
  }
  resp::Parser parser;
  resp::Value reply;
  for (;;) {
    const auto st = parser.next(reply);
    if (st == resp::Status::ok) break;
    if (st == resp::Status::error) {
      return Error(errc::protocol_error, fmt::format("ROLE {}:{}: {}", host, port, parser.error()));
    }
    if (!wait_for(s.fd, POLLIN, deadline)) {
      return Error(errc::timeout,
                   fmt::format("ROLE {}:{}: no reply within {} ms", host, port, timeout.count()));
    }
    auto buf = parser.prepare(4096);
    const ssize_t n = ::recv(s.fd, buf.data(), buf.size(), 0);
    if (n == 0) {
      return Error(errc::io_error, fmt::format("ROLE {}:{}: connection closed", host, port));
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        parser.commit(0);
        continue;
      }
      return io_error("recv", host, port, errno);
    }
    parser.commit(static_cast<size_t>(n));
  }
  if (reply.type == resp::Type::error) {
    return Error(errc::protocol_error, fmt::format("ROLE {}:{}: -{}", host, port, reply.str));
  }
  const auto& e = reply.elements;
  if (reply.type != resp::Type::array || e.empty() ||
      (e[0].type != resp::Type::bulk_string && e[0].type != resp::Type::simple_string)) {
    return Error(errc::protocol_error,
                 fmt::format("ROLE {}:{}: expected an array starting with the role", host, port));
  }
  NodeRole out;
  out.role = e[0].str;
  if (e.size() > 1 && e.back().type == resp::Type::integer) out.term = e.back().integer;
  return out;
}

Resolution resolve(const plan::Selector& selector, const std::vector<plan::Instance>& instances,
                   const std::vector<NodeAddress>& nodes, const RoleQuery& ask, Rng& rng) {
  Resolution out;
  const auto candidates = plan::selector_candidates(selector, instances);
  if (candidates.empty()) {
    out.skipped = fmt::format("\"{}\" names no node of the plan", selector.text);
    return out;
  }
  std::map<std::string, const NodeAddress*> by_id;
  for (const auto& n : nodes) by_id.emplace(n.id, &n);
  const bool by_role = selector.kind == plan::Selector::Kind::master ||
                       selector.kind == plan::Selector::Kind::slaves;
  if (!by_role) {
    for (const auto* i : candidates) {
      out.nodes.push_back(i->id);
      out.roles.emplace_back();
    }
  } else {
    // Ask every running node of the shard.
    struct Answer {
      std::string id;
      NodeRole role;
    };
    std::vector<Answer> answers;
    std::vector<std::string> notes;
    for (const auto* i : candidates) {
      auto it = by_id.find(i->id);
      if (it == by_id.end() || !it->second->running) {
        notes.push_back(fmt::format("{}: not running", i->id));
        continue;
      }
      auto r = ask(*it->second);
      if (!r) {
        notes.push_back(fmt::format("{}: {}", i->id, r.error().message));
        continue;
      }
      notes.push_back(fmt::format("{}: {} term {}", i->id, r->role, r->term));
      answers.push_back({i->id, *r});
    }
    const Answer* master = nullptr;
    for (const auto& a : answers) {
      if (a.role.role == "master" && (!master || a.role.term > master->role.term)) master = &a;
    }
    if (selector.kind == plan::Selector::Kind::master) {
      if (master) {
        out.nodes.push_back(master->id);
        out.roles.push_back("master");
        out.term = master->role.term;
      }
    } else {
      for (const auto& a : answers) {
        if (a.role.role == "slave") {
          out.nodes.push_back(a.id);
          out.roles.push_back("slave");
        }
      }
    }
    if (out.nodes.empty()) {
      std::string all;
      for (const auto& n : notes) all += (all.empty() ? "" : "; ") + n;
      out.skipped =
          fmt::format("no node of shard {} answers ROLE {} ({})", selector.shard,
                      selector.kind == plan::Selector::Kind::master ? "master" : "slave", all);
      return out;
    }
  }
  if (selector.random && out.nodes.size() > 1) {
    // Draw among the nodes that are up, when the caller says which are: a fault on a node that
    // is already down would do nothing.
    std::vector<std::string> up_nodes, up_roles;
    for (size_t k = 0; k < out.nodes.size(); ++k) {
      auto it = by_id.find(out.nodes[k]);
      if (it != by_id.end() && it->second->running) {
        up_nodes.push_back(out.nodes[k]);
        up_roles.push_back(out.roles[k]);
      }
    }
    if (!up_nodes.empty()) {
      out.nodes = std::move(up_nodes);
      out.roles = std::move(up_roles);
    }
  }
  if (selector.random && out.nodes.size() > 1) {
    const size_t pick = rng.uniform(0, out.nodes.size() - 1);
    out.nodes = {out.nodes[pick]};
    out.roles = {out.roles[pick]};
  }
  return out;
}

}  // namespace fl::chaos
