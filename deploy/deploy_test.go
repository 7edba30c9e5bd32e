// Package deploy_test checks the files under deploy/ with the real tools and
// the real herald binary: systemd-analyze verifies and rates herald.service,
// its ExecStart runs and stops as systemd would run and stop it,
// systemd-sysusers creates the user it runs as from herald.sysusers, and a
// real HAProxy serves herald's WebSockets over TLS with haproxy.cfg.
//
// A tool that is missing fails the test with the command that installs it:
// these files are what an operator copies, so they are checked wherever the
// tests run.
package deploy_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Where herald.service expects herald and its configuration (the install
// commands at the top of the unit put them there).
const (
	installedBinary = "/usr/local/bin/herald"
	installedConfig = "/etc/herald/herald.yaml"
)

const (
	startTimeout = 10 * time.Second
	// origin is the application host listed in deploy/herald.yaml's origins.
	origin = "https://app.example.com"
)

// heraldBin is the herald binary built once by TestMain.
var heraldBin string

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "herald-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		os.Exit(1)
	}
	if err := buildHerald(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(exitCode int) {
		os.RemoveAll(tmp)
		os.Exit(exitCode)
	}))
}

// buildHerald builds ./cmd/herald of this module into dir.
func buildHerald(dir string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("cannot find the module root (go env GOMOD: %q, %v)", gomod, err)
	}
	heraldBin = filepath.Join(dir, "herald")
	build := exec.Command("go", "build", "-o", heraldBin, "./cmd/herald")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/herald: %v\n%s", err, out)
	}
	return nil
}

// requireTool returns the path of a program the test needs, or fails the
// test saying how to install it.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (%v): install it with `%s`", name, err, install)
	}
	return path
}

// readDeployFile returns the content of a file of this directory.
func readDeployFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("reading deploy/%s: %v", name, err)
	}
	return string(b)
}

// substituteLine replaces old with new on the one line of text, comments
// aside, that contains old; it fails the test unless exactly one line
// does. Comment lines start with '#' and are left as they are.
func substituteLine(t *testing.T, text, old, new string) string {
	t.Helper()
	lines := strings.SplitAfter(text, "\n")
	found := 0
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || !strings.Contains(line, old) {
			continue
		}
		lines[i] = strings.Replace(line, old, new, 1)
		found++
	}
	if found != 1 {
		t.Fatalf("%q is on %d lines that are not comments, want 1", old, found)
	}
	return strings.Join(lines, "")
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	return path
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ---------------------------------------------------------------------------
// processes

// syncBuffer is an io.Writer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a program started by a test. Its output is kept for the
// failure message; at the end of the test it is killed if still running.
type process struct {
	name   string
	cmd    *exec.Cmd
	output *syncBuffer
	exited chan struct{} // closed once Wait returned; then err is set
	err    error
}

// startProcess starts argv with the environment env (nil: the test's) and
// registers its end with t.
func startProcess(t *testing.T, name string, argv, env []string) *process {
	t.Helper()
	p := &process{name: name, output: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = env
	p.cmd.Stdout = p.output
	p.cmd.Stderr = p.output
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s (%s): %v", name, strings.Join(argv, " "), err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output.String())
		}
	})
	return p
}

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends sig and waits up to within for the process to exit. It
// returns how long the exit took and Wait's error (nil for exit status 0);
// a process still running after within is killed and fails the test.
func (p *process) stop(t *testing.T, sig syscall.Signal, within time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v to %s: %v", sig, p.name, err)
	}
	select {
	case <-p.exited:
		return time.Since(start), p.err
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("%s still running %v after %v; killed", p.name, within, sig)
		return 0, nil
	}
}

// waitHTTP polls url with hc until it answers 200, while p runs, for up to
// startTimeout.
func waitHTTP(t *testing.T, hc *http.Client, url string, p *process) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		status, err := get(hc, url)
		if err == nil && status == http.StatusOK {
			return
		}
		if !p.running() {
			t.Fatalf("%s exited (%v) before %s answered 200", p.name, p.err, url)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within %v: status %d, %v", url, startTimeout, status, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get answers url's status code, reading the body to the end.
func get(hc *http.Client, url string) (int, error) {
	res, err := hc.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// ---------------------------------------------------------------------------
// herald as herald.service runs it

// startHeraldFromUnit runs herald as the unit's ExecStart does, with the
// built binary in place of /usr/local/bin/herald and, in place of
// /etc/herald/herald.yaml, a copy of deploy/herald.yaml that listens on
// port. The environment is as bare as systemd's. It returns once /healthz
// answers.
func startHeraldFromUnit(t *testing.T, u unit, port int) *process {
	t.Helper()
	config := substituteLine(t, readDeployFile(t, "herald.yaml"), "port: 8080", "port: "+strconv.Itoa(port))
	configPath := writeFile(t, t.TempDir(), "herald.yaml", config)

	argv := u.execStart(t)
	if argv[0] != installedBinary {
		t.Fatalf("ExecStart runs %s, want %s (where the unit's install notes put herald)", argv[0], installedBinary)
	}
	argv[0] = heraldBin
	configArg := -1
	for i, a := range argv {
		if (a == "-c" || a == "--config") && i+1 < len(argv) {
			configArg = i + 1
		}
	}
	if configArg < 0 || argv[configArg] != installedConfig {
		t.Fatalf("ExecStart %q does not read -c %s", argv, installedConfig)
	}
	argv[configArg] = configPath

	p := startProcess(t, "herald", argv, []string{"PATH=" + os.Getenv("PATH")})
	hc := &http.Client{Timeout: time.Second}
	defer hc.CloseIdleConnections()
	waitHTTP(t, hc, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), p)
	return p
}

// ---------------------------------------------------------------------------
// herald.service, read as systemd reads it (the subset the unit uses)

// unit holds a unit file's settings: section → key → values in order.
type unit map[string]map[string][]string

// readUnit parses deploy/herald.service.
func readUnit(t *testing.T) unit {
	t.Helper()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(readDeployFile(t, "herald.service")))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasSuffix(line, "\\"):
			t.Fatalf("herald.service:%d: continuation lines are not read by this test; keep each setting on one line", n)
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("herald.service:%d: %q is not key=value in a section", n, line)
			}
			key = strings.TrimSpace(key)
			u[section][key] = append(u[section][key], strings.TrimSpace(value))
		}
	}
	return u
}

// value returns the last value of key in section ("" when absent), the one
// systemd applies for single-valued settings.
func (u unit) value(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// execStart returns the ExecStart command line split into words. The unit
// uses no quoting, prefixes or specifiers; the test refuses them rather
// than read them wrongly.
func (u unit) execStart(t *testing.T) []string {
	t.Helper()
	line := u.value("Service", "ExecStart")
	if line == "" || strings.ContainsAny(line, `"'%$\`) || strings.ContainsAny(line[:1], "@-:+!|") {
		t.Fatalf("ExecStart=%q: want a plain command line (no quotes, prefixes, %% specifiers or $ variables)", line)
	}
	return strings.Fields(line)
}

// timespan reads a systemd time span as the unit writes them: a bare
// number of seconds or a Go-style duration such as 30s or 1m30s.
func timespan(t *testing.T, key, s string) time.Duration {
	t.Helper()
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s=%q: write it as seconds or as 30s, 1m30s: %v", key, s, err)
	}
	return d
}

// killSignal is the unit's KillSignal (SIGTERM when absent, as systemd).
func (u unit) killSignal(t *testing.T) syscall.Signal {
	t.Helper()
	switch s := u.value("Service", "KillSignal"); s {
	case "", "SIGTERM", "TERM":
		return syscall.SIGTERM
	case "SIGINT", "INT":
		return syscall.SIGINT
	default:
		t.Fatalf("KillSignal=%s: herald stops gracefully on SIGTERM or SIGINT only", s)
		return 0
	}
}

// ---------------------------------------------------------------------------
// TLS

// tlsFiles is a self-signed certificate for 127.0.0.1, written as PEM files,
// and a pool that trusts it.
type tlsFiles struct {
	cert, key string // certificate, private key
	combined  string // certificate then key in one file, as HAProxy's crt takes
	pool      *x509.CertPool
}

// newTLSFiles makes a fresh self-signed certificate in dir.
func newTLSFiles(t *testing.T, dir string) tlsFiles {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "herald deploy test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("creating the certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing the certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("encoding the key: %v", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	f := tlsFiles{
		cert:     writeFile(t, dir, "cert.pem", string(certPEM)),
		key:      writeFile(t, dir, "key.pem", string(keyPEM)),
		combined: writeFile(t, dir, "combined.pem", string(certPEM)+string(keyPEM)),
		pool:     x509.NewCertPool(),
	}
	f.pool.AddCert(cert)
	return f
}

// httpsClient returns an HTTP client that trusts f; it closes its idle
// connections at the end of the test.
func (f tlsFiles) httpsClient(t *testing.T) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// closedWithin reports whether done closes within d.
func closedWithin(done <-chan struct{}, d time.Duration) bool {
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
