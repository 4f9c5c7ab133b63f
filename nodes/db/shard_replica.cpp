#include "nodes/db/shard_replica.h"

namespace fl::db {

std::string_view to_string(ReadPolicy p) {
  switch (p) {
    case ReadPolicy::master: return "master";
    case ReadPolicy::slaves: return "slaves";
    case ReadPolicy::any: return "any";
  }
  return "?";
}

}  // namespace fl::db
