// Package ws is herald's RFC 6455 framing: frame headers, masking, message
// assembly and close payloads. It is deliberately small and allocation-free
// on the write side, so the server can frame a publication once and hand the
// same bytes to every subscriber.
package ws

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Opcodes.
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xA
)

// Close status codes used by herald.
const (
	CloseNormal          uint16 = 1000
	CloseGoingAway       uint16 = 1001
	CloseProtocolError   uint16 = 1002
	CloseUnsupportedData uint16 = 1003
	CloseNoStatus        uint16 = 1005
	CloseInvalidPayload  uint16 = 1007
	ClosePolicyViolation uint16 = 1008
	CloseMessageTooBig   uint16 = 1009
	CloseInternalError   uint16 = 1011
	CloseTryAgainLater   uint16 = 1013
)

// MaxControlPayload is the largest payload a control frame may carry.
const MaxControlPayload = 125

// CloseError is a reason to close the connection with a status code: a
// protocol violation found while reading, or the peer's own CLOSE.
type CloseError struct {
	Code   uint16
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket: close %d: %s", e.Code, e.Reason)
}

func protocolError(reason string) error {
	return &CloseError{Code: CloseProtocolError, Reason: reason}
}

// IsControl reports whether op is a control opcode.
func IsControl(op byte) bool { return op&0x8 != 0 }

// AcceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// AppendFrame appends one unmasked, final frame (what a server sends).
func AppendFrame(dst []byte, op byte, payload []byte) []byte {
	dst = appendHeader(dst, op, len(payload), false)
	return append(dst, payload...)
}

// AppendMaskedFrame appends one masked, final frame (what a client sends).
func AppendMaskedFrame(dst []byte, op byte, payload []byte, key [4]byte) []byte {
	dst = appendHeader(dst, op, len(payload), true)
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	Mask(dst[start:], key, 0)
	return dst
}

// FrameSize is the length of an unmasked frame carrying n payload bytes.
func FrameSize(n int) int {
	switch {
	case n < 126:
		return 2 + n
	case n <= 0xFFFF:
		return 4 + n
	}
	return 10 + n
}

func appendHeader(dst []byte, op byte, n int, masked bool) []byte {
	var maskBit byte
	if masked {
		maskBit = 0x80
	}
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		return append(dst, maskBit|byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(dst, maskBit|126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, maskBit|127), uint64(n))
}

// Mask XORs b with key, starting at offset pos of the key stream, and
// returns the next offset.
func Mask(b []byte, key [4]byte, pos int) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// ClosePayload builds a CLOSE frame payload. Code 0 yields an empty payload.
func ClosePayload(code uint16, reason string) []byte {
	if code == 0 {
		return nil
	}
	if len(reason) > MaxControlPayload-2 {
		// Cut at a rune boundary: a reason that is not UTF-8 makes the
		// peer fail the connection with 1007.
		n := MaxControlPayload - 2
		for n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		reason = reason[:n]
	}
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// ParseClosePayload reads a CLOSE payload; an empty one yields
// CloseNoStatus.
func ParseClosePayload(p []byte) (code uint16, reason string, err error) {
	switch {
	case len(p) == 0:
		return CloseNoStatus, "", nil
	case len(p) == 1:
		return 0, "", protocolError("close payload of 1 byte")
	}
	code = binary.BigEndian.Uint16(p)
	if !validCloseCode(code) {
		return 0, "", protocolError(fmt.Sprintf("invalid close code %d", code))
	}
	if !utf8.Valid(p[2:]) {
		return 0, "", &CloseError{Code: CloseInvalidPayload, Reason: "close reason is not UTF-8"}
	}
	return code, string(p[2:]), nil
}

func validCloseCode(c uint16) bool {
	switch {
	case c >= 3000 && c <= 4999:
		return true
	case c >= 1000 && c <= 1014:
		// 1012-1014 (service restart, try again later, bad gateway) are
		// IANA-registered (CloseTryAgainLater is one of them).
		return c != 1004 && c != 1005 && c != 1006
	}
	return false
}

// Reader reads WebSocket messages from a buffered stream. It assembles
// fragmented data messages and returns control frames as they come, even
// in the middle of a fragmented message. It is not safe for concurrent use.
type Reader struct {
	// MaxMessage bounds a data message's assembled payload; 0 means no
	// bound. A larger message yields a CloseError with CloseMessageTooBig.
	MaxMessage int
	// Masked requires every frame to be masked (a server reading a client)
	// or, when false, unmasked (a client reading a server).
	Masked bool
	// CheckUTF8 makes a text message that is not valid UTF-8 a CloseError
	// with CloseInvalidPayload.
	CheckUTF8 bool

	r       *bufio.Reader
	msg     []byte
	msgOp   byte
	inFrag  bool
	control [MaxControlPayload]byte
}

// NewReader returns a Reader over r.
func NewReader(r *bufio.Reader) *Reader { return &Reader{r: r} }

// Reset makes the Reader read from r from now on, keeping the state of a
// fragmented message in progress. Between messages it also drops the
// message buffer, so that a connection parked with Reset(nil) holds no
// buffer.
func (r *Reader) Reset(br *bufio.Reader) {
	r.r = br
	if !r.inFrag {
		r.msg = nil
	}
}

// Idle reports whether the Reader is between messages: no fragmented
// message is in progress.
func (r *Reader) Idle() bool { return !r.inFrag }

// ErrUnexpectedEOF reports a stream that ended inside a frame.
var ErrUnexpectedEOF = errors.New("websocket: unexpected EOF inside a frame")

// ReadMessage returns the next complete data message (OpText or OpBinary)
// or the next control frame. The returned payload is valid until the next
// call. io.EOF means the stream ended cleanly between frames.
func (r *Reader) ReadMessage() (op byte, payload []byte, err error) {
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(r.r, hdr[:1]); err != nil {
			return 0, nil, err
		}
		if _, err := io.ReadFull(r.r, hdr[1:]); err != nil {
			return 0, nil, eof(err)
		}
		fin := hdr[0]&0x80 != 0
		if hdr[0]&0x70 != 0 {
			return 0, nil, protocolError("reserved bits set")
		}
		op = hdr[0] & 0x0F
		masked := hdr[1]&0x80 != 0
		if masked != r.Masked {
			if r.Masked {
				return 0, nil, protocolError("client frame not masked")
			}
			return 0, nil, protocolError("server frame masked")
		}
		n := uint64(hdr[1] & 0x7F)
		switch n {
		case 126:
			var ext [2]byte
			if _, err := io.ReadFull(r.r, ext[:]); err != nil {
				return 0, nil, eof(err)
			}
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			if _, err := io.ReadFull(r.r, ext[:]); err != nil {
				return 0, nil, eof(err)
			}
			n = binary.BigEndian.Uint64(ext[:])
			if n>>63 != 0 {
				return 0, nil, protocolError("frame length has the top bit set")
			}
		}
		var key [4]byte
		if masked {
			if _, err := io.ReadFull(r.r, key[:]); err != nil {
				return 0, nil, eof(err)
			}
		}

		if IsControl(op) {
			if !fin {
				return 0, nil, protocolError("fragmented control frame")
			}
			if n > MaxControlPayload {
				return 0, nil, protocolError("control frame payload over 125 bytes")
			}
			if op != OpClose && op != OpPing && op != OpPong {
				return 0, nil, protocolError(fmt.Sprintf("unknown opcode %d", op))
			}
			p := r.control[:n]
			if _, err := io.ReadFull(r.r, p); err != nil {
				return 0, nil, eof(err)
			}
			if masked {
				Mask(p, key, 0)
			}
			return op, p, nil
		}

		switch op {
		case OpContinuation:
			if !r.inFrag {
				return 0, nil, protocolError("continuation frame without a message")
			}
		case OpText, OpBinary:
			if r.inFrag {
				return 0, nil, protocolError("new message inside a fragmented message")
			}
			r.msgOp = op
			r.msg = r.msg[:0]
		default:
			return 0, nil, protocolError(fmt.Sprintf("unknown opcode %d", op))
		}
		if r.MaxMessage > 0 && uint64(len(r.msg))+n > uint64(r.MaxMessage) {
			return 0, nil, &CloseError{Code: CloseMessageTooBig, Reason: fmt.Sprintf("message over %d bytes", r.MaxMessage)}
		}
		// Grow the buffer as the payload arrives, never by more than
		// readChunk ahead of it: the length in the header is the peer's
		// claim, and allocating it up front lets a 10-byte header exhaust
		// memory (or panic in makeslice) when MaxMessage is 0.
		start := len(r.msg)
		for remaining := n; remaining > 0; {
			chunk := int(min(remaining, readChunk))
			at := len(r.msg)
			r.msg = grow(r.msg, chunk)
			if _, err := io.ReadFull(r.r, r.msg[at:]); err != nil {
				return 0, nil, eof(err)
			}
			remaining -= uint64(chunk)
		}
		if masked {
			Mask(r.msg[start:], key, 0)
		}
		if !fin {
			r.inFrag = true
			continue
		}
		r.inFrag = false
		if r.msgOp == OpText && r.CheckUTF8 && !utf8.Valid(r.msg) {
			return 0, nil, &CloseError{Code: CloseInvalidPayload, Reason: "text message is not valid UTF-8"}
		}
		msg := r.msg
		if cap(r.msg) > 64<<10 {
			r.msg = nil // do not pin a large buffer to an idle connection
		}
		return r.msgOp, msg, nil
	}
}

// readChunk bounds how far ahead of the received bytes Reader allocates.
const readChunk = 1 << 20

// grow extends b by n bytes, reallocating when needed.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, max(2*cap(b), len(b)+n, 512))
	copy(nb, b)
	return nb
}

// eof maps the end of the stream inside a frame to ErrUnexpectedEOF, both
// when no byte of a field arrived (io.EOF) and when some did
// (io.ErrUnexpectedEOF).
func eof(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrUnexpectedEOF
	}
	return err
}
