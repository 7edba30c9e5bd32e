package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldws/herald/auth"
	wampclient "github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/config"
)

// Environment variables the client verbs read.
const (
	// secretEnv holds the application secret when --secret is not given.
	secretEnv = "HERALD_SECRET"
	// backendDSNEnv is Oro's backend client DSN, such as
	// tcp://127.0.0.1:8080 or ssl://example.com:443/ws.
	backendDSNEnv = "ORO_WEBSOCKET_BACKEND_DSN"
)

// defaultClientURL is where the client verbs connect without -c, --url or
// ORO_WEBSOCKET_BACKEND_DSN.
const defaultClientURL = "ws://127.0.0.1:8080/"

// errNotConfigured is Oro's ConnectionChecker verdict for an empty or
// "null" host.
var errNotConfigured = errors.New("not configured: the websocket host is empty")

// inputOverride, when set, replaces standard input for the client verbs
// (tests set it: Run takes no input stream).
var inputOverride io.Reader

// input returns what the verb reads as standard input.
func input(cmd *cobra.Command) io.Reader {
	if inputOverride != nil {
		return inputOverride
	}
	return cmd.InOrStdin()
}

// clientFlagsHelp documents the flags that clientFlags registers with
// the connection flags.
const clientFlagsHelp = `Where to connect, first match wins:
  --url ws://HOST:PORT/PATH   (or wss://)
  ORO_WEBSOCKET_BACKEND_DSN   Oro's backend DSN, e.g. tcp://127.0.0.1:8080 or
                              ssl://example.com:443/ws (tcp means ws://, ssl
                              and tls mean wss://; port 8080 by default;
                              ?user_agent=... sets User-Agent and
                              context_options[verify_peer]=0 skips
                              certificate verification)
  -c FILE                     server.host, server.port and server.tls.enabled
                              of herald's configuration file; a host of
                              0.0.0.0 or :: means 127.0.0.1 or ::1
  otherwise                   ws://127.0.0.1:8080/
An empty host, or "null", is "not configured", as Oro's ConnectionChecker says.

The application secret (Oro's kernel.secret), first match wins: --secret,
HERALD_SECRET, auth.secret of the -c FILE. With a secret, the connection
carries an anonymous ticket minted from it, as Oro's backend client does;
without one it carries no ticket.

Client flags:
  -c, --config FILE     herald's configuration file
      --url URL         server URL (overrides the rest)
      --secret S        application secret (or HERALD_SECRET)
      --timeout D       bound for connecting and the whole exchange (default 5s)
      --origin O        Origin header (default 127.0.0.1, as Oro's backend
                        client; "" sends none)
      --insecure        do not verify the server's TLS certificate`

// clientFlags are the flags the client verbs share.
type clientFlags struct {
	configPath string
	url        string
	secret     string
	timeout    time.Duration
	origin     string
	insecure   bool
}

// register adds -c and --secret to cmd, and with conn the flags that say
// where and how to connect.
func (f *clientFlags) register(cmd *cobra.Command, conn bool) {
	fs := cmd.Flags()
	fs.StringVarP(&f.configPath, "config", "c", "", "herald configuration file: server address and auth.secret")
	fs.StringVar(&f.secret, "secret", "", "application secret, Oro's kernel.secret (default $"+secretEnv+", then auth.secret)")
	if !conn {
		return
	}
	fs.StringVar(&f.url, "url", "", "server URL, ws://HOST:PORT/PATH or wss://... (overrides $"+backendDSNEnv+" and -c)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "bound for connecting and the whole exchange")
	fs.StringVar(&f.origin, "origin", "127.0.0.1", `Origin header ("" sends none)`)
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the server's TLS certificate")
}

// clientTarget is what the client flags resolve to.
type clientTarget struct {
	// url is the server URL, without a ticket.
	url string
	// host is the URL's host name, for the "not configured" rule.
	host string
	// secret is the application secret; "" when unknown.
	secret string
	// userAgent, from the backend DSN, is sent when not empty.
	userAgent string
	// insecure skips TLS certificate verification.
	insecure bool
}

// resolve applies the precedence rules documented in clientFlagsHelp.
// lookupEnv is os.LookupEnv outside tests.
func (f *clientFlags) resolve(cmd *cobra.Command, lookupEnv func(string) (string, bool)) (*clientTarget, error) {
	var cfg *config.Config
	if f.configPath != "" {
		var err error
		if cfg, err = config.Load(f.configPath); err != nil {
			return nil, err
		}
	}
	t := &clientTarget{insecure: f.insecure}

	// The secret.
	switch env, _ := lookupEnv(secretEnv); {
	case cmd.Flags().Changed("secret"):
		t.secret = f.secret
	case env != "":
		t.secret = env
	case cfg != nil:
		t.secret = cfg.Auth.Secret
	}

	// The address.
	dsn, _ := lookupEnv(backendDSNEnv)
	switch {
	case f.url != "":
		u, err := url.Parse(f.url)
		if err != nil {
			return nil, fmt.Errorf("--url: %w", err)
		}
		if u.Scheme != "ws" && u.Scheme != "wss" {
			return nil, fmt.Errorf("--url %q: the scheme must be ws or wss", f.url)
		}
		t.url, t.host = f.url, u.Hostname()
	case strings.TrimSpace(dsn) != "":
		if err := t.applyBackendDSN(dsn); err != nil {
			return nil, err
		}
	case cfg != nil:
		host := strings.TrimSuffix(strings.TrimPrefix(cfg.Server.Host, "["), "]")
		switch host {
		case "0.0.0.0":
			host = "127.0.0.1"
		case "::":
			host = "::1"
		}
		scheme := "ws"
		if cfg.Server.TLS.Enabled {
			scheme = "wss"
		}
		t.host = host
		t.url = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(cfg.Server.Port)) + "/"
	default:
		t.url, t.host = defaultClientURL, "127.0.0.1"
	}
	return t, nil
}

// applyBackendDSN reads Oro's backend DSN as Oro's DsnBasedParameters and
// WebsocketClientParametersProvider do: scheme tcp (the default), ssl or
// tls; host; port (default 8080); path trimmed of "/"; query user_agent and
// context_options[...].
func (t *clientTarget) applyBackendDSN(dsn string) error {
	rest := strings.TrimSpace(dsn)
	scheme := "tcp"
	if s, after, ok := strings.Cut(rest, "://"); ok {
		scheme, rest = strings.ToLower(s), after
	} else {
		rest = strings.TrimPrefix(rest, "//")
	}
	wsScheme := ""
	switch scheme {
	case "tcp":
		wsScheme = "ws"
	case "ssl", "tls":
		wsScheme = "wss"
	default:
		return fmt.Errorf("%s %q: unsupported scheme %q (want tcp, ssl or tls)", backendDSNEnv, dsn, scheme)
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	hostPort, path, _ := strings.Cut(rest, "/")
	host, port := hostPort, ""
	if strings.HasPrefix(hostPort, "[") {
		end := strings.Index(hostPort, "]")
		if end < 0 {
			return fmt.Errorf("%s %q: missing ']' in IPv6 address", backendDSNEnv, dsn)
		}
		host, port = hostPort[1:end], strings.TrimPrefix(hostPort[end+1:], ":")
	} else if h, p, ok := strings.Cut(hostPort, ":"); ok {
		host, port = h, p
	}
	portNum := 8080
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s %q: invalid port %q", backendDSNEnv, dsn, port)
		}
		portNum = n
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("%s %q: %w", backendDSNEnv, dsn, err)
	}
	t.userAgent = q.Get("user_agent")
	for _, opt := range []string{"context_options[verify_peer]", "context_options[verify_peer_name]"} {
		if v, ok := q[opt]; ok && phpFalse(v[len(v)-1]) {
			t.insecure = true
		}
	}
	t.host = host
	u := url.URL{Scheme: wsScheme, Host: net.JoinHostPort(host, strconv.Itoa(portNum)), Path: "/" + strings.Trim(path, "/")}
	t.url = u.String()
	return nil
}

// phpFalse reports whether a query value is false for PHP's boolean cast
// (and "false", which Oro's configuration takes as false).
func phpFalse(v string) bool {
	switch strings.ToLower(v) {
	case "", "0", "false", "off", "no":
		return true
	}
	return false
}

// configured returns errNotConfigured for an empty or "null" host.
func (t *clientTarget) configured() error {
	if t.host == "" || strings.EqualFold(t.host, "null") {
		return errNotConfigured
	}
	return nil
}

// options returns the client options for the target: Origin, User-Agent,
// TLS, the dial timeout and an anonymous ticket when the secret is known.
func (t *clientTarget) options(f *clientFlags) (wampclient.Options, error) {
	opts := wampclient.Options{Header: http.Header{}, DialTimeout: f.timeout}
	if f.origin != "" {
		opts.Header.Set("Origin", f.origin)
	}
	if t.userAgent != "" {
		opts.Header.Set("User-Agent", t.userAgent)
	}
	if t.insecure {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if t.secret != "" {
		ticket, err := auth.NewTicket(t.secret, "", t.secret, time.Now())
		if err != nil {
			return opts, fmt.Errorf("the secret cannot sign tickets: %w", err)
		}
		opts.Ticket = ticket.Encode()
	}
	return opts, nil
}

// describe turns an error of client.Dial or client.Check into the single
// line the client verbs print.
func (t *clientTarget) describe(err error, timeout time.Duration, ticketSent bool) error {
	ce := wampclient.ClassifyError(err)
	detail := strings.TrimPrefix(ce.Err.Error(), "client: ")
	var msg string
	var he *wampclient.HandshakeError
	switch ce.Reason {
	case wampclient.CheckRefused:
		msg = "refused: " + t.url + ": " + detail
	case wampclient.CheckTimeout:
		msg = fmt.Sprintf("timed out: %s did not complete the handshake and WELCOME within %v", t.url, timeout)
	case wampclient.CheckTLS:
		msg = "TLS: " + t.url + ": " + detail
	case wampclient.CheckForbidden:
		switch {
		case errors.Is(err, wampclient.ErrTicketRefused) && ticketSent:
			msg = "403: the server refused the ticket (" + t.url + "; is the secret Oro's kernel.secret?)"
		case errors.Is(err, wampclient.ErrTicketRefused):
			msg = "403: the server refused a connection without a ticket (" + t.url + "; give --secret, " + secretEnv + " or -c)"
		case errors.As(err, &he) && strings.TrimSpace(he.Body) != "":
			msg = "403: forbidden: " + t.url + ": " + strings.TrimSpace(he.Body)
		default:
			msg = "403: forbidden: " + t.url
		}
	case wampclient.CheckHandshake:
		msg = "handshake failed: " + t.url + ": " + detail
	case wampclient.CheckProtocol:
		msg = "protocol error: " + t.url + ": " + detail
	case wampclient.CheckURL:
		msg = "bad URL: " + detail
	default:
		msg = ce.Reason + ": " + t.url + ": " + detail
	}
	return &lineError{msg: oneLine(msg), err: err}
}

// lineError is a one-line message for the user over the error behind it.
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// oneLine joins the lines of s.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", "")), " ")
}
