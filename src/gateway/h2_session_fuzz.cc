// libFuzzer target for the gateway's HTTP/2 session (h2_session.h): nghttp2's frame layer
// plus our stream bookkeeping and limits, fed what a stranger's connection sends after the
// connection preface. Built by the `fuzz` preset; see docs/fuzzing.md.
//
// Input: 2 configuration bytes, then the bytes of one client connection (the preface is
// prepended unless bit 7 of byte 0 is set, so the fuzzer starts among the frames).
//   byte 0  bits 0-1: when requests are answered (0 at once, 1 after each Feed, 2 never,
//           3 reset instead); bit 2: answers carry gRPC trailers; bit 3: Shutdown() halfway
//   byte 1  seed of the piece sizes the stream is cut into
// Seeds: tests/fuzz/h2_session/ (recorded from curl, nghttp, grpcio and the gRPC C++ client).
//
// The harness aborts (so libFuzzer keeps the input) when the session's contract breaks:
//   (a) a stream is delivered at most once, with an odd id, and a body within the limit
//       unless limit_status says 413 (then it is empty);
//   (b) limit_status is 0, 413 or 431;
//   (c) awaiting_answer() equals the streams delivered and neither answered, reset nor
//       abandoned; an abandoned stream was delivered and not answered;
//   (d) once Feed() fails it keeps failing; TakeOutput() stops near its budget.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "gateway/h2_session.h"

namespace nightjar::gateway {
namespace {

constexpr uint64_t kMaxBody = 1000;

int Run(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = data[0];
  fuzz::SplitMix64 random(0x9e3779b97f4a7c15ull * (data[1] + 1u));
  std::string stream;
  if ((mode & 0x80) == 0) stream.assign(kH2Preface);
  stream.append(reinterpret_cast<const char*>(data + 2), size - 2);

  H2Limits limits;
  limits.max_concurrent_streams = 8;
  limits.max_header_list_bytes = 2048;
  limits.max_body_bytes = kMaxBody;
  std::set<int32_t> delivered, open;
  std::vector<int32_t> later;
  H2Session* session_ptr = nullptr;
  const int answer = mode & 3;
  const bool grpc_trailers = (mode & 4) != 0;

  auto respond = [&](int32_t id) {
    if (open.erase(id) == 0) return;
    std::vector<H2Header> trailers;
    if (grpc_trailers) trailers.emplace_back("grpc-status", "0");
    session_ptr->Respond(id, 200, {{"content-type", "text/plain"}}, std::string(id % 50, 'x'),
                         std::move(trailers));
  };
  H2Session session(
      limits,
      [&](H2Request&& req) {
        FUZZ_CHECK(req.stream_id > 0 && req.stream_id % 2 == 1);
        FUZZ_CHECK(delivered.insert(req.stream_id).second);
        FUZZ_CHECK(req.limit_status == 0 || req.limit_status == 413 || req.limit_status == 431);
        FUZZ_CHECK(req.body.size() <= kMaxBody);
        if (req.limit_status == 413) FUZZ_CHECK(req.body.empty());
        open.insert(req.stream_id);
        if (answer == 0) respond(req.stream_id);
        if (answer == 1) later.push_back(req.stream_id);
        if (answer == 3) {
          open.erase(req.stream_id);
          session_ptr->Reset(req.stream_id, 8);
        }
      },
      [&](int32_t id) {
        FUZZ_CHECK(delivered.count(id) == 1);
        FUZZ_CHECK(open.erase(id) == 1);
      });
  session_ptr = &session;
  FUZZ_CHECK(session.Start());

  bool failed = false;
  size_t pos = 0;
  std::string out;
  while (pos < stream.size()) {
    const size_t n = std::min<size_t>(stream.size() - pos, 1 + random.Next() % 300);
    const bool ok = session.Feed(std::string_view(stream).substr(pos, n));
    if (failed) FUZZ_CHECK(!ok);
    failed = failed || !ok;
    pos += n;
    for (int32_t id : later) respond(id);
    later.clear();
    FUZZ_CHECK(session.awaiting_answer() == open.size());
    if ((mode & 8) != 0 && pos >= stream.size() / 2) session.Shutdown();
    out.clear();
    session.TakeOutput(&out, 4096);
    FUZZ_CHECK(out.size() < 4096 + (1 << 16) + 1024);  // one frame past the budget at most
  }
  for (int32_t id : std::set<int32_t>(open)) respond(id);
  FUZZ_CHECK(session.awaiting_answer() == 0);
  out.clear();
  session.TakeOutput(&out, 1 << 20);
  return 0;
}

}  // namespace
}  // namespace nightjar::gateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return nightjar::gateway::Run(data, size);
}
