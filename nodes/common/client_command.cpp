#include "nodes/common/client_command.h"

#include <fmt/core.h>

#include <string>
#include <string_view>

#include "common/resp/resp.h"

namespace fl::nodes {

void client_command(CommandContext& c) {
  const std::string_view sub = c.argv[1];
  if (iequals(sub, "id") && c.argv.size() == 2) {
    return c.out.integer(static_cast<int64_t>(c.session.id));
  }
  if (iequals(sub, "getname") && c.argv.size() == 2) {
    if (c.session.name.empty()) return c.out.null();
    return c.out.bulk(c.session.name);
  }
  if (iequals(sub, "setname") && c.argv.size() == 3) {
    for (char ch : c.argv[2]) {
      if (ch < '!' || ch > '~') {
        return c.out.error(
            "ERR Client names cannot contain spaces, newlines or special characters.");
      }
    }
    c.session.name = std::string(c.argv[2]);
    return c.out.simple("OK");
  }
  if (iequals(sub, "setinfo") && c.argv.size() == 4) return c.out.simple("OK");
  c.out.error(fmt::format(
      "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.", sub));
}

}  // namespace fl::nodes
