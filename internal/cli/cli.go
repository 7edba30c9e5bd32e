// Package cli implements herald's command line: one file per verb. Each
// verb runs with a context, its arguments and its output streams and
// returns an error, so tests call it directly; only main exits.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Run executes the herald command line args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:           "herald",
		Short:         "herald is a real-time WebSocket pub/sub server (WAMP v1, Gos/Oro compatible)",
		SilenceUsage:  true,
		SilenceErrors: true,
		// herald --version (and -v) prints what herald version prints.
		Version: versionLine(readBuildInfo()),
		Args:    unknownCommand,
		// Runnable, so that Args checks the command name; alone, herald
		// prints its help, as cobra does for a root without Run.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newPushCmd(stdout), newServeCmd(stderr), newRoutesCmd(stdout), newVersionCmd(stdout), newPublishCmd(stdout), newCheckCmd(stdout), newTicketCmd(stdout), newBenchCmd(stdout, stderr), newCheckConfigCmd(stdout))
	for _, c := range root.Commands() {
		if c.Args != nil {
			c.Args = usageArgs(c.Args)
		}
	}
	return root.ExecuteContext(ctx)
}

// unknownCommand refuses arguments to herald itself: the first one names
// no command. It suggests the closest commands.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q: %q lists the commands", args[0], cmd.CommandPath()+" help")
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return &usageError{errors.New(msg)}
}

// usageArgs makes the errors of a verb's argument check usage errors
// (exit status 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		if _, ok := errors.AsType[*usageError](err); err == nil || ok {
			return err
		}
		return &usageError{err}
	}
}

// flagError is the flag error function of every verb: a flag that does not
// parse is a usage error (exit status 2) that names the flag and what it
// wants, rather than strconv's message.
func flagError(cmd *cobra.Command, err error) error {
	var (
		invalid *pflag.InvalidValueError
		missing *pflag.ValueRequiredError
		unknown *pflag.NotExistError
	)
	switch {
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		problem := ""
		if errors.Is(err, strconv.ErrRange) {
			problem = "out of range: "
		}
		err = fmt.Errorf("invalid value %q for flag %s: %swant %s", invalid.GetValue(), flagName(f), problem, flagWant(f))
	case errors.As(err, &missing):
		f := missing.GetFlag()
		err = fmt.Errorf("flag %s needs a value: %s", flagName(f), flagWant(f))
	case errors.As(err, &unknown):
		name := "--" + unknown.GetSpecifiedName()
		if group := unknown.GetSpecifiedShortnames(); group != "" {
			name = "-" + unknown.GetSpecifiedName()[:1]
			if len(group) > 1 {
				name += " (in -" + group + ")"
			}
		}
		err = fmt.Errorf("unknown flag %s for %s: %q lists its flags", name, cmd.CommandPath(), cmd.CommandPath()+" --help")
	}
	return &usageError{err}
}

// flagName is "-p/--port", or "--url" for a flag without shorthand.
func flagName(f *pflag.Flag) string {
	if f.Shorthand != "" && f.ShorthandDeprecated == "" {
		return "-" + f.Shorthand + "/--" + f.Name
	}
	return "--" + f.Name
}

// flagWant says what a flag's value must be, from its type.
func flagWant(f *pflag.Flag) string {
	switch t := f.Value.Type(); t {
	case "int", "int8", "int16", "int32", "int64":
		if f.Name == "port" || strings.HasSuffix(f.Name, "-port") {
			return "a port number (integer)"
		}
		return "an integer"
	case "uint", "uint8", "uint16", "uint32", "uint64":
		return "a non-negative integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "duration":
		return "a duration such as 5s, 500ms or 1m30s"
	case "string", "stringSlice":
		return "a string"
	default:
		return "a value of type " + t
	}
}
