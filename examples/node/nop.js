// node-nop: returns nothing; measures the Node.js runtime's own overhead (bench/node_calls.cc).
'use strict';

module.exports.handle = () => undefined;
