package config

import "strings"

// gosIgnored lists the keys of GosWebSocketBundle's gos_web_socket tree
// (1.x and 3.x) that herald accepts without using them, each with the
// reason shown in its start-up warning, so that a section copied from a
// Symfony application loads instead of failing on keys that have no
// meaning outside PHP. A path ending in ".*" covers every key below it
// that herald does not know.
var gosIgnored = map[string]string{
	"client": "Symfony session authentication (client.session_handler, firewall, storage) is not needed: " +
		"herald authenticates with Oro tickets or JWT (see the auth section)",
	"authentication": "Symfony session authentication (authentication.providers, storage) is not needed: " +
		"herald authenticates with Oro tickets or JWT (see the auth section)",
	"ping": "Doctrine/PDO connection pings keep PHP's database connections alive; " +
		"herald holds none between lookups (auth.users has its own pool)",
	"websocket_client": "the deprecated Symfony backend client; herald publish and herald check take " +
		"--url or ORO_WEBSOCKET_BACKEND_DSN",
	"shared_config": "Twig globals for the JavaScript client; herald renders no Twig",
	"assetic":       "Assetic integration for the JavaScript client; herald serves no assets",
	"rpc":           "PHP RPC service ids; bind route callbacks under handlers instead",
	"topics":        "PHP topic service ids; bind route callbacks under handlers instead",
	"periodic":      "PHP periodic service ids; use a ping handler or the HTTP API instead",
	"servers":       "PHP server service ids; herald is the server",

	"pushers.amqp.default": "unused by GosWebSocketBundle too; remove it",
	"pushers.zmq.default":  "unused by GosWebSocketBundle too; remove it",
	"pushers.zmq.persistent": "a PHP ZMQContext setting; herald's ZMQ sockets live as long as the process " +
		"anyway",
	"server.tls.options.*": "a PHP SSL context option herald does not use (it reads local_cert and " +
		"local_pk; the rest are client-side or PHP-specific)",
}

// gosIgnoredKey reports whether the key at path is one of gosIgnored, and
// why herald ignores it.
func gosIgnoredKey(path string) (string, bool) {
	if why, ok := gosIgnored[path]; ok {
		return why, true
	}
	for p, why := range gosIgnored {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(path, prefix) {
			return why, true
		}
	}
	return "", false
}

// exactGosKey reports whether path itself, not a wildcard, is in
// gosIgnored. A key matched only by a wildcard that is close to a key
// herald knows is taken as a typo of it, and stays an error.
func exactGosKey(path string) bool {
	_, ok := gosIgnored[path]
	return ok
}

// Warnings returns what was accepted but not used, one warning per key,
// in file order. herald serve logs each at start-up.
func (c *Config) Warnings() []*Warning { return c.warnings }
