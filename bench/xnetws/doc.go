// Package xnetws measures what golang.org/x/net/websocket, the transport the
// design requires, costs per frame, next to what a minimal frame
// writer/reader costs on the same connection:
//
//	go test -run '^$' -bench . -benchmem ./bench/xnetws
//
// Every benchmark runs over a real loopback TCP connection whose other end
// reads and discards (writes) or sends pre-built masked frames (reads), so
// ns/frame includes the system calls. One op is one 100-byte text frame.
//
//   - Write/xnet: websocket.Conn.Write per frame, as engineio's writer did
//     before batching: x/net allocates a frame writer per frame and flushes
//     its bufio.Writer after every frame, so every frame is a write(2).
//   - Write/xnet-batched: the same x/net calls, with the bufio.Writer x/net
//     writes to sitting on a sink that keeps the bytes until the batch ends
//     (what internal/engineio does now): one write(2) per 64 frames, x/net's
//     allocations remain.
//   - Write/raw: a hand-written frame encoder appending 64 frames to one
//     reused buffer and writing it: what a transport without those
//     limitations reaches.
//   - Read/xnet: websocket.Codec.Receive per frame, as engineio reads.
//   - Read/raw: a minimal frame reader (header parse, unmask in place into a
//     reused buffer).
package xnetws
