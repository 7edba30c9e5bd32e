package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldws/herald/auth"
)

// ticketOptions are the flags of `herald ticket`.
type ticketOptions struct {
	client       clientFlags
	passwordHash string
	json         bool
}

func newTicketCmd(stdout io.Writer) *cobra.Command {
	var o ticketOptions
	cmd := &cobra.Command{
		Use:   "ticket [USERNAME]",
		Short: "Mint an Oro Sync authentication ticket",
		Long: `Mint an Oro Sync authentication ticket from the application secret, exactly as
Oro's TicketProvider does, and print it (base64). It is valid for 300 s by
default; browsers pass it as ?ticket=... (URL-escaped).

Without USERNAME the ticket is anonymous (signed with the secret itself).
A user ticket is signed with the password hash stored for the user in the
application's database (Oro: oro_user.password, what user->getPassword()
returns), never the plain password:

  --password-hash HASH   the user's stored password hash ("-" reads it from
                         the first line of standard input, which keeps it
                         out of the process list)
  --json                 print {"ticket":"..."}, as Oro's POST /sync/ticket

The secret, first match wins: --secret, HERALD_SECRET, auth.secret of the
-c FILE. There is no ticket without a secret.

  -c, --config FILE     herald's configuration file
      --secret S        application secret (Oro's kernel.secret)`,
		Example: `  herald ticket -c herald.yaml
  HERALD_SECRET=s herald ticket --json
  herald ticket --secret s admin --password-hash '$2y$13$...'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := o.client.resolve(cmd, os.LookupEnv)
			if err != nil {
				return err
			}
			username := ""
			if len(args) == 1 {
				username = args[0]
			}
			if o.passwordHash == "-" {
				line, err := bufio.NewReader(input(cmd)).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("reading the password hash from standard input: %w", err)
				}
				o.passwordHash = strings.TrimRight(line, "\r\n")
			}
			return runTicket(o, t.secret, username, stdout)
		},
	}
	o.client.register(cmd, false)
	cmd.Flags().StringVar(&o.passwordHash, "password-hash", "", `the user's stored password hash ("-": read from standard input)`)
	cmd.Flags().BoolVar(&o.json, "json", false, `print {"ticket":"..."} as Oro's /sync/ticket does`)
	return cmd
}

func runTicket(o ticketOptions, secret, username string, stdout io.Writer) error {
	if secret == "" {
		return fmt.Errorf("no secret: give --secret, %s, or -c FILE with auth.secret", secretEnv)
	}
	password := secret
	switch {
	case username == "" && o.passwordHash != "":
		return errors.New("--password-hash is for user tickets: give the USERNAME too")
	case username != "" && o.passwordHash == "":
		return fmt.Errorf("a ticket for %q needs the user's stored password hash: --password-hash HASH", username)
	case username != "":
		password = o.passwordHash
	}
	ticket, err := auth.NewTicket(secret, username, password, time.Now())
	if err != nil {
		return err
	}
	if !o.json {
		_, err = fmt.Fprintln(stdout, ticket.Encode())
		return err
	}
	b, err := json.Marshal(struct {
		Ticket string `json:"ticket"`
	}{ticket.Encode()})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
