// The hotel dataset: generated from a fixed seed (the same bytes on every run and machine),
// in the shape of DeathStarBench's: hotels scattered around one city (the original's
// search area, 38.0235 N 122.095 W), their profiles, rate plans, ratings and prices, room
// capacities, and users "Cornell_<i>" whose password is <i> written ten times.
// Thread rule: free functions; Load writes through the given connections.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hotel.pb.h"
#include "store.h"

namespace hotel {

struct DatasetOptions {
  int hotels = 1000;
  int users = 10000;
  uint64_t seed = 14;
};

struct Dataset {
  std::vector<HotelProfile> profiles;        // hotel i+1 at index i; address carries lat/lon
  std::vector<RatePlanList> rates;           // per hotel; some hotels have none
  std::vector<RecommendRecord> recommend;    // per hotel: position, rating, price
  std::vector<int64_t> capacity;             // per hotel: rooms
  std::vector<std::string> usernames;        // user i; password: UserPassword(i)
};

inline constexpr double kCenterLat = 38.0235;
inline constexpr double kCenterLon = -122.095;

std::string UserPassword(int user);
Dataset GenerateDataset(const DatasetOptions& options);
// Empties both stores, then writes the dataset (keys in services.h). Throws StoreError.
void LoadDataset(const Dataset& data, Database& db, Cache& cache);
// The dataset as JSON, for tests that compute expected answers on their own.
std::string DatasetJson(const Dataset& data);

}  // namespace hotel
