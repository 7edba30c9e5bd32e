package cli

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/heraldws/herald/server"
)

func TestVersion(t *testing.T) {
	var stdout, stderr syncBuffer
	if err := Run(context.Background(), []string{"version"}, &stdout, &stderr); err != nil {
		t.Fatalf("Run(version) = %v", err)
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "herald "+server.Version+" ") || !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("version output %q, want one line starting with %q", out, "herald "+server.Version)
	}
	if !strings.Contains(out, runtime.Version()) {
		t.Errorf("version output %q does not contain %s", out, runtime.Version())
	}
	if stderr.String() != "" {
		t.Errorf("stderr = %q, want empty", stderr.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	err := runErr(t, "frobnicate")
	if !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("error %q does not name the command", err)
	}
}
