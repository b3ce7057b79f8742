// FramedConnection: a StreamConnection that speaks the engine-link framing
// (proto/link_frame.h): it cuts the byte stream into frames and hands each to OnFrame(),
// and closes the connection on a malformed one. Base of both ends of the gateway <->
// engine link. Thread rule: as StreamConnection (owning loop only).
#pragma once

#include <string>
#include <string_view>

#include "io/stream_connection.h"
#include "proto/link_frame.h"

namespace nightjar::io {

class FramedConnection : public StreamConnection {
 public:
  using StreamConnection::StreamConnection;

  void SendFrame(const proto::MessageHeader& header, std::string_view payload) {
    std::string frame;
    proto::AppendFrame(header, payload, &frame);
    Send(frame);
  }
  // One frame whose payload is `prefix` then `payload` (proto/link_frame.h).
  void SendFrame(const proto::MessageHeader& header, std::string_view prefix,
                 std::string_view payload) {
    std::string frame;
    proto::AppendFrame(header, prefix, payload, &frame);
    Send(frame);
  }

 protected:
  // One complete frame; may Close() the connection.
  virtual void OnFrame(proto::Frame& frame) = 0;

  void OnData(std::string* in) final {
    size_t off = 0;
    proto::Frame f;
    for (;;) {
      proto::FrameStatus st = proto::TakeFrame(in, &off, &f);
      if (st == proto::FrameStatus::kNeedMore) break;
      if (st == proto::FrameStatus::kBad) {
        Close();  // a frame over the size limit: the peer is broken
        return;
      }
      OnFrame(f);
      if (closed()) return;
    }
    in->erase(0, off);
  }
};

}  // namespace nightjar::io
