// node-bench_caller: times internal calls from inside a Node.js function; the Node twin of
// examples/cpp/bench_caller.cc, driven by the harness (docs/performance.md).
//
// Input: "callee=<name> n=<calls> [bytes=<input size>] [arg=<input prefix>]" (space-separated
// key=value pairs; the first occurrence of a key wins; fanout= is refused). Makes n sequential
// awaited invokes of callee with an input of `bytes` bytes that starts with `arg`, each timed
// with process.hrtime.bigint() (CLOCK_MONOTONIC, as the C++ caller) around the invoke only.
// Output: n little-endian uint32 call times in ns, clamped to 2^32 - 1. Throws (502) on bad
// input or on the first failed child.
'use strict';

const MAX_CALLS = 10000000;
const MAX_BYTES = 64 << 20;
const USAGE = 'input must be callee=<name> n=<calls> [bytes=<size>] [arg=<prefix>]';

function parse(input) {
  const args = {};
  for (const item of input.toString().split(/\s+/)) {
    const eq = item.indexOf('=');
    if (eq > 0 && !(item.slice(0, eq) in args)) args[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return args;
}

function number(args, key, fallback, max) {
  if (args[key] === undefined) return fallback;
  if (!/^\d+$/.test(args[key]) || Number(args[key]) > max) throw new Error(`bench_caller: ${key}=${args[key]}: ${USAGE}`);
  return Number(args[key]);
}

module.exports.handle = async (ctx, input) => {
  const args = parse(input);
  const n = number(args, 'n', 1, MAX_CALLS);
  const size = number(args, 'bytes', 0, MAX_BYTES);
  if (!args.callee || 'fanout' in args) throw new Error(`bench_caller: ${USAGE}`);
  const prefix = Buffer.from(args.arg || '');
  const child = prefix.length < size ? Buffer.concat([prefix, Buffer.alloc(size - prefix.length, 'x')]) : prefix;
  const samples = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i += 1) {
    const start = process.hrtime.bigint();
    try {
      await ctx.invoke(args.callee, child);
    } catch (e) {
      throw new Error(`bench_caller: round ${i} failed: ${e.message}`);
    }
    const ns = process.hrtime.bigint() - start;
    samples.writeUInt32LE(ns > 0xFFFFFFFFn ? 0xFFFFFFFF : Number(ns), 4 * i);
  }
  return samples;
};
