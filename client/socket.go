package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/internal/parser"
)

// maxQueuedEvents is how many events of one socket may wait for its
// handler goroutine before the connection stops being read.
const maxQueuedEvents = 256

type socketState uint8

const (
	stateIdle       socketState = iota // not connected, not trying
	stateConnecting                    // waiting for the server's answer, or for a connection
	stateConnected
)

// Socket is the client's end of one namespace of a Conn. Handlers
// registered on it run one at a time, in the order the server sent the
// events, on a goroutine of the socket's own (never the connection's
// reader): a handler may block, and may call EmitWithAck. Methods are safe
// for concurrent use.
type Socket struct {
	conn *Conn
	nsp  string
	owns bool // made by Connect: Disconnect closes the Conn
	q    serial

	mu             sync.Mutex
	state          socketState
	inflight       bool // a CONNECT awaits its answer
	auth           json.RawMessage
	attempt        *attempt // what Connect calls wait for
	id             string
	ctx            context.Context // of the current connection, ends on disconnect
	cancel         context.CancelFunc
	handlers       map[string]handler
	onConnectHs    []func()
	onDisconnectHs []func(reason string)
	onAnyHs        []func(event string, args socketio.Args)
	acks           map[uint64]chan ackResult
	nextAck        uint64
}

// handler runs one event; ctx ends when the socket disconnects, ack is nil
// when the server asked for no acknowledgement.
type handler func(ctx context.Context, args socketio.Args, ack socketio.Ack)

// attempt is one connection attempt that Connect calls wait for.
type attempt struct {
	done    chan struct{}
	err     error
	waiters int  // Connect calls waiting
	auto    bool // the socket was reconnecting by itself
}

type ackResult struct {
	args socketio.Args
	err  error
}

func newSocket(c *Conn, nsp string) *Socket {
	return &Socket{conn: c, nsp: nsp, handlers: make(map[string]handler)}
}

// ID returns the socket's id given by the server, "" before it connects.
// It changes on every reconnection.
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Namespace returns the socket's namespace, e.g. "/" or "/admin".
func (s *Socket) Namespace() string { return s.nsp }

// Conn returns the connection the socket belongs to.
func (s *Socket) Conn() *Conn { return s.conn }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateConnected
}

// Connect joins the socket's namespace, sending auth (nil for none; it
// must encode as a JSON object) and waiting for the server's answer until
// ctx ends. A refusal is a *ConnectError. It returns nil at once if the
// socket is already connected. After a connection loss the Conn connects
// the socket again by itself, with the same auth.
func (s *Socket) Connect(ctx context.Context, auth any) error {
	var raw json.RawMessage
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			return fmt.Errorf("socketio client: encoding auth: %w", err)
		}
		if len(b) == 0 || b[0] != '{' {
			return fmt.Errorf("socketio client: auth must encode as a JSON object, not %.20s", b)
		}
		raw = b
	}
	c := s.conn
	c.mu.Lock()
	if c.closed || c.dead {
		c.mu.Unlock()
		return ErrClosed
	}
	eng := c.eng
	s.mu.Lock()
	if s.state == stateConnected {
		s.mu.Unlock()
		c.mu.Unlock()
		return nil
	}
	s.auth = raw
	if s.attempt == nil { // none yet, or reconnecting on its own
		s.attempt = &attempt{done: make(chan struct{}), auto: s.state == stateConnecting}
	}
	s.state = stateConnecting
	at := s.attempt
	at.waiters++
	var p *parser.Packet
	if eng != nil && !s.inflight {
		s.inflight = true
		p = s.connectPacket()
	}
	s.mu.Unlock()
	c.mu.Unlock()
	if p != nil {
		eng.send(frames(p)...) // if eng is closing, onTransportClose follows
	}
	select {
	case <-at.done:
		return at.err
	case <-ctx.Done():
	}
	s.mu.Lock()
	select {
	case <-at.done:
		s.mu.Unlock()
		return at.err
	default:
	}
	at.waiters--
	if s.attempt == at && at.waiters == 0 {
		s.attempt = nil
		if !at.auto {
			// Give up; an answer that comes later is undone (onConnect).
			s.state = stateIdle
		}
	}
	s.mu.Unlock()
	return ctx.Err()
}

// connectPacket returns the socket's CONNECT; s.mu is held.
func (s *Socket) connectPacket() *parser.Packet {
	return &parser.Packet{Type: parser.Connect, Namespace: s.nsp, Data: s.auth}
}

// claimConnect reports whether a CONNECT must be sent for the socket on a
// new session, and notes that it is. Called with the Conn's lock held.
func (s *Socket) claimConnect() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateConnecting || s.inflight {
		return false
	}
	s.inflight = true
	return true
}

func (s *Socket) sendConnect(eng *engine) {
	s.mu.Lock()
	p := s.connectPacket()
	s.mu.Unlock()
	eng.send(frames(p)...)
}

// finishAttemptLocked ends the Connect calls waiting, with err.
func (s *Socket) finishAttemptLocked(err error) {
	if at := s.attempt; at != nil {
		at.err = err
		close(at.done)
		s.attempt = nil
	}
}

// onConnect handles the server's CONNECT, on the reader goroutine.
func (s *Socket) onConnect(eng *engine, sid string) {
	s.mu.Lock()
	s.inflight = false
	if s.state != stateConnecting {
		s.mu.Unlock()
		// Nobody wants it any more (Connect gave up, or Disconnect).
		eng.send(frames(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp})...)
		return
	}
	s.state = stateConnected
	s.id = sid
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.finishAttemptLocked(nil)
	hs := s.onConnectHs
	s.mu.Unlock()
	if len(hs) > 0 {
		s.q.push(func() {
			for _, h := range hs {
				s.safely(h)
			}
		})
	}
}

// onConnectError handles the server's refusal, on the reader goroutine.
func (s *Socket) onConnectError(ce *ConnectError) {
	s.mu.Lock()
	s.inflight = false
	if s.state != stateConnecting {
		s.mu.Unlock()
		return
	}
	s.state = stateIdle
	waited := s.attempt != nil
	s.finishAttemptLocked(ce)
	s.mu.Unlock()
	if !waited {
		s.conn.reportError(s, ce) // a refusal on reconnection
	}
}

// onServerDisconnect handles the server's DISCONNECT.
func (s *Socket) onServerDisconnect() {
	s.disconnected(ReasonServerDisconnect, stateIdle)
}

// onTransportClose handles the loss of the connection.
func (s *Socket) onTransportClose(reason string, reconnect bool) {
	next := stateIdle
	if reconnect {
		next = stateConnecting
	}
	s.mu.Lock()
	s.inflight = false
	if s.state == stateConnecting && !reconnect {
		s.state = stateIdle
		s.finishAttemptLocked(&socketio.DisconnectError{Reason: reason})
	}
	s.mu.Unlock()
	s.disconnected(reason, next)
}

// clientDisconnect disconnects the socket on this side: the server is told
// on eng (when not nil).
func (s *Socket) clientDisconnect(eng *engine) {
	s.mu.Lock()
	if s.state == stateConnecting {
		s.state = stateIdle
		s.finishAttemptLocked(&socketio.DisconnectError{Reason: ReasonClientDisconnect})
	}
	s.mu.Unlock()
	if s.disconnected(ReasonClientDisconnect, stateIdle) && eng != nil {
		eng.send(frames(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp})...)
	}
}

// disconnected moves a connected socket to state next: acknowledgements
// awaited fail, the context ends, OnDisconnect handlers are queued. It
// reports whether the socket was connected.
func (s *Socket) disconnected(reason string, next socketState) bool {
	s.mu.Lock()
	if s.state != stateConnected {
		s.mu.Unlock()
		return false
	}
	s.state = next
	if next == stateConnecting {
		// No Connect call waits; reconnection answers to nobody.
		s.attempt = nil
	}
	acks := s.acks
	s.acks = nil
	cancel := s.cancel
	hs := s.onDisconnectHs
	s.mu.Unlock()
	cancel()
	for _, ch := range acks {
		ch <- ackResult{err: &socketio.AckError{Err: &socketio.DisconnectError{Reason: reason}}}
	}
	if len(hs) > 0 {
		s.q.push(func() {
			for _, h := range hs {
				s.safely(func() { h(reason) })
			}
		})
	}
	return true
}

// Disconnect leaves the namespace: the server is told, OnDisconnect
// handlers get "io client disconnect", and the socket is not reconnected
// (Connect may be called again). A socket made by the Connect function
// closes its connection too.
func (s *Socket) Disconnect() {
	if s.owns {
		s.conn.Close()
		return
	}
	s.conn.mu.Lock()
	eng := s.conn.eng
	s.conn.mu.Unlock()
	s.clientDisconnect(eng)
}

// OnConnect adds a handler run each time the socket connects, the first
// time and after every reconnection, before the events that follow.
func (s *Socket) OnConnect(h func()) {
	s.mu.Lock()
	s.onConnectHs = append(s.onConnectHs, h)
	s.mu.Unlock()
}

// OnDisconnect adds a handler run each time the socket disconnects, with
// the reason (see the Reason constants), after the events received before.
func (s *Socket) OnDisconnect(h func(reason string)) {
	s.mu.Lock()
	s.onDisconnectHs = append(s.onDisconnectHs, h)
	s.mu.Unlock()
}

// OnEvent registers the untyped handler of an event, replacing any
// previous one (typed handlers from On and Handle included). ack is nil
// when the server asked for no acknowledgement. Prefer On and Handle.
func (s *Socket) OnEvent(event string, h func(args socketio.Args, ack socketio.Ack)) {
	s.setHandler(event, func(_ context.Context, args socketio.Args, ack socketio.Ack) { h(args, ack) })
}

// OnAny adds a handler run for every event the server sends, before the
// event's own handler (if any), as the JavaScript client's onAny. It
// cannot answer an acknowledgement: the event's own handler does.
func (s *Socket) OnAny(h func(event string, args socketio.Args)) {
	s.mu.Lock()
	s.onAnyHs = append(s.onAnyHs, h)
	s.mu.Unlock()
}

func (s *Socket) setHandler(event string, h handler) {
	s.mu.Lock()
	s.handlers[event] = h
	s.mu.Unlock()
}

// Emit sends an event with untyped arguments; []byte values anywhere in
// them travel as binary. It queues and returns; it fails with
// socketio.ErrDisconnected when the socket is not connected (nothing is
// buffered for a later connection). Prefer the typed Emit.
func (s *Socket) Emit(event string, args ...any) error {
	p, err := eventPacket(event, args)
	if err != nil {
		return err
	}
	return s.sendPacket(p)
}

// EmitWithAck sends an event and waits for the server's acknowledgement
// until ctx ends. The error is a *socketio.AckError when none comes in
// time (errors.Is socketio.ErrAckTimeout) or the socket disconnects first
// (errors.Is socketio.ErrDisconnected).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (socketio.Args, error) {
	p, err := eventPacket(event, args)
	if err != nil {
		return socketio.Args{}, err
	}
	ch := make(chan ackResult, 1)
	s.mu.Lock()
	if s.state != stateConnected {
		s.mu.Unlock()
		return socketio.Args{}, socketio.ErrDisconnected
	}
	id := s.nextAck
	s.nextAck++
	if s.acks == nil {
		s.acks = make(map[uint64]chan ackResult)
	}
	s.acks[id] = ch
	s.mu.Unlock()
	p.ID, p.HasID = int64(id), true
	if err := s.sendPacket(p); err != nil {
		s.dropAck(id)
		return socketio.Args{}, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			r.err.(*socketio.AckError).Event = event
		}
		return r.args, r.err
	case <-ctx.Done():
		s.dropAck(id)
		return socketio.Args{}, &socketio.AckError{Event: event, Timeout: errors.Is(ctx.Err(), context.DeadlineExceeded), Err: ctx.Err()}
	}
}

func (s *Socket) dropAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// sendPacket sends p on the socket's namespace if it is connected.
func (s *Socket) sendPacket(p *parser.Packet) error {
	if !s.Connected() {
		return socketio.ErrDisconnected
	}
	p.Namespace = s.nsp
	if err := s.conn.send(p); err != nil {
		return socketio.ErrDisconnected
	}
	return nil
}

// onAck handles an acknowledgement from the server, on the reader
// goroutine. Unknown and late ones are ignored.
func (s *Socket) onAck(p *parser.Packet) {
	s.mu.Lock()
	ch := s.acks[uint64(p.ID)]
	delete(s.acks, uint64(p.ID))
	s.mu.Unlock()
	if ch == nil {
		return
	}
	elems, err := parser.SplitArray(p.Data)
	if err != nil {
		return
	}
	ch <- ackResult{args: socketio.NewArgs(elems, p.Attachments)}
}

// onEvent queues an event for the handler goroutine. It runs on the
// reader goroutine and blocks while the handlers are far behind.
func (s *Socket) onEvent(p *parser.Packet) error {
	elems, err := parser.SplitArray(p.Data)
	if err != nil || len(elems) == 0 {
		return errors.New("event payload is not a non-empty array")
	}
	var name string
	if err := json.Unmarshal(elems[0], &name); err != nil {
		return errors.New("event name is not a string")
	}
	s.mu.Lock()
	if s.state != stateConnected {
		s.mu.Unlock()
		return nil
	}
	ctx := s.ctx
	s.mu.Unlock()
	args := socketio.NewArgs(elems[1:], p.Attachments)
	var ack socketio.Ack
	if p.HasID {
		ack = s.ackFunc(p.ID)
	}
	s.q.pushWait(func() {
		s.mu.Lock()
		h := s.handlers[name]
		anys := s.onAnyHs
		s.mu.Unlock()
		for _, any := range anys {
			s.safely(func() { any(name, args) })
		}
		if h != nil {
			s.safely(func() { h(ctx, args, ack) })
		}
	}, maxQueuedEvents, ctx.Done())
	return nil
}

// ackFunc returns the Ack that answers the server's ack id, at most once.
func (s *Socket) ackFunc(id int64) socketio.Ack {
	var once sync.Once
	return func(args ...any) error {
		err := socketio.ErrAckSent
		once.Do(func() {
			var data []byte
			var atts [][]byte
			data, atts, err = parser.MarshalArgs(args...)
			if err != nil {
				return
			}
			err = s.sendPacket(&parser.Packet{Type: parser.Ack, ID: id, HasID: true, Data: data, Attachments: atts})
		})
		return err
	}
}

// safely runs user code; a panic is reported to Options.OnError.
func (s *Socket) safely(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			s.conn.reportError(s, fmt.Errorf("socketio client: handler of namespace %q panicked: %v", s.nsp, v))
		}
	}()
	fn()
}

// eventPacket encodes an event and its arguments.
func eventPacket(event string, args []any) (*parser.Packet, error) {
	if parser.IsReserved(event) {
		return nil, fmt.Errorf("socketio client: %q is a reserved event name", event)
	}
	data, atts, err := parser.MarshalEvent(event, args)
	if err != nil {
		return nil, fmt.Errorf("socketio client: encoding %q: %w", event, err)
	}
	return &parser.Packet{Type: parser.Event, Data: data, Attachments: atts}, nil
}
