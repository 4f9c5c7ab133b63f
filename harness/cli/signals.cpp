#include "harness/cli/signals.h"

#include "common/exit_codes.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <fmt/core.h>

#include <atomic>
#include <cstdio>

namespace fl::cli {
namespace {

int g_pipe_write = -1;
std::atomic<int> g_count{0};
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

extern "C" void on_signal(int signo) {
  if (g_count.fetch_add(1) > 0) _exit(kExitHarness);  // second signal: stop now
  const int saved = errno;
  unsigned char b = static_cast<unsigned char>(signo);
  [[maybe_unused]] ssize_t n = ::write(g_pipe_write, &b, 1);
  errno = saved;
}

}  // namespace

StopSignals::StopSignals() {
  if (::pipe2(pipe_, O_CLOEXEC) != 0) return;
  g_pipe_write = pipe_[1];
  g_count = 0;
  struct sigaction sa;
  ::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int s : kSignals) ::sigaction(s, &sa, nullptr);
  watcher_ = std::thread([this] { watch(); });
}

StopSignals::~StopSignals() {
  for (int s : kSignals) ::signal(s, SIG_DFL);
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  unsigned char zero = 0;
  [[maybe_unused]] ssize_t n = ::write(pipe_[1], &zero, 1);
  if (watcher_.joinable()) watcher_.join();
  ::close(pipe_[0]);
  ::close(pipe_[1]);
  g_pipe_write = -1;
}

void StopSignals::watch() {
  unsigned char b = 0;
  while (true) {
    ssize_t n = ::read(pipe_[0], &b, 1);
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  std::function<void()> action;
  {
    std::unique_lock lock(mu_);
    if (b == 0) return;  // closing without a signal
    signal_ = b;
    cv_.notify_all();
    cv_.wait(lock, [&] { return action_ || closing_; });
    action = action_;
  }
  if (action) action();
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
}

void StopSignals::on_stop(std::function<void()> action) {
  {
    std::lock_guard lock(mu_);
    action_ = std::move(action);
  }
  cv_.notify_all();
}

bool StopSignals::requested() const {
  std::lock_guard lock(mu_);
  return signal_ != 0;
}

void StopSignals::wait_done() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return done_; });
}

std::string StopSignals::signal_name() const {
  std::lock_guard lock(mu_);
  switch (signal_) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return signal_ ? "signal " + std::to_string(signal_) : "";
  }
}

SeriesStop::SeriesStop(StopSignals& signals, std::string message)
    : signals_(signals), state_(std::make_shared<State>()) {
  state_->message = std::move(message);
  signals_.on_stop([state = state_] {
    state->interrupted = true;
    fmt::print(stderr, "{}", state->message);
    std::lock_guard lock(state->mu);
    if (state->end_current) state->end_current();
  });
}

SeriesStop::~SeriesStop() { signals_.on_stop([] {}); }

bool SeriesStop::interrupted() const { return state_->interrupted; }

SeriesStop::Hook SeriesStop::hook() {
  return [this](std::function<void()> end_early) { set_current(std::move(end_early)); };
}

void SeriesStop::set_current(std::function<void()> end) {
  std::lock_guard lock(state_->mu);
  state_->end_current = std::move(end);
  // A signal that came while the run was starting found no function to call: end it now.
  if (state_->end_current && state_->interrupted) state_->end_current();
}

}  // namespace fl::cli
