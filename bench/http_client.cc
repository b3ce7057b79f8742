// HTTP/1.1 response parsing and the blocking client (see http_client.h).
#include "http_client.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "io/socket.h"

namespace nightjar::bench {

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Status ResponseParser::Feed(std::string_view bytes, std::vector<HttpResponse>* out) {
  if (failed_) return Internal("response stream already failed");
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.append(bytes);
  for (;;) {
    const std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
    const size_t head_end = rest.find("\r\n\r\n");
    if (head_end == std::string_view::npos) break;
    const std::string_view head = rest.substr(0, head_end);
    HttpResponse r;
    size_t content_length = 0;
    bool have_length = false;
    size_t line_start = 0;
    bool first = true;
    while (line_start <= head.size()) {
      size_t line_end = head.find("\r\n", line_start);
      if (line_end == std::string_view::npos) line_end = head.size();
      const std::string_view line = head.substr(line_start, line_end - line_start);
      line_start = line_end + 2;
      if (first) {
        first = false;
        // "HTTP/1.1 200 OK"
        if (line.size() < 12 || line.substr(0, 5) != "HTTP/") {
          failed_ = true;
          return Internal("malformed status line: " + std::string(line));
        }
        const std::string_view code = line.substr(9, 3);
        if (std::from_chars(code.data(), code.data() + 3, r.status).ec != std::errc()) {
          failed_ = true;
          return Internal("malformed status line: " + std::string(line));
        }
        continue;
      }
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string_view name = line.substr(0, colon);
      const std::string_view value = Trim(line.substr(colon + 1));
      if (IEquals(name, "content-length")) {
        if (std::from_chars(value.data(), value.data() + value.size(), content_length).ec !=
            std::errc()) {
          failed_ = true;
          return Internal("malformed Content-Length");
        }
        have_length = true;
      } else if (IEquals(name, "transfer-encoding")) {
        failed_ = true;
        return Internal("chunked responses are not supported");
      } else if (IEquals(name, "connection") && IEquals(value, "close")) {
        r.close = true;
      }
    }
    if (!have_length) content_length = 0;  // 1xx/204/304 or an empty body
    const size_t total = head_end + 4 + content_length;
    if (rest.size() < total) break;
    r.body_size = content_length;
    if (keep_bodies_) r.body.assign(rest.substr(head_end + 4, content_length));
    out->push_back(std::move(r));
    pos_ += total;
  }
  // Compact once the consumed prefix dominates, so the buffer does not grow forever.
  if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return Status::Ok();
}

std::string PostRequest(std::string_view host, std::string_view path, std::string_view body) {
  std::string r;
  r.reserve(128 + body.size());
  r += "POST ";
  r += path;
  r += " HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += "\r\n\r\n";
  r += body;
  return r;
}

Result<HttpClient> HttpClient::Connect(const std::string& host, int port) {
  auto fd = io::ConnectTcp(host, port);  // blocking connect, TCP_NODELAY, then non-blocking
  if (!fd.ok()) return fd.status();
  NJ_RETURN_IF_ERROR(io::SetNonBlocking(fd->get(), false));
  return HttpClient(std::move(*fd), host);
}

Result<HttpResponse> HttpClient::Post(std::string_view path, std::string_view body) {
  return Send(PostRequest(host_, path, body));
}

Result<HttpResponse> HttpClient::Send(std::string_view request) {
  for (size_t off = 0; off < request.size();) {
    const ssize_t n = ::write(fd_.get(), request.data() + off, request.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::FromErrno("http write");
    off += static_cast<size_t>(n);
  }
  char buf[65536];
  while (ready_.empty()) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("http read");
    if (n == 0) return Unavailable("connection closed by the server");
    NJ_RETURN_IF_ERROR(parser_.Feed(std::string_view(buf, static_cast<size_t>(n)), &ready_));
  }
  HttpResponse r = std::move(ready_.front());
  ready_.erase(ready_.begin());
  return r;
}

}  // namespace nightjar::bench
