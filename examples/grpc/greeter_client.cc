// greeter_client: a stock gRPC C++ client of helloworld.Greeter (generated stub, insecure
// channel), for the tests and by hand:
//   greeter_client 127.0.0.1:8080 Ada                  -> Hello, Ada!
//   greeter_client 127.0.0.1:8080 Ada --deadline-ms 50 -> status 4: ...   (exit 1)
//   greeter_client 127.0.0.1:8080 Ada --count 1000     -> 1000 calls on one channel
// Exit status: 0 when every call succeeded, 1 when one failed (its status is printed), 2 on
// bad arguments.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "helloworld.grpc.pb.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: greeter_client HOST:PORT NAME [--deadline-ms N] [--count N]\n";
    return 2;
  }
  long deadline_ms = 0;
  long count = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--deadline-ms") {
      deadline_ms = std::atol(argv[i + 1]);
    } else if (flag == "--count") {
      count = std::atol(argv[i + 1]);
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  auto stub = helloworld::Greeter::NewStub(channel);
  helloworld::HelloRequest request;
  request.set_name(argv[2]);
  std::string last;
  for (long i = 0; i < count; ++i) {
    grpc::ClientContext context;
    if (deadline_ms > 0) {
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(deadline_ms));
    }
    helloworld::HelloReply reply;
    const grpc::Status status = stub->SayHello(&context, request, &reply);
    if (!status.ok()) {
      std::cout << "status " << status.error_code() << ": " << status.error_message() << "\n";
      return 1;
    }
    last = reply.message();
  }
  std::cout << last << "\n";
  return 0;
}
