// Change events: a shard master announces every committed write, one event per key it wrote,
// on a broker topic, so that caches can invalidate what they hold. Delivery is at least once
// while the master lives (an event may repeat, and a resent event may come after later ones);
// events still in the outbox when a master crashes are lost (the outbox lives in memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/units.h"

namespace boost::asio {
class io_context;
}

namespace fl::db {

struct ChangeEvent {
  std::string key;  // the key written ("" for FLUSHALL/FLUSHDB: every key)
  std::string op;   // the logged command, lower case (set, del, pexpireat, ...)
  int shard = 0;
  uint64_t index = 0;  // the write's log index on its shard
  std::string origin;  // CLIENT SETNAME name of the connection that wrote it ("" when unknown)
};

// Where a replica hands its change events. Implemented by ChangePublisher; tests record.
class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  // Queues `e` for publication; never blocks.
  virtual void publish(ChangeEvent e) = 0;
  // The body of INFO's "# Changes" section ("name:value\r\n" lines).
  virtual std::string info() const = 0;
};

struct ChangePublisherOptions {
  // Broker address.
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // Stream the events are added to (XADD <topic> * key .. op .. shard .. index .. origin ..).
  std::string topic = "changes";
  // Most events waiting (unsent or unanswered); beyond it the oldest is dropped and counted.
  size_t max_outbox = 100000;
  // Most XADDs sent and not yet answered.
  size_t window = 1024;
  // Per-XADD deadline, and the retry delay after a failure (doubling up to 1 s).
  Duration timeout = std::chrono::seconds(1);
  Duration retry_min = std::chrono::milliseconds(20);
  // CLIENT SETNAME of the broker connection.
  std::string client_name;
};

struct ChangePublisherStats {
  uint64_t published = 0;  // events the broker acknowledged
  uint64_t dropped = 0;    // events dropped: outbox full, or refused by the broker with -ERR
  uint64_t resent = 0;     // sends after a failed attempt
};

// Publishes change events to the broker through an Upstream, with an outbox: an event is resent
// until the broker acknowledges it (its XADD reply is an ID). Runs on `io`'s thread.
class ChangePublisher final : public ChangeSink {
 public:
  ChangePublisher(boost::asio::io_context& io, ChangePublisherOptions options);
  ~ChangePublisher() override;
  ChangePublisher(const ChangePublisher&) = delete;
  ChangePublisher& operator=(const ChangePublisher&) = delete;

  void publish(ChangeEvent e) override;
  std::string info() const override;

  // Events not yet acknowledged.
  size_t pending() const;
  const ChangePublisherStats& stats() const;
  // Stops sending; events still waiting are abandoned (not counted as dropped).
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fl::db
