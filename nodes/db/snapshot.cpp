#include "nodes/db/snapshot.h"

namespace fl::db {

std::string encode_store(const Store&) { return {}; }

result<void> decode_store(std::string_view, Store&) {
  return Error(errc::unsupported, "decode_store: not implemented yet");
}

}  // namespace fl::db
