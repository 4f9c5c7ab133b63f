#include "tests/load/servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "common/resp/resp.h"
#include "harness/supervisor/port_allocator.h"

namespace fl::load::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

supervisor::PortAllocator& ports() {
  static supervisor::PortAllocator allocator;
  return allocator;
}

uint16_t allocate_port() {
  auto p = ports().allocate();
  if (!p) throw std::runtime_error("no free port: " + p.error().message);
  return *p;
}

// fork+exec with the child's stdout to `out_fd` (or /dev/null), dying with the test process.
pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(out_fd >= 0 ? out_fd : devnull, 1);
    dup2(devnull, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int connect_to(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

}  // namespace

std::string raw_command(uint16_t port, const std::vector<std::string>& argv) {
  int fd = connect_to(port);
  if (fd < 0) return "";
  std::string req;
  resp::Writer w(req);
  std::vector<std::string_view> views(argv.begin(), argv.end());
  w.command(views);
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "";
  }
  resp::Parser parser;
  resp::Value v;
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    parser.feed(std::string_view(buf, static_cast<size_t>(n)));
    out.append(buf, static_cast<size_t>(n));
    if (parser.next(v) != resp::Status::need_more) break;
  }
  close(fd);
  return out;
}

std::unique_ptr<ServerProcess> ServerProcess::redis() {
  auto s = std::unique_ptr<ServerProcess>(new ServerProcess);
  s->port_ = allocate_port();
  s->pid_ = spawn({"redis-server", "--port", std::to_string(s->port_), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no"},
                  -1);
  auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline) {
    if (raw_command(s->port_, {"PING"}) == "+PONG\r\n") return s;
    usleep(10'000);
  }
  throw std::runtime_error("redis-server did not answer PING within 20s");
}

std::unique_ptr<ServerProcess> ServerProcess::faultline_db() {
  auto s = std::unique_ptr<ServerProcess>(new ServerProcess);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  s->pid_ = spawn({std::string(FL_BIN_DIR) + "/faultline-db", "--port", "0", "--log-level", "warn"},
                  fds[1]);
  close(fds[1]);
  std::string text;
  auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    auto at = text.find(" ready on ");
    auto nl = text.find('\n', at == std::string::npos ? 0 : at);
    if (at != std::string::npos && nl != std::string::npos) {
      auto line = text.substr(at, nl - at);
      s->port_ = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
      s->out_fd_ = fds[0];
      return s;
    }
  }
  close(fds[0]);
  throw std::runtime_error("faultline-db did not print its ready line within 20s: " + text);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (port_ != 0) ports().release(port_);
  if (out_fd_ >= 0) close(out_fd_);
}

void ServerProcess::pause() { kill(pid_, SIGSTOP); }
void ServerProcess::resume() { kill(pid_, SIGCONT); }

uint16_t closed_port() { return allocate_port(); }

ScriptedServer::ScriptedServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("ScriptedServer: cannot listen");
  }
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    std::vector<resp::Parser> parsers(1);
    while (!stop_) {
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (i == 0) {
          int c = accept(listen_fd_, nullptr, nullptr);
          if (c >= 0) {
            fds.push_back({c, POLLIN, 0});
            parsers.emplace_back();
          }
          continue;
        }
        char buf[16384];
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;  // poll ignores negative fds
          continue;
        }
        parsers[i].feed(std::string_view(buf, static_cast<size_t>(n)));
        std::vector<std::string_view> argv;
        std::string out;
        while (parsers[i].next_command(argv) == resp::Status::ok) {
          ++commands_;
          out += handler_(std::vector<std::string>(argv.begin(), argv.end()), port_);
        }
        if (!out.empty() && write(fds[i].fd, out.data(), out.size()) < 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
        }
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].fd >= 0) close(fds[i].fd);
    }
  });
}

ScriptedServer::~ScriptedServer() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
}

FixedReplyServer::FixedReplyServer(std::string reply)
    : ScriptedServer([reply = std::move(reply)](const std::vector<std::string>&, uint16_t port) {
        std::string out = reply;
        if (auto at = out.find("{port}"); at != std::string::npos) {
          out.replace(at, 6, std::to_string(port));
        }
        return out;
      }) {}

}  // namespace fl::load::testing
