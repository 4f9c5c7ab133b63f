// fl_port_holder RUN_DIR: runs a Supervisor with six fl_test_node listeners, prints
// "ports p1 ... p6\npids n1 ... n6\n" when they are ready, and shuts down when stdin reaches EOF.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "tests/supervisor/test_support.h"

int main(int argc, char** argv) {
  using namespace fl::supervisor;
  if (argc != 2) return 2;
  testing::EventLog events;
  Supervisor sup(testing::quiet_options(argv[1], events));
  std::vector<fl::plan::Instance> nodes;
  for (int i = 0; i < 6; ++i) nodes.push_back(testing::listener("h" + std::to_string(i)));
  if (auto r = sup.start(nodes); !r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  std::string line = "ports";
  for (const auto& s : sup.status()) line += " " + std::to_string(s.port);
  line += "\npids";
  for (const auto& s : sup.status()) line += " " + std::to_string(s.pid);
  line += "\n";
  if (::write(1, line.data(), line.size()) < 0) return 1;
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  sup.shutdown();
  return 0;
}
