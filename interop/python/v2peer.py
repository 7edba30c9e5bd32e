#!/usr/bin/python3
"""A real WAMP v2 peer for herald's interop tests: Autobahn|Python 22.7.1
(Debian python3-autobahn, asyncio flavour: ApplicationRunner and
ApplicationSession), driven by the line protocol of
interop/autobahn/v2peer.js, which documents it in full; this file notes
only where Autobahn|Python differs.

Usage: /usr/bin/python3 v2peer.py URL REALM SERIALIZER [JOIN_JSON]

Differences from the JS runner, all the library's:
  - a callee announces call_canceling: an INTERRUPT cancels the running
    invocation, which prints {"ev":"interrupt","reg":ID} and answers
    wamp.error.canceled;
  - call cancelling is future.cancel(): the CANCEL carries no mode
    (cancel_mode is ignored) and the caller prints {"ev":"cancelled"} at once;
  - PublishOptions and CallOptions have no disclose_me: those options are
    refused with {"ev":"bad_command"};
  - call "timeout" is sent as given, in milliseconds (an int).
"""

import asyncio
import json
import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession  # noqa: E402
from autobahn.wamp import auth, types  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import (  # noqa: E402
    CBORSerializer,
    JsonSerializer,
    MsgPackSerializer,
)

SERIALIZERS = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}


def out(obj):
    """Writes one protocol line to stdout."""
    sys.stdout.write(json.dumps(obj, default=repr) + "\n")
    sys.stdout.flush()


def defined(d):
    """Drops the None values of d."""
    return {k: v for k, v in d.items() if v is not None}


def payload(res):
    """A call result, as autobahn hands it over, as {args, kwargs}."""
    if isinstance(res, types.CallResult):
        return {"args": list(res.results or []), "kwargs": dict(res.kwresults or {})}
    if res is None:
        return {"args": [], "kwargs": {}}
    return {"args": [res], "kwargs": {}}


def error_line(cid, err):
    """The reply line for a command that failed with err."""
    if isinstance(err, ApplicationError):
        return {"ev": "error", "id": cid, "error": err.error,
                "args": list(err.args or []), "kwargs": dict(err.kwargs or {})}
    return {"ev": "error", "id": cid, "error": "local", "args": [repr(err)], "kwargs": {}}


class BadCommand(Exception):
    """A command the runner cannot carry out as asked."""


class Peer(ApplicationSession):
    """The session: joins as JOIN_JSON says, then runs stdin's commands."""

    def __init__(self, config, join, serializer, done):
        super().__init__(config)
        self._join = join
        self._serializer = serializer
        self._done = done
        self._joined = False
        self._subs = {}
        self._regs = {}
        self._tasks = set()

    def onConnect(self):
        self.join(self.config.realm, authmethods=self._join.get("authmethods"),
                  authid=self._join.get("authid"))

    def onChallenge(self, challenge):
        if challenge.method == "ticket":
            return self._join["ticket"]
        if challenge.method == "wampcra":
            extra = challenge.extra
            key = self._join["secret"]
            if "salt" in extra:
                key = auth.derive_key(key, extra["salt"], extra["iterations"], extra["keylen"])
            return auth.compute_wcs(key, extra["challenge"])
        raise Exception("no answer to a {} challenge".format(challenge.method))

    async def onJoin(self, details):
        self._joined = True
        out({"ev": "joined", "session": details.session, "authid": details.authid,
             "authrole": details.authrole, "authmethod": details.authmethod,
             "realm": details.realm, "serializer": self._serializer})
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        self._spawn(self._read_commands(reader))

    def onLeave(self, details):
        out(defined({"ev": "closed" if self._joined else "abort",
                     "reason": details.reason, "message": details.message}))
        self.disconnect()

    def onDisconnect(self):
        if not self._done.done():
            self._done.set_result(None)

    def _spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read_commands(self, reader):
        while True:
            line = await reader.readline()
            if not line:
                break
            if not line.strip():
                continue
            try:
                cmd = json.loads(line)
            except ValueError:
                out({"ev": "bad_command", "message": "not JSON: {!r}".format(line)})
                continue
            op = getattr(self, "op_" + str(cmd.get("op")), None)
            if op is None:
                out({"ev": "bad_command", "id": cmd.get("id"),
                     "message": "unknown op {}".format(cmd.get("op"))})
                continue
            self._spawn(self._run(op, cmd))
        if self.is_attached():
            self.leave("wamp.close.normal")

    async def _run(self, op, cmd):
        try:
            await op(cmd)
        except BadCommand as e:
            out({"ev": "bad_command", "id": cmd.get("id"), "message": str(e)})
        except Exception as e:  # every failure is reported, none ends the peer
            out(error_line(cmd.get("id"), e))

    async def op_subscribe(self, cmd):
        sid = cmd.get("id")

        def on_event(*args, details=None, **kwargs):
            out({"ev": "event", "sub": sid, "args": list(args), "kwargs": kwargs,
                 "details": defined({
                     "publication": details.publication, "topic": details.topic,
                     "publisher": details.publisher,
                     "publisher_authid": details.publisher_authid,
                     "publisher_authrole": details.publisher_authrole})})

        opts = dict(cmd.get("options") or {})
        sub = await self.subscribe(on_event, cmd["topic"], options=types.SubscribeOptions(
            match=opts.pop("match", None), details=True))
        if opts:
            raise BadCommand("subscribe options not supported: {}".format(sorted(opts)))
        self._subs[sid] = sub
        out({"ev": "subscribed", "id": sid, "subscription": sub.id})

    async def op_unsubscribe(self, cmd):
        sub = self._subs.pop(cmd.get("sub"), None)
        if sub is None:
            raise BadCommand("no subscription {}".format(cmd.get("sub")))
        await sub.unsubscribe()
        out({"ev": "unsubscribed", "id": cmd.get("id")})

    async def op_publish(self, cmd):
        opts = cmd.get("options") or {}
        try:
            options = types.PublishOptions(**opts)
        except TypeError as e:
            raise BadCommand("publish options: {}".format(e))
        res = self.publish(cmd["topic"], *(cmd.get("args") or []), options=options,
                           **(cmd.get("kwargs") or {}))
        if not opts.get("acknowledge"):
            out({"ev": "sent", "id": cmd.get("id")})
            return
        pub = await res
        out({"ev": "published", "id": cmd.get("id"), "publication": pub.id})

    async def op_register(self, cmd):
        rid = cmd.get("id")
        reply = cmd.get("reply") or {}

        async def endpoint(*args, details=None, **kwargs):
            out({"ev": "invocation", "reg": rid, "args": list(args), "kwargs": kwargs,
                 "details": defined({
                     "procedure": details.procedure, "caller": details.caller,
                     "caller_authid": details.caller_authid,
                     "caller_authrole": details.caller_authrole,
                     "receive_progress": details.progress is not None})})
            try:
                if details.progress is not None:
                    for p in reply.get("progress") or []:
                        details.progress(*(p.get("args") or []), **(p.get("kwargs") or {}))
                if reply.get("sleep_ms"):
                    await asyncio.sleep(reply["sleep_ms"] / 1000)
            except asyncio.CancelledError:
                out({"ev": "interrupt", "reg": rid})
                raise ApplicationError(ApplicationError.CANCELED, "interrupted")
            res_args = list(args) if reply.get("echo") else list(reply.get("args") or [])
            res_kwargs = dict(kwargs) if reply.get("echo") else dict(reply.get("kwargs") or {})
            if reply.get("error"):
                raise ApplicationError(reply["error"], *res_args, **res_kwargs)
            return types.CallResult(*res_args, **res_kwargs)

        opts = cmd.get("options") or {}
        try:
            options = types.RegisterOptions(details_arg="details", **opts)
        except TypeError as e:
            raise BadCommand("register options: {}".format(e))
        reg = await self.register(endpoint, cmd["procedure"], options=options)
        self._regs[rid] = reg
        out({"ev": "registered", "id": rid, "registration": reg.id})

    async def op_unregister(self, cmd):
        reg = self._regs.pop(cmd.get("reg"), None)
        if reg is None:
            raise BadCommand("no registration {}".format(cmd.get("reg")))
        await reg.unregister()
        out({"ev": "unregistered", "id": cmd.get("id")})

    async def op_call(self, cmd):
        cid = cmd.get("id")
        opts = dict(cmd.get("options") or {})
        on_progress = None
        if opts.pop("receive_progress", False):
            def on_progress(*args, **kwargs):
                out({"ev": "progress", "id": cid, "args": list(args), "kwargs": kwargs})
        try:
            options = types.CallOptions(on_progress=on_progress, **opts)
        except TypeError as e:
            raise BadCommand("call options: {}".format(e))
        fut = self.call(cmd["procedure"], *(cmd.get("args") or []), options=options,
                        **(cmd.get("kwargs") or {}))
        if cmd.get("cancel_after_ms") is not None:
            asyncio.get_running_loop().call_later(cmd["cancel_after_ms"] / 1000, fut.cancel)
        try:
            res = await fut
        except asyncio.CancelledError:
            out({"ev": "cancelled", "id": cid})
            return
        out(dict({"ev": "result", "id": cid}, **payload(res)))

    async def op_leave(self, cmd):
        self.leave("wamp.close.normal")


def main():
    if len(sys.argv) < 4:
        sys.stderr.write("usage: v2peer.py URL REALM SERIALIZER [JOIN_JSON]\n")
        sys.exit(2)
    url, realm, ser = sys.argv[1:4]
    join = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    if ser not in SERIALIZERS:
        sys.stderr.write("serializer {}: not one of json, msgpack, cbor\n".format(ser))
        sys.exit(2)
    txaio.start_logging(out=sys.stderr, level="warn")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    done = loop.create_future()
    runner = ApplicationRunner(url, realm, serializers=[SERIALIZERS[ser]()])
    try:
        loop.run_until_complete(runner.run(lambda cfg: Peer(cfg, join, ser, done), start_loop=False))
    except OSError as e:
        out({"ev": "abort", "reason": None, "message": "connect: {}".format(e)})
        sys.exit(1)
    loop.run_until_complete(done)
    loop.close()


if __name__ == "__main__":
    main()
