// libFuzzer target for fl::resp. The input's first byte picks the limits, the next few bytes are
// a table of read sizes, the rest is the byte stream. The stream is parsed whole and in chunks,
// with next() and with next_command(), and the fuzzer aborts when:
//  - chunking changes anything (values, commands, final status, error message);
//  - a decoded value, re-encoded, does not parse back to itself;
//  - a decoded command, re-encoded with Writer::command, does not parse back to itself;
//  - next_raw() disagrees with next(): other statuses, or frames that are not the stream's
//    prefix or do not decode to next()'s values.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/resp/resp.h"

namespace {

using fl::resp::Limits;
using fl::resp::Parser;
using fl::resp::Status;
using fl::resp::Value;
using Argv = std::vector<std::string>;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

struct Chunks {
  std::string_view sizes;  // each byte is one read size (1..64); empty means one read
  size_t next = 0;
  size_t size() {
    if (sizes.empty()) return SIZE_MAX;
    return static_cast<unsigned char>(sizes[next++ % sizes.size()]) % 64 + 1;
  }
};

template <class Out, class Drain>
Status run(Parser& p, std::string_view stream, Chunks chunks, bool zero_copy, Out& out,
           Drain drain) {
  Status s = Status::need_more;
  size_t at = 0;
  do {
    const size_t n = std::min(chunks.size(), stream.size() - at);
    if (zero_copy) {
      auto space = p.prepare(n);
      check(space.size() >= n, "prepare gave less than asked");
      if (n != 0) std::memcpy(space.data(), stream.data() + at, n);
      p.commit(n);
    } else {
      p.feed(stream.substr(at, n));
    }
    at += n;
    s = drain(p, out);
  } while (s != Status::error && at < stream.size());
  return s;
}

Status drain_values(Parser& p, std::vector<Value>& out) {
  Value v;
  Status s;
  while ((s = p.next(v)) == Status::ok) out.push_back(v);
  return s;
}

Status drain_raw(Parser& p, std::vector<std::string>& out) {
  std::string_view raw;
  Status s;
  while ((s = p.next_raw(raw)) == Status::ok) out.emplace_back(raw);
  return s;
}

Status drain_commands(Parser& p, std::vector<Argv>& out) {
  std::vector<std::string_view> argv;
  Status s;
  while ((s = p.next_command(argv)) == Status::ok) {
    check(!argv.empty(), "empty command");
    out.emplace_back(argv.begin(), argv.end());
  }
  check(argv.empty(), "argv not empty after need_more/error");
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool small = data[0] & 1;
  const Limits limits =
      small ? Limits{.max_bulk = 64, .max_array = 8, .max_depth = 4, .max_inline = 32} : Limits{};
  const bool zero_copy = data[0] & 2;
  const size_t table = std::min<size_t>(data[1] % 8, size - 2);
  const auto* bytes = reinterpret_cast<const char*>(data);
  const std::string_view sizes(bytes + 2, table);
  const std::string_view stream(bytes + 2 + table, size - 2 - table);

  // Values: whole vs chunked, then round trip of each value.
  std::vector<Value> whole_values, chunked_values;
  Parser pw(limits), pc(limits);
  const Status sw = run(pw, stream, Chunks{}, false, whole_values, drain_values);
  const Status sc = run(pc, stream, Chunks{sizes}, zero_copy, chunked_values, drain_values);
  check(sw == sc, "next(): chunking changed the final status");
  check(whole_values == chunked_values, "next(): chunking changed the values");
  check(pw.error() == pc.error(), "next(): chunking changed the error");
  for (const Value& v : whole_values) {
    Parser again(limits);
    again.feed(fl::resp::encode(v));
    Value back;
    check(again.next(back) == Status::ok, "encoded value does not parse");
    check(back == v, "encoded value parses to a different value");
    check(again.buffered() == 0, "encoded value has trailing bytes");
  }

  // Raw frames: whole vs chunked, the same statuses and values as next(), and together exactly
  // the bytes next() consumed.
  std::vector<std::string> whole_raw, chunked_raw;
  Parser rw(limits), rc(limits);
  const Status raw_sw = run(rw, stream, Chunks{}, false, whole_raw, drain_raw);
  const Status raw_sc = run(rc, stream, Chunks{sizes}, zero_copy, chunked_raw, drain_raw);
  check(raw_sw == raw_sc, "next_raw(): chunking changed the final status");
  check(whole_raw == chunked_raw, "next_raw(): chunking changed the frames");
  check(raw_sw == sw, "next_raw() and next() end differently");
  check(rw.error() == pw.error(), "next_raw() and next() fail differently");
  check(whole_raw.size() == whole_values.size(), "next_raw() and next() count differently");
  size_t consumed = 0;
  for (size_t i = 0; i < whole_raw.size(); ++i) {
    check(stream.substr(consumed, whole_raw[i].size()) == whole_raw[i], "raw frame is not input");
    consumed += whole_raw[i].size();
    Parser again(limits);
    again.feed(whole_raw[i]);
    Value back;
    check(again.next(back) == Status::ok, "raw frame does not parse");
    check(back == whole_values[i], "raw frame parses to a different value");
    check(again.buffered() == 0, "raw frame has trailing bytes");
  }

  // Commands: whole vs chunked, then round trip of each command through Writer::command.
  std::vector<Argv> whole_commands, chunked_commands;
  Parser cw(limits), cc(limits);
  const Status cmd_sw = run(cw, stream, Chunks{}, false, whole_commands, drain_commands);
  const Status cmd_sc = run(cc, stream, Chunks{sizes}, zero_copy, chunked_commands, drain_commands);
  check(cmd_sw == cmd_sc, "next_command(): chunking changed the final status");
  check(whole_commands == chunked_commands, "next_command(): chunking changed the commands");
  check(cw.error() == cc.error(), "next_command(): chunking changed the error");
  for (const Argv& argv : whole_commands) {
    std::vector<std::string_view> views(argv.begin(), argv.end());
    std::string encoded;
    fl::resp::Writer(encoded).command(views);
    Parser again;  // inline commands may have more arguments than small limits allow in arrays
    again.feed(encoded);
    std::vector<std::string_view> back;
    check(again.next_command(back) == Status::ok, "encoded command does not parse");
    check(back == views, "encoded command parses to a different command");
    check(again.buffered() == 0, "encoded command has trailing bytes");
  }
  return 0;
}
