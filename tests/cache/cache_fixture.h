// Test support: a faultline-cache process in front of a real faultline-db cluster, with a
// blocking client and INFO field lookup. Every process is SIGKILLed in the destructors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/db/db_cluster.h"

namespace fl::cachetest {

using namespace fl::dbtest;

// One faultline-cache process on an allocated port.
class CacheProcess {
 public:
  // `db` is the list of ID,SHARD,HOST:PORT; `extra` more flags.
  CacheProcess(const std::string& id, const std::vector<std::string>& db,
               std::vector<std::string> extra, const std::filesystem::path& log_dir) {
    auto p = ports_.allocate();
    if (!p) std::abort();
    port_ = *p;
    std::vector<std::string> args = {std::string(FL_BIN_DIR) + "/faultline-cache", "--id", id,
                                     "--host", "127.0.0.1", "--port", std::to_string(port_)};
    for (const std::string& d : db) {
      args.push_back("--db");
      args.push_back(d);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<DbProcess>(args, log_dir / (id + ".log"));
    client_ = std::make_unique<RespClient>("127.0.0.1", port_);
  }

  bool start() {
    proc_->start();
    return eventually([&] {
      auto v = client_->call({"PING"});
      return v && v->str == "PONG";
    });
  }

  std::optional<resp::Value> call(const std::vector<std::string>& argv) {
    return client_->call(argv);
  }

  // An INFO field as an integer (-1 when absent).
  int64_t info(const std::string& field) {
    auto v = call({"INFO"});
    if (!v || v->type != resp::Type::bulk_string) return -1;
    const std::string needle = "\r\n" + field + ":";
    const size_t at = v->str.find(needle);
    if (at == std::string::npos) return -1;
    return std::stoll(v->str.substr(at + needle.size()));
  }
  std::string info_text() {
    auto v = call({"INFO"});
    return v ? v->str : std::string("(no INFO)");
  }

  uint16_t port() const { return port_; }
  DbProcess& process() { return *proc_; }
  std::string log() const { return proc_->log_tail(); }

 private:
  supervisor::PortAllocator ports_;
  uint16_t port_ = 0;
  std::unique_ptr<DbProcess> proc_;
  std::unique_ptr<RespClient> client_;
};

// The --db list of a DbCluster.
inline std::vector<std::string> db_list(DbCluster& c) {
  std::vector<std::string> out;
  for (size_t i = 0; i < c.size(); ++i) {
    out.push_back(c.spec(i).id + "," + std::to_string(c.spec(i).shard) + "," + c.address(i));
  }
  return out;
}

}  // namespace fl::cachetest
