package socketio

// A raw-frame test client for the hardening tests (hostile, limits,
// shutdown, fuzz, soak): it speaks Engine.IO by hand over real TCP, HTTP
// long-polling through net/http and WebSocket through x/net's dialer, so
// that a test can send any bytes at all and see exactly what the server
// answers (HTTP status, close frame code, packets).

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirekit/socketio/internal/wstest"
	"go.uber.org/goleak"
	"golang.org/x/net/websocket"
)

// quietTimings keep heartbeats out of the way of tests not about them.
func quietTimings(cfg Config) Config {
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 10 * time.Second
	}
	if cfg.PingTimeout == 0 {
		cfg.PingTimeout = 5 * time.Second
	}
	if cfg.UpgradeTimeout == 0 {
		cfg.UpgradeTimeout = 2 * time.Second
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return cfg
}

// rawServer is a socketio.Server on an httptest server, with an "echo"
// event on "/" (acknowledged with its arguments, else emitted back), and a
// record of every disconnect reason by socket id and of OnError reports.
type rawServer struct {
	t   testing.TB
	srv *Server
	ts  *httptest.Server
	url string // http://127.0.0.1:port/socket.io/
	hc  *http.Client

	// untracked: the test closes every WebSocket it opens itself (a soak
	// opens thousands: cleanups would keep them all in memory).
	untracked bool

	mu      sync.Mutex
	reasons map[string]chan string // socket id -> its disconnect reason
	errs    []error
}

// newRawServer starts a server. setup, if not nil, runs before it serves.
// Cleanup shuts it down, checks that no session is left, and that the
// test's goroutines are gone (goleak, against the goroutines alive when
// newRawServer was called: tests using it must not be parallel).
func newRawServer(t testing.TB, cfg Config, setup func(*Server)) *rawServer {
	t.Helper()
	return newRawServerOpts(t, cfg, setup, serverOpts{})
}

// serverOpts change the test server around the Server.
type serverOpts struct {
	// wrap wraps the Server's handler in middleware, to watch requests.
	wrap func(http.Handler) http.Handler
	// sendBuffer, when set, fixes the kernel send buffer of every accepted
	// connection (no autotuning): a slow reader then holds back the
	// server's writes after that many bytes, not after megabytes.
	sendBuffer int
}

// newRawServerOpts is newRawServer with options.
func newRawServerOpts(t testing.TB, cfg Config, setup func(*Server), opts serverOpts) *rawServer {
	t.Helper()
	base := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if t.Failed() {
			return // the leak would be a symptom; keep the report short
		}
		goleak.VerifyNone(t, base)
	})
	rs := &rawServer{t: t, reasons: make(map[string]chan string)}
	userErr := cfg.OnError
	cfg.OnError = func(s *Socket, err error) {
		rs.mu.Lock()
		rs.errs = append(rs.errs, err)
		rs.mu.Unlock()
		if userErr != nil {
			userErr(s, err)
		}
	}
	rs.srv = New(quietTimings(cfg))
	ns := rs.srv.Of("/")
	ns.OnEvent("echo", func(s *Socket, args Args, ack Ack) {
		if ack != nil {
			ack(args.Slice()...)
			return
		}
		s.Emit("echo", args.Slice()...)
	})
	ns.OnDisconnect(func(s *Socket, reason string) { rs.reason(s.ID()) <- reason })
	if setup != nil {
		setup(rs.srv)
	}
	var h http.Handler = rs.srv
	if opts.wrap != nil {
		h = opts.wrap(h)
	}
	rs.ts = httptest.NewUnstartedServer(h)
	if opts.sendBuffer > 0 {
		rs.ts.Listener = sendBufferListener{rs.ts.Listener, opts.sendBuffer}
	}
	rs.ts.Start()
	rs.url = rs.ts.URL + DefaultPath
	rs.hc = rs.ts.Client()
	if cfg.Path != "" {
		rs.url = rs.ts.URL + rs.srv.cfg.Path
	}
	t.Cleanup(func() {
		// Short: idle polling clients never collect their goodbye, and
		// Shutdown itself is tested elsewhere.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		rs.srv.Shutdown(ctx)
		cancel()
		rs.ts.CloseClientConnections()
		rs.ts.Close()
		rs.hc.CloseIdleConnections()
		if n := rs.srv.ConnectionCount(); n != 0 {
			t.Errorf("%d connections left after Shutdown", n)
		}
	})
	return rs
}

type sendBufferListener struct {
	net.Listener
	size int
}

func (l sendBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(l.size)
	}
	return c, err
}

// reason returns the channel that receives the disconnect reason of socket
// id (buffered: one reason per socket).
func (rs *rawServer) reason(id string) chan string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	ch := rs.reasons[id]
	if ch == nil {
		ch = make(chan string, 1)
		rs.reasons[id] = ch
	}
	return ch
}

// waitReason waits for the disconnect of socket id and returns its reason.
func (rs *rawServer) waitReason(id string, within time.Duration) string {
	rs.t.Helper()
	select {
	case r := <-rs.reason(id):
		return r
	case <-time.After(within):
		rs.t.Fatalf("socket %s not disconnected within %v", id, within)
		return ""
	}
}

func (rs *rawServer) errors() []error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]error(nil), rs.errs...)
}

// waitConns waits until the server holds n connections.
func (rs *rawServer) waitConns(n int, within time.Duration) {
	rs.t.Helper()
	eventually(rs.t, within, func() bool { return rs.srv.ConnectionCount() == n },
		"connection count %d, want %d", func() int { return rs.srv.ConnectionCount() }, n)
}

type httpResult struct {
	status int
	body   string
	header http.Header
}

// do sends one HTTP request to the endpoint; query is the raw query string.
func (rs *rawServer) do(ctx context.Context, method, query string, body io.Reader, hdr http.Header) (httpResult, error) {
	req, err := http.NewRequestWithContext(ctx, method, rs.url+"?"+query, body)
	if err != nil {
		return httpResult{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := rs.hc.Do(req)
	if err != nil {
		return httpResult{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return httpResult{}, err
	}
	return httpResult{res.StatusCode, string(b), res.Header}, nil
}

func (rs *rawServer) mustDo(method, query, body string, hdr http.Header) httpResult {
	rs.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	res, err := rs.do(context.Background(), method, query, r, hdr)
	require.NoError(rs.t, err)
	return res
}

// engineError checks an Engine.IO error response and returns its code.
func engineError(t testing.TB, res httpResult, status int) int {
	t.Helper()
	require.Equal(t, status, res.status, "body %q", res.body)
	var e struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.body), &e), "body %q", res.body)
	require.NotNil(t, e.Code, "body %q", res.body)
	return *e.Code
}

// tcp opens a plain TCP connection to the server, for requests http.Client
// will not make.
func (rs *rawServer) tcp() net.Conn {
	rs.t.Helper()
	c, err := net.DialTimeout("tcp", rs.ts.Listener.Addr().String(), 5*time.Second)
	require.NoError(rs.t, err)
	rs.t.Cleanup(func() { c.Close() })
	return c
}

// rawHTTP writes req (a complete raw HTTP/1.1 request) on a new connection
// and reads the response.
func (rs *rawServer) rawHTTP(req string, timeout time.Duration) (httpResult, error) {
	c := rs.tcp()
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, req); err != nil {
		return httpResult{}, err
	}
	return readHTTP(c)
}

func readHTTP(c net.Conn) (httpResult, error) {
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return httpResult{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return httpResult{res.StatusCode, string(b), res.Header}, err
}

// ---------------------------------------------------------------------------
// Engine.IO clients over either transport

const (
	tPolling   = "polling"
	tWebSocket = "websocket"
)

var transports = []string{tPolling, tWebSocket}

// eioClient is one raw Engine.IO session. Text packets are given and
// returned with their Engine.IO type byte ("40", "42[...]"); binary
// messages without any ("b..." over polling is handled here).
type eioClient interface {
	SID() string
	// SendText sends packets: over polling in one POST payload joined by
	// 0x1e, over WebSocket one text frame each.
	SendText(pkts ...string) error
	// SendBinary sends a binary message.
	SendBinary(b []byte) error
	// Next returns the next packet from the server, answering pings; an
	// error when the session is closed (errClosed) or on timeout.
	Next(timeout time.Duration) (frame, error)
	// Close closes the transport without saying goodbye.
	Close()
}

type frame struct {
	text   string
	binary []byte
	isBin  bool
}

func (f frame) String() string {
	if f.isBin {
		return fmt.Sprintf("bin:%x", f.binary)
	}
	return f.text
}

// errClosed: the server closed the session.
var errClosed = errors.New("session closed by the server")

// open opens a session over transport and fails the test if it cannot.
func (rs *rawServer) open(transport string) eioClient {
	rs.t.Helper()
	if transport == tWebSocket {
		c, err := rs.openWS("")
		require.NoError(rs.t, err)
		return c
	}
	c, err := rs.openPolling()
	require.NoError(rs.t, err)
	return c
}

// ---- polling

type pollClient struct {
	rs      *rawServer
	sid     string
	postMu  sync.Mutex // one POST at a time, as the protocol requires
	mu      sync.Mutex
	pending []frame
	closed  bool
}

func (rs *rawServer) openPolling() (*pollClient, error) {
	res, err := rs.do(context.Background(), "GET", "EIO=4&transport=polling", nil, nil)
	if err != nil {
		return nil, err
	}
	if res.status != 200 || !strings.HasPrefix(res.body, "0{") {
		return nil, fmt.Errorf("handshake: %d %q", res.status, res.body)
	}
	var op struct{ SID string }
	if err := json.Unmarshal([]byte(res.body[1:]), &op); err != nil {
		return nil, err
	}
	return &pollClient{rs: rs, sid: op.SID}, nil
}

func (c *pollClient) SID() string { return c.sid }

func (c *pollClient) query() string { return "EIO=4&transport=polling&sid=" + c.sid }

// Post sends a raw body and returns the response.
func (c *pollClient) Post(body string) (httpResult, error) {
	c.postMu.Lock()
	defer c.postMu.Unlock()
	return c.rs.do(context.Background(), "POST", c.query(), strings.NewReader(body), nil)
}

func (c *pollClient) post(body string) error {
	res, err := c.Post(body)
	if err != nil {
		return err
	}
	if res.status != 200 {
		return fmt.Errorf("POST: %d %q: %w", res.status, res.body, errClosed)
	}
	return nil
}

func (c *pollClient) SendText(pkts ...string) error {
	return c.post(strings.Join(pkts, "\x1e"))
}

func (c *pollClient) SendBinary(b []byte) error {
	return c.post("b" + base64.StdEncoding.EncodeToString(b))
}

func (c *pollClient) Next(timeout time.Duration) (frame, error) {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		if len(c.pending) > 0 {
			f := c.pending[0]
			c.pending = c.pending[1:]
			c.mu.Unlock()
			return f, nil
		}
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return frame{}, errClosed
		}
		if time.Now().After(deadline) {
			return frame{}, fmt.Errorf("no packet within %v", timeout)
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		res, err := c.rs.do(ctx, "GET", c.query(), nil, nil)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				// An aborted GET closes the session: the protocol says so.
				c.mu.Lock()
				c.closed = true
				c.mu.Unlock()
				return frame{}, fmt.Errorf("no packet within %v (GET aborted)", timeout)
			}
			return frame{}, err
		}
		if res.status != 200 {
			c.mu.Lock()
			c.closed = true
			c.mu.Unlock()
			return frame{}, fmt.Errorf("GET: %d %q: %w", res.status, res.body, errClosed)
		}
		for _, rec := range strings.Split(res.body, "\x1e") {
			switch {
			case rec == "2":
				if err := c.post("3"); err != nil {
					return frame{}, err
				}
			case rec == "6":
			case rec == "1":
				c.mu.Lock()
				c.closed = true
				c.mu.Unlock()
			case strings.HasPrefix(rec, "b"):
				b, err := base64.StdEncoding.DecodeString(rec[1:])
				if err != nil {
					return frame{}, fmt.Errorf("bad base64 from server: %q", rec)
				}
				c.mu.Lock()
				c.pending = append(c.pending, frame{binary: b, isBin: true})
				c.mu.Unlock()
			default:
				c.mu.Lock()
				c.pending = append(c.pending, frame{text: rec})
				c.mu.Unlock()
			}
		}
	}
}

func (c *pollClient) Close() {}

// ---- websocket

// recConn records what the server sends (see wstest.RecConn).
type recConn = wstest.RecConn

type wsClient struct {
	sid string
	ws  *websocket.Conn
	rc  *recConn
}

var wsCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		f := v.(frame)
		if f.isBin {
			return f.binary, websocket.BinaryFrame, nil
		}
		return []byte(f.text), websocket.TextFrame, nil
	},
	Unmarshal: func(data []byte, payloadType byte, v any) error {
		f := v.(*frame)
		if payloadType == websocket.BinaryFrame {
			*f = frame{binary: data, isBin: true}
		} else {
			*f = frame{text: string(data)}
		}
		return nil
	},
}

// dialWS opens a WebSocket with the raw query and Origin (the server's own
// if ""; x/net always sends one). A refused handshake returns its HTTP
// status.
func (rs *rawServer) dialWS(query, origin string) (*wsClient, int, error) {
	if origin == "" {
		origin = rs.ts.URL
	}
	cfg, err := websocket.NewConfig("ws"+strings.TrimPrefix(rs.url, "http")+"?"+query, origin)
	if err != nil {
		return nil, 0, err
	}
	conn, err := net.DialTimeout("tcp", rs.ts.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		return nil, 0, err
	}
	rc := &recConn{Conn: conn}
	rc.SetDeadline(time.Now().Add(5 * time.Second))
	ws, err := websocket.NewClient(cfg, rc)
	if err != nil {
		conn.Close()
		return nil, rc.Status(), err
	}
	rc.SetDeadline(time.Time{})
	if !rs.untracked {
		rs.t.Cleanup(func() { ws.Close() })
	}
	return &wsClient{ws: ws, rc: rc}, rc.Status(), nil
}

// openWS opens a WebSocket-only session (with an Origin header if origin is
// set) and reads its open packet.
func (rs *rawServer) openWS(origin string) (*wsClient, error) {
	c, status, err := rs.dialWS("EIO=4&transport=websocket", origin)
	if err != nil {
		return nil, fmt.Errorf("dial: status %d: %w", status, err)
	}
	f, err := c.Next(5 * time.Second)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(f.text, "0{") {
		return nil, fmt.Errorf("open packet %q", f.text)
	}
	var op struct{ SID string }
	if err := json.Unmarshal([]byte(f.text[1:]), &op); err != nil {
		return nil, err
	}
	c.sid = op.SID
	return c, nil
}

func (c *wsClient) SID() string { return c.sid }

func (c *wsClient) SendText(pkts ...string) error {
	for _, p := range pkts {
		c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := wsCodec.Send(c.ws, frame{text: p}); err != nil {
			return err
		}
	}
	return nil
}

func (c *wsClient) SendBinary(b []byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return wsCodec.Send(c.ws, frame{binary: b, isBin: true})
}

func (c *wsClient) Next(timeout time.Duration) (frame, error) {
	deadline := time.Now().Add(timeout)
	for {
		c.ws.SetReadDeadline(deadline)
		var f frame
		if err := wsCodec.Receive(c.ws, &f); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return frame{}, fmt.Errorf("no packet within %v", timeout)
			}
			return frame{}, fmt.Errorf("%w (%v, close code %d)", errClosed, err, c.rc.CloseCode())
		}
		if !f.isBin && f.text == "2" {
			c.SendText("3")
			continue
		}
		return f, nil
	}
}

func (c *wsClient) Close() { c.ws.Close() }

// writeRaw writes bytes straight to the TCP connection: hand-made frames.
func (c *wsClient) writeRaw(b []byte) error {
	c.rc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.rc.Conn.Write(b)
	return err
}

const noLength = ^uint64(0)

// maskedFrame builds a client frame (masked, as clients must) with the
// given first byte (FIN and opcode) and payload; length overrides the
// length written in the header unless it is noLength.
func maskedFrame(b0 byte, payload []byte, length uint64) []byte {
	if length == noLength {
		length = uint64(len(payload))
	}
	out := []byte{b0}
	switch {
	case length <= 125:
		out = append(out, 0x80|byte(length))
	case length < 1<<16:
		out = append(out, 0x80|126, byte(length>>8), byte(length))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, length)
	}
	key := []byte{1, 2, 3, 4}
	out = append(out, key...)
	for i, b := range payload {
		out = append(out, b^key[i%4])
	}
	return out
}

// ---------------------------------------------------------------------------
// Socket.IO on top

// connect joins namespace nsp ("/" or "/admin") with an optional auth
// payload and returns the socket id from the server's CONNECT reply.
func connect(t testing.TB, c eioClient, nsp string, auth string) string {
	t.Helper()
	pkt := "40"
	if nsp != "/" {
		pkt += nsp + ","
	}
	require.NoError(t, c.SendText(pkt+auth))
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	require.True(t, strings.HasPrefix(f.text, prefix+"{"), "CONNECT reply %q", f.text)
	var r struct{ SID string }
	require.NoError(t, json.Unmarshal([]byte(f.text[len(prefix):]), &r))
	require.NotEmpty(t, r.SID)
	return r.SID
}

// echo checks that c's socket on "/" still works: an acknowledged echo
// comes back with the same payload.
func echo(t testing.TB, c eioClient, id int, payload string) {
	t.Helper()
	require.NoError(t, c.SendText(fmt.Sprintf(`42%d["echo",%s]`, id, payload)))
	want := fmt.Sprintf(`43%d[%s]`, id, payload)
	for {
		f, err := c.Next(5 * time.Second)
		require.NoError(t, err, "waiting for %q", want)
		if f.text == want {
			return
		}
	}
}

// waitClosed reads until the server closes c, and fails the test if it
// does not within d.
func waitClosed(t testing.TB, c eioClient, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, err := c.Next(time.Until(deadline))
		if errors.Is(err, errClosed) {
			return
		}
		require.False(t, err != nil && time.Now().After(deadline), "session still open after %v", d)
		if err != nil && !strings.Contains(err.Error(), "within") {
			return // the connection broke: closed too
		}
	}
}

// healthy is a client connected before an attack and checked after it:
// the attack must not have disturbed it. A goroutine reads it all the time
// (answering pings, skipping broadcasts), so that it stays healthy under
// short heartbeats and heavy traffic.
type healthy struct {
	t    testing.TB
	c    eioClient
	id   int
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	want string        // the packet check waits for
	got  chan struct{} // closed when it arrives
	err  error         // why the session ended: read it once done is closed
}

func (rs *rawServer) healthy(transport string) *healthy {
	rs.t.Helper()
	c := rs.open(transport)
	connect(rs.t, c, "/", "")
	h := &healthy{t: rs.t, c: c, stop: make(chan struct{}), done: make(chan struct{})}
	go h.pump()
	// Stopped before the server shuts down, so the check of goroutines
	// after it does not see the pump.
	rs.t.Cleanup(func() {
		close(h.stop)
		h.c.Close()
		if pc, ok := h.c.(*pollClient); ok {
			pc.SendText("1")
		}
		<-h.done
	})
	h.check()
	return h
}

func (h *healthy) pump() {
	defer close(h.done)
	for {
		select {
		case <-h.stop:
			return
		default:
		}
		f, err := h.c.Next(time.Minute) // polling: an aborted GET would close the session
		if errors.Is(err, errClosed) {
			h.err = err // before done closes
			return
		}
		if err != nil {
			continue // a timeout, or a broken GET: try again
		}
		h.mu.Lock()
		if h.got != nil && f.text == h.want {
			close(h.got)
			h.got = nil
		}
		h.mu.Unlock()
	}
}

// check sends an acknowledged echo and waits for its answer.
func (h *healthy) check() {
	h.t.Helper()
	h.id++
	payload := fmt.Sprintf(`{"n":%d,"s":"still here"}`, h.id)
	got := make(chan struct{})
	h.mu.Lock()
	h.want, h.got = fmt.Sprintf(`43%d[%s]`, h.id, payload), got
	h.mu.Unlock()
	require.NoError(h.t, h.c.SendText(fmt.Sprintf(`42%d["echo",%s]`, h.id, payload)))
	select {
	case <-got:
	case <-h.done:
		h.t.Fatalf("healthy client closed while waiting for its echo %d: %v", h.id, h.err)
	case <-time.After(5 * time.Second):
		h.t.Fatalf("healthy client: no echo %d within 5s", h.id)
	}
}

// eventually polls cond until it holds; msg may contain one %v taking a
// func() int evaluated at failure, or plain args.
func eventually(t testing.TB, within time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			for i, a := range args {
				if f, ok := a.(func() int); ok {
					args[i] = f()
				}
			}
			t.Fatalf("not within %v: "+msg, append([]any{within}, args...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
