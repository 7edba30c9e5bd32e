// Package proxyproto reads the header of HAProxy's PROXY protocol,
// versions 1 (text) and 2 (binary), which a load balancer sends first on
// each connection it opens to a backend to tell the backend the client's
// address. The specification is haproxy.org's proxy-protocol.txt.
//
// ReadHeader reads exactly the header's bytes and no more, so whatever
// follows (an HTTP request, a TLS handshake) stays unread on the
// connection.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Header is a decoded PROXY header.
type Header struct {
	// Version is 1 or 2.
	Version int
	// Local is true when the proxy speaks for itself (v2 LOCAL, v1
	// UNKNOWN, or an address family this package does not carry): a
	// health check, whose connection's own addresses apply. Source and
	// Destination are then zero.
	Local bool
	// Source is the client's address and port as the proxy saw it.
	Source netip.AddrPort
	// Destination is the address and port the client connected to.
	Destination netip.AddrPort
}

// ErrNotProxy is returned when the connection does not start with a PROXY
// header.
var ErrNotProxy = errors.New("proxyproto: the connection does not start with a PROXY protocol header")

// ErrInvalid is wrapped by the errors of a header that starts as one but is
// malformed.
var ErrInvalid = errors.New("proxyproto: invalid PROXY protocol header")

// MaxV2Length bounds the address block of a v2 header (addresses and
// TLVs) that ReadHeader accepts; HAProxy's own TLVs are far shorter.
const MaxV2Length = 2048

// maxV1Length is the longest v1 line the specification allows, CRLF
// included.
const maxV1Length = 107

// v2Signature starts every v2 header.
var v2Signature = []byte("\r\n\r\n\x00\r\nQUIT\n")

// ReadHeader reads one PROXY header from r, byte-exactly: it never reads
// past the header's end. Put a deadline on the connection first.
func ReadHeader(r io.Reader) (Header, error) {
	// Both versions are at least 12 bytes long: the v2 signature, and
	// "PROXY UNKNOWN\r\n" (15) for v1.
	var start [12]byte
	if _, err := io.ReadFull(r, start[:]); err != nil {
		return Header{}, fmt.Errorf("proxyproto: reading the header: %w", err)
	}
	switch {
	case bytes.Equal(start[:], v2Signature):
		return readV2(r)
	case bytes.HasPrefix(start[:], []byte("PROXY ")):
		return readV1(r, start[:])
	}
	return Header{}, ErrNotProxy
}

// readV1 reads the rest of a v1 line whose first bytes are in start.
func readV1(r io.Reader, start []byte) (Header, error) {
	line := make([]byte, len(start), maxV1Length)
	copy(line, start)
	var b [1]byte
	for !bytes.HasSuffix(line, []byte("\r\n")) {
		if len(line) == maxV1Length {
			return Header{}, fmt.Errorf("%w: a v1 line longer than %d bytes", ErrInvalid, maxV1Length)
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Header{}, fmt.Errorf("proxyproto: reading the header: %w", err)
		}
		line = append(line, b[0])
	}
	return parseV1(string(line[:len(line)-2]))
}

// parseV1 decodes "PROXY TCP4|TCP6 src dst sport dport" or "PROXY
// UNKNOWN ...".
func parseV1(line string) (Header, error) {
	f := strings.Split(line, " ")
	if len(f) >= 2 && f[0] == "PROXY" && f[1] == "UNKNOWN" {
		return Header{Version: 1, Local: true}, nil
	}
	if len(f) != 6 || f[0] != "PROXY" || (f[1] != "TCP4" && f[1] != "TCP6") {
		return Header{}, fmt.Errorf("%w: v1 line %q", ErrInvalid, line)
	}
	src, err1 := netip.ParseAddr(f[2])
	dst, err2 := netip.ParseAddr(f[3])
	sport, err3 := parsePort(f[4])
	dport, err4 := parsePort(f[5])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Header{}, fmt.Errorf("%w: v1 line %q: %v", ErrInvalid, line, err)
	}
	if want4 := f[1] == "TCP4"; src.Is4() != want4 || dst.Is4() != want4 {
		return Header{}, fmt.Errorf("%w: v1 line %q: the addresses are not %s", ErrInvalid, line, f[1])
	}
	return Header{Version: 1, Source: netip.AddrPortFrom(src, sport), Destination: netip.AddrPortFrom(dst, dport)}, nil
}

// parsePort reads a decimal port without sign or leading zeros.
func parsePort(s string) (uint16, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("bad port %q", s)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return uint16(n), nil
}

// readV2 reads the rest of a v2 header after its signature.
func readV2(r io.Reader) (Header, error) {
	var fixed [4]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return Header{}, fmt.Errorf("proxyproto: reading the header: %w", err)
	}
	verCmd, family := fixed[0], fixed[1]
	length := int(binary.BigEndian.Uint16(fixed[2:]))
	if verCmd>>4 != 2 {
		return Header{}, fmt.Errorf("%w: version %d", ErrInvalid, verCmd>>4)
	}
	if length > MaxV2Length {
		return Header{}, fmt.Errorf("%w: an address block of %d bytes (at most %d)", ErrInvalid, length, MaxV2Length)
	}
	block := make([]byte, length)
	if _, err := io.ReadFull(r, block); err != nil {
		return Header{}, fmt.Errorf("proxyproto: reading the header: %w", err)
	}
	h := Header{Version: 2}
	switch verCmd & 0x0f {
	case 0x0: // LOCAL: the proxy's own connection (a health check)
		h.Local = true
		return h, nil
	case 0x1: // PROXY
	default:
		return Header{}, fmt.Errorf("%w: command %#x", ErrInvalid, verCmd&0x0f)
	}
	var size int
	switch family {
	case 0x11: // TCP over IPv4
		size = 12
	case 0x21: // TCP over IPv6
		size = 36
	case 0x12, 0x22, 0x00, 0x31, 0x32: // UDP, UNSPEC, UNIX: no TCP client address
		h.Local = true
		return h, nil
	default:
		return Header{}, fmt.Errorf("%w: address family %#x", ErrInvalid, family)
	}
	if length < size {
		return Header{}, fmt.Errorf("%w: an address block of %d bytes for family %#x (want %d)", ErrInvalid, length, family, size)
	}
	alen := (size - 4) / 2
	src, _ := netip.AddrFromSlice(block[:alen])
	dst, _ := netip.AddrFromSlice(block[alen : 2*alen])
	sport := binary.BigEndian.Uint16(block[2*alen:])
	dport := binary.BigEndian.Uint16(block[2*alen+2:])
	h.Source = netip.AddrPortFrom(src, sport)
	h.Destination = netip.AddrPortFrom(dst, dport)
	return h, nil // TLVs, if any, follow the addresses and are ignored
}
