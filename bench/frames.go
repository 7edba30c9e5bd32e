package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
)

// Frame reading sizes.
const (
	// initialReadBuffer is a connection's read buffer until a read fills
	// it: an idle connection holds no more than this.
	initialReadBuffer = 512
	// DefaultReadBuffer is the size a connection's read buffer may grow to
	// while events stream in (Config.ReadBuffer).
	DefaultReadBuffer = 4096
	// maxFrame bounds one frame's payload; a larger one ends the
	// connection.
	maxFrame = 16 << 20
)

// errMaskedFrame is a server frame with the mask bit set (RFC 6455 5.1).
var errMaskedFrame = errors.New("websocket: the server sent a masked frame")

// frameReader reads the server's (unmasked) WebSocket frames from a
// connection into one small buffer that it grows only while reads keep
// filling it. A returned payload is valid until the next call.
type frameReader struct {
	conn net.Conn
	buf  []byte
	r, w int
	// limit is the size buf grows to when reads fill it.
	limit int
	// now is the Unix time, in nanoseconds, of the last read: every frame
	// of one read arrived together.
	now int64
}

// next returns the next frame: its opcode, FIN bit and payload.
func (f *frameReader) next() (op byte, fin bool, payload []byte, err error) {
	for {
		b := f.buf[f.r:f.w]
		if len(b) >= 2 {
			if b[1]&0x80 != 0 {
				return 0, false, nil, errMaskedFrame
			}
			if b[0]&0x70 != 0 {
				return 0, false, nil, errors.New("websocket: reserved bits set in a server frame")
			}
			n, h := uint64(b[1]&0x7F), 2
			switch n {
			case 126:
				h = 4
				if len(b) >= h {
					n = uint64(binary.BigEndian.Uint16(b[2:]))
				}
			case 127:
				h = 10
				if len(b) >= h {
					n = binary.BigEndian.Uint64(b[2:])
				}
			}
			if len(b) >= h {
				if n > maxFrame {
					return 0, false, nil, fmt.Errorf("websocket: a frame of %d bytes (the bench takes up to %d)", n, maxFrame)
				}
				if end := h + int(n); len(b) >= end {
					f.r += end
					return b[0] & 0x0F, b[0]&0x80 != 0, b[h:end], nil
				} else if end > len(f.buf) {
					f.resize(end)
				}
			}
		}
		if err := f.fill(); err != nil {
			return 0, false, nil, err
		}
	}
}

// fill reads more bytes, first moving an incomplete frame to the front.
func (f *frameReader) fill() error {
	if f.r == f.w {
		f.r, f.w = 0, 0
		if len(f.buf) > f.limit {
			f.buf = make([]byte, f.limit) // a large frame passed: give its buffer back
		}
	} else if f.r > 0 {
		f.w = copy(f.buf, f.buf[f.r:f.w])
		f.r = 0
	}
	n, err := f.conn.Read(f.buf[f.w:])
	f.w += n
	if n > 0 {
		f.now = time.Now().UnixNano()
		if f.w == len(f.buf) && len(f.buf) < f.limit {
			// The read filled the buffer: more is probably waiting.
			f.resize(min(2*len(f.buf), f.limit))
		}
		return nil
	}
	if err == nil {
		err = errors.New("websocket: empty read")
	}
	return err
}

// resize replaces the buffer with one of n bytes, keeping the unread
// bytes.
func (f *frameReader) resize(n int) {
	nb := make([]byte, n)
	f.w = copy(nb, f.buf[f.r:f.w])
	f.r = 0
	f.buf = nb
}
