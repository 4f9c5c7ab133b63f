#include "nodes/broker/file_io.h"

namespace fl::broker {

void frame_record(std::string& out, std::string_view payload) {
  put_u32(out, static_cast<uint32_t>(payload.size()));
  put_u32(out, crc32c(payload));
  out.append(payload);
}

size_t read_record(std::string_view data, size_t pos, std::string_view& payload, std::string& why) {
  if (data.size() - pos < kRecordHeader) {
    why = "torn record header";
    return std::string_view::npos;
  }
  const uint32_t len = get_u32(data.data() + pos);
  const uint32_t crc = get_u32(data.data() + pos + 4);
  if (len > kMaxRecord) {
    why = "absurd record length";
    return std::string_view::npos;
  }
  if (data.size() - pos - kRecordHeader < len) {
    why = "torn record body";
    return std::string_view::npos;
  }
  payload = data.substr(pos + kRecordHeader, len);
  if (crc32c(payload) != crc) {
    why = "checksum mismatch";
    return std::string_view::npos;
  }
  return pos + kRecordHeader + len;
}

}  // namespace fl::broker
