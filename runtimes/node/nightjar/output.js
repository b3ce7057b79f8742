// console.* inside a call, tagged with the call's id (docs/operations.md, "Function logs").
//
// The process's fd 1 and fd 2 are pipes the engine reads (src/engine/log_capture.h).
// install() wraps console.log/info/debug (stdout) and console.warn/error (stderr): while a
// call runs -- the runtime runs each handler inside an AsyncLocalStorage context, which
// its promises, timers and callbacks inherit -- each call's line goes out as one log frame
// (src/proto/log_frame.h) carrying the call id. Outside a call console.* behaves as
// before, untagged; so does process.stdout.write / process.stderr.write everywhere.
'use strict';

const { AsyncLocalStorage } = require('async_hooks');
const fs = require('fs');
const util = require('util');
const W = require('./wire');

const currentCall = new AsyncLocalStorage();  // store: { callId: BigInt, workerId: number }
const PREFIX = String.fromCharCode(W.LOG_FRAME_START) + W.LOG_FRAME_TAG + ' ';

function writeAll(fd, buf) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;  // libuv may have made the pipe non-blocking
      return;  // the engine is gone: output is best effort
    }
  }
}

function frame(callId, workerId, text) {
  const body = Buffer.from(text, 'utf8');
  const head = `${PREFIX}${callId.toString(16).padStart(16, '0')} ${workerId} ${body.length}\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

let installed = false;

function install() {
  if (installed) return;
  installed = true;
  for (const [name, fd] of [['log', 1], ['info', 1], ['debug', 1], ['warn', 2], ['error', 2]]) {
    const original = console[name];
    console[name] = function tagged(...args) {
      const tag = currentCall.getStore();
      if (!tag) return original.apply(console, args);
      writeAll(fd, frame(tag.callId, tag.workerId, util.format(...args) + '\n'));
      return undefined;
    };
  }
}

// Runs fn() with console output tagged as call `callId` of slot `workerId`.
function runTagged(callId, workerId, fn) {
  return currentCall.run({ callId, workerId }, fn);
}

module.exports = { install, runTagged, frame };
