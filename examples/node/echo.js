// node-echo: returns its input unchanged (0 B .. the function's max_payload_bytes).
'use strict';

module.exports.handle = (ctx, input) => input;
