// Node.js functions that exist only for the end-to-end tests (tests/test_node_runtime.py).
// Each test deploys one of them with handler "probe.js#<name>".
'use strict';

const { InvokeError } = require('nightjar');

let slots = 0;
module.exports.init = (functionName) => ({ id: ++slots, calls: 0, functionName });

module.exports.state = (ctx) => {
  ctx.state.calls += 1;
  return `${ctx.state.functionName}:${ctx.state.id}:${ctx.state.calls}`;
};

module.exports.fail = (ctx, input) => { throw new RangeError(`bad input: ${input}`); };

module.exports.asyncFail = async () => {
  await new Promise((resolve) => setImmediate(resolve));
  throw new Error('failed after awaiting');
};

module.exports.wrongType = () => 42;

// "exit" ends the whole runtime process mid-call; anything else answers "alive:<pid>".
module.exports.exitMidCall = (ctx, input) => {
  if (input.toString() === 'exit') process.exit(1);
  return `alive:${process.pid}`;
};

// "<ms>": sleeps, answers the pid.
module.exports.sleep = async (ctx, input) => {
  await new Promise((resolve) => setTimeout(resolve, Number(input.toString())));
  return String(process.pid);
};

module.exports.remaining = (ctx) => ctx.remaining().toFixed(1);

// "<callee>:<payload>" -> "<status name>:<output or message>", always 200.
module.exports.probe = async (ctx, input) => {
  const text = input.toString();
  const colon = text.indexOf(':');
  try {
    return Buffer.concat([Buffer.from('ok:'), await ctx.invoke(text.slice(0, colon), text.slice(colon + 1))]);
  } catch (e) {
    if (!(e instanceof InvokeError)) throw e;
    return `${e.statusName}:${e.calleeMessage}`;
  }
};

// "<n>:<callee>[:<payload>]": n concurrent invokes (Promise.all), outputs joined by ','.
module.exports.gather = async (ctx, input) => {
  const [n, callee, ...rest] = input.toString().split(':');
  const payload = rest.length ? rest.join(':') : null;
  const outputs = await Promise.all(
    Array.from({ length: Number(n) }, (_, i) => ctx.invoke(callee, payload === null ? String(i) : payload)));
  return outputs.map((b) => b.toString()).join(',');
};

// "<key>:<n>": answers "met <n>" once n calls with this key run at once in this process.
const waiting = new Map();
module.exports.rendezvous = async (ctx, input) => {
  const [key, n] = input.toString().split(':');
  const group = waiting.get(key) || { count: 0, release: null, promise: null };
  if (!group.promise) group.promise = new Promise((resolve) => { group.release = resolve; });
  waiting.set(key, group);
  group.count += 1;
  if (group.count >= Number(n)) group.release();
  await group.promise;
  return `met ${n}`;
};

// Starts an invoke and returns without awaiting it; "count" says how many ended.
const orphans = [];
module.exports.orphan = async (ctx, input) => {
  if (input.toString() === 'count') return `${orphans.filter((o) => o.done).length}/${orphans.length}`;
  const entry = { done: false };
  orphans.push(entry);
  ctx.invoke(input.toString(), '5000').then(() => { entry.done = true; }, () => { entry.done = true; });
  return 'left one behind';
};

module.exports.whoami = (ctx) => `${ctx.function}:${process.pid}`;

// Internal gRPC call (tests/test_grpc.py): SayHello(HelloRequest{name: input}) on
// helloworld.Greeter; answers the HelloReply's bytes.
module.exports.grpcGreet = (ctx, input) => {
  const name = Buffer.from(input);
  const request = Buffer.concat([Buffer.from([0x0a, name.length]), name]);
  return ctx.invokeGrpc('helloworld.Greeter', 'SayHello', request);
};

// A gRPC service in Node.js (tests/test_grpc.py): answers "<method>:<message>".
module.exports.grpcService = (ctx, input) => {
  const nl = input.indexOf(0x0a);
  const path = input.subarray(0, nl).toString();
  return Buffer.concat([Buffer.from(path.slice(path.lastIndexOf('/') + 1) + ':'), input.subarray(nl + 1)]);
};

// "<f1>/<f2>/...": this call's traceparent, then (one per line) what calling f1 with
// "<f2>/..." returned; "" -> the traceparent alone (tests/test_tracing.py).
module.exports.traceparent = async (ctx, input) => {
  const own = ctx.traceparent();
  const text = input.toString();
  if (!text) return own;
  const slash = text.indexOf('/');
  const first = slash < 0 ? text : text.slice(0, slash);
  const rest = slash < 0 ? '' : text.slice(slash + 1);
  return Buffer.concat([Buffer.from(`${own}\n`), await ctx.invoke(first, rest)]);
};

// console.log / console.error inside a call; answers the call id (16 hex digits).
module.exports.logPrint = async (ctx, input) => {
  console.log('node out', input.toString());
  await new Promise((resolve) => setTimeout(resolve, 1));
  console.error('node err', input.toString());
  return ctx.callId.toString(16).padStart(16, '0');
};
