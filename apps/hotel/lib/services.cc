// Service logic of the hotel application (services.h).
#include "services.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

namespace hotel {

double DistanceKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kEarthKm = 6371.0088;
  constexpr double kRad = M_PI / 180.0;
  const double dlat = (lat2 - lat1) * kRad;
  const double dlon = (lon2 - lon1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) *
                       std::sin(dlon / 2);
  return 2 * kEarthKm * std::asin(std::min(1.0, std::sqrt(a)));
}

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("sha256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

namespace {

std::chrono::sys_days ParseDate(const std::string& date) {
  int y = 0;
  unsigned m = 0, d = 0;
  char tail = 0;
  if (date.size() != 10 || std::sscanf(date.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) {
    throw InvalidRequest("bad date: " + date);
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (!ymd.ok()) throw InvalidRequest("bad date: " + date);
  return std::chrono::sys_days(ymd);
}

std::string FormatDate(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd(day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

int64_t ParseCount(const std::string& text, const std::string& what) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw StoreError("bad number in " + what + ": " + text);
  }
  return v;
}

template <class Message>
Message ParseRecord(const std::string& bytes, const std::string& what) {
  Message m;
  if (!m.ParseFromString(bytes)) throw StoreError("corrupt record " + what);
  return m;
}

// Cache first, database for the misses (then filling the cache): how DeathStarBench's rate
// and profile services read. One value per key, in order; nullopt where neither has it.
std::vector<std::optional<std::string>> ReadThrough(Database& db, Cache& cache,
                                                    const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  if (keys.empty()) return out;
  std::map<std::string, std::string> hits = cache.GetMulti(keys);
  std::vector<std::string> missing;
  std::vector<size_t> missing_at;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = hits.find(keys[i]);
    if (it != hits.end()) {
      out[i] = std::move(it->second);
    } else {
      missing.push_back(keys[i]);
      missing_at.push_back(i);
    }
  }
  if (missing.empty()) return out;
  std::vector<std::optional<std::string>> fetched = db.MGet(missing);
  for (size_t j = 0; j < missing.size() && j < fetched.size(); ++j) {
    if (!fetched[j]) continue;
    cache.Set(missing[j], *fetched[j]);
    out[missing_at[j]] = std::move(fetched[j]);
  }
  return out;
}

uint64_t NumericId(const std::string& id) {
  uint64_t v = 0;
  std::from_chars(id.data(), id.data() + id.size(), v);
  return v;
}

std::vector<RecommendRecord> LoadRecords(Database& db, const char* key) {
  std::vector<RecommendRecord> out;
  for (const auto& [id, bytes] : db.HGetAll(key)) {
    out.push_back(ParseRecord<RecommendRecord>(bytes, std::string(key) + ":" + id));
  }
  std::sort(out.begin(), out.end(), [](const RecommendRecord& a, const RecommendRecord& b) {
    return NumericId(a.id()) < NumericId(b.id());
  });
  return out;
}

}  // namespace

std::vector<std::string> Nights(const std::string& in_date, const std::string& out_date) {
  const auto in = ParseDate(in_date);
  const auto out = ParseDate(out_date);
  const auto nights = (out - in).count();
  if (nights <= 0 || nights > 31) {
    throw InvalidRequest("a stay is 1 to 31 nights: " + in_date + " to " + out_date);
  }
  std::vector<std::string> result;
  for (auto day = in; day < out; day += std::chrono::days(1)) result.push_back(FormatDate(day));
  return result;
}

// ---- geo

GeoService::GeoService(Database& db) : points_(LoadRecords(db, keys::kGeo)) {}

NearbyPointResult GeoService::Nearby(const NearbyPointRequest& req) const {
  // A linear scan: ~1,000 points cost a few microseconds, less than any index's upkeep.
  std::vector<std::pair<double, size_t>> near;
  for (size_t i = 0; i < points_.size(); ++i) {
    const double d = DistanceKm(req.lat(), req.lon(), points_[i].lat(), points_[i].lon());
    if (d <= kGeoMaxRadiusKm) near.emplace_back(d, i);
  }
  const size_t n = std::min<size_t>(near.size(), kGeoMaxResults);
  std::partial_sort(near.begin(), near.begin() + static_cast<std::ptrdiff_t>(n), near.end());
  NearbyPointResult result;
  for (size_t i = 0; i < n; ++i) result.add_hotel_ids(points_[near[i].second].id());
  return result;
}

// ---- rate

GetRatesResult RateService::GetRates(const GetRatesRequest& req) {
  std::vector<std::string> keys;
  for (const auto& id : req.hotel_ids()) keys.push_back(keys::Rate(id));
  GetRatesResult result;
  const auto values = ReadThrough(db_, cache_, keys);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i]) continue;  // a hotel without rate plans
    const auto list = ParseRecord<RatePlanList>(*values[i], keys[i]);
    for (const auto& plan : list.plans()) *result.add_rate_plans() = plan;
  }
  // Highest total rate first, as the original sorts; ties by hotel id then code, so that
  // every run and both arms list them alike.
  auto* plans = result.mutable_rate_plans();
  std::stable_sort(plans->begin(), plans->end(), [](const RatePlan& a, const RatePlan& b) {
    if (a.room_type().total_rate() != b.room_type().total_rate()) {
      return a.room_type().total_rate() > b.room_type().total_rate();
    }
    if (a.hotel_id() != b.hotel_id()) return NumericId(a.hotel_id()) < NumericId(b.hotel_id());
    return a.code() < b.code();
  });
  return result;
}

// ---- search

SearchResult SearchService::Nearby(const SearchRequest& req) {
  NearbyPointRequest geo_req;
  geo_req.set_lat(req.lat());
  geo_req.set_lon(req.lon());
  const NearbyPointResult near = backends_.GeoNearby(geo_req);

  GetRatesRequest rate_req;
  *rate_req.mutable_hotel_ids() = near.hotel_ids();
  rate_req.set_in_date(req.in_date());
  rate_req.set_out_date(req.out_date());
  GetRatesResult rates = backends_.GetRates(rate_req);

  SearchResult result;
  // The hotels that have rates, nearest first.
  for (const auto& id : near.hotel_ids()) {
    const bool has_rate =
        std::any_of(rates.rate_plans().begin(), rates.rate_plans().end(),
                    [&](const RatePlan& p) { return p.hotel_id() == id; });
    if (has_rate) result.add_hotel_ids(id);
  }
  *result.mutable_rate_plans() = std::move(*rates.mutable_rate_plans());
  return result;
}

// ---- profile

GetProfilesResult ProfileService::GetProfiles(const GetProfilesRequest& req) {
  std::vector<std::string> keys;
  for (const auto& id : req.hotel_ids()) keys.push_back(keys::Profile(id));
  GetProfilesResult result;
  const auto values = ReadThrough(db_, cache_, keys);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i]) continue;
    *result.add_hotels() = ParseRecord<HotelProfile>(*values[i], keys[i]);
  }
  return result;
}

// ---- recommendation

RecommendationService::RecommendationService(Database& db)
    : hotels_(LoadRecords(db, keys::kRecommend)) {}

RecommendResult RecommendationService::GetRecommendations(const RecommendRequest& req) const {
  // Every hotel that ties for the best value, in id order (the original returns all ties).
  std::vector<double> score(hotels_.size());
  if (req.require() == "dis") {
    for (size_t i = 0; i < hotels_.size(); ++i) {
      score[i] = DistanceKm(req.lat(), req.lon(), hotels_[i].lat(), hotels_[i].lon());
    }
  } else if (req.require() == "rate") {
    for (size_t i = 0; i < hotels_.size(); ++i) score[i] = -hotels_[i].rate();
  } else if (req.require() == "price") {
    for (size_t i = 0; i < hotels_.size(); ++i) score[i] = hotels_[i].price();
  } else {
    throw InvalidRequest("require must be dis, rate or price: " + req.require());
  }
  RecommendResult result;
  if (hotels_.empty()) return result;
  const double best = *std::min_element(score.begin(), score.end());
  for (size_t i = 0; i < hotels_.size(); ++i) {
    if (score[i] == best) result.add_hotel_ids(hotels_[i].id());
  }
  return result;
}

// ---- user

UserService::UserService(Database& db) {
  for (auto& [name, hash] : db.HGetAll(keys::kUsers)) hashes_.emplace(name, hash);
}

CheckUserResult UserService::CheckUser(const CheckUserRequest& req) const {
  CheckUserResult result;
  const auto it = hashes_.find(req.username());
  result.set_correct(it != hashes_.end() && it->second == Sha256Hex(req.password()));
  return result;
}

// ---- reservation

std::vector<int64_t> ReservationService::Counts(const std::vector<std::string>& keys) {
  std::vector<int64_t> out(keys.size(), 0);
  std::map<std::string, std::string> hits = cache_.GetMulti(keys);
  std::vector<std::string> missing;
  std::vector<size_t> missing_at;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = hits.find(keys[i]);
    if (it != hits.end()) {
      out[i] = ParseCount(it->second, keys[i]);
    } else {
      missing.push_back(keys[i]);
      missing_at.push_back(i);
    }
  }
  if (missing.empty()) return out;
  const auto fetched = db_.MGet(missing);
  for (size_t j = 0; j < missing.size(); ++j) {
    const std::string value = j < fetched.size() && fetched[j] ? *fetched[j] : "0";
    cache_.Add(missing[j], value);
    out[missing_at[j]] = ParseCount(value, missing[j]);
  }
  return out;
}

ReservationResult ReservationService::MakeReservation(const ReservationRequest& req) {
  if (req.hotel_ids().empty()) throw InvalidRequest("reservation without a hotel");
  if (req.room_number() <= 0) throw InvalidRequest("reservation of no rooms");
  const std::string& hotel_id = req.hotel_ids(0);
  const auto nights = Nights(req.in_date(), req.out_date());
  std::vector<std::string> keys{keys::Capacity(hotel_id)};
  for (const auto& night : nights) keys.push_back(keys::Reserved(hotel_id, night));
  const auto counts = Counts(keys);
  for (size_t i = 1; i < counts.size(); ++i) {
    if (counts[i] + req.room_number() > counts[0]) return {};
  }
  // The database counts are the truth (INCRBY is atomic); the cache takes the new values.
  for (size_t i = 1; i < keys.size(); ++i) {
    cache_.Set(keys[i], std::to_string(db_.IncrBy(keys[i], req.room_number())));
  }
  ReservationRequest record = req;
  record.mutable_hotel_ids()->Clear();
  record.add_hotel_ids(hotel_id);
  db_.RPush(keys::kReservations, record.SerializeAsString());
  ReservationResult result;
  result.add_hotel_ids(hotel_id);
  return result;
}

ReservationResult ReservationService::CheckAvailability(const ReservationRequest& req) {
  const auto nights = Nights(req.in_date(), req.out_date());
  const int64_t rooms = std::max<int64_t>(req.room_number(), 1);
  // One multi-get for every hotel's capacity and nightly count, as the original batches.
  std::vector<std::string> keys;
  for (const auto& hotel_id : req.hotel_ids()) {
    keys.push_back(keys::Capacity(hotel_id));
    for (const auto& night : nights) keys.push_back(keys::Reserved(hotel_id, night));
  }
  const auto counts = Counts(keys);
  ReservationResult result;
  const size_t stride = nights.size() + 1;
  for (int h = 0; h < req.hotel_ids_size(); ++h) {
    const size_t base = static_cast<size_t>(h) * stride;
    bool free = true;
    for (size_t n = 1; n < stride; ++n) free = free && counts[base + n] + rooms <= counts[base];
    if (free) result.add_hotel_ids(req.hotel_ids(h));
  }
  return result;
}

}  // namespace hotel
