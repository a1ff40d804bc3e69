package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// Transport names as they appear in the "transport" query parameter.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Close reasons reported to Handler.OnClose. They match the reasons of the
// reference server, which the Socket.IO layer passes on to its users.
const (
	ReasonTransportClose = "transport close"
	ReasonTransportError = "transport error"
	ReasonPingTimeout    = "ping timeout"
	ReasonParseError     = "parse error"
	ReasonForcedClose    = "forced close"
	ReasonShutdown       = "server shutting down"
	ReasonQueueOverflow  = "send queue overflow"
)

// Defaults, the same as the reference server's.
const (
	DefaultPingInterval     = 25 * time.Second
	DefaultPingTimeout      = 20 * time.Second
	DefaultUpgradeTimeout   = 10 * time.Second
	DefaultMaxPayload       = 1_000_000
	DefaultMaxBufferedBytes = 4 << 20
)

// Config configures a Server. The zero value of every field means its
// default.
type Config struct {
	PingInterval   time.Duration
	PingTimeout    time.Duration
	UpgradeTimeout time.Duration
	// MaxPayload caps what a client may send in one HTTP request body or one
	// WebSocket message, in bytes.
	MaxPayload int64
	// MaxBufferedBytes caps the bytes queued for one session; a session
	// whose queue would grow past it is closed with ReasonQueueOverflow.
	MaxBufferedBytes int64
	// DisablePolling and DisableWebSocket turn a transport off.
	DisablePolling   bool
	DisableWebSocket bool
	// CheckOrigin decides whether a request that carries an Origin header is
	// allowed. Nil allows every origin (the root package always sets it).
	CheckOrigin func(r *http.Request) bool
	// CORSOrigin, when set, gives the Access-Control-Allow-Origin of a
	// response to an allowed request, and whether it allows credentials.
	// Nil answers the request's Origin, with credentials.
	CORSOrigin func(r *http.Request) (origin string, credentials bool)
	// AllowRequest, when set, may refuse a handshake: its error message goes
	// to the client with code 4 (Forbidden).
	AllowRequest func(r *http.Request) error
	// Logger receives diagnostics; nil is silent.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
}

// Handler receives the events of every session of a Server.
//
// OnOpen runs once per session before any of its messages. OnMessage runs
// for each message the client sends, one at a time and in order for a given
// session; data belongs to the handler. OnClose runs exactly once, after the
// session has been removed from the server, and last: a session closed while
// OnOpen or OnMessage runs (by Abort in the callback itself, a ping timeout,
// Shutdown) has its OnClose run when that callback returns, and no message
// is delivered after that. None of them runs under a lock of this package,
// so each may call any Session method.
type Handler interface {
	OnOpen(s *Session)
	OnMessage(s *Session, data []byte, binary bool)
	OnClose(s *Session, reason string)
}

// Server serves Engine.IO sessions over HTTP.
type Server struct {
	cfg Config
	h   Handler
	lh  LoanHandler // h, if it is one
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*Session
	shutdown bool
	changed  chan struct{}       // closed and replaced when a session is removed
	closedBy map[string]struct{} // sessions the client closed while no GET waited, see tomb
}

// tombLife is how long a session closed by its client (a "1" packet in a
// POST) answers one more GET with a noop instead of 400: a client that sends
// its last poll and the close together cannot know which arrives first.
const tombLife = time.Second

// tomb remembers that the client closed session sid.
func (s *Server) tomb(sid string) {
	s.mu.Lock()
	if s.closedBy == nil {
		s.closedBy = make(map[string]struct{})
	}
	s.closedBy[sid] = struct{}{}
	s.mu.Unlock()
	time.AfterFunc(tombLife, func() {
		s.mu.Lock()
		delete(s.closedBy, sid)
		s.mu.Unlock()
	})
}

// takeTomb reports whether sid was closed by its client moments ago, once.
func (s *Server) takeTomb(sid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.closedBy[sid]
	delete(s.closedBy, sid)
	return ok
}

// NewServer returns a Server that reports session events to h.
func NewServer(cfg Config, h Handler) *Server {
	cfg.setDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(discardHandler{})
	}
	lh, _ := h.(LoanHandler)
	return &Server{
		cfg:      cfg,
		h:        h,
		lh:       lh,
		log:      log,
		sessions: make(map[string]*Session),
		changed:  make(chan struct{}),
	}
}

// Config returns the configuration in force, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Count returns the number of open sessions.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Session returns the open session with the given id, or nil.
func (s *Server) Session(id string) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// Error codes of the Engine.IO protocol.
const (
	codeTransportUnknown   = 0
	codeUnknownSID         = 1
	codeBadHandshakeMethod = 2
	codeBadRequest         = 3
	codeForbidden          = 4
	codeUnsupportedVersion = 5
)

var codeMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

func writeError(w http.ResponseWriter, code int, msg string) {
	status := http.StatusBadRequest
	if code == codeForbidden {
		status = http.StatusForbidden
	}
	if msg == "" {
		msg = codeMessages[code]
	}
	body, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// ServeHTTP serves one Engine.IO request: a handshake, a poll, a POST of
// packets, or a WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") != "" {
		if s.cfg.CheckOrigin != nil && !s.cfg.CheckOrigin(r) {
			writeError(w, codeForbidden, "")
			return
		}
		if !isWebSocketUpgrade(r) {
			s.setCORS(w, r)
		}
	}
	if r.Method == http.MethodOptions {
		preflight(w, r)
		return
	}
	// The checks come in the reference server's order, so that a request
	// wrong in several ways gets the same error code: the transport, then
	// the session. A handshake checks the protocol version last (see
	// handshake); a request for a session must speak the session's
	// version, 4, or is a bad request.
	q := r.URL.Query()
	transport := q.Get("transport")
	switch {
	case transport == Polling && !s.cfg.DisablePolling:
	case transport == WebSocket && !s.cfg.DisableWebSocket:
	default:
		writeError(w, codeTransportUnknown, "")
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		s.handshake(w, r, transport, q.Get("EIO"))
		return
	}
	sess := s.Session(sid)
	if sess == nil {
		if transport == Polling && r.Method == http.MethodGet && s.takeTomb(sid) {
			writePayload(w, []byte{TypeNoop})
			return
		}
		writeError(w, codeUnknownSID, "")
		return
	}
	if q.Get("EIO") != "4" {
		writeError(w, codeBadRequest, "")
		return
	}
	if transport == WebSocket {
		if !isWebSocketUpgrade(r) {
			writeError(w, codeBadRequest, "")
			return
		}
		s.serveWebSocket(w, r, sess)
		return
	}
	if isWebSocketUpgrade(r) {
		// A WebSocket asked for with transport=polling: the reference
		// server closes it and leaves the session alone. Served as a
		// poll, it would wait for data, and the client giving up on it
		// would close the session.
		writeError(w, codeBadRequest, "")
		return
	}
	switch r.Method {
	case http.MethodGet:
		sess.servePoll(w, r)
	case http.MethodPost:
		sess.servePost(w, r)
	default:
		writeError(w, codeBadRequest, "")
	}
}

func (s *Server) setCORS(w http.ResponseWriter, r *http.Request) {
	origin, credentials := r.Header.Get("Origin"), true
	if s.cfg.CORSOrigin != nil {
		origin, credentials = s.cfg.CORSOrigin(r)
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	if credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Add("Vary", "Origin")
}

func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handshake(w http.ResponseWriter, r *http.Request, transport, eio string) {
	if r.Method != http.MethodGet {
		writeError(w, codeBadHandshakeMethod, "")
		return
	}
	if transport == WebSocket && !isWebSocketUpgrade(r) {
		writeError(w, codeBadRequest, "")
		return
	}
	if s.cfg.AllowRequest != nil {
		if err := s.cfg.AllowRequest(r); err != nil {
			writeError(w, codeForbidden, err.Error())
			return
		}
	}
	if eio != "4" {
		writeError(w, codeUnsupportedVersion, "")
		return
	}
	if transport == Polling && isWebSocketUpgrade(r) {
		// As for a session (see ServeHTTP): the reference server opens
		// no session for it.
		writeError(w, codeBadRequest, "")
		return
	}
	if transport == WebSocket {
		s.serveWebSocket(w, r, nil)
		return
	}
	sess, err := s.open(handshakeRequest(r), Polling)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	writePayload(w, sess.openPacket())
}

// writePayload answers a GET with a polling payload.
func writePayload(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.Write(body)
}

// errShutdown refuses handshakes once Shutdown has begun.
var errShutdown = errors.New("engineio: server is shutting down")

// open creates and registers a session for req (see handshakeRequest) and
// runs OnOpen.
func (s *Server) open(req *http.Request, transport string) (*Session, error) {
	sess := newSession(s, req, transport)
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil, errShutdown
	}
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	// The session counts as in a callback from its creation, so that an
	// OnClose due before OnOpen ends (Shutdown, Abort in OnOpen) runs after.
	s.h.OnOpen(sess)
	sess.mu.Lock()
	if sess.state == stateOpen {
		// Not over the deadline of a Close called in OnOpen.
		sess.schedulePingLocked()
	}
	sess.mu.Unlock()
	sess.endCallback()
	return sess, nil
}

func (s *Server) remove(sess *Session) {
	s.mu.Lock()
	if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
}

// shutdownPollGrace is how long Shutdown waits for a long-polling client
// with no GET waiting to come for its close packet. A client that is there
// polls again within a round trip; one that has not in this time is gone
// (a closed tab, a phone asleep), or cannot reach a server whose listener
// is closed, and would otherwise hold Shutdown for PingTimeout.
const shutdownPollGrace = time.Second

// Shutdown stops accepting sessions, closes every open session gracefully
// (what is queued is flushed first) and waits until all are gone or ctx ends;
// then it closes what remains at once and returns ctx's error. A session
// on long-polling whose client has not come for its close packet within a
// second is closed then: its client is gone, or will find the session
// unknown and reconnect, as after any restart. "Gone" means removed from
// the server: an OnClose may still be running when Shutdown returns (one
// due while a callback runs waits for that callback, which may be the
// caller of Shutdown).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	for _, sess := range s.all() {
		sess.Close(ReasonShutdown)
	}
	grace := time.NewTimer(shutdownPollGrace)
	defer grace.Stop()
	for {
		s.mu.Lock()
		n, ch := len(s.sessions), s.changed
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-grace.C:
			for _, sess := range s.all() {
				if sess.pollingIdle() {
					sess.closeNow(ReasonShutdown, false)
				}
			}
		case <-ctx.Done():
			for _, sess := range s.all() {
				sess.closeNow(ReasonShutdown, false)
			}
			return ctx.Err()
		}
	}
}

// all returns the open sessions.
func (s *Server) all() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.sessions))
}

func newID() string {
	var b [15]byte // 120 bits
	if _, err := rand.Read(b[:]); err != nil {
		panic("engineio: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a random identifier of 120 bits from crypto/rand, as used
// for session ids.
func NewID() string { return newID() }

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }

// wsServer returns the x/net/websocket server for one request. Origin has
// already been checked by ServeHTTP; x/net's default check would refuse
// clients that send no Origin at all, which non-browser clients do.
func (s *Server) wsServer(handler func(*websocket.Conn)) websocket.Server {
	return websocket.Server{
		Handshake: func(c *websocket.Config, _ *http.Request) error {
			// x/net keeps the config for the connection's lifetime; the
			// URL it parsed for Conn.LocalAddr is never used here.
			c.Location = nil
			return nil
		},
		Handler: handler,
	}
}
