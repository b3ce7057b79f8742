// hotel_rpc_frontend: the RPC arm's frontend, an HTTP server on cpp-httplib that calls the
// services over gRPC (grpc_backends.h). Usage: hotel_rpc_frontend [port]
// POST /hotel with the body "<endpoint>?<query>" (the same text the Nightjar arm's
// hotel-frontend function takes; lib/frontend.h) answers with the frontend's status and
// body; GET /healthz answers "ok". Prints "hotel-frontend: serving 127.0.0.1:<port>".
// SIGTERM/SIGINT stop it.
#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "frontend.h"
#include "grpc_backends.h"

int main(int argc, char** argv) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  hotel::GrpcBackends backends;
  httplib::Server server;
  // cpp-httplib holds a pool thread per open keep-alive connection: the pool must be larger
  // than the number of client connections (the load generator opens 16), and a connection
  // must not be closed after a few requests.
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_keep_alive_max_count(1 << 30);
  server.set_keep_alive_timeout(60);
  // It writes a response's head and body separately: without TCP_NODELAY, Nagle's algorithm
  // holds the body until the client's delayed ACK (40 ms) whenever a response spans two
  // segments' worth of writes. Every other hop of both arms (gRPC, hiredis, libmemcached,
  // the Nightjar gateway) sets it too.
  server.set_tcp_nodelay(true);
  server.Post("/hotel", [&](const httplib::Request& req, httplib::Response& res) {
    hotel::Frontend frontend(backends);
    const hotel::FrontendReply reply = frontend.Handle(req.body);
    res.status = reply.status;
    res.set_content(reply.body, reply.status == 200 ? "application/json" : "text/plain");
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  const int bound = port == 0 ? server.bind_to_any_port("127.0.0.1")
                              : (server.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound <= 0) {
    std::fprintf(stderr, "hotel_rpc_frontend: cannot listen on port %d\n", port);
    return 1;
  }
  std::printf("hotel-frontend: serving 127.0.0.1:%d\n", bound);
  std::fflush(stdout);
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&set, &sig);
    server.stop();
  });
  server.listen_after_bind();
  stopper.join();
  return 0;
}
