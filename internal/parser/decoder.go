package parser

import "strconv"

// Decoder reassembles packets from the messages of one connection: each
// text message is one packet, and a binary packet is complete once its
// attachments have arrived as binary messages. The zero value is ready to
// use. A Decoder is not safe for concurrent use.
type Decoder struct {
	// MaxAttachments caps the attachment count of a binary packet;
	// zero or negative means DefaultMaxAttachments.
	MaxAttachments int

	pending *Packet // binary packet waiting for attachments
	want    int     // its declared attachment count
}

// DecodeText decodes one text message. It returns the packet when it is
// complete, or (nil, nil) when it is a binary packet that now waits for its
// attachments (see DecodeBinary). A text message while attachments are
// pending is an error, and the pending packet is dropped.
//
// Errors wrap ErrInvalidPacket. The returned packet aliases msg (Data is a
// sub-slice of it): the caller must not modify msg afterwards.
func (d *Decoder) DecodeText(msg []byte) (*Packet, error) {
	return d.DecodeTextInto(new(Packet), msg)
}

// DecodeTextInto is DecodeText decoding into *p, which it returns when the
// packet is complete: a caller whose p does not escape decodes a packet
// without allocating it. A binary packet that waits for its attachments
// is copied out of p, which the caller may then reuse.
func (d *Decoder) DecodeTextInto(p *Packet, msg []byte) (*Packet, error) {
	if d.pending != nil {
		d.Reset()
		return nil, errAt(-1, "text message while waiting for binary attachments")
	}
	max := d.MaxAttachments
	if max <= 0 {
		max = DefaultMaxAttachments
	}
	count, err := parsePacket(p, msg, max)
	if err != nil {
		return nil, err
	}
	if count > 0 {
		pending := new(Packet)
		*pending = *p
		pending.Attachments = make([][]byte, 0, count)
		d.pending, d.want = pending, count
		return nil, nil
	}
	if p.Type.IsBinary() {
		p.Attachments = [][]byte{}
	}
	return p, nil
}

// DecodeBinary adds one binary message as the next attachment of the pending
// binary packet, and returns that packet once all its attachments are
// there, else (nil, nil). It is an error when no packet is pending. The
// packet keeps msg (no copy): the caller must not modify it afterwards.
func (d *Decoder) DecodeBinary(msg []byte) (*Packet, error) {
	p := d.pending
	if p == nil {
		return nil, errAt(-1, "binary message without a pending binary packet")
	}
	p.Attachments = append(p.Attachments, msg)
	if len(p.Attachments) < d.want {
		return nil, nil
	}
	d.pending, d.want = nil, 0
	return p, nil
}

// Pending reports whether a binary packet is waiting for attachments.
func (d *Decoder) Pending() bool { return d.pending != nil }

// Reset drops the pending binary packet, if any.
func (d *Decoder) Reset() { d.pending, d.want = nil, 0 }

// Decode decodes a single packet whose attachments, if any, are already
// known: msg is the text message and attachments the binary messages that
// followed it, whose number must equal the declared count. The attachment
// cap is DefaultMaxAttachments or len(attachments), whichever is larger.
func Decode(msg []byte, attachments [][]byte) (*Packet, error) {
	p := new(Packet)
	count, err := parsePacket(p, msg, max(DefaultMaxAttachments, len(attachments)))
	if err != nil {
		return nil, err
	}
	if count != len(attachments) {
		return nil, errAt(-1, "packet declares "+strconv.Itoa(count)+" attachments, got "+strconv.Itoa(len(attachments)))
	}
	if p.Type.IsBinary() {
		p.Attachments = attachments
		if p.Attachments == nil {
			p.Attachments = [][]byte{}
		}
	}
	return p, nil
}

// maxAckDigits bounds the digits of an ack id (MaxAckID has 16).
const maxAckDigits = 16

// parsePacket decodes the text part of a packet into *p, which it
// overwrites, and returns its declared attachment count.
func parsePacket(p *Packet, msg []byte, maxAtts int) (int, error) {
	if len(msg) == 0 {
		return 0, errAt(0, "empty packet")
	}
	c := msg[0]
	if c < '0' || c > '6' {
		return 0, errAt(0, "unknown packet type")
	}
	*p = Packet{Type: Type(c - '0'), Namespace: "/"}
	i := 1
	count := 0
	if p.Type.IsBinary() {
		start := i
		for i < len(msg) && isDigit(msg[i]) {
			if count > maxAtts || i-start >= 9 {
				return 0, errAt(start, "too many attachments")
			}
			count = count*10 + int(msg[i]-'0')
			i++
		}
		if i == start {
			return 0, errAt(i, "missing attachment count")
		}
		if count > maxAtts {
			return 0, errAt(start, "too many attachments")
		}
		if i >= len(msg) || msg[i] != '-' {
			return 0, errAt(i, "attachment count not followed by '-'")
		}
		i++
	}
	if i < len(msg) && msg[i] == '/' {
		start := i
		for i < len(msg) && msg[i] != ',' {
			i++
		}
		if ns := msg[start:i]; string(ns) != "/" {
			p.Namespace = string(ns)
		}
		if i < len(msg) {
			i++ // the ','
		}
	}
	if i < len(msg) && isDigit(msg[i]) {
		start := i
		var id int64
		for i < len(msg) && isDigit(msg[i]) {
			if i-start >= maxAckDigits {
				return 0, errAt(start, "ack id too long")
			}
			id = id*10 + int64(msg[i]-'0')
			i++
		}
		if i < len(msg) && msg[i] == '-' && start == 1 {
			return 0, errAt(start, "attachment count on a non-binary packet")
		}
		if id > MaxAckID {
			return 0, errAt(start, "ack id too large")
		}
		p.ID, p.HasID = id, true
	}
	if i < len(msg) {
		p.Data = msg[i:len(msg):len(msg)]
	}
	if err := checkPayload(p, count, i); err != nil {
		return 0, err
	}
	if p.Data == nil && (p.Type == Ack || p.Type == BinaryAck) {
		// An ACK without a payload acknowledges with no arguments, as
		// socket.io-parser decodes it: its Data is the empty array.
		p.Data = []byte{'[', ']'}
	}
	return count, nil
}

// checkPayload validates p.Data (which starts at offset off of the message)
// for p.Type.
func checkPayload(p *Packet, count, off int) error {
	data := p.Data
	var first byte // first byte of the JSON value, 0 when there is no payload
	if len(data) > 0 {
		// Placeholders are checked only where they mean something, in a
		// packet with attachments; elsewhere such an object is plain data,
		// as socket.io-parser takes it.
		s := scanner{data: data, natts: count, checkPH: count > 0}
		if !s.whole() {
			s.err.Offset += off
			return s.err
		}
		first = data[skipWS(data, 0)]
	}
	switch p.Type {
	case Connect:
		if p.HasID {
			return errAt(-1, "CONNECT packet with an ack id")
		}
		if first != 0 && first != '{' {
			return errAt(off, "CONNECT payload is not an object")
		}
	case Disconnect:
		if p.HasID {
			return errAt(-1, "DISCONNECT packet with an ack id")
		}
		if first != 0 {
			return errAt(off, "DISCONNECT packet with a payload")
		}
	case Event, BinaryEvent:
		if first != '[' {
			return errAt(off, "EVENT payload is not an array")
		}
		// The name is a string, or a number, as socket.io-parser allows
		// (the Node server's event is then the number's string).
		j := skipWS(data, skipWS(data, 0)+1)
		if c := data[j]; c != '"' && c != '-' && (c < '0' || c > '9') {
			return errAt(off+j, "EVENT payload does not start with an event name")
		}
	case Ack, BinaryAck:
		if !p.HasID {
			return errAt(-1, "ACK packet without an ack id")
		}
		if first != '[' && first != 0 {
			return errAt(off, "ACK payload is not an array")
		}
	case ConnectError:
		if p.HasID {
			return errAt(-1, "CONNECT_ERROR packet with an ack id")
		}
		if first != '{' && first != '"' {
			return errAt(off, "CONNECT_ERROR payload is not an object or string")
		}
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
