// hotel_load: writes the hotel dataset (lib/dataset.h) into Redis and memcached before a
// run, emptying both first; optionally writes the dataset as JSON for tests.
//   hotel_load --redis 127.0.0.1:6379 --memcached 127.0.0.1:11211
//   hotel_load --dump-json data.json            (no stores needed)
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>

#include "dataset.h"

int main(int argc, char** argv) {
  CLI::App app{"Loads the hotel reservation dataset into Redis and memcached"};
  std::string redis, memcached, dump;
  hotel::DatasetOptions options;
  app.add_option("--redis", redis, "Redis address, host:port");
  app.add_option("--memcached", memcached, "memcached address, host:port");
  app.add_option("--hotels", options.hotels, "number of hotels")->check(CLI::Range(1, 100000));
  app.add_option("--users", options.users, "number of users")->check(CLI::Range(1, 1000000));
  app.add_option("--seed", options.seed, "generator seed");
  app.add_option("--dump-json", dump, "also write the dataset as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  if (redis.empty() != memcached.empty()) {
    std::fprintf(stderr, "hotel_load: give both --redis and --memcached, or neither\n");
    return 2;
  }
  try {
    const hotel::Dataset data = hotel::GenerateDataset(options);
    if (!dump.empty()) {
      std::ofstream(dump) << hotel::DatasetJson(data);
    }
    if (!redis.empty()) {
      auto db = hotel::ConnectRedis(redis);
      auto cache = hotel::ConnectMemcached(memcached);
      hotel::LoadDataset(data, *db, *cache);
      std::printf("hotel_load: %zu hotels, %zu users\n", data.profiles.size(),
                  data.usernames.size());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hotel_load: %s\n", e.what());
    return 1;
  }
  return 0;
}
