// Entry point of a runtime process: `node .../nightjar/main.js --ipc-root ... --control-fd N`.
// The launcher starts it; it is not meant to be run by hand.
'use strict';

// An invoke a finished call left behind is rejected; if nobody listens, that must not end
// the process (and every other slot's call with it).
process.on('unhandledRejection', (e) => {
  process.stderr.write(`nightjar node runtime (pid ${process.pid}): unhandled rejection: ${e && e.message ? e.message : e}\n`);
});
require('./runtime').main(process.argv.slice(2));
