package config

import (
	"fmt"
	"strconv"
	"strings"
)

// ServerDSNEnv is the environment variable of Oro's server DSN, which
// ApplyServerDSN parses.
const ServerDSNEnv = "ORO_WEBSOCKET_SERVER_DSN"

// ApplyServerDSN sets Server.Host and Server.Port from an Oro server DSN
// such as "//0.0.0.0:8080", "tcp://127.0.0.1:8081" or "//[::1]:8080". The
// scheme is optional and must be tcp when given; the port defaults to 8080;
// a path or query is ignored. An empty host is an error, because Oro treats
// it as "websocket server disabled". On error c is unchanged.
func (c *Config) ApplyServerDSN(dsn string) error {
	rest := strings.TrimSpace(dsn)
	if scheme, after, ok := strings.Cut(rest, "://"); ok {
		if !strings.EqualFold(scheme, "tcp") {
			return fmt.Errorf("%s %q: unsupported scheme %q (want tcp; for TLS set server.tls)", ServerDSNEnv, dsn, scheme)
		}
		rest = after
	} else {
		rest = strings.TrimPrefix(rest, "//")
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if strings.Contains(rest, "@") {
		return fmt.Errorf("%s %q: user information is not supported", ServerDSNEnv, dsn)
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			return fmt.Errorf("%s %q: missing ']' in IPv6 address", ServerDSNEnv, dsn)
		}
		host, port = rest[1:end], rest[end+1:]
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return fmt.Errorf("%s %q: unexpected %q after IPv6 address", ServerDSNEnv, dsn, port)
			}
			port = port[1:]
		}
	} else if strings.Count(rest, ":") > 1 {
		return fmt.Errorf("%s %q: write an IPv6 address in brackets, as //[::1]:8080", ServerDSNEnv, dsn)
	} else if h, p, ok := strings.Cut(rest, ":"); ok {
		host, port = h, p
	}
	if host == "" {
		return fmt.Errorf("%s %q has no host: Oro treats this as \"websocket server disabled\"", ServerDSNEnv, dsn)
	}
	portNum := defaultPort
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s %q: invalid port %q (want 1..65535)", ServerDSNEnv, dsn, port)
		}
		portNum = n
	}
	c.Server.Host, c.Server.Port = host, portNum
	c.SetBy("server.host", ServerDSNEnv)
	c.SetBy("server.port", ServerDSNEnv)
	return nil
}
