#!/usr/bin/env node
// A real WAMP v1 peer for herald's interop tests: npm wamp1@0.0.3 (through
// websocket-buffering and ws), unchanged except for one shim. wamp1 opens its
// WebSocket with no subprotocol, and Ratchet (and so herald, which speaks like
// it) answers such a client without "wamp"; to behave like a client that
// offers "wamp" (as AutobahnJS does), the `ws` module that websocket-buffering
// requires is replaced, before wamp1 is loaded, by a subclass whose
// constructor offers ['wamp']. ws 8 then also checks that the server echoes it.
//
// Usage: node wamp1_client.js URL MODE ARGS...
//   subscribe TOPIC N                 print each EVENT payload on TOPIC as one JSON
//                                     line, exit after N; "ready SID" goes to stderr
//                                     once the subscription is in place
//   publish TOPIC EVENT_JSON [EXTRA_JSON]
//                                     publish(TOPIC, EVENT, ...EXTRA), then close;
//                                     print {"session":SID}
//   call PROC ARGS_JSON               call(PROC, ...ARGS); print
//                                     {"error":{"uri","desc","details"}} or {"result":R}
// Exit codes: 0 ok, 1 error, 3 timeout.
'use strict';

const path = require('path');

function fail(msg, code) {
  process.stderr.write(msg + '\n');
  process.exit(code === undefined ? 1 : code);
}

// --- the shim -------------------------------------------------------------
const bufferingDir = path.dirname(require.resolve('websocket-buffering/package.json'));
const wsPath = require.resolve('ws', { paths: [bufferingDir] });
const RealWebSocket = require(wsPath);
class WampWebSocket extends RealWebSocket {
  constructor(address, protocols, options) {
    if (protocols === undefined || protocols === null ||
        (Array.isArray(protocols) && protocols.length === 0)) {
      protocols = ['wamp'];
    }
    super(address, protocols, options);
  }
}
require.cache[wsPath].exports = WampWebSocket;
// ---------------------------------------------------------------------------

const Wamp = require('wamp1');

const [url, mode, ...args] = process.argv.slice(2);
if (!url || !mode) {
  fail('usage: node wamp1_client.js URL MODE ARGS...');
}

const timeoutMs = Number(process.env.WAMP1_CLIENT_TIMEOUT_MS || 20000);
setTimeout(() => fail(`${mode}: timed out after ${timeoutMs} ms`, 3), timeoutMs).unref();

function parseJSON(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(`${what} is not valid JSON: ${text}`);
  }
}

function out(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

let closing = false;
let wamp;
// The underlying ws WebSocket (websocket-buffering keeps it in _socket).
function rawSocket() {
  return wamp.socket._socket;
}

function closeAndExit() {
  closing = true;
  const ws = rawSocket();
  ws.on('close', () => process.exit(0));
  ws.close(1000);
  setTimeout(() => fail(`${mode}: server did not complete the close handshake`, 3), 5000).unref();
}

wamp = new Wamp(url, (welcome) => {
  const ws = rawSocket();
  if (ws.protocol !== 'wamp') {
    fail(`server did not select subprotocol wamp (got "${ws.protocol}")`);
  }
  run(welcome.sessionId);
});
wamp.on('error', (err) => fail(`wamp1 error: ${err && err.message}`));
wamp.socket.on('error', (err) => fail(`websocket error: ${err && err.message}`));
wamp.socket.on('close', () => {
  if (!closing) {
    fail('server closed the connection');
  }
});

// SUBSCRIBE has no reply. Messages on one connection are handled in order,
// so once our own EVENT on a private topic comes back, the SUBSCRIBE sent
// before it is in place.
function subscribeAndSync(sid, topic, onEvent, ready) {
  const sync = 'interop/sync/' + sid;
  wamp.subscribe(topic, onEvent);
  wamp.subscribe(sync, () => {
    wamp.unsubscribe(sync);
    ready();
  });
  wamp.publish(sync, 'sync');
}

function run(sid) {
  switch (mode) {
    case 'subscribe': {
      const [topic, nText] = args;
      const n = Number(nText);
      if (!topic || !(n > 0)) {
        fail('usage: subscribe TOPIC N');
      }
      let got = 0;
      subscribeAndSync(sid, topic, (data) => {
        out(data);
        if (++got === n) {
          closeAndExit();
        }
      }, () => process.stderr.write(`ready ${sid}\n`));
      break;
    }
    case 'publish': {
      const [topic, eventJSON, extraJSON] = args;
      if (!topic || eventJSON === undefined) {
        fail('usage: publish TOPIC EVENT_JSON [EXTRA_JSON]');
      }
      const event = parseJSON(eventJSON, 'EVENT_JSON');
      const extra = extraJSON === undefined ? [] : parseJSON(extraJSON, 'EXTRA_JSON');
      wamp.publish(topic, event, ...extra);
      out({ session: sid });
      closeAndExit();
      break;
    }
    case 'call': {
      const [proc, argsJSON] = args;
      if (!proc) {
        fail('usage: call PROC ARGS_JSON');
      }
      let callArgs = argsJSON === undefined ? [] : parseJSON(argsJSON, 'ARGS_JSON');
      if (!Array.isArray(callArgs)) {
        callArgs = [callArgs];
      }
      wamp.call(proc, ...callArgs, (err, result) => {
        if (err) {
          out({ error: { uri: err.uri, desc: err.message, details: err.details === undefined ? null : err.details } });
        } else {
          out({ result: result === undefined ? null : result });
        }
        closeAndExit();
      });
      break;
    }
    default:
      fail(`unknown mode ${mode}`);
  }
}
