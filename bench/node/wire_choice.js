// How much the generated-code protocol costs Node.js per message (docs/runtimes.md, "Why
// generated code"): whatever a native (N-API) addon could save is at most this. Run with the
// build's runtime:
//
//   node bench/node/wire_choice.js build/release/runtimes/node
//
// Prints the median of 7 runs of each operation in microseconds, on this machine.
'use strict';

const path = require('path');
const fs = require('fs');

const P = require(path.resolve(process.argv[2] || 'build/release/runtimes/node', 'nightjar', 'protocol.js'));

function medianUs(fn, n) {
  const runs = [];
  for (let r = 0; r < 7; r += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i += 1) fn(i);
    runs.push(Number(process.hrtime.bigint() - start) / n / 1000);
  }
  runs.sort((a, b) => a - b);
  return runs[3];
}

const message = P.encode({ type: P.W.MSG_COMPLETE, call_id: 123n, status: 0 }, Buffer.alloc(100, 1));
const dir = fs.mkdtempSync('/tmp/nj-wire-choice-');
const [r, w] = (() => {
  const fifo = path.join(dir, 'f');
  require('child_process').execFileSync('mkfifo', [fifo]);
  const rd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const wr = fs.openSync(fifo, fs.constants.O_RDWR);
  return [rd, wr];
})();
const sink = Buffer.alloc(1024);
const rows = [
  ['generated: decode a header (13 fields, 5 of them BigInt)', () => P.decodeHeader(message), 200000],
  ['generated: encode a message (fields object -> 1024 bytes)',
    (i) => P.encode({ type: 5, call_id: BigInt(i), status: 0 }, sink.subarray(0, 0)), 100000],
  ['shared: FIFO write + read of one 1024-byte message (fs.writeSync, fs.readSync)',
    () => { fs.writeSync(w, message); fs.readSync(r, sink, 0, 1024, null); }, 50000],
];
for (const [what, fn, n] of rows) console.log(`${medianUs(fn, n).toFixed(3).padStart(7)} us  ${what}`);
fs.rmSync(dir, { recursive: true });
