// greeter: the gRPC service helloworld.Greeter (helloworld.proto) as a Nightjar function.
// examples/nightjar.yaml declares it with `grpc: helloworld.Greeter`, so a stock gRPC client
// calling /helloworld.Greeter/SayHello on the gateway reaches it, and so does another
// function through Context::InvokeGrpc("helloworld.Greeter", "SayHello", bytes).
//
// The messages are Debian's libprotobuf with code protoc generates from helloworld.proto;
// the function links libprotobuf (a shared library) and nothing of gRPC's: Nightjar is the
// RPC layer.
#include <nightjar/function.hpp>

#include "helloworld.pb.h"

namespace {

nj_status SayHello(nightjar::Context& ctx, std::string_view message) {
  helloworld::HelloRequest request;
  if (!request.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    ctx.SetError("INVALID_ARGUMENT: the request is not a helloworld.HelloRequest");
    return NJ_ERR_FUNCTION;
  }
  helloworld::HelloReply reply;
  reply.set_message("Hello, " + (request.name().empty() ? std::string("world") : request.name()) +
                    "!");
  return ctx.Append(reply.SerializeAsString());
}

nj_status Greeter(nightjar::Context& ctx, std::string_view input) {
  nightjar::GrpcCall call;
  if (!nightjar::GrpcCall::Parse(input, &call)) {
    ctx.SetError("greeter is a gRPC service: call /helloworld.Greeter/SayHello");
    return NJ_ERR_FUNCTION;
  }
  if (call.method == "SayHello") return SayHello(ctx, call.message);
  ctx.SetError("UNIMPLEMENTED: helloworld.Greeter has no method " + std::string(call.method));
  return NJ_ERR_FUNCTION;
}

}  // namespace

NIGHTJAR_FUNCTION(Greeter)
