package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/heraldws/herald/server"
)

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print herald's version, commit and Go version (as herald --version does)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(stdout, versionLine(readBuildInfo()))
			return err
		},
	}
}

// readBuildInfo is the binary's build information, nil when it has none.
func readBuildInfo() *debug.BuildInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return info
}

// versionLine is what `herald version` and `herald --version` print:
//
//	herald v0.2.0 (commit 1a2b3c4, go1.26.8)                  a release build
//	herald 0.1.0-dev (devel, commit 1a2b3c4-dirty, go1.26.8)  a build of a changed checkout
//	herald 0.1.0-dev (go1.26.8)                               no build information
//
// The version is the main module's (what go install @VERSION records), else
// server.Version; the commit is vcs.revision cut to 7 characters, with
// "-dirty" when vcs.modified says the tree had changes.
func versionLine(info *debug.BuildInfo) string {
	if info == nil {
		return fmt.Sprintf("herald %s (%s)", server.Version, runtime.Version())
	}
	version := server.Version
	var details []string
	switch v := info.Main.Version; v {
	case "", "(devel)":
		details = append(details, "devel")
	default:
		version = v
	}
	if commit := vcsCommit(info.Settings); commit != "" {
		details = append(details, "commit "+commit)
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	details = append(details, goVersion)
	return fmt.Sprintf("herald %s (%s)", version, strings.Join(details, ", "))
}

// vcsCommit is the short revision of the build settings, with "-dirty" for
// a modified tree; "" when the build recorded none.
func vcsCommit(settings []debug.BuildSetting) string {
	var revision string
	modified := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision == "" {
		return ""
	}
	if len(revision) > 7 {
		revision = revision[:7]
	}
	if modified {
		revision += "-dirty"
	}
	return revision
}
