// Maps command names (case-insensitive) to handlers and checks their arity before calling them,
// answering unknown commands and wrong argument counts with Redis's exact error texts.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "nodes/common/session.h"

namespace fl::resp {
class Writer;
}

namespace fl::nodes {

// What a handler gets: the command's arguments (argv[0] is the name as the client spelled it),
// the writer of the connection's reply buffer, and the connection's session.
struct CommandContext {
  std::span<const std::string_view> argv;
  resp::Writer& out;
  Session& session;
};

// A handler must append exactly one reply to `ctx.out`.
using CommandHandler = std::function<void(CommandContext& ctx)>;

class CommandTable {
 public:
  // Registers `name` (any case). `arity` follows Redis: N > 0 means exactly N arguments
  // including the name; N < 0 means at least -N. Registering a name twice replaces it.
  void add(std::string_view name, int arity, CommandHandler handler);

  // Looks the command up, checks arity and calls its handler; on an unknown command or a wrong
  // number of arguments appends the Redis error instead. REQUIRES: !argv.empty().
  void dispatch(std::span<const std::string_view> argv, resp::Writer& out, Session& session) const;

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
};

// ASCII case-insensitive equality, for option words such as "NX" or "count".
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace fl::nodes
