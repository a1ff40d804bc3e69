package socketio

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirekit/socketio/internal/engineio"
)

// Config configures a Server. The zero value is valid: every zero field
// takes the default written in its comment, the same as the reference
// Node server's unless safety says otherwise.
type Config struct {
	// Path is where the server answers, the client's "path" option.
	// Default "/socket.io/".
	Path string

	// PingInterval is how often the server pings each client. Default 25s.
	// A long-polling GET may wait this long: any WriteTimeout of the
	// http.Server, and any proxy's read timeout, must be longer.
	PingInterval time.Duration
	// PingTimeout is how long a client has to answer a ping before it is
	// disconnected with reason "ping timeout". Default 20s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds the upgrade from polling to WebSocket; an
	// upgrade that takes longer is dropped and the client stays on polling.
	// Default 10s.
	UpgradeTimeout time.Duration
	// ConnectTimeout closes a connection that has not joined any namespace
	// this long after its handshake. Default 45s.
	ConnectTimeout time.Duration

	// MaxPayload is the largest HTTP body or WebSocket message a client may
	// send, in bytes; it is counted as the bytes arrive, before they are
	// buffered. Larger polling bodies get 413, larger WebSocket messages
	// close the connection with status 1009. Default 1,000,000.
	MaxPayload int64
	// MaxAttachments is the most binary attachments one packet may carry.
	// Default 10.
	MaxAttachments int
	// MaxBufferedBytes caps the bytes queued for one connection. A client
	// that reads too slowly to keep under it is disconnected with reason
	// "send queue overflow", so that it never holds up a broadcast or
	// grows memory. It also caps the bytes of received events waiting for
	// one socket's handlers: past it, the connection is not read until
	// they catch up. Default 4 MiB.
	MaxBufferedBytes int64
	// MaxPendingAcks caps the acknowledgements one socket may owe the
	// server at once; EmitWithAck beyond it fails with ErrTooManyAcks.
	// Default 1024.
	MaxPendingAcks int
	// MaxRoomsPerSocket caps how many rooms one socket may be in (its own
	// room included); Join beyond it fails with ErrTooManyRooms.
	// Default 1024.
	MaxRoomsPerSocket int
	// MaxNamespaceLength is the longest namespace name a client may ask
	// for; longer ones are refused as invalid. Default 256 bytes.
	MaxNamespaceLength int
	// MaxConnecting caps the connections that completed the handshake but
	// joined no namespace yet; further handshakes are refused with 403.
	// Default 10,000.
	MaxConnecting int

	// Transports lists the transports allowed, from "polling" and
	// "websocket". Default both.
	Transports []string

	// AllowedOrigins lists the origins ("https://app.example.com") that
	// browsers may connect from, besides the server's own. By default only
	// same-origin browser requests are allowed, on both transports, which
	// prevents cross-site WebSocket hijacking. A request without an Origin
	// header (a non-browser client) is always allowed. "*" allows every
	// origin: use it only for public, unauthenticated data (CORS responses
	// then say "*" and allow no credentials, except to the origins listed).
	AllowedOrigins []string
	// CheckOrigin, when set, replaces the origin policy above: it is called
	// for every request that carries an Origin header, and CORS responses
	// name the origin it allowed. A panic refuses the request.
	CheckOrigin func(r *http.Request) bool
	// AllowRequest, when set, is called for each handshake; an error
	// refuses it with 403 and the error's message. A panic refuses it too,
	// with a plain "Forbidden".
	AllowRequest func(r *http.Request) error

	// Adapter creates the adapter of each namespace, which tracks rooms and
	// delivers broadcasts. Default: NewMemoryAdapter, for a single server.
	Adapter func(ns *Namespace) Adapter

	// OnError is called with errors that have no caller to return to: a
	// payload that does not decode into its event's type, a handler that
	// panicked (the socket is then disconnected). It runs on the socket's
	// handler goroutine. Default: log them.
	OnError func(s *Socket, err error)

	// Logger receives diagnostics. Default nil: silent.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultPath               = "/socket.io/"
	DefaultPingInterval       = 25 * time.Second
	DefaultPingTimeout        = 20 * time.Second
	DefaultUpgradeTimeout     = 10 * time.Second
	DefaultConnectTimeout     = 45 * time.Second
	DefaultMaxPayload         = 1_000_000
	DefaultMaxAttachments     = 10
	DefaultMaxBufferedBytes   = 4 << 20
	DefaultMaxPendingAcks     = 1024
	DefaultMaxRoomsPerSocket  = 1024
	DefaultMaxNamespaceLength = 256
	DefaultMaxConnecting      = 10_000
)

func (c *Config) setDefaults() {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if !strings.HasPrefix(c.Path, "/") {
		c.Path = "/" + c.Path
	}
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
	}
	setDefault(&c.PingInterval, DefaultPingInterval)
	setDefault(&c.PingTimeout, DefaultPingTimeout)
	setDefault(&c.UpgradeTimeout, DefaultUpgradeTimeout)
	setDefault(&c.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&c.MaxPayload, DefaultMaxPayload)
	setDefault(&c.MaxAttachments, DefaultMaxAttachments)
	setDefault(&c.MaxBufferedBytes, DefaultMaxBufferedBytes)
	setDefault(&c.MaxPendingAcks, DefaultMaxPendingAcks)
	setDefault(&c.MaxRoomsPerSocket, DefaultMaxRoomsPerSocket)
	setDefault(&c.MaxNamespaceLength, DefaultMaxNamespaceLength)
	setDefault(&c.MaxConnecting, DefaultMaxConnecting)
	if c.Adapter == nil {
		c.Adapter = NewMemoryAdapter
	}
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Server is a Socket.IO server. It is an http.Handler: mount it on a mux at
// Config.Path, or wrap an existing handler with Handler. Create it with New.
type Server struct {
	cfg    Config
	engine *engineio.Server
	log    *slog.Logger

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	parents []*Namespace // dynamic namespace families, see OfFunc

	connecting atomic.Int64 // handshakes that joined no namespace yet
	active     activity     // open connections and running handlers, for Shutdown
}

// New returns a Server configured by cfg.
func New(cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg:  cfg,
		nsps: make(map[string]*Namespace),
		log:  cfg.Logger,
	}
	if s.log == nil {
		s.log = slog.New(discard{})
	}
	ecfg := engineio.Config{
		PingInterval:     cfg.PingInterval,
		PingTimeout:      cfg.PingTimeout,
		UpgradeTimeout:   cfg.UpgradeTimeout,
		MaxPayload:       cfg.MaxPayload,
		MaxBufferedBytes: cfg.MaxBufferedBytes,
		CheckOrigin:      s.checkOrigin,
		CORSOrigin:       s.corsOrigin,
		AllowRequest:     s.allowRequest,
		Logger:           cfg.Logger,
	}
	if len(cfg.Transports) > 0 {
		ecfg.DisablePolling, ecfg.DisableWebSocket = true, true
		for _, t := range cfg.Transports {
			switch t {
			case engineio.Polling:
				ecfg.DisablePolling = false
			case engineio.WebSocket:
				ecfg.DisableWebSocket = false
			}
		}
	}
	s.engine = engineio.NewServer(ecfg, (*engineHandler)(s))
	s.Of("/")
	return s
}

// ServeHTTP serves the Socket.IO endpoint at Config.Path; any other path
// gets 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.matches(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	s.engine.ServeHTTP(w, r)
}

func (s *Server) matches(p string) bool {
	return p == s.cfg.Path || p == strings.TrimSuffix(s.cfg.Path, "/")
}

// Handler returns middleware: requests for Config.Path go to the Socket.IO
// server, every other request to next.
func (s *Server) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.matches(r.URL.Path) {
			s.engine.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Shutdown disconnects every client gracefully: each socket's OnDisconnect
// gets reason "server shutting down", what is queued is flushed, then the
// connection is closed, and no new connection is accepted. As with the Node
// server's close(), clients are not sent a namespace disconnect: they see
// their transport close ("transport close") and reconnect by themselves.
// It returns once all connections are closed and the sockets' handlers
// (OnDisconnect included) have returned, or when ctx ends: then the
// remaining connections are closed at once and ctx's error is returned.
// Calling it again waits the same way.
//
// To tie it to an http.Server, call it from http.Server.RegisterOnShutdown
// (see the example), or before http.Server.Shutdown. A long-polling client
// collects its goodbye with a request of its own, which a closed listener
// no longer accepts: with RegisterOnShutdown, such a client gets its
// disconnect only if it has a poll pending. A long-polling client that has
// not come for its goodbye within a second is taken to be gone and closed
// then; it reconnects when it finds its session unknown. Calling Shutdown
// first lets the clients that are there collect it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, ns := range s.nsps {
		nsps = append(nsps, ns)
	}
	s.mu.RUnlock()
	for _, ns := range nsps {
		for _, so := range ns.Sockets() {
			// No DISCONNECT packet, as with the Node server's close(): the
			// client sees its transport close and reconnects (to another
			// server, or to this one once it is back). A client told
			// "io server disconnect" would never reconnect by itself.
			so.disconnect(ReasonServerShutdown, false)
		}
	}
	err := s.engine.Shutdown(ctx)
	if err == nil {
		err = s.active.wait(ctx)
	}
	for _, ns := range nsps {
		ns.adapter.Close()
	}
	return err
}

// ConnectionCount returns the number of open Engine.IO connections.
func (s *Server) ConnectionCount() int { return s.engine.Count() }

func (s *Server) checkOrigin(r *http.Request) (ok bool) {
	if s.cfg.CheckOrigin != nil {
		defer s.recoverHook("CheckOrigin", func() { ok = false })
		return s.cfg.CheckOrigin(r)
	}
	origin := r.Header.Get("Origin")
	return s.listedOrigin(origin) || sameOrigin(r, origin) || slices.Contains(s.cfg.AllowedOrigins, "*")
}

func (s *Server) listedOrigin(origin string) bool {
	for _, o := range s.cfg.AllowedOrigins {
		if o != "*" && strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

func sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// corsOrigin is the Access-Control-Allow-Origin answer to an allowed
// request. An origin let in by "*" alone gets "*" without credentials, never
// its own name back: reflected with credentials, any site could read
// polling responses with the user's cookies.
func (s *Server) corsOrigin(r *http.Request) (string, bool) {
	origin := r.Header.Get("Origin")
	if s.cfg.CheckOrigin == nil && !s.listedOrigin(origin) && !sameOrigin(r, origin) {
		return "*", false
	}
	return origin, true
}

var (
	errTooManyConnecting = errors.New("too many connections waiting to join a namespace")
	errForbidden         = errors.New("Forbidden")
)

func (s *Server) allowRequest(r *http.Request) (err error) {
	if s.connecting.Load() >= int64(s.cfg.MaxConnecting) {
		return errTooManyConnecting
	}
	if s.cfg.AllowRequest != nil {
		defer s.recoverHook("AllowRequest", func() { err = errForbidden })
		return s.cfg.AllowRequest(r)
	}
	return nil
}

// recoverHook, deferred around a user hook, turns its panic into a refusal
// (refuse sets the result) and logs it: hooks run on a request's or a
// reader's goroutine, where a panic would cut the client off without an
// answer and leave its session behind.
func (s *Server) recoverHook(hook string, refuse func()) {
	if v := recover(); v != nil {
		s.log.Error("socketio: "+hook+" panicked; refused", "panic", v)
		refuse()
	}
}

type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return false }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }
