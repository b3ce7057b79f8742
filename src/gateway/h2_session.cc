// H2Session implementation; see h2_session.h.
#include "gateway/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

#include "base/clock.h"

namespace nightjar::gateway {

const std::string* H2Request::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

// The nghttp2 callbacks, with access to the session's streams. Each returns 0 (or a byte
// count); nghttp2 turns a stream-level problem into RST_STREAM itself.
struct H2Callbacks {
  static H2Session* Self(void* p) { return static_cast<H2Session*>(p); }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    H2Session::Stream& s = Self(user)->streams_[frame->hd.stream_id];
    s.start_ns = MonotonicNowNs();
    s.request.stream_id = frame->hd.stream_id;
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                      void* user) {
    H2Session* self = Self(user);
    H2Session::Stream* s = self->Find(frame->hd.stream_id);
    if (s == nullptr || s->delivered) return 0;
    // RFC 9113 §6.5.2 counts each field as name + value + 32.
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > self->limits_.max_header_list_bytes) {
      if (s->request.limit_status == 0) s->request.limit_status = 431;
      return 0;
    }
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    H2Request& r = s->request;
    if (n == ":method") {
      r.method = std::move(v);
    } else if (n == ":path") {
      r.path = std::move(v);
    } else if (n == ":scheme") {
      r.scheme = std::move(v);
    } else if (n == ":authority") {
      r.authority = std::move(v);
    } else {
      r.headers.emplace_back(std::string(n), std::move(v));
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user) {
    H2Session* self = Self(user);
    H2Session::Stream* s = self->Find(stream_id);
    if (s == nullptr || s->delivered) return 0;  // refused already: the rest is dropped
    if (s->request.body.size() + len > self->limits_.max_body_bytes) {
      s->request.limit_status = 413;
      s->request.body.clear();
      self->Deliver(stream_id, *s);
      return 0;
    }
    s->request.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2Session* self = Self(user);
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    H2Session::Stream* s = self->Find(frame->hd.stream_id);
    if (s == nullptr || s->delivered) return 0;
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    // Headers over the limit are refused at once, without waiting for the body.
    if (end || s->request.limit_status != 0) self->Deliver(frame->hd.stream_id, *s);
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
    H2Session* self = Self(user);
    auto it = self->streams_.find(stream_id);
    if (it == self->streams_.end()) return 0;
    const bool abandoned = it->second.delivered && !it->second.answered;
    self->streams_.erase(it);
    if (abandoned) {
      --self->awaiting_;
      if (self->on_abandon_) self->on_abandon_(stream_id);
    }
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                          size_t length, uint32_t* data_flags, nghttp2_data_source*,
                          void* user) {
    H2Session::Stream* s = Self(user)->Find(stream_id);
    if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n = std::min(length, s->out.size() - s->out_off);
    if (n > 0) std::memcpy(buf, s->out.data() + s->out_off, n);
    s->out_off += n;
    if (s->out_off == s->out.size()) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s->trailers.empty()) {
        std::vector<nghttp2_nv> nva;
        for (auto& [name, value] : s->trailers) {
          nva.push_back({reinterpret_cast<uint8_t*>(name.data()),
                         reinterpret_cast<uint8_t*>(value.data()), name.size(), value.size(),
                         NGHTTP2_NV_FLAG_NONE});
        }
        if (nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size()) == 0) {
          *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
    }
    return static_cast<ssize_t>(n);
  }
};

H2Session::H2Session(H2Limits limits, RequestFn on_request, AbandonFn on_abandon)
    : limits_(limits), on_request_(std::move(on_request)), on_abandon_(std::move(on_abandon)) {}

H2Session::~H2Session() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

bool H2Session::Start(const std::string* upgrade_settings, bool head_request) {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &H2Callbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &H2Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &H2Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &H2Callbacks::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &H2Callbacks::OnStreamClose);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Rapid reset (CVE-2023-44487): a client resetting streams faster than this gets GOAWAY.
  nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 100);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  nghttp2_option_set_max_settings(opt, 64);
  const int rv = nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    session_ = nullptr;
    return false;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_bytes},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2) != 0) return false;
  // A larger connection window than the 64 KiB default: one slow stream's unread body must
  // not stall the others (each stream keeps its own 64 KiB window).
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16 << 20);
  if (upgrade_settings != nullptr) {
    if (nghttp2_session_upgrade2(session_,
                                 reinterpret_cast<const uint8_t*>(upgrade_settings->data()),
                                 upgrade_settings->size(), head_request ? 1 : 0, nullptr) != 0) {
      return false;
    }
    Stream& s = streams_[1];
    s.start_ns = MonotonicNowNs();
    s.request.stream_id = 1;
    s.delivered = true;  // the caller holds the HTTP/1.1 request that opened it
    ++awaiting_;
  }
  return true;
}

H2Session::Stream* H2Session::Find(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

bool H2Session::Awaiting(int32_t id) const {
  auto it = streams_.find(id);
  return it != streams_.end() && it->second.delivered && !it->second.answered;
}

void H2Session::Deliver(int32_t id, Stream& s) {
  s.delivered = true;
  ++awaiting_;
  H2Request req = std::move(s.request);
  req.stream_id = id;
  on_request_(std::move(req));  // may answer (and so touch streams_) at once
}

bool H2Session::Feed(std::string_view data) {
  if (failed_) return false;
  const ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (rv < 0) {
    failed_ = true;
    // nghttp2 queues GOAWAY itself for most errors; not for a bad preface, say. A second
    // GOAWAY is harmless.
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_PROTOCOL_ERROR, nullptr, 0);
    return false;
  }
  return true;
}

void H2Session::Respond(int32_t stream_id, int status, std::vector<H2Header> headers,
                        std::string body, std::vector<H2Header> trailers) {
  Stream* s = Find(stream_id);
  if (s == nullptr || !s->delivered || s->answered) return;
  s->answered = true;
  --awaiting_;
  std::string status_text = std::to_string(std::clamp(status, 100, 999));
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size() + 1);
  static char kStatus[] = ":status";
  nva.push_back({reinterpret_cast<uint8_t*>(kStatus),
                 reinterpret_cast<uint8_t*>(status_text.data()), sizeof(kStatus) - 1,
                 status_text.size(), NGHTTP2_NV_FLAG_NONE});
  for (auto& [name, value] : headers) {
    nva.push_back({reinterpret_cast<uint8_t*>(name.data()),
                   reinterpret_cast<uint8_t*>(value.data()), name.size(), value.size(),
                   NGHTTP2_NV_FLAG_NONE});
  }
  s->out = std::move(body);
  s->out_off = 0;
  s->trailers = std::move(trailers);
  int rv;
  if (s->out.empty() && s->trailers.empty()) {
    rv = nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(), nullptr);
  } else {
    nghttp2_data_provider provider{};
    provider.read_callback = &H2Callbacks::ReadBody;
    rv = nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(), &provider);
  }
  if (rv != 0) nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id,
                                         NGHTTP2_INTERNAL_ERROR);
}

void H2Session::Reset(int32_t stream_id, uint32_t error_code) {
  Stream* s = Find(stream_id);
  if (s == nullptr) return;
  if (s->delivered && !s->answered) {
    s->answered = true;
    --awaiting_;
  }
  s->delivered = true;  // nothing more is delivered for it
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

void H2Session::Shutdown() {
  if (session_ == nullptr) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void H2Session::TakeOutput(std::string* out, size_t max_bytes) {
  if (session_ == nullptr) return;
  while (out->size() < max_bytes) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;  // nothing more, or a fatal error (Finished() then says so)
    out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
}

bool H2Session::Finished() const {
  return session_ == nullptr ||
         (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0);
}

std::vector<std::pair<int32_t, int64_t>> H2Session::IncompleteStreams() const {
  std::vector<std::pair<int32_t, int64_t>> out;
  for (const auto& [id, s] : streams_) {
    if (!s.delivered) out.emplace_back(id, s.start_ns);
  }
  return out;
}

}  // namespace nightjar::gateway
