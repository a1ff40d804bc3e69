package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decodeAll(body []byte) ([]decodedPacket, error) {
	var out []decodedPacket
	err := decodePayload(body, func(p decodedPacket) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

func TestDecodeText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		typ    byte
		data   string
		binary bool
	}{
		{"0", TypeOpen, "", false},
		{"1", TypeClose, "", false},
		{"2", TypePing, "", false},
		{"2probe", TypePing, "probe", false},
		{"3", TypePong, "", false},
		{"4", TypeMessage, "", false},
		{"4hello", TypeMessage, "hello", false},
		{"4\x1e", TypeMessage, "\x1e", false}, // a WebSocket frame may hold one
		{"5", TypeUpgrade, "", false},
		{"6", TypeNoop, "", false},
		{"b", TypeMessage, "", true},
		{"bAQIDBA==", TypeMessage, "\x01\x02\x03\x04", true},
		{"b/w==", TypeMessage, "\xff", true},
	} {
		p, err := decodeText([]byte(tc.in))
		require.NoError(t, err, "%q", tc.in)
		assert.Equal(t, tc.typ, p.typ, "%q", tc.in)
		assert.Equal(t, tc.data, string(p.data), "%q", tc.in)
		assert.Equal(t, tc.binary, p.binary, "%q", tc.in)
	}
	for _, in := range []string{"", "7", "9", "a", "abc", "/", ":", "B", "\x00", "bA", "b!", "b!!!!", "bAQ==AA==", "bAQ-_?"} {
		_, err := decodeText([]byte(in))
		assert.ErrorIs(t, err, ErrInvalidPacket, "%q", in)
	}
}

// Base64 without its padding, or in the URL-safe alphabet, decodes as the
// reference server decodes it (Node's Buffer.from(s, "base64")).
func TestDecodeBase64Lenient(t *testing.T) {
	for in, want := range map[string]string{
		"bAQIDBA==": "\x01\x02\x03\x04",
		"bAQIDBA=":  "\x01\x02\x03\x04",
		"bAQIDBA":   "\x01\x02\x03\x04",
		"bAQID":     "\x01\x02\x03",
		"bAQI":      "\x01\x02",
		"bAQ":       "\x01",
		"b-_8":      "\xfb\xff",
		"b-_8=":     "\xfb\xff",
		"b+/8=":     "\xfb\xff",
		"b====":     "",
		"b":         "",
	} {
		p, err := decodeText([]byte(in))
		require.NoError(t, err, "%q", in)
		assert.Equal(t, TypeMessage, p.typ, "%q", in)
		assert.True(t, p.binary, "%q", in)
		assert.Equal(t, want, string(p.data), "%q", in)
	}
}

func TestDecodePayload(t *testing.T) {
	t.Parallel()
	ps, err := decodeAll([]byte("4hello\x1e2\x1e4world\x1ebAQIDBA==\x1e4"))
	require.NoError(t, err)
	require.Len(t, ps, 5)
	assert.Equal(t, "hello", string(ps[0].data))
	assert.Equal(t, TypePing, ps[1].typ)
	assert.Equal(t, "world", string(ps[2].data))
	assert.True(t, ps[3].binary)
	assert.Equal(t, []byte{1, 2, 3, 4}, ps[3].data)
	assert.Equal(t, "", string(ps[4].data))

	for _, in := range []string{"", "\x1e", "\x1e\x1e", "4a\x1e", "\x1e4a", "4a\x1e\x1e4b", "4a\x1eabc", "4a\x1eb!!"} {
		_, err := decodeAll([]byte(in))
		assert.ErrorIs(t, err, ErrInvalidPacket, "%q", in)
	}

	// Delivery stops at the first bad packet, and at the first error of fn.
	var got []string
	err = decodePayload([]byte("4a\x1e4b\x1e?\x1e4c"), func(p decodedPacket) error {
		got = append(got, string(p.data))
		return nil
	})
	assert.ErrorIs(t, err, ErrInvalidPacket)
	assert.Equal(t, []string{"a", "b"}, got)
	stop := errors.New("stop")
	got = nil
	err = decodePayload([]byte("4a\x1e4b\x1e4c"), func(p decodedPacket) error {
		got = append(got, string(p.data))
		if len(got) == 2 {
			return stop
		}
		return nil
	})
	assert.Equal(t, stop, err)
	assert.Equal(t, []string{"a", "b"}, got)
}

// The data of a decoded packet is capped at its length: a handler that
// appends to it cannot write over the next packet of the payload.
func TestDecodedDataCapped(t *testing.T) {
	t.Parallel()
	body := []byte("4one\x1e4two")
	var first []byte
	var second string
	err := decodePayload(body, func(p decodedPacket) error {
		if first == nil {
			first = p.data
			_ = append(p.data, "XXXXXXXX"...)
		} else {
			second = string(p.data)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "one", string(first))
	assert.Equal(t, "two", second)
	assert.Equal(t, len(first), cap(first))
}

func TestAppendPayload(t *testing.T) {
	t.Parallel()
	pkts := []Packet{
		{Data: []byte("4hello")},
		{Data: []byte{1, 2, 3, 4}, Binary: true},
		{Data: []byte("2")},
		{Data: nil, Binary: true},
		{Data: []byte("4")},
	}
	out := appendPayload([]byte("prefix:"), pkts)
	assert.Equal(t, "prefix:4hello\x1ebAQIDBA==\x1e2\x1eb\x1e4", string(out))
	assert.Equal(t, len(out)-len("prefix:"), payloadSize(pkts))
	assert.Empty(t, appendPayload(nil, nil))
	assert.Equal(t, 0, payloadSize(nil))
	// Queued data is not modified.
	assert.Equal(t, []byte{1, 2, 3, 4}, pkts[1].Data)
}

// packetsFromDecoded turns decoded packets back into what the server would
// queue to send the same packets.
func packetsFromDecoded(ps []decodedPacket) []Packet {
	out := make([]Packet, len(ps))
	for i, p := range ps {
		if p.binary {
			out[i] = Packet{Data: p.data, Binary: true}
		} else {
			out[i] = Packet{Data: append([]byte{p.typ}, p.data...)}
		}
	}
	return out
}

func samePackets(t *testing.T, a, b []decodedPacket) {
	t.Helper()
	require.Equal(t, len(a), len(b))
	for i := range a {
		require.Equal(t, a[i].typ, b[i].typ, "packet %d", i)
		require.Equal(t, a[i].binary, b[i].binary, "packet %d", i)
		require.True(t, bytes.Equal(a[i].data, b[i].data), "packet %d: %q vs %q", i, a[i].data, b[i].data)
	}
}

func payloadSeeds() []string {
	return []string{
		"4hello",
		"4test1\x1e4test2\x1e4test3",
		"4hello\x1ebAQIDBA==",
		"2\x1e3\x1e6\x1e1",
		"b",
		"4",
		"abc",
		"",
		"\x1e\x1e",
		"\x1e",
		"4a\x1e",
		"b!!!",
		"bAQIDBA",
		"bAQ\nIDBA==",
		"bAQ\rID\nBA==",
		"2probe",
		"5",
		"4\xff\xfe",
		"4héllo",
		"0{\"sid\":\"x\"}",
		strings.Repeat("4x\x1e", 50) + "4y",
	}
}

// FuzzDecodePayload: decodePayload never panics, and what it accepts
// re-encodes to a payload that decodes to the same packets.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range payloadSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ps, err := decodeAll(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			return
		}
		if len(ps) == 0 {
			t.Fatalf("%q: accepted with no packet", body)
		}
		for _, p := range ps {
			if p.typ < TypeOpen || p.typ > TypeNoop {
				t.Fatalf("%q: type %q", body, p.typ)
			}
			if p.binary && p.typ != TypeMessage {
				t.Fatalf("%q: binary of type %q", body, p.typ)
			}
		}
		re := appendPayload(nil, packetsFromDecoded(ps))
		if len(re) != payloadSize(packetsFromDecoded(ps)) {
			t.Fatalf("payloadSize %d, appendPayload %d", payloadSize(packetsFromDecoded(ps)), len(re))
		}
		ps2, err := decodeAll(re)
		if err != nil {
			t.Fatalf("%q re-encoded to %q which does not decode: %v", body, re, err)
		}
		samePackets(t, ps, ps2)
		// Text packets of a payload carry no separator; so the canonical
		// encoding is the input itself unless base64 was not canonical.
		if !bytes.Contains(body, []byte("b")) && !bytes.Equal(re, body) {
			t.Fatalf("%q re-encoded to %q", body, re)
		}
	})
}

// FuzzDecodeText: one packet (a WebSocket text frame) never panics, and
// what it accepts re-encodes to the same packet.
func FuzzDecodeText(f *testing.F) {
	for _, s := range payloadSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeText(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			return
		}
		if len(b) == 0 {
			t.Fatal("empty packet accepted")
		}
		if p.binary {
			if b[0] != 'b' {
				t.Fatalf("%q: binary without b", b)
			}
			enc := base64.StdEncoding.EncodeToString(p.data)
			p2, err := decodeText([]byte("b" + enc))
			require.NoError(t, err)
			require.Equal(t, p.data, p2.data)
			return
		}
		if b[0] != p.typ || !bytes.Equal(b[1:], p.data) {
			t.Fatalf("%q decoded to %q %q", b, p.typ, p.data)
		}
	})
}

func benchPackets() []Packet {
	pkts := make([]Packet, 10)
	for i := range pkts {
		if i%5 == 4 {
			pkts[i] = Packet{Data: bytes.Repeat([]byte{byte(i)}, 64), Binary: true}
		} else {
			pkts[i] = Packet{Data: []byte(fmt.Sprintf(`42["event %d",{"hello":"world","n":%d}]`, i, i))}
		}
	}
	return pkts
}

func BenchmarkAppendPayload(b *testing.B) {
	pkts := benchPackets()
	buf := make([]byte, 0, payloadSize(pkts))
	b.ReportAllocs()
	b.SetBytes(int64(payloadSize(pkts)))
	for i := 0; i < b.N; i++ {
		buf = appendPayload(buf[:0], pkts)
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	body := appendPayload(nil, benchPackets())
	n := 0
	fn := func(p decodedPacket) error { n += len(p.data); return nil }
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		if err := decodePayload(body, fn); err != nil {
			b.Fatal(err)
		}
	}
}
