// Nightjar's Node.js runtime: export `handle(ctx, input)` from a module and serve it with
// `runtime: node` (README, "Writing a Node.js function"; docs/runtimes.md).
// `require('nightjar')` in a function gives InvokeError and the STATUS_* codes.
'use strict';

module.exports = require('./api');
