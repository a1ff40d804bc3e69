// Package parser encodes and decodes Socket.IO protocol v5 packets.
//
// # Wire format
//
// A Socket.IO packet travels inside an Engine.IO message (type '4', so an
// event on the wire reads `42["chat","hi"]`). This package only sees what
// follows the Engine.IO type byte:
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// The parts are:
//
//   - type, one decimal digit: 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK,
//     4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK.
//   - attachments, the decimal count of binary attachments followed by '-';
//     present for BINARY_EVENT and BINARY_ACK only.
//   - namespace, present when the next byte is '/': it runs up to the first
//     ',' (which is consumed) or to the end of the input (`0/admin` is valid).
//     The main namespace "/" is omitted when encoding.
//   - ack id, a run of decimal digits (0 is valid, at most 2^53-1, the
//     largest integer a JavaScript peer represents exactly).
//   - payload, the rest of the message, which must be one JSON value:
//     an optional object for CONNECT, nothing for DISCONNECT, a non-empty
//     array starting with the event name (a string) for EVENT and
//     BINARY_EVENT, an array (possibly empty) for ACK and BINARY_ACK (which
//     require an ack id), and an object or string for CONNECT_ERROR.
//
// Examples: `0{"sid":"x"}`, `0/admin,{"sid":"x"}`, `1/admin,`,
// `2["a",1]`, `212["a"]` (ack id 12), `3/admin,12[]`,
// `4{"message":"Invalid namespace"}`,
// `51-["ev",{"_placeholder":true,"num":0}]`.
//
// # Binary attachments
//
// A binary packet's JSON carries placeholders of the exact form
// {"_placeholder":true,"num":N} in place of each byte buffer; the buffers
// follow the text message as separate binary messages, in placeholder
// order. A placeholder's num must be an integer literal with
// 0 <= num < attachments, and an attachment may be referenced at most once.
// In a packet with attachments, any object with a "_placeholder" key whose
// value is true must be exactly such a placeholder, otherwise the packet is
// rejected. In a packet without (a plain EVENT or ACK, or a binary one that
// announces none), such an object is plain data, as socket.io-parser takes
// it: it is decoded and sent on as any other object.
//
// [Decoder] reassembles packets from the text and binary messages of one
// connection; [AppendPacket] encodes one. [MarshalArgs] and [AppendValue]
// turn Go values into JSON, replacing every []byte by a placeholder and
// collecting the attachments; [Unmarshal] and [Value] do the reverse.
//
// Decoding never panics and rejects JSON nested deeper than [MaxDepth], so
// hostile input costs time linear in its size.
package parser
