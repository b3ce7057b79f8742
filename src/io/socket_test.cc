#include "io/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace nightjar::io {
namespace {

// Waits (up to 10 s) until `fd` is readable; false on timeout.
bool WaitReadable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 10'000) == 1 && (p.revents & POLLIN) != 0;
}

UniqueFd Accept(int listen_fd) {
  if (!WaitReadable(listen_fd)) return UniqueFd();
  return UniqueFd(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
}

std::string Recv(int fd) {
  if (!WaitReadable(fd)) return "<timeout>";
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  return n < 0 ? "<error>" : std::string(buf, static_cast<size_t>(n));
}

bool IsNonBlocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

TEST(ParseHostPortTest, AcceptsHostAndPort) {
  auto a = ParseHostPort("127.0.0.1:80");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 80);
  auto b = ParseHostPort("[::1]:8080");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 8080);
  auto c = ParseHostPort("localhost:0");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "localhost");
  EXPECT_EQ(c->port, 0);
  auto d = ParseHostPort("h:65535");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, 65535);
}

TEST(ParseHostPortTest, RejectsMalformedInput) {
  for (const char* s : {"nohost", "h:99999", "h:abc", ":80", "h:", "", "h:-1", "h:80x", "h:65536",
                        "h:99999999999999999999"}) {
    auto r = ParseHostPort(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << s;
  }
}

TEST(TcpTest, ListenOnEphemeralPortAndConnect) {
  int port = -1;
  auto listener = ListenTcp("127.0.0.1", 0, &port);
  ASSERT_TRUE(listener.ok()) << listener.status().message();
  EXPECT_GT(port, 0);
  EXPECT_LE(port, 65535);
  EXPECT_TRUE(IsNonBlocking(listener->get()));

  auto client = ConnectTcp("127.0.0.1", port);
  ASSERT_TRUE(client.ok()) << client.status().message();
  EXPECT_TRUE(IsNonBlocking(client->get()));
  int nodelay = 0;
  socklen_t len = sizeof(nodelay);
  ASSERT_EQ(::getsockopt(client->get(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  EXPECT_NE(nodelay, 0);

  UniqueFd server = Accept(listener->get());
  ASSERT_TRUE(server.valid());
  ASSERT_EQ(::send(client->get(), "hello", 5, MSG_NOSIGNAL), 5);
  EXPECT_EQ(Recv(server.get()), "hello");
  ASSERT_EQ(::send(server.get(), "world!", 6, MSG_NOSIGNAL), 6);
  EXPECT_EQ(Recv(client->get()), "world!");
  client->Reset();
  EXPECT_EQ(Recv(server.get()), "");  // EOF
}

TEST(TcpTest, ConnectToClosedPortFails) {
  // A bound but not listening socket holds the port, so the refusal is deterministic.
  UniqueFd holder(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(holder.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(holder.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto c = ConnectTcp("127.0.0.1", ntohs(addr.sin_port));
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
}

class UnixSeqpacketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nj-sock-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(UnixSeqpacketTest, PreservesMessageBoundaries) {
  const std::string path = dir_ + "/s.sock";
  auto listener = ListenUnixSeqpacket(path);
  ASSERT_TRUE(listener.ok()) << listener.status().message();
  EXPECT_TRUE(IsNonBlocking(listener->get()));
  auto client = ConnectUnixSeqpacket(path);
  ASSERT_TRUE(client.ok()) << client.status().message();
  EXPECT_FALSE(IsNonBlocking(client->get()));
  UniqueFd server = Accept(listener->get());
  ASSERT_TRUE(server.valid());

  // Three sends before any receive: a stream socket would merge them.
  for (const char* m : {"a", "bcd", "efghij"}) {
    ASSERT_EQ(::send(client->get(), m, std::strlen(m), MSG_NOSIGNAL),
              static_cast<ssize_t>(std::strlen(m)));
  }
  EXPECT_EQ(Recv(server.get()), "a");
  EXPECT_EQ(Recv(server.get()), "bcd");
  EXPECT_EQ(Recv(server.get()), "efghij");
  ASSERT_EQ(::send(server.get(), "reply", 5, MSG_NOSIGNAL), 5);
  EXPECT_EQ(Recv(client->get()), "reply");
  client->Reset();
  EXPECT_EQ(Recv(server.get()), "");  // EOF once the peer is gone
}

TEST_F(UnixSeqpacketTest, FailsOnBadPaths) {
  EXPECT_FALSE(ConnectUnixSeqpacket(dir_ + "/missing.sock").ok());
  const std::string too_long = dir_ + "/" + std::string(200, 'x');
  auto l = ListenUnixSeqpacket(too_long);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectUnixSeqpacket(too_long).status().code(), StatusCode::kInvalidArgument);
  const std::string path = dir_ + "/taken.sock";
  auto first = ListenUnixSeqpacket(path);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(ListenUnixSeqpacket(path).ok());  // EADDRINUSE
}

TEST(PassFdsTest, DescriptorsTravelWithTheirDatagram) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  const int fds[2] = {rd.get(), wr.get()};
  ASSERT_EQ(SendWithFds(a.get(), "hello", 5, fds, 2), 5);
  ASSERT_EQ(SendWithFds(a.get(), "plain", 5, nullptr, 0), 5);
  char buf[16];
  UniqueFd got[kMaxPassedFds];
  ASSERT_EQ(RecvWithFds(b.get(), buf, sizeof(buf), got), 5);
  ASSERT_TRUE(got[0].valid() && got[1].valid());
  ASSERT_EQ(::write(got[1].get(), "x", 1), 1);  // the received pair is the same pipe
  char c = 0;
  ASSERT_EQ(::read(rd.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
  UniqueFd none[kMaxPassedFds];
  ASSERT_EQ(RecvWithFds(b.get(), buf, sizeof(buf), none), 5);
  EXPECT_FALSE(none[0].valid() || none[1].valid());
}

TEST(PassFdsTest, AFailedReceiveTakesNoDescriptor) {
  // A peer that closes with our datagram unread in its queue: recvmsg fails (ECONNRESET),
  // and nothing in the (unfilled) control buffer may be taken for a descriptor.
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  ASSERT_EQ(SendWithFds(b.get(), "unread", 6, nullptr, 0), 6);
  a.Reset();
  char buf[16];
  UniqueFd got[kMaxPassedFds];
  EXPECT_LE(RecvWithFds(b.get(), buf, sizeof(buf), got), 0);
  EXPECT_FALSE(got[0].valid() || got[1].valid());
  EXPECT_EQ(RecvWithFds(b.get(), buf, sizeof(buf), got), 0);  // then plain EOF
}

}  // namespace
}  // namespace nightjar::io
