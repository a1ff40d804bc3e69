package engineio

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPollingPayloadBothWays(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil) // echo
	c := s.handshake()

	c.mustPost("4test1\x1e4test2\x1e4test3")
	assert.Equal(t, []string{"test1", "test2", "test3"}, s.rec.messages(c.sid))
	res := c.get()
	require.Equal(t, 200, res.status)
	assert.Equal(t, "text/plain; charset=UTF-8", res.header.Get("Content-Type"))
	assert.Equal(t, "4test1\x1e4test2\x1e4test3", res.body)

	// Binary both ways, mixed with text; the echo keeps text text and
	// binary binary.
	c.mustPost("4hello\x1ebAQIDBA==\x1eb\x1e4")
	assert.Equal(t, []string{"test1", "test2", "test3", "hello", "bin:01020304", "bin:", ""}, s.rec.messages(c.sid))
	assert.Equal(t, "4hello\x1ebAQIDBA==\x1eb\x1e4", c.get().body)

	// UTF-8 and a message that contains what looks like packet types.
	c.mustPost("4héllo ✓\x1e44\x1e41\x1e4b")
	assert.Equal(t, "4héllo ✓\x1e44\x1e41\x1e4b", c.get().body)

	// Server-side binary with every byte value.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	sess := s.srv.Session(c.sid)
	require.NoError(t, sess.Send(Packet{Data: all, Binary: true}, Packet{Data: []byte("4after")}))
	recs := c.getPackets(false)
	require.Len(t, recs, 2)
	assert.Equal(t, "b"+b64(all), recs[0])
	assert.Equal(t, "4after", recs[1])

	// noop and pong from the client are accepted and ignored, and so are
	// open and upgrade outside of an upgrade, as on the reference server.
	c.mustPost("6\x1e3\x1e0\x1e0{}\x1e5\x1e4x")
	assert.Equal(t, "4x", c.get().body)
	assert.Equal(t, 1, s.srv.Count())
}

func TestPollingGetWaitsForData(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	sess := s.srv.Session(c.sid)
	assert.False(t, sess.Writable())
	got := c.getPending()
	select {
	case res := <-got:
		t.Fatalf("GET returned early: %q", res.body)
	case <-time.After(50 * time.Millisecond):
	}
	require.NoError(t, sess.Send(Packet{Data: []byte("4late")}))
	res := <-got
	assert.Equal(t, "4late", res.body)
}

func TestPollingPostAnswer(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	res := c.post("4x")
	require.Equal(t, 200, res.status)
	assert.Equal(t, "ok", res.body)
	assert.Equal(t, "text/html; charset=UTF-8", res.header.Get("Content-Type"))
	assert.Equal(t, []string{"x"}, s.rec.messages(c.sid))
}

func TestHeartbeatPollingKeepsAlive(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 100 * time.Millisecond, PingTimeout: 400 * time.Millisecond}
	s := newTestServer(t, cfg, nil)
	c := s.handshake()
	start := time.Now()
	pings := 0
	for pings < 8 {
		recs := c.getPackets(true)
		for _, r := range recs {
			if r == "2" {
				pings++
			}
		}
		require.Equal(t, "2", recs[0], "the ping comes first")
	}
	// Eight rounds of 100 ms: well over pingInterval+pingTimeout.
	assert.GreaterOrEqual(t, time.Since(start), 750*time.Millisecond)
	assert.False(t, s.rec.isClosed(c.sid))
	c.mustPost("4alive")
	assert.Equal(t, []string{"alive"}, s.rec.messages(c.sid))
}

func TestHeartbeatPollingPingAlone(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 100 * time.Millisecond, PingTimeout: 200 * time.Millisecond}
	s := newTestServer(t, cfg, nil)
	c := s.handshake()
	start := time.Now()
	res := c.get()
	assert.Equal(t, "2", res.body, "a ping that waits for a GET goes alone")
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
}

func TestHeartbeatPollingTimeout(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}
	s := newTestServer(t, cfg, nil)

	// A client that never polls: the pong deadline runs from the moment the
	// ping is queued.
	c := s.handshake()
	start := time.Now()
	assert.Equal(t, ReasonPingTimeout, s.rec.waitClosed(t, c.sid, time.Second))
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 180*time.Millisecond)
	assert.Less(t, elapsed, 500*time.Millisecond)
	requireError(t, c.get(), 400, codeUnknownSID)
	requireError(t, c.post("3"), 400, codeUnknownSID)

	// A client that polls and receives the ping but never pongs.
	c = s.handshake()
	assert.Equal(t, "2", c.get().body)
	assert.Equal(t, ReasonPingTimeout, s.rec.waitClosed(t, c.sid, time.Second))
	requireError(t, c.get(), 400, codeUnknownSID)

	// The conformance scenario: handshake, then poll after exactly
	// pingInterval+pingTimeout... plus a margin.
	c = s.handshake()
	time.Sleep(250 * time.Millisecond)
	requireError(t, c.get(), 400, codeUnknownSID)
	assert.Equal(t, 0, s.srv.Count())
}

func TestClientPingClosesSession(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	res := c.post("2")
	assert.Equal(t, 400, res.status)
	assert.Equal(t, ReasonParseError, s.rec.waitClosed(t, c.sid, time.Second))
	requireError(t, c.get(), 400, codeUnknownSID)
}

func TestInvalidPayloadsCloseSession(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	for _, body := range []string{
		"abc",
		"",
		"\x1e\x1e",
		"\x1e",
		"4a\x1e",
		"4a\x1e\x1e4b",
		"b!!!",
		"bAQ=DBA==",
		"7",
		"9x",
		"2",
		"2probe",
		"4ok\x1eabc",
	} {
		t.Run(fmt.Sprintf("%q", body), func(t *testing.T) {
			s := s.with(t)
			c := s.handshake()
			res := c.post(body)
			assert.Equal(t, 400, res.status, "body %q", res.body)
			assert.Equal(t, ReasonParseError, s.rec.waitClosed(t, c.sid, time.Second))
			requireError(t, c.get(), 400, codeUnknownSID)
			switch body {
			case "4ok\x1eabc":
				// What came before the bad packet was delivered, in order.
				assert.Equal(t, []string{"ok"}, s.rec.messages(c.sid))
			case "4a\x1e", "4a\x1e\x1e4b":
				// So was what came before an empty packet, a separator at
				// the end included, as by the reference server.
				assert.Equal(t, []string{"a"}, s.rec.messages(c.sid))
			}
		})
	}
}

func TestCloseWhileGetWaits(t *testing.T) {
	t.Parallel()
	// A recorder that does not echo: an echo of "bye" may reach the
	// waiting GET before the close packet is read, as it may with the
	// reference server, and this test is about the close alone.
	s := newTestServer(t, quietConfig(), newRecorder())
	c := s.handshake()
	got := c.getPending()
	c.mustPost("4bye\x1e1\x1e4never")
	res := <-got
	assert.Equal(t, 200, res.status)
	assert.Equal(t, "6", res.body)
	assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, c.sid, time.Second))
	assert.Equal(t, []string{"bye"}, s.rec.messages(c.sid), "nothing after the close packet")
	requireError(t, c.get(), 400, codeUnknownSID)
}

// A client that sends its poll and the close packet together cannot know
// which the server reads first: a GET that comes just after the close is
// answered with a noop, once, and only then is the sid unknown.
func TestCloseBeforeGet(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	c.mustPost("1")
	assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, c.sid, time.Second))
	assert.Zero(t, s.srv.Count())
	res := c.get()
	assert.Equal(t, 200, res.status)
	assert.Equal(t, "6", res.body)
	requireError(t, c.get(), 400, codeUnknownSID)
}

func TestConcurrentGets(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	sess := s.srv.Session(c.sid)
	first := make(chan response, 1)
	go func() {
		res, _ := c.getCtx(context.Background())
		first <- res
	}()
	eventually(t, time.Second, sess.Writable, "first GET pending")
	requireError(t, c.get(), 400, codeBadRequest)
	res := <-first
	assert.Equal(t, 200, res.status)
	assert.Equal(t, "1", res.body)
	assert.Equal(t, ReasonTransportError, s.rec.waitClosed(t, c.sid, time.Second))
	assert.Nil(t, s.srv.Session(c.sid))
	requireError(t, c.get(), 400, codeUnknownSID)
}

// blockingBody is a request body that hands out its bytes and then blocks
// until released, to hold a POST open.
type blockingBody struct {
	data    io.Reader
	release chan struct{}
}

func (b *blockingBody) Read(p []byte) (int, error) {
	n, err := b.data.Read(p)
	if err == io.EOF {
		<-b.release
	}
	return n, err
}

func TestConcurrentPosts(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	body := &blockingBody{data: strings.NewReader("4slow"), release: make(chan struct{})}
	first := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.url+"?"+c.query(), body)
		req.ContentLength = -1 // chunked: the server cannot know it is done
		res, err := s.hc.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		first <- err
	}()
	eventually(t, time.Second, func() bool {
		s := s.srv.Session(c.sid)
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.posting
	}, "first POST in progress")
	res := c.post("4fast")
	requireError(t, res, 400, codeBadRequest)
	assert.Equal(t, ReasonTransportError, s.rec.waitClosed(t, c.sid, time.Second))
	close(body.release)
	<-first
}

func TestAbortedGetClosesSession(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)

	t.Run("context", func(t *testing.T) {
		s := s.with(t)
		c := s.handshake()
		sess := s.srv.Session(c.sid)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := c.getCtx(ctx)
			done <- err
		}()
		eventually(t, time.Second, sess.Writable, "GET pending")
		cancel()
		require.Error(t, <-done)
		assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, c.sid, time.Second))
		requireError(t, c.get(), 400, codeUnknownSID)
	})

	t.Run("tcp", func(t *testing.T) {
		s := s.with(t)
		c := s.handshake()
		sess := s.srv.Session(c.sid)
		conn := s.rawConn()
		fmt.Fprintf(conn, "GET /engine.io/?%s HTTP/1.1\r\nHost: x\r\n\r\n", c.query())
		eventually(t, time.Second, sess.Writable, "GET pending")
		conn.Close()
		assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, c.sid, time.Second))
	})
}

func TestOversizePost(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.MaxPayload = 100
	s := newTestServer(t, cfg, nil)

	t.Run("exactly max", func(t *testing.T) {
		s := s.with(t)
		c := s.handshake()
		c.mustPost("4" + strings.Repeat("x", 99))
		assert.Equal(t, 1, len(s.rec.messages(c.sid)))
	})

	t.Run("content-length", func(t *testing.T) {
		s := s.with(t)
		c := s.handshake()
		res := c.post("4" + strings.Repeat("x", 100))
		assert.Equal(t, 413, res.status)
		assert.Empty(t, res.body, "an empty 413, as the reference server answers")
		assert.Empty(t, res.header.Get("Content-Type"))
		assert.Equal(t, ReasonTransportError, s.rec.waitClosed(t, c.sid, time.Second))
		assert.Empty(t, s.rec.messages(c.sid), "nothing of an oversize payload is delivered")
		requireError(t, c.get(), 400, codeUnknownSID)
	})

	t.Run("content-length lies", func(t *testing.T) {
		s := s.with(t)
		// Declares a huge body and sends a few bytes: refused on the header
		// alone, without waiting for the body.
		c := s.handshake()
		conn := s.rawConn()
		fmt.Fprintf(conn, "POST /engine.io/?%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n4abc", c.query())
		res := readResponse(t, conn, 2*time.Second)
		assert.Equal(t, 413, res.status)
		assert.Empty(t, res.body)
		assert.Equal(t, ReasonTransportError, s.rec.waitClosed(t, c.sid, time.Second))
	})

	t.Run("chunked", func(t *testing.T) {
		s := s.with(t)
		c := s.handshake()
		r, w := io.Pipe()
		go func() {
			for i := 0; i < 20; i++ {
				if _, err := w.Write([]byte("4xxxxxxxxx")); err != nil {
					return
				}
			}
			w.Close()
		}()
		req, err := http.NewRequest("POST", s.url+"?"+c.query(), r)
		require.NoError(t, err)
		res, err := s.hc.Do(req)
		if err == nil {
			assert.Equal(t, 413, res.StatusCode)
			res.Body.Close()
		}
		r.CloseWithError(io.ErrClosedPipe)
		assert.Equal(t, ReasonTransportError, s.rec.waitClosed(t, c.sid, time.Second))
		assert.Empty(t, s.rec.messages(c.sid))
	})

	t.Run("chunked endless", func(t *testing.T) {
		s := s.with(t)
		// A body that never ends is cut off at maxPayload.
		c := s.handshake()
		conn := s.rawConn()
		fmt.Fprintf(conn, "POST /engine.io/?%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", c.query())
		go func() {
			for i := 0; i < 1000; i++ {
				if _, err := fmt.Fprintf(conn, "a\r\n4xxxxxxxxx\r\n"); err != nil {
					return
				}
			}
		}()
		res := readResponse(t, conn, 2*time.Second)
		assert.Equal(t, 413, res.status)
		assert.Equal(t, ReasonTransportError, s.rec.waitClosed(t, c.sid, time.Second))
	})
}

func TestPollingAfterClose(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	s.srv.Session(c.sid).closeNow("test", false)
	requireError(t, c.get(), 400, codeUnknownSID)
	requireError(t, c.post("4x"), 400, codeUnknownSID)
	_, status, err := s.dialWS("EIO=4&transport=websocket&sid="+c.sid, testOrigin)
	require.Error(t, err)
	assert.Equal(t, 400, status)
}

// Many GET/POST rounds from a few goroutines, while the server sends: every
// message arrives, in order.
func TestPollingManyRounds(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := s.handshake()
			for i := 0; i < 50; i++ {
				c.mustPost(fmt.Sprintf("4m%d\x1e4n%d", i, i))
			}
			got := c.collect(100, 5*time.Second)
			for i := 0; i < 50; i++ {
				assert.Equal(t, fmt.Sprintf("4m%d", i), got[2*i])
				assert.Equal(t, fmt.Sprintf("4n%d", i), got[2*i+1])
			}
		}()
	}
	wg.Wait()
}

// A long poll waits up to PingInterval, longer than the http.Server's
// WriteTimeout may be: the response is still written.
func TestLongPollOutlivesWriteTimeout(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond}
	s := newTestServerHTTP(t, cfg, nil, func(ts *httptest.Server) {
		ts.Config.WriteTimeout = 100 * time.Millisecond
	})
	c := s.handshake()
	for i := 0; i < 3; i++ {
		res, err := c.getCtx(context.Background())
		require.NoError(t, err, "poll %d", i)
		require.Equal(t, "2", res.body)
		c.mustPost("3")
	}
	sess := s.srv.Session(c.sid)
	go func() {
		time.Sleep(200 * time.Millisecond)
		sess.Send(Packet{Data: []byte("4late")})
	}()
	res, err := c.getCtx(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "4late", res.body)
}

// A POST whose body never comes holds a goroutine and a connection: when
// the session closes (here by ping timeout), the POST is released too.
func TestStalledPostReleasedOnClose(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}
	s := newTestServer(t, cfg, nil)
	c := s.handshake()
	conn := s.rawConn()
	fmt.Fprintf(conn, "POST /engine.io/?%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4abc", c.query())
	assert.Equal(t, ReasonPingTimeout, s.rec.waitClosed(t, c.sid, 2*time.Second))
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the POST is still stuck after the session closed")
	res.Body.Close()
	assert.Equal(t, 400, res.StatusCode)
	assert.Empty(t, s.rec.messages(c.sid))
}

// A request that arrives once the pong deadline has passed finds the
// session dead even if the deadline's timer has not fired yet (the
// official suite polls exactly pingInterval+pingTimeout after the
// handshake).
func TestPongDeadlineBeforeItsTimer(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, quietConfig(), nil)
			s = s.with(t)
			c := s.handshake()
			sess := s.srv.Session(c.sid)
			sess.mu.Lock()
			sess.awaitingPong = true
			sess.pongBy = time.Now().Add(-time.Millisecond) // the timer is still far off
			sess.mu.Unlock()
			var res response
			if method == "GET" {
				res = c.get()
			} else {
				res = c.post("4late")
			}
			requireError(t, res, 400, codeUnknownSID)
			assert.Equal(t, ReasonPingTimeout, s.rec.waitClosed(t, c.sid, time.Second))
			assert.Empty(t, s.rec.messages(c.sid))
		})
	}
}

// A POST with Content-Type application/octet-stream (how a v3 client sends
// binary payloads) is refused and closes the session, as on the reference
// server, even when its body would be a valid v4 payload.
func TestOctetStreamPostClosesSession(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	c.mustPost("4before")
	res := s.mustDo("POST", c.query(), "4hello", map[string]string{"Content-Type": "application/octet-stream"})
	requireError(t, res, 400, codeBadRequest)
	assert.Equal(t, ReasonParseError, s.rec.waitClosed(t, c.sid, time.Second))
	assert.Equal(t, []string{"before"}, s.rec.messages(c.sid))
	requireError(t, c.get(), 400, codeUnknownSID)

	// Other content types are text, as the reference server reads them.
	c = s.handshake()
	for _, ct := range []string{"text/plain;charset=UTF-8", "application/octet-stream; charset=UTF-8", "application/json", ""} {
		res := s.mustDo("POST", c.query(), "4"+ct, map[string]string{"Content-Type": ct})
		require.Equal(t, 200, res.status, "Content-Type %q: %q", ct, res.body)
	}
	assert.Len(t, s.rec.messages(c.sid), 4)
}
