// The worker side of Nightjar's wire protocol, for Node.js (docs/runtimes.md).
//
// Everything about the layout comes from ./wire.js, which the build generates from
// src/proto/message.h (runtimes/wire_gen.cc); this module only reads and writes Buffers with
// it, and reads and writes payload regions. Nothing here touches the event loop.
//
// A header is a plain object keyed by the field names of wire.HEADER_FIELDS: 64-bit fields
// are BigInt, the others Number.
'use strict';

const fs = require('fs');
const W = require('./wire');

const FIELDS = W.HEADER_FIELDS.map(([name, offset, size, signed]) => ({ name, offset, size, signed }));
const OFFSET = Object.fromEntries(FIELDS.map((f) => [f.name, f.offset]));
let covered = 0;
for (const f of FIELDS) covered += f.size;
if (covered !== W.HEADER_SIZE) throw new Error('generated header fields do not cover the header');

function read(buf, at, f) {
  switch (f.size) {
    case 2: return buf.readUInt16LE(at + f.offset);
    case 4: return buf.readUInt32LE(at + f.offset);
    default: return f.signed ? buf.readBigInt64LE(at + f.offset) : buf.readBigUInt64LE(at + f.offset);
  }
}

function write(buf, f, value) {
  switch (f.size) {
    case 2: buf.writeUInt16LE(value, f.offset); break;
    case 4: buf.writeUInt32LE(value, f.offset); break;
    default:
      if (f.signed) buf.writeBigInt64LE(BigInt(value), f.offset);
      else buf.writeBigUInt64LE(BigInt(value), f.offset);
  }
}

// The header of the message at buf[at .. at + MESSAGE_SIZE).
function decodeHeader(buf, at = 0) {
  const h = {};
  for (const f of FIELDS) h[f.name] = read(buf, at, f);
  return h;
}

const monotonicNs = () => process.hrtime.bigint();  // CLOCK_MONOTONIC, as the engine's

// One MESSAGE_SIZE-byte message: `fields` (missing ones are 0), an inline payload of at
// most INLINE_PAYLOAD_SIZE bytes (payload_size is set from it unless given) and a trailer
// (makeTrailer(); absent = zeros). send_ts_ns is stamped here, as ipc::WriteMessage does.
function encode(fields, payload, trailer) {
  const buf = Buffer.alloc(W.MESSAGE_SIZE);
  for (const f of FIELDS) {
    if (fields[f.name] !== undefined) write(buf, f, fields[f.name]);
  }
  if (fields.payload_size === undefined) buf.writeUInt32LE(payload ? payload.length : 0, OFFSET.payload_size);
  write(buf, FIELDS.find((f) => f.name === 'send_ts_ns'), monotonicNs());
  if (payload && payload.length) payload.copy(buf, W.HEADER_SIZE);
  if (trailer) trailer.copy(buf, W.TRAILER_OFFSET);
  return buf;
}

// The trailer (proto::MessageTrailer): trace id, flags, 3 reserved bytes, child_wait_us.
if (W.TRACE_ID_OFFSET !== W.TRAILER_OFFSET || W.TRACE_FLAGS_OFFSET !== W.TRAILER_OFFSET + 16 ||
    W.CHILD_WAIT_US_OFFSET !== W.TRAILER_OFFSET + 20 || W.TRAILER_SIZE !== 24) {
  throw new Error('generated trailer layout is not the one this module writes');
}
const NO_TRACE = Buffer.alloc(W.TRACE_ID_SIZE + 1);

// The trace id and flags (17 bytes) in the trailer of the message at buf[at ..].
function traceOf(buf, at = 0) {
  return Buffer.from(buf.subarray(at + W.TRACE_ID_OFFSET, at + W.TRACE_FLAGS_OFFSET + 1));
}

// A trailer: `trace` as traceOf() returns it, and a completion's child wait in us.
function makeTrailer(trace = NO_TRACE, childWaitUs = 0) {
  const t = Buffer.alloc(W.TRAILER_SIZE);
  trace.copy(t, 0, 0, W.TRACE_ID_SIZE + 1);
  t.writeUInt32LE(Math.min(childWaitUs, 0xffffffff), W.CHILD_WAIT_US_OFFSET - W.TRAILER_OFFSET);
  return t;
}

// proto::SpanIdFor: splitmix64's finalizer of callId XOR the trace id's last 8 bytes
// (big-endian), as a BigInt; 0 becomes 1.
function spanId(callId, traceId) {
  const u = (x) => BigInt.asUintN(64, x);
  let z = u((BigInt(callId) ^ traceId.readBigUInt64BE(8)) + 0x9e3779b97f4a7c15n);
  z = u((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = u((z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  z ^= z >> 31n;
  return z === 0n ? 1n : z;
}

// The W3C traceparent (Trace Context §3.2) of call `callId` in `trace` (traceOf()), with
// the call's own span id as parent-id.
function traceparent(trace, callId) {
  const traceId = trace.subarray(0, W.TRACE_ID_SIZE);
  const flags = trace[W.TRACE_ID_SIZE].toString(16).padStart(2, '0');
  return `00-${traceId.toString('hex')}-${spanId(callId, traceId).toString(16).padStart(16, '0')}-${flags}`;
}

// proto::CallId::Make with method 0, as a BigInt.
function makeCallId(functionId, clientId, counter) {
  return (BigInt(functionId & W.CALL_ID_MAX_FUNCTION) << BigInt(W.CALL_ID_FUNCTION_SHIFT)) |
    (BigInt(clientId & W.CALL_ID_MAX_CLIENT) << BigInt(W.CALL_ID_CLIENT_SHIFT)) |
    BigInt(counter >>> 0);
}

class ProtocolError extends Error {}

// Paths inside an engine's instance directory (ipc::IpcRoot). The generated templates use
// Python's str.format syntax: {channel} decimal, {call_id:016x} 16 hex digits.
class IpcRoot {
  constructor(dir) { this.dir = dir.replace(/\/+$/, ''); }

  fifo(channel, output) {
    return this.dir + (output ? W.FIFO_OUTPUT_PATH : W.FIFO_INPUT_PATH).replace('{channel}', String(channel));
  }

  payload(callId, output) {
    const hex = BigInt(callId).toString(16).padStart(16, '0');
    return this.dir + (output ? W.PAYLOAD_OUTPUT_PATH : W.PAYLOAD_INPUT_PATH).replace('{call_id:016x}', hex);
  }

  // The function directory: name -> function id. Throws on a malformed file.
  functions() {
    const out = new Map();
    for (const line of fs.readFileSync(this.dir + W.FUNCTION_DIRECTORY_PATH, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const space = line.indexOf(' ');
      const id = Number(line.slice(0, space));
      if (space < 1 || !Number.isInteger(id)) throw new ProtocolError(`bad function directory line ${JSON.stringify(line)}`);
      out.set(line.slice(space + 1).trim(), id);
    }
    return out;
  }

  // The payload of the message at buf[at ..]: inline, or its region's contents (the region
  // is deleted: the consumer deletes). Throws ProtocolError or a system error.
  takePayload(h, buf, at, output) {
    const size = h.payload_size;
    if (!(h.flags & W.FLAG_PAYLOAD_IN_SHM)) {
      if (size > W.INLINE_PAYLOAD_SIZE) throw new ProtocolError('inline payload size out of range');
      return Buffer.from(buf.subarray(at + W.HEADER_SIZE, at + W.HEADER_SIZE + size));
    }
    const path = this.payload(h.call_id, output);
    const data = fs.readFileSync(path);
    fs.unlinkSync(path);
    if (data.length !== size) throw new ProtocolError(`payload region ${path} does not match its message's size`);
    return data;
  }

  // Deletes a call's region of the given kind, if any. Never throws.
  removePayload(callId, output) {
    try { fs.unlinkSync(this.payload(callId, output)); } catch (e) { /* already gone */ }
  }

  // The inline bytes to send with `fields`; a payload over INLINE_PAYLOAD_SIZE is written to
  // its region first (created once: O_EXCL) and flagged. fields.call_id must be set.
  attachPayload(fields, payload, output) {
    fields.payload_size = payload.length;
    if (payload.length <= W.INLINE_PAYLOAD_SIZE) return payload;
    const path = this.payload(fields.call_id, output);
    try {
      fs.writeFileSync(path, payload, { flag: 'wx', mode: 0o600 });
    } catch (e) {
      if (e.code !== 'EEXIST') this.removePayload(fields.call_id, output);
      throw e;
    }
    fields.flags = (fields.flags || 0) | W.FLAG_PAYLOAD_IN_SHM;
    return Buffer.alloc(0);
  }
}

module.exports = {
  W, FIELDS, decodeHeader, encode, makeCallId, monotonicNs, IpcRoot, ProtocolError,
  NO_TRACE, traceOf, makeTrailer, spanId, traceparent,
};
