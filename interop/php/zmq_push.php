<?php
// Pushes into a ZeroMQ PULL socket exactly as GosWebSocketBundle 1.x's
// ZmqPusher does (Pusher/Zmq/ZmqPusher.php): a persistent ZMQContext with one
// I/O thread, a PUSH socket with ZMQ_LINGER -1, connect to the endpoint, and
// one single-frame message per push, the JSON {"topic": TOPIC, "data": DATA}
// as PHP's json_encode writes it (so "acme/channel" goes out as
// "acme\/channel"). Written from that pusher's behaviour; no code of it is
// copied. Needs Debian's php-zmq.
//
// Usage: php zmq_push.php ENDPOINT TOPIC JSON [COUNT]
//   ENDPOINT  such as tcp://127.0.0.1:5555 (Gos builds protocol://host:port)
//   TOPIC     the channel, already generated
//   JSON      the data; decoded to a PHP value first, as an application
//             passes arrays to the pusher
//   COUNT     how many times to send it (default 1)
//
// The script exits once every message is handed over: with linger -1 the
// socket's destruction waits for the queue to drain, as at the end of a
// Gos request. Exit codes: 0 ok, 1 usage or ZMQ error.

if (!extension_loaded('zmq')) {
    fwrite(STDERR, "zmq_push.php: the zmq extension is missing (Debian package php-zmq)\n");
    exit(1);
}
if ($argc < 4 || $argc > 5) {
    fwrite(STDERR, "usage: php zmq_push.php ENDPOINT TOPIC JSON [COUNT]\n");
    exit(1);
}
$endpoint = $argv[1];
$topic = $argv[2];
$data = json_decode($argv[3], true);
if (json_last_error() !== JSON_ERROR_NONE) {
    fwrite(STDERR, 'zmq_push.php: JSON: ' . json_last_error_msg() . "\n");
    exit(1);
}
$count = isset($argv[4]) ? (int) $argv[4] : 1;

try {
    $context = new ZMQContext(1, true);
    $socket = $context->getSocket(ZMQ::SOCKET_PUSH);
    $socket->setSockOpt(ZMQ::SOCKOPT_LINGER, -1);
    $socket->connect($endpoint);
    for ($i = 0; $i < $count; $i++) {
        $socket->send(json_encode(['topic' => $topic, 'data' => $data]));
    }
} catch (ZMQException $e) {
    fwrite(STDERR, 'zmq_push.php: ' . $e->getMessage() . "\n");
    exit(1);
}
echo json_encode(['sent' => $count]), "\n";
