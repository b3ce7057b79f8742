// Redis and memcached behind store.h's interfaces. Every command goes out as an argv
// (binary-safe: values are protobuf bytes).
#include "store.h"

#include <hiredis/hiredis.h>
#include <libmemcached/memcached.h>

#include <cstdlib>

namespace hotel {
namespace {

std::pair<std::string, int> SplitAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) throw StoreError("store address without port: " + address);
  return {address.substr(0, colon), std::atoi(address.c_str() + colon + 1)};
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisDatabase final : public Database {
 public:
  explicit RedisDatabase(const std::string& address) {
    const auto [host, port] = SplitAddress(address);
    ctx_ = redisConnect(host.c_str(), port);
    if (ctx_ == nullptr || ctx_->err != 0) {
      const std::string why = ctx_ != nullptr ? ctx_->errstr : "out of memory";
      if (ctx_ != nullptr) redisFree(ctx_);
      throw StoreError("redis " + address + ": " + why);
    }
  }
  ~RedisDatabase() override { redisFree(ctx_); }

  std::optional<std::string> Get(const std::string& key) override {
    Reply r = Command({"GET", key});
    return AsOptional(r.get());
  }
  std::vector<std::optional<std::string>> MGet(const std::vector<std::string>& keys) override {
    std::vector<std::string_view> argv{"MGET"};
    for (const auto& k : keys) argv.emplace_back(k);
    Reply r = Command(argv);
    std::vector<std::optional<std::string>> out;
    for (size_t i = 0; i < r->elements; ++i) out.push_back(AsOptional(r->element[i]));
    return out;
  }
  void Set(const std::string& key, std::string_view value) override {
    Command({"SET", key, value});
  }
  std::vector<std::pair<std::string, std::string>> HGetAll(const std::string& key) override {
    Reply r = Command({"HGETALL", key});
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      out.emplace_back(std::string(r->element[i]->str, r->element[i]->len),
                       std::string(r->element[i + 1]->str, r->element[i + 1]->len));
    }
    return out;
  }
  void HSet(const std::string& key, const std::string& field, std::string_view value) override {
    Command({"HSET", key, field, value});
  }
  int64_t IncrBy(const std::string& key, int64_t by) override {
    Reply r = Command({"INCRBY", key, std::to_string(by)});
    return r->integer;
  }
  void RPush(const std::string& key, std::string_view value) override {
    Command({"RPUSH", key, value});
  }
  void FlushAll() override { Command({"FLUSHALL"}); }

 private:
  static std::optional<std::string> AsOptional(const redisReply* r) {
    if (r->type != REDIS_REPLY_STRING) return std::nullopt;
    return std::string(r->str, r->len);
  }

  Reply Command(const std::vector<std::string_view>& argv) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), ptrs.data(), lens.data())));
    if (!r) throw StoreError(std::string("redis: ") + ctx_->errstr);
    if (r->type == REDIS_REPLY_ERROR) throw StoreError("redis: " + std::string(r->str, r->len));
    return r;
  }

  redisContext* ctx_ = nullptr;
};

class Memcached final : public Cache {
 public:
  explicit Memcached(const std::string& address) : mc_(memcached_create(nullptr)) {
    if (mc_ == nullptr) throw StoreError("memcached: out of memory");
    const auto [host, port] = SplitAddress(address);
    memcached_behavior_set(mc_, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    if (memcached_server_add(mc_, host.c_str(), static_cast<in_port_t>(port)) !=
        MEMCACHED_SUCCESS) {
      memcached_free(mc_);
      throw StoreError("memcached: bad address " + address);
    }
  }
  ~Memcached() override { memcached_free(mc_); }

  std::optional<std::string> Get(const std::string& key) override {
    size_t len = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char* v = memcached_get(mc_, key.data(), key.size(), &len, &flags, &rc);
    if (v == nullptr) {
      if (rc == MEMCACHED_NOTFOUND) return std::nullopt;
      throw StoreError(std::string("memcached get: ") + memcached_strerror(mc_, rc));
    }
    std::string out(v, len);
    std::free(v);
    return out;
  }

  std::map<std::string, std::string> GetMulti(const std::vector<std::string>& keys) override {
    std::map<std::string, std::string> out;
    if (keys.empty()) return out;
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& k : keys) {
      ptrs.push_back(k.data());
      lens.push_back(k.size());
    }
    memcached_return_t rc = memcached_mget(mc_, ptrs.data(), lens.data(), keys.size());
    if (rc != MEMCACHED_SUCCESS) {
      throw StoreError(std::string("memcached mget: ") + memcached_strerror(mc_, rc));
    }
    memcached_result_st* result;
    while ((result = memcached_fetch_result(mc_, nullptr, &rc)) != nullptr) {
      out.emplace(std::string(memcached_result_key_value(result), memcached_result_key_length(result)),
                  std::string(memcached_result_value(result), memcached_result_length(result)));
      memcached_result_free(result);
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
      throw StoreError(std::string("memcached fetch: ") + memcached_strerror(mc_, rc));
    }
    return out;
  }

  void Set(const std::string& key, std::string_view value) override {
    const memcached_return_t rc =
        memcached_set(mc_, key.data(), key.size(), value.data(), value.size(), 0, 0);
    if (rc != MEMCACHED_SUCCESS) {
      throw StoreError(std::string("memcached set: ") + memcached_strerror(mc_, rc));
    }
  }

  bool Add(const std::string& key, std::string_view value) override {
    const memcached_return_t rc =
        memcached_add(mc_, key.data(), key.size(), value.data(), value.size(), 0, 0);
    if (rc == MEMCACHED_SUCCESS) return true;
    if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS) return false;
    throw StoreError(std::string("memcached add: ") + memcached_strerror(mc_, rc));
  }

  void FlushAll() override {
    const memcached_return_t rc = memcached_flush(mc_, 0);
    if (rc != MEMCACHED_SUCCESS) {
      throw StoreError(std::string("memcached flush: ") + memcached_strerror(mc_, rc));
    }
  }

 private:
  memcached_st* mc_;
};

}  // namespace

std::unique_ptr<Database> ConnectRedis(const std::string& address) {
  return std::make_unique<RedisDatabase>(address);
}

std::unique_ptr<Cache> ConnectMemcached(const std::string& address) {
  return std::make_unique<Memcached>(address);
}

StoreAddresses StoreAddresses::FromEnv() {
  const char* redis = std::getenv("HOTEL_REDIS");
  const char* memcached = std::getenv("HOTEL_MEMCACHED");
  if (redis == nullptr || *redis == '\0' || memcached == nullptr || *memcached == '\0') {
    throw StoreError("HOTEL_REDIS and HOTEL_MEMCACHED must name the stores (host:port)");
  }
  return {redis, memcached};
}

Stores Stores::Connect(const StoreAddresses& addresses) {
  return {ConnectRedis(addresses.redis), ConnectMemcached(addresses.memcached)};
}

}  // namespace hotel
