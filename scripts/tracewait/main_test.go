package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/trace"
	"strings"
	"testing"
)

// A trace of an HTTP server answering a few keep-alive requests shows
// their connection's network waits and the runnable-to-running waits.
func TestReportsNetworkWaitsOfHTTPConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "trace.out")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	trace.Stop()
	f.Close()

	var out bytes.Buffer
	if err := run(path, &out); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	for _, want := range []string{"network waits of HTTP connections", "woken by", "runnable-to-running waits, every goroutine: n="} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if err := run(filepath.Join(t.TempDir(), "missing"), io.Discard); err == nil {
		t.Error("a missing trace file gave no error")
	}
}
