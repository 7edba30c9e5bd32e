package ws_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldws/herald/internal/ws"
)

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// rawFrame builds one frame by hand. b0 is the whole first byte (FIN, RSV
// bits and opcode) so that tests can build invalid frames.
func rawFrame(b0 byte, payload []byte, masked bool) []byte {
	var maskBit byte
	if masked {
		maskBit = 0x80
	}
	out := []byte{b0}
	n := len(payload)
	switch {
	case n < 126:
		out = append(out, maskBit|byte(n))
	case n <= 0xFFFF:
		out = binary.BigEndian.AppendUint16(append(out, maskBit|126), uint16(n))
	default:
		out = binary.BigEndian.AppendUint64(append(out, maskBit|127), uint64(n))
	}
	if masked {
		out = append(out, testKey[:]...)
		start := len(out)
		out = append(out, payload...)
		ws.Mask(out[start:], testKey, 0)
		return out
	}
	return append(out, payload...)
}

const fin = 0x80

func newReader(data []byte, masked bool) *ws.Reader {
	r := ws.NewReader(bufio.NewReader(bytes.NewReader(data)))
	r.Masked = masked
	return r
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		for _, op := range []byte{ws.OpText, ws.OpBinary} {
			payload := pattern(n)

			// Client to server: masked.
			var stream []byte
			stream = ws.AppendMaskedFrame(stream, op, payload, testKey)
			stream = ws.AppendMaskedFrame(stream, op, payload, [4]byte{1, 2, 3, 4})
			r := newReader(stream, true)
			r.CheckUTF8 = true
			for range 2 {
				gotOp, got, err := r.ReadMessage()
				if err != nil || gotOp != op || !bytes.Equal(got, payload) {
					t.Fatalf("masked n=%d op=%d: got op %d, %d bytes, %v", n, op, gotOp, len(got), err)
				}
			}
			if _, _, err := r.ReadMessage(); err != io.EOF {
				t.Fatalf("masked n=%d: after the last frame got %v, want io.EOF", n, err)
			}

			// Server to client: unmasked.
			frame := ws.AppendFrame([]byte("xx"), op, payload)[2:]
			if len(frame) != ws.FrameSize(n) {
				t.Fatalf("FrameSize(%d) = %d, frame is %d bytes", n, ws.FrameSize(n), len(frame))
			}
			r = newReader(frame, false)
			gotOp, got, err := r.ReadMessage()
			if err != nil || gotOp != op || !bytes.Equal(got, payload) {
				t.Fatalf("unmasked n=%d op=%d: got op %d, %d bytes, %v", n, op, gotOp, len(got), err)
			}
		}
	}
}

func TestHeaderLengthForms(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xFF, 0xFF}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		got := ws.AppendFrame(nil, ws.OpText, make([]byte, tt.n))
		if !bytes.HasPrefix(got, tt.want) || len(got) != len(tt.want)+tt.n {
			t.Errorf("AppendFrame(%d bytes) header % x, want % x", tt.n, got[:min(len(got), 10)], tt.want)
		}
		got = ws.AppendMaskedFrame(nil, ws.OpText, make([]byte, tt.n), testKey)
		want := append([]byte{tt.want[0], tt.want[1] | 0x80}, tt.want[2:]...)
		if !bytes.HasPrefix(got, append(want, testKey[:]...)) || len(got) != len(want)+4+tt.n {
			t.Errorf("AppendMaskedFrame(%d bytes) header % x, want % x + key", tt.n, got[:min(len(got), 14)], want)
		}
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	data := pattern(37)
	whole := bytes.Clone(data)
	ws.Mask(whole, testKey, 0)
	// Masking in pieces with the returned offset gives the same bytes.
	pieces := bytes.Clone(data)
	pos := ws.Mask(pieces[:5], testKey, 0)
	pos = ws.Mask(pieces[5:6], testKey, pos)
	ws.Mask(pieces[6:], testKey, pos)
	if !bytes.Equal(whole, pieces) {
		t.Fatal("Mask in pieces differs from Mask at once")
	}
	ws.Mask(whole, testKey, 0)
	if !bytes.Equal(whole, data) {
		t.Fatal("Mask is not its own inverse")
	}
}

func TestFragmentationWithInterleavedPing(t *testing.T) {
	t.Parallel()
	for _, masked := range []bool{true, false} {
		var s []byte
		s = append(s, rawFrame(ws.OpText, []byte("Hel"), masked)...)
		s = append(s, rawFrame(fin|ws.OpPing, []byte("ping!"), masked)...)
		s = append(s, rawFrame(ws.OpContinuation, []byte("lo, "), masked)...)
		s = append(s, rawFrame(fin|ws.OpPong, nil, masked)...)
		s = append(s, rawFrame(ws.OpContinuation, nil, masked)...)
		s = append(s, rawFrame(fin|ws.OpContinuation, []byte("world"), masked)...)
		s = append(s, rawFrame(fin|ws.OpBinary, []byte{0xff}, masked)...)
		r := newReader(s, masked)
		r.CheckUTF8 = true
		want := []struct {
			op      byte
			payload string
		}{
			{ws.OpPing, "ping!"},
			{ws.OpPong, ""},
			{ws.OpText, "Hello, world"},
			{ws.OpBinary, "\xff"},
		}
		for _, w := range want {
			op, p, err := r.ReadMessage()
			if err != nil || op != w.op || string(p) != w.payload {
				t.Fatalf("masked=%v: got %d %q %v, want %d %q", masked, op, p, err, w.op, w.payload)
			}
		}
		if _, _, err := r.ReadMessage(); err != io.EOF {
			t.Fatalf("masked=%v: got %v, want io.EOF", masked, err)
		}
	}
}

func TestCloseFrameInsideFragmentedMessage(t *testing.T) {
	t.Parallel()
	var s []byte
	s = append(s, rawFrame(ws.OpText, []byte("part"), true)...)
	s = append(s, rawFrame(fin|ws.OpClose, ws.ClosePayload(ws.CloseNormal, "bye"), true)...)
	r := newReader(s, true)
	op, p, err := r.ReadMessage()
	if err != nil || op != ws.OpClose {
		t.Fatalf("got %d %q %v", op, p, err)
	}
	code, reason, err := ws.ParseClosePayload(p)
	if err != nil || code != ws.CloseNormal || reason != "bye" {
		t.Fatalf("ParseClosePayload = %d %q %v", code, reason, err)
	}
}

func closeCode(t *testing.T, err error) uint16 {
	t.Helper()
	var ce *ws.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *ws.CloseError", err)
	}
	if ce.Error() == "" || !strings.Contains(ce.Error(), ce.Reason) {
		t.Fatalf("CloseError.Error() = %q", ce.Error())
	}
	return ce.Code
}

func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	tests := []struct {
		name   string
		masked bool // the Reader's mode; frames are built to match unless noted
		data   []byte
	}{
		{"unmasked client frame", true, rawFrame(fin|ws.OpText, []byte("hi"), false)},
		{"masked server frame", false, rawFrame(fin|ws.OpText, []byte("hi"), true)},
		{"RSV1", true, rawFrame(fin|0x40|ws.OpText, []byte("hi"), true)},
		{"RSV2", true, rawFrame(fin|0x20|ws.OpText, []byte("hi"), true)},
		{"RSV3", true, rawFrame(fin|0x10|ws.OpText, []byte("hi"), true)},
		{"RSV on control", true, rawFrame(fin|0x40|ws.OpPing, nil, true)},
		{"fragmented ping", true, rawFrame(ws.OpPing, []byte("x"), true)},
		{"fragmented close", true, rawFrame(ws.OpClose, nil, true)},
		{"ping over 125", true, rawFrame(fin|ws.OpPing, make([]byte, 126), true)},
		{"close over 125", true, rawFrame(fin|ws.OpClose, make([]byte, 200), true)},
		{"pong over 125", false, rawFrame(fin|ws.OpPong, make([]byte, 126), false)},
		{"continuation without start", true, rawFrame(fin|ws.OpContinuation, []byte("x"), true)},
		{"unfinished continuation without start", true, rawFrame(ws.OpContinuation, []byte("x"), true)},
		{"text inside fragment", true, cat(rawFrame(ws.OpText, []byte("a"), true), rawFrame(fin|ws.OpText, []byte("b"), true))},
		{"binary inside fragment", true, cat(rawFrame(ws.OpBinary, []byte("a"), true), rawFrame(ws.OpBinary, []byte("b"), true))},
		{"continuation after complete message", true, cat(rawFrame(fin|ws.OpText, []byte("a"), true), rawFrame(fin|ws.OpContinuation, []byte("b"), true))},
		{"opcode 3", true, rawFrame(fin|0x3, []byte("x"), true)},
		{"opcode 7", true, rawFrame(fin|0x7, nil, true)},
		{"opcode 0xB", true, rawFrame(fin|0xB, []byte("x"), true)},
		{"opcode 0xF", false, rawFrame(fin|0xF, nil, false)},
		{"64-bit length with top bit", true, []byte{fin | ws.OpText, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newReader(tt.data, tt.masked)
			var err error
			for range 3 {
				if _, _, err = r.ReadMessage(); err != nil {
					break
				}
			}
			if code := closeCode(t, err); code != ws.CloseProtocolError {
				t.Fatalf("code %d, want %d (%v)", code, ws.CloseProtocolError, err)
			}
		})
	}
}

func TestMaxMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		ok   int // messages read before the error
	}{
		{"at the limit", bytes.Join([][]byte{
			rawFrame(fin|ws.OpText, pattern(100), true),
			rawFrame(fin|ws.OpText, pattern(101), true),
		}, nil), 1},
		{"one frame over", rawFrame(fin|ws.OpText, pattern(101), true), 0},
		{"binary over", rawFrame(fin|ws.OpBinary, pattern(1000), true), 0},
		{"across fragments", bytes.Join([][]byte{
			rawFrame(ws.OpText, pattern(60), true),
			rawFrame(ws.OpContinuation, pattern(40), true),
			rawFrame(fin|ws.OpContinuation, pattern(1), true),
		}, nil), 0},
		{"fragments at the limit", bytes.Join([][]byte{
			rawFrame(ws.OpText, pattern(60), true),
			rawFrame(fin|ws.OpContinuation, pattern(40), true),
			rawFrame(fin|ws.OpText, pattern(101), true),
		}, nil), 1},
		{"limit is per message", bytes.Join([][]byte{
			rawFrame(fin|ws.OpText, pattern(100), true),
			rawFrame(fin|ws.OpText, pattern(100), true),
		}, nil), 2},
		{"header claims more than sent", []byte{fin | ws.OpText, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newReader(tt.data, true)
			r.MaxMessage = 100
			for i := range tt.ok {
				if _, _, err := r.ReadMessage(); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			_, _, err := r.ReadMessage()
			if tt.ok == 2 {
				if err != io.EOF {
					t.Fatalf("got %v, want io.EOF", err)
				}
				return
			}
			if code := closeCode(t, err); code != ws.CloseMessageTooBig {
				t.Fatalf("code %d, want %d", code, ws.CloseMessageTooBig)
			}
		})
	}
}

// TestLyingLength checks that a header claiming a huge payload does not
// make an unbounded Reader allocate it before the bytes arrive.
func TestLyingLength(t *testing.T) {
	t.Parallel()
	for _, n := range []uint64{1 << 62, 1 << 40, 1 << 30} {
		data := binary.BigEndian.AppendUint64([]byte{fin | ws.OpBinary, 127}, n)
		data = append(data, "only a few bytes"...)
		r := newReader(data, false)
		if _, _, err := r.ReadMessage(); err != ws.ErrUnexpectedEOF {
			t.Fatalf("length %d: got %v, want ErrUnexpectedEOF", n, err)
		}
	}
}

func TestCheckUTF8(t *testing.T) {
	t.Parallel()
	euro := []byte("€") // e2 82 ac
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"valid", rawFrame(fin|ws.OpText, []byte("héllo €"), true), true},
		{"invalid", rawFrame(fin|ws.OpText, []byte("bad \xff"), true), false},
		{"truncated rune", rawFrame(fin|ws.OpText, euro[:2], true), false},
		{"surrogate", rawFrame(fin|ws.OpText, []byte("\xed\xa0\x80"), true), false},
		{"rune split across fragments", bytes.Join([][]byte{
			rawFrame(ws.OpText, euro[:1], true),
			rawFrame(ws.OpContinuation, euro[1:2], true),
			rawFrame(fin|ws.OpContinuation, euro[2:], true),
		}, nil), true},
		{"invalid across fragments", bytes.Join([][]byte{
			rawFrame(ws.OpText, euro[:2], true),
			rawFrame(fin|ws.OpContinuation, []byte("x"), true),
		}, nil), false},
		{"binary is not checked", rawFrame(fin|ws.OpBinary, []byte{0xff, 0xfe}, true), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newReader(tt.data, true)
			r.CheckUTF8 = true
			_, _, err := r.ReadMessage()
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			if code := closeCode(t, err); code != ws.CloseInvalidPayload {
				t.Fatalf("code %d, want %d", code, ws.CloseInvalidPayload)
			}
			// Without CheckUTF8 the same bytes are accepted.
			r = newReader(tt.data, true)
			if _, _, err := r.ReadMessage(); err != nil {
				t.Fatalf("without CheckUTF8: %v", err)
			}
		})
	}
}

func TestEOF(t *testing.T) {
	t.Parallel()
	frame := rawFrame(fin|ws.OpText, pattern(300), true)
	for cut := 1; cut < len(frame); cut++ {
		r := newReader(frame[:cut], true)
		if _, _, err := r.ReadMessage(); err != ws.ErrUnexpectedEOF {
			t.Fatalf("cut at %d: got %v, want ErrUnexpectedEOF", cut, err)
		}
	}
	ping := rawFrame(fin|ws.OpPing, []byte("abc"), true)
	for cut := 1; cut < len(ping); cut++ {
		r := newReader(ping[:cut], true)
		if _, _, err := r.ReadMessage(); err != ws.ErrUnexpectedEOF {
			t.Fatalf("ping cut at %d: got %v, want ErrUnexpectedEOF", cut, err)
		}
	}
	if _, _, err := newReader(nil, true).ReadMessage(); err != io.EOF {
		t.Fatalf("empty stream: got %v, want io.EOF", err)
	}
}

func TestLargeMessageThenSmall(t *testing.T) {
	t.Parallel()
	big := pattern(200 << 10)
	var s []byte
	s = ws.AppendMaskedFrame(s, ws.OpBinary, big, testKey)
	s = ws.AppendMaskedFrame(s, ws.OpText, []byte("small"), testKey)
	r := newReader(s, true)
	_, p, err := r.ReadMessage()
	if err != nil || !bytes.Equal(p, big) {
		t.Fatalf("big message: %d bytes, %v", len(p), err)
	}
	held := p
	_, p, err = r.ReadMessage()
	if err != nil || string(p) != "small" {
		t.Fatalf("small message: %q, %v", p, err)
	}
	// The big buffer was released, not reused: what the caller held is
	// intact.
	if !bytes.Equal(held, big) {
		t.Fatal("a large message's buffer was overwritten by the next one")
	}
}

func TestClosePayload(t *testing.T) {
	t.Parallel()
	if p := ws.ClosePayload(0, "ignored"); len(p) != 0 {
		t.Fatalf("ClosePayload(0) = % x", p)
	}
	if p := ws.ClosePayload(ws.CloseNormal, ""); !bytes.Equal(p, []byte{0x03, 0xe8}) {
		t.Fatalf("ClosePayload(1000) = % x", p)
	}
	if p := ws.ClosePayload(ws.CloseInvalidPayload, "ttfn"); string(p) != "\x03\xefttfn" {
		t.Fatalf("ClosePayload(1007, ttfn) = %q", p)
	}
	long := ws.ClosePayload(ws.CloseNormal, strings.Repeat("x", 300))
	if len(long) != ws.MaxControlPayload {
		t.Fatalf("long reason gives %d bytes", len(long))
	}
	// Truncation never splits a rune.
	for pad := range 4 {
		reason := strings.Repeat("x", pad) + strings.Repeat("€", 60)
		p := ws.ClosePayload(ws.CloseNormal, reason)
		if len(p) > ws.MaxControlPayload || !utf8.Valid(p[2:]) {
			t.Fatalf("pad %d: payload of %d bytes, valid UTF-8 %v", pad, len(p), utf8.Valid(p[2:]))
		}
		if _, _, err := ws.ParseClosePayload(p); err != nil {
			t.Fatalf("pad %d: own payload does not parse: %v", pad, err)
		}
	}
}

func TestParseClosePayload(t *testing.T) {
	t.Parallel()
	be := func(code uint16, reason string) []byte {
		return append(binary.BigEndian.AppendUint16(nil, code), reason...)
	}
	tests := []struct {
		name    string
		p       []byte
		code    uint16
		reason  string
		errCode uint16 // 0: no error
	}{
		{"empty", nil, ws.CloseNoStatus, "", 0},
		{"one byte", []byte{0x03}, 0, "", ws.CloseProtocolError},
		{"normal", be(1000, ""), 1000, "", 0},
		{"normal with reason", be(1000, "ttfn"), 1000, "ttfn", 0},
		{"going away", be(1001, "bye"), 1001, "bye", 0},
		{"invalid payload", be(1007, ""), 1007, "", 0},
		{"too big", be(1009, ""), 1009, "", 0},
		{"internal error", be(1011, ""), 1011, "", 0},
		{"service restart", be(1012, ""), 1012, "", 0},
		{"try again later", be(1013, ""), 1013, "", 0},
		{"bad gateway", be(1014, ""), 1014, "", 0},
		{"application 3000", be(3000, ""), 3000, "", 0},
		{"private 4999", be(4999, "x"), 4999, "x", 0},
		{"utf8 reason", be(1000, "héllo"), 1000, "héllo", 0},
		{"code 0", be(0, ""), 0, "", ws.CloseProtocolError},
		{"code 999", be(999, ""), 0, "", ws.CloseProtocolError},
		{"reserved 1004", be(1004, ""), 0, "", ws.CloseProtocolError},
		{"no status 1005", be(1005, ""), 0, "", ws.CloseProtocolError},
		{"abnormal 1006", be(1006, ""), 0, "", ws.CloseProtocolError},
		{"TLS 1015", be(1015, ""), 0, "", ws.CloseProtocolError},
		{"unassigned 1016", be(1016, ""), 0, "", ws.CloseProtocolError},
		{"2999", be(2999, ""), 0, "", ws.CloseProtocolError},
		{"5000", be(5000, ""), 0, "", ws.CloseProtocolError},
		{"invalid utf8 reason", be(1000, "\xff"), 0, "", ws.CloseInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, reason, err := ws.ParseClosePayload(tt.p)
			if tt.errCode != 0 {
				if got := closeCode(t, err); got != tt.errCode {
					t.Fatalf("error code %d, want %d", got, tt.errCode)
				}
				return
			}
			if err != nil || code != tt.code || reason != tt.reason {
				t.Fatalf("got %d %q %v, want %d %q", code, reason, err, tt.code, tt.reason)
			}
		})
	}
}

func TestAcceptKey(t *testing.T) {
	t.Parallel()
	// RFC 6455 section 1.3.
	if got := ws.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
}

func TestIsControl(t *testing.T) {
	t.Parallel()
	for op := range byte(16) {
		if got := ws.IsControl(op); got != (op >= 8) {
			t.Errorf("IsControl(%d) = %v", op, got)
		}
	}
}

// FuzzReader feeds arbitrary bytes to a Reader in both modes: it must not
// panic, must fail only with io.EOF, ErrUnexpectedEOF or a *CloseError, and
// must only return messages that respect its limits.
func FuzzReader(f *testing.F) {
	seeds := [][]byte{
		rawFrame(fin|ws.OpText, []byte("[5,\"t\"]"), true),
		rawFrame(fin|ws.OpText, []byte("[5,\"t\"]"), false),
		bytes.Join([][]byte{
			rawFrame(ws.OpText, []byte("Hel"), true),
			rawFrame(fin|ws.OpPing, []byte("p"), true),
			rawFrame(fin|ws.OpContinuation, []byte("lo"), true),
		}, nil),
		rawFrame(fin|ws.OpClose, ws.ClosePayload(1000, "bye"), true),
		rawFrame(fin|ws.OpBinary, pattern(300), true),
		rawFrame(fin|ws.OpText, []byte("\xff"), false),
		{fin | ws.OpText, 127, 0, 0, 0, 0, 0, 1, 0, 0},
		{fin | 0x3, 0x80},
	}
	for _, s := range seeds {
		f.Add(s, s[1]&0x80 != 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, masked bool) {
		const maxMessage = 1 << 12
		r := newReader(data, masked)
		r.MaxMessage = maxMessage
		r.CheckUTF8 = true
		for {
			op, p, err := r.ReadMessage()
			if err != nil {
				var ce *ws.CloseError
				if err != io.EOF && err != ws.ErrUnexpectedEOF && !errors.As(err, &ce) {
					t.Fatalf("unexpected error %T %v", err, err)
				}
				return
			}
			switch op {
			case ws.OpText:
				if !utf8.Valid(p) {
					t.Fatal("invalid UTF-8 text message with CheckUTF8")
				}
				fallthrough
			case ws.OpBinary:
				if len(p) > maxMessage {
					t.Fatalf("message of %d bytes over MaxMessage", len(p))
				}
			case ws.OpClose, ws.OpPing, ws.OpPong:
				if len(p) > ws.MaxControlPayload {
					t.Fatalf("control payload of %d bytes", len(p))
				}
				if op == ws.OpClose {
					_, _, _ = ws.ParseClosePayload(p)
				}
			default:
				t.Fatalf("ReadMessage returned opcode %d", op)
			}
		}
	})
}

func BenchmarkAppendFrame(b *testing.B) {
	payload := []byte(`[8,"acme/channel/lobby",{"msg":"hello world","user":"alice","n":42}]`)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = ws.AppendFrame(buf[:0], ws.OpText, payload)
	}
}

func BenchmarkReadMaskedMessage(b *testing.B) {
	frame := ws.AppendMaskedFrame(nil, ws.OpText, []byte(`[7,"acme/channel/lobby",{"msg":"hello world"}]`), testKey)
	src := bytes.NewReader(frame)
	br := bufio.NewReader(src)
	r := ws.NewReader(br)
	r.Masked = true
	r.CheckUTF8 = true
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		src.Reset(frame)
		br.Reset(src)
		if _, _, err := r.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// Reset switches the source mid-stream, keeping a fragmented message in
// progress; Idle tells whether one is.
func TestReaderResetKeepsAFragmentedMessage(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	first := ws.AppendMaskedFrame(nil, ws.OpText, []byte("hello, "), key)
	first[0] &^= 0x80 // not final
	second := ws.AppendMaskedFrame(nil, ws.OpContinuation, []byte("world"), key)
	third := ws.AppendMaskedFrame(nil, ws.OpText, []byte("again"), key)

	r := ws.NewReader(bufio.NewReader(bytes.NewReader(first)))
	r.Masked = true
	if !r.Idle() {
		t.Fatal("a new Reader is not idle")
	}
	if _, _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("the source ends between two frames of a message: %v, want io.EOF", err)
	}
	if r.Idle() {
		t.Fatal("idle inside a fragmented message")
	}
	r.Reset(bufio.NewReader(bytes.NewReader(append(second, third...))))
	op, p, err := r.ReadMessage()
	if err != nil || op != ws.OpText || string(p) != "hello, world" {
		t.Fatalf("after Reset: %d %q %v, want the whole message", op, p, err)
	}
	if !r.Idle() {
		t.Fatal("not idle after a whole message")
	}
	r.Reset(nil)
	r.Reset(bufio.NewReader(bytes.NewReader(third)))
	if _, p, err := r.ReadMessage(); err != nil || string(p) != "again" {
		t.Fatalf("after Reset(nil) and Reset: %q %v", p, err)
	}
}
