// File: portkey_loopback.cjs
// Preloaded into the Portkey process by bench/run (`node --require`). Portkey's start-server.js calls
// serve({fetch, port}) with no host, so it would listen on every interface; the harness must stay on
// 127.0.0.1, and Portkey has no flag for that. This forces every TCP listen() in the process onto
// 127.0.0.1 without touching Portkey's code.
'use strict';
const net = require('net');

const original_listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    // listen(port[, host][, backlog][, callback])
    if (typeof args[1] === 'string' || args[1] === undefined || args[1] === null) {
      args[1] = '127.0.0.1';
    } else {
      args.splice(1, 0, '127.0.0.1');
    }
  } else if (first && typeof first === 'object' && first.port !== undefined && first.path === undefined) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return original_listen.apply(this, args);
};
