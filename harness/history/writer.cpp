#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "harness/history/history.h"
#include "harness/history/json_line.h"

namespace fl::history {
namespace {

// Two locks keep appends off the disk's critical path: `mu_` guards the buffer (held for a
// string append), `io_mu_` orders writes to the file (held across write(2)). A flush takes
// io_mu_ first, then swaps the buffer out under mu_, so the file receives lines in index order.
class FileWriter final : public Writer {
 public:
  FileWriter(int fd, Options opts) : fd_(fd), opts_(opts) {
    buf_.reserve(opts_.buffer_bytes + 4096);
    flusher_ = std::thread([this] { flush_loop(); });
  }
  ~FileWriter() override { close(); }

  int64_t append(const Op& op) override {
    std::string body;
    body.reserve(96);
    append_json_body(body, op);
    bool full = false;
    int64_t index;
    {
      std::lock_guard lock(mu_);
      if (closed_) return -1;
      index = next_++;
      char num[24];
      int n = std::snprintf(num, sizeof num, "{\"index\":%lld,", static_cast<long long>(index));
      buf_.append(num, static_cast<size_t>(n));
      buf_ += body;
      buf_ += '\n';
      full = buf_.size() >= opts_.buffer_bytes;
    }
    if (full) flush();
    return index;
  }

  void flush() override {
    std::lock_guard io(io_mu_);
    std::string out;
    {
      std::lock_guard lock(mu_);
      if (buf_.empty()) return;
      out.swap(buf_);
      buf_.reserve(opts_.buffer_bytes + 4096);
    }
    write_all(out);
  }

  void close() override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
    }
    wake_.notify_all();
    if (flusher_.joinable()) flusher_.join();
    std::lock_guard io(io_mu_);
    std::string out;
    {
      std::lock_guard lock(mu_);
      out.swap(buf_);
    }
    write_all(out);
    if (fd_ >= 0) {
      ::fsync(fd_);
      ::close(fd_);
      fd_ = -1;
    }
  }

  int64_t count() const override {
    std::lock_guard lock(mu_);
    return next_;
  }

 private:
  void flush_loop() {
    std::unique_lock lock(mu_);
    while (!closed_) {
      wake_.wait_for(lock, opts_.flush_interval);
      if (closed_) break;
      lock.unlock();
      flush();
      lock.lock();
    }
  }

  // REQUIRES: io_mu_ held. A failed write (disk full) drops the data rather than blocking the
  // run; the reader then sees a shorter history, which is reported by the checkers as such.
  void write_all(std::string_view data) {
    while (!data.empty() && fd_ >= 0) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  int fd_;
  Options opts_;
  mutable std::mutex mu_;
  std::mutex io_mu_;
  std::condition_variable wake_;
  std::string buf_;
  int64_t next_ = 0;
  bool closed_ = false;
  std::thread flusher_;
};

}  // namespace

result<std::unique_ptr<Writer>> Writer::open(const std::filesystem::path& path, Options opts) {
  if (opts.buffer_bytes == 0) opts.buffer_bytes = 1;
  if (opts.flush_interval <= std::chrono::milliseconds::zero()) {
    opts.flush_interval = std::chrono::milliseconds(1);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
  if (fd < 0) {
    return Error(errc::io_error,
                 path.string() + ": cannot open for writing: " + std::strerror(errno));
  }
  return std::unique_ptr<Writer>(new FileWriter(fd, opts));
}

}  // namespace fl::history
