// One hotel service as a Nightjar function (apps/hotel/nightjar.yaml). CMake builds this
// file once per service with HOTEL_ROLE set to its name: frontend, search, geo, rate,
// profile, recommendation, user or reservation. Each worker slot holds its service object
// and, for the services with data, its own Redis and memcached connections (addresses from
// HOTEL_REDIS and HOTEL_MEMCACHED in the engine's environment). Calls to other services are
// internal calls: input = method tag + protobuf request, output = protobuf reply.
#include <nightjar/function.hpp>

#include <memory>
#include <optional>
#include <string>

#include "frontend.h"
#include "methods.h"
#include "services.h"

namespace hotel {
namespace {

constexpr std::string_view kRole = HOTEL_ROLE;

// Backends over internal calls. Bound to the running call's Context for its duration.
class NightjarBackends final : public Backends {
 public:
  void Bind(nightjar::Context* ctx) { ctx_ = ctx; }

  NearbyPointResult GeoNearby(const NearbyPointRequest& r) override {
    return Call<NearbyPointResult>(kGeoNearby, r);
  }
  GetRatesResult GetRates(const GetRatesRequest& r) override {
    return Call<GetRatesResult>(kRateGetRates, r);
  }
  SearchResult SearchNearby(const SearchRequest& r) override {
    return Call<SearchResult>(kSearchNearby, r);
  }
  GetProfilesResult GetProfiles(const GetProfilesRequest& r) override {
    return Call<GetProfilesResult>(kProfileGetProfiles, r);
  }
  RecommendResult GetRecommendations(const RecommendRequest& r) override {
    return Call<RecommendResult>(kRecommendGet, r);
  }
  CheckUserResult CheckUser(const CheckUserRequest& r) override {
    return Call<CheckUserResult>(kUserCheck, r);
  }
  ReservationResult MakeReservation(const ReservationRequest& r) override {
    return Call<ReservationResult>(kReservationMake, r);
  }
  ReservationResult CheckAvailability(const ReservationRequest& r) override {
    return Call<ReservationResult>(kReservationCheck, r);
  }

 private:
  template <class Reply, class Request>
  Reply Call(const MethodName& method, const Request& req) {
    std::string input(1, method.tag);
    req.AppendToString(&input);
    const nightjar::InvokeResult r = ctx_->Invoke(method.function, input);
    if (!r.ok()) {
      throw CallError(std::string(method.function) + ": " +
                      std::string(nightjar::StatusName(r.status)) + " " + std::string(r.output));
    }
    Reply reply;
    if (!reply.ParseFromArray(r.output.data(), static_cast<int>(r.output.size()))) {
      throw CallError(std::string(method.function) + ": malformed reply");
    }
    return reply;
  }
  nightjar::Context* ctx_ = nullptr;
};

template <class Request>
Request ParseRequest(std::string_view bytes) {
  Request req;
  if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw InvalidRequest("malformed request");
  }
  return req;
}

class Worker {
 public:
  Worker() {
    if (kRole == "frontend") {
      frontend_ = std::make_unique<Frontend>(backends_);
    } else if (kRole == "search") {
      search_ = std::make_unique<SearchService>(backends_);
    } else {
      stores_ = Stores::Connect(StoreAddresses::FromEnv());
      if (kRole == "geo") geo_ = std::make_unique<GeoService>(*stores_.db);
      if (kRole == "rate") rate_ = std::make_unique<RateService>(*stores_.db, *stores_.cache);
      if (kRole == "profile") {
        profile_ = std::make_unique<ProfileService>(*stores_.db, *stores_.cache);
      }
      if (kRole == "recommendation") {
        recommend_ = std::make_unique<RecommendationService>(*stores_.db);
      }
      if (kRole == "user") user_ = std::make_unique<UserService>(*stores_.db);
      if (kRole == "reservation") {
        reservation_ = std::make_unique<ReservationService>(*stores_.db, *stores_.cache);
      }
    }
  }

  nj_status Call(nightjar::Context& ctx, std::string_view input) {
    backends_.Bind(&ctx);
    if (frontend_) {
      const FrontendReply reply = frontend_->Handle(input);
      if (reply.status != 200) {
        ctx.SetError(std::to_string(reply.status) + " " + reply.body);
        return NJ_ERR_FUNCTION;
      }
      return ctx.Append(reply.body);
    }
    if (input.empty()) throw InvalidRequest("empty input");
    const char tag = input[0];
    const std::string_view body = input.substr(1);
    std::string out;
    if (search_ && tag == kSearchNearby.tag) {
      out = search_->Nearby(ParseRequest<SearchRequest>(body)).SerializeAsString();
    } else if (geo_ && tag == kGeoNearby.tag) {
      out = geo_->Nearby(ParseRequest<NearbyPointRequest>(body)).SerializeAsString();
    } else if (rate_ && tag == kRateGetRates.tag) {
      out = rate_->GetRates(ParseRequest<GetRatesRequest>(body)).SerializeAsString();
    } else if (profile_ && tag == kProfileGetProfiles.tag) {
      out = profile_->GetProfiles(ParseRequest<GetProfilesRequest>(body)).SerializeAsString();
    } else if (recommend_ && tag == kRecommendGet.tag) {
      out = recommend_->GetRecommendations(ParseRequest<RecommendRequest>(body))
                .SerializeAsString();
    } else if (user_ && tag == kUserCheck.tag) {
      out = user_->CheckUser(ParseRequest<CheckUserRequest>(body)).SerializeAsString();
    } else if (reservation_ && tag == kReservationMake.tag) {
      out = reservation_->MakeReservation(ParseRequest<ReservationRequest>(body))
                .SerializeAsString();
    } else if (reservation_ && tag == kReservationCheck.tag) {
      out = reservation_->CheckAvailability(ParseRequest<ReservationRequest>(body))
                .SerializeAsString();
    } else {
      throw InvalidRequest("hotel-" + std::string(kRole) + ": unknown method '" +
                           std::string(1, tag) + "'");
    }
    return ctx.Append(out);
  }

 private:
  NightjarBackends backends_;
  Stores stores_;
  std::unique_ptr<Frontend> frontend_;
  std::unique_ptr<SearchService> search_;
  std::unique_ptr<GeoService> geo_;
  std::unique_ptr<RateService> rate_;
  std::unique_ptr<ProfileService> profile_;
  std::unique_ptr<RecommendationService> recommend_;
  std::unique_ptr<UserService> user_;
  std::unique_ptr<ReservationService> reservation_;
};

nj_status Handle(Worker& worker, nightjar::Context& ctx, std::string_view input) {
  return worker.Call(ctx, input);
}

}  // namespace
}  // namespace hotel

NIGHTJAR_FUNCTION_WITH_STATE(hotel::Worker, hotel::Handle)
