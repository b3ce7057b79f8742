// CallTable: every call the engine has accepted and not yet answered, by call id.
// Exactly-one-answer rests on Take(): whoever removes a record (completion, deadline,
// worker death, shutdown) is the one who answers it; everyone else finds nothing.
// Thread rule: all methods are safe from any thread (one short lock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/event_loop.h"
#include "proto/message.h"
#include "proto/trace.h"

namespace nightjar::engine {

// Answer to an external call: (the result: status, call id, timing, trace; output or error
// text). Called exactly once, on an engine I/O thread.
using ExternalDone = std::function<void(const proto::CallResult&, std::string)>;

struct CallRecord {
  uint64_t call_id = 0;
  uint32_t function_id = 0;
  ExternalDone external_done;      // set for external calls
  uint64_t caller_channel = 0;     // internal calls: the caller's channel
  uint32_t caller_function_id = 0; // internal calls: the caller's function (metrics)
  uint64_t callee_channel = 0;     // set once dispatched
  int64_t arrival_ns = 0;
  int64_t dispatched_ns = 0;  // when the DISPATCH went out (MarkDispatched); 0 = not yet
  int64_t deadline_ns = 0;
  uint64_t parent_span_id = 0;  // external calls: the traceparent's parent-id (0 = root);
                                // internal calls derive it from dispatch.parent_call_id
  io::EventLoop* timer_loop = nullptr;
  io::EventLoop::TimerId timer_id = 0;
  proto::Message dispatch;  // the DISPATCH message, payload attached; its trailer
                            // holds the call's trace id and flags
};

class CallTable {
 public:
  // False if the id is already present (a misbehaving worker reusing an id); *rec is
  // then left untouched for the caller to answer.
  bool Insert(std::unique_ptr<CallRecord>* rec);
  // Removes and returns the record; nullptr if absent (already answered).
  std::unique_ptr<CallRecord> Take(uint64_t call_id);
  // Take(), but only if the call was dispatched to `callee_channel` (a worker can only
  // complete the call it was given).
  std::unique_ptr<CallRecord> TakeIfCallee(uint64_t call_id, uint64_t callee_channel);
  // Copies the DISPATCH message out and records the callee; false if absent or if its
  // deadline has passed (the deadline timer answers it: expired calls never dispatch).
  bool MarkDispatched(uint64_t call_id, uint64_t callee_channel, int64_t now_ns,
                      proto::Message* out);
  // A call sent ahead to `callee_channel` came back (kDispatchReturned): it is not
  // dispatched any more. False if absent or dispatched elsewhere.
  bool MarkReturned(uint64_t call_id, uint64_t callee_channel);
  bool Contains(uint64_t call_id);
  std::vector<std::unique_ptr<CallRecord>> TakeAll();
  size_t size();

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, std::unique_ptr<CallRecord>> calls_;
};

}  // namespace nightjar::engine
