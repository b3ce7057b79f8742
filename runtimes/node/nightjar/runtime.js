// The Node.js runtime process: many worker slots on Node's own event loop.
//
// The launcher (src/launcher/launcher.cc) starts this process with a control pipe (its read
// end on --control-fd) and sends it START_WORKER / STOP_WORKER messages, one per slot. Each
// slot is a worker as far as the engine can tell: its own FIFO pair, worker id and call-id
// counter, one call at a time. docs/runtimes.md describes the protocol; docs/protocol.md
// every message. Everything runs on the event loop's thread.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const {
  W, decodeHeader, encode, makeCallId, monotonicNs, IpcRoot, ProtocolError, NO_TRACE, traceOf, makeTrailer,
} = require('./protocol');
const { Context, InvokeError } = require('./api');
const output = require('./output');

const { O_RDWR, O_WRONLY, O_NONBLOCK } = fs.constants;
const MESSAGE = W.MESSAGE_SIZE;
const U32_MAX = 0xFFFFFFFF;

function log(message) {
  process.stderr.write(`nightjar node runtime (pid ${process.pid}): ${message}\n`);
}

// A stream of whole messages out of chunks of any size.
class MessageSplitter {
  constructor(onMessage) {
    this.rest = null;
    this.onMessage = onMessage;
  }

  push(chunk) {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const end = data.length - (data.length % MESSAGE);
    for (let at = 0; at < end; at += MESSAGE) this.onMessage(decodeHeader(data, at), data, at);
    this.rest = end < data.length ? Buffer.from(data.subarray(end)) : null;
  }
}

function toBuffer(result) {
  if (Buffer.isBuffer(result)) return result;
  if (typeof result === 'string') return Buffer.from(result, 'utf8');
  if (result === undefined || result === null) return Buffer.alloc(0);
  if (result instanceof Uint8Array) return Buffer.from(result.buffer, result.byteOffset, result.byteLength);
  throw new TypeError(`handler returned ${typeof result}; expected a Buffer, string or nothing`);
}

// The 502 message of an error that escaped a handler: "Name: message".
function describe(error) {
  if (error instanceof InvokeError) return error.calleeMessage || error.message;
  if (error instanceof Error) return error.message ? `${error.name}: ${error.message}` : error.name;
  return String(error);
}

class Slot {
  constructor(runtime, channel, workerId) {
    this.runtime = runtime;
    this.channel = channel;
    this.workerId = workerId;
    this.counter = 0;
    this.current = null;   // the running call
    this.pending = [];     // DISPATCHes sent ahead (the engine's prefetch)
    this.state = undefined;
    this.closed = false;
    this.reader = null;
    this.outFd = -1;
  }

  // Opens the FIFOs and says hello. Throws on a system error.
  open() {
    const root = this.runtime.root;
    // O_RDWR on our input, as the C++ worker host: open() does not wait for a writer and
    // reads never see EOF while callers come and go. libuv reads it as a pipe.
    const inFd = fs.openSync(root.fifo(this.channel, false), O_RDWR | O_NONBLOCK);
    // O_RDWR on our output too: it opens without waiting and stays blocking, so a message
    // is written whole (1024 <= PIPE_BUF) or the loop waits for the engine to drain.
    this.outFd = fs.openSync(root.fifo(this.channel, true), O_RDWR);
    const version = Buffer.alloc(4);
    version.writeUInt32LE(W.PROTOCOL_VERSION);
    this.write(encode({ type: W.MSG_WORKER_HELLO, worker_id: this.workerId, reply_channel: this.channel,
      call_id: process.pid }, version));
    const splitter = new MessageSplitter((h, buf, at) => this.onMessage(h, buf, at));
    this.reader = new net.Socket({ fd: inFd, readable: true, writable: false });
    this.reader.on('data', (chunk) => splitter.push(chunk));
    this.reader.on('error', (e) => log(`slot ${this.workerId}: input: ${e.message}`));
  }

  // Stops reading and closes the FIFOs. Idempotent.
  close() {
    if (this.closed) return;
    this.closed = true;
    if (this.reader) this.reader.destroy();
    if (this.outFd >= 0) fs.closeSync(this.outFd);
    if (this.current) this.current.done = true;
  }

  onMessage(h, buf, at) {
    switch (h.type) {
      case W.MSG_DISPATCH:
        if (this.current) this.pending.push([h, buf, at]);
        else this.start(h, buf, at);
        break;
      case W.MSG_COMPLETE:
        this.onComplete(h, buf, at);
        break;
      case W.MSG_WORKER_WELCOME:
        this.counter = Number(h.call_id & BigInt(W.CALL_ID_COUNTER_MASK));
        break;
      default:
        log(`slot ${this.workerId}: unexpected message type ${h.type}`);
    }
  }

  // A child call finished: settle the invoke waiting for it, or drop a late answer.
  onComplete(h, buf, at) {
    const call = this.current;
    const child = call ? call.children.get(h.call_id) : undefined;
    if (!child) {
      if (h.flags & W.FLAG_PAYLOAD_IN_SHM) this.runtime.root.removePayload(h.call_id, true);
      return;
    }
    this.childEnded(call, h.call_id);
    let output;
    try {
      output = this.runtime.root.takePayload(h, buf, at, true);
    } catch (e) {
      child.reject(new InvokeError(W.STATUS_INTERNAL_ERROR, e.message));
      return;
    }
    if (h.status === W.STATUS_OK) child.resolve(output);
    else child.reject(new InvokeError(h.status, output.toString('utf8')));
  }

  start(h, buf, at) {
    const call = { header: h, startNs: monotonicNs(), children: new Map(), done: false, timer: null,
      trace: traceOf(buf, at), childNs: 0n, childSince: 0n };
    this.current = call;
    const deadline = h.deadline_ns;
    if (deadline !== 0n && call.startNs >= deadline) {
      // Sent ahead while the previous call ran, and expired meanwhile.
      if (h.flags & W.FLAG_PAYLOAD_IN_SHM) this.runtime.root.removePayload(h.call_id, false);
      this.finish(call, W.STATUS_TIMEOUT, Buffer.from('deadline exceeded before the call started'));
      return;
    }
    let input;
    try {
      input = this.runtime.root.takePayload(h, buf, at, false);
    } catch (e) {
      this.finish(call, W.STATUS_INTERNAL_ERROR, Buffer.from(`worker could not read the call's input: ${e.message}`));
      return;
    }
    let result;
    try {
      // console.* in the handler, and in everything it starts, is tagged with the call.
      result = output.runTagged(h.call_id, this.workerId,
        () => this.runtime.handler(new Context(this, call), input));
    } catch (e) {
      this.finish(call, W.STATUS_FUNCTION_ERROR, Buffer.from(describe(e)));
      return;
    }
    if (!result || typeof result.then !== 'function') {
      this.settle(call, result);
      return;
    }
    if (deadline !== 0n) {
      // A promise cannot be cancelled: at the deadline the call is answered (the engine has
      // answered the caller already) and the slot is free; a late result is dropped.
      const ms = Math.max(0, Number(deadline - call.startNs) / 1e6);
      call.timer = setTimeout(() => this.finish(call, W.STATUS_TIMEOUT, Buffer.from('deadline exceeded')), ms);
    }
    result.then((value) => this.settle(call, value),
      (e) => this.finish(call, W.STATUS_FUNCTION_ERROR, Buffer.from(describe(e))));
  }

  settle(call, value) {
    let body;
    try {
      body = toBuffer(value);
    } catch (e) {
      this.finish(call, W.STATUS_FUNCTION_ERROR, Buffer.from(describe(e)));
      return;
    }
    this.finish(call, W.STATUS_OK, body);
  }

  // Sends COMPLETE for `call` (once), then starts the next prefetched call, if any.
  finish(call, status, body) {
    if (call.done) return;
    call.done = true;
    if (call.timer) clearTimeout(call.timer);
    const runtime = this.runtime;
    const h = call.header;
    if (status === W.STATUS_OK && body.length > runtime.maxPayload) {
      status = W.STATUS_PAYLOAD_TOO_LARGE;
      body = Buffer.from("output exceeds the function's payload limit");
    }
    const now = monotonicNs();
    const fields = {
      type: W.MSG_COMPLETE,
      call_id: h.call_id,
      parent_call_id: h.parent_call_id,
      worker_id: this.workerId,
      status,
      processing_us: Math.min(Number((now - call.startNs) / 1000n), U32_MAX),
      dispatch_delay_us: Math.min(Math.max(0, Number((call.startNs - h.send_ts_ns) / 1000n)), U32_MAX),
    };
    let inline;
    try {
      inline = runtime.root.attachPayload(fields, body, true);
    } catch (e) {
      fields.status = W.STATUS_INTERNAL_ERROR;
      fields.flags = 0;
      inline = Buffer.from(`worker could not write the call's output: ${e.message}`).subarray(0, W.INLINE_PAYLOAD_SIZE);
      fields.payload_size = inline.length;
    }
    if (call.children.size) call.childNs += now - call.childSince;
    const trailer = makeTrailer(NO_TRACE, Number(call.childNs / 1000n));
    const message = encode(fields, inline, trailer);
    // Invokes still running are abandoned: their answers are dropped on arrival and their
    // promises rejected, so nothing waits forever.
    for (const child of call.children.values()) {
      child.reject(new InvokeError(W.STATUS_UNAVAILABLE, 'the call that made this invoke has finished'));
    }
    call.children.clear();
    if (this.current === call) this.current = null;
    if (this.closed) return;
    const reply = h.reply_channel;
    if (reply !== 0n && runtime.sendToCaller(reply, message)) {
      // Hop 3 done; the engine only needs the accounting copy.
      fields.type = W.MSG_COMPLETE_NOTICE;
      fields.flags = (fields.flags || 0) & ~W.FLAG_PAYLOAD_IN_SHM;
      fields.payload_size = 0;
      this.write(encode(fields, undefined, trailer));
    } else {
      this.write(message);
    }
    if (!this.current && this.pending.length) this.start(...this.pending.shift());
  }

  // A child left call.children: the time since the first of a run of children started is
  // added when the last ends.
  childEnded(call, callId) {
    call.children.delete(callId);
    if (call.children.size === 0) call.childNs += monotonicNs() - call.childSince;
  }

  write(message) {
    try {
      fs.writeSync(this.outFd, message);
    } catch (e) {
      log(`slot ${this.workerId}: write to the engine failed: ${e.message}`);
    }
  }

  invoke(call, name, data) {
    const runtime = this.runtime;
    if (call.done) return Promise.reject(new InvokeError(W.STATUS_UNAVAILABLE, 'the call has finished'));
    let input;
    try {
      input = data === undefined || data === null ? Buffer.alloc(0) : toBuffer(data);
    } catch (e) {
      return Promise.reject(e);
    }
    const fid = runtime.functions.get(name);
    if (fid === undefined) return Promise.reject(new InvokeError(W.STATUS_NOT_FOUND, `no function named '${name}'`));
    const deadline = call.header.deadline_ns;
    if (deadline !== 0n && monotonicNs() >= deadline) {
      return Promise.reject(new InvokeError(W.STATUS_TIMEOUT, 'deadline exceeded before the call'));
    }
    const callId = makeCallId(fid, this.workerId, this.counter);
    this.counter = (this.counter + 1) >>> 0;
    const fields = { type: W.MSG_INVOKE, call_id: callId, parent_call_id: call.header.call_id,
      deadline_ns: deadline, worker_id: this.workerId, reply_channel: this.channel };
    let inline;
    try {
      inline = runtime.root.attachPayload(fields, input, false);
    } catch (e) {
      return Promise.reject(new InvokeError(W.STATUS_INTERNAL_ERROR, `cannot write the call's input: ${e.message}`));
    }
    return new Promise((resolve, reject) => {
      // Time in children is the union of their spans, not the sum.
      if (call.children.size === 0) call.childSince = monotonicNs();
      call.children.set(callId, { resolve, reject });
      try {
        fs.writeSync(this.outFd, encode(fields, inline, makeTrailer(call.trace)));
      } catch (e) {
        this.childEnded(call, callId);
        if (fields.flags & W.FLAG_PAYLOAD_IN_SHM) runtime.root.removePayload(callId, false);
        reject(new InvokeError(W.STATUS_UNAVAILABLE, `engine unreachable: ${e.message}`));
      }
    });
  }
}

class Runtime {
  constructor(args) {
    this.root = new IpcRoot(args.ipcRoot);
    this.functionName = args.function;
    this.maxPayload = args.maxPayload;
    this.functions = this.root.functions();
    const { handler, init } = loadHandler(args.handler);
    this.handler = handler;
    this.init = init;
    this.slots = new Map();      // channel (BigInt) -> Slot
    this.callerFds = new Map();  // channel (BigInt) -> fd of a caller's input FIFO
    this.controlFd = args.controlFd;
  }

  run() {
    const control = new net.Socket({ fd: this.controlFd, readable: true, writable: false });
    const splitter = new MessageSplitter((h) => this.onControl(h));
    control.on('data', (chunk) => splitter.push(chunk));
    // The launcher is gone: so are we.
    control.on('end', () => process.exit(0));
    control.on('error', () => process.exit(0));
  }

  onControl(h) {
    if (h.type === W.MSG_START_WORKER) {
      this.startSlot(h.reply_channel, h.worker_id);
    } else if (h.type === W.MSG_STOP_WORKER) {
      const slot = this.slots.get(h.reply_channel);
      this.slots.delete(h.reply_channel);
      if (slot) slot.close();
    }
  }

  async startSlot(channel, workerId) {
    const slot = new Slot(this, channel, workerId);
    this.slots.set(channel, slot);
    try {
      if (this.init) slot.state = await this.init(this.functionName);
      if (!slot.closed) slot.open();
    } catch (e) {
      // A broken init fails the process, as the C++ create_worker does.
      log(`worker ${workerId} of ${this.functionName} cannot start: ${e && e.stack ? e.stack : e}`);
      process.exit(2);
    }
  }

  // Writes a COMPLETE straight to the caller's input FIFO; false if the caller is gone or
  // its pipe is full (the engine then forwards it).
  sendToCaller(channel, message) {
    let fd = this.callerFds.get(channel);
    if (fd === undefined) {
      try {
        fd = fs.openSync(this.root.fifo(channel, false), O_WRONLY | O_NONBLOCK);
      } catch (e) {
        return false;
      }
      this.callerFds.set(channel, fd);
    }
    try {
      fs.writeSync(fd, message);
      return true;
    } catch (e) {
      // EPIPE: the caller exited; EAGAIN: its pipe is full. Forget the fd either way.
      this.callerFds.delete(channel);
      fs.closeSync(fd);
      return false;
    }
  }
}

// "path/file.js" or "path/file.js#exportName" (default "handle") -> { handler, init }.
function loadHandler(spec) {
  const hash = spec.lastIndexOf('#');
  const file = hash > 0 ? spec.slice(0, hash) : spec;
  const name = hash > 0 ? spec.slice(hash + 1) : 'handle';
  const mod = require(path.resolve(file));
  const handler = mod[name];
  if (typeof handler !== 'function') throw new Error(`${file} exports no function '${name}'`);
  return { handler, init: typeof mod.init === 'function' ? mod.init : null };
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i + 1 < argv.length; i += 2) args[argv[i]] = argv[i + 1];
  for (const key of ['--ipc-root', '--function', '--handler', '--max-payload', '--control-fd']) {
    if (args[key] === undefined) throw new Error(`missing ${key}`);
  }
  return {
    ipcRoot: args['--ipc-root'], function: args['--function'], handler: args['--handler'],
    maxPayload: Number(args['--max-payload']), controlFd: Number(args['--control-fd']),
  };
}

function main(argv) {
  let runtime;
  output.install();
  try {
    const args = parseArgs(argv);
    runtime = new Runtime(args);
  } catch (e) {
    log(`cannot start: ${e && e.stack ? e.stack : e}`);
    process.exit(2);
  }
  runtime.run();
}

module.exports = { main, ProtocolError };
