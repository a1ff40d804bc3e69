package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var packetSeeds = []string{
	`0`, `0{}`, `0/admin,{"token":"x"}`, `0/custom`, `1`, `1/admin,`,
	`2["a"]`, `2["a",1,{"b":[true,null,"x\u00e9"]}]`, `212["a"]`, `2/admin,7["a",-1.5e3]`,
	`3/admin,12[]`, `30["x"]`, `4{"message":"Invalid namespace"}`, `4"no"`,
	`51-["ev",{"_placeholder":true,"num":0}]`, `52-/b,3["ev",{"num":1,"_placeholder":true},{"_placeholder":true,"num":0}]`,
	`61-/admin,5[{"_placeholder":true,"num":0}]`, `50-["a"]`,
	`4abc`, `42{}`, `2abc[..]`, `2[]`, `2[null]`, `2[{"toString":"x"}]`, `5`, `5a-`, ``,
	`2-1["a"]`, `21.5["a"]`, `21234567890123456789012345["a"]`, `511-["a"]`,
	`51-["a",{"_placeholder":true,"num":"0"}]`, `51-["a",{"_placeholder":true,"num":1.5}]`,
	`2["a",` + strings.Repeat("[", 120), `2["a",1e400]`,
}

func FuzzDecodeText(f *testing.F) {
	for _, s := range packetSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var d Decoder
		p, err := d.DecodeText(msg)
		if err != nil {
			if p != nil || d.Pending() {
				t.Fatal("packet or pending state with an error")
			}
			return
		}
		for i := 0; p == nil; i++ {
			if !d.Pending() || i > DefaultMaxAttachments {
				t.Fatal("no packet and nothing pending")
			}
			if p, err = d.DecodeBinary([]byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if p.Data != nil && !json.Valid(p.Data) {
			t.Fatalf("accepted invalid JSON %q", p.Data)
		}
		if p.Type == Event || p.Type == BinaryEvent {
			args, err := SplitArray(p.Data)
			if err != nil || len(args) == 0 {
				t.Fatalf("event payload %q does not split: %v", p.Data, err)
			}
			// A string, or a number (as socket.io-parser allows).
			var name string
			var num json.Number
			if json.Unmarshal(args[0], &name) != nil && json.Unmarshal(args[0], &num) != nil {
				t.Fatalf("event name %q is neither a string nor a number", args[0])
			}
			// Only encoding/json's own limits (such as 1e400 not fitting
			// a float64) may reject an accepted payload.
			if _, err := Value(p.Data, p.Attachments); errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("Value of an accepted packet: %v", err)
			}
		}
		enc := AppendPacket(nil, p)
		q, err := Decode(enc, p.Attachments)
		if err != nil {
			t.Fatalf("re-decoding %q (from %q): %v", enc, msg, err)
		}
		if !packetsEqual(p, q) {
			t.Fatalf("round trip of %q via %q:\n got %+v\nwant %+v", msg, enc, *q, *p)
		}
		if enc2 := AppendPacket(nil, q); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: %q then %q", enc, enc2)
		}
	})
}

var jsonSeeds = []string{
	`null`, `true`, `[]`, `{}`, `"s"`, `-0.5e-3`, `[1,"a",{"b":null}]`,
	`{"_placeholder":true,"num":0}`, `[{"_placeholder":true,"num":1},{"num":0,"_placeholder":true}]`,
	`{"a":{"_placeholder":true,"num":2},"b":[{"_placeholder":false,"num":0}]}`,
	`{"\u005fplaceholder":true,"num":0}`, `{"_placeholder":true,"num":"0"}`,
	`{"_placeholder":true,"num":-1}`, `{"_placeholder":true,"num":1.5}`, `{"_placeholder":true}`,
	`{"_placeholder":true,"num":0,"num":0}`, `[{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]`,
	`{"data":{"_placeholder":true,"num":0},"name":"x","more":[{"_placeholder":true,"num":1}]}`,
	strings.Repeat("[", 101) + strings.Repeat("]", 101), `["\ud800", "\xff"]`,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), // accepted, but too deep as an argument
}

type fuzzTarget struct {
	Name string   `json:"name"`
	Data []byte   `json:"data"`
	More [][]byte `json:"more"`
	Any  any      `json:"any"`
}

func FuzzBinaryReconstruction(f *testing.F) {
	for i, s := range jsonSeeds {
		f.Add([]byte(s), uint8(i%4))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		atts := make([][]byte, n%70) // also crosses the 64-attachment bitmap boundary
		for i := range atts {
			atts[i] = bytes.Repeat([]byte{byte(i)}, i%5)
		}
		v, verr := Value(data, atts)
		var x any
		if err := Unmarshal(data, atts, &x); (err == nil) != (verr == nil) {
			t.Fatalf("Unmarshal(*any) and Value disagree: %v / %v", err, verr)
		}
		var b []byte
		_ = Unmarshal(data, atts, &b)
		var s []any
		_ = Unmarshal(data, atts, &s)
		var ft fuzzTarget
		_ = Unmarshal(data, atts, &ft)
		var ms map[string][]byte
		_ = Unmarshal(data, atts, &ms)
		_, _ = SplitArray(data)
		if verr != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if !reflect.DeepEqual(v, x) {
			t.Fatalf("Unmarshal(*any) = %#v, Value = %#v", x, v)
		}
		// A value received in a packet sits inside the arguments array, so
		// it is nested at most MaxDepth-1 deep; one at exactly MaxDepth is
		// accepted on its own but cannot travel as an argument.
		if _, err := SplitArray(append(append([]byte("["), data...), ']')); err != nil {
			if !strings.Contains(err.Error(), "nested too deeply") {
				t.Fatalf("accepted %q fails as an argument: %v", data, err)
			}
			return
		}
		// Re-emitting through Raw keeps the value, binary included.
		out, outAtts, err := MarshalArgs(Raw{JSON: data, Attachments: atts})
		if err != nil {
			t.Fatalf("Raw re-emit of accepted %q: %v", data, err)
		}
		args, err := SplitArray(out)
		if err != nil || len(args) != 1 {
			t.Fatalf("re-emitted %q: %v", out, err)
		}
		v2, err := Value(args[0], outAtts)
		if err != nil {
			t.Fatalf("Value of re-emitted %q: %v", args[0], err)
		}
		if !reflect.DeepEqual(v, v2) {
			t.Fatalf("re-emitted value differs:\n got %#v\nwant %#v", v2, v)
		}
		// The generic value, with []byte in it, marshals back to an
		// equivalent value.
		out, outAtts, err = MarshalArgs(v)
		if err != nil {
			t.Fatalf("MarshalArgs(%#v): %v", v, err)
		}
		args, err = SplitArray(out)
		if err != nil || len(args) != 1 {
			t.Fatalf("marshaled %q: %v", out, err)
		}
		if v3, err := Value(args[0], outAtts); err != nil || !reflect.DeepEqual(v, v3) {
			t.Fatalf("MarshalArgs round trip: %#v, %v; want %#v", v3, err, v)
		}
	})
}

// FuzzValidJSON checks the scanner against encoding/json.
func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{`1e5`, `01`, `-`, `1.`, `"\u12"`, "\"\x7f\"", `[1,]`, ` {"a" : 1 } `, `tru`, `nul`, `"\/"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := scanner{data: data}
		got := s.whole()
		if s.err != nil && strings.Contains(s.err.Reason, "nested too deeply") {
			return
		}
		if want := json.Valid(data); got != want {
			t.Fatalf("scanner says %v, json.Valid %v for %q (%v)", got, want, data, s.err)
		}
		if !got {
			return
		}
		if _, err := SplitArray(data); (err == nil) != (data[skipWS(data, 0)] == '[') {
			t.Fatalf("SplitArray of %q: %v", data, err)
		}
	})
}

// FuzzMarshalMatchesJSON checks the walker against json.Marshal on values
// decoded from arbitrary JSON, and appendString on arbitrary strings.
func FuzzMarshalMatchesJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s), "s")
	}
	f.Add([]byte(`{"a":1e21,"b":1e-7,"c":123456789012345678901234567890}`), "<&>\u2028\xff\x00")
	f.Fuzz(func(t *testing.T, data []byte, str string) {
		check := func(v any) {
			want, werr := json.Marshal(v)
			got, atts, gerr := MarshalArgs(v, str, []any{v, str})
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("errors differ: %v / %v", gerr, werr)
			}
			if werr != nil {
				return
			}
			s, _ := json.Marshal(str)
			full := "[" + string(want) + "," + string(s) + ",[" + string(want) + "," + string(s) + "]]"
			if string(got) != full || len(atts) != 0 {
				t.Fatalf("MarshalArgs:\n got %s\nwant %s", got, full)
			}
		}
		var v any
		if json.Unmarshal(data, &v) == nil {
			check(v)
			// Binary-capable container: walked rather than delegated.
			check(struct {
				V any
				B []byte `json:",omitempty"`
			}{V: v})
		}
		var ft struct {
			tagged
			B []byte `json:"bb,omitempty"`
		}
		if json.Unmarshal(data, &ft) == nil {
			// A "bb" (or "BB") key fills B, which is binary: an
			// attachment, not JSON, so not encoding/json's output.
			ft.B = nil
			check(ft)
		}
		var m map[string]float32
		if json.Unmarshal(data, &m) == nil {
			check(m)
			check(map[string]any{"m": m})
		}
	})
}
