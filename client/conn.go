package client

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wirekit/socketio/internal/parser"
)

// Options configure a Conn. The zero value (or nil) is valid: each field's
// comment gives its default, the JavaScript client's.
type Options struct {
	// Path is the server's Socket.IO path. Default "/socket.io/".
	Path string
	// Transports lists the transports to use, from "polling" and
	// "websocket". With both (the default) the connection opens over
	// polling and upgrades to WebSocket; with "websocket" only, it dials
	// a WebSocket directly; with "polling" only, it never upgrades.
	Transports []string
	// Auth is the payload sent with the main namespace's CONNECT by
	// Connect (a server reads it as the handshake's auth); it must encode
	// as a JSON object. Default none.
	Auth any
	// Header holds extra headers for every HTTP request and the WebSocket
	// handshake (Authorization, Cookie...).
	Header http.Header
	// Query holds extra query parameters for every request.
	Query url.Values
	// HTTPClient sends the polling requests; its Transport's
	// TLSClientConfig, if any, also serves WebSocket. A long poll lasts up
	// to the server's pingInterval: any Timeout must be longer. Default: a
	// client of the Conn's own, whose idle connections Close releases.
	HTTPClient *http.Client

	// NoReconnect turns off reconnection. By default, a Conn whose
	// connection drops (not by Close) dials again with exponential backoff
	// and jitter, then connects again every namespace that was connected
	// or connecting; a socket the server disconnected stays disconnected.
	NoReconnect bool
	// ReconnectDelay is the delay before the first reconnection attempt;
	// it doubles with each failed attempt, ±50% at random. Default 1s.
	ReconnectDelay time.Duration
	// ReconnectDelayMax caps the delay between attempts. Default 5s.
	ReconnectDelayMax time.Duration
	// ReconnectAttempts caps the attempts after a connection drops; then
	// the Conn gives up as if closed. Default 0: no limit.
	ReconnectAttempts int

	// OnError is called with errors that have no caller to return to: an
	// event payload that does not decode into its handler's type (the
	// handler is not called), a handler that panicked, a namespace
	// refused on reconnection (a *ConnectError). It runs on the socket's
	// handler goroutine, or the reader's for refusals. Default: ignore
	// them.
	OnError func(s *Socket, err error)
}

// Conn is a connection to a Socket.IO server, over which sockets join
// namespaces. Create it with Dial; its methods are safe for concurrent
// use.
type Conn struct {
	opts      Options
	ecfg      *engineConfig
	transport *http.Transport // ours, when Options.HTTPClient is nil
	ctx       context.Context // ends with Close: stops reconnection
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the reconnection goroutine

	mu      sync.Mutex
	eng     *engine // the session in use; nil while down
	last    *engine // the latest session, to wait for its goroutines
	sockets map[string]*Socket
	closed  bool // Close was called
	dead    bool // lost, and not reconnecting
}

// Dial connects to the Socket.IO server at rawURL ("http://host:port" or
// "https://...", "ws://" and "wss://" being accepted too); the path comes
// from Options.Path, so rawURL must not have one. It returns once the
// connection is open, before any namespace is joined: see Conn.Of and
// Conn.Socket. A failure to connect is returned, not retried.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Conn, error) {
	c, err := newConn(rawURL, opts)
	if err != nil {
		return nil, err
	}
	if c.ecfg.base.Path != "" && c.ecfg.base.Path != "/" {
		return nil, fmt.Errorf("socketio client: URL %q has a path: set Options.Path, and name namespaces with Conn.Of", rawURL)
	}
	c.ecfg.base.Path = c.opts.Path
	eng, err := dialEngine(ctx, c.ecfg)
	if err != nil {
		c.releaseIdle()
		return nil, err
	}
	c.install(eng)
	return c, nil
}

// Connect dials the server and connects one namespace, as the JavaScript
// io(url, opts) does: the URL's path names the namespace ("/" if none) and
// Options.Auth is its auth payload. The socket owns the connection:
// Socket.Disconnect closes it. Events the server emits as soon as the
// socket connects may arrive before handlers are registered on the
// returned socket; to register them first, use Dial, Conn.Of and
// Socket.Connect.
func Connect(ctx context.Context, rawURL string, opts *Options) (*Socket, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	nsp := u.Path
	u.Path = ""
	c, err := Dial(ctx, u.String(), opts)
	if err != nil {
		return nil, err
	}
	s := c.Of(nsp)
	s.owns = true
	if err := s.Connect(ctx, c.opts.Auth); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("socketio client: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("socketio client: URL %q: scheme must be http, https, ws or wss", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("socketio client: URL %q has no host", rawURL)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func newConn(rawURL string, opts *Options) (*Conn, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	c := &Conn{sockets: make(map[string]*Socket)}
	if opts != nil {
		c.opts = *opts
	}
	o := &c.opts
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if !strings.HasPrefix(o.Path, "/") {
		o.Path = "/" + o.Path
	}
	if !strings.HasSuffix(o.Path, "/") {
		o.Path += "/"
	}
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = time.Second
	}
	if o.ReconnectDelayMax <= 0 {
		o.ReconnectDelayMax = 5 * time.Second
	}
	c.ecfg = &engineConfig{base: u, query: o.Query, header: o.Header, http: o.HTTPClient}
	if len(o.Transports) == 0 {
		c.ecfg.polling, c.ecfg.websocket = true, true
	}
	for _, t := range o.Transports {
		switch t {
		case transportPolling:
			c.ecfg.polling = true
		case transportWebSocket:
			c.ecfg.websocket = true
		default:
			return nil, fmt.Errorf("socketio client: unknown transport %q", t)
		}
	}
	if c.ecfg.http == nil {
		c.transport = http.DefaultTransport.(*http.Transport).Clone()
		c.ecfg.http = &http.Client{Transport: c.transport}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Transport returns the transport in use, "polling" or "websocket", or ""
// while disconnected.
func (c *Conn) Transport() string {
	c.mu.Lock()
	eng := c.eng
	c.mu.Unlock()
	if eng == nil {
		return ""
	}
	return eng.transportName()
}

// Of returns the socket of namespace nsp ("/" is the main one; a missing
// leading slash is added), creating it, not connected. Register its
// handlers, then call Socket.Connect. Of returns the same Socket for the
// same namespace.
func (c *Conn) Of(nsp string) *Socket {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sockets[nsp]
	if s == nil {
		s = newSocket(c, nsp)
		c.sockets[nsp] = s
	}
	return s
}

// Socket connects namespace nsp with the auth payload (nil for none),
// waiting for the server's answer until ctx ends: it is Of followed by
// Socket.Connect. A refusal is a *ConnectError.
func (c *Conn) Socket(ctx context.Context, nsp string, auth any) (*Socket, error) {
	s := c.Of(nsp)
	if err := s.Connect(ctx, auth); err != nil {
		return nil, err
	}
	return s, nil
}

// Close disconnects every socket (their OnDisconnect handlers get "io
// client disconnect"), sends what is queued, closes the connection and
// stops reconnecting. It returns once the connection's goroutines are done;
// handlers still running are not waited for.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.wg.Wait()
		return nil
	}
	c.closed = true
	eng, last := c.eng, c.last
	socks := c.socketsLocked()
	c.mu.Unlock()
	c.cancel()
	for _, s := range socks {
		s.clientDisconnect(eng)
	}
	if eng != nil {
		eng.close()
	}
	if last != nil {
		last.wait()
	}
	c.wg.Wait()
	c.releaseIdle()
	return nil
}

func (c *Conn) releaseIdle() {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
}

func (c *Conn) socketsLocked() []*Socket {
	out := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		out = append(out, s)
	}
	return out
}

// install makes eng the session in use and connects again the sockets
// that want to be. It reports false, closing eng, if the Conn was closed.
func (c *Conn) install(eng *engine) bool {
	dec := &parser.Decoder{MaxAttachments: maxAttachments}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		eng.start(func([]byte, bool) {}, func(string) {})
		eng.close()
		return false
	}
	c.eng, c.last = eng, eng
	var pending []*Socket
	for _, s := range c.sockets {
		if s.claimConnect() {
			pending = append(pending, s)
		}
	}
	c.mu.Unlock()
	eng.start(
		func(data []byte, binary bool) { c.onMessage(eng, dec, data, binary) },
		func(reason string) { c.onEngineClose(eng, reason) })
	for _, s := range pending {
		s.sendConnect(eng)
	}
	return true
}

// maxAttachments caps the binary attachments of one packet from the
// server, which is trusted more than a client is.
const maxAttachments = 1 << 12

// send queues a packet on the session in use.
func (c *Conn) send(p *parser.Packet) error {
	c.mu.Lock()
	eng := c.eng
	c.mu.Unlock()
	if eng == nil {
		return errEngineClosed
	}
	return eng.send(frames(p)...)
}

// frames encodes a packet as the Engine.IO packets that carry it: the text
// message, then one binary message per attachment.
func frames(p *parser.Packet) []epacket {
	text := parser.AppendPacket(append(make([]byte, 0, 64+len(p.Data)), '4'), p)
	fs := make([]epacket, 1+len(p.Attachments))
	fs[0] = epacket{data: text}
	for i, a := range p.Attachments {
		fs[i+1] = epacket{data: a, binary: true}
	}
	return fs
}

// onMessage decodes a message of session eng, on its reader goroutine, and
// hands it to its socket. Nothing here runs user code or blocks, but for
// the back-pressure of a socket's full handler queue.
func (c *Conn) onMessage(eng *engine, dec *parser.Decoder, data []byte, binary bool) {
	var (
		p   *parser.Packet
		err error
	)
	if binary {
		p, err = dec.DecodeBinary(data)
	} else {
		p, err = dec.DecodeText(data)
	}
	if err != nil {
		eng.fail(ReasonParseError, false)
		return
	}
	if p == nil {
		return // waiting for attachments
	}
	c.mu.Lock()
	s := c.sockets[p.Namespace]
	c.mu.Unlock()
	if s == nil {
		return
	}
	switch p.Type {
	case parser.Connect:
		var ok struct {
			SID string `json:"sid"`
		}
		if len(p.Data) > 0 {
			json.Unmarshal(p.Data, &ok)
		}
		s.onConnect(eng, ok.SID)
	case parser.ConnectError:
		ce := &ConnectError{}
		var body struct {
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if json.Unmarshal(p.Data, &body) == nil {
			ce.Message, ce.Data = body.Message, body.Data
		} else {
			json.Unmarshal(p.Data, &ce.Message) // a bare string, from old servers
		}
		s.onConnectError(ce)
	case parser.Disconnect:
		s.onServerDisconnect()
	case parser.Event, parser.BinaryEvent:
		if err := s.onEvent(p); err != nil {
			eng.fail(ReasonParseError, false)
		}
	case parser.Ack, parser.BinaryAck:
		s.onAck(p)
	}
}

// onEngineClose handles the end of session eng: sockets are told, and the
// Conn reconnects unless that is off or it was closed.
func (c *Conn) onEngineClose(eng *engine, reason string) {
	c.mu.Lock()
	if c.eng != eng {
		c.mu.Unlock()
		return
	}
	c.eng = nil
	reconnect := !c.closed && !c.opts.NoReconnect
	if reconnect {
		c.wg.Add(1)
	} else if !c.closed {
		c.dead = true
	}
	socks := c.socketsLocked()
	c.mu.Unlock()
	for _, s := range socks {
		s.onTransportClose(reason, reconnect)
	}
	if reconnect {
		go c.reconnect(eng)
	}
}

// reconnect dials until it succeeds, gives up or the Conn closes.
func (c *Conn) reconnect(old *engine) {
	defer c.wg.Done()
	old.wait()
	for attempt := 0; ; attempt++ {
		if n := c.opts.ReconnectAttempts; n > 0 && attempt >= n {
			c.giveUp()
			return
		}
		t := time.NewTimer(c.backoff(attempt))
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
		eng, err := dialEngine(c.ctx, c.ecfg)
		if err != nil {
			continue
		}
		c.install(eng)
		return
	}
}

// backoff returns the delay before attempt (from 0): ReconnectDelay
// doubled per attempt, ±50% at random, capped at ReconnectDelayMax.
func (c *Conn) backoff(attempt int) time.Duration {
	d := float64(c.opts.ReconnectDelay) * float64(uint64(1)<<min(attempt, 30))
	d += d * 0.5 * (2*rand.Float64() - 1)
	return time.Duration(min(d, float64(c.opts.ReconnectDelayMax)))
}

// giveUp ends reconnection: the Conn is down for good.
func (c *Conn) giveUp() {
	c.mu.Lock()
	c.dead = true
	socks := c.socketsLocked()
	c.mu.Unlock()
	for _, s := range socks {
		s.onTransportClose(ReasonTransportClose, false)
	}
}

// reportError hands err to Options.OnError.
func (c *Conn) reportError(s *Socket, err error) {
	if c.opts.OnError != nil {
		c.opts.OnError(s, err)
	}
}
