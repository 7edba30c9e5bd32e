package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/spf13/cobra"

	wampclient "github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/jsonerr"
	"github.com/heraldws/herald/internal/ws"
)

// maxEventSize bounds the event read from standard input.
const maxEventSize = 64 << 20

// publishOptions are the flags of `herald publish`.
type publishOptions struct {
	client   clientFlags
	eligible []string
	exclude  []string
	verbose  bool
}

func newPublishCmd(stdout io.Writer) *cobra.Command {
	var o publishOptions
	cmd := &cobra.Command{
		Use:   "publish TOPIC [JSON|-]",
		Short: "Publish an event to a topic, as Oro's backend websocket client does",
		Long: `Publish an event to a topic, as Oro's backend client (oro_sync.websocket_client)
does: connect as a WAMP v1 client with an anonymous ticket minted from the
application secret and Origin 127.0.0.1, send [7,TOPIC,EVENT], and close
cleanly (CLOSE 1000, then wait for the server's CLOSE).

EVENT is the JSON argument, or standard input when it is "-" or absent. It
must be valid JSON; it is sent compacted, as structured JSON.

Nothing is printed on success (-v prints the session id). On failure the
exit status is non-zero and one line says why: refused, timed out, TLS,
403 (the server refused the ticket, or forbade the upgrade), or what the
server answered.

  --eligible ID,...   only these session ids may receive the event
  --exclude ID,...    these session ids must not receive it
  -v, --verbose       print the session id on success

` + clientFlagsHelp,
		Example: `  herald publish -c herald.yaml oro/ping '{"msg":"hello"}'
  echo '{"msg":"hello"}' | ORO_WEBSOCKET_BACKEND_DSN=tcp://127.0.0.1:8080 HERALD_SECRET=s herald publish oro/ping
  herald publish --url ws://127.0.0.1:8080/ws --secret s --eligible SID1,SID2 acme/chan '"hi"'`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			if len(args) == 2 && args[1] != "-" {
				data = []byte(args[1])
			} else {
				var err error
				if data, err = readEvent(input(cmd)); err != nil {
					return err
				}
			}
			t, err := o.client.resolve(cmd, os.LookupEnv)
			if err != nil {
				return err
			}
			return runPublish(cmd.Context(), o, t, args[0], data, stdout)
		},
	}
	o.client.register(cmd, true)
	cmd.Flags().StringSliceVar(&o.eligible, "eligible", nil, "only these session ids may receive the event")
	cmd.Flags().StringSliceVar(&o.exclude, "exclude", nil, "these session ids must not receive the event")
	cmd.Flags().BoolVarP(&o.verbose, "verbose", "v", false, "print the session id on success")
	return cmd
}

// readEvent reads the event from standard input.
func readEvent(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxEventSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the event from standard input: %w", err)
	}
	if len(data) > maxEventSize {
		return nil, fmt.Errorf("the event on standard input is larger than %d bytes", maxEventSize)
	}
	return data, nil
}

// compactEvent checks that data is one JSON value and compacts it.
func compactEvent(data []byte) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, fmt.Errorf("the event: %s", jsonerr.Describe(data, err))
	}
	return buf.Bytes(), nil
}

func runPublish(ctx context.Context, o publishOptions, t *clientTarget, topic string, data []byte, stdout io.Writer) error {
	if topic == "" {
		return errors.New("the topic is empty")
	}
	event, err := compactEvent(data)
	if err != nil {
		return err
	}
	if err := t.configured(); err != nil {
		return err
	}
	opts, err := t.options(&o.client)
	if err != nil {
		return err
	}
	// Whatever the server sends that is not WAMP (Oro's "403" refusal of a
	// ticket, a "not allowed" message) means the publication failed.
	var mu sync.Mutex
	var answer []byte
	opts.OnText = func(p []byte) {
		mu.Lock()
		if answer == nil {
			answer = p
		}
		mu.Unlock()
	}
	if o.client.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.client.timeout)
		defer cancel()
	}
	c, err := wampclient.Dial(ctx, t.url, opts)
	if err != nil {
		return t.describe(err, o.client.timeout, opts.Ticket != "")
	}
	var popts []wampclient.PublishOption
	if len(o.eligible) > 0 {
		popts = append(popts, wampclient.Eligible(o.eligible...))
	}
	if len(o.exclude) > 0 {
		popts = append(popts, wampclient.Exclude(o.exclude...))
	}
	pubErr := c.Publish(topic, event, popts...)
	// Close waits for the server's CLOSE, so everything the server sent
	// before it has been seen.
	closeErr := c.Close()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case answer != nil && wampclient.IsForbiddenFrame(answer):
		return t.describe(&wampclient.CheckError{Reason: wampclient.CheckForbidden, Err: wampclient.ErrTicketRefused}, o.client.timeout, opts.Ticket != "")
	case answer != nil:
		return &lineError{msg: oneLine("the server answered: " + strconv.Quote(truncateText(answer)))}
	case pubErr != nil:
		return &lineError{msg: oneLine("publishing to " + t.url + ": " + pubErr.Error()), err: pubErr}
	}
	if code, reason := c.CloseStatus(); code != 0 && code != ws.CloseNormal && code != ws.CloseNoStatus {
		msg := fmt.Sprintf("the server closed the connection with %d", code)
		if reason != "" {
			msg += " " + strconv.Quote(reason)
		}
		return &lineError{msg: msg}
	}
	if closeErr != nil {
		return &lineError{msg: oneLine("closing: " + closeErr.Error()), err: closeErr}
	}
	if o.verbose {
		fmt.Fprintln(stdout, c.SessionID())
	}
	return nil
}

// truncateText shortens a server's text for an error line.
func truncateText(p []byte) string {
	if len(p) > 200 {
		return string(p[:200]) + "..."
	}
	return string(p)
}
