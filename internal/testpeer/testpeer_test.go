package testpeer

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the calling goroutine, as testing.T's does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs f with a fatalRecorder and returns what f failed with, or
// ok when f returned.
func fatalOf(t *testing.T, f func(tb testing.TB)) (msg string, ok bool) {
	r := &fatalRecorder{TB: t}
	done := make(chan bool)
	go func() {
		returned := false
		defer func() { done <- returned }()
		f(r)
		returned = true
	}()
	ok = <-done
	return r.msg, ok
}

// The machine the suite runs on has every peer and service: scripts/test
// sees to it.
func TestEveryPeerAndServiceIsHere(t *testing.T) {
	for _, p := range Peers {
		path := Require(t, p)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: Require returned %q: %v", p.Name, path, err)
		}
	}
	for _, s := range Services {
		RequireService(t, s)
	}
}

func TestRequireFailsNamingTheInstallCommand(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	msg, ok := fatalOf(t, func(tb testing.TB) { Require(tb, PHP) })
	if ok {
		t.Fatal("Require(PHP) returned with no php on PATH")
	}
	for _, want := range []string{"php-cli not found (", `"php"`, "run `bash scripts/test` (it installs the peers) or `apt-get install php-cli`"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure %q does not contain %q", msg, want)
		}
	}

	// A service's own package: scripts/test does not install it.
	msg, ok = fatalOf(t, func(tb testing.TB) { Require(tb, RedisServer) })
	if ok {
		t.Fatal("Require(RedisServer) returned with no redis-server on PATH")
	}
	if want := "): install it with `apt-get install redis-server`"; !strings.Contains(msg, want) || strings.Contains(msg, "scripts/test") {
		t.Errorf("failure %q: want %q and no mention of scripts/test", msg, want)
	}
}

func TestNodePeersNeedTheirModules(t *testing.T) {
	for _, c := range []struct {
		peer  Peer
		first string // the first module the lookup checks
		dir   string
	}{
		{NodeWAMP1, "wamp1", "interop/node"},
		{AutobahnJS, "autobahn", "interop/autobahn"},
	} {
		t.Run(c.first, func(t *testing.T) {
			if _, err := c.peer.find(); err != nil {
				t.Fatalf("%s is complete here (scripts/peers): %v", c.dir, err)
			}
			bare := t.TempDir() // a module without node_modules
			if err := os.WriteFile(filepath.Join(bare, "go.mod"), []byte("module bare\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Chdir(bare)
			want := "npm module " + c.first + " missing in " + c.dir
			if _, err := c.peer.find(); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("in a module without node_modules: %v, want %q", err, want)
			}
			t.Chdir(filepath.Dir(bare)) // no go.mod above (the temporary directory's parents have none)
			if _, err := c.peer.find(); err == nil || !strings.Contains(err.Error(), "go.mod") {
				t.Errorf("outside any module: %v, want the missing go.mod", err)
			}
		})
	}
}

func TestPythonImportingNamesTheMissingModule(t *testing.T) {
	if _, err := pythonWithAutobahn(); err != nil {
		t.Fatalf("python3-autobahn is installed here (scripts/peers): %v", err)
	}
	_, err := pythonImporting("autobahn", "herald_no_such_module")
	if err == nil || !strings.Contains(err.Error(), `"import autobahn, herald_no_such_module"`) {
		t.Errorf("a module nobody has: %v, want the failed import named", err)
	}
}

func TestRequireServiceFailsNamingTheStartCommand(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := Service{Name: "Up", Addr: l.Addr().String(), Start: "up-start"}
	if msg, ok := fatalOf(t, func(tb testing.TB) { RequireService(tb, up) }); !ok {
		t.Errorf("a listening address failed: %s", msg)
	}
	l.Close()

	down := Service{Name: "Down", Addr: up.Addr, Start: "down-start --now"}
	msg, ok := fatalOf(t, func(tb testing.TB) { RequireService(tb, down) })
	if ok {
		t.Fatal("RequireService returned for a closed port")
	}
	want := "Down is not answering on " + up.Addr + " ("
	tail := "): run `bash scripts/test` (it starts the services) or `down-start --now`"
	if !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, tail) {
		t.Errorf("failure %q, want %q...%q", msg, want, tail)
	}
}

// The start commands quoted in failures are the ones scripts/test runs.
func TestStartCommandsAreScriptsTests(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	// bash reads the services=( ... ) array of the script, quoting and all.
	script := `eval "$(sed -n '/^services=(/,/^)/p' "$1")"; printf '%s\n' "${services[@]}"`
	out, err := exec.Command("bash", "-c", script, "bash", filepath.Join(root, "scripts", "test")).Output()
	if err != nil {
		t.Fatalf("reading scripts/test's services: %v", err)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	var want []string
	for _, s := range Services {
		_, port, _ := net.SplitHostPort(s.Addr)
		want = append(want, s.Name+"|"+port+"|"+s.Start)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("scripts/test starts\n%s\ntestpeer.Services say\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Every package a ByScript peer's install command names is one
// scripts/peers installs.
func TestScriptsPeersInstallsEveryPeer(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "scripts", "peers"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(src)
	for _, p := range Peers {
		if !p.ByScript {
			continue
		}
		if pkgs, ok := strings.CutPrefix(p.Install, "apt-get install "); ok {
			for _, pkg := range strings.Fields(pkgs) {
				if !strings.Contains(script, "apt_pkgs+=("+pkg+")") {
					t.Errorf("%s: scripts/peers does not install %s", p.Name, pkg)
				}
			}
			continue
		}
		dir, ok := strings.CutPrefix(p.Install, "npm ci --prefix ")
		if !ok || !strings.Contains(script, `="$root/`+dir+`"`) || !strings.Contains(script, "npm ci") {
			t.Errorf("%s: scripts/peers does not run %q", p.Name, p.Install)
		}
	}
	for _, modules := range [][]string{nodeModules, autobahnModules} {
		if want := "for mod in " + strings.Join(modules, " ") + "; do"; !strings.Contains(script, want) {
			t.Errorf("scripts/peers does not check the npm modules testpeer checks (%q)", want)
		}
	}
}
