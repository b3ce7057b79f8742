// Names for wire enums (logs and error messages).
#include "proto/message.h"

namespace nightjar::proto {

const char* CallStatusName(CallStatus s) {
  switch (s) {
    case CallStatus::kOk: return "ok";
    case CallStatus::kFunctionError: return "function error";
    case CallStatus::kWorkerDied: return "worker died";
    case CallStatus::kTimeout: return "timeout";
    case CallStatus::kUnavailable: return "unavailable";
    case CallStatus::kNotFound: return "not found";
    case CallStatus::kTooLarge: return "payload too large";
    case CallStatus::kBadRequest: return "bad request";
    case CallStatus::kInternal: return "internal error";
  }
  return "unknown";
}

}  // namespace nightjar::proto
