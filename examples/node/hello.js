// node-hello: "Hello, <input>!", or "Hello, world!" for an empty body (the C++ hello's contract).
'use strict';

module.exports.handle = (ctx, input) => `Hello, ${input.length ? input.toString('utf8') : 'world'}!`;
