package socketio

// Hostile input, class by class (see /work/shared/HOSTILE_INPUTS.md): raw
// bytes over both transports against a live Server. Every test checks the
// answer (HTTP status, disconnect reason, close code), that a healthy client
// of the same server keeps working, that the session is gone from the
// server, and (newRawServer's cleanup) that no goroutine is left behind.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hostileCase is a sequence of messages sent by a client, and what the
// server must do about it.
type hostileCase struct {
	name      string
	send      []frame // text frames carry the Engine.IO type byte
	noConnect bool    // send before joining "/" (no socket to report a reason)
	want      string  // the socket's disconnect reason; "" = it stays connected
}

func text(s string) frame { return frame{text: s} }
func bin(b ...byte) frame { return frame{binary: b, isBin: true} }
func ph(n int) string     { return fmt.Sprintf(`{"_placeholder":true,"num":%d}`, n) }
func deep(n int) string   { return strings.Repeat("[", n) + strings.Repeat("]", n) }
func digits(n int) string { return strings.Repeat("7", n) }
func sendAll(c eioClient, fs []frame) error {
	for _, f := range fs {
		var err error
		if f.isBin {
			err = c.SendBinary(f.binary)
		} else {
			err = c.SendText(f.text)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runHostile runs each case over both transports, on one server, with a
// healthy client on each transport watching.
func runHostile(t *testing.T, cfg Config, setup func(*Server), cases []hostileCase) {
	rs := newRawServer(t, cfg, setup)
	var watchers []*healthy
	for _, tr := range transports {
		watchers = append(watchers, rs.healthy(tr))
	}
	base := rs.srv.ConnectionCount()
	for _, tr := range transports {
		for _, tc := range cases {
			t.Run(tr+"/"+tc.name, func(t *testing.T) {
				rs.t = t
				defer func() { rs.t = t }()
				c := rs.open(tr)
				defer c.Close()
				var id string
				if !tc.noConnect {
					id = connect(t, c, "/", "")
				}
				sendAll(c, tc.send) // a refused POST is an answer, not a failure
				if tc.want == "" && !tc.noConnect {
					echo(t, c, 99, `"alive"`)
					require.Equal(t, base+1, rs.srv.ConnectionCount())
					require.NoError(t, c.SendText("41")) // leave
					require.Equal(t, ReasonClientDisconnect, rs.waitReason(id, 5*time.Second))
					require.NoError(t, c.SendText("1"))
				} else {
					if id != "" {
						require.Equal(t, tc.want, rs.waitReason(id, 5*time.Second))
					}
					waitClosed(t, c, 5*time.Second)
				}
				rs.waitConns(base, 5*time.Second)
				for _, w := range watchers {
					w.t = t
					w.check()
				}
			})
		}
	}
	for _, w := range watchers {
		w.t = t
	}
	rs.t = t
}

// Class 1: malformed Engine.IO.
func TestHostileEngineIO(t *testing.T) {
	runHostile(t, Config{}, nil, []hostileCase{
		{name: "garbage", send: []frame{text("abc")}, want: ReasonParseError},
		{name: "empty", send: []frame{text("")}, want: ReasonParseError},
		{name: "separators", send: []frame{text("\x1e\x1e")}, want: ReasonParseError},
		{name: "bad base64", send: []frame{text("b!!!!")}, want: ReasonParseError},
		{name: "client ping", send: []frame{text("2")}, want: ReasonParseError},
		{name: "open and upgrade outside an upgrade are ignored", send: []frame{text("0"), text("0{}"), text("5")}},
		{name: "type out of range", send: []frame{text("9")}, want: ReasonParseError},
		{name: "binary before connect", send: []frame{bin(1, 2, 3)}, noConnect: true},
		{name: "garbage before connect", send: []frame{text("\x00\xff")}, noConnect: true},
		{name: "client close", send: []frame{text("1")}, want: ReasonTransportClose},
		{name: "noop and pong are harmless", send: []frame{text("6"), text("3")}},
	})
}

// Class 1, HTTP level: requests that are not Engine.IO get Engine.IO errors
// and open nothing.
func TestHostileEngineIORequests(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	w := rs.healthy(tPolling)
	closed, err := rs.openPolling()
	require.NoError(t, err)
	require.NoError(t, closed.SendText("1"))
	rs.waitConns(1, 5*time.Second)

	octet := http.Header{"Content-Type": {"application/octet-stream"}}
	for _, tc := range []struct {
		method, query, body string
		hdr                 http.Header
		status, code        int
	}{
		{"GET", "EIO=3&transport=polling", "", nil, 400, 5},
		{"GET", "transport=polling", "", nil, 400, 5},
		{"GET", "EIO=4&EIO=3&transport=polling", "", nil, 200, -1}, // first value wins, as in net/url
		{"GET", "EIO=4&transport=__proto__", "", nil, 400, 0},
		{"GET", "EIO=4&transport=constructor", "", nil, 400, 0},
		{"GET", "EIO=4&transport=", "", nil, 400, 0},
		{"GET", "EIO=4", "", nil, 400, 0},
		{"GET", "EIO=4&transport=flashsocket", "", nil, 400, 0},
		{"GET", "EIO=4&transport=websocket", "", nil, 400, 3}, // no Upgrade header
		{"POST", "EIO=4&transport=polling", "40", nil, 400, 2},
		{"PUT", "EIO=4&transport=polling", "", nil, 400, 2},
		{"GET", "EIO=4&transport=polling&sid=nope", "", nil, 400, 1},
		{"GET", "EIO=4&transport=polling&sid=__proto__", "", nil, 400, 1},
		{"POST", "EIO=4&transport=polling&sid=" + closed.SID(), "40", nil, 400, 1},
		{"PUT", "EIO=4&transport=polling&sid=" + w.c.SID(), "", nil, 400, 3},
		{"DELETE", "EIO=4&transport=polling&sid=" + w.c.SID(), "", nil, 400, 3},
		{"POST", "EIO=4&transport=polling", "\x00\x01\x02", octet, 400, 2},
	} {
		res := rs.mustDo(tc.method, tc.query, tc.body, tc.hdr)
		if tc.code < 0 {
			require.Equal(t, tc.status, res.status, "%s %s: %q", tc.method, tc.query, res.body)
			continue
		}
		require.Equal(t, tc.code, engineError(t, res, tc.status), "%s %s", tc.method, tc.query)
	}
	// A session its client closed: the first GET may still get a noop (a
	// client cannot order its last poll and its close), then 400.
	if res := rs.mustDo("GET", "EIO=4&transport=polling&sid="+closed.SID(), "", nil); res.status == 200 {
		require.Equal(t, "6", res.body)
	} else {
		require.Equal(t, 1, engineError(t, res, 400))
	}
	require.Equal(t, 1, engineError(t, rs.mustDo("GET", "EIO=4&transport=polling&sid="+closed.SID(), "", nil), 400))
	// The EIO=4&EIO=3 handshake opened a session that nobody polls.
	rs.waitConns(2, time.Second)
	w.check()

	// An octet-stream POST of binary garbage on a live session closes it and
	// leaks nothing (GHSA-r635-g3xr-vw7x).
	c, err := rs.openPolling()
	require.NoError(t, err)
	id := connect(t, c, "/", "")
	res, err := rs.do(context.Background(), "POST", c.query(), strings.NewReader("\x00\x01\xff\x1e\x04"), octet)
	require.NoError(t, err)
	require.Equal(t, 400, res.status)
	require.Equal(t, ReasonParseError, rs.waitReason(id, 5*time.Second))
	w.check()
}

// Class 2: malformed Socket.IO.
func TestHostileSocketIO(t *testing.T) {
	ev := func(s string) []frame { return []frame{text("4" + s)} }
	runHostile(t, Config{}, func(srv *Server) {
		srv.Of("/").OnEvent("error", func(*Socket, Args, Ack) {})
	}, []hostileCase{
		{name: "CONNECT_ERROR abc", send: ev("4abc"), want: ReasonParseError},
		{name: "client CONNECT_ERROR", send: ev(`4{"message":"x"}`), want: ReasonParseError},
		{name: "type abc", send: ev("abc"), want: ReasonParseError},
		{name: "type 7", send: ev(`7["echo"]`), want: ReasonParseError},
		{name: "empty message", send: ev(""), want: ReasonParseError},
		{name: "object payload", send: ev("2{}"), want: ReasonParseError},
		{name: "junk before array", send: ev(`2abc["echo"]`), want: ReasonParseError},
		{name: "empty array", send: ev("2[]"), want: ReasonParseError},
		{name: "null name", send: ev("2[null]"), want: ReasonParseError},
		{name: "number name", send: ev("2[42]")}, // socket.io-parser allows it: event "42"
		{name: "object name", send: ev(`2[{"toString":"x"}]`), want: ReasonParseError},
		{name: "array name", send: ev(`2[["echo"]]`), want: ReasonParseError},
		{name: "no payload", send: ev("2"), want: ReasonParseError},
		{name: "truncated", send: ev(`2["echo",`), want: ReasonParseError},
		{name: "trailing junk", send: ev(`2["echo"]x`), want: ReasonParseError},
		{name: "reserved connect", send: ev(`2["connect"]`), want: ReasonParseError},
		{name: "reserved disconnect", send: ev(`2["disconnect"]`), want: ReasonParseError},
		{name: "reserved disconnecting", send: ev(`2["disconnecting"]`), want: ReasonParseError},
		{name: "reserved newListener", send: ev(`2["newListener"]`), want: ReasonParseError},
		{name: "event named error", send: ev(`2["error",{"x":1}]`)},
		{name: "event named __proto__", send: ev(`2["__proto__"]`)},
		{name: "event named constructor", send: ev(`21["constructor",1]`)},
		{name: "unknown event with ack", send: ev(`25["nobody-listens"]`)},
		{name: "ack id -1", send: ev(`2-1["echo"]`), want: ReasonParseError},
		{name: "ack id 1.5", send: ev(`21.5["echo"]`), want: ReasonParseError},
		{name: "ack id 25 digits", send: ev("2" + digits(25) + `["echo"]`), want: ReasonParseError},
		{name: "ack id 2^53", send: ev(`29007199254740992["echo"]`), want: ReasonParseError},
		{name: "ack id 0", send: ev(`20["echo",1]`)},
		{name: "second CONNECT", send: ev("0"), want: ReasonParseError},
		{name: "CONNECT with ack id", send: ev("0/x,1{}"), want: ReasonParseError},
		{name: "event for namespace not joined", send: ev(`2/admin,["echo"]`), want: ReasonParseError},
		{name: "disconnect from namespace not joined", send: ev("1/admin,"), want: ReasonParseError},
		{name: "disconnect with payload", send: ev(`1{"x":1}`), want: ReasonParseError},
		{name: "deep array", send: ev(`2["echo",` + deep(100000) + `]`), want: ReasonParseError},
		{name: "deep object", send: ev(`2["echo",` + strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000) + `]`), want: ReasonParseError},
		{name: "depth 90 is fine", send: ev(`2["echo",` + deep(90) + `]`)},
		{name: "unknown ack", send: ev("3999[]")},
		{name: "ack without id", send: ev("3[]"), want: ReasonParseError},
		{name: "ack not an array", send: ev(`31{"a":1}`), want: ReasonParseError},
		{name: "huge number", send: ev(`2["echo",1e999999999]`)},
		{name: "EVENT before CONNECT", send: ev(`2["echo"]`), noConnect: true},
		{name: "ACK before CONNECT", send: ev(`31[]`), noConnect: true},
		{name: "auth is a string", send: ev(`0"token"`), noConnect: true},
		{name: "auth is an array", send: ev(`0[1,2]`), noConnect: true},
		{name: "auth is a number", send: ev(`0/x,12`), noConnect: true},
		{name: "auth is deep", send: ev(`0{"a":` + deep(1000) + `}`), noConnect: true},
		{name: "auth is not JSON", send: ev(`0{"a":`), noConnect: true},
	})
}

// Class 2: acknowledgements the server is owed, answered wrongly.
func TestHostileAcks(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs := newRawServer(t, Config{}, nil)
			w := rs.healthy(tr)
			c := rs.open(tr)
			id := connect(t, c, "/", "")
			so := rs.srv.Of("/").Socket(id)
			require.NotNil(t, so)

			// Late: the ack arrives after EmitWithAck gave up.
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			_, err := so.EmitWithAck(ctx, "q", 1)
			cancel()
			require.ErrorIs(t, err, ErrAckTimeout)
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `420["q",1]`, f.text)
			require.NoError(t, c.SendText(`430["late"]`))

			// Duplicate: the second answer is ignored.
			got := make(chan Args, 2)
			go func() {
				a, err := so.EmitWithAck(context.Background(), "q", 2)
				if err == nil {
					got <- a
				}
				close(got)
			}()
			f, err = c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `421["q",2]`, f.text)
			require.NoError(t, c.SendText(`431["first"]`, `431["second"]`))
			a := <-got
			var s string
			require.NoError(t, a.Decode(0, &s))
			require.Equal(t, "first", s)
			_, more := <-got
			require.False(t, more)

			// Binary ack for an ack that does not exist, with its attachment.
			require.NoError(t, c.SendText(`462-77[`+ph(0)+`,`+ph(1)+`]`))
			require.NoError(t, c.SendBinary([]byte{1}))
			require.NoError(t, c.SendBinary([]byte{2}))

			echo(t, c, 5, `"still fine"`)
			so.mu.Lock()
			require.Empty(t, so.acks, "pending acks after every answer")
			so.mu.Unlock()
			w.check()
		})
	}
}

// Class 3: binary abuse.
func TestHostileBinary(t *testing.T) {
	ev := func(s string) frame { return text("4" + s) }
	runHostile(t, Config{}, nil, []hostileCase{
		{name: "type 5 alone", send: []frame{ev("5")}, want: ReasonParseError},
		{name: "count not a number", send: []frame{ev("5a-")}, want: ReasonParseError},
		{name: "no dash", send: []frame{ev(`51["echo",` + ph(0) + `]`)}, want: ReasonParseError},
		{name: "no payload", send: []frame{ev("51-")}, want: ReasonParseError},
		{name: "over the cap", send: []frame{ev(`511-["echo"]`)}, want: ReasonParseError},
		{name: "absurd count", send: []frame{ev(`5999999999999-["echo"]`)}, want: ReasonParseError},
		{name: "num is a string", send: []frame{ev(`51-["echo",{"_placeholder":true,"num":"0"}]`)}, want: ReasonParseError},
		{name: "num negative", send: []frame{ev(`51-["echo",{"_placeholder":true,"num":-1}]`)}, want: ReasonParseError},
		{name: "num fractional", send: []frame{ev(`51-["echo",{"_placeholder":true,"num":0.5}]`)}, want: ReasonParseError},
		{name: "num out of range", send: []frame{ev(`51-["echo",` + ph(1) + `]`)}, want: ReasonParseError},
		{name: "num huge", send: []frame{ev(`51-["echo",{"_placeholder":true,"num":1e300}]`)}, want: ReasonParseError},
		{name: "num used twice", send: []frame{ev(`52-["echo",` + ph(0) + `,` + ph(0) + `]`)}, want: ReasonParseError},
		{name: "placeholder without num", send: []frame{ev(`51-["echo",{"_placeholder":true}]`)}, want: ReasonParseError},
		{name: "binary with no header", send: []frame{bin(1, 2, 3)}, want: ReasonParseError},
		{name: "text while buffers pending", send: []frame{ev(`51-["echo",` + ph(0) + `]`), ev(`2["echo"]`)}, want: ReasonParseError},
		{name: "one buffer too many", send: []frame{ev(`51-["echo",` + ph(0) + `]`), bin(1), bin(2)}, want: ReasonParseError},
		{name: "empty buffer is fine", send: []frame{ev(`51-["echo",` + ph(0) + `]`), bin()}},
		{name: "ten buffers are fine", send: append([]frame{ev(`510-["echo",` + ph(0) + `,` + ph(9) + `]`)},
			bin(0), bin(1), bin(2), bin(3), bin(4), bin(5), bin(6), bin(7), bin(8), bin(9))},
		{name: "buffers that never arrive", send: []frame{ev(`52-["echo",` + ph(0) + `,` + ph(1) + `]`), bin(1), text("1")}, want: ReasonTransportClose},
	})
}

// Class 3: a binary event round trip works, and buffers that never arrive
// are released when the client goes away.
func TestHostileBinaryPendingThenGone(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs := newRawServer(t, Config{}, nil)
			w := rs.healthy(tr)
			c := rs.open(tr)
			id := connect(t, c, "/", "")
			require.NoError(t, c.SendText(`451-3["echo",`+ph(0)+`]`))
			require.NoError(t, c.SendBinary([]byte{0xde, 0xad}))
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `461-3[`+ph(0)+`]`, f.text)
			f, err = c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, []byte{0xde, 0xad}, f.binary)

			require.NoError(t, c.SendText(`459-["echo",`+ph(0)+`]`))
			require.NoError(t, c.SendBinary(make([]byte, 1000)))
			if tr == tWebSocket {
				c.Close() // vanish
				require.Equal(t, ReasonTransportClose, rs.waitReason(id, 5*time.Second))
			} else {
				// A polling client that vanishes is only noticed by the
				// heartbeat; here it says goodbye.
				require.NoError(t, c.SendText("1"))
				require.Equal(t, ReasonTransportClose, rs.waitReason(id, 5*time.Second))
			}
			rs.waitConns(1, 5*time.Second)
			w.check()
		})
	}
}

// Class 4: oversize input over WebSocket: one message over MaxPayload
// closes with 1009; floods of frames and control frames are bounded.
func TestHostileOversizeWebSocket(t *testing.T) {
	const max = 64 << 10
	rs := newRawServer(t, Config{MaxPayload: max}, nil)
	w := rs.healthy(tWebSocket)
	wp := rs.healthy(tPolling)

	open := func() (*wsClient, string) {
		c, err := rs.openWS("")
		require.NoError(t, err)
		return c, connect(t, c, "/", "")
	}

	// Exactly MaxPayload is accepted.
	c, id := open()
	payload := `"` + strings.Repeat("x", max-len(`421["echo",""]`)) + `"`
	echo(t, c, 1, payload)
	// One byte more is not: close code 1009, reason transport error.
	require.NoError(t, c.SendText(`42["echo","`+strings.Repeat("x", max)+`"]`))
	require.Equal(t, ReasonTransportError, rs.waitReason(id, 5*time.Second))
	waitClosed(t, c, 5*time.Second)
	require.Equal(t, 1009, c.rc.CloseCode())

	// A frame header announcing 2^62 bytes: refused before anything is read.
	c, id = open()
	require.NoError(t, c.writeRaw(maskedFrame(0x81, []byte("42"), 1<<62)))
	require.Equal(t, ReasonTransportError, rs.waitReason(id, 5*time.Second))
	waitClosed(t, c, 5*time.Second)
	require.Equal(t, 1009, c.rc.CloseCode())

	// The top bit of a 64-bit length set (the gorilla overflow,
	// CVE-2020-27813): x/net ignores that bit, so this is a 1-byte binary
	// message, which has no header to belong to.
	c, id = open()
	require.NoError(t, c.writeRaw(maskedFrame(0x82, []byte{1}, 1<<63|1)))
	require.Equal(t, ReasonParseError, rs.waitReason(id, 5*time.Second))
	waitClosed(t, c, 5*time.Second)

	// A fragmented message is reassembled (browsers split large ones),
	// pings between its fragments answered.
	c, id = open()
	msg := maskedFrame(0x01, []byte(`421["echo","`), noLength)
	for range 10 {
		msg = append(msg, maskedFrame(0x00, []byte(strings.Repeat("z", 1000)), noLength)...)
		msg = append(msg, maskedFrame(0x89, []byte("mid"), noLength)...)
	}
	msg = append(msg, maskedFrame(0x80, []byte(`"]`), noLength)...)
	require.NoError(t, c.writeRaw(msg))
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, `431["`+strings.Repeat("z", 10000)+`"]`, f.text)
	// A fragment flood: a first fragment, then thousands of continuation
	// frames: the message is cut off (1009) as soon as its total passes
	// MaxPayload, before the rest is read.
	flood := maskedFrame(0x01, []byte(`42["echo","`), noLength)
	cont := maskedFrame(0x00, []byte(strings.Repeat("y", 1000)), noLength)
	for range 1000 {
		flood = append(flood, cont...)
	}
	c.writeRaw(flood) // the server may close before all of it is written
	require.Equal(t, ReasonTransportError, rs.waitReason(id, 5*time.Second))
	waitClosed(t, c, 5*time.Second)
	require.Equal(t, 1009, c.rc.CloseCode())

	// A ping flood is answered with pongs and changes nothing.
	c, _ = open()
	var pings []byte
	for range 2000 {
		pings = append(pings, maskedFrame(0x89, []byte("hello"), noLength)...)
	}
	require.NoError(t, c.writeRaw(pings))
	echo(t, c, 2, `"after pings"`)
	// An oversized control frame is drained, not buffered, and closes the
	// connection when its bytes never stop coming (here: they stop, and the
	// heartbeat-less client is cut when the test server shuts down).
	c.Close()

	rs.waitConns(2, 5*time.Second)
	w.check()
	wp.check()
}

// Class 4: oversize polling POSTs: with and without Content-Length, and
// a body that never ends. The limit is enforced while reading: the server
// stops reading at MaxPayload+1 bytes and answers 413.
func TestHostileOversizePolling(t *testing.T) {
	const max = 64 << 10
	var (
		mu   sync.Mutex
		read int64
	)
	rs := newRawServerOpts(t, Config{MaxPayload: max}, nil, serverOpts{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cr := &countingReader{ReadCloser: r.Body}
			r.Body = cr
			h.ServeHTTP(w, r)
			mu.Lock()
			read = cr.n
			mu.Unlock()
		})
	}})
	w := rs.healthy(tPolling)
	ww := rs.healthy(tWebSocket)

	newClient := func() (*pollClient, string) {
		c, err := rs.openPolling()
		require.NoError(t, err)
		return c, connect(t, c, "/", "")
	}

	// Exactly MaxPayload: accepted.
	c, id := newClient()
	echo(t, c, 1, `"`+strings.Repeat("x", max-len(`421["echo",""]`))+`"`)

	// With Content-Length over the limit: 413 without reading the body.
	res, err := rs.do(context.Background(), "POST", c.query(), strings.NewReader(`42["echo","`+strings.Repeat("x", max)+`"]`), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	require.Equal(t, ReasonTransportError, rs.waitReason(id, 5*time.Second))
	waitClosed(t, c, 5*time.Second)

	// Chunked (no Content-Length), endless: 413 after at most max+1 bytes.
	c, id = newClient()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	res, err = rs.do(ctx, "POST", c.query(), &endlessReader{prefix: []byte(`42["echo","`)}, nil)
	cancel()
	if err == nil { // the client may also see the connection close first
		require.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	}
	require.Equal(t, ReasonTransportError, rs.waitReason(id, 5*time.Second))
	mu.Lock()
	require.LessOrEqual(t, read, int64(max+1)+32<<10, "bytes read from an endless body")
	mu.Unlock()

	// A lying Content-Length (smaller than the body): the rest is a
	// second request, which is garbage: no harm either way.
	c, id = newClient()
	conn := rs.tcp()
	body := `42["echo","abc"]` + strings.Repeat("z", 1000)
	fmt.Fprintf(conn, "POST %s?%s HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n%s", DefaultPath, c.query(), body)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r1, err := readHTTP(conn)
	require.NoError(t, err)
	require.Equal(t, 200, r1.status)
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, `42["echo","abc"]`, f.text)
	echo(t, c, 2, `"fine"`)
	_ = id

	// Huge headers: net/http refuses them (431) before we see the request.
	hdr := http.Header{"X-Big": {strings.Repeat("h", 2<<20)}}
	res, err = rs.do(context.Background(), "GET", "EIO=4&transport=polling", nil, hdr)
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, res.status)

	// Many tiny packets in one payload are fine.
	echoMany := strings.Repeat("6\x1e", 20000) + `42["echo","many"]`
	require.NoError(t, c.SendText(echoMany))
	f, err = c.Next(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, `42["echo","many"]`, f.text)

	w.check()
	ww.check()
}

type countingReader struct {
	io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// endlessReader yields prefix then 'x' forever.
type endlessReader struct {
	prefix []byte
	done   bool
}

func (e *endlessReader) Read(p []byte) (int, error) {
	if !e.done {
		e.done = true
		return copy(p, e.prefix), nil
	}
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// Bytes that are not UTF-8 in a text message: over WebSocket they fail the
// connection with 1007, as RFC 6455 says and Node's ws does; in a polling
// body they arrive as U+FFFD, as Node reads the body. Either way nothing
// that is not UTF-8 goes out in a text frame: a browser receiving one
// closes its connection, so one client relaying such bytes (Args.Slice
// sends arguments on as they came) could cut off every other.
func TestInvalidUTF8(t *testing.T) {
	rs := newRawServer(t, Config{}, func(srv *Server) {
		srv.Of("/").OnEvent("relay", func(s *Socket, args Args, _ Ack) {
			s.Broadcast().Emit("relayed", args.Slice()...)
		})
	})
	listener := rs.open(tWebSocket)
	connect(t, listener, "/", "")
	var watchers []*healthy
	for _, tr := range transports {
		watchers = append(watchers, rs.healthy(tr))
	}

	// Polling: replaced, and relayed as valid UTF-8.
	pc := rs.open(tPolling)
	connect(t, pc, "/", "")
	require.NoError(t, pc.SendText("42[\"relay\",\"A\xffZ\",{\"k\xfe\":1}]"))
	for {
		f, err := listener.Next(5 * time.Second)
		require.NoError(t, err)
		if strings.HasPrefix(f.text, `42["relayed"`) {
			require.Equal(t, `42["relayed","A`+"\uFFFD"+`Z",{"k`+"\uFFFD"+`":1}]`, f.text)
			break
		}
	}
	echo(t, pc, 1, `"polling still connected"`)

	// WebSocket: the sender is closed with 1007, and nothing is relayed.
	wc := rs.open(tWebSocket)
	id := connect(t, wc, "/", "")
	require.NoError(t, wc.SendText("42[\"relay\",\"A\xffZ\"]"))
	_, err := wc.Next(5 * time.Second)
	require.ErrorIs(t, err, errClosed)
	require.Contains(t, err.Error(), "close code 1007")
	require.Equal(t, ReasonTransportError, rs.waitReason(id, 5*time.Second))
	// The listener is still connected, and got nothing meanwhile.
	require.NoError(t, listener.SendText(`422["echo","still here"]`))
	for {
		f, err := listener.Next(5 * time.Second)
		require.NoError(t, err)
		require.False(t, strings.HasPrefix(f.text, `42["relayed"`), "relayed %q", f.text)
		if f.text == `432["still here"]` {
			break
		}
	}
	for _, w := range watchers {
		w.check()
	}
}
