package parser

import (
	"encoding/json"
	"testing"
)

var eventMsg = []byte(`2["message",{"user":"alice","text":"hello world","ts":1700000000000,"tags":["a","b"]}]`)

func BenchmarkDecodeEvent(b *testing.B) {
	var d Decoder
	b.ReportAllocs()
	b.SetBytes(int64(len(eventMsg)))
	for range b.N {
		if _, err := d.DecodeText(eventMsg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	p := &Packet{Type: Event, Namespace: "/chat", ID: 12, HasID: true, Data: eventMsg[1:]}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for range b.N {
		buf = AppendPacket(append(buf[:0], '4'), p)
	}
}

type benchMessage struct {
	User string   `json:"user"`
	Text string   `json:"text"`
	TS   int64    `json:"ts"`
	Tags []string `json:"tags,omitempty"`
}

func BenchmarkMarshalArgsStruct(b *testing.B) {
	m := benchMessage{User: "alice", Text: "hello world", TS: 1700000000000, Tags: []string{"a", "b"}}
	b.ReportAllocs()
	for range b.N {
		if _, _, err := MarshalArgs("message", m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONMarshalStruct(b *testing.B) { // reference
	m := benchMessage{User: "alice", Text: "hello world", TS: 1700000000000, Tags: []string{"a", "b"}}
	b.ReportAllocs()
	for range b.N {
		if _, err := json.Marshal([]any{"message", m}); err != nil {
			b.Fatal(err)
		}
	}
}

type benchUpload struct {
	Name  string `json:"name"`
	Thumb []byte `json:"thumb"`
	Body  []byte `json:"body"`
}

// BenchmarkBinaryEvent2Attachments: marshal a struct with two []byte,
// encode the packet, decode it with its two attachments, unmarshal it back.
func BenchmarkBinaryEvent2Attachments(b *testing.B) {
	u := benchUpload{Name: "photo.jpg", Thumb: make([]byte, 256), Body: make([]byte, 4096)}
	buf := make([]byte, 0, 256)
	var d Decoder
	b.ReportAllocs()
	for range b.N {
		data, atts, err := MarshalArgs("upload", u)
		if err != nil {
			b.Fatal(err)
		}
		buf = AppendPacket(buf[:0], &Packet{Type: Event, Data: data, Attachments: atts})
		if _, err := d.DecodeText(buf); err != nil {
			b.Fatal(err)
		}
		var p *Packet
		for _, a := range atts {
			if p, err = d.DecodeBinary(a); err != nil {
				b.Fatal(err)
			}
		}
		args, err := SplitArray(p.Data)
		if err != nil {
			b.Fatal(err)
		}
		var got benchUpload
		if err := Unmarshal(args[1], p.Attachments, &got); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalArgsBinary(b *testing.B) {
	u := benchUpload{Name: "photo.jpg", Thumb: make([]byte, 256), Body: make([]byte, 4096)}
	b.ReportAllocs()
	for range b.N {
		if _, _, err := MarshalArgs("upload", u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinaryEvent(b *testing.B) {
	msg := []byte(`52-["upload",{"name":"photo.jpg","thumb":{"_placeholder":true,"num":0},"body":{"_placeholder":true,"num":1}}]`)
	a0, a1 := make([]byte, 256), make([]byte, 4096)
	var d Decoder
	b.ReportAllocs()
	for range b.N {
		if _, err := d.DecodeText(msg); err != nil {
			b.Fatal(err)
		}
		d.DecodeBinary(a0)
		if p, err := d.DecodeBinary(a1); err != nil || p == nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalStruct(b *testing.B) {
	arg := []byte(`{"user":"alice","text":"hello world","ts":1700000000000,"tags":["a","b"]}`)
	b.ReportAllocs()
	for range b.N {
		var m benchMessage
		if err := Unmarshal(arg, nil, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONUnmarshalStruct(b *testing.B) { // reference
	arg := []byte(`{"user":"alice","text":"hello world","ts":1700000000000,"tags":["a","b"]}`)
	b.ReportAllocs()
	for range b.N {
		var m benchMessage
		if err := json.Unmarshal(arg, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalBinaryStruct(b *testing.B) {
	arg := []byte(`{"name":"photo.jpg","thumb":{"_placeholder":true,"num":0},"body":{"_placeholder":true,"num":1}}`)
	atts := [][]byte{make([]byte, 256), make([]byte, 4096)}
	b.ReportAllocs()
	for range b.N {
		var u benchUpload
		if err := Unmarshal(arg, atts, &u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitArray(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := SplitArray(eventMsg[1:]); err != nil {
			b.Fatal(err)
		}
	}
}
