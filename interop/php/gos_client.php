<?php
// A php-cli WAMP v1 peer that speaks on the wire exactly like the Gos PHP WAMP
// client (GeniusesOfSymfony/WebSocketPhpClient, Wamp/Client.php and
// Wamp/PayloadGenerator.php), the client behind GosWebSocketBundle's WAMP
// pusher. Written from that client's behaviour; no code of it is copied.
//
// What is kept on purpose, because herald must cope with it:
//   - the handshake: absolute-form "GET ws://HOST:PORT/ HTTP/1.1",
//     "Upgrade: WebSocket", bare-host "Origin: 127.0.0.1", subprotocol wamp;
//   - the WELCOME is read the way Gos reads it: fgets() the status line, then
//     stream_get_contents() of only the bytes PHP already buffered, then the
//     text from the first '[' on is json_decoded. The WELCOME must arrive in
//     the same TCP read as the 101, or this fails with "Could not extract
//     response body from stream." (exit 2);
//   - masked text frames with 7/16/64-bit lengths, PHP json_encode output;
//   - disconnect(): masked CLOSE 1000 "ttfn", then a blocking fread() until
//     the server answers, then a second CLOSE "Close acknowledged: N".
//
// Gos itself reads no frames after the WELCOME; the modes that wait for
// EVENT / CALLRESULT / CALLERROR use a plain RFC 6455 frame reader.
//
// Usage: php gos_client.php HOST PORT MODE ARGS...
//   connect-only                       print {"session":SID}
//   connect-many N                     N sequential connect+disconnect;
//                                      print {"n":N,"failures":F,"errors":[...]}
//   subscribe TOPIC N                  print each EVENT payload on TOPIC as one
//                                      JSON line, exit after N. "ready SID" goes
//                                      to stderr once the subscription is in place.
//   publish TOPIC EVENT_JSON [EXTRA_JSON]
//                                      send [7,TOPIC,EVENT,...EXTRA], disconnect as
//                                      Gos does, print {"session","close_ms",...}
//   subpub TOPIC EVENT_JSON [EXTRA_JSON]
//                                      subscribe TOPIC, publish like "publish", then
//                                      print {"session","own_events":[...]}: the
//                                      events on TOPIC this client got back itself
//   call PROC ARGS_JSON                send [2,callId,PROC,...ARGS]; print the
//                                      CALLRESULT/CALLERROR frame as one line
//
// Exit codes: 0 ok, 1 usage or I/O error, 2 WELCOME failure, 3 timeout.

error_reporting(E_ALL);

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xA;

function fail(string $msg, int $code = 1): void
{
    fwrite(STDERR, $msg."\n");
    exit($code);
}

function out($value): void
{
    fwrite(STDOUT, json_encode($value, JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION)."\n");
    fflush(STDOUT);
}

final class WelcomeFailure extends Exception
{
}

final class GosLikeClient
{
    /** @var resource|null */
    private $socket;
    private string $host;
    private int $port;
    private string $origin;
    public ?string $sessionId = null;
    public string $rawWelcome = '';

    public function __construct(string $host, int $port)
    {
        $this->host = $host;
        $this->port = $port;
        $this->origin = $host; // Gos: origin defaults to the bare host
    }

    public function connect(string $target = '/'): string
    {
        $socket = @stream_socket_client("tcp://{$this->host}:{$this->port}", $errno, $errstr);
        if ($socket === false) {
            throw new RuntimeException("Could not open socket. Reason: $errstr", $errno);
        }
        $this->socket = $socket;

        $key = base64_encode(substr(md5((string) mt_rand(), true), 0, 16));
        $out = "GET ws://{$this->host}:{$this->port}{$target} HTTP/1.1\r\n";
        $out .= "Host: {$this->host}:{$this->port}\r\n";
        $out .= "Pragma: no-cache\r\n";
        $out .= "Cache-Control: no-cache\r\n";
        $out .= "Upgrade: WebSocket\r\n";
        $out .= "Connection: Upgrade\r\n";
        $out .= "Sec-WebSocket-Key: $key\r\n";
        $out .= "Sec-WebSocket-Protocol: wamp\r\n";
        $out .= "Sec-WebSocket-Version: 13\r\n";
        $out .= "Origin: {$this->origin}\r\n\r\n";
        fwrite($socket, $out);

        $status = fgets($socket);
        if ($status === false) {
            throw new WelcomeFailure('WAMP Server did not respond properly');
        }
        if (substr($status, 0, 12) !== 'HTTP/1.1 101') {
            throw new WelcomeFailure(sprintf('Unexpected response status. Expected "HTTP/1.1 101", got "%s".', substr($status, 0, 12)));
        }

        // Gos read(): only what PHP has already buffered, no further socket read.
        $body = stream_get_contents($socket, stream_get_meta_data($socket)['unread_bytes']);
        if ($body === false) {
            throw new WelcomeFailure('The stream buffer could not be read.');
        }
        $this->rawWelcome = $body;
        $start = strpos($body, '[');
        $end = strpos($body, ']');
        if ($start === false || $end === false) {
            throw new WelcomeFailure('Could not extract response body from stream.');
        }
        // Gos passes the absolute offset of ']' as the length: effectively "to the end".
        $payload = json_decode(substr($body, $start, $end));
        if (!is_array($payload) || 0 !== $payload[0]) {
            throw new WelcomeFailure('WAMP Server did not send a welcome message.');
        }

        return $this->sessionId = $payload[1];
    }

    public static function encodeFrame(string $payload, int $opcode): string
    {
        $len = strlen($payload);
        $b1 = 0x80 | $opcode;
        if ($len <= 125) {
            $head = pack('CC', $b1, 0x80 | $len);
        } elseif ($len <= 0xffff) {
            $head = pack('CCn', $b1, 0x80 | 126, $len);
        } else {
            $head = pack('CCNN', $b1, 0x80 | 127, ($len >> 32) & 0xffffffff, $len & 0xffffffff);
        }
        $key = random_bytes(4);
        $masked = '';
        for ($i = 0; $i < $len; ++$i) {
            $masked .= $payload[$i] ^ $key[$i % 4];
        }

        return $head.$key.$masked;
    }

    /** @param mixed $data an array (json_encode'd like Gos) or a scalar sent as is */
    public function send($data, int $opcode = OP_TEXT): void
    {
        $payload = is_array($data) ? json_encode($data) : (string) $data;
        if ($payload === false) {
            throw new RuntimeException('The data could not be encoded: '.json_last_error_msg());
        }
        $encoded = self::encodeFrame($payload, $opcode);
        $written = 0;
        while ($written < strlen($encoded)) {
            $n = @fwrite($this->socket, substr($encoded, $written));
            if ($n === false || $n === 0) {
                throw new RuntimeException('write failed');
            }
            $written += $n;
        }
    }

    private function readExactly(int $n): string
    {
        $buf = '';
        while (strlen($buf) < $n) {
            $chunk = fread($this->socket, $n - strlen($buf));
            if ($chunk === false || $chunk === '') {
                $meta = stream_get_meta_data($this->socket);
                if ($meta['timed_out']) {
                    throw new RuntimeException('timed out reading from server');
                }
                if (feof($this->socket)) {
                    throw new RuntimeException('connection closed by server');
                }
                continue;
            }
            $buf .= $chunk;
        }

        return $buf;
    }

    /** @return array{0:int,1:string} opcode and payload of the next whole message */
    public function readMessage(): array
    {
        $opcode = null;
        $data = '';
        while (true) {
            $h = unpack('C2', $this->readExactly(2));
            $fin = ($h[1] & 0x80) !== 0;
            $op = $h[1] & 0x0f;
            $len = $h[2] & 0x7f;
            if ($len === 126) {
                $len = unpack('n', $this->readExactly(2))[1];
            } elseif ($len === 127) {
                $p = unpack('N2', $this->readExactly(8));
                $len = ($p[1] << 32) | $p[2];
            }
            $key = ($h[2] & 0x80) ? $this->readExactly(4) : null;
            $payload = $len > 0 ? $this->readExactly($len) : '';
            if ($key !== null) {
                for ($i = 0; $i < $len; ++$i) {
                    $payload[$i] = $payload[$i] ^ $key[$i % 4];
                }
            }
            if ($op >= 0x8) { // control frames may interleave with fragments
                if ($op === OP_PING) {
                    $this->send($payload, OP_PONG);
                    continue;
                }
                if ($op === OP_PONG) {
                    continue;
                }

                return [$op, $payload];
            }
            if ($op !== OP_CONT) {
                $opcode = $op;
            }
            $data .= $payload;
            if ($fin) {
                return [$opcode, $data];
            }
        }
    }

    /** Read until a text message whose decoded array satisfies $pred. */
    public function readUntil(callable $pred): array
    {
        while (true) {
            [$op, $payload] = $this->readMessage();
            if ($op === OP_CLOSE) {
                throw new RuntimeException('server closed the connection: '.bin2hex($payload));
            }
            if ($op !== OP_TEXT) {
                continue;
            }
            $msg = json_decode($payload);
            if (is_array($msg) && $pred($msg)) {
                return [$msg, $payload];
            }
        }
    }

    /**
     * Gos disconnect(): CLOSE 1000 "ttfn", a blocking one-byte fread() for the
     * server's answer, a second fread() of "that many" bytes, then
     * "Close acknowledged: N" and fclose(). Returns what was seen.
     */
    public function disconnect(): array
    {
        $t0 = hrtime(true);
        $this->send(pack('n', 1000).'ttfn', OP_CLOSE);
        $firstByte = fread($this->socket, 1);
        $got = ($firstByte === false) ? '' : $firstByte;
        $payload = '';
        if ($firstByte !== false && $firstByte !== '') {
            // Gos takes the frame's first byte as the payload length.
            $payload = fread($this->socket, ord($firstByte));
            if ($payload === false) {
                $payload = '';
            }
            $got .= $payload;
            if (strlen($payload) >= 2) {
                $status = (ord($payload[0]) << 8) | ord($payload[1]);
                try {
                    $this->send($payload[0].$payload[1].'Close acknowledged: '.$status, OP_CLOSE);
                } catch (RuntimeException $e) {
                    // the server may already have dropped TCP; Gos ignores that too
                }
            }
        }
        $ms = (hrtime(true) - $t0) / 1e6;
        fclose($this->socket);
        $this->socket = null;

        return ['close_ms' => round($ms, 3), 'close_bytes' => bin2hex($got)];
    }

    public function abort(): void
    {
        if ($this->socket !== null) {
            fclose($this->socket);
            $this->socket = null;
        }
    }
}

function decodeArg(string $json, string $what)
{
    $v = json_decode($json);
    if ($v === null && trim($json) !== 'null') {
        fail("$what is not valid JSON: $json");
    }

    return $v;
}

/** Subscribes to $topic and waits until the server has taken the subscription. */
function subscribeAndSync(GosLikeClient $c, string $topic): void
{
    // SUBSCRIBE has no reply. Messages on one connection are handled in
    // order, so once our own EVENT on a private topic comes back, the
    // SUBSCRIBE before it is in place.
    $sync = 'interop/sync/'.$c->sessionId;
    $c->send([5, $topic]);
    $c->send([5, $sync]);
    $c->send([7, $sync, 'sync']);
    $c->readUntil(fn ($m) => $m[0] === 8 && $m[1] === $sync);
}

$argv = $_SERVER['argv'];
if (count($argv) < 4) {
    fail('usage: php gos_client.php HOST PORT MODE ARGS...');
}
[, $host, $port, $mode] = $argv;
$args = array_slice($argv, 4);
$port = (int) $port;

// Bound every blocking read: Gos relies on default_socket_timeout (60 s).
$timeout = (int) (getenv('GOS_CLIENT_TIMEOUT') ?: 60);
ini_set('default_socket_timeout', (string) $timeout);

$client = new GosLikeClient($host, $port);
try {
    switch ($mode) {
        case 'connect-only':
            $sid = $client->connect();
            $client->disconnect();
            out(['session' => $sid]);
            break;

        case 'connect-many':
            $n = (int) ($args[0] ?? 20);
            $failures = 0;
            $errors = [];
            for ($i = 0; $i < $n; ++$i) {
                $c = new GosLikeClient($host, $port);
                try {
                    $c->connect();
                    $c->disconnect();
                } catch (WelcomeFailure $e) {
                    ++$failures;
                    $errors[] = ['i' => $i, 'error' => $e->getMessage(), 'buffered' => bin2hex($c->rawWelcome)];
                    $c->abort();
                }
            }
            out(['n' => $n, 'failures' => $failures, 'errors' => $errors]);
            break;

        case 'subscribe':
            if (count($args) < 2) {
                fail('usage: subscribe TOPIC N');
            }
            [$topic, $n] = [$args[0], (int) $args[1]];
            $client->connect();
            subscribeAndSync($client, $topic);
            fwrite(STDERR, 'ready '.$client->sessionId."\n");
            for ($i = 0; $i < $n; ++$i) {
                [$msg] = $client->readUntil(fn ($m) => $m[0] === 8 && $m[1] === $topic);
                out($msg[2]);
            }
            $client->disconnect();
            break;

        case 'publish':
        case 'subpub':
            if (count($args) < 2) {
                fail("usage: $mode TOPIC EVENT_JSON [EXTRA_JSON]");
            }
            $topic = $args[0];
            $event = decodeArg($args[1], 'EVENT_JSON');
            $extra = isset($args[2]) ? decodeArg($args[2], 'EXTRA_JSON') : [];
            if (!is_array($extra)) {
                fail('EXTRA_JSON must be a JSON list');
            }
            $sid = $client->connect();
            $result = ['session' => $sid];
            if ($mode === 'subpub') {
                subscribeAndSync($client, $topic);
            }
            $client->send(array_merge([7, $topic, $event], $extra));
            if ($mode === 'subpub') {
                // Our own EVENTs on $topic, if any, are queued before the
                // answer to this second publication on the private topic.
                $sync = 'interop/sync/'.$sid;
                $client->send([7, $sync, 'done']);
                $own = [];
                while (true) {
                    [$msg] = $client->readUntil(fn ($m) => $m[0] === 8 && ($m[1] === $topic || $m[1] === $sync));
                    if ($msg[1] === $sync) {
                        break;
                    }
                    $own[] = $msg[2];
                }
                $result['own_events'] = $own;
            }
            $result += $client->disconnect();
            out($result);
            break;

        case 'call':
            if (count($args) < 2) {
                fail('usage: call PROC ARGS_JSON');
            }
            $proc = $args[0];
            $callArgs = decodeArg($args[1], 'ARGS_JSON');
            if (!is_array($callArgs)) {
                $callArgs = [$callArgs];
            }
            $client->connect();
            $callId = uniqid('', true);
            $client->send(array_merge([2, $callId, $proc], $callArgs));
            [, $raw] = $client->readUntil(fn ($m) => ($m[0] === 3 || $m[0] === 4) && $m[1] === $callId);
            fwrite(STDOUT, $raw."\n");
            $client->disconnect();
            break;

        default:
            fail("unknown mode $mode");
    }
} catch (WelcomeFailure $e) {
    fwrite(STDERR, 'buffered after status line: '.bin2hex($client->rawWelcome)."\n");
    fail($e->getMessage(), 2);
} catch (RuntimeException $e) {
    $code = str_contains($e->getMessage(), 'timed out') ? 3 : 1;
    fail($mode.': '.$e->getMessage(), $code);
}
