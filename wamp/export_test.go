package wamp

import "errors"

// Test hooks into the transcoders, for package wamp_test.

// JSONToMsgPack transcodes one JSON value to msgpack.
func JSONToMsgPack(raw []byte) ([]byte, error) { return fmtMsgPack.appendJSON(nil, raw, 0) }

// JSONToCBOR transcodes one JSON value to CBOR.
func JSONToCBOR(raw []byte) ([]byte, error) { return fmtCBOR.appendJSON(nil, raw, 0) }

// MsgPackToJSON transcodes one msgpack value to JSON.
func MsgPackToJSON(b []byte) ([]byte, error) { return binToJSON(fmtMsgPack, b) }

// CBORToJSON transcodes one CBOR value to JSON.
func CBORToJSON(b []byte) ([]byte, error) { return binToJSON(fmtCBOR, b) }

func binToJSON(f binFormat, b []byte) ([]byte, error) {
	r := b2j{f: f, src: b}
	if err := r.value(0); err != nil {
		return nil, err
	}
	if r.i != len(b) {
		return nil, errors.New("trailing bytes")
	}
	return r.dst, nil
}

// ScanJSON checks one JSON value with the decoders' scanner.
func ScanJSON(b []byte) error {
	i := skipWS(b, 0)
	end, err := scanValue(b, i, 0)
	if err != nil {
		return err
	}
	if skipWS(b, end) != len(b) {
		return errors.New("trailing data")
	}
	return nil
}
