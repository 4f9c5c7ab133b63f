// Maps command names (case-insensitive) to handlers and checks their arity before calling them,
// answering unknown commands and wrong argument counts with Redis's exact error texts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "nodes/common/session.h"

namespace fl::resp {
class Writer;
}

namespace fl::nodes {

namespace detail {
// Shared by a DeferredReply and the connection that waits for it. Single-threaded: both sides
// run on the server's thread.
struct PendingReply {
  // The reply once complete() was called.
  std::string bytes;
  bool done = false;
  // Set when the connection closed: complete() then drops the reply.
  bool abandoned = false;
  // Set by the server while it waits; complete() calls it to resume the connection.
  std::function<void()> wake;
};

// A connection's output as seen by a PushChannel; implemented by the server.
struct PushSink {
  virtual ~PushSink() = default;
  // Queues `bytes` after every reply already queued; false once the connection is closed.
  virtual bool push(std::string bytes) = 0;
  virtual bool open() const = 0;
};
}  // namespace detail

// A copyable handle to a connection's output, for unsolicited messages (pub/sub pushes). Does
// not keep the connection alive. Only servers running with ServerOptions::pipeline_deferred give
// valid handles; an invalid handle's push() returns false.
class PushChannel {
 public:
  PushChannel() = default;
  PushChannel(std::weak_ptr<detail::PushSink> sink, uint64_t session_id)
      : sink_(std::move(sink)), session_id_(session_id) {}

  // Queues one or more complete RESP values after every reply already queued on the connection
  // (replies of commands not yet answered come first). Call on the server's thread. Returns false,
  // and drops the bytes, once the connection is closed.
  bool push(std::string resp_bytes) const {
    auto sink = sink_.lock();
    return sink && sink->push(std::move(resp_bytes));
  }
  // True while the connection is open.
  bool open() const {
    auto sink = sink_.lock();
    return sink && sink->open();
  }
  // The connection's Session::id (0 for an invalid handle).
  uint64_t session_id() const { return session_id_; }

 private:
  std::weak_ptr<detail::PushSink> sink_;
  uint64_t session_id_ = 0;
};

// A reply a handler supplies later (e.g. once a write is replicated). Copyable; every copy
// refers to the same reply. By default the connection answers nothing after the deferred
// command, and parses none of its later pipelined commands, until the reply is complete, so
// replies stay in order and a client reads its own writes. With
// ServerOptions::pipeline_deferred the later commands keep being dispatched and only their
// replies wait (they are written in command order).
class DeferredReply {
 public:
  DeferredReply() = default;
  explicit DeferredReply(std::shared_ptr<detail::PendingReply> slot) : slot_(std::move(slot)) {}

  // Supplies the reply: exactly one complete RESP value. Call on the server's thread. Only the
  // first call counts; after the connection closed it is a no-op.
  void complete(std::string resp_bytes);

  // True for a handle made by CommandContext::defer().
  bool valid() const { return slot_ != nullptr; }
  // True once complete() was called, or the connection is gone (nobody waits any more).
  bool finished() const { return !slot_ || slot_->done || slot_->abandoned; }

 private:
  std::shared_ptr<detail::PendingReply> slot_;
};

// What a handler gets: the command's arguments (argv[0] is the name as the client spelled it),
// the writer of the connection's reply buffer, and the connection's session.
struct CommandContext {
  std::span<const std::string_view> argv;
  resp::Writer& out;
  Session& session;
  // Set by defer(); read by the server after the handler returns.
  std::shared_ptr<detail::PendingReply> deferred = nullptr;
  // The buffer `out` appends to, when the caller of dispatch() gave it (see reply_encoded).
  std::string* buffer = nullptr;

  // Appends a reply that is already RESP-encoded (one complete value), e.g. produced by another
  // component. REQUIRES: nothing else appended by this handler, and no defer().
  void reply_encoded(std::string_view bytes) {
    if (buffer) {
      buffer->append(bytes);
    } else {
      defer().complete(std::string(bytes));
    }
  }

  // Defers this command's reply: the handler then appends nothing to `out`, and whoever holds
  // the handle completes it later (or at once). `argv` is only valid during the handler: copy
  // what the later reply needs. REQUIRES: called at most once, and nothing appended to `out`.
  DeferredReply defer() {
    deferred = std::make_shared<detail::PendingReply>();
    return DeferredReply(deferred);
  }

  // The connection's push channel (see PushChannel): valid only when the server runs with
  // ServerOptions::pipeline_deferred.
  PushChannel push_channel() const { return PushChannel(session.push_sink, session.id); }
};

// A handler must append exactly one reply to `ctx.out`, or call ctx.defer() and append nothing.
using CommandHandler = std::function<void(CommandContext& ctx)>;

class CommandTable {
 public:
  // Registers `name` (any case). `arity` follows Redis: N > 0 means exactly N arguments
  // including the name; N < 0 means at least -N. Registering a name twice replaces it.
  void add(std::string_view name, int arity, CommandHandler handler);

  // Looks the command up, checks arity and calls its handler; on an unknown command or a wrong
  // number of arguments appends the Redis error instead. Returns the pending reply when the
  // handler deferred it (see CommandContext::defer), else null. `buffer`, when given, is the
  // string `out` appends to (lets handlers append encoded replies without a deferral).
  // REQUIRES: !argv.empty().
  std::shared_ptr<detail::PendingReply> dispatch(std::span<const std::string_view> argv,
                                                 resp::Writer& out, Session& session,
                                                 std::string* buffer = nullptr) const;

  // Handles every command with a name not registered (instead of the unknown-command error),
  // without an arity check: e.g. a node that routes commands on to another table.
  void set_fallback(CommandHandler handler) { fallback_ = std::move(handler); }

  bool contains(std::string_view name) const;
  size_t size() const { return commands_.size(); }

 private:
  struct Entry {
    std::string name;  // lower case, for error messages
    int arity;
    CommandHandler handler;
  };
  struct CaseInsensitiveHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;
  };
  struct CaseInsensitiveEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept;
  };
  std::unordered_map<std::string, Entry, CaseInsensitiveHash, CaseInsensitiveEqual> commands_;
  CommandHandler fallback_;
};

// ASCII case-insensitive equality, for option words such as "NX" or "count".
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace fl::nodes
