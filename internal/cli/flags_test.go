package cli

import (
	"strings"
	"testing"
)

// Every verb reports a flag that does not parse the same way: the flag,
// the value and what it wants, as a usage error (exit status 2), before
// doing anything.
func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "-p", "notaport"}, `invalid value "notaport" for flag -p/--port: want a port number (integer)`},
		{[]string{"serve", "--port=notaport"}, `invalid value "notaport" for flag -p/--port: want a port number (integer)`},
		{[]string{"serve", "-p", "99999999999999999999"}, `invalid value "99999999999999999999" for flag -p/--port: out of range: want a port number (integer)`},
		{[]string{"serve", "-p"}, `flag -p/--port needs a value: a port number (integer)`},
		{[]string{"serve", "--nope"}, `unknown flag --nope for herald serve: "herald serve --help" lists its flags`},
		{[]string{"serve", "-xp", "1"}, `unknown flag -x (in -xp) for herald serve: "herald serve --help" lists its flags`},
		{[]string{"check", "--timeout", "soon"}, `invalid value "soon" for flag --timeout: want a duration such as 5s, 500ms or 1m30s`},
		{[]string{"publish", "--insecure=maybe", "t", "1"}, `invalid value "maybe" for flag --insecure: want true or false`},
		{[]string{"ticket", "--json=2"}, `invalid value "2" for flag --json: want true or false`},
		{[]string{"push", "--via"}, `flag --via needs a value: a string`},
		{[]string{"bench", "--conns", "many"}, `invalid value "many" for flag --conns: want an integer`},
		{[]string{"bench", "--rate", "fast"}, `invalid value "fast" for flag --rate: want a number`},
		{[]string{"routes", "-c"}, `flag -c/--config needs a value: a string`},
		{[]string{"version", "--short"}, `unknown flag --short for herald version`},
		{[]string{"--bogus"}, `unknown flag --bogus for herald: "herald --help" lists its flags`},
	} {
		err := runErr(t, tc.args...)
		if err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: %q\nwant %q", tc.args, err, tc.want)
		}
		if code := ExitCode(err); code != ExitUsage {
			t.Errorf("%q: exit status %d, want %d", tc.args, code, ExitUsage)
		}
	}
}

// A wrong number of arguments and an unknown command are usage errors too.
func TestArgumentErrorsAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"routes", "a", "b"}, "accepts at most 1 arg(s), received 2"},
		{[]string{"serve", "extra"}, `unknown command "extra" for "herald serve"`},
		{[]string{"publish"}, "accepts between 1 and 2 arg(s), received 0"},
		{[]string{"frobnicate"}, `unknown command "frobnicate": "herald help" lists the commands`},
		{[]string{"serv"}, `unknown command "serv": "herald help" lists the commands; did you mean "serve"?`},
		{[]string{"bench", "ws://127.0.0.1:1/", "ws://127.0.0.1:2/"}, "at most one argument"},
	} {
		err := runErr(t, tc.args...)
		if !strings.Contains(err.Error(), tc.want) || ExitCode(err) != ExitUsage {
			t.Errorf("%q: %q (exit %d), want exit %d and %q", tc.args, err, ExitCode(err), ExitUsage, tc.want)
		}
	}
	// herald alone prints its help and succeeds (main passes an empty,
	// non-nil list; cobra reads os.Args for a nil one).
	out, err := runOut(t, []string{}...)
	if err != nil || !strings.Contains(out, "Available Commands:") || !strings.Contains(out, "serve") {
		t.Errorf("herald alone: %v\n%s", err, out)
	}
}
