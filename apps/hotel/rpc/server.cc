// hotel_rpc_server: one hotel service as a gRPC server process, the RPC arm of the
// comparison (docs/apps.md). Usage:
//   hotel_rpc_server <service> [port]     service: search, geo, rate, profile,
//                                         recommendation, user or reservation
// Listens on 127.0.0.1:<port> (0 or absent: any free port) and prints
// "hotel-<service>: serving 127.0.0.1:<port>" once it accepts calls. Stores from HOTEL_REDIS
// and HOTEL_MEMCACHED, other services from HOTEL_<SERVICE> (grpc_backends.h). Each server
// thread opens its own store connections on first use (the handlers are not shared across
// threads, as in the Nightjar arm where each worker slot has its own). SIGTERM/SIGINT stop it.
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "grpc_backends.h"
#include "hotel.grpc.pb.h"
#include "services.h"

namespace hotel {
namespace {

StoreAddresses g_addresses;

// This thread's store connections, opened on first use.
Stores& ThreadStores() {
  thread_local Stores stores = Stores::Connect(g_addresses);
  return stores;
}

// Runs a handler, turning its exceptions into gRPC statuses.
template <class F>
grpc::Status Serve(F&& f) {
  try {
    f();
    return grpc::Status::OK;
  } catch (const InvalidRequest& e) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, e.what());
  }
}

class GeoImpl final : public Geo::Service {
 public:
  explicit GeoImpl(Database& db) : geo_(db) {}
  grpc::Status Nearby(grpc::ServerContext*, const NearbyPointRequest* req,
                      NearbyPointResult* out) override {
    return Serve([&] { *out = geo_.Nearby(*req); });
  }

 private:
  GeoService geo_;  // read-only after construction: shared by all threads
};

class RateImpl final : public Rate::Service {
  grpc::Status GetRates(grpc::ServerContext*, const GetRatesRequest* req,
                        GetRatesResult* out) override {
    return Serve([&] {
      Stores& s = ThreadStores();
      *out = RateService(*s.db, *s.cache).GetRates(*req);
    });
  }
};

class SearchImpl final : public Search::Service {
 public:
  explicit SearchImpl(Backends& backends) : backends_(backends) {}
  grpc::Status Nearby(grpc::ServerContext*, const SearchRequest* req,
                      SearchResult* out) override {
    return Serve([&] { *out = SearchService(backends_).Nearby(*req); });
  }

 private:
  Backends& backends_;
};

class ProfileImpl final : public Profile::Service {
  grpc::Status GetProfiles(grpc::ServerContext*, const GetProfilesRequest* req,
                           GetProfilesResult* out) override {
    return Serve([&] {
      Stores& s = ThreadStores();
      *out = ProfileService(*s.db, *s.cache).GetProfiles(*req);
    });
  }
};

class RecommendationImpl final : public Recommendation::Service {
 public:
  explicit RecommendationImpl(Database& db) : rec_(db) {}
  grpc::Status GetRecommendations(grpc::ServerContext*, const RecommendRequest* req,
                                  RecommendResult* out) override {
    return Serve([&] { *out = rec_.GetRecommendations(*req); });
  }

 private:
  RecommendationService rec_;
};

class UserImpl final : public User::Service {
 public:
  explicit UserImpl(Database& db) : user_(db) {}
  grpc::Status CheckUser(grpc::ServerContext*, const CheckUserRequest* req,
                         CheckUserResult* out) override {
    return Serve([&] { *out = user_.CheckUser(*req); });
  }

 private:
  UserService user_;
};

class ReservationImpl final : public Reservation::Service {
  grpc::Status MakeReservation(grpc::ServerContext*, const ReservationRequest* req,
                               ReservationResult* out) override {
    return Serve([&] {
      Stores& s = ThreadStores();
      *out = ReservationService(*s.db, *s.cache).MakeReservation(*req);
    });
  }
  grpc::Status CheckAvailability(grpc::ServerContext*, const ReservationRequest* req,
                                 ReservationResult* out) override {
    return Serve([&] {
      Stores& s = ThreadStores();
      *out = ReservationService(*s.db, *s.cache).CheckAvailability(*req);
    });
  }
};

int Run(const std::string& name, int port) {
  std::unique_ptr<GrpcBackends> backends;
  std::unique_ptr<grpc::Service> service;
  if (name == "search") {
    backends = std::make_unique<GrpcBackends>();
    service = std::make_unique<SearchImpl>(*backends);
  } else {
    g_addresses = StoreAddresses::FromEnv();
    // The in-memory services load their data once, through a connection of their own.
    Stores loader = Stores::Connect(g_addresses);
    if (name == "geo") service = std::make_unique<GeoImpl>(*loader.db);
    if (name == "rate") service = std::make_unique<RateImpl>();
    if (name == "profile") service = std::make_unique<ProfileImpl>();
    if (name == "recommendation") service = std::make_unique<RecommendationImpl>(*loader.db);
    if (name == "user") service = std::make_unique<UserImpl>(*loader.db);
    if (name == "reservation") service = std::make_unique<ReservationImpl>();
  }
  if (!service) {
    std::fprintf(stderr, "hotel_rpc_server: unknown service %s\n", name.c_str());
    return 2;
  }
  int bound = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                           grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound == 0) {
    std::fprintf(stderr, "hotel_rpc_server: %s cannot listen on port %d\n", name.c_str(), port);
    return 1;
  }
  std::printf("hotel-%s: serving 127.0.0.1:%d\n", name.c_str(), bound);
  std::fflush(stdout);

  // Shutdown from a thread that waits for the signal (a handler may not call into gRPC).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&set, &sig);
    server->Shutdown();
  });
  server->Wait();
  stopper.join();
  return 0;
}

}  // namespace
}  // namespace hotel

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: hotel_rpc_server <service> [port]\n");
    return 2;
  }
  // Block the stop signals in every thread (gRPC's included); one thread sigwaits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  try {
    return hotel::Run(argv[1], argc == 3 ? std::atoi(argv[2]) : 0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hotel_rpc_server %s: %s\n", argv[1], e.what());
    return 1;
  }
}
