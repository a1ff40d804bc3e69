package parser

import (
	"encoding/json"
	"errors"
	"strconv"
)

// Type is the type of a Socket.IO packet, the first digit on the wire.
type Type byte

// The packet types of Socket.IO protocol v5.
const (
	// Connect (0) asks to join a namespace (client) or accepts it (server).
	Connect Type = iota
	// Disconnect (1) leaves a namespace.
	Disconnect
	// Event (2) carries an event name and its arguments.
	Event
	// Ack (3) answers an event that carried an ack id.
	Ack
	// ConnectError (4) refuses a Connect; sent by servers only.
	ConnectError
	// BinaryEvent (5) is an Event with binary attachments.
	BinaryEvent
	// BinaryAck (6) is an Ack with binary attachments.
	BinaryAck
)

var typeNames = [...]string{
	Connect:      "CONNECT",
	Disconnect:   "DISCONNECT",
	Event:        "EVENT",
	Ack:          "ACK",
	ConnectError: "CONNECT_ERROR",
	BinaryEvent:  "BINARY_EVENT",
	BinaryAck:    "BINARY_ACK",
}

// String returns the protocol name of t, such as "BINARY_EVENT".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// IsBinary reports whether t is BinaryEvent or BinaryAck.
func (t Type) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

// MaxAckID is the largest ack id accepted: 2^53-1, the largest integer a
// JavaScript peer represents exactly.
const MaxAckID = 1<<53 - 1

// DefaultMaxAttachments is the attachment cap of a Decoder whose
// MaxAttachments is zero or negative.
const DefaultMaxAttachments = 10

// MaxDepth is the deepest nesting of JSON arrays and objects that decoding
// accepts (in packets, Unmarshal, Value, SplitArray and Raw). Deeper input is
// rejected before any allocation proportional to it.
const MaxDepth = 100

// Packet is one Socket.IO packet.
type Packet struct {
	// Type is the packet type. AppendPacket upgrades Event and Ack to their
	// binary types when Attachments is non-empty.
	Type Type
	// Namespace is the namespace, "/" when absent on the wire. When
	// encoding, "" and "/" are both omitted.
	Namespace string
	// ID is the ack id, meaningful only when HasID is set.
	ID int64
	// HasID reports whether the packet carries an ack id.
	HasID bool
	// Data is the raw JSON payload as received or to be sent, with
	// placeholders for binary attachments; nil when absent, except in a
	// decoded Ack or BinaryAck, where an absent payload is the empty
	// array (an acknowledgement with no arguments).
	Data json.RawMessage
	// Attachments are the binary attachments, in placeholder order. Once a
	// decoded packet is complete its length is the declared count.
	Attachments [][]byte
}

// ErrInvalidPacket is wrapped by every error that reports malformed input:
// a bad packet, a bad placeholder, JSON that is invalid or too deep.
var ErrInvalidPacket = errors.New("invalid socket.io packet")

// Error describes why input was rejected. It wraps ErrInvalidPacket, so
// errors.Is(err, ErrInvalidPacket) holds for every *Error.
type Error struct {
	// Reason says what is wrong, e.g. "ack id too large".
	Reason string
	// Offset is the byte offset in the examined input where the problem was
	// found, or -1 when it is not tied to a position.
	Offset int
}

// Error returns a message such as
// "invalid socket.io packet: placeholder num out of range (offset 7)".
func (e *Error) Error() string {
	if e.Offset < 0 {
		return ErrInvalidPacket.Error() + ": " + e.Reason
	}
	return ErrInvalidPacket.Error() + ": " + e.Reason + " (offset " + strconv.Itoa(e.Offset) + ")"
}

// Unwrap returns ErrInvalidPacket.
func (e *Error) Unwrap() error { return ErrInvalidPacket }

func errAt(off int, reason string) *Error { return &Error{Reason: reason, Offset: off} }

// IsReserved reports whether name is an event name reserved by Socket.IO
// (connect, connect_error, disconnect, disconnecting, newListener,
// removeListener), which a peer must not emit.
func IsReserved(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

// AppendPacket appends the encoding of p to dst and returns the extended
// buffer; with dst = []byte{'4'} the result is a complete Engine.IO message.
// The attachments themselves are not appended: the caller sends each of
// p.Attachments as a binary message after the text.
//
// When p.Attachments is non-empty an Event or Ack is written as BinaryEvent
// or BinaryAck; a BinaryEvent or BinaryAck is written as such, with its
// (possibly zero) attachment count. Attachments of other types are ignored.
// AppendPacket does not validate p: the namespace, if not "/", should start
// with '/' and contain no ',', the id should be in [0, MaxAckID] and Data
// should suit the type, as Decoder enforces.
func AppendPacket(dst []byte, p *Packet) []byte {
	t := p.Type
	if len(p.Attachments) > 0 {
		switch t {
		case Event:
			t = BinaryEvent
		case Ack:
			t = BinaryAck
		}
	}
	if t <= 9 {
		dst = append(dst, '0'+byte(t))
	} else {
		dst = strconv.AppendUint(dst, uint64(t), 10)
	}
	if t.IsBinary() {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}
