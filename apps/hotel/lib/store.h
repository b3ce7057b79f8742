// The hotel application's two stores, behind small interfaces so that the service logic
// (services.h) is written once for both arms:
//   Database  the system of record: Redis (hiredis), standing in for DeathStarBench's
//             MongoDB (Debian has none); values are protobuf bytes (hotel.proto).
//   Cache     memcached (libmemcached), used where and as the original uses it.
// Thread rule: an instance is used by one thread at a time (a Nightjar worker slot or one
// gRPC server thread holds its own: ThreadStores). Failures (connection refused or lost, a
// server error reply) throw StoreError; the service boundary turns them into call errors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hotel {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Database {
 public:
  virtual ~Database() = default;
  virtual std::optional<std::string> Get(const std::string& key) = 0;
  // One value per key, in order (nullopt where absent).
  virtual std::vector<std::optional<std::string>> MGet(const std::vector<std::string>& keys) = 0;
  virtual void Set(const std::string& key, std::string_view value) = 0;
  virtual std::vector<std::pair<std::string, std::string>> HGetAll(const std::string& key) = 0;
  virtual void HSet(const std::string& key, const std::string& field, std::string_view value) = 0;
  virtual int64_t IncrBy(const std::string& key, int64_t by) = 0;
  virtual void RPush(const std::string& key, std::string_view value) = 0;
  virtual void FlushAll() = 0;
};

class Cache {
 public:
  virtual ~Cache() = default;
  virtual std::optional<std::string> Get(const std::string& key) = 0;
  // The keys found, with their values.
  virtual std::map<std::string, std::string> GetMulti(const std::vector<std::string>& keys) = 0;
  virtual void Set(const std::string& key, std::string_view value) = 0;
  // Stores the value only if the key is absent (false when it was present): a reader that
  // fills the cache from the database cannot then overwrite a newer value a writer set.
  virtual bool Add(const std::string& key, std::string_view value) = 0;
  virtual void FlushAll() = 0;
};

// "host:port" -> connected store. Throws StoreError when it cannot connect.
std::unique_ptr<Database> ConnectRedis(const std::string& address);
std::unique_ptr<Cache> ConnectMemcached(const std::string& address);

// The store addresses of a deployment: HOTEL_REDIS and HOTEL_MEMCACHED ("host:port").
// Throws StoreError when either is unset.
struct StoreAddresses {
  std::string redis;
  std::string memcached;
  static StoreAddresses FromEnv();
};

// A database and a cache connection owned together.
struct Stores {
  std::unique_ptr<Database> db;
  std::unique_ptr<Cache> cache;
  static Stores Connect(const StoreAddresses& addresses);
};

}  // namespace hotel
