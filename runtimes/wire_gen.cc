// wire_gen: writes a language runtime's view of the worker protocol from its single
// definition (src/proto/message.h for messages and call ids, src/ipc/ipc_root.h for the
// names of FIFOs and payload regions), so no runtime carries a hand-written copy of the
// layout (CONVENTIONS.md, "One definition, many languages"; docs/runtimes.md).
//
//   nightjar_wire_gen python > nightjar/_wire.py   the Python module
//   nightjar_wire_gen js > nightjar/wire.js        the Node.js (CommonJS) module
//   nightjar_wire_gen go > nightjar/wire.go        the Go package's (unexported) constants
//   nightjar_wire_gen sample                       one message with every header and trailer
//                                                  field set to a distinct value, as JSON: the
//                                                  layout-drift test decodes and re-encodes
//                                                  it with the runtime's code
//
// Exit status 2 on a bad argument. Build-time tool: not linked into nightjar.
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ipc/ipc_root.h"
#include "proto/log_frame.h"
#include "proto/message.h"

namespace {

using nightjar::proto::CallId;
using nightjar::proto::CallStatus;
using nightjar::proto::Message;
using nightjar::proto::MessageHeader;
using nightjar::proto::MessageType;

struct Field {
  const char* name;
  size_t offset;
  size_t size;
  bool is_signed;
};

#define NJ_FIELD(f)                                           \
  Field {                                                     \
#f, offsetof(MessageHeader, f), sizeof(MessageHeader::f), \
        std::is_signed_v < decltype(MessageHeader::f)>        \
  }

// Every header field, in offset order. A field added to MessageHeader without a line here
// breaks the coverage check in main(); a renamed or retyped one changes what is emitted.
const Field kFields[] = {
    NJ_FIELD(type),        NJ_FIELD(flags),          NJ_FIELD(status),
    NJ_FIELD(worker_id),   NJ_FIELD(payload_size),   NJ_FIELD(processing_us),
    NJ_FIELD(call_id),     NJ_FIELD(parent_call_id), NJ_FIELD(send_ts_ns),
    NJ_FIELD(deadline_ns), NJ_FIELD(reply_channel),  NJ_FIELD(dispatch_delay_us),
    NJ_FIELD(off_cpu_us),
};

struct Constant {
  const char* name;
  uint64_t value;
};

const Constant kMessageTypes[] = {
    {"WORKER_HELLO", uint64_t(MessageType::kWorkerHello)},
    {"WORKER_WELCOME", uint64_t(MessageType::kWorkerWelcome)},
    {"DISPATCH", uint64_t(MessageType::kDispatch)},
    {"INVOKE", uint64_t(MessageType::kInvoke)},
    {"COMPLETE", uint64_t(MessageType::kComplete)},
    {"COMPLETE_NOTICE", uint64_t(MessageType::kCompleteNotice)},
    {"START_WORKER", uint64_t(MessageType::kStartWorker)},
    {"STOP_WORKER", uint64_t(MessageType::kStopWorker)},
};

const CallStatus kStatuses[] = {
    CallStatus::kOk,       CallStatus::kFunctionError, CallStatus::kWorkerDied,
    CallStatus::kTimeout,  CallStatus::kUnavailable,   CallStatus::kNotFound,
    CallStatus::kTooLarge, CallStatus::kBadRequest,    CallStatus::kInternal,
};

// "worker died" -> "WORKER_DIED".
std::string ConstantName(std::string_view words) {
  std::string out;
  for (char c : words) out += c == ' ' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

// Python's struct code for a little-endian integer of this size and signedness.
char StructCode(const Field& f) {
  switch (f.size) {
    case 2:
      return f.is_signed ? 'h' : 'H';
    case 4:
      return f.is_signed ? 'i' : 'I';
    case 8:
      return f.is_signed ? 'q' : 'Q';
  }
  std::fprintf(stderr, "wire_gen: field %s has unsupported size %zu\n", f.name, f.size);
  std::exit(2);
}

// An IpcRoot path with `sentinel` printed in it, turned into a Python format string with
// `placeholder` where the sentinel was. Exits if the sentinel is not found (the path's
// format changed in a way this generator does not understand).
std::string PathTemplate(const std::string& path, const std::string& sentinel,
                         const std::string& placeholder) {
  const size_t at = path.find(sentinel);
  if (at == std::string::npos || path.find(sentinel, at + 1) != std::string::npos) {
    std::fprintf(stderr, "wire_gen: cannot derive a template from %s\n", path.c_str());
    std::exit(2);
  }
  return path.substr(0, at) + placeholder + path.substr(at + sentinel.size());
}

// How a language writes the few kinds of definitions the protocol needs. Python,
// JavaScript (CommonJS) and Go today; a language is one more Syntax.
struct Syntax {
  const char* comment;       // line comment prefix
  const char* preamble;      // printed after the top comment (Go's package clause)
  bool lower_camel;          // names as lowerCamelCase (Go: unexported), not UPPER_SNAKE
  const char* assign;        // printf format of "name = value" with %s, %s
  const char* fields_open;   // the header field table: opener,
  const char* field_row;     //   one row: name, offset, size, signed (%s %zu %zu %s),
  const char* fields_close;  //   closer
  const char* names_open;    // status value -> name table: opener,
  const char* names_row;     //   one row: value, name (%u, %s),
  const char* names_close;   //   closer
};

constexpr Syntax kPython = {"#",
                            "",
                            false,
                            "%s = %s\n",
                            "HEADER_FIELDS = (\n",
                            "    (\"%s\", %zu, %zu),\n",
                            ")\n",
                            "STATUS_NAMES = {\n",
                            "    %u: \"%s\",\n",
                            "}\n"};
constexpr Syntax kJavaScript = {"//",
                                "",
                                false,
                                "exports.%s = %s;\n",
                                "exports.HEADER_FIELDS = [\n",
                                "  [\"%s\", %zu, %zu, %s],\n",
                                "];\n",
                                "exports.STATUS_NAMES = {\n",
                                "  %u: \"%s\",\n",
                                "};\n"};

// Go: the table and type of a header field row; statusNames maps CallStatus to its name.
constexpr Syntax kGo = {"//",
                        "package nightjar\n\n",
                        true,
                        "const %s = %s\n",
                        "var headerFields = [...]wireField{\n",
                        "\t{\"%s\", %zu, %zu, %s},\n",
                        "}\n",
                        "var statusNames = map[uint16]string{\n",
                        "\t%u: \"%s\",\n",
                        "}\n"};

// "MSG_WORKER_HELLO" -> "msgWorkerHello".
std::string LowerCamel(const std::string& name) {
  std::string out;
  bool upper_next = false;
  for (char c : name) {
    if (c == '_') {
      upper_next = !out.empty();
      continue;
    }
    const char lower = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    out += upper_next && lower >= 'a' && lower <= 'z' ? static_cast<char>(lower - 32) : lower;
    upper_next = false;
  }
  return out;
}

void Assign(const Syntax& syntax, const std::string& name, const std::string& value) {
  const std::string n = syntax.lower_camel ? LowerCamel(name) : name;
  std::printf(syntax.assign, n.c_str(), value.c_str());
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

void Emit(const Syntax& syntax, const char* language) {
  const char* c = syntax.comment;
  std::printf("%s The worker protocol as %s sees it. GENERATED at build time by\n", c, language);
  std::printf(
      "%s runtimes/wire_gen.cc from src/proto/message.h and src/ipc/ipc_root.h: do not edit.\n", c);
  std::printf(
      "%s docs/protocol.md explains every field; docs/runtimes.md how runtimes use them.\n\n", c);
  std::printf("%s", syntax.preamble);
  Assign(syntax, "MESSAGE_SIZE", std::to_string(nightjar::proto::kMessageSize));
  Assign(syntax, "HEADER_SIZE", std::to_string(nightjar::proto::kHeaderSize));
  Assign(syntax, "INLINE_PAYLOAD_SIZE", std::to_string(nightjar::proto::kInlinePayloadSize));
  Assign(syntax, "PROTOCOL_VERSION", std::to_string(nightjar::proto::kProtocolVersion));
  std::printf("%s The trailer (proto::MessageTrailer): offsets from the message's start.\n", c);
  using nightjar::proto::MessageTrailer;
  const size_t trailer = offsetof(Message, trailer);
  Assign(syntax, "TRAILER_SIZE", std::to_string(sizeof(MessageTrailer)));
  Assign(syntax, "TRAILER_OFFSET", std::to_string(trailer));
  Assign(syntax, "TRACE_ID_OFFSET", std::to_string(trailer + offsetof(MessageTrailer, trace_id)));
  Assign(syntax, "TRACE_ID_SIZE", std::to_string(sizeof(MessageTrailer::trace_id)));
  Assign(syntax, "TRACE_FLAGS_OFFSET",
         std::to_string(trailer + offsetof(MessageTrailer, trace_flags)));
  Assign(syntax, "CHILD_WAIT_US_OFFSET",
         std::to_string(trailer + offsetof(MessageTrailer, child_wait_us)));

  std::printf("\n%s Each header field, in offset order: name, offset, size in bytes (and, for\n",
              c);
  std::printf("%s languages without a struct format, whether it is signed); little-endian.\n", c);
  std::printf("%s", syntax.fields_open);
  std::string format = "<";
  for (const Field& f : kFields) {
    // Python's row has no signedness (its struct format below carries it): it ignores the
    // last argument.
    std::printf(syntax.field_row, f.name, f.offset, f.size, f.is_signed ? "true" : "false");
    format += StructCode(f);
  }
  std::printf("%s", syntax.fields_close);
  std::printf("%s The same as a Python struct format.\n", c);
  Assign(syntax, "HEADER_FORMAT", Quoted(format));
  std::printf("\n");

  Assign(syntax, "FLAG_PAYLOAD_IN_SHM", std::to_string(nightjar::proto::kFlagPayloadInShm));
  Assign(syntax, "FLAG_OFF_CPU_MEASURED", std::to_string(nightjar::proto::kFlagOffCpuMeasured));
  std::printf("\n");
  for (const Constant& k : kMessageTypes) {
    Assign(syntax, std::string("MSG_") + k.name, std::to_string(k.value));
  }
  std::printf("\n%s CallStatus values and their names (proto::CallStatusName).\n", c);
  for (CallStatus st : kStatuses) {
    Assign(syntax, "STATUS_" + ConstantName(nightjar::proto::CallStatusName(st)),
           std::to_string(static_cast<unsigned>(st)));
  }
  std::printf("%s", syntax.names_open);
  for (CallStatus st : kStatuses) {
    std::printf(syntax.names_row, static_cast<unsigned>(st), nightjar::proto::CallStatusName(st));
  }
  std::printf("%s\n", syntax.names_close);

  std::printf("%s Call id layout (proto::CallId): function | method | client | counter.\n", c);
  Assign(syntax, "CALL_ID_FUNCTION_SHIFT",
         std::to_string(CallId::kMethodBits + CallId::kClientBits + CallId::kCounterBits));
  Assign(syntax, "CALL_ID_CLIENT_SHIFT", std::to_string(CallId::kCounterBits));
  Assign(syntax, "CALL_ID_MAX_FUNCTION", std::to_string(CallId::kMaxFunctionId));
  Assign(syntax, "CALL_ID_MAX_CLIENT", std::to_string(CallId::kMaxClientId));
  Assign(syntax, "CALL_ID_COUNTER_MASK", std::to_string((uint64_t{1} << CallId::kCounterBits) - 1));
  std::printf("\n");

  std::printf("%s Log frames (proto/log_frame.h): chr(LOG_FRAME_START) + LOG_FRAME_TAG + \" \" +\n",
              c);
  std::printf("%s 16-hex call id + \" \" + worker id + \" \" + body length + \"\\n\" + body.\n", c);
  Assign(syntax, "LOG_FRAME_START", std::to_string(int(nightjar::proto::kLogFrameStart)));
  Assign(syntax, "LOG_FRAME_TAG", Quoted(std::string(nightjar::proto::kLogFrameTag)));
  std::printf("\n");

  // Paths inside an instance directory, relative to it, as templates in Python's
  // str.format syntax: {channel} is decimal, {call_id:016x} 16 lower-case hex digits.
  const auto root = nightjar::ipc::IpcRoot::Attach("");
  using nightjar::ipc::FifoEnd;
  using nightjar::ipc::PayloadKind;
  constexpr uint64_t kChannel = 987654321;
  constexpr uint64_t kCallId = 0x0123456789abcdefull;
  std::printf("%s Paths relative to the instance directory (ipc::IpcRoot); {channel} is decimal,\n",
              c);
  std::printf("%s {call_id:016x} 16 lower-case hex digits (Python's str.format syntax).\n", c);
  Assign(syntax, "FIFO_INPUT_PATH",
         Quoted(PathTemplate(root.FifoPath(kChannel, FifoEnd::kWorkerInput), "987654321",
                             "{channel}")));
  Assign(syntax, "FIFO_OUTPUT_PATH",
         Quoted(PathTemplate(root.FifoPath(kChannel, FifoEnd::kWorkerOutput), "987654321",
                             "{channel}")));
  Assign(syntax, "PAYLOAD_INPUT_PATH",
         Quoted(PathTemplate(root.PayloadPath(kCallId, PayloadKind::kInput), "0123456789abcdef",
                             "{call_id:016x}")));
  Assign(syntax, "PAYLOAD_OUTPUT_PATH",
         Quoted(PathTemplate(root.PayloadPath(kCallId, PayloadKind::kOutput), "0123456789abcdef",
                             "{call_id:016x}")));
  Assign(syntax, "FUNCTION_DIRECTORY_PATH", Quoted(root.FunctionDirectoryPath()));
}

// One message whose header fields all differ (and differ in every byte that matters), and
// whose payload is the first payload_size bytes of a pattern, as JSON: {"fields": {name:
// "decimal value"}, "hex": "<the 1024 bytes>"}.
void EmitSample() {
  Message m = nightjar::proto::MakeMessage(MessageType::kComplete);
  auto* raw = reinterpret_cast<unsigned char*>(&m.header);
  // Field i gets bytes 0x11*(i+1), 0x11*(i+1)+1, ...: distinct per field and per byte.
  for (size_t i = 0; i < std::size(kFields); ++i) {
    for (size_t b = 0; b < kFields[i].size; ++b) {
      raw[kFields[i].offset + b] = static_cast<unsigned char>(0x10 * (i + 1) + b);
    }
  }
  m.header.payload_size = 300;
  for (size_t i = 0; i < nightjar::proto::kInlinePayloadSize; ++i) {
    m.payload[i] = static_cast<uint8_t>(i * 7);
  }
  for (size_t i = 0; i < sizeof(m.trailer.trace_id); ++i) {
    m.trailer.trace_id[i] = static_cast<uint8_t>(0xa0 + i);
  }
  m.trailer.trace_flags = 0x5b;
  m.trailer.child_wait_us = 0x0c0d0e0f;
  std::printf("{\"fields\": {");
  for (size_t i = 0; i < std::size(kFields); ++i) {
    const Field& f = kFields[i];
    uint64_t u = 0;
    std::memcpy(&u, raw + f.offset, f.size);
    std::string value = std::to_string(u);
    if (f.is_signed && f.size == 8) value = std::to_string(static_cast<int64_t>(u));
    // As strings: JSON numbers lose 64-bit precision in JavaScript.
    std::printf("%s\"%s\": \"%s\"", i ? ", " : "", f.name, value.c_str());
  }
  std::printf("}, \"trailer\": {\"trace_id\": \"");
  for (uint8_t b : m.trailer.trace_id) std::printf("%02x", b);
  std::printf("\", \"trace_flags\": %u, \"child_wait_us\": %u", m.trailer.trace_flags,
              m.trailer.child_wait_us);
  std::printf("}, \"hex\": \"");
  const auto* bytes = reinterpret_cast<const unsigned char*>(&m);
  for (size_t i = 0; i < sizeof(m); ++i) std::printf("%02x", bytes[i]);
  std::printf("\"}\n");
}

}  // namespace

int main(int argc, char** argv) {
  size_t covered = 0;
  for (size_t i = 0; i < std::size(kFields); ++i) {
    if (kFields[i].offset != covered) {
      std::fprintf(stderr, "wire_gen: header field %s is not where the table expects\n",
                   kFields[i].name);
      return 2;
    }
    covered += kFields[i].size;
  }
  if (covered != sizeof(MessageHeader)) {
    std::fprintf(stderr, "wire_gen: the field table covers %zu of %zu header bytes\n", covered,
                 sizeof(MessageHeader));
    return 2;
  }
  const std::string_view what = argc == 2 ? argv[1] : "";
  if (what == "python") {
    Emit(kPython, "Python");
  } else if (what == "js") {
    Emit(kJavaScript, "JavaScript (Node.js)");
  } else if (what == "go") {
    Emit(kGo, "Go");
  } else if (what == "sample") {
    EmitSample();
  } else {
    std::fprintf(stderr, "usage: nightjar_wire_gen python|js|go|sample\n");
    return 2;
  }
  return std::ferror(stdout) ? 1 : 0;
}
