package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func decodeAll(t *testing.T, d *Decoder, text string, atts ...string) (*Packet, error) {
	t.Helper()
	p, err := d.DecodeText([]byte(text))
	if err != nil || p != nil {
		if len(atts) > 0 && err == nil {
			t.Fatalf("%q: complete before its %d attachments", text, len(atts))
		}
		return p, err
	}
	for i, a := range atts {
		p, err = d.DecodeBinary([]byte(a))
		if err != nil {
			return nil, err
		}
		if (p != nil) != (i == len(atts)-1) {
			t.Fatalf("%q: attachment %d: complete=%v", text, i, p != nil)
		}
	}
	return p, nil
}

func TestDecodeValid(t *testing.T) {
	tests := []struct {
		in   string
		atts []string
		want Packet
	}{
		{`0`, nil, Packet{Type: Connect, Namespace: "/"}},
		{`0{}`, nil, Packet{Type: Connect, Namespace: "/", Data: json.RawMessage(`{}`)}},
		{`0{"token":"abc"}`, nil, Packet{Type: Connect, Namespace: "/", Data: json.RawMessage(`{"token":"abc"}`)}},
		{`0/admin,`, nil, Packet{Type: Connect, Namespace: "/admin"}},
		{`0/admin`, nil, Packet{Type: Connect, Namespace: "/admin"}},
		{`0/custom`, nil, Packet{Type: Connect, Namespace: "/custom"}},
		{`0/admin,{"sid":"x"}`, nil, Packet{Type: Connect, Namespace: "/admin", Data: json.RawMessage(`{"sid":"x"}`)}},
		{`0/,{}`, nil, Packet{Type: Connect, Namespace: "/", Data: json.RawMessage(`{}`)}},
		{`0/a/b?x=1,`, nil, Packet{Type: Connect, Namespace: "/a/b?x=1"}},
		{`1`, nil, Packet{Type: Disconnect, Namespace: "/"}},
		{`1/admin,`, nil, Packet{Type: Disconnect, Namespace: "/admin"}},
		{`2["a"]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["a"]`)}},
		{`2["a",1,{"b":[true,null]}]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["a",1,{"b":[true,null]}]`)}},
		{`20["a"]`, nil, Packet{Type: Event, Namespace: "/", ID: 0, HasID: true, Data: json.RawMessage(`["a"]`)}},
		{`212["a"]`, nil, Packet{Type: Event, Namespace: "/", ID: 12, HasID: true, Data: json.RawMessage(`["a"]`)}},
		{`2/admin,7["a"]`, nil, Packet{Type: Event, Namespace: "/admin", ID: 7, HasID: true, Data: json.RawMessage(`["a"]`)}},
		{`29007199254740991["a"]`, nil, Packet{Type: Event, Namespace: "/", ID: MaxAckID, HasID: true, Data: json.RawMessage(`["a"]`)}},
		{`2 ["a"] `, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(` ["a"] `)}},
		{`2[1,"a"]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`[1,"a"]`)}}, // socket.io-parser allows numbers
		{`2[-1.5e3]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`[-1.5e3]`)}},
		{`2["\u0063onnect"]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["\u0063onnect"]`)}},
		{`2["a",{"_placeholder":false,"num":0}]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["a",{"_placeholder":false,"num":0}]`)}},
		// Without attachments a placeholder is plain data, as socket.io-parser
		// takes it, whatever its shape.
		{`2["a",{"_placeholder":true,"num":0},{"_placeholder":true,"x":1}]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["a",{"_placeholder":true,"num":0},{"_placeholder":true,"x":1}]`)}},
		{`30[{"_placeholder":true,"num":7}]`, nil, Packet{Type: Ack, Namespace: "/", HasID: true, Data: json.RawMessage(`[{"_placeholder":true,"num":7}]`)}},
		{`50-["a",{"_placeholder":true,"num":0}]`, nil, Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{}}},
		{`3/admin,12[]`, nil, Packet{Type: Ack, Namespace: "/admin", ID: 12, HasID: true, Data: json.RawMessage(`[]`)}},
		{`30["x",2]`, nil, Packet{Type: Ack, Namespace: "/", ID: 0, HasID: true, Data: json.RawMessage(`["x",2]`)}},
		// An ACK without a payload acknowledges with no arguments, as
		// socket.io-parser decodes it (the Node server calls the ack).
		{`31`, nil, Packet{Type: Ack, Namespace: "/", ID: 1, HasID: true, Data: json.RawMessage(`[]`)}},
		{`3/admin,7`, nil, Packet{Type: Ack, Namespace: "/admin", ID: 7, HasID: true, Data: json.RawMessage(`[]`)}},
		{`61-/admin,5`, []string{"x"}, Packet{Type: BinaryAck, Namespace: "/admin", ID: 5, HasID: true, Data: json.RawMessage(`[]`), Attachments: [][]byte{[]byte("x")}}},
		{`4{"message":"Invalid namespace"}`, nil, Packet{Type: ConnectError, Namespace: "/", Data: json.RawMessage(`{"message":"Invalid namespace"}`)}},
		{`4/random,{"message":"Invalid namespace"}`, nil, Packet{Type: ConnectError, Namespace: "/random", Data: json.RawMessage(`{"message":"Invalid namespace"}`)}},
		{`4"not authorized"`, nil, Packet{Type: ConnectError, Namespace: "/", Data: json.RawMessage(`"not authorized"`)}},
		{`51-["ev",{"_placeholder":true,"num":0}]`, []string{"\x01\x02"},
			Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["ev",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}}},
		{`52-/admin,3["ev",{"num":1,"_placeholder":true},{"a":{"_placeholder":true,"num":0}}]`, []string{"A", "B"},
			Packet{Type: BinaryEvent, Namespace: "/admin", ID: 3, HasID: true, Data: json.RawMessage(`["ev",{"num":1,"_placeholder":true},{"a":{"_placeholder":true,"num":0}}]`), Attachments: [][]byte{[]byte("A"), []byte("B")}}},
		{`52-["ev",{"_placeholder":true,"num":0}]`, []string{"A", "unused"},
			Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["ev",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{[]byte("A"), []byte("unused")}}},
		{`50-["ev"]`, nil, Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["ev"]`), Attachments: [][]byte{}}},
		{`510-["ev"]`, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
			Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["ev"]`), Attachments: [][]byte{[]byte("0"), []byte("1"), []byte("2"), []byte("3"), []byte("4"), []byte("5"), []byte("6"), []byte("7"), []byte("8"), []byte("9")}}},
		{`61-/admin,5[{"_placeholder":true,"num":0}]`, []string{""},
			Packet{Type: BinaryAck, Namespace: "/admin", ID: 5, HasID: true, Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{}}}},
		{`2["\u005fplaceholder",{"\u005fplaceholder":false}]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["\u005fplaceholder",{"\u005fplaceholder":false}]`)}},
	}
	for _, tt := range tests {
		var d Decoder
		p, err := decodeAll(t, &d, tt.in, tt.atts...)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(*p, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, *p, tt.want)
		}
		if d.Pending() {
			t.Errorf("%q: still pending", tt.in)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		in   string
		want string // substring of the error
	}{
		{``, "empty packet"},
		{`7`, "unknown packet type"},
		{`9["a"]`, "unknown packet type"},
		{`a`, "unknown packet type"},
		{`abc`, "unknown packet type"},
		{`-1`, "unknown packet type"},
		{`4abc`, "invalid character in JSON"},
		{`4`, "CONNECT_ERROR payload is not an object or string"},
		{`4[]`, "CONNECT_ERROR payload is not an object or string"},
		{`4null`, "CONNECT_ERROR payload is not an object or string"},
		{`41{}`, "CONNECT_ERROR packet with an ack id"},
		{`2abc["a"]`, "invalid character in JSON"},
		{`2abc[..]`, "invalid character in JSON"},
		{`2{}`, "EVENT payload is not an array"},
		{`2`, "EVENT payload is not an array"},
		{`2/admin,`, "EVENT payload is not an array"},
		{`2/admin["a"]`, "EVENT payload is not an array"},
		{`2"a"`, "EVENT payload is not an array"},
		{`2[]`, "does not start with an event name"},
		{`2[ ]`, "does not start with an event name"},
		{`2[null]`, "does not start with an event name"},
		{`2[true,"a"]`, "does not start with an event name"},
		{`2[{"toString":"x"}]`, "does not start with an event name"},
		{`2[["a"]]`, "does not start with an event name"},
		{`2["a"`, "unexpected end of JSON"},
		{`2["a"]]`, "invalid character after JSON value"},
		{`2["a"]x`, "invalid character after JSON value"},
		{`2["a",]`, "invalid character in JSON"},
		{`2['a']`, "invalid character in JSON"},
		{"2[\"a\x01\"]", "control character"},
		{`2["a\q"]`, "invalid escape"},
		{`2["\u12"]`, "invalid \\u escape"},
		{`2["a",01]`, "expected ',' or ']'"},
		{`2["a",1.]`, "invalid JSON number"},
		{`2["a",-]`, "invalid JSON number"},
		{`2["a",1e]`, "invalid JSON number"},
		{`2["a",{"b"}]`, "expected ':'"},
		{`2["a",{1:2}]`, "expected string key"},
		{`2["a",{"b":1,}]`, "expected string key"},
		{`2["a",tru]`, "invalid JSON literal"},
		{`2-1["a"]`, "invalid character after JSON value"},
		{`21.5["a"]`, "invalid character in JSON"},
		{`2 1["a"]`, "invalid character after JSON value"},
		{`21234567890123456789012345["a"]`, "ack id too long"},
		{`212345678901234567["a"]`, "ack id too long"},
		{`29007199254740992["a"]`, "ack id too large"},
		{`29999999999999999["a"]`, "ack id too large"},
		{`01{}`, "CONNECT packet with an ack id"},
		{`0[]`, "CONNECT payload is not an object"},
		{`0"x"`, "CONNECT payload is not an object"},
		{`0null`, "CONNECT payload is not an object"},
		{`0 `, "unexpected end of JSON"},
		{`0{`, "expected string key"},
		{`1{}`, "DISCONNECT packet with a payload"},
		{`1/admin,[]`, "DISCONNECT packet with a payload"},
		{`1/admin,1`, "DISCONNECT packet with an ack id"},
		{`3[]`, "ACK packet without an ack id"},
		{`3/admin,[]`, "ACK packet without an ack id"},
		{`31{}`, "ACK payload is not an array"},
		{`3`, "ACK packet without an ack id"},
		{`5`, "missing attachment count"},
		{`5a-`, "missing attachment count"},
		{`5-["a"]`, "missing attachment count"},
		{`51["a"]`, "not followed by '-'"},
		{`51`, "not followed by '-'"},
		{`511-["a"]`, "too many attachments"},
		{`599999999999999999999-["a"]`, "too many attachments"},
		{`6`, "missing attachment count"},
		{`61-[]`, "ACK packet without an ack id"},
		{`21-["a"]`, "attachment count on a non-binary packet"},
		{`31-/admin,1[]`, "attachment count on a non-binary packet"},
		{`2/admin,1-["a"]`, "invalid JSON number"},
		{`51-["a",{"_placeholder":true,"num":1}]`, "placeholder num out of range"},
		{`51-["a",{"_placeholder":true,"num":"0"}]`, "not a non-negative integer"},
		{`51-["a",{"_placeholder":true,"num":-1}]`, "not a non-negative integer"},
		{`51-["a",{"_placeholder":true,"num":0.5}]`, "not a non-negative integer"},
		{`51-["a",{"_placeholder":true,"num":1.5}]`, "not a non-negative integer"},
		{`51-["a",{"_placeholder":true,"num":0.0}]`, "not a non-negative integer"},
		{`51-["a",{"_placeholder":true,"num":0e0}]`, "not a non-negative integer"},
		{`51-["a",{"_placeholder":true,"num":null}]`, "not a non-negative integer"},
		{`51-["a",{"_placeholder":true,"num":99999999999999999999999}]`, "placeholder num out of range"},
		{`51-["a",{"_placeholder":true}]`, "placeholder must be exactly"},
		{`51-["a",{"_placeholder":true,"num":0,"x":1}]`, "placeholder must be exactly"},
		{`51-["a",{"_placeholder":true,"num":0,"num":0}]`, "placeholder must be exactly"},
		{`51-["a",{"_placeholder":false,"_placeholder":true,"num":0}]`, "placeholder must be exactly"},
		{`51-["a",{"\u005fplaceholder":true,"n\u0075m":3}]`, "placeholder num out of range"},
		{`52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]`, "attachment referenced twice"},
		{`2["a",` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]`, "nested too deeply"},
		{`2["a",` + strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100) + `]`, "nested too deeply"},
	}
	for _, tt := range tests {
		var d Decoder
		p, err := d.DecodeText([]byte(tt.in))
		if err == nil {
			t.Errorf("%q: decoded %+v, want error %q", tt.in, p, tt.want)
			continue
		}
		if !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%q: error %v does not wrap ErrInvalidPacket", tt.in, err)
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %T is not *Error", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %q, want it to mention %q", tt.in, err, tt.want)
		}
		if p != nil || d.Pending() {
			t.Errorf("%q: packet or pending state after an error", tt.in)
		}
	}
}

func TestDecodeDepthLimitExact(t *testing.T) {
	// The event array is level 1, so 99 more levels are allowed.
	ok := `2["a",` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `]`
	var d Decoder
	if _, err := d.DecodeText([]byte(ok)); err != nil {
		t.Fatalf("depth %d rejected: %v", MaxDepth, err)
	}
	// Hostile nesting is rejected quickly, whatever its size.
	deep := "2[\"a\"," + strings.Repeat("[", 1<<20)
	if _, err := d.DecodeText([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("deep: %v", err)
	}
}

func TestDecoderMaxAttachments(t *testing.T) {
	d := Decoder{MaxAttachments: 2}
	if _, err := d.DecodeText([]byte(`53-["a"]`)); err == nil {
		t.Fatal("3 attachments accepted with MaxAttachments 2")
	}
	if p, err := d.DecodeText([]byte(`52-["a"]`)); err != nil || p != nil {
		t.Fatalf("got %v, %v", p, err)
	}
	d = Decoder{MaxAttachments: 100}
	if p, err := d.DecodeText([]byte(`550-["a"]`)); err != nil || p != nil {
		t.Fatalf("got %v, %v", p, err)
	}
	d = Decoder{MaxAttachments: -1} // means the default
	if _, err := d.DecodeText([]byte(`511-["a"]`)); err == nil {
		t.Fatal("11 attachments accepted with the default cap")
	}
}

func TestDecoderBinarySequence(t *testing.T) {
	var d Decoder
	if _, err := d.DecodeBinary([]byte{1}); err == nil || !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("binary with nothing pending: %v", err)
	}
	p, err := d.DecodeText([]byte(`52-["a",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`))
	if p != nil || err != nil || !d.Pending() {
		t.Fatalf("got %v, %v, pending %v", p, err, d.Pending())
	}
	if p, err = d.DecodeBinary([]byte("x")); p != nil || err != nil {
		t.Fatalf("first attachment: %v, %v", p, err)
	}
	// A text message while attachments are pending is an error and drops
	// the pending packet.
	if _, err = d.DecodeText([]byte(`2["b"]`)); err == nil || !strings.Contains(err.Error(), "waiting for binary") {
		t.Fatalf("text while pending: %v", err)
	}
	if d.Pending() {
		t.Fatal("still pending after the error")
	}
	if _, err = d.DecodeBinary([]byte("y")); err == nil {
		t.Fatal("binary accepted after the pending packet was dropped")
	}
	// The decoder is usable again.
	if p, err = d.DecodeText([]byte(`2["b"]`)); err != nil || p == nil {
		t.Fatalf("after recovery: %v, %v", p, err)
	}
	// Reset drops a pending packet.
	if _, err = d.DecodeText([]byte(`51-["a"]`)); err != nil || !d.Pending() {
		t.Fatal(err)
	}
	d.Reset()
	if d.Pending() {
		t.Fatal("pending after Reset")
	}
}

func TestDecode(t *testing.T) {
	p, err := Decode([]byte(`51-["a",{"_placeholder":true,"num":0}]`), [][]byte{{7}})
	if err != nil || p.Type != BinaryEvent || len(p.Attachments) != 1 {
		t.Fatalf("got %+v, %v", p, err)
	}
	if _, err = Decode([]byte(`51-["a"]`), nil); err == nil {
		t.Fatal("missing attachment accepted")
	}
	if _, err = Decode([]byte(`2["a"]`), [][]byte{{1}}); err == nil {
		t.Fatal("extra attachment accepted")
	}
	p, err = Decode([]byte(`2["a"]`), nil)
	if err != nil || p.Type != Event || p.Attachments != nil {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestAppendPacket(t *testing.T) {
	tests := []struct {
		p    Packet
		want string
	}{
		{Packet{Type: Event, Data: json.RawMessage(`["a",1]`)}, `2["a",1]`},
		{Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["a",1]`)}, `2["a",1]`},
		{Packet{Type: Event, Namespace: "/", ID: 0, HasID: true, Data: json.RawMessage(`["a"]`)}, `20["a"]`},
		{Packet{Type: Ack, Namespace: "/admin", ID: 12, HasID: true, Data: json.RawMessage(`[]`)}, `3/admin,12[]`},
		{Packet{Type: Connect, Data: json.RawMessage(`{"sid":"x"}`)}, `0{"sid":"x"}`},
		{Packet{Type: Connect, Namespace: "/admin", Data: json.RawMessage(`{"sid":"x"}`)}, `0/admin,{"sid":"x"}`},
		{Packet{Type: Connect, Namespace: "/admin"}, `0/admin,`},
		{Packet{Type: Disconnect, Namespace: "/admin"}, `1/admin,`},
		{Packet{Type: Disconnect}, `1`},
		{Packet{Type: ConnectError, Data: json.RawMessage(`{"message":"Invalid namespace"}`)}, `4{"message":"Invalid namespace"}`},
		{Packet{Type: ConnectError, Namespace: "/random", Data: json.RawMessage(`{"message":"Invalid namespace"}`)}, `4/random,{"message":"Invalid namespace"}`},
		{Packet{Type: Event, Data: json.RawMessage(`["ev",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}, `51-["ev",{"_placeholder":true,"num":0}]`},
		{Packet{Type: BinaryEvent, Data: json.RawMessage(`["ev",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}, `51-["ev",{"_placeholder":true,"num":0}]`},
		{Packet{Type: Ack, Namespace: "/admin", ID: 3, HasID: true, Data: json.RawMessage(`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1}, {2}}}, `62-/admin,3[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{Packet{Type: BinaryEvent, Data: json.RawMessage(`["ev"]`)}, `50-["ev"]`},
		{Packet{Type: Connect, Attachments: [][]byte{{1}}}, `0`},
	}
	for _, tt := range tests {
		if got := string(AppendPacket(nil, &tt.p)); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.p, got, tt.want)
		}
	}
	// With the Engine.IO message type in front.
	got := AppendPacket([]byte{'4'}, &Packet{Type: Event, Data: json.RawMessage(`["a"]`)})
	if string(got) != `42["a"]` {
		t.Errorf("got %q", got)
	}
}

func TestRoundTrip(t *testing.T) {
	packets := []Packet{
		{Type: Connect, Namespace: "/"},
		{Type: Connect, Namespace: "/admin", Data: json.RawMessage(`{"sid":"x"}`)},
		{Type: Disconnect, Namespace: "/admin"},
		{Type: Event, Namespace: "/", Data: json.RawMessage(`["hello",{"a":[1,2.5,"x"]}]`)},
		{Type: Event, Namespace: "/chat", ID: 42, HasID: true, Data: json.RawMessage(`["hello"]`)},
		{Type: Ack, Namespace: "/", ID: MaxAckID, HasID: true, Data: json.RawMessage(`[]`)},
		{Type: ConnectError, Namespace: "/x", Data: json.RawMessage(`"nope"`)},
		{Type: BinaryEvent, Namespace: "/b", ID: 1, HasID: true, Data: json.RawMessage(`["ev",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}, {}}},
		{Type: BinaryAck, Namespace: "/", ID: 9, HasID: true, Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xff}}},
	}
	for _, want := range packets {
		enc := AppendPacket(nil, &want)
		var d Decoder
		got, err := d.DecodeText(enc)
		for i := 0; err == nil && got == nil && i < len(want.Attachments); i++ {
			got, err = d.DecodeBinary(want.Attachments[i])
		}
		if err != nil || got == nil {
			t.Errorf("%q: %v, %v", enc, got, err)
			continue
		}
		if !packetsEqual(got, &want) {
			t.Errorf("%q:\n got %+v\nwant %+v", enc, *got, want)
		}
	}
}

func packetsEqual(a, b *Packet) bool {
	if a.Type != b.Type || a.Namespace != b.Namespace || a.HasID != b.HasID || a.ID != b.ID ||
		!bytes.Equal(a.Data, b.Data) || len(a.Attachments) != len(b.Attachments) {
		return false
	}
	for i := range a.Attachments {
		if !bytes.Equal(a.Attachments[i], b.Attachments[i]) {
			return false
		}
	}
	return true
}

func TestTypeString(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
	for i, w := range want {
		if got := Type(i).String(); got != w {
			t.Errorf("Type(%d) = %q, want %q", i, got, w)
		}
	}
	if got := Type(7).String(); got != "Type(7)" {
		t.Errorf("Type(7) = %q", got)
	}
}

func TestIsReserved(t *testing.T) {
	for _, n := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if !IsReserved(n) {
			t.Errorf("%q not reserved", n)
		}
	}
	for _, n := range []string{"", "message", "error", "Connect", "ping", "toString", "__proto__"} {
		if IsReserved(n) {
			t.Errorf("%q reserved", n)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	var d Decoder
	_, err := d.DecodeText([]byte(`51-["a",{"_placeholder":true,"num":3}]`))
	want := `invalid socket.io packet: placeholder num out of range (offset 8)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// DecodeTextInto decodes a complete packet into the caller's Packet,
// without allocating, and copies a packet that waits for attachments out
// of it, so that the caller may reuse its Packet meanwhile.
func TestDecodeTextInto(t *testing.T) {
	var (
		d Decoder
		p Packet
	)
	msg := []byte(`212["echo",{"a":1}]`)
	got, err := d.DecodeTextInto(&p, msg)
	if err != nil || got != &p {
		t.Fatalf("got %p (want %p), %v", got, &p, err)
	}
	want := Packet{Type: Event, Namespace: "/", ID: 12, HasID: true, Data: json.RawMessage(`["echo",{"a":1}]`)}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	if n := testing.AllocsPerRun(100, func() { d.DecodeTextInto(&p, msg) }); n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
	// Every field is overwritten.
	if got, err = d.DecodeTextInto(&p, []byte(`2["b"]`)); err != nil || got.HasID || got.ID != 0 {
		t.Fatalf("second packet: %+v, %v", got, err)
	}
	// A binary packet waits apart from p.
	if got, err = d.DecodeTextInto(&p, []byte(`51-/x,3["a",{"_placeholder":true,"num":0}]`)); got != nil || err != nil || !d.Pending() {
		t.Fatalf("binary packet: %v, %v, pending %v", got, err, d.Pending())
	}
	p = Packet{Type: Connect, Data: json.RawMessage("scribbled")}
	got, err = d.DecodeBinary([]byte{7})
	if err != nil || got == nil || got == &p {
		t.Fatalf("attachment: %p, %v", got, err)
	}
	want = Packet{Type: BinaryEvent, Namespace: "/x", ID: 3, HasID: true,
		Data: json.RawMessage(`["a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("got %+v, want %+v", *got, want)
	}
}
