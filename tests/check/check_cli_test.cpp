// End-to-end tests of `faultline check`: the real executable on the Porcupine corpus
// (tests/data/porcupine) and on hand-made histories.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_process.h"

namespace {

namespace fs = std::filesystem;

const fs::path kSource = FL_SOURCE_DIR;
const fs::path kCorpus = kSource / "tests/data/porcupine";

using fl::test::slurp;

class TempDir {
 public:
  TempDir() : path_(fl::test::make_temp_dir("fl-check-cli-")) {}
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Outcome {
  int exit = -1;
  std::string out, err;
};

// Runs `faultline args...` in `cwd` and waits for it (the command ends by itself).
Outcome faultline(const std::vector<std::string>& args, const fs::path& cwd) {
  TempDir io;
  Outcome r;
  fl::test::Process p(args, cwd, io.path() / "out", io.path() / "err");
  if (auto code = p.wait()) r.exit = *code < 0 ? 128 - *code : *code;
  r.out = p.out();
  r.err = p.err();
  return r;
}

// file -> expected verdict, for one model.
std::map<std::string, std::string> expected(const std::string& model) {
  std::map<std::string, std::string> out;
  std::ifstream tsv(kCorpus / "expected.tsv");
  std::string line;
  while (std::getline(tsv, line)) {
    std::istringstream in(line);
    std::string file, m, verdict;
    if (!(in >> file >> m >> verdict) || file == "#" || m != model) continue;
    out[file] = verdict;
  }
  return out;
}

TEST(CheckCli, AllEtcdHistoriesInOneCall) {
  auto want = expected("cas-register");
  ASSERT_EQ(want.size(), 102u);
  std::vector<std::string> args{"check", "--model", "cas-register", "--format", "jepsen-log"};
  for (const auto& [file, v] : want) args.push_back(file);
  Outcome r = faultline(args, kCorpus);
  EXPECT_EQ(r.exit, 1) << r.err;  // some are not linearizable
  EXPECT_EQ(r.err, "");
  std::map<std::string, std::string> got;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == ' ') continue;  // details of a violation
    auto colon = line.find(": ");
    ASSERT_NE(colon, std::string::npos) << line;
    std::string verdict = line.substr(colon + 2, line.find(' ', colon + 2) - colon - 2);
    got[line.substr(0, colon)] = verdict;
    EXPECT_NE(line.find(" ops, "), std::string::npos) << line;
    EXPECT_NE(line.find(" ms)"), std::string::npos) << line;
  }
  EXPECT_EQ(got, want);
  EXPECT_NE(r.out.find("  smallest failing window: "), std::string::npos);
}

TEST(CheckCli, KvFilesDetectTheirFormatAndReportJson) {
  auto want = expected("kv-append");
  ASSERT_EQ(want.size(), 6u);
  std::vector<std::string> args{"check", "--model", "kv-append", "--json"};
  for (const auto& [file, v] : want) args.push_back(file);
  Outcome r = faultline(args, kCorpus);
  EXPECT_EQ(r.exit, 1) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line)) {
    auto v = boost::json::parse(line).as_object();
    std::string file(v["file"].as_string());
    EXPECT_EQ(v["format"].as_string(), "edn");
    EXPECT_EQ(v["verdict"].as_string(), want[file]) << file;
    if (want[file] == "invalid") {
      EXPECT_FALSE(v["failing_window"].as_object()["ops"].as_array().empty()) << file;
      EXPECT_TRUE(v.contains("key"));
    }
    ++n;
  }
  EXPECT_EQ(n, 6u);
}

TEST(CheckCli, ValidJsonlHistoryExitsZeroAndTruncationIsTolerated) {
  TempDir dir;
  std::ofstream(dir.path() / "h.jsonl")
      << R"({"index":0,"time":10,"process":0,"type":"invoke","f":"write","key":"a","value":1})"
         "\n"
      << R"({"index":1,"time":20,"process":0,"type":"ok","f":"write","key":"a","value":1})"
         "\n"
      << R"({"index":2,"time":25,"process":"nemesis","type":"info","f":"kill","value":"n1"})"
         "\n"
      << R"({"index":3,"time":30,"process":1,"type":"invoke","f":"read","key":"a","value":null})"
         "\n"
      << R"({"index":4,"time":40,"process":1,"type":"ok","f":"read","key":"a","value":1})"
         "\n"
      << R"({"index":5,"time":50,"process":1,"type":"inv)";
  Outcome r = faultline({"check", "h.jsonl", "--model", "kv"}, dir.path());
  EXPECT_EQ(r.exit, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("h.jsonl: valid (2 ops, ", 0), 0u) << r.out;
}

TEST(CheckCli, UnreadableInputExitsThreeWithFileAndLine) {
  TempDir dir;
  std::ofstream(dir.path() / "bad.jsonl")
      << R"({"index":0,"time":10,"process":0,"type":"invoke","f":"read"})"
         "\n"
      << "not json\n"
      << R"({"index":2,"time":20,"process":0,"type":"ok","f":"read","value":null})"
         "\n";
  std::ofstream(dir.path() / "ok.jsonl")
      << R"({"index":0,"time":10,"process":0,"type":"invoke","f":"read"})"
         "\n"
      << R"({"index":1,"time":20,"process":0,"type":"ok","f":"read","value":null})"
         "\n";
  Outcome r = faultline({"check", "ok.jsonl", "bad.jsonl", "missing.jsonl", "--model", "register"},
                        dir.path());
  EXPECT_EQ(r.exit, 3);
  EXPECT_NE(r.err.find("bad.jsonl:2: invalid JSON"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing.jsonl: cannot open"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("ok.jsonl: valid (1 ops"), std::string::npos) << r.out;

  r = faultline({"check", "ok.jsonl", "--model", "bogus"}, dir.path());
  EXPECT_EQ(r.exit, 3);
  EXPECT_NE(r.err.find("unknown model 'bogus'"), std::string::npos);
  r = faultline({"check", "ok.jsonl", "--model", "kv", "--format", "xml"}, dir.path());
  EXPECT_EQ(r.exit, 3);
  r = faultline({"check", "ok.jsonl", "--model", "kv", "--budget", "soon"}, dir.path());
  EXPECT_EQ(r.exit, 3);
  r = faultline({"check", "--model", "kv"}, dir.path());
  EXPECT_EQ(r.exit, 3);
  r = faultline({"check", "--help"}, dir.path());
  EXPECT_EQ(r.exit, 0);
  EXPECT_NE(r.out.find("Usage: faultline check"), std::string::npos);
}

TEST(CheckCli, ExhaustedBudgetIsUnknownExitTwo) {
  // Many concurrent writes and reads of values no write produced: proving that takes a search
  // far longer than a 1ns budget.
  TempDir dir;
  std::ofstream h(dir.path() / "h.jsonl");
  int i = 0;
  auto line = [&](int p, const char* type, const char* f, const std::string& value) {
    h << "{\"index\":" << i << ",\"time\":" << i << ",\"process\":" << p << ",\"type\":\"" << type
      << "\",\"f\":\"" << f << "\",\"value\":" << value << "}\n";
    ++i;
  };
  for (int p = 0; p < 16; ++p) line(p, "invoke", "write", std::to_string(p));
  for (int p = 16; p < 40; ++p) line(p, "invoke", "read", "null");
  for (int p = 16; p < 40; ++p) line(p, "ok", "read", std::to_string(p % 4));
  for (int p = 0; p < 16; ++p) line(p, "ok", "write", std::to_string(p));
  h.close();
  Outcome r = faultline({"check", "h.jsonl", "--model", "register", "--budget", "1ns"}, dir.path());
  EXPECT_EQ(r.exit, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("h.jsonl: unknown"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("time budget of 1ns exhausted"), std::string::npos) << r.out;
}

}  // namespace
