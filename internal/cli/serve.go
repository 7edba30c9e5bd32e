package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldws/herald/internal/config"
	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/wamp"
)

// serveOptions are the flags of `herald serve`, named as
// gos:websocket:server's.
type serveOptions struct {
	configPath string
	host       string
	port       int
	portSet    bool   // --port was given, even as 0
	pprof      string // address of the profiling listener; off when empty
}

func newServeCmd(stderr io.Writer) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the WebSocket server",
		Long: `Run the WebSocket server.

With no configuration it listens on 127.0.0.1:8080 and every topic is an
open broadcast topic. ORO_WEBSOCKET_SERVER_DSN (for example //0.0.0.0:8080)
overrides the file's host and port; --host and --port override both.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.portSet = cmd.Flags().Changed("port")
			return runServe(cmd.Context(), o, stderr)
		},
	}
	cmd.Flags().StringVarP(&o.configPath, "config", "c", "", "configuration file (YAML)")
	cmd.Flags().StringVarP(&o.host, "host", "a", "", "address to listen on (overrides server.host)")
	cmd.Flags().IntVarP(&o.port, "port", "p", 0, "port to listen on (overrides server.port)")
	cmd.Flags().StringVar(&o.pprof, "pprof", "", "serve Go's /debug/pprof/ profiles on this address (e.g. 127.0.0.1:6060); keep it private")
	return cmd
}

// loadServeConfig reads the configuration as serve runs it (see
// readServeConfig) and validates it.
func loadServeConfig(o serveOptions) (*config.Config, error) {
	cfg, err := readServeConfig(o)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// readServeConfig reads the file, then applies ORO_WEBSOCKET_SERVER_DSN,
// then the flags. It does not validate.
func readServeConfig(o serveOptions) (*config.Config, error) {
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return nil, err
	}
	if dsn := os.Getenv("ORO_WEBSOCKET_SERVER_DSN"); dsn != "" {
		if err := cfg.ApplyServerDSN(dsn); err != nil {
			return nil, err
		}
	}
	if o.host != "" {
		cfg.Server.Host = o.host
		cfg.SetBy("server.host", "flag -a/--host")
	}
	if o.portSet {
		cfg.Server.Port = o.port
		cfg.SetBy("server.port", "flag -p/--port")
	}
	return cfg, nil
}

func runServe(ctx context.Context, o serveOptions, stderr io.Writer) error {
	cfg, err := loadServeConfig(o)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range cfg.Warnings() {
		log.Warn(w.Error())
	}
	tlsConfig, err := cfg.TLSConfig()
	if err != nil {
		return err
	}
	prefixMode, err := wamp.ParsePrefixMode(cfg.WAMP.PrefixMode)
	if err != nil {
		return err
	}
	rt, err := loadRouting(cfg)
	if err != nil {
		return err
	}
	authenticator, closeUsers, err := buildAuth(cfg)
	if err != nil {
		return err
	}
	defer closeUsers()
	authFailure, err := server.ParseAuthFailureMode(cfg.Auth.OnFailure)
	if err != nil {
		return err
	}
	var blocked []netip.Prefix
	if cfg.Server.IPAddressCheck {
		if blocked, err = cfg.BlockedPrefixes(); err != nil {
			return cfg.Errorf("blocked_ip_addresses", "%w", err)
		}
	}
	trusted, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return cfg.Errorf("server.trusted_proxies", "%w", err)
	}
	srv, err := server.New(server.Config{
		OriginCheck:       cfg.Server.OriginCheck,
		Origins:           cfg.Origins,
		KeepalivePing:     cfg.Server.KeepalivePing,
		KeepaliveInterval: cfg.Server.KeepaliveInterval.D(),
		PrefixMode:        prefixMode,
		MaxConnections:    cfg.Server.MaxConnections,
		MaxMessageSize:    int(cfg.Server.MaxMessageSize),
		MaxQueueSize:      int(cfg.Server.MaxQueueSize),
		MaxSubscriptions:  unlimitedIfZero(cfg.Server.MaxSubscriptions),
		MaxPrefixes:       unlimitedIfZero(cfg.Server.MaxPrefixes),
		MaxTopicLength:    unlimitedIfZero(int(cfg.Server.MaxTopicLength)),
		MaxTopics:         cfg.Server.MaxTopics,
		MaxConnectionRate: cfg.Server.MaxConnectionRate,
		MaxMessageRate:    cfg.Server.MaxMessagesRate,
		TrustedProxies:    trusted,
		ProxyProtocol:     cfg.Server.ProxyProtocol,
		HandshakeTimeout:  cfg.Server.HandshakeTimeout.D(),
		WriteTimeout:      cfg.Server.WriteTimeout.D(),
		Realms:            cfg.WAMP.Realms,
		CRAUsers:          craUsers(cfg.WAMP.CRAUsers),
		NodeID:            cfg.Server.NodeID,
		Router:            rt.router,
		Handlers:          rt.handlers,
		UnknownTopic:      rt.unknown,
		Authenticator:     authenticator,
		AuthFailure:       authFailure,
		APIKey:            cfg.API.Key,
		APIMaxBody:        int64(cfg.API.MaxBodySize),
		BlockedIPs:        blocked,
		Broker:            brokerFactory(cfg.Broker, cfg.Server.NodeID, log),
		Logger:            log,
	})
	if err != nil {
		return err
	}
	handlers, err := pushHandlers(cfg, log)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		srv.Shutdown(context.Background())
		return fmt.Errorf("listening on %s: %w", cfg.Addr(), err)
	}
	ln = srv.Listener(ln)
	if tlsConfig == nil {
		// Upgrades are served as soon as they are read, outside net/http.
		ln = srv.UpgradeListener(ln)
	}
	httpSrv := srv.HTTPServer(cfg.Addr())
	httpSrv.TLSConfig = tlsConfig

	scheme := "ws"
	if tlsConfig != nil {
		scheme = "wss"
	}
	log.Info("herald listening", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String()+"/", "version", server.Version)
	if authenticator == nil {
		log.Warn("no auth.secret: tickets are not checked, every connection is anonymous")
	}
	if cfg.API.Key == "" {
		log.Info("the HTTP API is off (no api.key)")
	}
	if cfg.Broker.Type != "" && cfg.Broker.Type != "memory" {
		log.Info("broker", "type", cfg.Broker.Type, "url", cfg.Broker.URL)
	}
	if rt.router == nil {
		log.Warn("no routing configured (server.router.resources): every topic is an open broadcast topic, PUBLISH broadcasts to its subscribers and CALL answers CALLERROR")
	} else {
		log.Info("routes loaded", "routes", len(rt.router.Routes()), "unknown_topic", rt.unknown.String())
	}

	if o.pprof != "" {
		stopProfiling, err := serveProfiles(o.pprof, log)
		if err != nil {
			srv.Shutdown(context.Background())
			ln.Close()
			return err
		}
		defer stopProfiling()
	}
	pushes := startPushHandlers(handlers, srv, cfg.Pushers.EventsWebhook, log)
	served := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			served <- httpSrv.ServeTLS(ln, "", "")
		} else {
			served <- httpSrv.Serve(ln)
		}
	}()
	select {
	case err := <-served:
		pushes.stop()
		srv.Shutdown(context.Background())
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout.D().String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	httpErr := httpSrv.Shutdown(sctx)
	pushes.stop()
	wsErr := srv.Shutdown(sctx)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	if err := errors.Join(httpErr, wsErr); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	log.Info("stopped")
	return nil
}

// unlimitedIfZero maps a configuration limit, where 0 means unlimited, to
// server.Config's, where zero means the default and a negative value
// unlimited.
func unlimitedIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// craUsers turns wamp.cra_users into the server's WAMP-CRA users.
func craUsers(users []config.CRAUser) []server.CRAUser {
	if len(users) == 0 {
		return nil
	}
	out := make([]server.CRAUser, len(users))
	for i, u := range users {
		iterations, keyLen := u.Derivation()
		out[i] = server.CRAUser{
			AuthID: u.AuthID, Secret: u.Secret, Role: u.Role,
			Salt: u.Salt, Iterations: iterations, KeyLen: keyLen,
		}
	}
	return out
}

// newLogger builds the process logger from the log section.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if strings.EqualFold(c.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serveProfiles serves net/http/pprof's handlers on addr, on a listener of
// their own so they never share the public port. It returns the function
// that stops it.
func serveProfiles(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	log.Info("profiles served", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() {
		hs.Close()
		<-done
	}, nil
}
