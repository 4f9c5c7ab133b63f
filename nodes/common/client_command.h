// The CLIENT command as the reference nodes answer it for their own connections.
#pragma once

#include "nodes/common/command_table.h"

namespace fl::nodes {

// Answers CLIENT ID, GETNAME, SETNAME (refusing names with spaces or special characters, with
// Redis's error) and SETINFO (accepted and ignored) for the calling connection's session; any
// other subcommand or argument count gets Redis's unknown-subcommand error. Register with arity
// -2.
void client_command(CommandContext& ctx);

}  // namespace fl::nodes
