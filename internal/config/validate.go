package config

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
)

var nodeIDRE = regexp.MustCompile(`^[0-9a-f]{8}$`)

// Validate checks c and returns every problem found, joined with
// errors.Join, each naming its key path. It loads the TLS certificate and
// key when TLS is enabled. It does not modify c.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, c.Errorf(path, format, args...))
	}
	s := &c.Server
	if strings.TrimSpace(s.Host) == "" {
		bad("server.host", "must not be empty (use 0.0.0.0 or :: to listen on all interfaces)")
	}
	if s.Port < 1 || s.Port > 65535 {
		bad("server.port", "%d is out of range 1..65535", s.Port)
	}
	if s.KeepaliveInterval < 0 {
		bad("server.keepalive_interval", "%s is negative", s.KeepaliveInterval)
	} else if s.KeepalivePing && s.KeepaliveInterval == 0 {
		bad("server.keepalive_interval", "must be positive when server.keepalive_ping is true")
	}
	if s.TLS.Enabled {
		if _, err := c.loadTLS(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.MaxConnections < 0 {
		bad("server.max_connections", "%d is negative (0 means unlimited)", s.MaxConnections)
	}
	if s.MaxMessageSize < minMaxMessageSize {
		bad("server.max_message_size", "%d bytes is too small (at least %d)", int64(s.MaxMessageSize), minMaxMessageSize)
	}
	for _, l := range []struct {
		path string
		v    float64
	}{
		{"server.max_subscriptions", float64(s.MaxSubscriptions)},
		{"server.max_prefixes", float64(s.MaxPrefixes)},
		{"server.max_topic_length", float64(s.MaxTopicLength)},
		{"server.max_topics", float64(s.MaxTopics)},
		{"server.max_connection_rate", s.MaxConnectionRate},
		{"server.max_messages_rate", s.MaxMessagesRate},
	} {
		if l.v < 0 {
			bad(l.path, "%g is negative (0 means unlimited)", l.v)
		}
	}
	for i, p := range s.TrustedProxies {
		if _, err := parsePrefixes([]string{p}); err != nil {
			bad(fmt.Sprintf("server.trusted_proxies[%d]", i), "%v", err)
		}
	}
	if s.MaxQueueSize <= 0 {
		bad("server.max_queue_size", "%d bytes is not positive", int64(s.MaxQueueSize))
	}
	for _, d := range []struct {
		path string
		v    Duration
	}{
		{"server.handshake_timeout", s.HandshakeTimeout},
		{"server.write_timeout", s.WriteTimeout},
		{"server.shutdown_timeout", s.ShutdownTimeout},
	} {
		if d.v <= 0 {
			bad(d.path, "%s is not positive", d.v)
		}
	}
	if s.NodeID != "" && !nodeIDRE.MatchString(s.NodeID) {
		bad("server.node_id", "%q is not 8 lowercase hexadecimal characters", s.NodeID)
	}
	for i, o := range c.Origins {
		if strings.TrimSpace(o) == "" {
			bad(fmt.Sprintf("origins[%d]", i), "must not be empty")
		}
	}
	if c.WAMP.PrefixMode != PrefixRatchet && c.WAMP.PrefixMode != PrefixSpec {
		bad("wamp.prefix_mode", "%q is not one of ratchet, spec", c.WAMP.PrefixMode)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	errs = append(errs, c.validateWAMP()...)
	errs = append(errs, c.validateRouting()...)
	errs = append(errs, c.validateAuth()...)
	errs = append(errs, c.validatePushers()...)
	errs = append(errs, c.validateBroker()...)
	// In file order: a person fixes them from the top.
	slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(lineOf(a), lineOf(b)) })
	return errors.Join(errs...)
}

// lineOf is the line an error names, or a line after every other for one
// that names none (set by a flag, or about a key absent from the file).
func lineOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok && e.Line > 0 {
		return e.Line
	}
	return math.MaxInt
}

// TLSConfig returns the server TLS configuration, or nil when TLS is
// disabled. It loads the certificate and key from disk on every call. The
// result offers only HTTP/1.1 in ALPN, since WebSocket upgrades need it.
func (c *Config) TLSConfig() (*tls.Config, error) {
	if !c.Server.TLS.Enabled {
		return nil, nil
	}
	cert, err := c.loadTLS()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}, nil
}

const errEncrypted = "encrypted private keys are not supported; decrypt the key"

// loadTLS reads the certificate and key files. Errors name the key and
// its line.
func (c *Config) loadTLS() (tls.Certificate, error) {
	const p = "server.tls.options."
	o := c.Server.TLS.Options
	if o.Passphrase != "" {
		return tls.Certificate{}, c.Errorf(p+"passphrase", errEncrypted)
	}
	if o.LocalCert == "" {
		return tls.Certificate{}, c.Errorf(p+"local_cert", "required when server.tls.enabled is true")
	}
	certPEM, err := os.ReadFile(o.LocalCert)
	if err != nil {
		return tls.Certificate{}, c.Errorf(p+"local_cert", "%w", err)
	}
	keyPEM, keyPath := certPEM, "local_cert"
	if o.LocalPK != "" {
		keyPath = "local_pk"
		if keyPEM, err = os.ReadFile(o.LocalPK); err != nil {
			return tls.Certificate{}, c.Errorf(p+"local_pk", "%w", err)
		}
	}
	if encryptedPEM(keyPEM) {
		return tls.Certificate{}, c.Errorf(p+keyPath, errEncrypted)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if o.LocalPK == "" {
			return tls.Certificate{}, c.Errorf(p+"local_cert", "%q: %w (local_pk is empty, so the file must hold the private key too)", o.LocalCert, err)
		}
		return tls.Certificate{}, c.Errorf(p+"local_cert", "%q with local_pk %q: %w", o.LocalCert, o.LocalPK, err)
	}
	return cert, nil
}

// encryptedPEM reports whether data holds an encrypted private key, either
// PKCS#8 ("ENCRYPTED PRIVATE KEY") or legacy OpenSSL (Proc-Type header).
func encryptedPEM(data []byte) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			return true
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return false
		}
	}
}
