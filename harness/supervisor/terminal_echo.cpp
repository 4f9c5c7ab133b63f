#include "harness/supervisor/terminal_echo.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>

namespace fl::supervisor {

TerminalEcho::TerminalEcho(int fd, size_t max_pending) : fd_(fd), max_pending_(max_pending) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  thread_ = std::thread([this] { run(); });
}

TerminalEcho::~TerminalEcho() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (wake_[1] >= 0) {
    char c = 0;
    [[maybe_unused]] auto n = ::write(wake_[1], &c, 1);
  }
  thread_.join();
  if (wake_[0] >= 0) ::close(wake_[0]);
  if (wake_[1] >= 0) ::close(wake_[1]);
}

void TerminalEcho::push(std::string line) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    if (pending_ + line.size() > max_pending_) {
      ++skipped_;
      return;
    }
    if (skipped_ > 0) {
      std::string note = "[faultline] terminal output fell behind: skipped " +
                         std::to_string(skipped_) + " lines (they are in the node logs)\n";
      skipped_ = 0;
      pending_ += note.size();
      queue_.push_back(std::move(note));
    }
    pending_ += line.size();
    queue_.push_back(std::move(line));
  }
  cv_.notify_one();
}

// Writes in pieces of at most PIPE_BUF after poll() says the fd is writable, so a full pipe or a
// stopped terminal blocks only in poll(), where the destructor can interrupt it. False when the fd
// is broken, or when stopping and the fd stayed unwritable for 200ms.
bool TerminalEcho::write_all(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stop_;
    }
    pollfd fds[2] = {{fd_, POLLOUT, 0}, {wake_[0], POLLIN, 0}};
    int nfds = (!stopping && wake_[0] >= 0) ? 2 : 1;
    int r = ::poll(fds, nfds, stopping ? 200 : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (r == 0 && stopping)) return false;
    if (fds[0].revents & (POLLERR | POLLNVAL)) return false;
    if (!(fds[0].revents & (POLLOUT | POLLHUP))) continue;  // woken: re-check stop_
    size_t chunk = std::min<size_t>(s.size() - off, PIPE_BUF);
    ssize_t n = ::write(fd_, s.data() + off, chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == EPIPE) {
        // SIGPIPE is blocked on this thread; consume the pending one.
        sigset_t pipe_set;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        timespec zero{};
        ::sigtimedwait(&pipe_set, nullptr, &zero);
      }
      return false;
    }
    off += size_t(n);
  }
  return true;
}

void TerminalEcho::run() {
  // Writing to a closed pipe must fail with EPIPE, not kill the harness.
  sigset_t all;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and flushed
    // Whole lines, batched into one string: fewer syscalls.
    std::string batch;
    while (!queue_.empty() && batch.size() < 64 * 1024) {
      batch += queue_.front();
      pending_ -= queue_.front().size();
      queue_.pop_front();
    }
    lock.unlock();
    bool ok = write_all(batch);
    lock.lock();
    if (!ok && stop_) return;  // the terminal is gone or stuck: drop the rest
  }
}

}  // namespace fl::supervisor
