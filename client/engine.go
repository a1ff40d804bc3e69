package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// The client side of Engine.IO v4: a session that starts over long-polling
// (or WebSocket), answers the server's pings, and upgrades to WebSocket the
// way the JavaScript client does. One reader goroutine delivers messages,
// one writer goroutine sends what is queued.

const (
	transportPolling   = "polling"
	transportWebSocket = "websocket"

	recordSeparator = 0x1e

	// upgradeTimeout bounds the probe of an upgrade; a server that does not
	// answer in time leaves the session on polling.
	upgradeTimeout = 10 * time.Second
	// closeFlushTimeout bounds how long a graceful close waits for what is
	// queued to go out.
	closeFlushTimeout = 2 * time.Second
)

// epacket is an Engine.IO packet to send: a text packet's data starts with
// its type byte; a binary packet is a message's raw bytes.
type epacket struct {
	data   []byte
	binary bool
}

// handshake is the open packet's payload.
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// engineConfig is what every session of a Conn shares.
type engineConfig struct {
	base      *url.URL // http or https, host and path ("/socket.io/")
	query     url.Values
	header    http.Header
	polling   bool
	websocket bool
	http      *http.Client
}

// url returns the endpoint URL for transport, with sid when not empty.
func (c *engineConfig) url(transport, sid string) string {
	u := *c.base
	if transport == transportWebSocket {
		if u.Scheme == "https" {
			u.Scheme = "wss"
		} else {
			u.Scheme = "ws"
		}
	}
	q := url.Values{}
	for k, v := range c.query {
		q[k] = v
	}
	q.Set("EIO", "4")
	q.Set("transport", transport)
	if sid != "" {
		q.Set("sid", sid)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// engine is one Engine.IO session.
type engine struct {
	cfg    *engineConfig
	hs     handshake
	ctx    context.Context // ends when the session closes: aborts requests
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Set by start, called from the reader goroutine (onMessage) and from
	// whichever goroutine notices the end (onClose, once).
	onMessage func(data []byte, binary bool)
	onClose   func(reason string)

	initial []byte // the rest of the handshake response, if any

	mu          sync.Mutex
	cond        *sync.Cond // writing or closed changed
	queue       []epacket
	wake        chan struct{} // capacity 1: the writer
	transport   string
	ws          *websocket.Conn // the WebSocket in use
	probe       *websocket.Conn // the WebSocket being probed
	paused      bool            // an upgrade stops polling
	pollStopped chan struct{}   // closed by the polling reader once paused
	writing     bool
	closed      bool
	closing     bool          // a graceful close waits for the queue to drain
	flushed     chan struct{} // closed by the writer then
	timer       *time.Timer
}

// dialEngine opens a session: the handshake over polling, or over
// WebSocket when polling is not allowed.
func dialEngine(ctx context.Context, cfg *engineConfig) (*engine, error) {
	e := &engine{cfg: cfg, wake: make(chan struct{}, 1), pollStopped: make(chan struct{})}
	e.cond = sync.NewCond(&e.mu)
	var open []byte
	if cfg.polling {
		body, err := e.get(ctx, cfg.url(transportPolling, ""))
		if err != nil {
			return nil, fmt.Errorf("socketio client: handshake: %w", err)
		}
		rec, rest, _ := bytes.Cut(body, []byte{recordSeparator})
		open, e.initial = rec, rest
		e.transport = transportPolling
	} else {
		ws, err := e.dialWS(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("socketio client: handshake: %w", err)
		}
		stop := context.AfterFunc(ctx, func() { ws.SetDeadline(time.Now()) })
		f, err := receiveFrame(ws)
		if !stop() || err != nil || f.binary {
			ws.Close()
			if err == nil {
				err = errors.New("binary open packet")
			}
			return nil, fmt.Errorf("socketio client: handshake: %w", err)
		}
		open = f.data
		e.ws = ws
		e.transport = transportWebSocket
	}
	if len(open) == 0 || open[0] != '0' || json.Unmarshal(open[1:], &e.hs) != nil || e.hs.SID == "" || e.hs.PingInterval <= 0 || e.hs.PingTimeout <= 0 {
		if e.ws != nil {
			e.ws.Close()
		}
		return nil, fmt.Errorf("socketio client: handshake: invalid open packet %.100q", open)
	}
	return e, nil
}

// start runs the session: from now on messages go to onMessage and the end
// of the session to onClose.
func (e *engine) start(onMessage func([]byte, bool), onClose func(string)) {
	e.onMessage, e.onClose = onMessage, onClose
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.mu.Lock()
	e.timer = time.AfterFunc(e.heartbeatTimeout(), func() { e.fail(ReasonPingTimeout, false) })
	e.mu.Unlock()
	e.wg.Add(2)
	go e.writeLoop()
	if e.transport == transportWebSocket {
		go func() {
			defer e.wg.Done()
			e.readWS(e.ws)
		}()
		return
	}
	go e.pollLoop()
	if e.cfg.websocket && slices.Contains(e.hs.Upgrades, transportWebSocket) {
		e.wg.Add(1)
		go e.upgrade()
	}
}

// heartbeatTimeout is the silence after which the server is presumed gone:
// it pings every pingInterval and waits pingTimeout for the answer.
func (e *engine) heartbeatTimeout() time.Duration {
	return time.Duration(e.hs.PingInterval+e.hs.PingTimeout) * time.Millisecond
}

// transportName returns the transport in use.
func (e *engine) transportName() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.transport
}

// send queues packets, kept together and in order.
func (e *engine) send(pkts ...epacket) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.closing {
		return errEngineClosed
	}
	e.queue = append(e.queue, pkts...)
	e.wakeLocked()
	return nil
}

var errEngineClosed = errors.New("socketio client: connection closed")

func (e *engine) wakeLocked() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// handle processes one packet from the server, on the reader goroutine. It
// reports whether reading should go on.
func (e *engine) handle(rec []byte, binary bool) bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false
	}
	// Any packet shows the server alive; pings are only the least of them.
	e.timer.Reset(e.heartbeatTimeout())
	e.mu.Unlock()
	if binary {
		e.onMessage(rec, true)
		return true
	}
	if len(rec) == 0 {
		e.fail(ReasonParseError, false)
		return false
	}
	switch rec[0] {
	case '2': // ping: answer at once, ahead of anything queued
		pong := append([]byte{'3'}, rec[1:]...)
		e.mu.Lock()
		if !e.closed {
			e.queue = slices.Insert(e.queue, 0, epacket{data: pong})
			e.wakeLocked()
		}
		e.mu.Unlock()
	case '4':
		e.onMessage(rec[1:], false)
	case '1':
		e.fail(ReasonTransportClose, false)
		return false
	case '3', '6': // pong, noop
	default:
		e.fail(ReasonParseError, false)
		return false
	}
	return true
}

// handlePayload processes a polling payload.
func (e *engine) handlePayload(body []byte) bool {
	for len(body) > 0 {
		var rec []byte
		rec, body, _ = bytes.Cut(body, []byte{recordSeparator})
		if len(rec) > 0 && rec[0] == 'b' {
			data, err := base64.StdEncoding.DecodeString(string(rec[1:]))
			if err != nil {
				e.fail(ReasonParseError, false)
				return false
			}
			if !e.handle(data, true) {
				return false
			}
			continue
		}
		if !e.handle(rec, false) {
			return false
		}
	}
	return true
}

// fail ends the session: requests are aborted, connections closed, onClose
// called. graceful lets a WebSocket send its close frame, for a writer
// that is known to be idle.
func (e *engine) fail(reason string, graceful bool) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	ws, probe := e.ws, e.probe
	e.timer.Stop()
	e.cond.Broadcast()
	e.mu.Unlock()
	e.cancel()
	for _, c := range []*websocket.Conn{ws, probe} {
		if c == nil {
			continue
		}
		if !graceful {
			// Unblock a writer stuck on a full TCP buffer, which holds
			// the lock that Close needs.
			c.SetDeadline(time.Now())
		}
		c.Close()
	}
	e.onClose(reason)
}

// close closes the session gracefully: what is queued goes out, then a
// close packet; it returns once every goroutine of the session is done.
func (e *engine) close() {
	e.mu.Lock()
	if e.closed || e.closing {
		e.mu.Unlock()
		e.wait()
		return
	}
	e.queue = append(e.queue, epacket{data: []byte{'1'}})
	e.closing = true
	flushed := make(chan struct{})
	e.flushed = flushed
	e.wakeLocked()
	e.mu.Unlock()
	t := time.NewTimer(closeFlushTimeout)
	graceful := false
	select {
	case <-flushed:
		graceful = true
	case <-t.C:
	case <-e.ctx.Done():
	}
	t.Stop()
	e.fail(ReasonForcedClose, graceful)
	e.wait()
}

// wait returns once every goroutine of the session is done.
func (e *engine) wait() { e.wg.Wait() }

// writeLoop is the session's only writer (but for the upgrade probe). Each
// wake-up sends everything queued: one POST per maxPayload bytes over
// polling, one frame per packet over WebSocket.
func (e *engine) writeLoop() {
	defer e.wg.Done()
	for {
		select {
		case <-e.wake:
		case <-e.ctx.Done():
			return
		}
		for {
			e.mu.Lock()
			// A graceful close does not wait for an upgrade: the server is
			// still on polling until it gets 5, which is then not sent.
			if e.closed || (e.paused && !e.closing) || len(e.queue) == 0 {
				if e.flushed != nil && len(e.queue) == 0 {
					close(e.flushed)
					e.flushed = nil
				}
				e.mu.Unlock()
				break
			}
			transport, ws := e.transport, e.ws
			var batch []epacket
			if transport == transportPolling {
				batch = e.takeBatchLocked()
			} else {
				batch, e.queue = e.queue, nil
			}
			e.writing = true
			e.mu.Unlock()

			var err error
			if transport == transportPolling {
				err = e.post(batch)
			} else {
				err = e.writeWS(ws, batch)
			}
			e.mu.Lock()
			e.writing = false
			e.cond.Broadcast()
			e.mu.Unlock()
			if err != nil {
				e.fail(ReasonTransportError, false)
				return
			}
		}
	}
}

// takeBatchLocked removes from the queue the packets of one POST: as many
// as fit in the server's maxPayload, at least one.
func (e *engine) takeBatchLocked() []epacket {
	size, n := 0, 0
	for n < len(e.queue) {
		p := e.queue[n]
		s := len(p.data)
		if p.binary {
			s = 1 + base64.StdEncoding.EncodedLen(len(p.data))
		}
		if n > 0 && e.hs.MaxPayload > 0 && int64(size+1+s) > e.hs.MaxPayload {
			break
		}
		size += s + 1
		n++
	}
	batch := slices.Clone(e.queue[:n])
	e.queue = slices.Delete(e.queue, 0, n)
	return batch
}

// appendPayload encodes packets as a polling payload.
func appendPayload(dst []byte, pkts []epacket) []byte {
	for i, p := range pkts {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		if p.binary {
			dst = append(dst, 'b')
			dst = base64.StdEncoding.AppendEncode(dst, p.data)
		} else {
			dst = append(dst, p.data...)
		}
	}
	return dst
}

// ---------------------------------------------------------------------------
// Polling

// maxPollBody bounds what one polling response may hold.
const maxPollBody = 64 << 20

func (e *engine) newRequest(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range e.cfg.header {
		req.Header[k] = slices.Clone(v)
	}
	return req, nil
}

// get sends a polling GET and returns the body of a 200 answer.
func (e *engine) get(ctx context.Context, u string) ([]byte, error) {
	req, err := e.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.cfg.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp.StatusCode, body)
	}
	return body, nil
}

// statusError describes an Engine.IO error answer, whose body is
// {"code":N,"message":"..."}.
func statusError(status int, body []byte) error {
	var eio struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &eio) == nil && eio.Code != nil {
		return fmt.Errorf("HTTP %d: %s (engine.io error %d)", status, eio.Message, *eio.Code)
	}
	return fmt.Errorf("HTTP %d: %.200s", status, bytes.TrimSpace(body))
}

func (e *engine) post(batch []epacket) error {
	req, err := e.newRequest(e.ctx, http.MethodPost, e.cfg.url(transportPolling, e.hs.SID), bytes.NewReader(appendPayload(nil, batch)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := e.cfg.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return statusError(resp.StatusCode, body)
	}
	return nil
}

// pollLoop is the reader over polling: one GET after the other, until the
// session closes or an upgrade pauses it.
func (e *engine) pollLoop() {
	defer e.wg.Done()
	if len(e.initial) > 0 && !e.handlePayload(e.initial) {
		return
	}
	u := e.cfg.url(transportPolling, e.hs.SID)
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return
		}
		if e.paused {
			close(e.pollStopped)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		body, err := e.get(e.ctx, u)
		if err != nil {
			e.fail(ReasonTransportError, false)
			return
		}
		if !e.handlePayload(body) {
			return
		}
	}
}

// ---------------------------------------------------------------------------
// WebSocket

type wsFrame struct {
	data   []byte
	binary bool
}

// frameCodec keeps text and binary frames apart, which websocket.Message
// does not.
var frameCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		f := v.(wsFrame)
		if f.binary {
			return f.data, websocket.BinaryFrame, nil
		}
		return f.data, websocket.TextFrame, nil
	},
	Unmarshal: func(data []byte, payloadType byte, v any) error {
		f := v.(*wsFrame)
		f.data = data
		f.binary = payloadType == websocket.BinaryFrame
		return nil
	},
}

func receiveFrame(ws *websocket.Conn) (wsFrame, error) {
	var f wsFrame
	err := frameCodec.Receive(ws, &f)
	return f, err
}

func (e *engine) dialWS(ctx context.Context, sid string) (*websocket.Conn, error) {
	cfg, err := websocket.NewConfig(e.cfg.url(transportWebSocket, sid), "http://localhost/")
	if err != nil {
		return nil, err
	}
	cfg.Header = e.cfg.header.Clone()
	if cfg.Header == nil {
		cfg.Header = http.Header{}
	}
	// x/net always sends an Origin header. Not being a browser, send an
	// empty one, which servers treat as none (as for polling requests),
	// unless Options.Header sets one.
	cfg.Origin = &url.URL{}
	if o := cfg.Header.Get("Origin"); o != "" {
		if cfg.Origin, err = url.Parse(o); err != nil {
			return nil, fmt.Errorf("Origin header: %w", err)
		}
	}
	cfg.Header.Del("Origin")
	if t, ok := e.cfg.http.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		cfg.TlsConfig = t.TLSClientConfig
	}
	ws, err := cfg.DialContext(ctx)
	if err != nil {
		return nil, err
	}
	ws.MaxPayloadBytes = maxPollBody
	return ws, nil
}

func (e *engine) writeWS(ws *websocket.Conn, batch []epacket) error {
	ws.SetWriteDeadline(time.Now().Add(e.heartbeatTimeout()))
	for _, p := range batch {
		if err := frameCodec.Send(ws, wsFrame(p)); err != nil {
			return err
		}
	}
	return nil
}

// readWS is the reader over WebSocket.
func (e *engine) readWS(ws *websocket.Conn) {
	for {
		f, err := receiveFrame(ws)
		if err != nil {
			e.fail(ReasonTransportClose, false)
			return
		}
		if !e.handle(f.data, f.binary) {
			return
		}
	}
}

// upgrade moves a polling session to WebSocket: probe (2probe, 3probe),
// pause polling once the pending GET and POST are done, send 5, and go on
// over the WebSocket. A failed probe leaves the session on polling.
func (e *engine) upgrade() {
	defer e.wg.Done()
	ws, err := e.dialWS(e.ctx, e.hs.SID)
	if err != nil {
		return
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		ws.Close()
		return
	}
	e.probe = ws
	e.mu.Unlock()

	ws.SetDeadline(time.Now().Add(upgradeTimeout))
	ok := frameCodec.Send(ws, wsFrame{data: []byte("2probe")}) == nil
	if ok {
		f, err := receiveFrame(ws)
		ok = err == nil && !f.binary && string(f.data) == "3probe"
	}
	e.mu.Lock()
	if !ok || e.closed {
		e.probe = nil
		e.mu.Unlock()
		ws.Close()
		return
	}
	e.paused = true
	for e.writing && !e.closed {
		e.cond.Wait()
	}
	e.mu.Unlock()
	select {
	case <-e.pollStopped:
	case <-e.ctx.Done():
		return // fail closed the probe
	}
	e.mu.Lock()
	if e.closing {
		// Closing: the close packet goes over polling (see writeLoop).
		e.probe = nil
		e.mu.Unlock()
		ws.Close()
		return
	}
	e.mu.Unlock()
	if err := frameCodec.Send(ws, wsFrame{data: []byte{'5'}}); err != nil {
		e.fail(ReasonTransportError, false)
		return
	}
	ws.SetDeadline(time.Time{})
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.probe = nil
	e.ws = ws
	e.transport = transportWebSocket
	e.paused = false
	e.wakeLocked()
	e.mu.Unlock()
	e.readWS(ws)
}
