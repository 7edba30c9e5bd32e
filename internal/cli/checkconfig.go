package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/heraldws/herald/internal/config"
)

func newCheckConfigCmd(stdout io.Writer) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "checkconfig [-c FILE]",
		Short: "Check a configuration as herald serve would load it, connecting to nothing",
		Long: `Load and validate everything herald serve would: the configuration file
(after ORO_WEBSOCKET_SERVER_DSN and the --host/--port flags, as serve applies
them), the routing files and their handlers, the TLS certificate and key,
the auth section, the broker section and the pushers' settings. Nothing is
connected to: no database, broker, RabbitMQ or port.

It prints the keys herald accepts but ignores as warnings, then one summary
line and exits 0; or it prints every problem, one per line with its
file:line, and exits 1.`,
		Example: `  herald checkconfig -c /etc/herald/herald.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.portSet = cmd.Flags().Changed("port")
			return runCheckConfig(o, stdout)
		},
	}
	cmd.Flags().StringVarP(&o.configPath, "config", "c", "", "configuration file (YAML)")
	cmd.Flags().StringVarP(&o.host, "host", "a", "", "address to listen on, as for serve")
	cmd.Flags().IntVarP(&o.port, "port", "p", 0, "port to listen on, as for serve")
	return cmd
}

// checkError reports how many problems checkconfig printed.
type checkError struct {
	file     string
	problems int
}

func (e *checkError) Error() string {
	word := "problems"
	if e.problems == 1 {
		word = "problem"
	}
	return fmt.Sprintf("%s: %d %s: not ready to serve", e.file, e.problems, word)
}

func runCheckConfig(o serveOptions, stdout io.Writer) error {
	file := o.configPath
	if file == "" {
		file = "(no file: the defaults)"
	}
	cfg, err := readServeConfig(o)
	if err != nil {
		return report(stdout, file, err)
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stdout, "warning:", w)
	}
	if err := cfg.Validate(); err != nil {
		// The later steps build on a valid file.
		return report(stdout, file, err)
	}
	var problems []error
	rt, err := loadRouting(cfg)
	problems = append(problems, err)
	authenticator, closeUsers, err := buildAuth(cfg)
	problems = append(problems, err)
	if closeUsers != nil {
		closeUsers()
	}
	quiet := slog.New(slog.DiscardHandler)
	handlers, err := pushHandlers(cfg, quiet)
	problems = append(problems, err)
	if err := errors.Join(problems...); err != nil {
		return report(stdout, file, err)
	}

	parts := []string{"listens on " + cfg.Addr()}
	if cfg.Server.TLS.Enabled {
		parts[0] += " (TLS)"
	}
	if rt.router == nil {
		parts = append(parts, "no routing (every topic an open broadcast topic)")
	} else {
		parts = append(parts, fmt.Sprintf("%d routes from %d resources (unknown topics: %s)", len(rt.router.Routes()), len(cfg.Server.Router.Resources), rt.unknown))
	}
	parts = append(parts, describeAuth(cfg, authenticator != nil))
	broker := cfg.Broker.Type
	if broker == "" {
		broker = "memory"
	}
	parts = append(parts, "broker "+broker)
	var names []string
	for _, h := range handlers {
		names = append(names, h.Name())
	}
	if len(names) == 0 {
		names = []string{"none"}
	}
	parts = append(parts, "push handlers: "+strings.Join(names, ", "))
	if cfg.API.Key != "" {
		parts = append(parts, "HTTP API on")
	} else {
		parts = append(parts, "HTTP API off")
	}
	if n := len(cfg.Warnings()); n > 0 {
		parts = append(parts, fmt.Sprintf("%d warnings", n))
	}
	fmt.Fprintf(stdout, "ok: %s: %s\n", file, strings.Join(parts, "; "))
	return nil
}

// report prints every problem of err (each error errors.Join joined), its
// further lines indented, and returns the checkError that makes the exit
// status 1.
func report(stdout io.Writer, file string, err error) error {
	problems := flatten(err)
	for _, p := range problems {
		first, rest, _ := strings.Cut(strings.TrimSpace(p.Error()), "\n")
		fmt.Fprintln(stdout, "problem:", first)
		for line := range strings.SplitSeq(rest, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				fmt.Fprintln(stdout, "  ", line)
			}
		}
	}
	return &checkError{file: file, problems: len(problems)}
}

// flatten lists the errors that errors.Join joined in err, recursively.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// describeAuth says who may connect, for the summary line.
func describeAuth(cfg *config.Config, checked bool) string {
	a := cfg.Auth
	if !checked {
		return "auth: none (every connection anonymous)"
	}
	var what []string
	if a.Secret != "" {
		users := a.Users.Type
		if users == "" {
			users = "none"
		}
		what = append(what, "Oro tickets (users: "+users+")")
	}
	if len(a.JWT.Algorithms) > 0 {
		what = append(what, "JWT "+strings.Join(a.JWT.Algorithms, "/"))
	}
	if a.Anonymous {
		what = append(what, "anonymous allowed")
	}
	return "auth: " + strings.Join(what, ", ")
}
