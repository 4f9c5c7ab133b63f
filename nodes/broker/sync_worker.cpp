#include "nodes/broker/sync_worker.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace fl::broker {

SyncWorker::SyncWorker() : thread_([this] { loop(); }) {}

SyncWorker::~SyncWorker() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SyncWorker::submit(std::vector<int> fds, Done done) {
  {
    std::lock_guard lk(mu_);
    job_.emplace(std::move(fds), std::move(done));
  }
  cv_.notify_all();
}

void SyncWorker::loop() {
  for (;;) {
    std::pair<std::vector<int>, Done> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || job_.has_value(); });
      if (!job_) return;
      job = std::move(*job_);
      job_.reset();
    }
    std::atomic<int> first_error{0};
    auto sync_one = [&](int fd) {
      if (::fdatasync(fd) != 0) {
        int expected = 0;
        first_error.compare_exchange_strong(expected, errno);
      }
      ::close(fd);
    };
    std::vector<std::thread> helpers;
    for (size_t i = 1; i < job.first.size(); ++i) helpers.emplace_back(sync_one, job.first[i]);
    if (!job.first.empty()) sync_one(job.first[0]);
    for (auto& h : helpers) h.join();
    job.second(first_error.load());
  }
}

}  // namespace fl::broker
