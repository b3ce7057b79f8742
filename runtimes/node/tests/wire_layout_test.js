// Layout-drift test: Node's view of the wire protocol must be the C++ one.
//
//   node wire_layout_test.js <nightjar_wire_gen> <runtime dir holding nightjar/>
//
// Fails (exit 1, naming the field) when the runtime's generated nightjar/wire.js is not what
// the generator makes from today's src/proto, or when a message built by C++ with every
// header field distinct does not decode, field by field, to the values C++ put there, or
// re-encodes to other bytes. Run by the build and by ctest (runtimes/CMakeLists.txt).
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const [generator, runtimeDir] = process.argv.slice(2);
const W = require(path.join(runtimeDir, 'nightjar', 'wire.js'));
const P = require(path.join(runtimeDir, 'nightjar', 'protocol.js'));

const failures = [];
const fresh = execFileSync(generator, ['js'], { encoding: 'utf8' });
const wirePath = path.join(runtimeDir, 'nightjar', 'wire.js');
if (fs.readFileSync(wirePath, 'utf8') !== fresh) failures.push(`${wirePath} differs from \`${generator} js\`: delete it and rebuild (the build writes it only when the generator changes)`);

// Field values come as decimal strings, so 64-bit ones keep their precision.
const sample = JSON.parse(execFileSync(generator, ['sample'], { encoding: 'utf8' }));
const raw = Buffer.from(sample.hex, 'hex');
if (raw.length !== W.MESSAGE_SIZE) failures.push(`C++ message is ${raw.length} bytes, Node expects ${W.MESSAGE_SIZE}`);
const header = P.decodeHeader(raw);
for (const [name] of W.HEADER_FIELDS) {
  if (BigInt(header[name]) !== BigInt(sample.fields[name])) {
    failures.push(`field ${name}: Node reads ${header[name]}, C++ wrote ${sample.fields[name]}`);
  }
}
const missing = Object.keys(sample.fields).filter((n) => !W.HEADER_FIELDS.some(([f]) => f === n));
if (missing.length) failures.push(`fields C++ has and Node lacks: ${missing}`);
const fields = { ...header };
fields.send_ts_ns = undefined;
const reencoded = P.encode(fields, raw.subarray(W.HEADER_SIZE, W.HEADER_SIZE + header.payload_size));
reencoded.writeBigInt64LE(header.send_ts_ns, W.HEADER_FIELDS.find(([n]) => n === 'send_ts_ns')[1]);
if (!reencoded.subarray(0, W.HEADER_SIZE).equals(raw.subarray(0, W.HEADER_SIZE))) {
  failures.push('Node encodes the sample header to other bytes than C++');
}
const inline = { ...header, flags: header.flags & ~W.FLAG_PAYLOAD_IN_SHM };
if (!new P.IpcRoot('/x').takePayload(inline, raw, 0, false).equals(raw.subarray(W.HEADER_SIZE, W.HEADER_SIZE + header.payload_size))) {
  failures.push('inline payload is not read from where C++ put it');
}

const t = sample.trailer;
const trace = Buffer.concat([Buffer.from(t.trace_id, 'hex'), Buffer.from([t.trace_flags])]);
if (!P.traceOf(raw).equals(trace)) failures.push('trailer: Node reads another trace id or flags than C++ wrote');
if (raw.readUInt32LE(W.CHILD_WAIT_US_OFFSET) !== t.child_wait_us) failures.push('trailer: child_wait_us is not where C++ put it');
if (!P.makeTrailer(trace, t.child_wait_us).equals(raw.subarray(W.TRAILER_OFFSET))) {
  failures.push('trailer: Node encodes the sample trailer to other bytes than C++');
}

for (const f of failures) console.error(`wire layout drift: ${f}`);
if (!failures.length) console.log(`wire layout: Node matches C++ (${W.HEADER_FIELDS.length} header fields, ${W.MESSAGE_SIZE}-byte messages)`);
process.exit(failures.length ? 1 : 0);
