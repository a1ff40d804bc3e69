package engineio

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// Errors returned by Session.Send.
var (
	ErrClosed     = errors.New("engineio: session closed")
	ErrQueueFull  = errors.New("engineio: send queue full")
	errDuplicated = errors.New("engineio: concurrent request on one session")
)

type sessionState uint8

const (
	stateOpen    sessionState = iota
	stateClosing              // flushing its queue, then closes
	stateClosed
)

// Session is one Engine.IO connection. Its methods are safe for concurrent
// use.
type Session struct {
	srv  *Server
	id   string
	req  *http.Request
	done chan struct{} // closed when the session closes

	// Value is the upper layer's state for this session, set in OnOpen
	// before any message arrives and not changed afterwards.
	Value any

	mu        sync.Mutex
	state     sessionState
	reason    string
	transport string
	queue     []Packet
	spare     []Packet
	queued    int64 // bytes in queue
	pingDue   bool
	pollWake  chan struct{} // capacity 1: a waiting GET
	noopClose bool          // a GET pending at close answers 6 rather than 1

	// Handler calls: callbacks counts OnOpen/OnMessage calls in progress
	// (OnOpen counts from creation); an OnClose due while one runs is left
	// to the last of them, so that nothing follows or overlaps OnClose.
	callbacks    int
	closePending bool

	// heartbeat
	timer        *time.Timer
	timerGen     uint64
	awaitingPong bool
	pingAt       time.Time // when the next ping is due
	pongBy       time.Time // the pong deadline, while awaitingPong

	// polling
	polling   bool                     // a GET is in progress
	posting   bool                     // a POST is in progress
	postRC    *http.ResponseController // ... and is reading its body
	upgrading bool                     // a WebSocket is probing this session
	probed    bool                     // ... and has sent 2probe

	// websocket
	ws        *websocket.Conn
	probeWS   *websocket.Conn
	closeCode int

	// the websocket writer, a goroutine that runs while there is work
	wsOut      *wsOut
	writer     func()        // writeLoop, as a value made once
	writing    bool          // it runs
	wsDone     chan struct{} // closed when it has written the close frame
	wsDeadline time.Time     // ws's write deadline

	// a WebSocket reader that parked (see park): none runs
	parkTok uint64 // the idle poller's token (from 1), 0 when not parked
	parkIn  *wsIn
}

// handshakeRequest is what is kept of a handshake request once it is
// served: its method, URL, headers, host, remote address, TLS state and
// the values of its context (what an HTTP middleware in front of the
// server put there), without the body, the context's cancellation (the
// request is over, the session is not) or the rest of what net/http made
// for it. A session keeps it, and so does x/net for a WebSocket.
func handshakeRequest(r *http.Request) *http.Request {
	kept := &http.Request{
		Method:     r.Method,
		URL:        r.URL,
		Proto:      r.Proto,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Header:     r.Header, // the request is done with it: no copy
		Host:       r.Host,
		RemoteAddr: r.RemoteAddr,
		RequestURI: r.RequestURI,
		TLS:        r.TLS,
	}
	return kept.WithContext(context.WithoutCancel(r.Context()))
}

// forgetRequest empties r, made by handshakeRequest, of everything but its
// method and remote address. x/net keeps the request of a WebSocket for the
// connection's lifetime; when the connection upgrades a polling session,
// which has a request of its own, that would be every header twice.
func forgetRequest(r *http.Request) {
	*r = http.Request{Method: r.Method, RemoteAddr: r.RemoteAddr}
}

// newSession makes a session for req, made by handshakeRequest.
func newSession(srv *Server, req *http.Request, transport string) *Session {
	return &Session{
		srv:       srv,
		id:        newID(),
		req:       req,
		done:      make(chan struct{}),
		transport: transport,
		pollWake:  make(chan struct{}, 1),
		callbacks: 1, // OnOpen: see Server.open
	}
}

// ID returns the session id (the "sid" of the protocol).
func (s *Session) ID() string { return s.id }

// Request returns the handshake request: its method, URL, headers, host,
// remote address and TLS state, and a context with the values of the
// request's context but never cancelled. Its body is not available.
func (s *Session) Request() *http.Request { return s.req }

// Done returns a channel closed when the session closes.
func (s *Session) Done() <-chan struct{} { return s.done }

// Transport returns the name of the transport in use.
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// Writable reports whether a packet sent now would go out without waiting:
// a poll is pending, or the WebSocket has nothing queued.
func (s *Session) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen || s.upgrading {
		return false
	}
	if s.transport == Polling {
		return s.polling && len(s.queue) == 0
	}
	return len(s.queue) == 0
}

func (s *Session) openPacket() []byte {
	upgrades := `[]`
	if s.transport == Polling && !s.srv.cfg.DisableWebSocket {
		upgrades = `["websocket"]`
	}
	c := &s.srv.cfg
	b := make([]byte, 0, 128)
	b = append(b, `0{"sid":"`...)
	b = append(b, s.id...)
	b = append(b, `","upgrades":`...)
	b = append(b, upgrades...)
	b = append(b, `,"pingInterval":`...)
	b = strconv.AppendInt(b, c.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, c.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, c.MaxPayload, 10)
	b = append(b, '}')
	return b
}

func packetSize(p Packet) int64 { return int64(len(p.Data)) }

// Send queues packets to be sent in order, with nothing from another Send
// between them (a Socket.IO packet and its binary attachments stay
// together). It never blocks on the network. When the queue would exceed
// Config.MaxBufferedBytes, the session is closed with ReasonQueueOverflow
// and ErrQueueFull is returned.
//
// On a WebSocket, a writer goroutine sends what is queued, several packets
// in one write when they queue faster than the connection takes them.
func (s *Session) Send(pkts ...Packet) error {
	return s.send(pkts, nil, false)
}

// SendNow is Send for a reply that nothing else is likely to follow soon,
// such as an ack: when the session is on a WebSocket with nothing queued
// or being written, the calling goroutine writes the packets itself, with
// one write that does not wait for the network, and a writer goroutine
// is started only for what the connection did not take at once. This
// saves the hand-off to a goroutine; it never blocks either.
func (s *Session) SendNow(pkts ...Packet) error {
	return s.send(pkts, nil, true)
}

// SendBatch is Send for one of the recipients of a broadcast: the packets
// are queued, and the session is left for b.Flush to write, together with
// the other recipients that have no writer running, on one goroutine,
// rather than on a goroutine each.
func (s *Session) SendBatch(b *Batch, pkts ...Packet) error {
	return s.send(pkts, b, false)
}

func (s *Session) send(pkts []Packet, b *Batch, now bool) error {
	var n int64
	for _, p := range pkts {
		n += packetSize(p)
	}
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.queued+n > s.srv.cfg.MaxBufferedBytes {
		// Closed before unlocking: a later, smaller packet must not be
		// queued after this one was dropped.
		c := s.closeLocked(ReasonQueueOverflow, false)
		s.mu.Unlock()
		// OnClose may run user code: not on the sender's goroutine.
		s.finishClose(c, true)
		return ErrQueueFull
	}
	s.queue = append(s.queue, pkts...)
	s.queued += n
	// The caller becomes the writer (now), or b does, if there is none
	// and the connection can be written to without waiting.
	own := (now || b != nil) && s.ws != nil && !s.writing && s.wsOut.canTry
	if own {
		s.writing = true
	} else {
		s.wakeLocked()
	}
	s.mu.Unlock()
	switch {
	case !own:
	case b != nil:
		b.sessions = append(b.sessions, s)
	default:
		s.writeNow()
	}
	return nil
}

func (s *Session) wakeLocked() {
	s.startWriterLocked()
	select {
	case s.pollWake <- struct{}{}:
	default:
	}
}

// Batch collects the recipients of a broadcast for SendBatch; Flush then
// writes to them. A Batch is used once.
type Batch struct {
	sessions []*Session
	run      func() // b.flush, made once: go b.run() allocates nothing
}

var batchPool sync.Pool

// NewBatch returns an empty Batch.
func NewBatch() *Batch {
	if b, ok := batchPool.Get().(*Batch); ok {
		return b
	}
	b := &Batch{}
	b.run = b.flush
	return b
}

// Flush writes to the sessions SendBatch left to b, on a goroutine of
// its own, and releases b. Writes that do not wait for the network let one
// goroutine serve every recipient: a recipient whose connection does not
// take its packets at once gets a writer goroutine of its own for the
// rest, and what is queued on a session after Flush took it goes there
// too. Flush must be called once SendBatch has been, or those sessions
// never write again.
func (b *Batch) Flush() {
	if len(b.sessions) == 0 {
		batchPool.Put(b)
		return
	}
	go b.run()
}

func (b *Batch) flush() {
	for _, s := range b.sessions {
		s.writeNow()
	}
	clear(b.sessions)
	if cap(b.sessions) > 1<<16 {
		b.sessions = nil
	}
	b.sessions = b.sessions[:0]
	batchPool.Put(b)
}

// takeLocked removes and returns everything queued. The caller hands the
// slice back with recycle once it is written.
func (s *Session) takeLocked() []Packet {
	q := s.queue
	s.queue = s.spare[:0]
	s.spare = nil
	s.queued = 0
	return q
}

func (s *Session) recycle(q []Packet) {
	clear(q)
	s.mu.Lock()
	if s.spare == nil && cap(q) <= 1024 {
		s.spare = q[:0]
	}
	s.mu.Unlock()
}

// idleRoom is the room, in packets, that a session's queue and its spare
// each keep past a ping with nothing queued. A busy session keeps the room
// its bursts grew, and queues them without allocating; once it is idle,
// it gives that back (a queue of 1,024 packets is 56 KiB).
const idleRoom = 32

// trimLocked gives back the room of an idle session's queue.
func (s *Session) trimLocked() {
	if len(s.queue) == 0 && cap(s.queue) > idleRoom {
		s.queue = nil
	}
	if cap(s.spare) > idleRoom {
		s.spare = nil
	}
}

// Close closes the session gracefully: what is already queued is sent, then
// the client is told to close. Further Sends fail. If the client does not
// collect the queue within PingTimeout, the session is closed anyway.
func (s *Session) Close(reason string) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.state = stateClosing
	s.reason = reason
	s.timerGen++
	if s.timer != nil {
		s.timer.Stop()
	}
	gen := s.timerGen
	s.timer = time.AfterFunc(s.srv.cfg.PingTimeout, func() { s.onTimer(gen, reason) })
	s.wakeLocked()
	s.mu.Unlock()
}

// pollingIdle reports whether the session is on long-polling with no GET
// in progress.
func (s *Session) pollingIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport == Polling && !s.polling
}

// closeNow closes the session at once: the queue is dropped, waiters are
// released, OnClose runs. It is idempotent. noop selects what a pending GET
// receives: a noop (the client asked to close) or a close packet.
func (s *Session) closeNow(reason string, noop bool) {
	s.mu.Lock()
	c := s.closeLocked(reason, noop)
	s.mu.Unlock()
	s.finishClose(c, false)
}

// closing is what finishClose has left to do once the session is marked
// closed.
type closing struct {
	done      bool // the session was already closed: nothing to do
	reason    string
	ws, probe *websocket.Conn
	notify    bool // run OnClose (no callback in progress)
	tomb      bool // the client closed over polling with no GET waiting
}

// closeLocked marks the session closed; the caller then calls finishClose
// without the lock.
func (s *Session) closeLocked(reason string, noop bool) closing {
	if s.state == stateClosed {
		return closing{done: true}
	}
	if s.state == stateClosing && s.reason != "" {
		reason = s.reason
	}
	s.state = stateClosed
	s.reason = reason
	s.noopClose = noop
	s.timerGen++
	if s.timer != nil {
		s.timer.Stop()
	}
	clear(s.queue)
	s.queue, s.spare, s.queued = nil, nil, 0
	close(s.done)
	s.startWriterLocked() // for the close frame
	if s.postRC != nil {
		// Under the lock, so that the POST is still reading: its
		// connection may serve another request once it has returned.
		s.postRC.SetReadDeadline(time.Now())
	}
	notify := s.callbacks == 0
	s.closePending = !notify
	tomb := noop && s.transport == Polling && !s.polling
	return closing{reason: reason, ws: s.ws, probe: s.probeWS, notify: notify, tomb: tomb}
}

// finishClose releases the connections, removes the session from the server
// and runs OnClose, on a new goroutine when async.
func (s *Session) finishClose(c closing, async bool) {
	if c.done {
		return
	}
	// Unblock the reader now; give the writer a moment to say goodbye.
	now := time.Now()
	for _, conn := range []*websocket.Conn{c.ws, c.probe} {
		if conn != nil {
			conn.SetReadDeadline(now)
			conn.SetWriteDeadline(now.Add(time.Second))
		}
	}
	if c.ws != nil {
		s.unpark(0) // a parked reader has no deadline to see
	}
	if c.tomb {
		s.srv.tomb(s.id) // before remove: a GET must find one or the other
	}
	s.srv.remove(s)
	if !c.notify {
		return
	}
	if async {
		go s.srv.h.OnClose(s, c.reason)
	} else {
		s.srv.h.OnClose(s, c.reason)
	}
}

// beginCallback reports whether the handler may be called for the session,
// which it may not once closed, and counts the call in progress.
func (s *Session) beginCallback() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateClosed {
		return false
	}
	s.callbacks++
	return true
}

// endCallback ends a handler call. It runs OnClose if the session closed
// meanwhile, and reports whether the session is still open.
func (s *Session) endCallback() bool {
	s.mu.Lock()
	s.callbacks--
	notify := s.callbacks == 0 && s.closePending
	if notify {
		s.closePending = false
	}
	closed, reason := s.state == stateClosed, s.reason
	s.mu.Unlock()
	if notify {
		s.srv.h.OnClose(s, reason)
	}
	return !closed
}

// schedulePingLocked arms the timer for the next ping.
func (s *Session) schedulePingLocked() {
	s.timerGen++
	gen := s.timerGen
	if s.timer != nil {
		s.timer.Stop()
	}
	s.pingAt = time.Now().Add(s.srv.cfg.PingInterval)
	s.timer = time.AfterFunc(s.srv.cfg.PingInterval, func() { s.onTimer(gen, "") })
}

// pongOverdueLocked reports whether the pong deadline has passed, whether
// or not its timer has fired yet: a request that arrives just after the
// deadline must find the session dead, as the client's clock says it is.
func (s *Session) pongOverdueLocked() bool {
	return s.state == stateOpen && s.awaitingPong && !time.Now().Before(s.pongBy)
}

// onTimer fires for a ping due (reason "") or, with a reason, for a deadline
// that closes the session: no pong in time, or a graceful close not
// collected in time.
func (s *Session) onTimer(gen uint64, reason string) {
	s.mu.Lock()
	if gen != s.timerGen || s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	if reason != "" {
		s.mu.Unlock()
		s.closeNow(reason, false)
		return
	}
	s.trimLocked()
	// The pong deadline starts when the ping is queued, that is when it
	// was due (the timer may fire late); the ping goes out ahead of
	// anything else queued.
	s.pingDue = true
	s.awaitingPong = true
	s.pongBy = s.pingAt.Add(s.srv.cfg.PingTimeout)
	s.timerGen++
	gen = s.timerGen
	s.timer = time.AfterFunc(time.Until(s.pongBy), func() { s.onTimer(gen, ReasonPingTimeout) })
	s.wakeLocked()
	s.mu.Unlock()
}

func (s *Session) onPong() {
	s.mu.Lock()
	if s.awaitingPong && s.state == stateOpen {
		s.awaitingPong = false
		s.schedulePingLocked()
	}
	s.mu.Unlock()
}

// errStop ends the processing of a payload without an error; errHanded
// ends a reader whose loan was taken over.
var (
	errStop   = errors.New("stop")
	errHanded = errors.New("handed over")
)

// onPacket handles one packet from the client, on the reading goroutine,
// which can be lent to the message's work if loan is not nil.
func (s *Session) onPacket(p decodedPacket, loan *Loan) error {
	switch p.typ {
	case TypeMessage:
		// Nothing is delivered once the session is closed (the rest of a
		// payload, a frame read as the session closed).
		if !s.beginCallback() {
			return errStop
		}
		if loan != nil {
			s.srv.lh.OnMessageLoan(s, p.data, p.binary, loan)
			if loan.handedOver() {
				return errHanded // the new reader ended the callback
			}
		} else {
			s.srv.h.OnMessage(s, p.data, p.binary)
		}
		if !s.endCallback() {
			return errStop
		}
	case TypePong:
		s.onPong()
	case TypeClose:
		s.closeNow(ReasonTransportClose, true)
		return errStop
	case TypeNoop, TypeOpen, TypeUpgrade:
		// A client sends open never and upgrade only to end an upgrade
		// (see probe); outside of one, the reference server ignores both.
	default:
		// A ping: v4 heartbeats come from the server.
		return invalid("unexpected packet type %q from client", p.typ)
	}
	return nil
}

// onPolled handles one packet from a POST.
func (s *Session) onPolled(p decodedPacket) error { return s.onPacket(p, nil) }
