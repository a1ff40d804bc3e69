package engineio

// A small raw Engine.IO client and a recording Handler for the tests of this
// package. Everything talks to a real Server through httptest, over real
// TCP connections.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirekit/socketio/internal/wstest"
	"golang.org/x/net/websocket"
)

// fastConfig keeps heartbeats short so that timing tests stay fast.
func fastConfig() Config {
	return Config{
		PingInterval:   200 * time.Millisecond,
		PingTimeout:    200 * time.Millisecond,
		UpgradeTimeout: 1 * time.Second,
	}
}

// quietConfig has heartbeats slow enough that they never interfere with a
// test that is not about them.
func quietConfig() Config {
	return Config{
		PingInterval:   20 * time.Second,
		PingTimeout:    10 * time.Second,
		UpgradeTimeout: 2 * time.Second,
	}
}

// ---------------------------------------------------------------------------
// Recording handler

type sessRecord struct {
	events  []string // "open", "msg:<text>", "bin:<hex>", "close:<reason>"
	msgs    []string // text messages, binary ones as "bin:<hex>"
	closed  chan struct{}
	reason  string
	inCall  int
	nClosed int
}

// recorder is a Handler that records every callback per session and notes
// any breach of the Handler contract: a callback for an unknown session,
// anything after OnClose, OnClose twice, two callbacks at once.
type recorder struct {
	echo      bool // send every message back
	onOpen    func(*Session)
	onMessage func(s *Session, data []byte, binary bool)
	onClose   func(s *Session, reason string)

	mu         sync.Mutex
	recs       map[string]*sessRecord
	violations []string
	opens      atomic.Int64
	closes     atomic.Int64
}

func newRecorder() *recorder { return &recorder{recs: make(map[string]*sessRecord)} }

func (r *recorder) violate(format string, args ...any) {
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
}

func (r *recorder) enter(s *Session, what string) *sessRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.recs[s.ID()]
	if rec == nil {
		r.violate("%s: %s for a session never opened", s.ID(), what)
		rec = &sessRecord{closed: make(chan struct{})}
		r.recs[s.ID()] = rec
	}
	if rec.nClosed > 0 {
		r.violate("%s: %s after OnClose(%q)", s.ID(), what, rec.reason)
	}
	if rec.inCall > 0 {
		r.violate("%s: %s while another callback runs", s.ID(), what)
	}
	rec.inCall++
	rec.events = append(rec.events, what)
	return rec
}

func (r *recorder) leave(rec *sessRecord) {
	r.mu.Lock()
	rec.inCall--
	r.mu.Unlock()
}

func (r *recorder) OnOpen(s *Session) {
	r.opens.Add(1)
	r.mu.Lock()
	if r.recs[s.ID()] != nil {
		r.violate("%s: OnOpen twice", s.ID())
	}
	rec := &sessRecord{closed: make(chan struct{}), inCall: 1, events: []string{"open"}}
	r.recs[s.ID()] = rec
	r.mu.Unlock()
	if r.onOpen != nil {
		r.onOpen(s)
	}
	r.leave(rec)
}

func (r *recorder) OnMessage(s *Session, data []byte, bin bool) {
	m := "msg:" + string(data)
	if bin {
		m = fmt.Sprintf("bin:%x", data)
	}
	rec := r.enter(s, m)
	r.mu.Lock()
	rec.msgs = append(rec.msgs, strings.TrimPrefix(m, "msg:"))
	r.mu.Unlock()
	if r.echo {
		if bin {
			s.Send(Packet{Data: data, Binary: true})
		} else {
			s.Send(Packet{Data: append([]byte{TypeMessage}, data...)})
		}
	}
	if r.onMessage != nil {
		r.onMessage(s, data, bin)
	}
	r.leave(rec)
}

func (r *recorder) OnClose(s *Session, reason string) {
	defer r.closes.Add(1) // last: verify waits on it
	if s.srv.Session(s.ID()) == s {
		r.mu.Lock()
		r.violate("%s: OnClose while still registered", s.ID())
		r.mu.Unlock()
	}
	rec := r.enter(s, "close:"+reason)
	r.mu.Lock()
	rec.nClosed++
	if rec.nClosed == 1 {
		rec.reason = reason
		close(rec.closed)
	}
	r.mu.Unlock()
	if r.onClose != nil {
		r.onClose(s, reason)
	}
	r.leave(rec)
}

func (r *recorder) record(sid string) *sessRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recs[sid]
}

// waitClosed waits for OnClose of sid and returns its reason.
func (r *recorder) waitClosed(t testing.TB, sid string, within time.Duration) string {
	t.Helper()
	rec := r.record(sid)
	require.NotNil(t, rec, "session %s never opened", sid)
	select {
	case <-rec.closed:
	case <-time.After(within):
		t.Fatalf("session %s not closed within %v", sid, within)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return rec.reason
}

func (r *recorder) isClosed(sid string) bool {
	rec := r.record(sid)
	if rec == nil {
		return false
	}
	select {
	case <-rec.closed:
		return true
	default:
		return false
	}
}

// messages returns the messages received so far on sid.
func (r *recorder) messages(sid string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec := r.recs[sid]; rec != nil {
		return append([]string(nil), rec.msgs...)
	}
	return nil
}

func (r *recorder) events(sid string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec := r.recs[sid]; rec != nil {
		return append([]string(nil), rec.events...)
	}
	return nil
}

// waitMessages waits until sid has received n messages.
func (r *recorder) waitMessages(t testing.TB, sid string, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := r.messages(sid)
		if len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s: %d messages after %v, want %d: %q", sid, len(m), within, n, m)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// verify checks the Handler contract over everything recorded: every
// session opened was closed exactly once, and nothing broke the order.
func (r *recorder) verify(t testing.TB) {
	t.Helper()
	// OnClose may still be on its way when Shutdown returns: one left to a
	// callback in progress, or run on its own goroutine.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && r.opens.Load() != r.closes.Load() {
		time.Sleep(2 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.violations {
		t.Errorf("handler contract: %s", v)
	}
	for sid, rec := range r.recs {
		if rec.nClosed != 1 {
			t.Errorf("session %s: OnClose called %d times; events %q", sid, rec.nClosed, rec.events)
		}
	}
}

// ---------------------------------------------------------------------------
// Test server

type testServer struct {
	t   testing.TB
	srv *Server
	rec *recorder
	ts  *httptest.Server
	url string // http://127.0.0.1:port/engine.io/
	hc  *http.Client
}

// newTestServer serves an Engine.IO server on /engine.io/ of an httptest
// server. At cleanup every session is closed, the HTTP server stopped, and
// the recorder's contract checked.
func newTestServer(t testing.TB, cfg Config, rec *recorder) *testServer {
	t.Helper()
	return newTestServerHTTP(t, cfg, rec, nil)
}

// newTestServerHTTP is newTestServer with a hook to configure the
// server (timeouts, listener) before it starts.
func newTestServerHTTP(t testing.TB, cfg Config, rec *recorder, configure func(*httptest.Server)) *testServer {
	t.Helper()
	if rec == nil {
		rec = newRecorder()
		rec.echo = true
	}
	return newTestServerFor(t, cfg, rec, rec, configure)
}

// newTestServerFor is newTestServerHTTP with a handler h that reports to
// rec (rec itself, or a wrapper).
func newTestServerFor(t testing.TB, cfg Config, rec *recorder, h Handler, configure func(*httptest.Server)) *testServer {
	t.Helper()
	srv := NewServer(cfg, h)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	ts := httptest.NewUnstartedServer(mux)
	if configure != nil {
		configure(ts)
	}
	ts.Start()
	s := &testServer{t: t, srv: srv, rec: rec, ts: ts, url: ts.URL + "/engine.io/", hc: ts.Client()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		srv.Shutdown(ctx)
		cancel()
		ts.CloseClientConnections()
		ts.Close()
		if srv.Count() != 0 {
			t.Errorf("%d sessions left after Shutdown", srv.Count())
		}
		rec.verify(t)
	})
	return s
}

// with returns a copy of s whose helpers report to t (a subtest).
func (s *testServer) with(t testing.TB) *testServer {
	c := *s
	c.t = t
	return &c
}

type response struct {
	status int
	body   string
	header http.Header
}

// do sends one HTTP request to the Engine.IO endpoint; query is the raw query.
func (s *testServer) do(ctx context.Context, method, query string, body io.Reader, hdr map[string]string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+"?"+query, body)
	if err != nil {
		return response{}, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := s.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{res.StatusCode, string(b), res.Header}, nil
}

func (s *testServer) mustDo(method, query, body string, hdr map[string]string) response {
	s.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	res, err := s.do(context.Background(), method, query, r, hdr)
	require.NoError(s.t, err)
	return res
}

// requireError checks an Engine.IO error response.
func requireError(t testing.TB, res response, status, code int) {
	t.Helper()
	require.Equal(t, status, res.status, "body %q", res.body)
	require.Equal(t, "application/json", res.header.Get("Content-Type"))
	var e struct {
		Code    *int    `json:"code"`
		Message *string `json:"message"`
	}
	dec := json.NewDecoder(strings.NewReader(res.body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&e), "body %q", res.body)
	require.NotNil(t, e.Code, "body %q", res.body)
	require.NotNil(t, e.Message, "body %q", res.body)
	require.Equal(t, code, *e.Code, "body %q", res.body)
	if code < len(codeMessages) && code != codeForbidden {
		require.Equal(t, codeMessages[code], *e.Message)
	}
}

// ---------------------------------------------------------------------------
// Open packet and payloads

type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// parseOpen parses an open packet and insists on exactly its five keys.
func parseOpen(t testing.TB, body string) openPacket {
	t.Helper()
	require.True(t, strings.HasPrefix(body, "0{"), "open packet %q", body)
	var keys map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body[1:]), &keys), "open packet %q", body)
	require.Len(t, keys, 5, "open packet %q", body)
	for _, k := range []string{"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"} {
		require.Contains(t, keys, k, "open packet %q", body)
	}
	var op openPacket
	dec := json.NewDecoder(strings.NewReader(body[1:]))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&op))
	require.NotEmpty(t, op.SID)
	require.NotNil(t, op.Upgrades, "upgrades must be an array, not null")
	return op
}

// splitPayload splits a polling payload into its records.
func splitPayload(body string) []string { return strings.Split(body, "\x1e") }

// ---------------------------------------------------------------------------
// Polling client

type pollClient struct {
	s    *testServer
	t    testing.TB
	sid  string
	open openPacket
}

// handshake opens a polling session.
func (s *testServer) handshake() *pollClient {
	s.t.Helper()
	res := s.mustDo("GET", "EIO=4&transport=polling", "", nil)
	require.Equal(s.t, 200, res.status, "handshake: %q", res.body)
	require.Equal(s.t, "text/plain; charset=UTF-8", res.header.Get("Content-Type"))
	op := parseOpen(s.t, res.body)
	return &pollClient{s: s, t: s.t, sid: op.SID, open: op}
}

func (c *pollClient) query() string { return "EIO=4&transport=polling&sid=" + c.sid }

// get long-polls once.
func (c *pollClient) get() response {
	c.t.Helper()
	return c.s.mustDo("GET", c.query(), "", nil)
}

func (c *pollClient) getCtx(ctx context.Context) (response, error) {
	return c.s.do(ctx, "GET", c.query(), nil, nil)
}

// getPending starts a long-poll and returns once the server holds it (or
// the session is gone); its response comes on the channel.
func (c *pollClient) getPending() <-chan response {
	c.t.Helper()
	got := make(chan response, 1)
	go func() {
		res, _ := c.getCtx(context.Background())
		got <- res
	}()
	waitPending(c.t, c.s, c.sid)
	return got
}

// post sends a payload.
func (c *pollClient) post(body string) response {
	c.t.Helper()
	res, err := c.s.do(context.Background(), "POST", c.query(), strings.NewReader(body), nil)
	require.NoError(c.t, err)
	return res
}

// mustPost sends a payload and insists on 200 "ok".
func (c *pollClient) mustPost(body string) {
	c.t.Helper()
	res := c.post(body)
	require.Equal(c.t, 200, res.status, "POST %q: %q", body, res.body)
	require.Equal(c.t, "ok", res.body)
}

// getPackets long-polls once and returns the records, answering pings
// with a pong when pong is set.
func (c *pollClient) getPackets(pong bool) []string {
	c.t.Helper()
	res := c.get()
	require.Equal(c.t, 200, res.status, "GET: %q", res.body)
	recs := splitPayload(res.body)
	if pong {
		for _, r := range recs {
			if r == "2" {
				c.mustPost("3")
			}
		}
	}
	return recs
}

// collect polls until n message records ("4..." or "b...") have arrived,
// answering pings, and returns them.
func (c *pollClient) collect(n int, within time.Duration) []string {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var out []string
	for len(out) < n {
		require.False(c.t, time.Now().After(deadline), "got %d of %d messages: %q", len(out), n, out)
		for _, r := range c.getPackets(true) {
			if strings.HasPrefix(r, "4") || strings.HasPrefix(r, "b") {
				out = append(out, r)
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// WebSocket client

// recConn records what the server sends (see wstest.RecConn).
type recConn = wstest.RecConn

type clientFrame struct {
	data   []byte
	binary bool
}

// clientCodec reads one frame and keeps text and binary apart.
var clientCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		f := v.(clientFrame)
		if f.binary {
			return f.data, websocket.BinaryFrame, nil
		}
		return f.data, websocket.TextFrame, nil
	},
	Unmarshal: func(data []byte, payloadType byte, v any) error {
		f := v.(*clientFrame)
		f.data = data
		f.binary = payloadType == websocket.BinaryFrame
		return nil
	},
}

type wsClient struct {
	t  testing.TB
	ws *websocket.Conn
	rc *recConn
}

const testOrigin = "http://127.0.0.1"

// dialWS opens a WebSocket to the Engine.IO endpoint with the raw query.
// On a refused handshake it returns the HTTP status and an error.
func (s *testServer) dialWS(query, origin string) (*wsClient, int, error) {
	cfg, err := websocket.NewConfig("ws"+strings.TrimPrefix(s.url, "http")+"?"+query, origin)
	if err != nil {
		return nil, 0, err
	}
	cfg.Dialer = &net.Dialer{Timeout: 5 * time.Second}
	var rc *recConn
	// DialConfig with a dialer that wraps the connection in a recorder.
	conn, err := cfg.Dialer.Dial("tcp", s.ts.Listener.Addr().String())
	if err != nil {
		return nil, 0, err
	}
	rc = &recConn{Conn: conn}
	rc.SetDeadline(time.Now().Add(5 * time.Second))
	ws, err := websocket.NewClient(cfg, rc)
	if err != nil {
		conn.Close()
		return nil, rc.Status(), err
	}
	rc.SetDeadline(time.Time{})
	c := &wsClient{t: s.t, ws: ws, rc: rc}
	s.t.Cleanup(func() { ws.Close() })
	return c, rc.Status(), nil
}

// mustDialWS opens a WebSocket and fails the test if it is refused.
func (s *testServer) mustDialWS(query string) *wsClient {
	s.t.Helper()
	c, status, err := s.dialWS(query, testOrigin)
	require.NoError(s.t, err, "status %d", status)
	return c
}

// openWS opens a WebSocket-only session and reads its open packet.
func (s *testServer) openWS() (*wsClient, openPacket) {
	s.t.Helper()
	c := s.mustDialWS("EIO=4&transport=websocket")
	f := c.read(2 * time.Second)
	require.False(s.t, f.binary)
	return c, parseOpen(s.t, string(f.data))
}

func (c *wsClient) send(text string) error {
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return clientCodec.Send(c.ws, clientFrame{data: []byte(text)})
}

func (c *wsClient) mustSend(text string) {
	c.t.Helper()
	require.NoError(c.t, c.send(text))
}

func (c *wsClient) sendBinary(b []byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return clientCodec.Send(c.ws, clientFrame{data: b, binary: true})
}

// next reads one frame, or returns the error (io.EOF after a close frame).
func (c *wsClient) next(timeout time.Duration) (clientFrame, error) {
	c.ws.SetReadDeadline(time.Now().Add(timeout))
	var f clientFrame
	err := clientCodec.Receive(c.ws, &f)
	return f, err
}

// read reads one frame and fails the test on error.
func (c *wsClient) read(timeout time.Duration) clientFrame {
	c.t.Helper()
	f, err := c.next(timeout)
	require.NoError(c.t, err)
	return f
}

// readText reads frames, answering and skipping pings, until a text frame
// other than a ping arrives.
func (c *wsClient) readText(timeout time.Duration) string {
	c.t.Helper()
	for {
		f := c.read(timeout)
		require.False(c.t, f.binary, "binary frame %x", f.data)
		if string(f.data) == "2" {
			c.mustSend("3")
			continue
		}
		return string(f.data)
	}
}

// waitClosed reads until the server closes the connection and returns the
// close code it sent (-1 for none). Pings are answered on the way.
func (c *wsClient) waitClosed(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f, err := c.next(time.Until(deadline))
		if err != nil {
			var ne net.Error
			require.False(c.t, errors.As(err, &ne) && ne.Timeout(), "connection still open after %v", timeout)
			return c.rc.CloseCode()
		}
		if !f.binary && string(f.data) == "2" {
			c.send("3")
		}
	}
}

// isOpenWithin reports whether nothing but a timeout happened while
// reading for d: the connection stayed open (frames read are returned).
func (c *wsClient) drain(d time.Duration) ([]clientFrame, error) {
	var out []clientFrame
	deadline := time.Now().Add(d)
	for {
		f, err := c.next(time.Until(deadline))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return out, nil
			}
			return out, err
		}
		out = append(out, f)
	}
}

func (c *wsClient) close() { c.ws.Close() }

// rawConn opens a plain TCP connection to the server, for requests that
// http.Client cannot make (or abort) the way a test needs.
func (s *testServer) rawConn() net.Conn {
	s.t.Helper()
	conn, err := net.Dial("tcp", s.ts.Listener.Addr().String())
	require.NoError(s.t, err)
	s.t.Cleanup(func() { conn.Close() })
	return conn
}

// rawRequest writes a raw HTTP/1.1 request and reads the response.
func readResponse(t testing.TB, conn net.Conn, timeout time.Duration) response {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(timeout))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{res.StatusCode, string(b), res.Header}
}

// eventually polls cond every few milliseconds until it holds.
func eventually(t testing.TB, within time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: "+msg, append([]any{within}, args...)...)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
