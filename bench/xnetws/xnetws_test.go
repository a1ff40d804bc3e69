package xnetws

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wirekit/socketio/bench/loadgen"
	"golang.org/x/net/websocket"
)

const batch = 64

var payload = []byte(`42["msg",{"seq":12345,"user":"ann","text":"hello, world","p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)

// sink keeps what is written between begin and end and writes it at end.
type sink struct {
	conn     net.Conn
	batching bool
	buf      []byte
}

func (s *sink) Write(p []byte) (int, error) {
	if !s.batching {
		return s.conn.Write(p)
	}
	s.buf = append(s.buf, p...)
	return len(p), nil
}

func (s *sink) end() error {
	_, err := s.conn.Write(s.buf)
	s.buf = s.buf[:0]
	s.batching = false
	return err
}

// hijacker hands x/net a connection with the buffers chosen here.
type hijacker struct {
	http.ResponseWriter
	conn net.Conn
	rw   *bufio.ReadWriter
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) { return h.conn, h.rw, nil }

// serverConn is the server end of one WebSocket: x/net's Conn, the raw
// connection under it, and the sink under x/net's bufio.Writer.
type serverConn struct {
	ws   *websocket.Conn
	raw  net.Conn
	br   *bufio.Reader
	sink *sink
}

// pair returns both ends of a WebSocket: x/net on the server side, the
// load generator's client on the other.
func pair(b *testing.B) (*serverConn, *loadgen.Client) {
	got := make(chan *serverConn, 1)
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		sc := &serverConn{raw: raw, br: brw.Reader, sink: &sink{conn: raw}}
		h := &hijacker{conn: raw, rw: bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(sc.sink, 256))}
		websocket.Server{
			Handshake: func(*websocket.Config, *http.Request) error { return nil },
			Handler: func(ws *websocket.Conn) {
				sc.ws = ws
				// The load generator's client completes an Engine.IO and
				// Socket.IO handshake: play the server's part.
				ws.Write([]byte(`0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
				var m []byte
				websocket.Message.Receive(ws, &m)
				ws.Write([]byte(`40{"sid":"y"}`))
				got <- sc
				<-release
			},
		}.ServeHTTP(h, r)
	}))
	c, err := loadgen.Dial(context.Background(), strings.TrimPrefix(hs.URL, "http://"), "/", loadgen.DialOptions{})
	if err != nil {
		b.Fatal(err)
	}
	sc := <-got
	b.Cleanup(func() {
		close(release)
		c.Close()
		hs.Close()
	})
	return sc, c
}

// discard reads from c until it closes.
func discard(c *loadgen.Client, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		if _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	b.Run("xnet", func(b *testing.B) {
		sc, c := pair(b)
		var wg sync.WaitGroup
		wg.Add(1)
		go discard(c, &wg)
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for range b.N {
			if _, err := sc.ws.Write(payload); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		c.Close()
		wg.Wait()
	})
	b.Run("xnet-batched", func(b *testing.B) {
		sc, c := pair(b)
		var wg sync.WaitGroup
		wg.Add(1)
		go discard(c, &wg)
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for i := 0; i < b.N; {
			sc.sink.batching = true
			for j := 0; j < batch && i < b.N; j, i = j+1, i+1 {
				if _, err := sc.ws.Write(payload); err != nil {
					b.Fatal(err)
				}
			}
			if err := sc.sink.end(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		c.Close()
		wg.Wait()
	})
	b.Run("raw", func(b *testing.B) {
		sc, c := pair(b)
		var wg sync.WaitGroup
		wg.Add(1)
		go discard(c, &wg)
		buf := make([]byte, 0, batch*(len(payload)+4))
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for i := 0; i < b.N; {
			buf = buf[:0]
			for j := 0; j < batch && i < b.N; j, i = j+1, i+1 {
				buf = appendFrame(buf, payload)
			}
			if _, err := sc.raw.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		c.Close()
		wg.Wait()
	})
}

// appendFrame appends an unmasked final text frame (server to client).
func appendFrame(dst, p []byte) []byte {
	switch n := len(p); {
	case n <= 125:
		dst = append(dst, 0x81, byte(n))
	case n < 65536:
		dst = append(dst, 0x81, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x81, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, p...)
}

// maskedFrames returns n masked text frames of p (client to server).
func maskedFrames(n int, p []byte) []byte {
	key := [4]byte{1, 2, 3, 4}
	var out []byte
	for range n {
		out = append(out, 0x81, 0x80|byte(len(p)))
		out = append(out, key[:]...)
		for i, c := range p {
			out = append(out, c^key[i&3])
		}
	}
	return out
}

// feed writes n frames of payload to the server, from the client side.
func feed(c net.Conn, n int) {
	chunk := maskedFrames(batch, payload)
	for sent := 0; sent < n; sent += batch {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// rawPair dials a WebSocket by hand, for the read benchmarks: the
// returned connection writes masked frames to the server.
func rawPair(b *testing.B) (*serverConn, net.Conn) {
	got := make(chan *serverConn, 1)
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		sc := &serverConn{raw: raw, br: brw.Reader, sink: &sink{conn: raw}}
		h := &hijacker{conn: raw, rw: bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(sc.sink, 256))}
		websocket.Server{
			Handshake: func(*websocket.Config, *http.Request) error { return nil },
			Handler: func(ws *websocket.Conn) {
				sc.ws = ws
				got <- sc
				<-release
			},
		}.ServeHTTP(h, r)
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	if err != nil {
		b.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	sc := <-got
	b.Cleanup(func() {
		close(release)
		c.Close()
		hs.Close()
	})
	return sc, c
}

type frame struct {
	data   []byte
	binary bool
}

var codec = websocket.Codec{Unmarshal: func(data []byte, payloadType byte, v any) error {
	f := v.(*frame)
	f.data, f.binary = data, payloadType == websocket.BinaryFrame
	return nil
}}

func BenchmarkRead(b *testing.B) {
	b.Run("xnet", func(b *testing.B) {
		sc, c := rawPair(b)
		go feed(c, b.N)
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		var f frame
		for range b.N {
			if err := codec.Receive(sc.ws, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		sc, c := rawPair(b)
		go feed(c, b.N)
		br := bufio.NewReaderSize(sc.raw, 4096)
		if n := sc.br.Buffered(); n > 0 { // bytes net/http read ahead
			pre, _ := sc.br.Peek(n)
			br = bufio.NewReaderSize(io.MultiReader(strings.NewReader(string(pre)), sc.raw), 4096)
		}
		buf := make([]byte, 0, 512)
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for range b.N {
			var err error
			if buf, err = readFrame(br, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// readFrame reads one masked frame into buf (reused) and unmasks it.
func readFrame(br *bufio.Reader, buf []byte) ([]byte, error) {
	h0, err := br.ReadByte()
	if err != nil {
		return nil, err
	}
	h1, err := br.ReadByte()
	if err != nil {
		return nil, err
	}
	_ = h0
	n := int(h1 & 0x7f)
	switch n {
	case 126, 127:
		k := 2
		if n == 127 {
			k = 8
		}
		n = 0
		for range k {
			c, err := br.ReadByte()
			if err != nil {
				return nil, err
			}
			n = n<<8 | int(c)
		}
	}
	var key [4]byte
	for i := range key {
		if key[i], err = br.ReadByte(); err != nil {
			return nil, err
		}
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, err
	}
	for i := range buf {
		buf[i] ^= key[i&3]
	}
	return buf, nil
}
