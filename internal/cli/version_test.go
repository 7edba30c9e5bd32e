package cli

import (
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/heraldws/herald/server"
)

func TestVersion(t *testing.T) {
	want := versionLine(readBuildInfo()) + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		var stdout, stderr syncBuffer
		if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("Run(%q) = %v", args, err)
		}
		if out := stdout.String(); out != want {
			t.Errorf("%q printed %q, want %q", args, out, want)
		}
		if stderr.String() != "" {
			t.Errorf("%q: stderr = %q, want empty", args, stderr.String())
		}
	}
	// The test binary has build information: the main module, in
	// development, built by this Go.
	if readBuildInfo() == nil {
		t.Fatal("no build information in the test binary")
	}
	if !strings.HasPrefix(want, "herald ") || !strings.Contains(want, runtime.Version()+")") || strings.Count(want, "\n") != 1 {
		t.Errorf("version line %q", want)
	}
}

func TestVersionLine(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	const rev = "41efb0e8a6ea31eac92d238299c2afd13b7883f7"
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"release from a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.2.0"}, Settings: settings("vcs", "git", "vcs.revision", rev, "vcs.modified", "false")},
			"herald v0.2.0 (commit 41efb0e, go1.26.8)"},
		{"go install @version: no VCS", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.2.0"}},
			"herald v0.2.0 (go1.26.8)"},
		{"changed checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", rev, "vcs.modified", "true")},
			"herald " + server.Version + " (devel, commit 41efb0e-dirty, go1.26.8)"},
		{"pseudo-version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202183250-41efb0e8a6ea+dirty"}, Settings: settings("vcs.revision", rev, "vcs.modified", "true")},
			"herald v0.0.0-20261202183250-41efb0e8a6ea+dirty (commit 41efb0e-dirty, go1.26.8)"},
		{"no main version, no VCS", &debug.BuildInfo{GoVersion: "go1.26.8"},
			"herald " + server.Version + " (devel, go1.26.8)"},
		{"short revision kept whole", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.0.0"}, Settings: settings("vcs.revision", "abc")},
			"herald v1.0.0 (commit abc, go1.26.8)"},
		{"Go version unknown", &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}},
			"herald v1.0.0 (" + runtime.Version() + ")"},
		{"no build information", nil,
			"herald " + server.Version + " (" + runtime.Version() + ")"},
	}
	for _, tt := range tests {
		if got := versionLine(tt.info); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	err := runErr(t, "frobnicate")
	if !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("error %q does not name the command", err)
	}
}
