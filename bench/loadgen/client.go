// Package loadgen drives Socket.IO servers for the side-by-side benchmarks
// in bench/: a minimal WebSocket client that speaks Engine.IO v4 and
// Socket.IO v5 frames directly, the scenarios, and /proc readings of the
// server process.
//
// The client is deliberately bare (one bufio.Reader, one reused write
// buffer, no per-frame allocation, no JSON decoding on the hot path) so
// that on a shared 2-core machine the load generator costs the servers as
// little CPU as possible. It is not a general WebSocket client: it assumes
// the server neither fragments nor compresses frames, which holds for both
// servers measured.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by reads once the server closed the WebSocket.
var ErrClosed = errors.New("loadgen: websocket closed by server")

// srcIP spreads client connections over 127.0.0.2-127.0.0.250 so that tens
// of thousands of short connections per run do not exhaust the ephemeral
// ports of a single source address (TIME_WAIT lasts 60s).
var srcIP atomic.Uint32

func nextSrcIP() net.IP {
	n := srcIP.Add(1)%249 + 2
	return net.IPv4(127, 0, 0, byte(n))
}

// DialOptions tune one connection.
type DialOptions struct {
	// RecvBuf, when > 0, sets SO_RCVBUF before connecting: a client with a
	// small receive window, used for the slow reader.
	RecvBuf int
	// MSS, when > 0, sets TCP_MAXSEG before connecting. Over loopback the
	// segment size is 64 KiB, and the kernel lets a server socket's send
	// buffer grow to megabytes for a client that reads nothing; a client
	// on a real network path (MSS about 1460) gets far less.
	MSS int
	// Timeout bounds the whole connection setup. Default 10s.
	Timeout time.Duration
}

// Client is one Socket.IO connection over WebSocket. ReadMessage must be
// called from one goroutine; the Write methods are safe from any.
type Client struct {
	conn net.Conn
	br   *bufio.Reader
	rbuf []byte
	SID  string // Engine.IO session id

	wmu  sync.Mutex
	wbuf []byte
	mask [4]byte
}

// Dial opens a WebSocket to addr (host:port) at path, completes the
// Engine.IO handshake and connects to the "/" namespace.
func Dial(ctx context.Context, addr, path string, o DialOptions) (*Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: nextSrcIP()}}
	if o.RecvBuf > 0 || o.MSS > 0 {
		d.Control = sockopts(o) // sockopt_linux.go
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c := &Client{conn: conn, br: bufio.NewReaderSize(conn, 4096), rbuf: make([]byte, 0, 512), wbuf: make([]byte, 0, 256)}
	rand.Read(c.mask[:])
	if err := c.handshake(addr, path); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return c, nil
}

func (c *Client) handshake(addr, path string) error {
	var key [16]byte
	rand.Read(key[:])
	req := "GET " + path + "?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c.conn, req); err != nil {
		return err
	}
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if !bytes.Contains(status, []byte(" 101 ")) {
		return fmt.Errorf("handshake: %q", bytes.TrimSpace(status))
	}
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("handshake headers: %w", err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
	}
	open, err := c.ReadMessage()
	if err != nil {
		return fmt.Errorf("engine.io open: %w", err)
	}
	if len(open) == 0 || open[0] != '0' {
		return fmt.Errorf("engine.io open: got %q", open)
	}
	if i := bytes.Index(open, []byte(`"sid":"`)); i >= 0 {
		rest := open[i+7:]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			c.SID = string(rest[:j])
		}
	}
	if err := c.WriteText([]byte("40")); err != nil {
		return err
	}
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("socket.io connect: %w", err)
		}
		switch {
		case bytes.HasPrefix(m, []byte("40")):
			return nil
		case bytes.HasPrefix(m, []byte("44")):
			return fmt.Errorf("socket.io connect refused: %s", m)
		}
	}
}

// readFrame returns the next data frame's opcode and payload; the payload
// is valid until the next read. Control frames are handled here.
func (c *Client) readFrame() (byte, []byte, error) {
	for {
		h0, err := c.br.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		h1, err := c.br.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		op := h0 & 0x0f
		n := uint64(h1 & 0x7f)
		ext := 0
		switch n {
		case 126:
			ext = 2
		case 127:
			ext = 8
		}
		if ext > 0 {
			n = 0
			for range ext {
				x, err := c.br.ReadByte()
				if err != nil {
					return 0, nil, err
				}
				n = n<<8 | uint64(x)
			}
		}
		if h1&0x80 != 0 { // servers do not mask, but be lenient
			if _, err := c.br.Discard(4); err != nil {
				return 0, nil, err
			}
		}
		if n > 64<<20 {
			return 0, nil, fmt.Errorf("frame of %d bytes", n)
		}
		if uint64(cap(c.rbuf)) < n {
			c.rbuf = make([]byte, n)
		}
		p := c.rbuf[:n]
		if _, err := io.ReadFull(c.br, p); err != nil {
			return 0, nil, err
		}
		switch op {
		case 0x8:
			return 0, nil, ErrClosed
		case 0x9:
			c.writeFrame(0xA, p)
			continue
		case 0xA:
			continue
		}
		if h0&0x80 == 0 {
			return 0, nil, errors.New("fragmented frame (unsupported)")
		}
		return op, p, nil
	}
}

// ReadMessage returns the next Engine.IO text packet other than a ping
// (which it answers), e.g. `42["msg",...]`. Binary frames are skipped. The
// slice is valid until the next read.
func (c *Client) ReadMessage() ([]byte, error) {
	for {
		op, p, err := c.readFrame()
		if err != nil {
			return nil, err
		}
		if op != 0x1 {
			continue
		}
		if len(p) == 1 && p[0] == '2' {
			if err := c.WriteText([]byte{'3'}); err != nil {
				return nil, err
			}
			continue
		}
		return p, nil
	}
}

// WriteText sends one masked text frame.
func (c *Client) WriteText(p []byte) error { return c.writeFrame(0x1, p) }

func (c *Client) writeFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = maskFrame(c.wbuf[:0], op, c.mask, p)
	_, err := c.conn.Write(c.wbuf)
	return err
}

// maskFrame appends a final client frame of opcode op carrying p, masked
// with mask, to dst.
func maskFrame(dst []byte, op byte, mask [4]byte, p []byte) []byte {
	b := append(dst, 0x80|op)
	switch n := len(p); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n < 65536:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	b = append(b, mask[:]...)
	off := len(b)
	b = append(b, p...)
	for i := range p {
		b[off+i] ^= mask[i&3]
	}
	return b
}

// parseFrame splits the first whole frame off b: its opcode, its payload
// (unmasked in place if the sender masked it, which servers do not) and
// the bytes after it. ok is false while b holds no whole frame. Like
// readFrame, it ignores fragmentation, which neither server measured uses.
func parseFrame(b []byte) (op byte, p, rest []byte, ok bool) {
	if len(b) < 2 {
		return 0, nil, b, false
	}
	op = b[0] & 0x0f
	n := uint64(b[1] & 0x7f)
	h := 2
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, nil, b, false
		}
		n, h = uint64(b[2])<<8|uint64(b[3]), 4
	case 127:
		if len(b) < 10 {
			return 0, nil, b, false
		}
		n = 0
		for _, x := range b[2:10] {
			n = n<<8 | uint64(x)
		}
		h = 10
	}
	masked := b[1]&0x80 != 0
	if masked {
		h += 4
	}
	if len(b) < h || uint64(len(b)-h) < n {
		return 0, nil, b, false
	}
	p = b[h : h+int(n)]
	if masked {
		m := b[h-4 : h]
		for i := range p {
			p[i] ^= m[i&3]
		}
	}
	return op, p, b[h+int(n):], true
}

// Emit sends `42[<event>,<args...>]`, with an ack id when id >= 0. args
// are raw JSON. buf is scratch space, returned for reuse.
func (c *Client) Emit(buf []byte, id int64, event string, args ...[]byte) ([]byte, error) {
	b := append(buf[:0], '4', '2')
	if id >= 0 {
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, '[')
	b = strconv.AppendQuote(b, event)
	for _, a := range args {
		b = append(b, ',')
		b = append(b, a...)
	}
	b = append(b, ']')
	return b, c.WriteText(b)
}

// Call emits event with an ack id and waits for the acknowledgement,
// returning its payload (the JSON array after the id). Other messages
// read meanwhile are passed to other, which may be nil.
func (c *Client) Call(id int64, event string, other func([]byte), args ...[]byte) ([]byte, error) {
	if _, err := c.Emit(nil, id, event, args...); err != nil {
		return nil, err
	}
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return nil, err
		}
		if got, rest, ok := AckID(m); ok && got == id {
			return rest, nil
		}
		if other != nil {
			other(m)
		}
	}
}

// AckID parses `43<id>[...]`.
func AckID(m []byte) (id int64, rest []byte, ok bool) {
	if len(m) < 4 || m[0] != '4' || m[1] != '3' {
		return 0, nil, false
	}
	i := 2
	for i < len(m) && m[i] >= '0' && m[i] <= '9' {
		id = id*10 + int64(m[i]-'0')
		i++
	}
	if i == 2 {
		return 0, nil, false
	}
	return id, m[i:], true
}

// SetReadDeadline bounds the next reads.
func (c *Client) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// Close closes the TCP connection without a closing handshake (what a
// client that goes away does); both servers treat it as "transport close".
func (c *Client) Close() error { return c.conn.Close() }

// IntField returns the integer after `"name":` in m, scanning from the
// start; ok is false if absent.
func IntField(m []byte, key []byte) (int64, bool) {
	i := bytes.Index(m, key)
	if i < 0 {
		return 0, false
	}
	i += len(key)
	var v int64
	j := i
	for j < len(m) && m[j] >= '0' && m[j] <= '9' {
		v = v*10 + int64(m[j]-'0')
		j++
	}
	return v, j > i
}
