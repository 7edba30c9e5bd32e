"""A libzmq peer for zmqpush's tests (Debian python3-zmq, pyzmq on libzmq).

    zmqpeer.py push ENDPOINT COUNT BODY [BODY...]
        Connects a PUSH socket to ENDPOINT (as Gos's ZmqPusher does: linger
        -1), sends COUNT rounds of the BODY arguments, one single-frame
        message each, closes and exits once everything is flushed. A BODY of
        the form "multi:A|B" is sent as one message of frames A and B.
    zmqpeer.py pull ENDPOINT COUNT
        Binds a PULL socket at ENDPOINT, prints "READY" once bound, then one
        JSON line per message (a list of its frames as strings), and exits
        after COUNT messages or when stdin closes.
"""
import json
import select
import sys

import zmq


def push(endpoint, count, bodies):
    ctx = zmq.Context(1)
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, -1)
    sock.connect(endpoint)
    for _ in range(count):
        for body in bodies:
            if body.startswith("multi:"):
                sock.send_multipart([f.encode() for f in body[len("multi:"):].split("|")])
            else:
                sock.send(body.encode())
    sock.close()  # linger -1: waits until every message is handed over
    ctx.term()


def pull(endpoint, count):
    ctx = zmq.Context(1)
    sock = ctx.socket(zmq.PULL)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(endpoint)
    print("READY", flush=True)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(sys.stdin, zmq.POLLIN)
    got = 0
    while got < count:
        events = dict(poller.poll())
        if sys.stdin.fileno() in events or sys.stdin in events:
            if not sys.stdin.read(1):
                break
        if events.get(sock):
            frames = sock.recv_multipart()
            print(json.dumps([f.decode("utf-8", "replace") for f in frames]), flush=True)
            got += 1
    sock.close()
    ctx.term()


def main():
    mode, endpoint, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "push":
        push(endpoint, count, sys.argv[4:])
    elif mode == "pull":
        pull(endpoint, count)
    else:
        sys.exit("zmqpeer.py: unknown mode " + mode)


if __name__ == "__main__":
    main()
