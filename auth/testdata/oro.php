<?php
// Reference behaviour for herald's auth tests, written for php-cli with
// Debian's php-symfony-password-hasher. It re-implements, with the real
// Symfony hasher and PHP's own built-ins, what OroSyncBundle does:
//   TicketProvider::generateTicket + TicketDigestGenerator  (mode "mint")
//   WebsocketAuthenticationByTicketProvider::authenticate   (mode "verify")
// plus the PHP built-ins the Go code mirrors (modes "hash", "b64",
// "parsestr", "strtotime").
//
// Usage: php oro.php AUTOLOAD MODE < input.json > output.json
// Binary-unsafe values travel base64-encoded (fields ending in _b64).

declare(strict_types=1);

use Symfony\Component\PasswordHasher\Hasher\MessageDigestPasswordHasher;

if ($argc < 3) {
    fwrite(STDERR, "usage: php oro.php AUTOLOAD MODE < input.json\n");
    exit(2);
}
require $argv[1];
$mode = $argv[2];
$in = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);

// Oro's oro_sync.authentication.encoder.
function hasher(): MessageDigestPasswordHasher
{
    static $h = null;
    return $h ??= new MessageDigestPasswordHasher('sha512', true, 5000);
}

// TicketDigestGenerator::generateDigest
function digest(string $nonce, string $created, string $password, string $secret): string
{
    return hasher()->hash($nonce . '|' . $created . '|' . $password, $secret);
}

// TicketProvider::generateTicket; $user is null or [username, password hash].
function mint(string $secret, ?array $user, int $skew): string
{
    $created = date('c', time() + $skew);
    $nonce = substr(md5(uniqid(gethostname() . '_', true)), 0, 16);
    if ($user === null) {
        [$username, $password] = ['', $secret];
    } else {
        [$username, $password] = $user;
    }
    $d = digest($nonce, $created, $password, $secret);
    return base64_encode(implode(';', [$d, $username, $nonce, $created]));
}

// WebsocketAuthenticationByTicketProvider::authenticate with its user
// provider reduced to a map username => password hash. Returns the user name
// ("" for anonymous) or throws with Oro's message (digest left out).
function verify(string $query, string $secret, array $users, int $ttl): string
{
    parse_str($query, $q);
    if (isset($q['ticket'])) {
        $ticket = base64_decode((string)$q['ticket']);
    }
    if (empty($ticket) || substr_count($ticket, ';') < 3) {
        throw new RuntimeException('Authentication ticket has invalid format');
    }
    [$digest, $username, $nonce, $created] = explode(';', $ticket);

    $createdTime = strtotime($created);
    $now = strtotime(date('c'));
    if ($createdTime > $now && $createdTime - $now > 30) {
        throw new RuntimeException("created in the future");
    }
    if ($now - $createdTime > $ttl) {
        throw new RuntimeException("expired");
    }
    $password = $secret;
    if ($username) {
        if (!array_key_exists($username, $users)) {
            throw new RuntimeException("user not found");
        }
        $password = $users[$username];
    }
    if ($digest !== digest($nonce, $created, $password, $secret)) {
        throw new RuntimeException("invalid digest");
    }
    return $username;
}

$out = [];
switch ($mode) {
    case 'hash':
        foreach ($in as $c) {
            try {
                $out[] = ['hash' => hasher()->hash(base64_decode($c['plain_b64']), base64_decode($c['salt_b64']))];
            } catch (Throwable $e) {
                $out[] = ['error' => get_class($e) . ': ' . $e->getMessage()];
            }
        }
        break;
    case 'mint':
        foreach ($in as $c) {
            date_default_timezone_set($c['tz'] ?? 'UTC');
            $user = isset($c['username']) ? [$c['username'], $c['password']] : null;
            $out[] = ['ticket' => mint($c['secret'], $user, $c['skew'] ?? 0)];
        }
        break;
    case 'verify':
        foreach ($in as $c) {
            date_default_timezone_set($c['tz'] ?? 'UTC');
            try {
                $u = verify($c['query'], $c['secret'], $c['users'] ?? [], $c['ttl'] ?? 300);
                $out[] = ['ok' => true, 'username' => $u];
            } catch (RuntimeException $e) {
                $out[] = ['ok' => false, 'reason' => $e->getMessage()];
            }
        }
        break;
    case 'strtotime':
        date_default_timezone_set('UTC');
        foreach ($in as $s) {
            $out[] = strtotime($s);
        }
        break;
    case 'b64':
        foreach ($in as $s) {
            $out[] = bin2hex(base64_decode(base64_decode($s)));
        }
        break;
    case 'parsestr':
        foreach ($in as $s) {
            parse_str(base64_decode($s), $q);
            if (!array_key_exists('ticket', $q)) {
                $out[] = ['kind' => 'none'];
            } elseif (is_array($q['ticket'])) {
                $out[] = ['kind' => 'array'];
            } else {
                $out[] = ['kind' => 'string', 'hex' => bin2hex($q['ticket'])];
            }
        }
        break;
    default:
        fwrite(STDERR, "unknown mode $mode\n");
        exit(2);
}
echo json_encode($out, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES), "\n";
