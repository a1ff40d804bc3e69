package engineio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// xnetConn returns an x/net server connection, its handshake done, that
// reads from br and writes to w.
func xnetConn(t testing.TB, br *bufio.Reader, w io.Writer) *websocket.Conn {
	t.Helper()
	req := &http.Request{
		Method: http.MethodGet,
		URL:    &url.URL{Path: "/"},
		Host:   "localhost",
		Header: http.Header{
			"Upgrade":               {"websocket"},
			"Connection":            {"Upgrade"},
			"Sec-Websocket-Key":     {"AAAAAAAAAAAAAAAAAAAAAA=="},
			"Sec-Websocket-Version": {"13"},
		},
	}
	var ws *websocket.Conn
	srv := websocket.Server{
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
		Handler:   func(c *websocket.Conn) { ws = c },
	}
	srv.ServeHTTP(&wsResponse{conn: memConn{}, rw: bufio.NewReadWriter(br, bufio.NewWriterSize(w, 16))}, req)
	require.NotNil(t, ws, "x/net refused the handshake")
	return ws
}

// memConn is the connection under xnetConn's: only its buffers are used.
type memConn struct{}

func (memConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (memConn) Write(p []byte) (int, error)      { return len(p), nil }
func (memConn) Close() error                     { return nil }
func (memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (memConn) SetDeadline(time.Time) error      { return nil }
func (memConn) SetReadDeadline(time.Time) error  { return nil }
func (memConn) SetWriteDeadline(time.Time) error { return nil }

// xnetFrame returns the bytes x/net writes for one Write of data.
func xnetFrame(t testing.TB, data []byte, binary bool) []byte {
	var out bytes.Buffer
	ws := xnetConn(t, bufio.NewReader(bytes.NewReader(nil)), &out)
	out.Reset() // the 101 response
	ws.PayloadType = websocket.TextFrame
	if binary {
		ws.PayloadType = websocket.BinaryFrame
	}
	_, err := ws.Write(data)
	require.NoError(t, err)
	return out.Bytes()
}

// The frames written here are x/net's, byte for byte, for every length
// encoding; PrepareWebSocket's too.
func TestAppendFrameIsXNets(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 200_000} {
		for _, binary := range []bool{false, true} {
			data := bytes.Repeat([]byte{'x'}, n)
			want := xnetFrame(t, data, binary)
			require.Equal(t, want, appendFrame(nil, data, binary), "length %d, binary %v", n, binary)
			require.Equal(t, want, appendFrame([]byte("kept"), data, binary)[4:], "appended")
			ps := []Packet{{Data: data, Binary: binary}}
			PrepareWebSocket(ps)
			require.Equal(t, want, ps[0].frame, "prepared")
		}
	}
}

// maskedFrameKey is maskedFrame with a masking key of the caller's.
func maskedFrameKey(first byte, payload []byte, key [4]byte) []byte {
	f := maskedFrame(first&0x80 != 0, first&0x0f, payload)
	f[0] = first
	hlen := len(f) - len(payload)
	copy(f[hlen-4:], key[:])
	for i, x := range payload {
		f[hlen+i] = x ^ key[i%4]
	}
	return f
}

// readSmallFrame reads a whole masked text or binary frame of up to 64 KiB,
// and nothing past it; it leaves every other frame unread.
func TestReadSmallFrame(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	next := maskedFrame(true, websocket.TextFrame, []byte("4next"))
	for _, n := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 125, 126, 127, 1000, 65535} {
		for _, binary := range []bool{false, true} {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(rng.IntN(256))
			}
			var key [4]byte
			for i := range key {
				key[i] = byte(rng.IntN(256))
			}
			first := byte(0x81)
			if binary {
				first = 0x82
			}
			in := append(maskedFrameKey(first, data, key), next...)
			br := bufio.NewReaderSize(bytes.NewReader(in), 64)
			f, ok, err := readSmallFrame(br, 1<<20)
			require.NoError(t, err)
			require.True(t, ok, "length %d", n)
			require.Equal(t, data, f.data, "length %d", n)
			require.Equal(t, binary, f.binary)
			rest, _ := io.ReadAll(br)
			require.Equal(t, next, rest, "what follows the frame, length %d", n)
		}
	}

	long := bytes.Repeat([]byte{'x'}, 70_000)
	for name, in := range map[string][]byte{
		"not final":       maskedFrame(false, websocket.TextFrame, []byte("4a")),
		"continuation":    maskedFrame(true, websocket.ContinuationFrame, []byte("4a")),
		"ping":            maskedFrame(true, websocket.PingFrame, []byte("x")),
		"close":           maskedFrame(true, websocket.CloseFrame, []byte{3, 232}),
		"reserved bits":   append([]byte{0xc1}, maskedFrame(true, 1, []byte("4a"))[1:]...),
		"unmasked":        {0x81, 2, '4', 'a'},
		"64-bit length":   maskedFrame(true, websocket.TextFrame, long),
		"over max":        maskedFrame(true, websocket.TextFrame, bytes.Repeat([]byte{'x'}, 101)),
		"header cut":      {0x81},
		"126 header cut":  {0x81, 0x80 | 126, 1},
		"mask cut":        {0x81, 0x82, 1, 2},
		"unknown opcode":  maskedFrame(true, 0x3, []byte("4a")),
		"binary not fin":  maskedFrame(false, websocket.BinaryFrame, []byte{1}),
		"empty stream":    {},
		"opcode 0xb ctrl": maskedFrame(true, 0xb, nil),
	} {
		br := bufio.NewReaderSize(bytes.NewReader(in), 64)
		f, ok, err := readSmallFrame(br, 100)
		require.False(t, ok, name)
		require.NoError(t, err, name)
		require.Nil(t, f.data, name)
		rest, _ := io.ReadAll(br)
		require.Equal(t, in, rest, "%s: nothing consumed", name)
	}

	// Payload cut short: the frame is readSmallFrame's, and so is the error.
	in := maskedFrame(true, websocket.TextFrame, []byte("4hello"))
	_, ok, err := readSmallFrame(bufio.NewReader(bytes.NewReader(in[:len(in)-2])), 100)
	require.True(t, ok)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// Neither direction allocates but for the message read.
func TestFrameCodecAllocs(t *testing.T) {
	data := []byte(`431["hello, world"]`)
	buf := make([]byte, 0, 256)
	require.Zero(t, testing.AllocsPerRun(100, func() { buf = appendFrame(buf[:0], data, false) }))

	frame := maskedFrame(true, websocket.TextFrame, data)
	r := bytes.NewReader(frame)
	br := bufio.NewReaderSize(r, 64)
	n := testing.AllocsPerRun(100, func() {
		r.Reset(frame)
		br.Reset(r)
		if _, ok, err := readSmallFrame(br, 1<<20); !ok || err != nil {
			panic("not read")
		}
	})
	require.Equal(t, 1.0, n, "the message, and nothing else")
}

// FuzzReadSmallFrame reads the same client bytes as messages twice: with
// readSmallFrame taking the frames it can, and with x/net alone. The
// messages, and the error that ends them, must be the same.
func FuzzReadSmallFrame(f *testing.F) {
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	f.Add(cat(maskedFrame(true, 1, []byte("4hello")), maskedFrame(true, 2, []byte{1, 2, 3})), uint16(1000))
	f.Add(maskedFrame(true, 1, bytes.Repeat([]byte("ab"), 100)), uint16(1000))
	f.Add(maskedFrame(true, 1, bytes.Repeat([]byte("ab"), 100)), uint16(150))
	f.Add(cat(maskedFrame(false, 1, []byte("4he")), maskedFrame(true, 9, []byte("p")), maskedFrame(true, 0, []byte("llo"))), uint16(1000))
	f.Add(cat(maskedFrame(true, 1, []byte("4a")), []byte{0x81, 1, 'x'}), uint16(1000))
	f.Add(cat(maskedFrame(true, 1, []byte("4a")), maskedFrame(true, 8, []byte{3, 232})), uint16(1000))
	f.Add([]byte{0x81, 0xfe, 0, 5, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'}, uint16(1000))
	f.Add([]byte{0xc1, 0x81, 1, 2, 3, 4, 'a'}, uint16(1000))
	f.Fuzz(func(t *testing.T, in []byte, max uint16) {
		fast := readMessages(t, in, int64(max), true)
		slow := readMessages(t, in, int64(max), false)
		require.Equal(t, slow, fast)
	})
}

// readMessages reads in as client frames with readMessage until it fails
// (16 messages at most), and describes what it read.
func readMessages(t testing.TB, in []byte, max int64, fast bool) []string {
	br := bufio.NewReaderSize(bytes.NewReader(in), 64)
	ws := xnetConn(t, br, io.Discard)
	small := br
	if !fast {
		small = nil
	}
	var got []string
	for range 16 {
		m, err := readMessage(ws, small, max)
		if err != nil {
			var cc *clientClose
			switch {
			case errors.Is(err, websocket.ErrFrameTooLarge):
				got = append(got, "too large")
			case errors.Is(err, errFragments):
				got = append(got, "fragments")
			case errors.Is(err, errBadFrame):
				got = append(got, "bad frame")
			case errors.As(err, &cc):
				got = append(got, fmt.Sprintf("close %d", cc.code))
			default:
				got = append(got, "error")
			}
			break
		}
		got = append(got, fmt.Sprintf("binary=%v %q", m.binary, m.data))
	}
	return got
}

// wsOut.writeFrame appends to the batch the writer is writing; outside
// one it writes the frame as Write does, whole.
func TestWSOutWriteFrame(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	out := newWSOut(server)

	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, 64)
		n, _ := io.ReadAtLeast(client, b, 7)
		got <- b[:n]
	}()
	require.NoError(t, out.writeFrame([]byte("4hello"), false))
	require.Equal(t, appendFrame(nil, []byte("4hello"), false), <-got, "straight through, outside a batch")

	out.begin()
	require.NoError(t, out.writeFrame([]byte("4a"), false))
	require.NoError(t, out.writeFrame([]byte{1, 2}, true))
	want := appendFrame(appendFrame(nil, []byte("4a"), false), []byte{1, 2}, true)
	require.Equal(t, len(want), out.buffered(), "kept in the batch")
	go func() {
		b := make([]byte, 64)
		n, _ := io.ReadAtLeast(client, b, len(want))
		got <- b[:n]
	}()
	require.NoError(t, out.end())
	require.Equal(t, want, <-got)
}
