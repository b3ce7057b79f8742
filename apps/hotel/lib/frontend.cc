// The hotel frontend (frontend.h): parses the request, calls the services in the order the
// original frontend does, and renders JSON with nlohmann::json (sorted keys, so that both
// arms answer byte for byte alike).
#include "frontend.h"

#include <charconv>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

namespace hotel {
namespace {

using Params = std::map<std::string, std::string, std::less<>>;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Params ParseQuery(std::string_view query) {
  Params params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      params[Unescape(pair)] = "";
    } else {
      params[Unescape(pair.substr(0, eq))] = Unescape(pair.substr(eq + 1));
    }
  }
  return params;
}

const std::string& Need(const Params& params, std::string_view name) {
  const auto it = params.find(name);
  if (it == params.end() || it->second.empty()) {
    throw InvalidRequest("missing parameter " + std::string(name));
  }
  return it->second;
}

double NeedDouble(const Params& params, std::string_view name) {
  const std::string& text = Need(params, name);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) throw InvalidRequest("bad number for " + std::string(name));
  return v;
}

int NeedInt(const Params& params, std::string_view name) {
  const std::string& text = Need(params, name);
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw InvalidRequest("bad integer for " + std::string(name));
  }
  return v;
}

// GeoJSON, as the original frontend answers; each hotel carries its profile and, for a
// search, its rate plans for the stay.
nlohmann::json Features(const GetProfilesResult& profiles, const GetRatesResult* rates) {
  nlohmann::json features = nlohmann::json::array();
  for (const auto& h : profiles.hotels()) {
    nlohmann::json props = {{"name", h.name()},
                            {"phone_number", h.phone_number()},
                            {"description", h.description()},
                            {"address", h.address().street_number() + " " +
                                            h.address().street_name() + ", " + h.address().city()}};
    if (rates != nullptr) {
      nlohmann::json plans = nlohmann::json::array();
      for (const auto& p : rates->rate_plans()) {
        if (p.hotel_id() != h.id()) continue;
        plans.push_back({{"code", p.code()},
                         {"total_rate", p.room_type().total_rate()},
                         {"currency", p.room_type().currency()}});
      }
      props["rates"] = std::move(plans);
    }
    features.push_back({{"type", "Feature"},
                        {"id", h.id()},
                        {"properties", std::move(props)},
                        {"geometry",
                         {{"type", "Point"},
                          {"coordinates", {h.address().lon(), h.address().lat()}}}}});
  }
  return {{"type", "FeatureCollection"}, {"features", std::move(features)}};
}

std::string Message(const char* text) { return nlohmann::json{{"message", text}}.dump(); }

bool LoggedIn(Backends& backends, const Params& params) {
  CheckUserRequest req;
  req.set_username(Need(params, "username"));
  req.set_password(Need(params, "password"));
  return backends.CheckUser(req).correct();
}

std::string SearchHotels(Backends& backends, const Params& params) {
  SearchRequest search;
  search.set_lat(NeedDouble(params, "lat"));
  search.set_lon(NeedDouble(params, "lon"));
  search.set_in_date(Need(params, "inDate"));
  search.set_out_date(Need(params, "outDate"));
  Nights(search.in_date(), search.out_date());  // validates the stay before any call
  SearchResult found = backends.SearchNearby(search);

  ReservationRequest avail;
  avail.set_customer_name("");
  *avail.mutable_hotel_ids() = found.hotel_ids();
  avail.set_in_date(search.in_date());
  avail.set_out_date(search.out_date());
  avail.set_room_number(1);
  const ReservationResult free = backends.CheckAvailability(avail);

  GetProfilesRequest profiles;
  *profiles.mutable_hotel_ids() = free.hotel_ids();
  profiles.set_locale("en");
  GetRatesResult rates;
  *rates.mutable_rate_plans() = std::move(*found.mutable_rate_plans());
  return Features(backends.GetProfiles(profiles), &rates).dump();
}

std::string Recommend(Backends& backends, const Params& params) {
  RecommendRequest rec;
  rec.set_require(Need(params, "require"));
  if (rec.require() != "dis" && rec.require() != "rate" && rec.require() != "price") {
    throw InvalidRequest("require must be dis, rate or price");
  }
  rec.set_lat(NeedDouble(params, "lat"));
  rec.set_lon(NeedDouble(params, "lon"));
  const RecommendResult ids = backends.GetRecommendations(rec);
  GetProfilesRequest profiles;
  *profiles.mutable_hotel_ids() = ids.hotel_ids();
  profiles.set_locale("en");
  return Features(backends.GetProfiles(profiles), nullptr).dump();
}

std::string Reserve(Backends& backends, const Params& params) {
  ReservationRequest req;
  req.set_in_date(Need(params, "inDate"));
  req.set_out_date(Need(params, "outDate"));
  req.add_hotel_ids(Need(params, "hotelId"));
  req.set_customer_name(Need(params, "customerName"));
  req.set_room_number(NeedInt(params, "number"));
  if (req.room_number() <= 0) throw InvalidRequest("number must be positive");
  Nights(req.in_date(), req.out_date());
  if (!LoggedIn(backends, params)) return Message(kLoginFailed);
  const ReservationResult booked = backends.MakeReservation(req);
  return Message(booked.hotel_ids().empty() ? kReserveFailed : kReserveOk);
}

}  // namespace

FrontendReply Frontend::Handle(std::string_view request) {
  const size_t q = request.find('?');
  const std::string_view endpoint = request.substr(0, q);
  const Params params =
      ParseQuery(q == std::string_view::npos ? std::string_view() : request.substr(q + 1));
  try {
    if (endpoint == "/hotels") return {200, SearchHotels(backends_, params)};
    if (endpoint == "/recommendations") return {200, Recommend(backends_, params)};
    if (endpoint == "/user") {
      return {200, Message(LoggedIn(backends_, params) ? kLoginOk : kLoginFailed)};
    }
    if (endpoint == "/reservation") return {200, Reserve(backends_, params)};
    return {404, "unknown endpoint " + std::string(endpoint)};
  } catch (const InvalidRequest& e) {
    return {400, e.what()};
  } catch (const std::exception& e) {
    return {500, e.what()};
  }
}

}  // namespace hotel
