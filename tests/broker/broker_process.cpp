#include "tests/broker/broker_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace fl::brokertest {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

ScratchDir::ScratchDir() {
  std::string tmpl = (fs::temp_directory_path() / "fl-broker-it-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  path = p ? fs::path(p) : fs::path();
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!path.empty()) fs::remove_all(path, ec);
}

RespClient::RespClient(uint16_t port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {}

RespClient::~RespClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RespClient::connect() {
  if (fd_ >= 0) return true;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  parser_ = resp::Parser();
  return true;
}

bool RespClient::send(const std::vector<std::vector<std::string>>& commands) {
  if (!connect()) return false;
  std::string out;
  resp::Writer w(out);
  for (const auto& argv : commands) {
    std::vector<std::string_view> views(argv.begin(), argv.end());
    w.command(views);
  }
  std::string_view data = out;
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<resp::Value> RespClient::read(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    resp::Value v;
    if (parser_.next(v) == resp::Status::ok) return v;
    if (fd_ < 0) return std::nullopt;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    auto space = parser_.prepare(1 << 16);
    ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
    if (n <= 0) {
      ::close(fd_);
      fd_ = -1;
      return std::nullopt;
    }
    parser_.commit(static_cast<size_t>(n));
  }
}

std::optional<resp::Value> RespClient::call(const std::vector<std::string>& argv) {
  if (!send({argv})) return std::nullopt;
  auto v = read(timeout_);
  if (!v && fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return v;
}

BrokerProcess::BrokerProcess(fs::path dir, std::vector<std::string> args)
    : dir_(std::move(dir)), args_(std::move(args)) {}

BrokerProcess::~BrokerProcess() { kill(SIGKILL); }

std::string BrokerProcess::log() const {
  std::ifstream f(log_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool BrokerProcess::start(std::string* why) {
  log_ = dir_.parent_path() / (dir_.filename().string() + "-" + std::to_string(++starts_) + ".log");
  std::vector<std::string> argv = {std::string(FL_BIN_DIR) + "/faultline-broker", "--port", "0",
                                   "--dir", dir_.string()};
  argv.insert(argv.end(), args_.begin(), args_.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  port_ = 0;
  const bool ready = eventually([&] {
    const std::string text = log();
    const size_t at = text.find(" ready on ");
    if (at == std::string::npos) {
      int status = 0;
      if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return true;  // exited: not ready
      }
      return false;
    }
    const size_t colon = text.find(':', at);
    port_ = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
    return true;
  });
  if ((!ready || port_ == 0) && why) *why = log();
  return ready && port_ != 0;
}

void BrokerProcess::kill(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace fl::brokertest
