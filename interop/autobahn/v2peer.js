#!/usr/bin/env node
// A real WAMP v2 peer for herald's interop tests: AutobahnJS (npm autobahn
// 22.11.1 on Node, over ws 7), driven by a line protocol so that a Go test
// can run several of them and script what they do. interop/python/v2peer.py
// speaks the same protocol through Autobahn|Python; interop/v2harness_test.go
// drives both for the tests (interop/v2peers_test.go).
//
// Usage: node v2peer.js URL REALM SERIALIZER [JOIN_JSON]
//   SERIALIZER  json | msgpack | cbor (the only one offered)
//   JOIN_JSON   {"authmethods": [...], "authid": "...", "ticket": "...",
//                "secret": "..."}: the HELLO's authmethods and authid; the
//               challenge is answered with the ticket (ticket) or with the
//               WAMP-CRA signature made from the secret (wampcra, salted
//               when the CHALLENGE carries a salt)
//
// Output (stdout): one JSON object per line, field "ev" says what it is:
//   {"ev":"joined","session":N,"authid","authrole","authmethod","realm","serializer"}
//   {"ev":"abort","reason":URI,"message":S}       the router refused the join
//   {"ev":"closed","reason":URI,"message":S,"how":S} the session or connection ended
//   replies to commands carry the command's "id" (see below)
// Input (stdin): one JSON command per line; "id" is the caller's tag, echoed
// in the replies; "op" is one of
//   subscribe   {topic, options}        -> {"ev":"subscribed","id","subscription"}
//               each event then          -> {"ev":"event","sub":ID,"args","kwargs","details":{...}}
//   unsubscribe {sub: ID of a subscribe} -> {"ev":"unsubscribed","id"}
//   publish     {topic, args, kwargs, options}
//                                        -> {"ev":"published","id","publication"} (acknowledge)
//                                           or {"ev":"sent","id"}
//   register    {procedure, options, reply}
//                                        -> {"ev":"registered","id","registration"}
//               each invocation          -> {"ev":"invocation","reg":ID,"args","kwargs","details":{...}}
//               reply: {args, kwargs} the result; echo: true returns the call's
//               args and kwargs; progress: [{args, kwargs}...] sent first when
//               the caller asked for progress; sleep_ms: wait before answering;
//               error: URI answers with that error and the args/kwargs
//   unregister  {reg: ID of a register}  -> {"ev":"unregistered","id"}
//   call        {procedure, args, kwargs, options, cancel_after_ms, cancel_mode}
//                                        -> {"ev":"progress","id","args","kwargs"}...
//                                           then {"ev":"result","id","args","kwargs"}
//                                           or {"ev":"error","id","error","args","kwargs"}
//                                           or {"ev":"cancelled","id"} (the library gave up
//                                              locally, without waiting for the router)
//   leave       {}                       -> {"ev":"closed",...}, then exit 0
// Any failure of a command is {"ev":"error","id","error":URI,...}; a bad
// command is {"ev":"bad_command","id","message"}. Closing stdin leaves too.
// AutobahnJS as a callee does not announce call_canceling and so never sees
// INTERRUPT.
'use strict';

// Everything the library logs goes to stderr: stdout is the protocol.
console.log = console.info = console.debug = (...a) => console.error(...a);

const readline = require('readline');
const autobahn = require('autobahn');

const [url, realm, serializerName, joinJSON] = process.argv.slice(2);
if (!url || !realm || !serializerName) {
  console.error('usage: node v2peer.js URL REALM SERIALIZER [JOIN_JSON]');
  process.exit(2);
}
const join = joinJSON ? JSON.parse(joinJSON) : {};

function out(obj) {
  process.stdout.write(JSON.stringify(obj, (k, v) => (typeof v === 'bigint' ? Number(v) : v)) + '\n');
}

const serializerClass = {
  json: autobahn.serializer.JSONSerializer,
  msgpack: autobahn.serializer.MsgpackSerializer,
  cbor: autobahn.serializer.CBORSerializer,
}[serializerName];
if (!serializerClass) {
  console.error(`serializer ${serializerName}: not one of json, msgpack, cbor (or not installed)`);
  process.exit(2);
}

function onchallenge(session, method, extra) {
  if (method === 'ticket') {
    return join.ticket;
  }
  if (method === 'wampcra') {
    let key = join.secret;
    if (extra.salt) {
      key = autobahn.auth_cra.derive_key(join.secret, extra.salt, extra.iterations, extra.keylen);
    }
    return autobahn.auth_cra.sign(key, extra.challenge);
  }
  throw new Error(`no answer to a ${method} challenge`);
}

const connection = new autobahn.Connection({
  url,
  realm,
  serializers: [new serializerClass()],
  authmethods: join.authmethods,
  authid: join.authid,
  onchallenge,
  max_retries: 0,
  retry_if_unreachable: false,
});

let joined = false;
let session = null;
const subscriptions = new Map(); // command id -> autobahn.Subscription
const registrations = new Map(); // command id -> autobahn.Registration

// A result, as autobahn hands it over, as {args, kwargs}.
function payload(res) {
  if (res instanceof autobahn.Result) {
    return { args: res.args || [], kwargs: res.kwargs || {} };
  }
  if (res === undefined) {
    return { args: [], kwargs: {} };
  }
  return { args: [res], kwargs: {} };
}

function errorLine(id, err) {
  if (err instanceof autobahn.Error) {
    return { ev: 'error', id, error: err.error, args: err.args || [], kwargs: err.kwargs || {} };
  }
  return { ev: 'error', id, error: 'local', args: [String(err && err.message || err)], kwargs: {} };
}

// defined drops the undefined fields of o.
function defined(o) {
  const r = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && v !== null) {
      r[k] = v;
    }
  }
  return r;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const ops = {
  subscribe(cmd) {
    return session.subscribe(cmd.topic, (args, kwargs, details) => {
      out({
        ev: 'event', sub: cmd.id, args: args || [], kwargs: kwargs || {},
        details: defined({
          publication: details.publication, topic: details.topic, publisher: details.publisher,
          publisher_authid: details.publisher_authid, publisher_authrole: details.publisher_authrole,
        }),
      });
    }, cmd.options || {}).then((sub) => {
      subscriptions.set(cmd.id, sub);
      out({ ev: 'subscribed', id: cmd.id, subscription: sub.id });
    });
  },

  unsubscribe(cmd) {
    const sub = subscriptions.get(cmd.sub);
    if (!sub) {
      throw new Error(`no subscription ${cmd.sub}`);
    }
    return session.unsubscribe(sub).then(() => {
      subscriptions.delete(cmd.sub);
      out({ ev: 'unsubscribed', id: cmd.id });
    });
  },

  publish(cmd) {
    const options = cmd.options || {};
    const p = session.publish(cmd.topic, cmd.args || [], cmd.kwargs || {}, options);
    if (!options.acknowledge) {
      out({ ev: 'sent', id: cmd.id });
      return undefined;
    }
    return p.then((pub) => out({ ev: 'published', id: cmd.id, publication: pub.id }));
  },

  register(cmd) {
    const reply = cmd.reply || {};
    const endpoint = async (args, kwargs, details) => {
      out({
        ev: 'invocation', reg: cmd.id, args: args || [], kwargs: kwargs || {},
        details: defined({
          procedure: details.procedure, caller: details.caller,
          caller_authid: details.caller_authid, caller_authrole: details.caller_authrole,
          receive_progress: !!details.progress,
        }),
      });
      if (details.progress) {
        for (const p of reply.progress || []) {
          details.progress(p.args || [], p.kwargs || {});
        }
      }
      if (reply.sleep_ms) {
        await sleep(reply.sleep_ms);
      }
      const resArgs = reply.echo ? (args || []) : (reply.args || []);
      const resKwargs = reply.echo ? (kwargs || {}) : (reply.kwargs || {});
      if (reply.error) {
        throw new autobahn.Error(reply.error, resArgs, resKwargs);
      }
      return new autobahn.Result(resArgs, resKwargs);
    };
    return session.register(cmd.procedure, endpoint, cmd.options || {}).then((reg) => {
      registrations.set(cmd.id, reg);
      out({ ev: 'registered', id: cmd.id, registration: reg.id });
    });
  },

  unregister(cmd) {
    const reg = registrations.get(cmd.reg);
    if (!reg) {
      throw new Error(`no registration ${cmd.reg}`);
    }
    return session.unregister(reg).then(() => {
      registrations.delete(cmd.reg);
      out({ ev: 'unregistered', id: cmd.id });
    });
  },

  call(cmd) {
    const options = Object.assign({}, cmd.options || {});
    const p = session.call(cmd.procedure, cmd.args || [], cmd.kwargs || {}, options);
    if (cmd.cancel_after_ms !== undefined) {
      setTimeout(() => p.cancel(cmd.cancel_mode ? { mode: cmd.cancel_mode } : {}), cmd.cancel_after_ms);
    }
    return p.then(
      (res) => out(Object.assign({ ev: 'result', id: cmd.id }, payload(res))),
      (err) => {
        if (!(err instanceof autobahn.Error) && err && err.message === 'Cancelled') {
          out({ ev: 'cancelled', id: cmd.id });
          return;
        }
        throw err;
      },
      (progress) => out(Object.assign({ ev: 'progress', id: cmd.id }, payload(progress))),
    );
  },

  leave() {
    connection.close('wamp.close.normal');
  },
};

function handle(line) {
  if (line.trim() === '') {
    return;
  }
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    out({ ev: 'bad_command', message: `not JSON: ${line}` });
    return;
  }
  const op = ops[cmd.op];
  if (!op) {
    out({ ev: 'bad_command', id: cmd.id, message: `unknown op ${cmd.op}` });
    return;
  }
  if (!session || !session.isOpen) {
    out({ ev: 'bad_command', id: cmd.id, message: 'session not open' });
    return;
  }
  let p;
  try {
    p = op(cmd);
  } catch (e) {
    out(errorLine(cmd.id, e));
    return;
  }
  if (p && p.then) {
    p.then(undefined, (err) => out(errorLine(cmd.id, err)));
  }
}

connection.onopen = (s, details) => {
  session = s;
  joined = true;
  out({
    ev: 'joined', session: s.id, authid: details.authid, authrole: details.authrole,
    authmethod: details.authmethod, realm, serializer: serializerName,
  });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', handle);
  rl.on('close', () => {
    if (session && session.isOpen) {
      connection.close('wamp.close.normal');
    }
  });
};

connection.onclose = (how, details) => {
  const ev = joined ? 'closed' : 'abort';
  out(defined({ ev, reason: details.reason, message: details.message, how }));
  // Give stdout a moment to drain, then end: no retries.
  setTimeout(() => process.exit(0), 10);
  return true;
};

connection.open();
