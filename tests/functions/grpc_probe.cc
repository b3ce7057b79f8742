// grpc_probe: a gRPC-service function for the status-mapping tests (tests/test_grpc.py).
// The request message is taken as a command (the tests call it with identity serializers):
//   "echo:<x>"      -> <x>
//   "sleep:<ms>"    -> sleeps, then "slept"
//   "fail:<text>"   -> function error <text> (a "CODE: " prefix picks the gRPC code)
//   "crash"         -> the worker aborts
//   "big:<n>"       -> n bytes of 'x'
//   "method"        -> "<service>/<method>" as the function received them
//   "greet:<name>"  -> InvokeGrpc("helloworld.Greeter", "SayHello", <HelloRequest{name}>),
//                      answered with the reply's bytes (an internal gRPC call)
#include <nightjar/function.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

nj_status Probe(nightjar::Context& ctx, std::string_view input) {
  nightjar::GrpcCall call;
  if (!nightjar::GrpcCall::Parse(input, &call)) {
    ctx.SetError("not a gRPC call");
    return NJ_ERR_FUNCTION;
  }
  const std::string_view m = call.message;
  if (m.starts_with("echo:")) return ctx.Append(m.substr(5));
  if (m.starts_with("sleep:")) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atol(std::string(m.substr(6)).c_str())));
    return ctx.Append("slept");
  }
  if (m.starts_with("fail:")) {
    ctx.SetError(m.substr(5));
    return NJ_ERR_FUNCTION;
  }
  if (m == "crash") std::abort();
  if (m.starts_with("big:")) {
    return ctx.Append(std::string(std::atol(std::string(m.substr(4)).c_str()), 'x'));
  }
  if (m == "method") return ctx.Append(std::string(call.service) + "/" + std::string(call.method));
  if (m.starts_with("greet:")) {
    // HelloRequest{name}: field 1, wire type 2 (a name under 128 bytes: one length byte).
    const std::string_view name = m.substr(6);
    std::string request("\x0a", 1);
    request.push_back(static_cast<char>(name.size() & 0x7f));
    request.append(name);
    const nightjar::InvokeResult r = ctx.InvokeGrpc("helloworld.Greeter", "SayHello", request);
    if (!r.ok()) {
      ctx.SetError("InvokeGrpc: " + std::string(nightjar::StatusName(r.status)) + " " +
                   std::string(r.output));
      return NJ_ERR_FUNCTION;
    }
    return ctx.Append(r.output);
  }
  ctx.SetError("UNIMPLEMENTED: unknown command");
  return NJ_ERR_FUNCTION;
}

}  // namespace

NIGHTJAR_FUNCTION(Probe)
