// Package cli implements herald's command line: one file per verb. Each
// verb runs with a context, its arguments and its output streams and
// returns an error, so tests call it directly; only main exits.
package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// Run executes the herald command line args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:           "herald",
		Short:         "herald is a real-time WebSocket pub/sub server (WAMP v1, Gos/Oro compatible)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newPushCmd(stdout), newServeCmd(stderr), newRoutesCmd(stdout), newVersionCmd(stdout), newPublishCmd(stdout), newCheckCmd(stdout), newTicketCmd(stdout), newBenchCmd(stdout, stderr), newCheckConfigCmd(stdout))
	return root.ExecuteContext(ctx)
}
