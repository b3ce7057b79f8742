// node-relay: the cross-language relay every runtime has (docs/runtimes.md, "The relay").
//
// Input "<f1>/<f2>/.../<fn>:<data>": calls f1 with "<f2>/.../<fn>:<data>", and so on; the last
// function is called with <data> alone. ":<data>" (no targets) returns <data>. The callee's
// output comes back unchanged; a callee's failure becomes this call's failure with the
// callee's message (an InvokeError that escapes the handler does exactly that).
'use strict';

module.exports.handle = async (ctx, input) => {
  const colon = input.indexOf(':');
  if (colon < 0) throw new Error('input must be <f1>/.../<fn>:<data>');
  const targets = input.subarray(0, colon).toString('utf8');
  const data = input.subarray(colon + 1);
  if (!targets) return data;
  // Every name of the chain, not only the next one.
  if (targets.split('/').some((name) => !name)) throw new Error(`empty function name in '${targets}'`);
  const slash = targets.indexOf('/');
  if (slash < 0) return ctx.invoke(targets, data);
  return ctx.invoke(targets.slice(0, slash), Buffer.concat([Buffer.from(`${targets.slice(slash + 1)}:`), data]));
};
