#include "harness/supervisor/spawn.h"

// Boost 1.81's process/v2/detail/config.hpp names boost::optional and Boost.TypeTraits without
// including them when BOOST_PROCESS_USE_STD_FS is set; they must come first.
// clang-format off
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
#include <boost/process/v2.hpp>
// clang-format on
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace fl::supervisor {
namespace {

namespace bp = boost::process::v2;

// Runs in the child between fork and exec: async-signal-safe calls only.
struct ChildSetup {
  pid_t parent = 0;
  int output_fd = -1;
  int null_fd = -1;

  bp::error_code on_exec_setup(bp::posix::default_launcher&, const std::filesystem::path&,
                               const char* const*&) const {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died before prctl took effect; then nobody would ever kill us.
    if (::getppid() != parent) ::_exit(127);
    if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(output_fd, STDOUT_FILENO) < 0 ||
        ::dup2(output_fd, STDERR_FILENO) < 0)
      return {errno, bp::system_category()};
    // The harness may block or ignore signals in its threads; the node must start clean.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      ::signal(sig, SIG_DFL);
    }
    return {};
  }
  // The launcher would call exit(), running this process's atexit handlers in the child.
  void on_exec_error(bp::posix::default_launcher&, const std::filesystem::path&,
                     const char* const*&, const bp::error_code&) const {
    ::_exit(127);
  }
};

bool is_executable_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

// Resolves argv[0] as execvp would, so that "not found" is reported before forking.
result<std::filesystem::path> resolve_program(const std::string& name) {
  auto fail = [&](int err) {
    return Error(errc::process_failed, "cannot start '" + name + "': " + std::strerror(err));
  };
  if (name.empty()) return fail(ENOENT);
  if (name.find('/') != std::string::npos) return std::filesystem::path(name);
  const char* path_env = std::getenv("PATH");
  std::string_view path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  bool denied = false;
  while (true) {
    auto colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    if (is_executable_file(candidate)) return candidate;
    if (::access(candidate.c_str(), F_OK) == 0) denied = true;
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return fail(denied ? EACCES : ENOENT);
}

}  // namespace

std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : overrides) overridden = overridden || k == name;
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [k, v] : overrides) env.push_back(k + "=" + v);
  return env;
}

result<pid_t> spawn_process(const SpawnSpec& spec) {
  if (spec.argv.empty())
    return Error(errc::invalid_argument, "cannot start a node with an empty command");
  auto program = resolve_program(spec.argv.front());
  if (!program) return program.error();

  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0)
    return Error(errc::io_error, std::string("cannot open /dev/null: ") + std::strerror(errno));

  std::vector<const char*> envp;
  envp.reserve(spec.env.size() + 1);
  for (const auto& e : spec.env) envp.push_back(e.c_str());
  envp.push_back(nullptr);

  // A private, never-run context: the launcher calls notify_fork() on the context of the executor
  // it is given, and this one has nothing registered that a fork could disturb.
  boost::asio::io_context launch_ctx;
  bp::posix::default_launcher launcher;
  launcher.env = envp.data();
  bp::error_code ec;
  std::vector<std::string> args(spec.argv.begin() + 1, spec.argv.end());
  auto proc = launcher(launch_ctx.get_executor(), ec, *program, args,
                       ChildSetup{::getpid(), spec.output_fd, null_fd});
  ::close(null_fd);
  if (ec) {
    // The child wrote errno to the launcher's pipe and exited; reap it.
    if (launcher.pid > 0) {
      int status = 0;
      while (::waitpid(launcher.pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    return Error(errc::process_failed, "cannot start '" + spec.argv.front() + "': " + ec.message());
  }
  pid_t pid = proc.id();
  // The supervisor tracks the child by pid and its own pidfd; the handle must not kill it.
  proc.detach();
  return pid;
}

}  // namespace fl::supervisor
