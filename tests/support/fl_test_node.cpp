// fl_test_node: a small, configurable process for supervisor tests. It can listen (plain TCP,
// answering RESP PING or minimal HTTP), print lines, delay becoming ready, exit on a schedule,
// ignore SIGTERM, spam output, fork a grandchild and write a file. Single-threaded, poll()-based.
//
//   --listen PORT         accept TCP connections on 127.0.0.1:PORT
//   --host ADDR           listen on ADDR (an IPv4 address) instead of 127.0.0.1
//   --resp                answer "PING" (RESP array or inline) with +PONG
//   --http                answer any request with "HTTP/1.1 200 OK"
//   --print LINE          print LINE to stdout (repeatable; after listening starts)
//   --delay-ready DUR     sleep DUR before listening and printing (e.g. 500ms, 2s)
//   --exit-after DUR      exit DUR after start-up (after the prints and spam)
//   --exit-code N         exit code for --exit-after (default 0)
//   --ignore-sigterm      ignore SIGTERM
//   --spam BYTES          write BYTES of output lines as fast as possible, then "spam done"
//   --fork-grandchild     fork a child that sleeps forever; prints "grandchild pid=N"
//   --write-file PATH     create PATH containing "written by fl_test_node"
//   --exit-if-exists PATH exit at once with code 4 if PATH exists
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "fl_test_node: %s\n", msg.c_str());
  std::exit(2);
}

std::chrono::milliseconds parse_ms(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string unit(end);
  double ms = unit == "ms"                  ? v
              : unit == "s" || unit.empty() ? v * 1000
              : unit == "m"                 ? v * 60000
                                            : -1;
  if (ms < 0) die("bad duration " + s);
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= size_t(w);
  }
}

void say(const std::string& line) {
  std::string l = line + "\n";
  write_all(1, l.data(), l.size());
}

struct Client {
  int fd;
  std::string in;
};

}  // namespace

int main(int argc, char** argv) {
  int port = -1;
  bool resp = false, http = false, ignore_term = false, grandchild = false;
  std::vector<std::string> prints;
  std::chrono::milliseconds delay_ready{0};
  std::optional<std::chrono::milliseconds> exit_after;
  int exit_code = 0;
  long long spam = 0;
  std::string write_file, exit_if_exists, ready_when, host = "127.0.0.1";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--listen")
      port = std::atoi(next().c_str());
    else if (a == "--host")
      host = next();
    else if (a == "--resp")
      resp = true;
    else if (a == "--http")
      http = true;
    else if (a == "--print")
      prints.push_back(next());
    else if (a == "--delay-ready")
      delay_ready = parse_ms(next());
    else if (a == "--exit-after")
      exit_after = parse_ms(next());
    else if (a == "--exit-code")
      exit_code = std::atoi(next().c_str());
    else if (a == "--ignore-sigterm")
      ignore_term = true;
    else if (a == "--spam")
      spam = std::atoll(next().c_str());
    else if (a == "--fork-grandchild")
      grandchild = true;
    else if (a == "--write-file")
      write_file = next();
    else if (a == "--ready-when")
      ready_when = next();
    else if (a == "--exit-if-exists")
      exit_if_exists = next();
    else
      die("unknown flag " + a);
  }
  auto started = Clock::now();
  if (ignore_term) std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  say("fl_test_node starting pid=" + std::to_string(::getpid()));

  if (!exit_if_exists.empty() && ::access(exit_if_exists.c_str(), F_OK) == 0) {
    say(exit_if_exists + " exists: refusing to start");
    return 4;
  }
  if (grandchild) {
    pid_t pid = ::fork();
    if (pid == 0) {
      while (true) ::pause();
    }
    say("grandchild pid=" + std::to_string(pid));
  }
  if (!write_file.empty()) {
    int fd = ::open(write_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("cannot write " + write_file + ": " + std::strerror(errno));
    write_all(fd, "written by fl_test_node\n", 24);
    ::close(fd);
  }
  std::this_thread::sleep_for(delay_ready);
  // Held back until a test says so: lets tests order events by condition, not by timing.
  while (!ready_when.empty() && ::access(ready_when.c_str(), F_OK) != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  int lfd = -1;
  if (port >= 0) {
    lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(uint16_t(port));
    if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) die("bad --host " + host);
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      die("bind " + std::to_string(port) + ": " + std::strerror(errno));
    if (::listen(lfd, 64) != 0) die(std::string("listen: ") + std::strerror(errno));
    say("listening on " + host + ":" + std::to_string(port));
  }
  for (const auto& p : prints) say(p);
  if (spam > 0) {
    std::string line(199, 'x');
    line += '\n';
    std::string block;
    for (int i = 0; i < 1000; ++i) block += line;
    long long left = spam;
    while (left > 0) {
      size_t n = size_t(std::min<long long>(left, static_cast<long long>(block.size())));
      write_all(1, block.data(), n);
      left -= static_cast<long long>(n);
    }
    say("spam done");
  }

  std::vector<Client> clients;
  while (true) {
    int timeout = -1;
    if (exit_after) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(started + *exit_after -
                                                                        Clock::now());
      if (left.count() <= 0) {
        say("exiting with code " + std::to_string(exit_code));
        return exit_code;
      }
      timeout = int(left.count());
    }
    std::vector<pollfd> fds;
    if (lfd >= 0) fds.push_back({lfd, POLLIN, 0});
    for (auto& c : clients) fds.push_back({c.fd, POLLIN, 0});
    int r = ::poll(fds.data(), fds.size(), timeout);
    if (r < 0 && errno != EINTR) die(std::string("poll: ") + std::strerror(errno));
    if (r <= 0) continue;
    size_t idx = 0;
    if (lfd >= 0) {
      if (fds[0].revents & POLLIN) {
        int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c >= 0) clients.push_back({c, {}});
      }
      idx = 1;
    }
    std::vector<Client> keep;
    for (size_t i = 0; i < clients.size(); ++i) {
      auto& c = clients[i];
      short rev = idx + i < fds.size() ? fds[idx + i].revents : 0;
      bool close_it = false;
      if (rev & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t n = ::read(c.fd, buf, sizeof buf);
        if (n <= 0)
          close_it = true;
        else
          c.in.append(buf, size_t(n));
        if (resp && c.in.find("PING") != std::string::npos &&
            c.in.find("\r\n") != std::string::npos && c.in.rfind("\r\n") == c.in.size() - 2) {
          write_all(c.fd, "+PONG\r\n", 7);
          c.in.clear();
        }
        if (http && c.in.find("\r\n\r\n") != std::string::npos) {
          static const char kReply[] =
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
          write_all(c.fd, kReply, sizeof kReply - 1);
          close_it = true;
        }
      }
      if (close_it)
        ::close(c.fd);
      else
        keep.push_back(c);
    }
    clients = std::move(keep);
  }
}
