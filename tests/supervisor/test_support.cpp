#include "tests/supervisor/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace fl::supervisor::testing {

std::string test_node() { return FL_TEST_NODE; }

plan::Instance node(std::string id, std::vector<std::string> args, plan::ProbeKind probe) {
  plan::Instance inst;
  inst.id = id;
  inst.group = id;
  inst.kind = "external";
  inst.command.push_back(test_node());
  for (auto& a : args) inst.command.push_back(std::move(a));
  inst.ready.kind = probe;
  inst.ready.interval = 10ms;
  inst.ready.timeout = 15s;
  inst.stop_grace = 5s;
  return inst;
}

plan::Instance listener(std::string id, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--listen", "{port}"};
  for (auto& a : extra) args.push_back(std::move(a));
  return node(std::move(id), std::move(args), plan::ProbeKind::tcp);
}

ScratchDir::ScratchDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "fl-sup-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) std::abort();
  path = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

void EventLog::add(const Event& e) {
  {
    std::lock_guard lock(mu_);
    events_.push_back(e);
  }
  cv_.notify_all();
}

std::vector<Event> EventLog::all() const {
  std::lock_guard lock(mu_);
  return events_;
}

std::vector<Event> EventLog::of(std::string_view node_id, std::optional<Event::Kind> kind) const {
  std::vector<Event> out;
  for (const auto& e : all())
    if (e.node == node_id && (!kind || e.kind == *kind)) out.push_back(e);
  return out;
}

bool EventLog::wait(const std::function<bool(const std::vector<Event>&)>& pred,
                    std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return pred(events_); });
}

bool EventLog::wait_count(std::string_view node_id, Event::Kind kind, size_t n,
                          std::chrono::milliseconds timeout) const {
  return wait(
      [&](const std::vector<Event>& evs) {
        size_t c = 0;
        for (const auto& e : evs) c += e.node == node_id && e.kind == kind;
        return c >= n;
      },
      timeout);
}

Options quiet_options(const std::filesystem::path& dir, EventLog& log) {
  Options o;
  o.run_dir = dir;
  o.bindir = dir;
  o.echo_logs = false;
  o.on_event = [&log](const Event& e) { log.add(e); };
  return o;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

char proc_state(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return 0;
  return text[close + 2];
}

bool gone(int pid) {
  if (pid <= 0) return true;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  char s = proc_state(pid);
  return s == 0 || s == 'Z' || s == 'X';
}

bool can_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<int> find_int(const std::filesystem::path& p, const std::string& key) {
  std::string text = read_file(p);
  auto pos = text.find(key + "=");
  if (pos == std::string::npos) return std::nullopt;
  return std::atoi(text.c_str() + pos + key.size() + 1);
}

const NodeStatus* find_status(const std::vector<NodeStatus>& all, std::string_view id) {
  for (const auto& s : all)
    if (s.id == id) return &s;
  return nullptr;
}

}  // namespace fl::supervisor::testing
