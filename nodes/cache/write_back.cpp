#include "nodes/cache/write_back.h"

namespace fl::cache {

void WriteBackBuffer::write(std::string_view key, std::optional<std::string_view> value,
                            TimeMs now) {
  auto it = keys_.find(key);
  if (it == keys_.end()) it = keys_.emplace(std::string(key), State{}).first;
  State& st = it->second;
  if (value) {
    st.value.emplace(*value);
  } else {
    st.value.reset();
  }
  st.seq = ++seq_;
  if (!st.queued && !st.in_flight) {
    st.queued = true;
    st.dirty_since = now;
    queue_.push_back({it->first, now});
  } else if (st.in_flight && !st.queued) {
    st.dirty_since = now;
  }
}

const std::optional<std::string>* WriteBackBuffer::find(std::string_view key) const {
  auto it = keys_.find(key);
  return it == keys_.end() ? nullptr : &it->second.value;
}

bool WriteBackBuffer::flush_due(TimeMs now) const {
  if (queue_.empty()) return false;
  return queue_.size() >= options_.batch || now - queue_.front().since >= options_.interval_ms;
}

std::vector<WriteBackBuffer::Item> WriteBackBuffer::take_batch() {
  std::vector<Item> batch;
  while (!queue_.empty() && batch.size() < options_.batch) {
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    auto it = keys_.find(q.key);
    if (it == keys_.end()) continue;
    State& st = it->second;
    st.queued = false;
    st.in_flight = true;
    batch.push_back({it->first, st.value, st.seq});
  }
  return batch;
}

void WriteBackBuffer::flushed(const Item& item, bool ok, TimeMs now) {
  auto it = keys_.find(item.key);
  if (it == keys_.end()) return;
  State& st = it->second;
  st.in_flight = false;
  if (!ok) {
    ++failures_;
    st.queued = true;
    queue_.push_front({it->first, now});  // retried after another interval
    return;
  }
  ++flushed_;
  if (st.seq != item.seq) {
    st.queued = true;
    queue_.push_back({it->first, st.dirty_since});
    return;
  }
  std::vector<std::function<void()>> waiters = std::move(st.waiters);
  keys_.erase(it);
  for (auto& f : waiters) f();
}

bool WriteBackBuffer::wait_clean(std::string_view key, std::function<void()> f) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return false;
  it->second.waiters.push_back(std::move(f));
  return true;
}

}  // namespace fl::cache
