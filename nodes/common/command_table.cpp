#include "nodes/common/command_table.h"

#include <fmt/core.h>

#include "common/resp/resp.h"

namespace fl::nodes {
namespace {

constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

size_t CommandTable::CaseInsensitiveHash::operator()(std::string_view s) const noexcept {
  // FNV-1a over lower-cased bytes: command names are short, so this is cheaper than lowering
  // into a temporary and hashing that.
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(lower(c));
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

bool CommandTable::CaseInsensitiveEqual::operator()(std::string_view a,
                                                    std::string_view b) const noexcept {
  return iequals(a, b);
}

void CommandTable::add(std::string_view name, int arity, CommandHandler handler) {
  std::string lname(name);
  for (char& c : lname) c = lower(c);
  Entry e{lname, arity, std::move(handler)};
  commands_.insert_or_assign(std::move(lname), std::move(e));
}

bool CommandTable::contains(std::string_view name) const {
  return commands_.find(name) != commands_.end();
}

void DeferredReply::complete(std::string resp_bytes) {
  if (!slot_ || slot_->done || slot_->abandoned) return;
  slot_->bytes = std::move(resp_bytes);
  slot_->done = true;
  if (slot_->wake) slot_->wake();
}

std::shared_ptr<detail::PendingReply> CommandTable::dispatch(std::span<const std::string_view> argv,
                                                             resp::Writer& out,
                                                             Session& session,
                                                             std::string* buffer) const {
  auto it = commands_.find(argv[0]);
  if (it == commands_.end() && fallback_) {
    CommandContext ctx{argv, out, session, nullptr, buffer};
    fallback_(ctx);
    return std::move(ctx.deferred);
  }
  if (it == commands_.end()) {
    // Redis 7: "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ".
    std::string msg =
        fmt::format("ERR unknown command '{}', with args beginning with: ", argv[0].substr(0, 128));
    for (size_t i = 1; i < argv.size() && msg.size() < 256; ++i) {
      msg += fmt::format("'{}' ", argv[i].substr(0, 128));
    }
    out.error(msg);
    return nullptr;
  }
  const Entry& e = it->second;
  const auto n = static_cast<int>(argv.size());
  if ((e.arity > 0 && n != e.arity) || (e.arity < 0 && n < -e.arity)) {
    out.error(fmt::format("ERR wrong number of arguments for '{}' command", e.name));
    return nullptr;
  }
  CommandContext ctx{argv, out, session, nullptr, buffer};
  e.handler(ctx);
  return std::move(ctx.deferred);
}

}  // namespace fl::nodes
