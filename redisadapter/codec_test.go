package redisadapter

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/wirekit/socketio"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

func testAdapter() *adapter {
	return &adapter{uid: "AYa4FK", name: "/", channel: "socket.io#/#", bus: &bus{opts: Options{RequestsTimeout: time.Second}}}
}

// The bytes the Node.js adapter publishes, as captured in PROTOCOL.md: our
// encoder writes the same ones for the same broadcast.
func TestWireBroadcastMatchesNode(t *testing.T) {
	a := testAdapter()
	channel, msg, err := a.broadcastMessage(&socketio.Packet{
		Data: json.RawMessage(`["hello",1,"two",{"three":[true,null]},4.5,1099511627776]`),
	}, socketio.BroadcastOptions{})
	require.NoError(t, err)
	assert.Equal(t, "socket.io#/#", channel)
	assert.Equal(t, hex.EncodeToString(unhex(t, `
93 a6 41 59 61 34 46 4b 83 a4 74 79 70 65 02 a4 64 61 74 61 96 a5 68 65 6c 6c
6f 01 a3 74 77 6f 81 a5 74 68 72 65 65 92 c3 c0 cb 40 12 00 00 00 00 00 00 cf
00 00 01 00 00 00 00 00 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 90 a6 65 78 63
65 70 74 90 a5 66 6c 61 67 73 80`)), hex.EncodeToString(msg))

	channel, msg, err = a.broadcastMessage(&socketio.Packet{Data: json.RawMessage(`["r","x"]`)},
		socketio.BroadcastOptions{Rooms: []string{"room1"}})
	require.NoError(t, err)
	assert.Equal(t, "socket.io#/#room1#", channel)
	v, err := decodeMsgpack(string(msg))
	require.NoError(t, err)
	assert.Equal(t, `["AYa4FK",{"type":2,"data":["r","x"],"nsp":"/"},{"rooms":["room1"],"except":[],"flags":{}}]`,
		string(v.appendJSON(nil, nil)))

	_, msg, err = a.broadcastMessage(&socketio.Packet{Data: json.RawMessage(`["r2"]`)},
		socketio.BroadcastOptions{Rooms: []string{"room1", "room2"}, Except: []string{"room3", "room3"}, Volatile: true})
	require.NoError(t, err)
	v, err = decodeMsgpack(string(msg))
	require.NoError(t, err)
	assert.Equal(t, `["AYa4FK",{"type":2,"data":["r2"],"nsp":"/"},{"rooms":["room1","room2"],"except":["room3"],"flags":{"volatile":true}}]`,
		string(v.appendJSON(nil, nil)))
}

func TestWireBinaryBroadcast(t *testing.T) {
	a := testAdapter()
	_, msg, err := a.broadcastMessage(&socketio.Packet{
		Data:        json.RawMessage(`["bin",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]`),
		Attachments: [][]byte{{1, 2, 3}, {4, 5}},
	}, socketio.BroadcastOptions{})
	require.NoError(t, err)
	want := unhex(t, `a4 64 61 74 61 93 a3 62 69 6e c4 03 01 02 03 81 a1 62 c4 02 04 05 a3 6e 73 70 a1 2f`)
	assert.True(t, bytes.Contains(msg, want), "% x", msg)

	// And back: bin becomes attachments, in order.
	v, err := decodeMsgpack(string(msg))
	require.NoError(t, err)
	data, ok := a.eventData(&v.arr[1])
	require.True(t, ok)
	assert.Equal(t, `["bin",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]`, string(data.Data))
	assert.Equal(t, [][]byte{{1, 2, 3}, {4, 5}}, data.Attachments)
}

func TestWireAckBroadcastMatchesNode(t *testing.T) {
	a := testAdapter()
	msg, err := a.ackBroadcastMessage("ltsCDI", &socketio.Packet{Data: json.RawMessage(`["ask",7]`)},
		socketio.BroadcastOptions{}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(unhex(t, `
85 a3 75 69 64 a6 41 59 61 34 46 4b a9 72 65 71 75 65 73 74 49 64 a6 6c 74 73 43
44 49 a4 74 79 70 65 07 a6 70 61 63 6b 65 74 83 a4 74 79 70 65 02 a4 64 61 74 61
92 a3 61 73 6b 07 a3 6e 73 70 a1 2f a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65
78 63 65 70 74 90 a5 66 6c 61 67 73 81 a7 74 69 6d 65 6f 75 74 cd 03 e8`)), hex.EncodeToString(msg))

	// The acknowledgement as Node.js sends it.
	v, err := decodeMsgpack(string(unhex(t, `83 a4 74 79 70 65 09 a9 72 65 71 75 65 73 74 49 64 a6 6c 74 73 43 44 49 a6 70 61
       63 6b 65 74 b8 61 63 6b 2d 38 6e 5f 78 49 2d 51 77 71 52 58 6d 66 6e 6d 6d 41 41 41 42`)))
	require.NoError(t, err)
	assert.Equal(t, `{"type":9,"requestId":"ltsCDI","packet":"ack-8n_xI-QwqRXmfnmmAAAB"}`, string(v.appendJSON(nil, nil)))
}

// JSON with placeholders -> MessagePack -> JSON with placeholders keeps
// every value, key order included, and encodes numbers as Node.js does.
func TestCodecRoundTrip(t *testing.T) {
	for _, tc := range []struct{ in, out, hex string }{
		{in: `1`, hex: `01`},
		{in: `1.0`, out: `1`, hex: `01`},
		{in: `-1`, hex: `ff`},
		{in: `-33`, hex: `d0df`},
		{in: `200`, hex: `ccc8`},
		{in: `70000`, hex: `ce00011170`},
		{in: `4.5`, hex: `cb4012000000000000`},
		{in: `1e21`, out: `1e+21`, hex: `cb444b1ae4d6e2ef50`}, // beyond uint64: float64
		{in: `18446744073709551615`, hex: `cfffffffffffffffff`},
		{in: `-4294967297`, hex: `d3fffffffeffffffff`},
		{in: `2e3`, out: `2000`, hex: `cd07d0`},
		{in: `1e-7`, hex: `cb3e7ad7f29abcaf48`},
		{in: `"a\u003c\"\n\u0001é"`, out: `"a<\"\n\u0001é"`},
		{in: `{"z":1,"a":[true,false,null],"m":{}}`},
		{in: `[{"_placeholder":true,"num":0}]`},
		{in: `{"_placeholder":true,"num":7}`, out: `{"_placeholder":true,"num":7}`}, // out of range: a plain object
	} {
		v, err := parseJSON([]byte(tc.in), [][]byte{{0xff}}, false)
		require.NoError(t, err, tc.in)
		var buf bytes.Buffer
		require.NoError(t, v.encode(msgpack.NewEncoder(&buf)))
		if tc.hex != "" {
			assert.Equal(t, tc.hex, hex.EncodeToString(buf.Bytes()), tc.in)
		}
		back, err := decodeMsgpack(string(buf.Bytes()))
		require.NoError(t, err)
		var atts [][]byte
		out := string(back.appendJSON(nil, &atts))
		want := tc.out
		if want == "" {
			want = tc.in
		}
		assert.Equal(t, want, out, tc.in)
	}
}

func TestCodecFromNode(t *testing.T) {
	for _, tc := range []struct{ hex, json string }{
		{`ca40900000`, `4.5`},                          // float32, accepted
		{`cb7ff8000000000000`, `null`},                 // NaN
		{`92d40000c0`, `[null,null]`},                  // undefined in an array
		{`82a161d40000a16201`, `{"b":1}`},              // undefined in a map: left out
		{`81 01 a1 78`, `{"1":"x"}`},                   // numeric key
		{`d6ff00000000`, `"1970-01-01T00:00:00.000Z"`}, // Date
		{`c7 0c ff 0bebc200 0000000065920080`, `"2024-01-01T00:00:00.200Z"`},
		{`c70200 0102`, `{"_placeholder":true,"num":0}`}, // ext 0: ArrayBuffer
		{`d40507`, `[5,{"_placeholder":true,"num":0}]`},  // other ext: [type, bytes]
		{`a4 68c3a96c`, `"hél"`},
		{`a2 ff41`, `"\ufffdA"`}, // invalid UTF-8
	} {
		v, err := decodeMsgpack(string(unhex(t, tc.hex)))
		require.NoError(t, err, tc.hex)
		var atts [][]byte
		assert.Equal(t, tc.json, string(v.appendJSON(nil, &atts)), tc.hex)
	}
}

func TestCodecNodeJSON(t *testing.T) {
	// JSON.stringify writes a Buffer as an object; it comes back as binary.
	v, err := parseJSON([]byte(`["e",{"type":"Buffer","data":[1,2,255]},{"type":"Buffer","data":[256]}]`), nil, true)
	require.NoError(t, err)
	p := toPacket(&v)
	assert.Equal(t, `["e",{"_placeholder":true,"num":0},{"type":"Buffer","data":[256]}]`, string(p.Data))
	assert.Equal(t, [][]byte{{1, 2, 255}}, p.Attachments)
	assert.Equal(t, `["e",{"type":"Buffer","data":[1,2,255]},{"type":"Buffer","data":[256]}]`, string(v.appendJSON(nil, nil)))
}

func TestCodecMalformed(t *testing.T) {
	for _, h := range []string{
		``, `c1`, `92 01`, `dd ffffffff`, `df ffffffff`, `db ffffffff`, `c6 ffffffff 00`,
		`c7 ff 05`, `01 02`, strings.Repeat("91", 200) + "01",
	} {
		_, err := decodeMsgpack(string(unhex(t, h)))
		assert.Error(t, err, h)
	}
	for _, j := range []string{``, `[`, `[1,]`, `{"a"}`, `1 2`, strings.Repeat("[", 200) + strings.Repeat("]", 200)} {
		_, err := parseJSON([]byte(j), nil, false)
		assert.Error(t, err, j)
	}
}

func FuzzDecodeMsgpack(f *testing.F) {
	f.Add([]byte{0x93, 0xa1, 0x61, 0x80, 0x80})
	f.Add([]byte{0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeMsgpack(string(b))
		if err != nil {
			return
		}
		var atts [][]byte
		js := v.appendJSON(nil, &atts)
		if _, err := parseJSON(js, atts, false); err != nil {
			t.Fatalf("decoded %x to invalid JSON %s: %v", b, js, err)
		}
		var buf bytes.Buffer
		if err := v.encode(msgpack.NewEncoder(&buf)); err != nil {
			t.Fatal(err)
		}
	})
}

// A map key that is not a string becomes String(key), as in Node, where
// notepack.io assigns value[key]. The bytes are Node's own: notepack.io
// encoding of the keys {}, [1,[2,null],"a"], null, true, 1.5 and
// Buffer("hi"), and the JSON is what Node printed for its decoding.
func TestCodecMapKeysAsJavaScript(t *testing.T) {
	b, err := hex.DecodeString("86800193019202c0a16102c003c304cb3ff800000000000005c402686906")
	require.NoError(t, err)
	v, err := decodeMsgpack(string(b))
	require.NoError(t, err)
	assert.Equal(t, `{"[object Object]":1,"1,2,,a":2,"null":3,"true":4,"1.5":5,"hi":6}`, string(v.appendJSON(nil, nil)))
}

// Maps used as keys of maps, many levels deep, cost no more than their
// bytes: each key is "[object Object]", not the JSON of the map below it,
// escaped again at every level (which doubled per level: the fuzzer found
// an input that ran the fuzzing worker out of memory).
func TestCodecNestedMapKeys(t *testing.T) {
	const depth = 24
	var b []byte
	for range depth {
		b = append(b, 0x81) // a map of one entry, whose key is the next map
	}
	b = append(b, 0x81, 0xa1, 'k', 0x01) // the innermost map: {"k":1}
	for range depth {
		b = append(b, 0x01) // each level's value
	}
	v, err := decodeMsgpack(string(b))
	require.NoError(t, err)
	assert.Equal(t, `{"[object Object]":1}`, string(v.appendJSON(nil, nil)))
}
