// How the Nightjar arm names the hotel services' methods: the function that serves each
// and the one-byte tag that starts its input (the rest is the request's protobuf bytes;
// the output is the reply's). The gRPC arm needs none of this: hotel.proto names them.
#pragma once

namespace hotel {

struct MethodName {
  const char* function;
  char tag;
};

inline constexpr MethodName kGeoNearby{"hotel-geo", 'N'};
inline constexpr MethodName kRateGetRates{"hotel-rate", 'R'};
inline constexpr MethodName kSearchNearby{"hotel-search", 'S'};
inline constexpr MethodName kProfileGetProfiles{"hotel-profile", 'P'};
inline constexpr MethodName kRecommendGet{"hotel-recommendation", 'G'};
inline constexpr MethodName kUserCheck{"hotel-user", 'U'};
inline constexpr MethodName kReservationMake{"hotel-reservation", 'M'};
inline constexpr MethodName kReservationCheck{"hotel-reservation", 'C'};

}  // namespace hotel
