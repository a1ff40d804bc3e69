// Package wstest holds WebSocket helpers shared by this module's tests.
package wstest

import (
	"bytes"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"sync"
)

// maxRecorded bounds what a RecConn keeps: a test that floods the client
// must not flood the test's memory.
const maxRecorded = 8 << 20

// RecConn records the first bytes read from the server, so that a test can
// look at what golang.org/x/net/websocket hides: the HTTP status of a
// refused handshake and the code of a close frame.
type RecConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

// Read reads from the connection and records what it read.
func (c *RecConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if c.buf.Len() < maxRecorded {
		c.buf.Write(p[:n])
	}
	c.mu.Unlock()
	return n, err
}

// Bytes returns a copy of what was recorded.
func (c *RecConn) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.buf.Bytes()...)
}

// Status returns the HTTP status of the handshake response, 0 if none.
func (c *RecConn) Status() int {
	line, _, _ := bytes.Cut(c.Bytes(), []byte("\r\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// CloseCode parses the frames the server sent and returns the status code
// of its close frame: -1 when there was none among what was recorded, 0
// when it had no code.
func (c *RecConn) CloseCode() int {
	b := c.Bytes()
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return -1
	}
	b = b[i+4:]
	for len(b) >= 2 {
		op, n, h := b[0]&0x0f, int(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return -1
			}
			n, h = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return -1
			}
			n, h = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		if n < 0 || len(b) < h+n {
			return -1
		}
		if op == 8 {
			if n < 2 {
				return 0
			}
			return int(binary.BigEndian.Uint16(b[h:]))
		}
		b = b[h+n:]
	}
	return -1
}
