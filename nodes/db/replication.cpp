#include "nodes/db/replication.h"

namespace fl::db {

std::string_view to_string(ReplicationMode m) { return m == ReplicationMode::sync ? "sync" : "async"; }

std::string_view to_string(Role r) {
  switch (r) {
    case Role::slave: return "slave";
    case Role::candidate: return "candidate";
    case Role::master: return "master";
  }
  return "?";
}

}  // namespace fl::db
