package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// memSample is one reading of the server's memory.
type memSample struct {
	rss   int64 // bytes
	conns int64 // herald_connections; -1 when unknown
}

// memoryReader reads the server's resident memory from /proc/PID/status
// when a PID is given, else from herald's /metrics.
type memoryReader struct {
	pid     int
	metrics string
	client  *http.Client
}

// source names where the readings come from.
func (m *memoryReader) source() string {
	if m.pid > 0 {
		return "pid " + strconv.Itoa(m.pid)
	}
	return m.metrics
}

// read takes one sample. The connection gauge comes from /metrics when it
// answers, also when the memory comes from /proc.
func (m *memoryReader) read(ctx context.Context) (memSample, error) {
	s := memSample{conns: -1}
	var metricsErr error
	var rss int64 = -1
	if m.metrics != "" {
		rss, s.conns, metricsErr = m.scrape(ctx)
	}
	if m.pid > 0 {
		v, err := readVmRSS(m.pid)
		if err != nil {
			return s, err
		}
		s.rss = v
		return s, nil
	}
	if m.metrics == "" {
		return s, errors.New("no --pid and no metrics URL")
	}
	if metricsErr != nil {
		return s, metricsErr
	}
	if rss < 0 {
		return s, fmt.Errorf("%s has no process_resident_memory_bytes", m.metrics)
	}
	s.rss = rss
	return s, nil
}

// readVmRSS reads VmRSS from /proc/PID/status, in bytes.
func readVmRSS(pid int) (int64, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseVmRSS(data, path)
}

// parseVmRSS finds "VmRSS:   1234 kB" in a /proc status file.
func parseVmRSS(data []byte, path string) (int64, error) {
	for line := range bytes.Lines(data) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) == 2 && f[1] == "kB" {
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return kb * 1024, nil
			}
		}
		return 0, fmt.Errorf("%s: cannot read %q", path, bytes.TrimSpace(line))
	}
	return 0, fmt.Errorf("%s has no VmRSS (a kernel thread, or a process that exited)", path)
}

// scrape reads process_resident_memory_bytes and herald_connections from
// a Prometheus text endpoint; a missing value is -1.
func (m *memoryReader) scrape(ctx context.Context) (rss, conns int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.metrics, nil)
	if err != nil {
		return -1, -1, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return -1, -1, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return -1, -1, fmt.Errorf("GET %s: %s", m.metrics, resp.Status)
	}
	rss, conns = parseMetrics(io.LimitReader(resp.Body, 16<<20))
	return rss, conns, nil
}

// parseMetrics reads the two gauges from the Prometheus text format.
func parseMetrics(r io.Reader) (rss, conns int64) {
	rss, conns = -1, -1
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "process_resident_memory_bytes":
			dst = &rss
		case "herald_connections":
			dst = &conns
		default:
			continue
		}
		value, _, _ = strings.Cut(strings.TrimSpace(value), " ") // drop a timestamp
		if f, err := strconv.ParseFloat(value, 64); err == nil {
			*dst = int64(f)
		}
	}
	return rss, conns
}
