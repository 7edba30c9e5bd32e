package bench

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// stampedPair returns a stamped client connection and the server side
// of it, over loopback.
func stampedPair(t *testing.T) (*stampedConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := stampConn(conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close(); peer.Close() })
	return sc, peer
}

// waitForKernelTimes exchanges bytes until reads carry the kernel's
// timestamps: Linux turns them on shortly after the first socket asks.
func waitForKernelTimes(t *testing.T, sc *stampedConn, peer net.Conn) {
	t.Helper()
	buf := make([]byte, 1)
	for range 2000 {
		peer.Write([]byte("w"))
		if _, err := sc.Read(buf); err != nil {
			t.Fatal(err)
		}
		if sc.kernelTime.Load() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no read carried a kernel receive timestamp (SO_TIMESTAMPNS) within 2 s")
}

// A read's time is when the kernel received the bytes, not when the read
// returned them: bytes left waiting 50 ms keep their arrival time.
func TestStampedConnTimesArrival(t *testing.T) {
	sc, peer := stampedPair(t)
	waitForKernelTimes(t, sc, peer)
	written := time.Now().UnixNano()
	if _, err := peer.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	buf := make([]byte, 16)
	n, err := sc.Read(buf)
	read := time.Now().UnixNano()
	if err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	at := sc.recvAt.Load()
	if at < written || read-at < int64(40*time.Millisecond) {
		t.Errorf("received %v after the write and %v before the read returned; want the arrival, about 50 ms before", time.Duration(at-written), time.Duration(read-at))
	}
}

// The send time is the first write after markRequest, and only that one.
func TestStampedConnSendTime(t *testing.T) {
	sc, peer := stampedPair(t)
	go io.Copy(io.Discard, peer)
	sc.Write([]byte("unmarked"))
	if s := sc.sentAt.Load(); s != 0 {
		t.Fatalf("an unmarked write set the send time")
	}
	sc.markRequest()
	before := time.Now().UnixNano()
	sc.Write([]byte("head"))
	first := sc.sentAt.Load()
	time.Sleep(time.Millisecond)
	sc.Write([]byte("body"))
	if first < before || sc.sentAt.Load() != first {
		t.Errorf("send time %d, want the first marked write's (%d ≤ it), unchanged by the second (%d)", first, before, sc.sentAt.Load())
	}
}

// Reads keep net.Conn's behaviour: deadlines, and io.EOF when the peer
// closes.
func TestStampedConnDeadlineAndEOF(t *testing.T) {
	sc, peer := stampedPair(t)
	sc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	buf := make([]byte, 8)
	if _, err := sc.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	sc.SetReadDeadline(time.Time{})
	peer.Close()
	if n, err := sc.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed: %d, %v", n, err)
	}
}
