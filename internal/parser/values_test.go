package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, []string{}},
		{` [ ] `, []string{}},
		{`["a"]`, []string{`"a"`}},
		{`[ "a" , 1,{"b":[1,2]} ,[],null ]`, []string{`"a"`, `1`, `{"b":[1,2]}`, `[]`, `null`}},
		{"[\n\t-1.5e3\r\n]", []string{`-1.5e3`}},
	}
	for _, tt := range tests {
		got, err := SplitArray([]byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got == nil {
			t.Errorf("%q: nil slice", tt.in)
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
			if cap(g) != len(g) {
				t.Errorf("%q: element %q not clipped", tt.in, g)
			}
		}
		if len(gs) != len(tt.want) || (len(gs) > 0 && !reflect.DeepEqual(gs, tt.want)) {
			t.Errorf("%q: got %q, want %q", tt.in, gs, tt.want)
		}
	}
	for _, bad := range []string{``, ` `, `{}`, `"a"`, `[`, `[1,]`, `[1 2]`, `[1]x`, `[1]]`, `[,]`, `null`,
		`[` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `]`} {
		if got, err := SplitArray([]byte(bad)); err == nil || !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%q: got %q, %v", bad, got, err)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	type file struct {
		Name string   `json:"name"`
		Data []byte   `json:"data"`
		More [][]byte `json:"more"`
	}
	atts := [][]byte{[]byte("zero"), {0, 1, 2, 255}, {}}
	var f file
	err := Unmarshal([]byte(`{"name":"f","data":{"_placeholder":true,"num":1},"more":[{"num":0,"_placeholder":true},null,{"_placeholder":true,"num":2}]}`), atts, &f)
	if err != nil {
		t.Fatal(err)
	}
	want := file{Name: "f", Data: []byte{0, 1, 2, 255}, More: [][]byte{[]byte("zero"), nil, {}}}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got %+v, want %+v", f, want)
	}

	// Plain JSON, no attachments.
	var m map[string]int
	if err := Unmarshal([]byte(`{"a":1}`), nil, &m); err != nil || m["a"] != 1 {
		t.Fatalf("got %v, %v", m, err)
	}
	// A top-level placeholder into []byte.
	var b []byte
	if err := Unmarshal([]byte(` {"_placeholder":true,"num":0} `), [][]byte{[]byte("x")}, &b); err != nil || string(b) != "x" {
		t.Fatalf("got %q, %v", b, err)
	}
	// *any gets []byte, not base64.
	var x any
	if err := Unmarshal([]byte(`[{"_placeholder":true,"num":0}]`), [][]byte{[]byte("x")}, &x); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x, []any{[]byte("x")}) {
		t.Fatalf("got %#v", x)
	}
	// *Raw keeps everything.
	var r Raw
	data := []byte(`{"_placeholder":true,"num":0}`)
	if err := Unmarshal(data, atts[:1], &r); err != nil || !bytes.Equal(r.JSON, data) || len(r.Attachments) != 1 {
		t.Fatalf("got %+v, %v", r, err)
	}
	var back []byte
	if err := r.Unmarshal(&back); err != nil || string(back) != "zero" {
		t.Fatalf("got %q, %v", back, err)
	}
	// A type mismatch is json.Unmarshal's error, not ErrInvalidPacket.
	var n int
	err = Unmarshal([]byte(`"x"`), nil, &n)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("got %v", err)
	}
	// A placeholder into a string gets the base64 text.
	var s string
	if err := Unmarshal([]byte(`{"_placeholder":true,"num":0}`), [][]byte{{0xff}}, &s); err != nil || s != "/w==" {
		t.Fatalf("got %q, %v", s, err)
	}
	// Nil and non-pointer targets are json.Unmarshal's errors.
	if err := Unmarshal([]byte(`1`), nil, nil); err == nil {
		t.Fatal("nil target accepted")
	}
	if err := Unmarshal([]byte(`1`), nil, (*any)(nil)); err == nil {
		t.Fatal("nil *any accepted")
	}
}

func TestUnmarshalInvalid(t *testing.T) {
	one := [][]byte{{1}}
	tests := []struct {
		in   string
		atts [][]byte
	}{
		{`{"_placeholder":true,"num":"0"}`, one},
		{`{"_placeholder":true,"num":-1}`, one},
		{`{"_placeholder":true,"num":1.5}`, one},
		{`{"_placeholder":true,"num":1}`, one},
		{`{"_placeholder":true}`, one},
		{`{"_placeholder":true,"num":0,"extra":1}`, one},
		{`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]`, one},
		{`{"\u005fplaceholder":true,"num":2}`, one},
		{`{`, nil},
		{``, nil},
		{`1 2`, nil},
		{strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), nil},
	}
	for _, tt := range tests {
		var v any
		if err := Unmarshal([]byte(tt.in), tt.atts, &v); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("Unmarshal %q: %v", tt.in, err)
		}
		var b []byte
		if err := Unmarshal([]byte(tt.in), tt.atts, &b); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("Unmarshal []byte %q: %v", tt.in, err)
		}
		if _, err := Value([]byte(tt.in), tt.atts); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("Value %q: %v", tt.in, err)
		}
	}
}

func TestValue(t *testing.T) {
	atts := [][]byte{[]byte("a"), []byte("b")}
	got, err := Value([]byte(`{"x":[1,"s",{"_placeholder":true,"num":1}],"y":{"_placeholder":true,"num":0},"z":{"_placeholder":false,"num":0},"n":null}`), atts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"x": []any{1.0, "s", []byte("b")},
		"y": []byte("a"),
		"z": map[string]any{"_placeholder": false, "num": 0.0},
		"n": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	got, err = Value([]byte(`{"_placeholder":true,"num":0}`), atts[:1])
	if err != nil || !reflect.DeepEqual(got, []byte("a")) {
		t.Fatalf("got %#v, %v", got, err)
	}
	got, err = Value([]byte(`"plain"`), nil)
	if err != nil || got != "plain" {
		t.Fatalf("got %#v, %v", got, err)
	}
	// Without attachments, an object that looks like a placeholder is plain
	// data, as socket.io-parser takes it in a packet without any.
	plain := []byte(`[{"_placeholder":true,"num":0}]`)
	got, err = Value(plain, nil)
	if want := []any{map[string]any{"_placeholder": true, "num": 0.0}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, %v", got, err)
	}
	var ph []struct {
		P   bool `json:"_placeholder"`
		Num int  `json:"num"`
	}
	if err := Unmarshal(plain, nil, &ph); err != nil || len(ph) != 1 || !ph[0].P || ph[0].Num != 0 {
		t.Fatalf("Unmarshal: %+v, %v", ph, err)
	}
}

// A received argument re-emitted through Raw keeps its bytes and binary.
func TestRawRoundTrip(t *testing.T) {
	var d Decoder
	msg := []byte(`52-["ev",{"a":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0}]`)
	if _, err := d.DecodeText(msg); err != nil {
		t.Fatal(err)
	}
	d.DecodeBinary([]byte("zero"))
	p, err := d.DecodeBinary([]byte("one"))
	if err != nil || p == nil {
		t.Fatal(p, err)
	}
	args, err := SplitArray(p.Data)
	if err != nil {
		t.Fatal(err)
	}
	var raws []any
	for _, a := range args[1:] {
		raws = append(raws, Raw{JSON: a, Attachments: p.Attachments})
	}
	data, atts, err := MarshalArgs(append([]any{"ev2"}, raws...)...)
	if err != nil {
		t.Fatal(err)
	}
	if want := `["ev2",{"a":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`; string(data) != want {
		t.Fatalf("got %s, want %s", data, want)
	}
	if len(atts) != 2 || string(atts[0]) != "one" || string(atts[1]) != "zero" {
		t.Fatalf("attachments %q", atts)
	}
	var first struct{ A []byte }
	if err := Unmarshal(args[1], p.Attachments, &first); err != nil || string(first.A) != "one" {
		t.Fatalf("got %q, %v", first.A, err)
	}
}

func TestUnmarshalLinear(t *testing.T) {
	// Many placeholders and a large attachment: substitution is one pass.
	const n = 5000
	atts := make([][]byte, n)
	var sb strings.Builder
	sb.WriteString("[")
	for i := range atts {
		atts[i] = bytes.Repeat([]byte{byte(i)}, 100)
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"_placeholder":true,"num":`)
		sb.WriteString(strconv.Itoa(i))
		sb.WriteString("}")
	}
	sb.WriteString("]")
	var out [][]byte
	if err := Unmarshal([]byte(sb.String()), atts, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, atts) {
		t.Fatal("mismatch")
	}
}

// AppendArray fills the caller's backing array, without allocating while
// it has room, and grows past it like append.
func TestAppendArray(t *testing.T) {
	var backing [4]json.RawMessage
	data := []byte(`["echo",{"a":[1,2]},"x"]`)
	got, err := AppendArray(backing[:0], data)
	if err != nil || len(got) != 3 || &got[0] != &backing[0] || string(got[1]) != `{"a":[1,2]}` {
		t.Fatalf("got %q, %v", got, err)
	}
	if n := testing.AllocsPerRun(100, func() { AppendArray(backing[:0], data) }); n != 0 {
		t.Errorf("%v allocations with room in dst", n)
	}
	got, err = AppendArray(backing[:0], []byte(`[1,2,3,4,5]`))
	if err != nil || len(got) != 5 || string(got[4]) != "5" || string(backing[3]) != "4" {
		t.Fatalf("past dst's capacity: %q, %v", got, err)
	}
	if got, err = AppendArray(backing[:0], []byte(` [ ] `)); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty array: %q, %v", got, err)
	}
	if got, err = AppendArray(backing[:0], []byte(`[1,`)); err == nil || got != nil {
		t.Fatalf("invalid array: %q, %v", got, err)
	}
}
