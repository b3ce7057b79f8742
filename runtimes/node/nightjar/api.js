// What a Node.js function sees: the call context and the error an invoke rejects with.
//
//   module.exports.handle = async (ctx, input /* Buffer */) => {
//     const reply = await ctx.invoke('echo', input);   // Buffer, or rejects with InvokeError
//     return Buffer.concat([Buffer.from('got '), reply]);
//   };
//
// README ("Writing a Node.js function") and docs/runtimes.md describe the contract.
'use strict';

const { W, monotonicNs, traceparent } = require('./protocol');

// An internal call that did not succeed. status: the call's status code (STATUS_* below,
// the numbers of docs/protocol.md "Call statuses"); statusName: its name ("timeout",
// "function error", ...); message: the callee's error message or the runtime's reason.
// A handler that lets an InvokeError escape fails with the callee's message unchanged.
class InvokeError extends Error {
  constructor(status, message) {
    const statusName = W.STATUS_NAMES[status] || `status ${status}`;
    super(message ? `${statusName}: ${message}` : statusName);
    this.name = 'InvokeError';
    this.status = status;
    this.statusName = statusName;
    this.calleeMessage = message;
  }
}

// One call of a function; valid while its handler runs. function: the function's name;
// callId: the call's id (BigInt); state: what the module's init(functionName) returned for
// this worker slot (undefined without an init).
class Context {
  constructor(slot, call) {
    this._slot = slot;
    this._call = call;
    this.function = slot.runtime.functionName;
    this.callId = call.header.call_id;
    this.state = slot.state;
  }

  // The call's W3C traceparent, "00-<trace-id>-<span-id>-<flags>" (W3C Trace Context §3.2),
  // with this call's own span id as parent-id: send it to outside services so their spans
  // join the call's trace. Internal calls (invoke) carry the trace already.
  traceparent() {
    return traceparent(this._call.trace, this.callId);
  }

  // Milliseconds left before the call's deadline (0 once passed); Infinity without one.
  remaining() {
    const deadline = this._call.header.deadline_ns;
    if (deadline === 0n) return Infinity;
    const left = Number(deadline - monotonicNs()) / 1e6;
    return left > 0 ? left : 0;
  }

  // Calls function `name` with `data` (Buffer, Uint8Array or string, UTF-8) and resolves to
  // its output (Buffer). The callee inherits this call's deadline; several invokes may run
  // at once (Promise.all). Rejects with InvokeError: unknown function (not found), deadline
  // passed (timeout), callee failed, engine unreachable.
  invoke(name, data) {
    return this._slot.invoke(this._call, name, data);
  }

  // Calls `method` of the function that declares `grpc: <service>` with the request
  // message's protobuf bytes and resolves to the response message's bytes (Buffer). Same
  // fast path, deadline and errors as invoke(). The callee receives what a gRPC call
  // through the gateway gives it: "/<service>/<method>\n" + message.
  invokeGrpc(service, method, message) {
    const head = Buffer.from(`/${service}/${method}\n`);
    const body = message === undefined ? Buffer.alloc(0) : Buffer.from(message);
    return this._slot.invoke(this._call, `grpc:${service}`, Buffer.concat([head, body]));
  }
}

const STATUS = Object.fromEntries(Object.entries(W).filter(([k]) => k.startsWith('STATUS_') && k !== 'STATUS_NAMES'));

module.exports = { Context, InvokeError, ...STATUS };
