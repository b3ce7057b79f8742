// The hotel application's service logic, written once and served by both arms: the
// Nightjar functions (apps/hotel/nightjar/) and the gRPC servers (apps/hotel/rpc/). What each
// service computes follows DeathStarBench's hotelReservation (docs/apps.md):
//   GeoService             the 5 hotels nearest a point, within 10 km (in-memory index)
//   RateService            rate plans of hotels (memcached, then Redis), highest total first
//   SearchService          geo, then rate: hotels near a point that have rates
//   ProfileService         hotel descriptions (memcached, then Redis)
//   RecommendationService  hotels nearest / best rated / cheapest (in memory)
//   UserService            login against salted-free SHA-256 password hashes (in memory)
//   ReservationService     bookings against room capacity per hotel and night
// Calls to other services go through Backends, which each arm implements with its transport.
// Thread rule: one instance per worker slot or server thread (they hold store connections);
// the in-memory services are read-only after construction. Failures throw: StoreError
// (store.h), InvalidRequest (a malformed request), CallError (a downstream call failed).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hotel.pb.h"
#include "store.h"

namespace hotel {

struct InvalidRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct CallError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr int kGeoMaxResults = 5;
inline constexpr double kGeoMaxRadiusKm = 10.0;

// Great-circle distance in km (haversine, mean Earth radius).
double DistanceKm(double lat1, double lon1, double lat2, double lon2);
// Hex SHA-256 of `text`.
std::string Sha256Hex(std::string_view text);
// The nights of a stay: "YYYY-MM-DD" dates from in_date up to, not including, out_date.
// Throws InvalidRequest for a malformed date, out_date <= in_date, or over 31 nights.
std::vector<std::string> Nights(const std::string& in_date, const std::string& out_date);

// Every call one service makes to another. Implementations throw CallError on failure.
class Backends {
 public:
  virtual ~Backends() = default;
  virtual NearbyPointResult GeoNearby(const NearbyPointRequest& req) = 0;
  virtual GetRatesResult GetRates(const GetRatesRequest& req) = 0;
  virtual SearchResult SearchNearby(const SearchRequest& req) = 0;
  virtual GetProfilesResult GetProfiles(const GetProfilesRequest& req) = 0;
  virtual RecommendResult GetRecommendations(const RecommendRequest& req) = 0;
  virtual CheckUserResult CheckUser(const CheckUserRequest& req) = 0;
  virtual ReservationResult MakeReservation(const ReservationRequest& req) = 0;
  virtual ReservationResult CheckAvailability(const ReservationRequest& req) = 0;
};

class GeoService {
 public:
  explicit GeoService(Database& db);  // loads every hotel's position
  NearbyPointResult Nearby(const NearbyPointRequest& req) const;

 private:
  std::vector<RecommendRecord> points_;  // id, lat, lon
};

class RateService {
 public:
  RateService(Database& db, Cache& cache) : db_(db), cache_(cache) {}
  GetRatesResult GetRates(const GetRatesRequest& req);

 private:
  Database& db_;
  Cache& cache_;
};

class SearchService {
 public:
  explicit SearchService(Backends& backends) : backends_(backends) {}
  SearchResult Nearby(const SearchRequest& req);

 private:
  Backends& backends_;
};

class ProfileService {
 public:
  ProfileService(Database& db, Cache& cache) : db_(db), cache_(cache) {}
  GetProfilesResult GetProfiles(const GetProfilesRequest& req);

 private:
  Database& db_;
  Cache& cache_;
};

class RecommendationService {
 public:
  explicit RecommendationService(Database& db);  // loads every hotel's record
  RecommendResult GetRecommendations(const RecommendRequest& req) const;

 private:
  std::vector<RecommendRecord> hotels_;  // by numeric id
};

class UserService {
 public:
  explicit UserService(Database& db);  // loads every user's password hash
  CheckUserResult CheckUser(const CheckUserRequest& req) const;

 private:
  std::unordered_map<std::string, std::string> hashes_;
};

class ReservationService {
 public:
  ReservationService(Database& db, Cache& cache) : db_(db), cache_(cache) {}
  // Books room_number rooms in hotel_ids[0] for every night of the stay when all nights
  // have room; the result names the hotel on success and is empty otherwise.
  ReservationResult MakeReservation(const ReservationRequest& req);
  // The hotels among hotel_ids with room_number rooms free every night, in request order.
  ReservationResult CheckAvailability(const ReservationRequest& req);

 private:
  // Counts under `keys` (capacity:*, reserved:*), cache first, 0 where neither store has
  // one; fills the cache with Add so that it never overwrites a newer count.
  std::vector<int64_t> Counts(const std::vector<std::string>& keys);
  Database& db_;
  Cache& cache_;
};

// Store keys (the data model both arms share; the loader writes them).
namespace keys {
inline constexpr const char* kGeo = "geo";              // hash id -> RecommendRecord
inline constexpr const char* kRecommend = "recommend";  // hash id -> RecommendRecord
inline constexpr const char* kUsers = "users";          // hash username -> sha256 hex
inline constexpr const char* kReservations = "reservations";  // list of ReservationRequest
inline std::string Rate(const std::string& id) { return "rate:" + id; }        // RatePlanList
inline std::string Profile(const std::string& id) { return "profile:" + id; }  // HotelProfile
inline std::string Capacity(const std::string& id) { return "capacity:" + id; }  // decimal
inline std::string Reserved(const std::string& id, const std::string& night) {   // decimal
  return "reserved:" + id + ":" + night;
}
}  // namespace keys

}  // namespace hotel
