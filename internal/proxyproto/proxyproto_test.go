package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
)

// v2 builds a v2 header: command, family, then the address block.
func v2(cmd, family byte, block []byte) []byte {
	b := append([]byte{}, v2Signature...)
	b = append(b, 0x20|cmd, family)
	b = binary.BigEndian.AppendUint16(b, uint16(len(block)))
	return append(b, block...)
}

func ipv4Block(src, dst string, sport, dport uint16, tlvs ...byte) []byte {
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	b := append(s[:], d[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	return append(b, tlvs...)
}

func ipv6Block(src, dst string, sport, dport uint16) []byte {
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	b := append(s[:], d[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	return binary.BigEndian.AppendUint16(b, dport)
}

func TestReadHeader(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name string
		in   []byte
		want Header
	}{
		{"v1 TCP4", []byte("PROXY TCP4 203.0.113.7 10.0.0.1 56324 8080\r\n"),
			Header{Version: 1, Source: ap("203.0.113.7:56324"), Destination: ap("10.0.0.1:8080")}},
		{"v1 TCP6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 4711 443\r\n"),
			Header{Version: 1, Source: ap("[2001:db8::7]:4711"), Destination: ap("[2001:db8::1]:443")}},
		{"v1 UNKNOWN", []byte("PROXY UNKNOWN\r\n"), Header{Version: 1, Local: true}},
		{"v1 UNKNOWN with addresses", []byte("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), Header{Version: 1, Local: true}},
		{"v2 TCP4", v2(1, 0x11, ipv4Block("198.51.100.9", "10.0.0.1", 40000, 8080)),
			Header{Version: 2, Source: ap("198.51.100.9:40000"), Destination: ap("10.0.0.1:8080")}},
		{"v2 TCP4 with TLVs", v2(1, 0x11, ipv4Block("198.51.100.9", "10.0.0.1", 1, 2, 0x03, 0x00, 0x04, 1, 2, 3, 4)),
			Header{Version: 2, Source: ap("198.51.100.9:1"), Destination: ap("10.0.0.1:2")}},
		{"v2 TCP6", v2(1, 0x21, ipv6Block("2001:db8::9", "2001:db8::1", 5, 6)),
			Header{Version: 2, Source: ap("[2001:db8::9]:5"), Destination: ap("[2001:db8::1]:6")}},
		{"v2 LOCAL", v2(0, 0x00, nil), Header{Version: 2, Local: true}},
		{"v2 UNIX", v2(1, 0x31, make([]byte, 216)), Header{Version: 2, Local: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// What follows the header must stay unread.
			r := bytes.NewReader(append(append([]byte{}, tc.in...), "GET / HTTP/1.1\r\n"...))
			got, err := ReadHeader(r)
			if err != nil {
				t.Fatalf("ReadHeader: %v", err)
			}
			if got != tc.want {
				t.Errorf("ReadHeader = %+v; want %+v", got, tc.want)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != "GET / HTTP/1.1\r\n" {
				t.Errorf("left unread %q; want exactly what follows the header", rest)
			}
		})
	}
}

func TestReadHeaderRefuses(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		notHdr  bool // ErrNotProxy rather than ErrInvalid
		ioError bool
	}{
		{"plain HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), true, false},
		{"TLS hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x00}, true, false},
		{"v1 bad family", []byte("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), false, false},
		{"v1 family mismatch", []byte("PROXY TCP4 2001:db8::1 1.2.3.4 1 2\r\n"), false, false},
		{"v1 bad port", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), false, false},
		{"v1 leading zero port", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n"), false, false},
		{"v1 missing field", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), false, false},
		{"v1 too long", []byte("PROXY TCP4 " + strings.Repeat("1", 120) + "\r\n"), false, false},
		{"v1 cut short", []byte("PROXY TCP4 1.2.3.4"), false, true},
		{"v2 version 3", append(append([]byte{}, v2Signature...), 0x31, 0x11, 0, 0), false, false},
		{"v2 bad command", v2(2, 0x11, ipv4Block("1.2.3.4", "5.6.7.8", 1, 2)), false, false},
		{"v2 bad family", v2(1, 0x41, nil), false, false},
		{"v2 short block", v2(1, 0x11, []byte{1, 2, 3}), false, false},
		{"v2 huge block", v2(1, 0x11, make([]byte, MaxV2Length+1)), false, false},
		{"v2 cut short", v2(1, 0x11, ipv4Block("1.2.3.4", "5.6.7.8", 1, 2))[:20], false, true},
		{"empty", nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHeader(bytes.NewReader(tc.in))
			switch {
			case err == nil:
				t.Fatal("accepted")
			case tc.notHdr && !errors.Is(err, ErrNotProxy):
				t.Errorf("err = %v; want ErrNotProxy", err)
			case tc.ioError && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
				t.Errorf("err = %v; want an EOF", err)
			case !tc.notHdr && !tc.ioError && !errors.Is(err, ErrInvalid):
				t.Errorf("err = %v; want ErrInvalid", err)
			}
		})
	}
}

// FuzzReadHeader: no input panics, a header never claims more bytes than
// it read, and an accepted non-local header has valid addresses.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 203.0.113.7 10.0.0.1 56324 8080\r\nGET"))
	f.Add(v2(1, 0x11, ipv4Block("198.51.100.9", "10.0.0.1", 40000, 8080)))
	f.Add(v2(1, 0x21, ipv6Block("2001:db8::9", "2001:db8::1", 5, 6)))
	f.Add(v2(0, 0x00, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		h, err := ReadHeader(r)
		if err != nil {
			return
		}
		if !h.Local && (!h.Source.IsValid() || !h.Destination.IsValid()) {
			t.Fatalf("accepted %q with invalid addresses %+v", in, h)
		}
		if h.Version != 1 && h.Version != 2 {
			t.Fatalf("version %d", h.Version)
		}
	})
}
