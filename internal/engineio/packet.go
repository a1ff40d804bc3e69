// Package engineio implements the server side of the Engine.IO protocol,
// version 4: sessions over HTTP long-polling and WebSocket, the upgrade from
// one to the other, server heartbeats and payload limits.
//
// The package is transport machinery for the socketio package; nothing here is
// part of the public API.
//
// Wire format in one paragraph: a packet is a type digit followed by data
// ("4hello" is a message carrying "hello"). A polling payload joins packets
// with the record separator 0x1e. Binary messages travel over polling as
// 'b' followed by base64, and over WebSocket as binary frames with no type
// byte.
package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Packet type bytes.
const (
	TypeOpen    byte = '0'
	TypeClose   byte = '1'
	TypePing    byte = '2'
	TypePong    byte = '3'
	TypeMessage byte = '4'
	TypeUpgrade byte = '5'
	TypeNoop    byte = '6'
)

const recordSeparator = 0x1e

// Packet is an Engine.IO packet as queued for sending.
//
// A text packet's Data starts with its type byte: a message carrying "hi" is
// Data "4hi". A binary packet (always a message) holds the raw bytes, with no
// type byte. Queued Data is never modified, so one slice can be queued on any
// number of sessions.
type Packet struct {
	Data   []byte
	Binary bool

	frame []byte // Data's WebSocket frame, if made once for many sessions (see PrepareWebSocket)
}

// ErrInvalidPacket reports bytes from a client that are not a valid
// Engine.IO packet or payload.
var ErrInvalidPacket = errors.New("engineio: invalid packet")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidPacket, fmt.Sprintf(format, args...))
}

// decodedPacket is one packet received from a client.
type decodedPacket struct {
	typ    byte
	data   []byte // without the type byte
	binary bool
}

// decodeText decodes one packet from a WebSocket text frame or one record of
// a polling payload.
func decodeText(b []byte) (decodedPacket, error) {
	if len(b) == 0 {
		return decodedPacket{}, invalid("empty packet")
	}
	t := b[0]
	if t == 'b' {
		data, ok := decodeBase64(b[1:])
		if !ok {
			return decodedPacket{}, invalid("bad base64 in binary packet")
		}
		return decodedPacket{typ: TypeMessage, data: data, binary: true}, nil
	}
	if t < TypeOpen || t > TypeNoop {
		return decodedPacket{}, invalid("unknown packet type %q", t)
	}
	// Capped: the handler owns data and may append to it, which must not
	// write over the next packet of the payload.
	return decodedPacket{typ: t, data: b[1:len(b):len(b)]}, nil
}

// decodeBase64 decodes the data of a binary packet: standard base64, or
// what the reference server (Node's Buffer.from(s, "base64")) takes as
// well and a client's encoder may produce, base64 without its padding or
// in the URL-safe alphabet. Line breaks are ignored.
func decodeBase64(raw []byte) ([]byte, bool) {
	// RawStdEncoding's length is enough for either.
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(raw)))
	if n, err := base64.StdEncoding.Decode(out, raw); err == nil {
		return out[:n], true
	}
	raw = bytes.TrimRight(raw, "=")
	if bytes.ContainsAny(raw, "-_") {
		raw = bytes.Map(func(r rune) rune {
			switch r {
			case '-':
				return '+'
			case '_':
				return '/'
			}
			return r
		}, raw)
	}
	n, err := base64.RawStdEncoding.Decode(out, raw)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// decodePayload splits a polling payload into packets. It calls fn for each
// packet in order and stops at the first error, so that nothing after an
// invalid packet is delivered.
func decodePayload(body []byte, fn func(decodedPacket) error) error {
	if len(body) == 0 {
		return invalid("empty payload")
	}
	// A separator at the end is followed by an empty packet, invalid:
	// what comes before it is delivered first, as by the reference server.
	for {
		i := bytes.IndexByte(body, recordSeparator)
		rec := body
		if i >= 0 {
			rec = body[:i]
		}
		p, err := decodeText(rec)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if i < 0 {
			return nil
		}
		body = body[i+1:]
	}
}

// validUTF8 returns body with each run of bytes that is not UTF-8 replaced
// by U+FFFD, as Node reads a polling body (Buffer.toString): the packets
// in it may be sent on to other clients in WebSocket text frames, which
// must be UTF-8 (a browser closes the connection over one that is not).
// A valid body, the usual case, is returned as it is.
func validUTF8(body []byte) []byte {
	if utf8.Valid(body) {
		return body
	}
	return bytes.ToValidUTF8(body, []byte("\uFFFD"))
}

// appendPayload appends packets to dst as a polling payload.
func appendPayload(dst []byte, pkts []Packet) []byte {
	for i, p := range pkts {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		if p.Binary {
			dst = append(dst, 'b')
			dst = base64.StdEncoding.AppendEncode(dst, p.Data)
		} else {
			dst = append(dst, p.Data...)
		}
	}
	return dst
}

// payloadSize is the length of appendPayload's output.
func payloadSize(pkts []Packet) int {
	n := 0
	for i, p := range pkts {
		if i > 0 {
			n++
		}
		if p.Binary {
			n += 1 + base64.StdEncoding.EncodedLen(len(p.Data))
		} else {
			n += len(p.Data)
		}
	}
	return n
}
