package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Types exercising encoding/json's rules.

type tagged struct {
	A        int                `json:"a"`
	B        string             `json:"b,omitempty"`
	C        *int               `json:"c,omitempty"`
	D        []int              `json:"d,omitempty"`
	E        map[string]int     `json:"e,omitempty"`
	F        bool               `json:"-"`
	G        float64            `json:"-,"`
	H        any                `json:"h,omitempty"`
	I        int                `json:",string"`
	J        *float64           `json:"j,string"`
	K        string             `json:"k,string"`
	L        uint8              `json:"l"`
	M        [3]byte            `json:"m"`
	N        time.Time          `json:"n"`
	O        time.Time          `json:"o,omitzero"`
	P        json.RawMessage    `json:"p,omitempty"`
	Q        json.Number        `json:"q,omitempty"`
	R        struct{ X, Y int } `json:"r,omitzero"`
	S        [0]int             `json:"s,omitempty"`
	T        uintptr            `json:"t"`
	U        float32            `json:"u"`
	V        int8               `json:"v,omitempty"`
	W        []string           `json:"w"`
	X        map[string]string  `json:"x"`
	Y        interface{}        `json:"y"`
	Z        *tagged            `json:"z,omitempty"`
	unexp    int
	Bad      int `json:"bad\\name"`
	Dashed   int `json:"with-dash"`
	HTML     int `json:"<html>&"`
	WithOpts int `json:",omitempty"`
}

type Inner struct {
	X int
	Y string `json:"y"`
}

type inner2 struct {
	Z      int
	Inner2 string
}

type Conflict1 struct{ Name string }
type Conflict2 struct{ Name string }
type TaggedConflict struct {
	Name string `json:"Name"`
}

type embedding struct {
	Inner
	*inner2
	Conflict1
	Conflict2
	Own int
}

type embeddingTagged struct {
	Conflict1
	TaggedConflict
}

type embeddingNamed struct {
	Inner `json:"inner"`
	Y     string // shadows Inner.Y ("y")? no: different name "Y" vs "y"
}

type Shadow struct {
	Inner
	X string // shadows Inner.X
}

type deep1 struct{ deep2 }
type deep2 struct{ Deep3 }
type Deep3 struct{ V int }

type twice struct {
	A1 struct{ Inner }
	Inner
}

type textKey int

func (k textKey) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("k%d", int(k))), nil }

type valMarshaler struct{ V int }

func (m valMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"custom" : %d}`, m.V)), nil
}

type ptrMarshaler struct{ V int }

func (m *ptrMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`"ptr%d"`, m.V)), nil
}

type textMarsh string

func (m textMarsh) MarshalText() ([]byte, error) { return []byte("T:" + string(m)), nil }

type zeroer struct{ V int }

func (z zeroer) IsZero() bool { return z.V == 42 }

type withZeroer struct {
	Z  zeroer  `json:"z,omitzero"`
	ZP *zeroer `json:"zp,omitzero"`
	N  int     `json:"n,omitzero"`
}

type holder struct {
	PM  ptrMarshaler
	PMP *ptrMarshaler
	VM  valMarshaler
	TM  textMarsh
}

type namedBytes []byte
type namedString string
type namedMap map[string]int

type recursive struct {
	Name     string
	Children []*recursive `json:",omitempty"`
}

func ptr[T any](v T) *T { return &v }

func binaryFreeValues() []any {
	n := 7
	now := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	return []any{
		nil, true, false, 0, -1, 42, int8(-8), int16(1000), int32(-7), int64(math.MaxInt64), int64(math.MinInt64),
		uint(7), uint8(255), uint16(65535), uint32(1 << 31), uint64(math.MaxUint64), uintptr(9),
		0.0, -0.0, 1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64,
		float32(0.1), float32(1e21), float32(1e-7), float32(math.MaxFloat32), float32(16777216),
		"", "hello", "a\"b\\c\n\r\t\b\f\x00\x1f", "<html>&amp;", "\u2028\u2029", "\xff\xfe invalid", "日本語 🎉", strings.Repeat("x", 1000),
		[]int(nil), []int{}, []int{1, 2, 3}, []string{"a", "b"}, [2]bool{true, false}, [0]int{}, [3]byte{1, 2, 3},
		map[string]int(nil), map[string]int{}, map[string]int{"b": 2, "a": 1, "<": 3},
		map[int]string{10: "ten", 2: "two", -1: "neg"}, map[uint8]bool{3: true, 1: false},
		map[textKey]int{3: 3, 1: 1, 20: 20}, map[namedString]int{"z": 1, "y": 2},
		map[string]any{"x": 1, "y": []any{"a", nil, 2.5, map[string]any{"z": true}}},
		[]any{1, "two", 3.0, nil, []any{}, map[string]any{}},
		ptr(5), ptr("s"), (*int)(nil), &n, ptr(ptr(3)), any(nil),
		now, &now, time.Duration(5), time.UTC.String(),
		json.RawMessage(`{"a" : [1, 2] }`), json.RawMessage(`"x"`), json.Number("12.5e3"),
		valMarshaler{3}, &valMarshaler{4}, ptrMarshaler{5}, &ptrMarshaler{6},
		textMarsh("t"), holder{PM: ptrMarshaler{1}, PMP: &ptrMarshaler{2}, VM: valMarshaler{3}, TM: "x"},
		&holder{PM: ptrMarshaler{1}, VM: valMarshaler{3}},
		tagged{}, tagged{A: 1, B: "b", C: &n, D: []int{1}, E: map[string]int{"e": 1}, F: true, G: 2, H: "h", I: 9, J: ptr(2.5), K: "k\"<", L: 3,
			M: [3]byte{1, 2, 3}, N: now, O: now, P: json.RawMessage(` [ 1 ] `), Q: "5", T: 4, U: 1.25, V: -1, W: []string{"w"}, X: map[string]string{"k": "v"}, Y: []int{1},
			Z: &tagged{A: 2}, unexp: 5, Bad: 1, Dashed: 2, HTML: 3, WithOpts: 4},
		embedding{Inner: Inner{X: 1, Y: "y"}, inner2: &inner2{Z: 2, Inner2: "i"}, Conflict1: Conflict1{"a"}, Conflict2: Conflict2{"b"}, Own: 3},
		embedding{Inner: Inner{X: 1}},
		embeddingTagged{Conflict1{"untagged"}, TaggedConflict{"tagged"}},
		embeddingNamed{Inner: Inner{X: 1, Y: "iy"}, Y: "Y"},
		Shadow{Inner: Inner{X: 1, Y: "y"}, X: "outer"},
		deep1{deep2{Deep3{V: 9}}},
		twice{A1: struct{ Inner }{Inner{X: 1}}, Inner: Inner{X: 2}},
		withZeroer{Z: zeroer{42}, ZP: &zeroer{42}, N: 0}, withZeroer{Z: zeroer{1}, ZP: &zeroer{1}, N: 1}, withZeroer{},
		namedString("ns"), namedMap{"q": 1},
		&recursive{Name: "root", Children: []*recursive{{Name: "a"}, {Name: "b", Children: []*recursive{{Name: "c"}}}}},
		struct{}{}, struct{ A, B int }{1, 2}, []struct{ A *int }{{nil}, {&n}},
		net.IPv4(1, 2, 3, 4), big.NewInt(12345),
		[]error{nil}, errors.New("x"),
	}
}

func TestMarshalArgsMatchesEncodingJSON(t *testing.T) {
	values := binaryFreeValues()
	for i, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%d %T: json.Marshal: %v", i, v, err)
		}
		got, atts, err := AppendValue(nil, nil, v)
		if err != nil || len(atts) != 0 || !bytes.Equal(got, want) {
			t.Errorf("%d %T:\n got %s (%d atts, %v)\nwant %s", i, v, got, len(atts), err, want)
		}
		// Behind an interface, in a map, a slice and a struct the walker
		// must give the same bytes too.
		wrapped := []any{
			[]any{v, v},
			map[string]any{"k": v},
			struct {
				V any
				B []byte `json:",omitempty"`
			}{V: v},
			&struct{ V any }{V: v},
		}
		for j, w := range wrapped {
			want, _ := json.Marshal(w)
			got, atts, err := AppendValue(nil, nil, w)
			if err != nil || len(atts) != 0 || !bytes.Equal(got, want) {
				t.Errorf("%d %T wrapped %d:\n got %s (%v)\nwant %s", i, v, j, got, err, want)
			}
		}
	}
	// And all of them at once as arguments.
	want, _ := json.Marshal(values)
	got, atts, err := MarshalArgs(values...)
	if err != nil || atts != nil || !bytes.Equal(got, want) {
		t.Errorf("MarshalArgs:\n got %s (%v)\nwant %s", got, err, want)
	}
}

// A binary-capable struct (walked, not handed to encoding/json) with every
// kind of field: its binary-free values must match encoding/json.
type walked struct {
	tagged
	Bin     []byte             `json:"bin"`
	BinOmit []byte             `json:"binOmit,omitempty"`
	PM      ptrMarshaler       `json:"pm"`
	PMP     *ptrMarshaler      `json:"pmp"`
	Nested  *walked            `json:"nested,omitempty"`
	Map     map[int]any        `json:"map"`
	KeyText map[textKey][]byte `json:"keyText"`
	Quoted  *int               `json:"quoted,string"`
	QStr    namedString        `json:"qstr,string"`
	QNum    json.Number        `json:"qnum,string"`
	QBool   bool               `json:"qbool,string"`
	QTM     textMarsh          `json:"qtm,string"`
	Iface   any                `json:"iface"`
	Arr     [2]any             `json:"arr"`
	Zero    withZeroer         `json:"zero,omitzero"`
	Any     any                `json:",omitzero"`
}

func TestWalkedStructMatchesEncodingJSON(t *testing.T) {
	n := 3
	values := []walked{
		{},
		{tagged: tagged{A: 1, B: "x", I: 5, J: ptr(1.5), K: "<k>", N: time.Unix(5, 0).UTC(), Z: &tagged{}},
			PM: ptrMarshaler{1}, PMP: &ptrMarshaler{2}, Nested: &walked{Map: map[int]any{}}, Map: map[int]any{3: "x", -2: []any{1}},
			KeyText: map[textKey][]byte{1: nil}, Quoted: &n, QStr: "q\"s<", QNum: "12", QBool: true, QTM: "tm", Iface: holder{},
			Arr: [2]any{1, "a"}, Zero: withZeroer{Z: zeroer{1}}, Any: 0},
	}
	for i, v := range values {
		for j, x := range []any{v, &v, []walked{v}, map[string]walked{"a": v}} {
			want, err := json.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			got, atts, err := AppendValue(nil, nil, x)
			if err != nil || len(atts) != 0 || !bytes.Equal(got, want) {
				t.Errorf("%d/%d:\n got %s (%v)\nwant %s", i, j, got, err, want)
			}
		}
	}
}

func TestMarshalArgsBinary(t *testing.T) {
	type file struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
		Skip []byte `json:"-"`
		Nil  []byte `json:"nil"`
		Omit []byte `json:"omit,omitempty"`
	}
	type outer struct {
		Files []file            `json:"files"`
		ByKey map[string][]byte `json:"byKey"`
		Ptr   *[]byte           `json:"ptr"`
		Named namedBytes        `json:"named"`
		Array [2]any            `json:"array"`
	}
	b := []byte("ptr")
	tests := []struct {
		name string
		args []any
		want string
		atts []string
	}{
		{"top-level", []any{"ev", []byte{1, 2}}, `["ev",{"_placeholder":true,"num":0}]`, []string{"\x01\x02"}},
		{"empty non-nil", []any{"ev", []byte{}}, `["ev",{"_placeholder":true,"num":0}]`, []string{""}},
		{"nil bytes", []any{"ev", []byte(nil)}, `["ev",null]`, nil},
		{"named", []any{namedBytes("n")}, `[{"_placeholder":true,"num":0}]`, []string{"n"}},
		{"raw message verbatim", []any{json.RawMessage(`[1]`)}, `[[1]]`, nil},
		{"in slice", []any{[][]byte{[]byte("a"), nil, []byte("b")}}, `[[{"_placeholder":true,"num":0},null,{"_placeholder":true,"num":1}]]`, []string{"a", "b"}},
		{"in any slice", []any{[]any{1, []byte("a"), "x"}}, `[[1,{"_placeholder":true,"num":0},"x"]]`, []string{"a"}},
		{"in map", []any{map[string]any{"b": []byte("B"), "a": []byte("A"), "c": 1}},
			`[{"a":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1},"c":1}]`, []string{"A", "B"}},
		{"in struct", []any{file{Name: "f", Data: []byte("D"), Skip: []byte("S")}},
			`[{"name":"f","data":{"_placeholder":true,"num":0},"nil":null}]`, []string{"D"}},
		{"struct omitempty", []any{file{Omit: []byte{}}}, `[{"name":"","data":null,"nil":null}]`, nil},
		{"nested", []any{"ev", outer{
			Files: []file{{Name: "a", Data: []byte("1")}, {Name: "b", Data: []byte("2"), Omit: []byte("3")}},
			ByKey: map[string][]byte{"k": []byte("4")},
			Ptr:   &b,
			Named: namedBytes("5"),
			Array: [2]any{[]byte("6"), &file{Data: []byte("7")}},
		}},
			`["ev",{"files":[{"name":"a","data":{"_placeholder":true,"num":0},"nil":null},{"name":"b","data":{"_placeholder":true,"num":1},"nil":null,"omit":{"_placeholder":true,"num":2}}],` +
				`"byKey":{"k":{"_placeholder":true,"num":3}},"ptr":{"_placeholder":true,"num":4},"named":{"_placeholder":true,"num":5},` +
				`"array":[{"_placeholder":true,"num":6},{"name":"","data":{"_placeholder":true,"num":7},"nil":null}]}]`,
			[]string{"1", "2", "3", "4", "ptr", "5", "6", "7"}},
		{"raw without attachments", []any{Raw{JSON: json.RawMessage(`{"a" : 1}`)}}, `[{"a" : 1}]`, nil},
		{"raw empty", []any{Raw{}}, `[null]`, nil},
		{"raw renumbered", []any{[]byte("first"), Raw{
			JSON:        json.RawMessage(`{"x": [{"num":1,"_placeholder":true}, {"_placeholder":true,"num":0}]}`),
			Attachments: [][]byte{[]byte("r0"), []byte("r1")},
		}, &Raw{JSON: json.RawMessage(`{"_placeholder":true,"num":0}`), Attachments: [][]byte{[]byte("p0")}}, []byte("last")},
			`[{"_placeholder":true,"num":0},{"x": [{"_placeholder":true,"num":1}, {"_placeholder":true,"num":2}]},{"_placeholder":true,"num":3},{"_placeholder":true,"num":4}]`,
			[]string{"first", "r1", "r0", "p0", "last"}},
		{"raw without attachments: a placeholder is plain data", []any{Raw{JSON: json.RawMessage(`{"_placeholder":true,"num":0}`)}},
			`[{"_placeholder":true,"num":0}]`, nil},
		{"raw unreferenced attachment dropped", []any{Raw{JSON: json.RawMessage(`[{"_placeholder":true,"num":1}]`), Attachments: [][]byte{[]byte("a"), []byte("b")}}},
			`[[{"_placeholder":true,"num":0}]]`, []string{"b"}},
		{"raw in struct", []any{struct {
			R Raw  `json:"r"`
			P *Raw `json:"p"`
		}{R: Raw{JSON: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{[]byte("a")}}}},
			`[{"r":[{"_placeholder":true,"num":0}],"p":null}]`, []string{"a"}},
	}
	for _, tt := range tests {
		data, atts, err := MarshalArgs(tt.args...)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(data) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, data, tt.want)
		}
		var gotAtts []string
		for _, a := range atts {
			gotAtts = append(gotAtts, string(a))
		}
		if !reflect.DeepEqual(gotAtts, tt.atts) {
			t.Errorf("%s: attachments %q, want %q", tt.name, gotAtts, tt.atts)
		}
		// The result decodes as a binary event.
		p := Packet{Type: Event, Data: data, Attachments: atts}
		if len(atts) > 0 && bytes.HasPrefix(data, []byte(`["`)) {
			if _, err := Decode(AppendPacket(nil, &p), atts); err != nil {
				t.Errorf("%s: re-decoding: %v", tt.name, err)
			}
		}
	}
}

// addrBin has a pointer-receiver marshaler and a []byte: encoding/json
// calls the marshaler on addressable values only, and so does the walker.
type addrBin struct{ B []byte }

func (a *addrBin) MarshalJSON() ([]byte, error) { return []byte(`"custom"`), nil }

func TestPointerMarshalerAddressability(t *testing.T) {
	v := addrBin{B: []byte("x")}
	tests := []struct {
		v    any
		want string
		atts int
	}{
		{v, `{"B":{"_placeholder":true,"num":0}}`, 1},                                // not addressable: walked
		{&v, `"custom"`, 0},                                                          // pointer: marshaler
		{[]addrBin{v}, `["custom"]`, 0},                                              // slice element: addressable
		{[1]addrBin{v}, `[{"B":{"_placeholder":true,"num":0}}]`, 1},                  // array in an interface: not addressable
		{&[1]addrBin{v}, `["custom"]`, 0},                                            // behind a pointer: addressable
		{map[string]addrBin{"k": v}, `{"k":{"B":{"_placeholder":true,"num":0}}}`, 1}, // map value: not addressable
		{&struct{ F addrBin }{v}, `{"F":"custom"}`, 0},
	}
	for _, tt := range tests {
		got, atts, err := AppendValue(nil, nil, tt.v)
		if err != nil || string(got) != tt.want || len(atts) != tt.atts {
			t.Errorf("%T: got %s (%d atts, %v), want %s", tt.v, got, len(atts), err, tt.want)
		}
		if tt.atts == 0 {
			if want, _ := json.Marshal(tt.v); string(want) != string(got) {
				t.Errorf("%T: json.Marshal gives %s", tt.v, want)
			}
		}
	}
}

func TestAppendValueNumbering(t *testing.T) {
	dst, atts, err := AppendValue([]byte("x"), [][]byte{[]byte("old")}, []byte("new"))
	if err != nil || string(dst) != `x{"_placeholder":true,"num":1}` || len(atts) != 2 || string(atts[1]) != "new" {
		t.Fatalf("got %s %q %v", dst, atts, err)
	}
}

type cyclic struct {
	Next *cyclic
	B    []byte
}

type badKey struct{ A, B int }

type failing struct{}

func (failing) MarshalJSON() ([]byte, error) { return nil, errors.New("boom") }

func TestMarshalArgsErrors(t *testing.T) {
	c := &cyclic{}
	c.Next = c
	loop := []any{nil}
	loop[0] = loop
	tests := []struct {
		name string
		v    any
	}{
		{"NaN", math.NaN()},
		{"Inf in walked struct", struct {
			F float64
			B []byte
		}{F: math.Inf(1)}},
		{"float32 Inf in map", map[string]any{"f": float32(math.Inf(-1))}},
		{"channel", make(chan int)},
		{"func in any slice", []any{func() {}}},
		{"complex", complex(1, 2)},
		{"cycle", c},
		{"any cycle", loop},
		{"unsupported key in walked map", map[badKey][]byte{{1, 2}: nil}},
		{"failing marshaler", []any{failing{}}},
		{"invalid raw", Raw{JSON: json.RawMessage(`{`)}},
		{"raw placeholder out of range", Raw{JSON: json.RawMessage(`{"_placeholder":true,"num":1}`), Attachments: [][]byte{{1}}}},
		{"bad json.Number quoted", struct {
			N json.Number `json:",string"`
			B []byte
		}{N: "x"}},
	}
	for _, tt := range tests {
		dst := []byte("keep")
		got, atts, err := AppendValue(dst, nil, tt.v)
		if err == nil {
			t.Errorf("%s: no error, got %s", tt.name, got)
			continue
		}
		if string(got) != "keep" || atts != nil {
			t.Errorf("%s: output changed on error: %q %q", tt.name, got, atts)
		}
		if _, _, err := MarshalArgs("ev", tt.v); err == nil {
			t.Errorf("%s: MarshalArgs: no error", tt.name)
		}
	}
}

func TestMarshalArgsConcurrent(t *testing.T) {
	type fresh struct {
		A []byte
		B map[string]*fresh
	}
	done := make(chan string, 8)
	for range 8 {
		go func() {
			d, _, err := MarshalArgs(fresh{A: []byte("x"), B: map[string]*fresh{"k": {A: []byte("y")}}})
			if err != nil {
				done <- err.Error()
				return
			}
			done <- string(d)
		}()
	}
	want := `[{"A":{"_placeholder":true,"num":0},"B":{"k":{"A":{"_placeholder":true,"num":1},"B":null}}}]`
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("got %s", got)
		}
	}
}

func TestMarshalEventMatchesMarshalArgs(t *testing.T) {
	args := []any{1, "two", map[string]any{"b": []byte{3}}, []byte{4, 5}}
	data, atts, err := MarshalEvent("ev\"ent", args)
	if err != nil {
		t.Fatal(err)
	}
	wantData, wantAtts, err := MarshalArgs(append([]any{"ev\"ent"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(wantData) || len(atts) != len(wantAtts) {
		t.Fatalf("MarshalEvent = %s %q, MarshalArgs = %s %q", data, atts, wantData, wantAtts)
	}
}
