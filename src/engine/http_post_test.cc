// Tests for http_post.h: URL parsing, and POSTs to a real HTTP server (cpp-httplib's, on
// 127.0.0.1, port 0) and to raw sockets that refuse, stall or answer garbage.
#include "engine/http_post.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "io/socket.h"

namespace nightjar::engine {
namespace {

TEST(ParseHttpUrl, HostPortAndPath) {
  auto u = ParseHttpUrl("http://127.0.0.1:4318/v1/traces");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 4318);
  EXPECT_EQ(u->path, "/v1/traces");
  EXPECT_EQ(u->host_header, "127.0.0.1:4318");
  u = ParseHttpUrl("http://collector/x?y=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/x?y=1");
  u = ParseHttpUrl("http://[::1]:9/t");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9);
  EXPECT_EQ(u->host_header, "[::1]:9");
  u = ParseHttpUrl("http://[::1]/t");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
}

TEST(ParseHttpUrl, RejectsWhatItCannotPost) {
  for (const char* bad : {"https://h/x", "http://h", "http:///x", "http://u@h/x", "http://h:/x",
                          "http://h:0/x", "http://h:65536/x", "http://h:12a/x", "http://[::1/x",
                          "http://[::1]x/y", "ftp://h/x", ""}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
  }
}

TEST(HttpPost, PostsToARealServerAndReturnsItsStatus) {
  httplib::Server server;
  std::string got_body, got_type, got_host;
  server.Post("/v1/traces", [&](const httplib::Request& req, httplib::Response& res) {
    got_body = req.body;
    got_type = req.get_header_value("Content-Type");
    got_host = req.get_header_value("Host");
    res.status = req.body == "fail" ? 503 : 200;
    res.set_content(std::string(100000, 'r'), "text/plain");  // a body to read past
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  auto url = ParseHttpUrl("http://127.0.0.1:" + std::to_string(port) + "/v1/traces");
  ASSERT_TRUE(url.ok());
  const std::string big(3 << 20, 'x');  // more than a socket buffer
  auto r = HttpPost(*url, "application/json", big, 10000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 200);
  EXPECT_EQ(got_body, big);
  EXPECT_EQ(got_type, "application/json");
  EXPECT_EQ(got_host, "127.0.0.1:" + std::to_string(port));
  r = HttpPost(*url, "application/json", "fail", 10000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 503);
  server.stop();
  serving.join();
}

// A listening socket that accepts and then does `what` with each connection.
class RawServer {
 public:
  explicit RawServer(std::function<void(int)> what) {
    auto fd = io::ListenTcp("127.0.0.1", 0, &port_);
    EXPECT_TRUE(fd.ok());
    listen_ = std::move(*fd);
    (void)io::SetNonBlocking(listen_.get(), false);  // accept blocks in the thread
    thread_ = std::thread([this, what] {
      const int c = ::accept(listen_.get(), nullptr, nullptr);
      if (c >= 0) {
        what(c);
        ::close(c);
      }
    });
  }
  ~RawServer() {
    ::shutdown(listen_.get(), SHUT_RDWR);
    thread_.join();
  }
  HttpUrl url() const {
    auto u = ParseHttpUrl("http://127.0.0.1:" + std::to_string(port_) + "/");
    EXPECT_TRUE(u.ok());
    return *u;
  }

 private:
  int port_ = 0;
  UniqueFd listen_;
  std::thread thread_;
};

TEST(HttpPost, FailsClearlyWhenRefusedStalledOrAnsweredWithGarbage) {
  {
    int port = 0;
    auto fd = io::ListenTcp("127.0.0.1", 0, &port);  // bound, then closed: nobody listens
    ASSERT_TRUE(fd.ok());
    fd->Reset();
    auto url = ParseHttpUrl("http://127.0.0.1:" + std::to_string(port) + "/");
    ASSERT_TRUE(url.ok());
    auto r = HttpPost(*url, "a/b", "x", 2000);
    EXPECT_FALSE(r.ok());
  }
  {
    RawServer stall([](int c) {
      char buf[4096];
      while (::recv(c, buf, sizeof buf, 0) > 0) {  // reads, never answers, until closed
      }
    });
    auto r = HttpPost(stall.url(), "a/b", "x", 300);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
  }
  {
    RawServer garbage([](int c) {
      char buf[4096];
      (void)::recv(c, buf, sizeof buf, 0);
      const char kJunk[] = "SSH-2.0-OpenSSH\r\n\r\n";
      (void)::send(c, kJunk, sizeof kJunk - 1, MSG_NOSIGNAL);
    });
    auto r = HttpPost(garbage.url(), "a/b", "x", 5000);
    EXPECT_FALSE(r.ok());
  }
  {
    RawServer silent_close([](int c) {
      char buf[4096];
      (void)::recv(c, buf, sizeof buf, 0);
    });
    auto r = HttpPost(silent_close.url(), "a/b", "x", 5000);
    EXPECT_FALSE(r.ok());
  }
}

}  // namespace
}  // namespace nightjar::engine
