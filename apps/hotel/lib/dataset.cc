// Deterministic dataset generation and loading (dataset.h). The generator draws from
// splitmix64 and maps bits to numbers itself: std:: distributions differ between standard
// libraries, and the dataset must not.
#include "dataset.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "services.h"

namespace hotel {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int Between(int lo, int hi) { return lo + static_cast<int>(Next() % (hi - lo + 1)); }
  // A value rounded to `decimals`, so that it prints and parses back exactly enough.
  double Rounded(double lo, double hi, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round((lo + (hi - lo) * Uniform()) * scale) / scale;
  }

 private:
  uint64_t state_;
};

constexpr const char* kNames[] = {"Clift", "Bay", "Ridge", "Harbor", "Summit", "Orchard",
                                  "Vista", "Cedar", "Mission", "Presidio", "Golden", "Pacific"};
constexpr const char* kKinds[] = {"Hotel", "Inn", "Suites", "Lodge", "Resort"};
constexpr const char* kStreets[] = {"Geary St", "Market St", "Mission St", "Main St",
                                    "Ygnacio Valley Rd", "Broadway", "Oak St", "Pine St"};
constexpr const char* kCodes[] = {"RACK", "PROMO", "SENIOR"};

}  // namespace

std::string UserPassword(int user) {
  std::string one = std::to_string(user), out;
  for (int i = 0; i < 10; ++i) out += one;
  return out;
}

Dataset GenerateDataset(const DatasetOptions& options) {
  Rng rng(options.seed);
  Dataset d;
  for (int i = 1; i <= options.hotels; ++i) {
    const std::string id = std::to_string(i);
    // The original's request generator searches within +-0.24 deg latitude and +-0.16 deg
    // longitude of the center; the hotels cover a little more than that.
    const double lat = rng.Rounded(kCenterLat - 0.26, kCenterLat + 0.26, 6);
    const double lon = rng.Rounded(kCenterLon - 0.18, kCenterLon + 0.18, 6);

    HotelProfile p;
    p.set_id(id);
    p.set_name(std::string(kNames[rng.Next() % std::size(kNames)]) + " " +
               kKinds[rng.Next() % std::size(kKinds)] + " " + id);
    char phone[32];
    std::snprintf(phone, sizeof phone, "(925) 555-%04d", rng.Between(0, 9999));
    p.set_phone_number(phone);
    p.set_description("A " + std::to_string(rng.Between(2, 5)) +
                      "-star hotel with rooms for every budget, close to shops, parks and "
                      "the freeway; breakfast, parking and wireless internet included.");
    Address* a = p.mutable_address();
    a->set_street_number(std::to_string(rng.Between(1, 2999)));
    a->set_street_name(kStreets[rng.Next() % std::size(kStreets)]);
    a->set_city("Walnut Creek");
    a->set_state("CA");
    a->set_country("United States");
    a->set_postal_code(std::to_string(rng.Between(94500, 94599)));
    a->set_lat(lat);
    a->set_lon(lon);
    d.profiles.push_back(std::move(p));

    // One hotel in eight has no rate plans (search leaves it out, as the original's does
    // for hotels without inventory); the others have one to three.
    RatePlanList plans;
    const int n_plans = rng.Next() % 8 == 0 ? 0 : rng.Between(1, 3);
    for (int c = 0; c < n_plans; ++c) {
      RatePlan* r = plans.add_plans();
      r->set_hotel_id(id);
      r->set_code(kCodes[c]);
      r->set_in_date("2015-04-09");
      r->set_out_date("2015-04-24");
      RoomType* t = r->mutable_room_type();
      t->set_bookable_rate(rng.Rounded(80, 400, 2));
      t->set_total_rate(rng.Rounded(t->bookable_rate(), t->bookable_rate() * 1.3, 2));
      t->set_total_rate_inclusive(std::round(t->total_rate() * 112.5) / 100.0);
      t->set_code(c == 0 ? "KNG" : "QN");
      t->set_currency("USD");
      t->set_description(c == 0 ? "King sized bed" : "Queen sized bed");
    }
    d.rates.push_back(std::move(plans));

    RecommendRecord rec;
    rec.set_id(id);
    rec.set_lat(lat);
    rec.set_lon(lon);
    rec.set_rate(rng.Rounded(1.0, 5.0, 3));
    rec.set_price(rng.Rounded(60, 600, 2));
    d.recommend.push_back(std::move(rec));

    d.capacity.push_back(rng.Between(20, 200));
  }
  for (int u = 0; u < options.users; ++u) d.usernames.push_back("Cornell_" + std::to_string(u));
  return d;
}

void LoadDataset(const Dataset& data, Database& db, Cache& cache) {
  db.FlushAll();
  cache.FlushAll();
  for (size_t i = 0; i < data.profiles.size(); ++i) {
    const std::string& id = data.profiles[i].id();
    RecommendRecord geo;
    geo.set_id(id);
    geo.set_lat(data.recommend[i].lat());
    geo.set_lon(data.recommend[i].lon());
    db.HSet(keys::kGeo, id, geo.SerializeAsString());
    db.HSet(keys::kRecommend, id, data.recommend[i].SerializeAsString());
    db.Set(keys::Profile(id), data.profiles[i].SerializeAsString());
    if (data.rates[i].plans_size() > 0) db.Set(keys::Rate(id), data.rates[i].SerializeAsString());
    db.Set(keys::Capacity(id), std::to_string(data.capacity[i]));
  }
  for (size_t u = 0; u < data.usernames.size(); ++u) {
    db.HSet(keys::kUsers, data.usernames[u], Sha256Hex(UserPassword(static_cast<int>(u))));
  }
}

std::string DatasetJson(const Dataset& data) {
  nlohmann::json hotels = nlohmann::json::array();
  for (size_t i = 0; i < data.profiles.size(); ++i) {
    nlohmann::json rates = nlohmann::json::array();
    for (const auto& r : data.rates[i].plans()) {
      rates.push_back({{"code", r.code()}, {"total_rate", r.room_type().total_rate()}});
    }
    hotels.push_back({{"id", data.profiles[i].id()},
                      {"name", data.profiles[i].name()},
                      {"lat", data.recommend[i].lat()},
                      {"lon", data.recommend[i].lon()},
                      {"rate", data.recommend[i].rate()},
                      {"price", data.recommend[i].price()},
                      {"capacity", data.capacity[i]},
                      {"rates", std::move(rates)}});
  }
  return nlohmann::json{{"hotels", std::move(hotels)}, {"users", data.usernames.size()}}.dump();
}

}  // namespace hotel
