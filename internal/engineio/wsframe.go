package engineio

import (
	"bufio"
	"encoding/binary"
	"io"
)

// Frames of data, read and written here rather than by x/net/websocket.
//
// x/net does the handshake, owns the connection and handles every control
// frame, fragmented message and frame over 64 KiB. What it costs per frame
// is its objects: a frame reader and its header buffer for every frame
// read, a frame writer and its header for every frame written, 7
// allocations in an echo round trip, and 17% of the server's CPU per ack
// (bench/README.md, "The golang.org/x/net/websocket limitation"). So the
// two commonest frames skip them:
//
//   - readSmallFrame reads a message that comes whole in one masked text or
//     binary frame of up to 64 KiB, from the bufio.Reader that x/net reads
//     the connection through, between two of x/net's frames; any other frame
//     is left to x/net.
//   - appendFrame writes a server's frame (final, unmasked, one data
//     opcode): the bytes x/net writes for one Write, checked against x/net
//     in TestAppendFrameIsXNets.

// appendFrame appends to dst the unmasked, final WebSocket frame of a text
// or binary message.
func appendFrame(dst, data []byte, isBinary bool) []byte {
	b0 := byte(0x81)
	if isBinary {
		b0 = 0x82
	}
	switch n := len(data); {
	case n < 126:
		dst = append(dst, b0, byte(n))
	case n <= 0xffff:
		dst = append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, data...)
}

// maxHeader is the longest header of a server's frame.
const maxHeader = 10

// PrepareWebSocket has each of ps carry its WebSocket frame, encoded once,
// for packets about to be sent to many sessions (a broadcast): a session
// on WebSocket then writes those bytes as they are. Sessions on polling
// use Data as before. A server's frames are not masked, so the bytes are
// the same for every connection.
func PrepareWebSocket(ps []Packet) {
	for i := range ps {
		p := &ps[i]
		p.frame = appendFrame(make([]byte, 0, len(p.Data)+maxHeader), p.Data, p.Binary)
	}
}

// readSmallFrame reads a message that comes whole in one frame: final,
// masked, text or binary, no reserved bits, at most 65535 and at most max
// bytes long. It reads it from br, the reader x/net reads the connection
// through, at a frame's start. For any other frame it reports false having
// consumed nothing, and x/net reads it (and refuses it, if it must).
func readSmallFrame(br *bufio.Reader, max int64) (f wsFrame, ok bool, err error) {
	h, err := br.Peek(2)
	if err != nil || h[0] != 0x81 && h[0] != 0x82 || h[1]&0x80 == 0 {
		return wsFrame{}, false, nil // x/net meets the error, or reads the frame
	}
	isBinary := h[0] == 0x82
	size, hlen := int(h[1]&0x7f), 6
	switch size {
	case 127:
		return wsFrame{}, false, nil
	case 126:
		hlen = 8
		if h, err = br.Peek(hlen); err != nil {
			return wsFrame{}, false, nil
		}
		size = int(binary.BigEndian.Uint16(h[2:]))
	default:
		if h, err = br.Peek(hlen); err != nil {
			return wsFrame{}, false, nil
		}
	}
	if int64(size) > max {
		return wsFrame{}, false, nil // x/net refuses it
	}
	key := binary.LittleEndian.Uint32(h[hlen-4:])
	br.Discard(hlen)
	msg := make([]byte, size)
	if _, err := io.ReadFull(br, msg); err != nil {
		return wsFrame{}, true, err
	}
	unmask(msg, key)
	return wsFrame{data: msg, binary: isBinary}, true, nil
}

// unmask XORs p with the masking key, whose four bytes, in the order of
// the wire, are key as a little-endian word: eight bytes at a time.
func unmask(p []byte, key uint32) {
	k8 := uint64(key)<<32 | uint64(key)
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k8)
	}
	for ; i < len(p); i++ {
		p[i] ^= byte(key >> (8 * (i & 3)))
	}
}
