package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/config"
	"github.com/heraldws/herald/internal/ws"
)

const (
	systemdInstall = "apt-get install systemd" // Debian ships systemd-analyze and systemd-sysusers in it
	// maxExposure is the highest `systemd-analyze security` exposure the
	// unit may have, in tenths (the tool's --threshold unit): 2.0 of 10.
	maxExposure = 20
	// wantNOFILE is the unit's LimitNOFILE: the kernel's default fs.nr_open.
	wantNOFILE = 1048576
)

// installedUnit writes a copy of herald.service whose ExecStart runs the
// built herald, since systemd-analyze checks that the binary exists, and
// returns its path.
func installedUnit(t *testing.T) string {
	t.Helper()
	text := substituteLine(t, readDeployFile(t, "herald.service"), "ExecStart="+installedBinary+" ", "ExecStart="+heraldBin+" ")
	return writeFile(t, t.TempDir(), "herald.service", text)
}

func TestUnitVerifies(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", systemdInstall)
	path := installedUnit(t)
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", path, err, out)
	}
	// verify exits 0 on unknown keys and bad values too, printing
	// "herald.service:N: ..." and ignoring the line: any word about the
	// unit is a failure. Lines about the host's other units are only logged.
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "herald.service") {
			t.Errorf("systemd-analyze verify: %s", strings.TrimSpace(line))
		} else {
			t.Logf("systemd-analyze verify (another unit): %s", strings.TrimSpace(line))
		}
	}
}

func TestUnitExposure(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", systemdInstall)
	path := installedUnit(t)
	out, err := exec.Command(analyze, "security", "--offline=true", "--threshold="+strconv.Itoa(maxExposure), path).CombinedOutput()
	summary := lastLine(string(out))
	if err != nil {
		t.Fatalf("systemd-analyze security: %v: exposure over %.1f (restore the hardening of herald.service)\n%s", err, float64(maxExposure)/10, out)
	}
	if !strings.Contains(summary, "Overall exposure level for herald.service") {
		t.Fatalf("systemd-analyze security printed no exposure for herald.service:\n%s", out)
	}
	t.Log(summary)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestUnitSettings checks what the unit promises in its comments and what
// docs/deploy.md relies on.
func TestUnitSettings(t *testing.T) {
	u := readUnit(t)
	if got := u.value("Service", "LimitNOFILE"); got != strconv.Itoa(wantNOFILE) {
		t.Errorf("LimitNOFILE=%s, want %d", got, wantNOFILE)
	}
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if nrOpen, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && nrOpen < wantNOFILE {
			t.Logf("this machine's fs.nr_open is %d: LimitNOFILE=%d needs it raised (docs/deploy.md)", nrOpen, wantNOFILE)
		}
	}
	if got := u.value("Service", "Restart"); got != "on-failure" {
		t.Errorf("Restart=%s, want on-failure", got)
	}
	if got := u.value("Service", "ExecReload"); got != "" {
		t.Errorf("ExecReload=%s: herald cannot reload its configuration; a change needs a restart", got)
	}
	if got := u.value("Service", "Type"); got != "exec" {
		t.Errorf("Type=%s, want exec (herald does not notify systemd; exec reports a missing binary as a failed start)", got)
	}
	if user, group := u.value("Service", "User"), u.value("Service", "Group"); user != "herald" || group != "herald" {
		t.Errorf("User=%s Group=%s, want the herald user and group of herald.sysusers", user, group)
	}
	if got := u.value("Service", "CapabilityBoundingSet"); got != "" {
		t.Errorf("CapabilityBoundingSet=%s: herald listens on port 8080 behind the proxy and needs no capability", got)
	}

	stop := timespan(t, "TimeoutStopSec", u.value("Service", "TimeoutStopSec"))
	cfg, err := config.Load("herald.yaml")
	if err != nil {
		t.Fatalf("deploy/herald.yaml: %v", err)
	}
	if shutdown := cfg.Server.ShutdownTimeout.D(); stop <= shutdown {
		t.Errorf("TimeoutStopSec=%v is not above herald.yaml's server.shutdown_timeout %v: systemd would SIGKILL herald in the middle of its graceful stop", stop, shutdown)
	}
}

// TestUnitStopsHeraldGracefully runs the unit's ExecStart with
// deploy/herald.yaml and stops it with the unit's KillSignal, as systemctl
// stop does: the connected browser gets close code 1001 and herald exits 0
// before TimeoutStopSec, when systemd would send SIGKILL.
func TestUnitStopsHeraldGracefully(t *testing.T) {
	u := readUnit(t)
	port := freePort(t)
	h := startHeraldFromUnit(t, u, port)
	url := "ws://127.0.0.1:" + strconv.Itoa(port) + "/"

	// herald.yaml turns the origin check on for the application's host.
	_, err := client.Dial(t.Context(), url, client.Options{Header: originHeader("https://evil.example.com")})
	var refused *client.HandshakeError
	if !errors.As(err, &refused) || refused.StatusCode != 403 {
		t.Fatalf("a page of another site connected (or failed otherwise): %v; want HTTP 403 from origin_check", err)
	}
	browser, err := client.Dial(t.Context(), url, client.Options{Header: originHeader(origin)})
	if err != nil {
		t.Fatalf("a page of %s could not connect: %v", origin, err)
	}
	defer browser.Close()

	stopTimeout := timespan(t, "TimeoutStopSec", u.value("Service", "TimeoutStopSec"))
	took, err := h.stop(t, u.killSignal(t), stopTimeout)
	if err != nil {
		t.Fatalf("herald did not exit 0 on %v: %v", u.killSignal(t), err)
	}
	t.Logf("herald stopped in %v (TimeoutStopSec=%v)", took.Round(time.Millisecond), stopTimeout)
	if !closedWithin(browser.Done(), time.Second) {
		t.Fatal("the browser's connection is still open after herald exited")
	}
	if code, reason := browser.CloseStatus(); code != ws.CloseGoingAway {
		t.Errorf("the browser got close %d %q, want %d (going away)", code, reason, ws.CloseGoingAway)
	}
}

func TestSysusersCreatesTheUnitsUser(t *testing.T) {
	sysusers := requireTool(t, "systemd-sysusers", systemdInstall)
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	file, err := filepath.Abs("herald.sysusers")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, sysusers, "--root="+root, file).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers --root=%s %s: %v\n%s", root, file, err, out)
	}

	u := readUnit(t)
	passwd := readDatabase(t, filepath.Join(root, "etc", "passwd"))
	entry, ok := passwd[u.value("Service", "User")]
	if !ok {
		t.Fatalf("herald.sysusers created no user %q (the unit's User=); /etc/passwd: %v", u.value("Service", "User"), passwd)
	}
	// name:x:uid:gid:gecos:home:shell
	if len(entry) != 7 {
		t.Fatalf("passwd entry %q", entry)
	}
	if uid, err := strconv.Atoi(entry[2]); err != nil || uid == 0 || uid >= 1000 {
		t.Errorf("uid %s: want a system user (1-999)", entry[2])
	}
	if entry[6] != "/usr/sbin/nologin" {
		t.Errorf("shell %s, want /usr/sbin/nologin", entry[6])
	}
	group := readDatabase(t, filepath.Join(root, "etc", "group"))
	g, ok := group[u.value("Service", "Group")]
	if !ok {
		t.Fatalf("herald.sysusers created no group %q (the unit's Group=)", u.value("Service", "Group"))
	}
	if g[2] != entry[3] {
		t.Errorf("the user's primary group is %s, want %s (the group %s)", entry[3], g[2], g[0])
	}
}

// readDatabase reads a passwd or group file: name → the line's fields.
func readDatabase(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	db := map[string][]string{}
	for line := range strings.Lines(string(b)) {
		fields := strings.Split(strings.TrimSpace(line), ":")
		if len(fields) >= 3 {
			db[fields[0]] = fields
		}
	}
	return db
}

// originHeader is the handshake header of a page of origin o.
func originHeader(o string) http.Header {
	return http.Header{"Origin": {o}}
}
