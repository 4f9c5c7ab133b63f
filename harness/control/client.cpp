#include "harness/control/client.h"

#include "common/file_io.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <vector>

namespace fl::control {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);


asio::awaitable<result<ClientResponse>> exchange(const RunAddress& run, http::verb method,
                                                 std::string target, std::string body,
                                                 std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(run.host, ec);
  if (ec) co_return Error(errc::invalid_argument, fmt::format("bad address '{}'", run.host));
  // The token goes with every request: never to anything but this machine.
  if (!address.is_loopback()) {
    co_return Error(errc::invalid_argument,
                    fmt::format("control.json names {}, not a loopback address", run.host));
  }
  const std::string where = fmt::format("{}:{}", run.host, run.port);
  auto fail = [&](const boost::system::error_code& e, std::string_view what) -> Error {
    if (e == beast::error::timeout) {
      return Error(errc::timeout, fmt::format("control API at {} did not answer within {}s ({})",
                                              where, timeout.count() / 1000.0, what));
    }
    return Error(errc::io_error,
                 fmt::format("control API at {} ({}): {}", where, what, e.message()));
  };
  stream.expires_after(timeout);
  if (auto [e] = co_await stream.async_connect(tcp::endpoint(address, run.port), kTuple); e) {
    co_return fail(e, "connect");
  }
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, where);
  req.set(http::field::user_agent, "faultline-ctl");
  req.set(http::field::authorization, "Bearer " + run.token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.keep_alive(false);
  req.prepare_payload();
  if (auto [e, n] = co_await http::async_write(stream, req, kTuple); e) co_return fail(e, "send");
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  if (auto [e, n] = co_await http::async_read(stream, buffer, parser, kTuple); e) {
    co_return fail(e, "read");
  }
  auto& res = parser.get();
  ClientResponse out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return out;
}

}  // namespace

result<RunAddress> read_run(const fs::path& run_dir) {
  auto text = fl::common::read_whole_file(run_dir / "control.json");
  if (!text) {
    return Error(errc::not_found, fmt::format("{} has no control.json: not a run of `faultline up`",
                                              run_dir.string()));
  }
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::value* host = o ? o->if_contains("host") : nullptr;
  const json::value* port = o ? o->if_contains("port") : nullptr;
  if (!host || !host->is_string() || !port || !port->is_int64()) {
    return Error(errc::parse_error, fmt::format("{}: expected {{\"host\": ..., \"port\": ...}}",
                                                (run_dir / "control.json").string()));
  }
  auto token = fl::common::read_whole_file(run_dir / "control.token");
  if (!token) {
    return Error(errc::not_found,
                 fmt::format("cannot read {}", (run_dir / "control.token").string()));
  }
  while (!token->empty() && (token->back() == '\n' || token->back() == '\r')) token->pop_back();
  RunAddress out;
  out.run_dir = run_dir;
  out.host = std::string(host->as_string());
  out.port = static_cast<uint16_t>(port->as_int64());
  out.token = std::move(*token);
  return out;
}

result<ClientResponse> call(const RunAddress& run, std::string_view method, std::string_view target,
                            std::string_view body, std::chrono::milliseconds timeout) {
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    return Error(errc::invalid_argument, fmt::format("unknown HTTP method '{}'", method));
  }
  asio::io_context io;
  std::optional<result<ClientResponse>> out;
  asio::co_spawn(io, exchange(run, verb, std::string(target), std::string(body), timeout),
                 [&](std::exception_ptr e, result<ClientResponse> r) {
                   if (e) {
                     out = Error(errc::internal, "control client: unexpected exception");
                   } else {
                     out = std::move(r);
                   }
                 });
  io.run();
  if (!out) return Error(errc::internal, "control client: no result");
  return std::move(*out);
}

result<RunAddress> find_run(const fs::path& runs_root) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> candidates;
  for (const auto& e : fs::directory_iterator(runs_root, ec)) {
    if (!e.is_directory()) continue;
    auto t = fs::last_write_time(e.path() / "control.json", ec);
    if (ec) continue;
    candidates.emplace_back(t, e.path());
  }
  std::sort(candidates.begin(), candidates.end(), std::greater<>());
  for (const auto& [t, dir] : candidates) {
    auto run = read_run(dir);
    if (!run) continue;
    auto r = call(*run, "GET", "/nodes", {}, std::chrono::seconds(2));
    if (r && r->status == 200) return run;
  }
  return Error(
      errc::not_found,
      fmt::format("no running `faultline up` found under {} ({} run director{} with a "
                  "control.json, none answering); give --run DIR",
                  runs_root.string(), candidates.size(), candidates.size() == 1 ? "y" : "ies"));
}

}  // namespace fl::control
