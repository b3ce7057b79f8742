// The hotel application's frontend: one HTTP-style request in, a JSON answer out. Both arms
// hand it the same text, "<endpoint>?<query>" (the request body of POST /function/
// hotel-frontend on Nightjar, of POST /hotel on the RPC arm's HTTP server):
//   /hotels?inDate=2015-04-09&outDate=2015-04-11&lat=38.02&lon=-122.09
//        search (geo, rate), availability (reservation), profiles: a GeoJSON collection
//   /recommendations?require=dis|rate|price&lat=..&lon=..
//        recommendation, then profiles: a GeoJSON collection
//   /user?username=..&password=..                         login: {"message": ...}
//   /reservation?inDate=..&outDate=..&hotelId=..&customerName=..&username=..&password=..
//        &number=..                                       login, then booking: {"message": ...}
// Thread rule: as services.h. Never throws for a bad request: it answers 400 (malformed),
// 404 (unknown endpoint) or 500 (a store or downstream call failed) with a message.
#pragma once

#include <string>
#include <string_view>

#include "services.h"

namespace hotel {

struct FrontendReply {
  int status = 200;
  std::string body;  // JSON on 200, a one-line message otherwise
};

inline constexpr const char* kLoginOk = "Login successfully!";
inline constexpr const char* kLoginFailed = "Failed. Please check your username and password. ";
inline constexpr const char* kReserveOk = "Reserve successfully!";
inline constexpr const char* kReserveFailed = "Failed. Already reserved. ";

class Frontend {
 public:
  explicit Frontend(Backends& backends) : backends_(backends) {}
  FrontendReply Handle(std::string_view request);

 private:
  Backends& backends_;
};

}  // namespace hotel
