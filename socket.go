package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirekit/socketio/internal/engineio"
	"github.com/wirekit/socketio/internal/parser"
)

// Disconnect reasons, as passed to OnDisconnect handlers. The client's
// socket.io-client reports its own side: "io server disconnect" when the
// server disconnected it, "transport close", "ping timeout" and so on.
const (
	ReasonServerDisconnect = "server namespace disconnect" // Socket.Disconnect
	ReasonClientDisconnect = "client namespace disconnect" // the client left
	ReasonServerShutdown   = engineio.ReasonShutdown       // Server.Shutdown
	ReasonPingTimeout      = engineio.ReasonPingTimeout    // no pong in time
	ReasonTransportClose   = engineio.ReasonTransportClose // the connection closed
	ReasonTransportError   = engineio.ReasonTransportError // the connection failed
	ReasonParseError       = engineio.ReasonParseError     // the client sent an invalid packet
	ReasonForcedClose      = engineio.ReasonForcedClose    // the connection was closed by the server
	ReasonQueueOverflow    = engineio.ReasonQueueOverflow  // the client read too slowly, see Config.MaxBufferedBytes
)

// maxQueuedEvents is how many events of one socket may wait for its
// handler goroutine before the connection's reader stops reading (TCP
// back-pressure on a client that sends faster than its handlers run); the
// bytes they hold are bounded too, by Config.MaxBufferedBytes.
const maxQueuedEvents = 256

type socketState uint8

const (
	stateConnecting socketState = iota
	stateConnected
	stateDisconnected
)

// Handshake describes the request that opened a socket's connection.
type Handshake struct {
	Header  http.Header     // request headers
	Query   url.Values      // query parameters of the handshake URL
	Auth    json.RawMessage // the client's "auth" payload, nil if none
	Address string          // remote address, as in http.Request.RemoteAddr
	Host    string          // the Host header
	Secure  bool            // TLS was used (as seen by this server)
	Time    time.Time       // when the socket connected
}

// Socket is one client connected to one namespace. Handlers of a socket run
// one at a time, in order (the package documentation says on which
// goroutine); its methods are safe for concurrent use from any goroutine.
type Socket struct {
	id     string
	ns     *Namespace
	conn   *conn
	hs     Handshake
	ctx    context.Context
	cancel context.CancelFunc
	q      serial

	mu    sync.Mutex
	state socketState
	acks  map[uint64]func(Args, error)
	data  any
	early []string // rooms joined while connecting (by a middleware)
}

func newSocket(ns *Namespace, c *conn, auth json.RawMessage) *Socket {
	req := c.sess.Request()
	ctx, cancel := context.WithCancel(req.Context()) // the handshake's values, never cancelled
	return &Socket{
		id:   engineio.NewID(),
		ns:   ns,
		conn: c,
		hs: Handshake{
			Header:  req.Header,
			Auth:    auth,
			Address: req.RemoteAddr,
			Host:    req.Host,
			Secure:  req.TLS != nil,
			Time:    time.Now(),
		},
		ctx:    ctx,
		cancel: cancel,
		q:      serial{active: &ns.srv.active},
	}
}

// ID returns the socket's id: random, distinct from the connection's
// Engine.IO id, and the name of a room that holds only this socket.
func (s *Socket) ID() string { return s.id }

// Namespace returns the namespace the socket is connected to.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Handshake returns the details of the request that opened the connection.
// Its Query is parsed from the request's URL at each call (an idle socket
// keeps no copy of it).
func (s *Socket) Handshake() Handshake {
	hs := s.hs
	hs.Query = s.conn.sess.Request().URL.Query()
	return hs
}

// DecodeAuth decodes the client's auth payload into v. It does nothing
// when the client sent none.
func (s *Socket) DecodeAuth(v any) error {
	if len(s.hs.Auth) == 0 {
		return nil
	}
	return json.Unmarshal(s.hs.Auth, v)
}

// Context returns a context cancelled when the socket disconnects. It
// carries the values of the handshake request's context: what an HTTP
// middleware in front of the server put there (a signed-in user, a request
// id, a trace) is there for namespace middlewares and handlers. For a
// connection that upgrades from long-polling, the handshake is its first
// request.
func (s *Socket) Context() context.Context { return s.ctx }

// Transport returns the transport the connection uses now: "polling" or
// "websocket".
func (s *Socket) Transport() string { return s.conn.sess.Transport() }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateConnected
}

// SetData stores a value for the application (a user, a session...).
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Data returns the value stored with SetData, or nil.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// Emit sends an event with untyped arguments to the client. []byte values
// anywhere in args travel as binary. Prefer the typed Emit function. A
// middleware may emit, as on the Node server: the client gets the events
// right after it is told it is connected (and never, if it is refused).
func (s *Socket) Emit(event string, args ...any) error {
	p, err := eventPacket(event, args)
	if err != nil {
		return err
	}
	return s.emitPacket(p)
}

// EmitWithAck sends an event and waits for the client's acknowledgement,
// until ctx ends. The error is an *AckError when the client does not answer
// in time (errors.Is ErrAckTimeout) or disconnects first (errors.Is
// ErrDisconnected).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	p, err := eventPacket(event, args)
	if err != nil {
		return Args{}, err
	}
	ch := make(chan ackResult, 1)
	id, err := s.registerAck(func(a Args, err error) { ch <- ackResult{a, err} })
	if err != nil {
		return Args{}, err
	}
	p.ID, p.HasID = int64(id), true
	if err := s.emitPacket(p); err != nil {
		s.dropAck(id)
		return Args{}, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			r.err.(*AckError).Event = event
		}
		return r.args, r.err
	case <-ctx.Done():
		s.dropAck(id)
		return Args{}, &AckError{Event: event, Timeout: errors.Is(ctx.Err(), context.DeadlineExceeded), Err: ctx.Err()}
	}
}

type ackResult struct {
	args Args
	err  error
}

// registerAck reserves an ack id whose acknowledgement calls fn on the
// connection's reader goroutine (fn must not block), or with an error when
// the socket disconnects.
func (s *Socket) registerAck(fn func(Args, error)) (uint64, error) {
	id := s.ns.ackIDs.Add(1) - 1
	return id, s.registerAckID(id, fn)
}

func (s *Socket) registerAckID(id uint64, fn func(Args, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateConnected {
		return ErrDisconnected
	}
	if len(s.acks) >= s.ns.srv.cfg.MaxPendingAcks {
		return ErrTooManyAcks
	}
	if s.acks == nil {
		s.acks = make(map[uint64]func(Args, error))
	}
	s.acks[id] = fn
	return nil
}

func (s *Socket) dropAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// onAck handles an ACK from the client, on the reader goroutine. Unknown
// and late acks are ignored; each ack fires at most once.
func (s *Socket) onAck(p *parser.Packet) {
	if !p.HasID {
		return
	}
	s.mu.Lock()
	fn := s.acks[uint64(p.ID)]
	delete(s.acks, uint64(p.ID))
	s.mu.Unlock()
	if fn == nil {
		return
	}
	elems, err := parser.SplitArray(p.Data)
	if err != nil {
		return
	}
	fn(Args{elems: elems, atts: p.Attachments}, nil)
}

// emitPacket sends an event packet to this socket's client: while it
// connects too, ahead of the CONNECT packet (socket.io-client holds such
// events until it has connected).
func (s *Socket) emitPacket(p *parser.Packet) error {
	s.mu.Lock()
	gone := s.state == stateDisconnected
	s.mu.Unlock()
	if gone {
		return ErrDisconnected
	}
	p.Namespace = s.ns.name
	return s.sendErr(s.conn.send(p))
}

func (s *Socket) sendErr(err error) error {
	switch err {
	case nil:
		return nil
	case engineio.ErrQueueFull:
		return ErrQueueOverflow
	default:
		return ErrDisconnected
	}
}

// Disconnect disconnects the socket from its namespace; the client sees
// reason "io server disconnect" and does not reconnect by itself. With
// close, the socket's other namespaces on the connection are disconnected
// the same way and the whole connection is closed, after what is queued has
// been sent. Until the socket is connected (while a middleware runs), it
// does nothing, as on the Node server: a middleware refuses a socket by
// returning an error.
func (s *Socket) Disconnect(close bool) {
	s.mu.Lock()
	connecting := s.state == stateConnecting
	s.mu.Unlock()
	if connecting {
		return
	}
	s.disconnect(ReasonServerDisconnect, true)
	if close {
		// Every namespace of the connection is told, as the reference
		// server does: a client that saw only the transport close would
		// reconnect them.
		s.conn.mu.Lock()
		others := make([]*Socket, 0, len(s.conn.sockets))
		for _, so := range s.conn.sockets {
			others = append(others, so)
		}
		s.conn.mu.Unlock()
		for _, so := range others {
			so.disconnect(ReasonServerDisconnect, true)
		}
		s.conn.sess.Close(ReasonForcedClose)
	}
}

// disconnect moves the socket to disconnected, once: acks waiting fail,
// rooms are left, the client is told when notify, then OnDisconnect
// handlers run on the handler goroutine.
func (s *Socket) disconnect(reason string, notify bool) {
	s.mu.Lock()
	prev := s.state
	if prev == stateDisconnected {
		s.mu.Unlock()
		return
	}
	s.state = stateDisconnected
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	s.cancel()
	s.q.close()
	// A shutdown is a server-side disconnect that the client is not told
	// about (see Server.Shutdown): what it sends meanwhile is dropped too.
	s.conn.removeSocket(s, prev == stateConnected && (notify || reason == ReasonServerShutdown))
	if prev != stateConnected {
		return
	}
	for _, fn := range acks {
		fn(Args{}, &AckError{Err: &DisconnectError{Reason: reason}})
	}
	s.ns.remove(s)
	if notify {
		s.conn.send(&parser.Packet{Type: parser.Disconnect, Namespace: s.ns.name})
	}
	s.ns.reg.mu.RLock()
	hs := s.ns.reg.onDisconnect
	s.ns.reg.mu.RUnlock()
	if len(hs) > 0 {
		s.q.push(func() {
			for _, h := range hs {
				s.safely("disconnect handler", func() { h(s, reason) })
			}
		})
	}
}

// runConnect runs the middlewares, then connects the socket. It runs on the
// socket's handler goroutine.
func (s *Socket) runConnect() {
	defer s.ns.connectDone()
	s.ns.reg.mu.RLock()
	mws := s.ns.reg.middlewares
	s.ns.reg.mu.RUnlock()
	for _, mw := range mws {
		err := s.callMiddleware(mw)
		if err == nil {
			continue
		}
		s.mu.Lock()
		wasConnecting := s.state == stateConnecting
		s.state = stateDisconnected
		s.mu.Unlock()
		s.cancel()
		s.q.close()
		s.conn.removeSocket(s, false)
		if wasConnecting {
			var ce *ConnectError
			if !errors.As(err, &ce) {
				ce = &ConnectError{Message: err.Error()}
			}
			s.conn.sendConnectError(s.ns.name, ce)
		}
		return
	}
	s.mu.Lock()
	if s.state != stateConnecting {
		s.mu.Unlock()
		return
	}
	s.state = stateConnected
	early := s.early
	s.early = nil
	s.mu.Unlock()
	s.ns.add(s, early)
	s.conn.markJoined()
	sid, _ := json.Marshal(struct {
		SID string `json:"sid"`
	}{s.id})
	s.conn.send(&parser.Packet{Type: parser.Connect, Namespace: s.ns.name, Data: sid})
	s.ns.reg.mu.RLock()
	hs := s.ns.reg.onConnect
	s.ns.reg.mu.RUnlock()
	for _, h := range hs {
		if !s.safely("connect handler", func() { h(s) }) {
			return
		}
	}
}

func (s *Socket) callMiddleware(mw func(*Socket) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.reportError(fmt.Errorf("socketio: middleware panicked: %v", v))
			err = errors.New("server error")
		}
	}()
	return mw(s)
}

// safely runs user code; a panic is reported and disconnects the socket.
// It reports whether fn returned normally.
func (s *Socket) safely(what string, fn func()) (ok bool) {
	return s.safelyEvent(what, "", fn)
}

// safelyEvent is safely for the handler of an event: the report names
// it, quoted after what. The name is formatted only on a panic, not for
// every event.
func (s *Socket) safelyEvent(what, event string, fn func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if event != "" {
				what = fmt.Sprintf("%s %q", what, event)
			}
			s.reportError(fmt.Errorf("socketio: %s panicked: %v", what, v))
			s.Disconnect(false)
			ok = false
		}
	}()
	fn()
	return true
}

func (s *Socket) reportError(err error) {
	if h := s.ns.srv.cfg.OnError; h != nil {
		// OnError is user code too, and often runs while a panic is
		// being recovered: a panic of its own would end the process.
		defer func() {
			if v := recover(); v != nil {
				s.ns.srv.log.Error("socketio: OnError panicked", "namespace", s.ns.name, "socket", s.id, "err", err, "panic", v)
			}
		}()
		h(s, err)
		return
	}
	s.ns.srv.log.Error("socketio: handler error", "namespace", s.ns.name, "socket", s.id, "err", err)
}

// onEvent runs on the connection's reader goroutine. It runs an EVENT's
// handlers right there if loan allows and none of the socket's handlers is
// running (see serial), or else queues the event; it blocks while the
// socket's handlers are far behind.
func (s *Socket) onEvent(p *parser.Packet, loan *engineio.Loan) error {
	ev := &inbound{s: s, id: p.ID, hasID: p.HasID}
	elems, err := parser.AppendArray(ev.elems[:0], p.Data)
	if err != nil || len(elems) == 0 {
		return fmt.Errorf("event payload is not a non-empty array")
	}
	name, ok := s.ns.reg.eventName(elems[0])
	if !ok {
		var decoded string // apart from name, which stays off the heap
		if c := elems[0][0]; c == '-' || c >= '0' && c <= '9' {
			decoded = jsNumberName(elems[0])
		} else if err := json.Unmarshal(elems[0], &decoded); err != nil {
			return fmt.Errorf("event name is not a string")
		}
		name = decoded
	}
	if parser.IsReserved(name) {
		return fmt.Errorf("reserved event name %q", name)
	}
	args := Args{elems: elems[1:], atts: p.Attachments}
	size := int64(len(p.Data))
	for _, a := range p.Attachments {
		size += int64(len(a))
	}
	if loan != nil && s.q.claimIdle(size) {
		// Run here: neither closure escapes, nothing is queued.
		loan.Run(func() { s.q.drain(func() { s.handleEvent(name, args, ev) }, size) })
		return nil
	}
	s.q.pushWait(func() { s.handleEvent(name, args, ev) }, size,
		maxQueuedEvents, s.ns.srv.cfg.MaxBufferedBytes, s.ctx.Done())
	return nil
}

// inbound is an event from the client: the backing array of its
// arguments, and what its Ack needs, in one allocation.
type inbound struct {
	s     *Socket
	id    int64
	hasID bool // the client asked for an ack
	acked atomic.Bool
	elems [4]json.RawMessage // the event name and up to 3 arguments
}

// jsNumberName returns the string JavaScript makes of the JSON number raw
// (String(JSON.parse(raw))): the name the Node server gives an event whose
// name is a number, which socket.io-parser allows. A handler registered
// for "42" receives 42[42,...]; 1e3 is "1000", 1.5e-8 is "1.5e-8".
func jsNumberName(raw []byte) string {
	f, _ := strconv.ParseFloat(string(raw), 64) // ±Inf when out of range
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0" // -0 too
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	// JavaScript writes the exponent with no leading zeros: 1.5e-8.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	i := strings.LastIndexAny(e, "+-")
	return e[:i+1] + strings.TrimLeft(e[i+1:], "0")
}

// isPlainString reports whether raw is a JSON string with nothing to
// unescape, the usual event name, which then needs no encoding/json.
func isPlainString(raw []byte) bool {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	for _, c := range raw[1 : len(raw)-1] {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

func (s *Socket) handleEvent(name string, args Args, ev *inbound) {
	anys, h := s.ns.reg.lookup(name)
	var ack Ack
	if ev.hasID {
		ack = ev.ack
	}
	for _, a := range anys {
		if !s.safely("OnAny handler", func() { a(s, name, args) }) {
			return
		}
	}
	if h != nil {
		s.safelyEvent("handler of", name, func() { h(s, args, ack) })
	}
}

// ack answers the client's ack id, at most once: it is the event's Ack.
func (ev *inbound) ack(args ...any) error {
	if !ev.acked.CompareAndSwap(false, true) {
		return ErrAckSent
	}
	s := ev.s
	// Encoded straight into its Engine.IO message, after the header it
	// has without attachments.
	p := parser.Packet{Type: parser.Ack, Namespace: s.ns.name, ID: ev.id, HasID: true}
	msg := parser.AppendPacket(append(make([]byte, 0, 128), engineio.TypeMessage), &p)
	n := len(msg)
	msg, atts, err := parser.AppendArgs(msg, args...)
	if err != nil {
		return err
	}
	if !s.Connected() {
		return ErrDisconnected
	}
	if len(atts) == 0 {
		return s.sendErr(s.conn.replyMessage(msg))
	}
	p.Data, p.Attachments = msg[n:], atts // a binary ack's header differs
	return s.sendErr(s.conn.reply(&p))
}

// serial runs jobs one at a time, in order, on a goroutine that exists only
// while there is work: an idle socket costs no goroutine. An event that
// finds the queue idle runs on the goroutine that read it instead, when
// that goroutine can be lent (see engineio.Loan and Socket.onEvent): no
// goroutine is started for it, and if it blocks, the reading moves to
// another goroutine.
type serial struct {
	active *activity // the server's, counting the goroutine while it runs

	mu      sync.Mutex
	jobs    []job
	bytes   int64 // sizes of the jobs queued and of the one running
	running bool
	closed  bool
	waiting int
	room    chan struct{}
}

// job is a queued function, with the bytes it holds on to until it ends.
type job struct {
	f    func()
	size int64
}

// push queues f; it never blocks.
func (q *serial) push(f func()) {
	q.mu.Lock()
	q.pushLocked(job{f: f})
	q.mu.Unlock()
}

func (q *serial) pushLocked(j job) {
	q.jobs = append(q.jobs, j)
	q.bytes += j.size
	if !q.running {
		q.running = true
		q.active.add()
		go q.run()
	}
}

// claimIdle reports whether the queue is idle, and if so marks it running,
// for a job of size bytes that the caller runs at once with drain.
func (q *serial) claimIdle(size int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running {
		return false
	}
	q.running = true
	q.bytes += size
	q.active.add()
	return true
}

// pushWait queues f, which holds size bytes until it ends, first waiting
// while limit jobs are queued or while the bytes held would exceed
// maxBytes (one job, however large, may always run), unless done closes
// (then f is dropped).
func (q *serial) pushWait(f func(), size int64, limit int, maxBytes int64, done <-chan struct{}) {
	q.mu.Lock()
	for !q.closed && (len(q.jobs) >= limit || (q.bytes > 0 && q.bytes+size > maxBytes)) {
		if q.room == nil {
			q.room = make(chan struct{}, 1)
		}
		q.waiting++
		room := q.room
		q.mu.Unlock()
		select {
		case <-room:
		case <-done:
			q.mu.Lock()
			q.waiting--
			q.mu.Unlock()
			return
		}
		q.mu.Lock()
		q.waiting--
	}
	q.pushLocked(job{f: f, size: size})
	q.mu.Unlock()
}

// close releases a pushWait that waits for room.
func (q *serial) close() {
	q.mu.Lock()
	q.closed = true
	q.signalLocked()
	q.mu.Unlock()
}

// signalLocked tells a waiting pushWait to look again.
func (q *serial) signalLocked() {
	if q.waiting > 0 || q.closed {
		if q.room != nil {
			select {
			case q.room <- struct{}{}:
			default:
			}
		}
	}
}

// run is the queue's goroutine.
func (q *serial) run() {
	engineio.GrowStack() // handlers need more than a new goroutine has
	q.drain(nil, 0)
}

// drain runs first (claimed with claimIdle for size bytes), if not nil,
// then the jobs queued until none is left.
func (q *serial) drain(first func(), size int64) {
	done := false
	defer func() {
		if !done {
			// A job ended the goroutine (runtime.Goexit, as
			// t.FailNow does): the rest run on another.
			q.ended(size)
			go q.run()
		}
	}()
	if first != nil {
		first()
		q.ended(size)
		size = 0
	}
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			q.jobs = nil
			q.mu.Unlock()
			q.active.done()
			done = true
			return
		}
		j := q.jobs[0]
		q.jobs[0] = job{}
		q.jobs = q.jobs[1:]
		q.signalLocked()
		q.mu.Unlock()
		size = j.size
		j.f()
		q.ended(size)
		size = 0
	}
}

// ended releases the bytes of a job that has ended.
func (q *serial) ended(size int64) {
	if size > 0 {
		q.mu.Lock()
		q.bytes -= size
		q.signalLocked()
		q.mu.Unlock()
	}
}

// activity counts what Server.Shutdown waits for: connections whose close
// has not been fully handled, and running handler goroutines.
type activity struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil when nobody waits
}

func (a *activity) add() {
	a.mu.Lock()
	a.n++
	a.mu.Unlock()
}

func (a *activity) done() {
	a.mu.Lock()
	a.n--
	if a.n == 0 && a.idle != nil {
		close(a.idle)
		a.idle = nil
	}
	a.mu.Unlock()
}

// wait returns when nothing is active, or with ctx's error.
func (a *activity) wait(ctx context.Context) error {
	for {
		a.mu.Lock()
		if a.n == 0 {
			a.mu.Unlock()
			return nil
		}
		if a.idle == nil {
			a.idle = make(chan struct{})
		}
		idle := a.idle
		a.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
