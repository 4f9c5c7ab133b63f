// CRC32C (Castagnoli), as iSCSI, ext4 and LevelDB use: the checksum of every on-disk record of
// the reference nodes (the db's WAL and snapshots, the broker's logs). Changing it makes existing
// files unreadable.
#pragma once

#include <boost/crc.hpp>
#include <cstdint>
#include <string_view>

namespace fl::common {

// Feed pieces with process_bytes(), then read checksum().
using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

inline uint32_t crc32c(std::string_view data) {
  Crc32c crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

}  // namespace fl::common
