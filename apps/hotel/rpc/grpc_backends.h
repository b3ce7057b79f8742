// Backends (services.h) over gRPC: the RPC arm's calls between services. One channel per
// downstream service, to the address in HOTEL_<SERVICE> ("host:port", e.g. HOTEL_GEO);
// generated stubs are thread-safe, so one GrpcBackends serves every server thread.
// A failed call throws CallError; a service whose address is unset fails when first called.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "hotel.grpc.pb.h"
#include "services.h"

namespace hotel {

class GrpcBackends final : public Backends {
 public:
  GrpcBackends()
      : geo_(Stub<Geo>("HOTEL_GEO")),
        rate_(Stub<Rate>("HOTEL_RATE")),
        search_(Stub<Search>("HOTEL_SEARCH")),
        profile_(Stub<Profile>("HOTEL_PROFILE")),
        recommendation_(Stub<Recommendation>("HOTEL_RECOMMENDATION")),
        user_(Stub<User>("HOTEL_USER")),
        reservation_(Stub<Reservation>("HOTEL_RESERVATION")) {}

  NearbyPointResult GeoNearby(const NearbyPointRequest& r) override {
    return Call<NearbyPointResult>("geo", geo_, &Geo::Stub::Nearby, r);
  }
  GetRatesResult GetRates(const GetRatesRequest& r) override {
    return Call<GetRatesResult>("rate", rate_, &Rate::Stub::GetRates, r);
  }
  SearchResult SearchNearby(const SearchRequest& r) override {
    return Call<SearchResult>("search", search_, &Search::Stub::Nearby, r);
  }
  GetProfilesResult GetProfiles(const GetProfilesRequest& r) override {
    return Call<GetProfilesResult>("profile", profile_, &Profile::Stub::GetProfiles, r);
  }
  RecommendResult GetRecommendations(const RecommendRequest& r) override {
    return Call<RecommendResult>("recommendation", recommendation_,
                                 &Recommendation::Stub::GetRecommendations, r);
  }
  CheckUserResult CheckUser(const CheckUserRequest& r) override {
    return Call<CheckUserResult>("user", user_, &User::Stub::CheckUser, r);
  }
  ReservationResult MakeReservation(const ReservationRequest& r) override {
    return Call<ReservationResult>("reservation", reservation_,
                                   &Reservation::Stub::MakeReservation, r);
  }
  ReservationResult CheckAvailability(const ReservationRequest& r) override {
    return Call<ReservationResult>("reservation", reservation_,
                                   &Reservation::Stub::CheckAvailability, r);
  }

 private:
  template <class Service>
  static std::unique_ptr<typename Service::Stub> Stub(const char* env) {
    const char* address = std::getenv(env);
    if (address == nullptr || *address == '\0') return nullptr;
    return Service::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  template <class Reply, class StubPtr, class Method, class Request>
  static Reply Call(const char* service, const StubPtr& stub, Method method, const Request& req) {
    if (!stub) throw CallError(std::string(service) + ": no address (HOTEL_<SERVICE> unset)");
    grpc::ClientContext ctx;
    Reply reply;
    const grpc::Status status = ((*stub).*method)(&ctx, req, &reply);
    if (!status.ok()) throw CallError(std::string(service) + ": " + status.error_message());
    return reply;
  }

  std::unique_ptr<Geo::Stub> geo_;
  std::unique_ptr<Rate::Stub> rate_;
  std::unique_ptr<Search::Stub> search_;
  std::unique_ptr<Profile::Stub> profile_;
  std::unique_ptr<Recommendation::Stub> recommendation_;
  std::unique_ptr<User::Stub> user_;
  std::unique_ptr<Reservation::Stub> reservation_;
};

}  // namespace hotel
