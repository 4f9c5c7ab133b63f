#include "tests/db/db_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace fl::dbtest {

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

ScratchDir::ScratchDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "fl-dbtest-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) std::abort();
  path = tmpl;
}

ScratchDir::~ScratchDir() {
  if (std::getenv("FL_KEEP_TEST_DIRS")) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

// ---- RespClient ----

RespClient::RespClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

RespClient::~RespClient() { close(); }

void RespClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  parser_ = resp::Parser();
}

bool RespClient::connect() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  ::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close();
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

std::optional<resp::Value> RespClient::call(const std::vector<std::string>& argv) {
  if (fd_ < 0 && !connect()) return std::nullopt;
  std::string buf;
  std::vector<std::string_view> views(argv.begin(), argv.end());
  resp::Writer(buf).command(std::span<const std::string_view>(views));
  size_t off = 0;
  while (off < buf.size()) {
    const ssize_t n = ::send(fd_, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      close();
      return std::nullopt;
    }
    off += static_cast<size_t>(n);
  }
  const auto deadline = SteadyClock::now() + timeout_;
  resp::Value v;
  for (;;) {
    const resp::Status st = parser_.next(v);
    if (st == resp::Status::ok) return v;
    if (st == resp::Status::error) break;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    parser_.feed(std::string_view(chunk, static_cast<size_t>(n)));
  }
  close();
  return std::nullopt;
}

bool is_error(const std::optional<resp::Value>& v, std::string_view prefix) {
  return v && v->type == resp::Type::error && v->str.compare(0, prefix.size(), prefix) == 0;
}

// ---- DbProcess ----

DbProcess::DbProcess(std::vector<std::string> args, std::filesystem::path log)
    : args_(std::move(args)), log_(std::move(log)) {}

DbProcess::~DbProcess() {
  signal(SIGCONT);
  kill(SIGKILL);
}

void DbProcess::start() {
  if (pid_ > 0) return;
  const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fd);
}

void DbProcess::kill(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  int status = 0;
  if (::waitpid(pid_, &status, 0) < 0 && sig != SIGKILL) {
    ::kill(pid_, SIGKILL);
  }
  pid_ = -1;
}

void DbProcess::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::string DbProcess::log_tail() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
}

int run_db_to_exit(const std::vector<std::string>& args, std::string& err) {
  ScratchDir dir;
  std::vector<std::string> full = {std::string(FL_BIN_DIR) + "/faultline-db"};
  full.insert(full.end(), args.begin(), args.end());
  const std::filesystem::path log = dir.path / "out";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fd);
  int status = 0;
  const bool exited = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  err = ss.str();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// ---- DbCluster ----

DbCluster::DbCluster(int shards, int replicas, std::vector<std::string> extra) {
  for (int s = 0; s < shards; ++s) {
    for (int r = 0; r < replicas; ++r) {
      auto port = ports_.allocate();
      if (!port) std::abort();
      specs_.push_back({"db-s" + std::to_string(s) + "-r" + std::to_string(r), s, *port});
    }
  }
  for (const NodeSpec& n : specs_) {
    std::vector<std::string> args = {std::string(FL_BIN_DIR) + "/faultline-db",
                                     "--id",
                                     n.id,
                                     "--shard",
                                     std::to_string(n.shard),
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(n.port),
                                     "--dir",
                                     (dir_.path / n.id).string(),
                                     "--log-level",
                                     "info"};
    for (const NodeSpec& m : specs_) {
      args.push_back("--member");
      args.push_back(m.id + "," + std::to_string(m.shard) + ",127.0.0.1:" + std::to_string(m.port));
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args_.push_back(args);
    nodes_.push_back(std::make_unique<DbProcess>(args, dir_.path / (n.id + ".log")));
    clients_.push_back(std::make_unique<RespClient>("127.0.0.1", n.port));
  }
}

DbCluster::~DbCluster() {
  for (auto& n : nodes_) n->kill(SIGKILL);
}

void DbCluster::standalone() {
  std::vector<std::string> args;
  const auto& all = args_.at(0);
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == "--member" || all[i] == "--shard") {
      ++i;
      continue;
    }
    args.push_back(all[i]);
  }
  nodes_[0] = std::make_unique<DbProcess>(args, dir_.path / (specs_[0].id + ".log"));
}

std::string DbCluster::address(size_t i) const {
  return "127.0.0.1:" + std::to_string(specs_[i].port);
}

size_t DbCluster::index_of_address(const std::string& host_port) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (address(i) == host_port) return i;
  }
  return specs_.size();
}

bool DbCluster::wait_ping(size_t i) {
  return eventually([&] {
    auto v = call(i, {"PING"});
    return v && v->type == resp::Type::simple_string && v->str == "PONG";
  });
}

bool DbCluster::start() {
  for (auto& n : nodes_) n->start();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!wait_ping(i)) return false;
  }
  return true;
}

bool DbCluster::restart(size_t i) {
  nodes_[i]->start();
  return wait_ping(i);
}

std::optional<resp::Value> DbCluster::call(size_t i, const std::vector<std::string>& argv) {
  return clients_[i]->call(argv);
}

std::string DbCluster::role(size_t i) {
  auto v = call(i, {"ROLE"});
  if (!v || v->type != resp::Type::array || v->elements.empty()) return "";
  return v->elements[0].str;
}

std::optional<size_t> DbCluster::master_of(int shard) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].shard == shard && nodes_[i]->running() && role(i) == "master") return i;
  }
  return std::nullopt;
}

std::optional<resp::Value> DbCluster::call_routed(size_t start,
                                                  const std::vector<std::string>& argv) {
  size_t at = start;
  std::optional<resp::Value> v;
  for (int hop = 0; hop < 6; ++hop) {
    v = call(at, argv);
    if (!is_error(v, "MOVED")) return v;
    // MOVED <shard> <host:port> <id>
    const std::string& s = v->str;
    const size_t from = s.find(' ', s.find(' ') + 1) + 1;
    at = index_of_address(s.substr(from, s.find(' ', from) - from));
    if (at >= specs_.size()) return v;
  }
  return v;
}

std::string DbCluster::logs() const {
  std::string out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    out += "---- " + specs_[i].id + "\n" + nodes_[i]->log_tail();
  }
  return out;
}

}  // namespace fl::dbtest
