package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	wampclient "github.com/heraldws/herald/client"
)

func newCheckCmd(stdout io.Writer) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that the WebSocket server accepts a session, as Oro's ConnectionChecker",
		Long: `Check that the WebSocket server accepts a session, as Oro's ConnectionChecker
(oro_sync.client.connection_checker) does: connect as the backend client does
(an anonymous ticket from the secret, Origin 127.0.0.1), wait for the WELCOME,
then close cleanly.

After the WELCOME it waits up to 500 ms for a refusal: Oro, and herald by
default, refuse a bad ticket only after the WELCOME, with a text frame
holding "403".

On success it prints "ok: URL (session ID)" and exits 0. Otherwise it exits
non-zero with one line saying why:
  not configured: the websocket host is empty   (host "" or "null")
  refused: ...                 nothing accepts connections there
  timed out: ...               no handshake and WELCOME within --timeout
  TLS: ...                     the TLS handshake failed
  403: the server refused the ticket
  403: forbidden: ...          HTTP 403 before the upgrade (origin, ticket)
  handshake failed: ...        another HTTP status, or not a WebSocket server
  protocol error: ...          no WELCOME

` + clientFlagsHelp,
		Example: `  herald check -c herald.yaml
  ORO_WEBSOCKET_BACKEND_DSN=tcp://127.0.0.1:8080 HERALD_SECRET=s herald check
  herald check --url wss://example.com/ws --timeout 2s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := f.resolve(cmd, os.LookupEnv)
			if err != nil {
				return err
			}
			return runCheck(cmd.Context(), &f, t, stdout)
		},
	}
	f.register(cmd, true)
	return cmd
}

func runCheck(ctx context.Context, f *clientFlags, t *clientTarget, stdout io.Writer) error {
	if err := t.configured(); err != nil {
		return err
	}
	opts, err := t.options(f)
	if err != nil {
		return err
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	sid, err := wampclient.CheckSession(ctx, t.url, opts)
	if err != nil {
		return t.describe(err, f.timeout, opts.Ticket != "")
	}
	fmt.Fprintf(stdout, "ok: %s (session %s)\n", t.url, sid)
	return nil
}
