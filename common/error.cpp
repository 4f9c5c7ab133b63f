#include "common/error.h"

#include <stdexcept>

namespace fl {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "faultline"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "ok";
      case errc::invalid_argument: return "invalid argument";
      case errc::parse_error: return "parse error";
      case errc::not_found: return "not found";
      case errc::timeout: return "timed out";
      case errc::io_error: return "i/o error";
      case errc::protocol_error: return "protocol error";
      case errc::process_failed: return "process failed";
      case errc::not_ready: return "not ready";
      case errc::unsupported: return "unsupported";
      case errc::cancelled: return "cancelled";
      case errc::limit_exceeded: return "limit exceeded";
      case errc::internal: return "internal error";
    }
    return "unknown faultline error";
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(e.message.empty() ? e.code.message() : e.message);
}

}  // namespace fl
