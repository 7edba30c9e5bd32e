<?php
// A php-cli publisher that pushes into RabbitMQ exactly like
// GosWebSocketBundle's AmqpPusher (Pusher/Amqp/AmqpPusher.php, 1.x and
// 3.x), with Debian's php-amqp extension: an AMQPConnection with Gos's
// config keys, an AMQPChannel, an AMQPExchange declared as Gos declares it
// (type direct, flags AMQP_DURABLE), then exchange->publish(body,
// routing_key, AMQP_NOPARAM, []) with the body Gos's serializer makes:
// {"topic": TOPIC, "data": DATA}. No attributes: php-amqp's defaults.
// Written from that behaviour; no code of Gos is copied.
//
// Usage: php amqp_push.php HOST PORT EXCHANGE ROUTING_KEY TOPIC JSON_DATA [COUNT]
//   JSON_DATA is decoded (as an array, like Gos's $data) and re-encoded
//   by json_encode in the envelope. With COUNT > 1 the data gets an extra
//   key "n" (0..COUNT-1) when it is an array, so a subscriber can count.
//   Credentials: guest/guest on vhost "/" unless AMQP_LOGIN, AMQP_PASSWORD
//   and AMQP_VHOST are set.
// Prints {"published":COUNT} on success; exits 1 on usage errors, 2 when
// php-amqp is missing, 3 on AMQP errors.

if ($argc < 7) {
    fwrite(STDERR, "usage: php amqp_push.php HOST PORT EXCHANGE ROUTING_KEY TOPIC JSON_DATA [COUNT]\n");
    exit(1);
}
if (!extension_loaded('amqp')) {
    fwrite(STDERR, "php-amqp is not loaded: apt-get install php-amqp\n");
    exit(2);
}

[, $host, $port, $exchangeName, $routingKey, $topic, $json] = $argv;
$count = isset($argv[7]) ? (int) $argv[7] : 1;
$data = json_decode($json, true);
if ($data === null && trim($json) !== 'null') {
    fwrite(STDERR, "JSON_DATA is not valid JSON: " . json_last_error_msg() . "\n");
    exit(1);
}
// Gos 2.x/3.x AbstractPusher::push wraps a string in a list.
if (is_string($data)) {
    $data = [$data];
}

try {
    $connection = new AMQPConnection([
        'host' => $host,
        'port' => (int) $port,
        'login' => getenv('AMQP_LOGIN') ?: 'guest',
        'password' => getenv('AMQP_PASSWORD') ?: 'guest',
        'vhost' => getenv('AMQP_VHOST') ?: '/',
    ]);
    $connection->connect();
    $channel = new AMQPChannel($connection);
    $exchange = new AMQPExchange($channel);
    $exchange->setName($exchangeName);
    $exchange->setType(AMQP_EX_TYPE_DIRECT);
    $exchange->setFlags(AMQP_DURABLE);
    $exchange->declareExchange();

    for ($i = 0; $i < $count; $i++) {
        $d = $data;
        if ($count > 1 && is_array($d)) {
            $d['n'] = $i;
        }
        $body = json_encode(['topic' => $topic, 'data' => $d]);
        $exchange->publish($body, $routingKey, AMQP_NOPARAM, []);
    }
    $connection->disconnect();
} catch (Exception $e) {
    fwrite(STDERR, get_class($e) . ": " . $e->getMessage() . "\n");
    exit(3);
}
echo json_encode(['published' => $count]), "\n";
