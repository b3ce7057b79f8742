// Unit tests of the hotel service logic over in-memory stores (the end-to-end tests over real
// Redis and memcached, both arms, are tests/test_hotel.py).
#include <gtest/gtest.h>

#include <map>

#include "dataset.h"
#include "frontend.h"
#include "services.h"

namespace hotel {
namespace {

class FakeDatabase final : public Database {
 public:
  std::optional<std::string> Get(const std::string& key) override {
    auto it = kv.find(key);
    return it == kv.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  std::vector<std::optional<std::string>> MGet(const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> out;
    for (const auto& k : keys) out.push_back(Get(k));
    return out;
  }
  void Set(const std::string& key, std::string_view value) override { kv[key] = value; }
  std::vector<std::pair<std::string, std::string>> HGetAll(const std::string& key) override {
    auto& h = hashes[key];
    return {h.begin(), h.end()};
  }
  void HSet(const std::string& key, const std::string& field, std::string_view value) override {
    hashes[key][field] = value;
  }
  int64_t IncrBy(const std::string& key, int64_t by) override {
    const int64_t v = (kv.count(key) ? std::stoll(kv[key]) : 0) + by;
    kv[key] = std::to_string(v);
    return v;
  }
  void RPush(const std::string& key, std::string_view value) override {
    lists[key].emplace_back(value);
  }
  void FlushAll() override { kv.clear(), hashes.clear(), lists.clear(); }
  std::map<std::string, std::string> kv;
  std::map<std::string, std::map<std::string, std::string>> hashes;
  std::map<std::string, std::vector<std::string>> lists;
};

class FakeCache final : public Cache {
 public:
  std::optional<std::string> Get(const std::string& key) override {
    auto it = kv.find(key);
    return it == kv.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  std::map<std::string, std::string> GetMulti(const std::vector<std::string>& keys) override {
    std::map<std::string, std::string> out;
    for (const auto& k : keys) {
      if (kv.count(k)) out[k] = kv[k];
    }
    return out;
  }
  void Set(const std::string& key, std::string_view value) override { kv[key] = value; }
  bool Add(const std::string& key, std::string_view value) override {
    return kv.emplace(key, std::string(value)).second;
  }
  void FlushAll() override { kv.clear(); }
  std::map<std::string, std::string> kv;
};

TEST(Nights, ListsEachNightOfAStay) {
  EXPECT_EQ(Nights("2015-04-30", "2015-05-02"),
            (std::vector<std::string>{"2015-04-30", "2015-05-01"}));
  EXPECT_THROW(Nights("2015-04-10", "2015-04-10"), InvalidRequest);
  EXPECT_THROW(Nights("2015-04-31", "2015-05-02"), InvalidRequest);
  EXPECT_THROW(Nights("2015-4-1", "2015-04-02"), InvalidRequest);
  EXPECT_THROW(Nights("2015-01-01", "2015-03-01"), InvalidRequest);  // over 31 nights
}

TEST(DistanceKm, MatchesAKnownDistance) {
  // San Francisco to Los Angeles city halls: about 559 km.
  EXPECT_NEAR(DistanceKm(37.7793, -122.4193, 34.0537, -118.2427), 559, 2);
  EXPECT_DOUBLE_EQ(DistanceKm(38, -122, 38, -122), 0);
}

TEST(Sha256Hex, MatchesTheStandardVector) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Dataset, IsTheSameOnEveryGeneration) {
  const DatasetOptions small{.hotels = 20, .users = 3, .seed = 14};
  EXPECT_EQ(DatasetJson(GenerateDataset(small)), DatasetJson(GenerateDataset(small)));
  EXPECT_NE(DatasetJson(GenerateDataset(small)),
            DatasetJson(GenerateDataset({.hotels = 20, .users = 3, .seed = 15})));
  EXPECT_EQ(UserPassword(12), "12121212121212121212");
}

TEST(Reservation, BooksUpToCapacityThenRefuses) {
  FakeDatabase db;
  FakeCache cache;
  db.Set(keys::Capacity("7"), "3");
  ReservationService svc(db, cache);
  ReservationRequest req;
  req.add_hotel_ids("7");
  req.set_in_date("2015-04-10");
  req.set_out_date("2015-04-12");
  req.set_room_number(2);
  EXPECT_EQ(svc.MakeReservation(req).hotel_ids_size(), 1);
  EXPECT_EQ(db.kv[keys::Reserved("7", "2015-04-11")], "2");
  EXPECT_EQ(cache.kv[keys::Reserved("7", "2015-04-11")], "2");
  EXPECT_EQ(svc.MakeReservation(req).hotel_ids_size(), 0);  // 2 + 2 > 3
  req.set_room_number(1);
  req.set_in_date("2015-04-11");
  EXPECT_EQ(svc.CheckAvailability(req).hotel_ids_size(), 1);  // 2 + 1 <= 3
  EXPECT_EQ(svc.MakeReservation(req).hotel_ids_size(), 1);
  EXPECT_EQ(svc.CheckAvailability(req).hotel_ids_size(), 0);
  req.set_in_date("2015-04-12");
  req.set_out_date("2015-04-13");
  EXPECT_EQ(svc.CheckAvailability(req).hotel_ids_size(), 1);  // a later night is free
  EXPECT_EQ(db.lists[keys::kReservations].size(), 2u);
}

TEST(Rate, ReadsThroughTheCacheAndSortsByTotalRate) {
  FakeDatabase db;
  FakeCache cache;
  for (const auto& [id, rate] : {std::pair{"1", 100.0}, std::pair{"2", 300.0}}) {
    RatePlanList list;
    RatePlan* p = list.add_plans();
    p->set_hotel_id(id);
    p->set_code("RACK");
    p->mutable_room_type()->set_total_rate(rate);
    db.Set(keys::Rate(id), list.SerializeAsString());
  }
  RateService svc(db, cache);
  GetRatesRequest req;
  req.add_hotel_ids("1");
  req.add_hotel_ids("2");
  req.add_hotel_ids("3");  // no plans
  const GetRatesResult r = svc.GetRates(req);
  ASSERT_EQ(r.rate_plans_size(), 2);
  EXPECT_EQ(r.rate_plans(0).hotel_id(), "2");
  EXPECT_TRUE(cache.kv.count(keys::Rate("1")));
  db.FlushAll();  // now only the cache has them
  EXPECT_EQ(svc.GetRates(req).rate_plans_size(), 2);
}

// Backends that answer a login and record what the frontend asked.
class LoginOnly final : public Backends {
 public:
  NearbyPointResult GeoNearby(const NearbyPointRequest&) override { return {}; }
  GetRatesResult GetRates(const GetRatesRequest&) override { return {}; }
  SearchResult SearchNearby(const SearchRequest&) override { return {}; }
  GetProfilesResult GetProfiles(const GetProfilesRequest&) override { return {}; }
  RecommendResult GetRecommendations(const RecommendRequest&) override { return {}; }
  CheckUserResult CheckUser(const CheckUserRequest& r) override {
    CheckUserResult out;
    out.set_correct(r.username() == "ada" && r.password() == "a b");
    return out;
  }
  ReservationResult MakeReservation(const ReservationRequest&) override {
    throw CallError("reservation: down");
  }
  ReservationResult CheckAvailability(const ReservationRequest&) override { return {}; }
};

TEST(Frontend, AnswersLoginsAndRefusesBadRequests) {
  LoginOnly backends;
  Frontend frontend(backends);
  EXPECT_EQ(frontend.Handle("/user?username=ada&password=a%20b").body,
            R"({"message":"Login successfully!"})");
  EXPECT_EQ(frontend.Handle("/user?username=ada&password=a+c").body,
            R"({"message":"Failed. Please check your username and password. "})");
  EXPECT_EQ(frontend.Handle("/user?username=ada").status, 400);
  EXPECT_EQ(frontend.Handle("/elsewhere").status, 404);
  EXPECT_EQ(frontend.Handle("/hotels?inDate=x&outDate=y&lat=1&lon=2").status, 400);
  EXPECT_EQ(frontend.Handle("/hotels?inDate=2015-04-09&outDate=2015-04-10&lat=1&lon=2").body,
            R"({"features":[],"type":"FeatureCollection"})");
  const FrontendReply down = frontend.Handle(
      "/reservation?inDate=2015-04-09&outDate=2015-04-10&hotelId=1&customerName=c"
      "&username=ada&password=a+b&number=1");
  EXPECT_EQ(down.status, 500);
  EXPECT_NE(down.body.find("reservation: down"), std::string::npos);
}

}  // namespace
}  // namespace hotel
