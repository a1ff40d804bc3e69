package socketio

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/wirekit/socketio/internal/engineio"
	"github.com/wirekit/socketio/internal/parser"
)

// Rooms are named groups of sockets within a namespace, for broadcasting.
// A socket joins and leaves them with Join and Leave; it is always in the
// room named by its own id, and leaves every room when it disconnects.

// Join adds the socket to rooms. It fails with ErrDisconnected once the
// socket is disconnected and with ErrTooManyRooms past
// Config.MaxRoomsPerSocket. A middleware may call it, as on the Node
// server: the socket is in the rooms from the moment it connects (a
// broadcast reaches it only from then), and in none if it is refused.
func (s *Socket) Join(rooms ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock() // held so that a concurrent disconnect cannot leave rooms behind
	switch s.state {
	case stateDisconnected:
		return ErrDisconnected
	case stateConnecting:
		n := len(s.early) + 1 // and its own room, joined on connect
		for _, r := range rooms {
			if !slices.Contains(s.early, r) {
				n++
			}
		}
		if n > s.ns.srv.cfg.MaxRoomsPerSocket {
			return ErrTooManyRooms
		}
		for _, r := range rooms {
			if !slices.Contains(s.early, r) {
				s.early = append(s.early, r)
			}
		}
		return nil
	}
	if max := s.ns.srv.cfg.MaxRoomsPerSocket; len(rooms) > 0 && len(s.ns.adapter.Rooms(s.id))+len(rooms) > max {
		have := s.ns.adapter.Rooms(s.id)
		n := len(have)
		for _, r := range rooms {
			if !slices.Contains(have, r) {
				n++
			}
		}
		if n > max {
			return ErrTooManyRooms
		}
	}
	s.ns.adapter.AddAll(s.id, rooms)
	return nil
}

// Leave removes the socket from room.
func (s *Socket) Leave(room string) {
	s.mu.Lock()
	if s.state == stateConnecting {
		s.early = slices.DeleteFunc(s.early, func(r string) bool { return r == room })
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.ns.adapter.Del(s.id, room)
}

// Rooms returns the rooms the socket is in, its own included (while a
// middleware runs: the rooms it will join when it connects).
func (s *Socket) Rooms() []string {
	s.mu.Lock()
	if s.state == stateConnecting {
		defer s.mu.Unlock()
		return slices.Clone(s.early)
	}
	s.mu.Unlock()
	return s.ns.adapter.Rooms(s.id)
}

// To selects the sockets in rooms, except this one: "send to the room but
// not back to me". Chain more calls to refine.
func (s *Socket) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{ns: s.ns, except: []string{s.id}}.To(rooms...)
}

// In is the same as To.
func (s *Socket) In(rooms ...string) BroadcastOperator { return s.To(rooms...) }

// Broadcast selects every socket of the namespace but this one.
func (s *Socket) Broadcast() BroadcastOperator {
	return BroadcastOperator{ns: s.ns, except: []string{s.id}}
}

// To selects the sockets of the namespace that are in any of rooms.
func (ns *Namespace) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{ns: ns}.To(rooms...)
}

// In is the same as To.
func (ns *Namespace) In(rooms ...string) BroadcastOperator { return ns.To(rooms...) }

// Except selects the sockets of the namespace that are in none of rooms.
func (ns *Namespace) Except(rooms ...string) BroadcastOperator {
	return BroadcastOperator{ns: ns}.Except(rooms...)
}

// Volatile selects every socket of the namespace, for a volatile emit.
func (ns *Namespace) Volatile() BroadcastOperator { return BroadcastOperator{ns: ns}.Volatile() }

// Local selects every socket of the namespace on this server only.
func (ns *Namespace) Local() BroadcastOperator { return BroadcastOperator{ns: ns}.Local() }

// Timeout selects every socket of the namespace, with a deadline for
// EmitWithAck.
func (ns *Namespace) Timeout(d time.Duration) BroadcastOperator {
	return BroadcastOperator{ns: ns}.Timeout(d)
}

// Emit broadcasts an untyped event to every socket of the namespace.
func (ns *Namespace) Emit(event string, args ...any) error {
	return BroadcastOperator{ns: ns}.Emit(event, args...)
}

func (ns *Namespace) emitPacket(p *parser.Packet) error {
	return BroadcastOperator{ns: ns}.emitPacket(p)
}

// BroadcastOperator selects sockets of a namespace to send to: those in some
// rooms (To), minus those in others (Except), optionally only where the
// transport is ready (Volatile) or only on this server (Local). It is a
// value: each method returns a refined copy, so a partial selection can be
// kept and reused.
type BroadcastOperator struct {
	ns       *Namespace
	rooms    []string
	except   []string
	volatile bool
	local    bool
	timeout  time.Duration
}

// To adds rooms to the selection (a union: a socket in several of them gets
// one copy).
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = append(slices.Clip(b.rooms), rooms...)
	return b
}

// In is the same as To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except removes the sockets in any of rooms from the selection.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = append(slices.Clip(b.except), rooms...)
	return b
}

// Volatile drops the event for sockets whose transport cannot take it right
// now, instead of queueing it: for data that is stale by the time it would
// arrive (positions, live metrics).
func (b BroadcastOperator) Volatile() BroadcastOperator {
	b.volatile = true
	return b
}

// Local restricts the selection to this server when an adapter spans
// several.
func (b BroadcastOperator) Local() BroadcastOperator {
	b.local = true
	return b
}

// Timeout sets how long EmitWithAck waits for the acknowledgements (in
// addition to its ctx).
func (b BroadcastOperator) Timeout(d time.Duration) BroadcastOperator {
	b.timeout = d
	return b
}

func (b BroadcastOperator) options() BroadcastOptions {
	return BroadcastOptions{Rooms: b.rooms, Except: b.except, Volatile: b.volatile, Local: b.local}
}

// Emit sends an untyped event to the selected sockets. It encodes once and
// never blocks on a slow client.
func (b BroadcastOperator) Emit(event string, args ...any) error {
	p, err := eventPacket(event, args)
	if err != nil {
		return err
	}
	return b.emitPacket(p)
}

func (b BroadcastOperator) emitPacket(p *parser.Packet) error {
	pkt := &Packet{Data: p.Data, Attachments: p.Attachments}
	opts := b.options()
	for _, ns := range b.ns.members() {
		ns.adapter.Broadcast(pkt, opts)
	}
	return nil
}

// EmitWithAck sends an untyped event to the selected sockets and collects
// their acknowledgements until every one has answered or ctx ends (or the
// Timeout passes). On a deadline it returns what arrived with an *AckError.
// A socket of this server that disconnects before answering is not waited
// for; one on another server (through a shared Adapter) is, until the
// deadline, as with the Node.js server.
func (b BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	p, err := eventPacket(event, args)
	if err != nil {
		return nil, err
	}
	var cancel context.CancelFunc
	if b.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel() // adapters drop their pending acknowledgements when ctx ends
	pkt := &Packet{Data: p.Data, Attachments: p.Attachments}
	var (
		mu       sync.Mutex
		results  []Args
		expected int // acknowledgements announced by the servers that reported
		gone     int // recipients that will not answer (disconnected)
		servers  int // servers that will report, known once every adapter returned
		reported int // servers that reported their count
		started  bool
		done     = make(chan struct{})
		closed   bool
	)
	check := func() { // under mu
		if !closed && started && reported >= servers && len(results)+gone >= expected {
			closed = true
			close(done)
		}
	}
	opts := b.options()
	for _, ns := range b.ns.members() {
		n := ns.adapter.BroadcastWithAck(ctx, pkt, opts,
			func(n int) {
				mu.Lock()
				expected += n
				reported++
				check()
				mu.Unlock()
			},
			func(p *Packet) {
				var a Args
				var err error
				if p != nil {
					a, err = packetArgs(p)
				}
				mu.Lock()
				if p == nil || err != nil {
					gone++ // no answer will come from it, or none that decodes
				} else {
					results = append(results, a)
				}
				check()
				mu.Unlock()
			})
		mu.Lock()
		servers += n
		mu.Unlock()
	}
	mu.Lock()
	started = true
	check()
	mu.Unlock()
	select {
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(results), nil
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(results), &AckError{Event: event, Timeout: ctx.Err() == context.DeadlineExceeded, Err: ctx.Err()}
	}
}

// Sockets returns the selected sockets connected to this server.
func (b BroadcastOperator) Sockets() []*Socket {
	var out []*Socket
	opts := b.options()
	for _, ns := range b.ns.members() {
		for _, id := range ns.adapter.Sockets(opts) {
			if so := ns.Socket(id); so != nil {
				out = append(out, so)
			}
		}
	}
	return out
}

// SocketsJoin makes the selected sockets join rooms, on every server
// sharing the adapter (see Local). Remote servers apply it asynchronously.
func (b BroadcastOperator) SocketsJoin(rooms ...string) {
	opts := b.options()
	for _, ns := range b.ns.members() {
		ns.adapter.AddSockets(opts, rooms)
	}
}

// SocketsLeave makes the selected sockets leave rooms, on every server
// sharing the adapter (see Local).
func (b BroadcastOperator) SocketsLeave(rooms ...string) {
	opts := b.options()
	for _, ns := range b.ns.members() {
		ns.adapter.DelSockets(opts, rooms)
	}
}

// DisconnectSockets disconnects the selected sockets, as Socket.Disconnect,
// on every server sharing the adapter (see Local).
func (b BroadcastOperator) DisconnectSockets(close bool) {
	opts := b.options()
	for _, ns := range b.ns.members() {
		ns.adapter.DisconnectSockets(opts, close)
	}
}

// Packet is an event on its way to many sockets, as an Adapter sees it:
// Data is the JSON array of the event name and arguments, where binary
// values are placeholders {"_placeholder":true,"num":N} indexing
// Attachments. Adapters must not modify it.
type Packet struct {
	Data        json.RawMessage
	Attachments [][]byte
}

// BroadcastOptions say which sockets of a namespace a broadcast reaches.
type BroadcastOptions struct {
	Rooms    []string // sockets in any of these rooms; all sockets if empty
	Except   []string // minus the sockets in any of these rooms
	Volatile bool     // skip sockets whose transport is not ready
	Local    bool     // this server only
}

// Adapter keeps a namespace's rooms and delivers its broadcasts. The
// default, NewMemoryAdapter, serves one process; an adapter over a message
// bus (Redis...) lets several servers share rooms and broadcasts, usually
// by wrapping a memory adapter for the local part. Methods must be safe for
// concurrent use and must not block on the network while a caller waits
// for local delivery. Whenever BroadcastOptions.Local is set, a method acts
// on this server only.
type Adapter interface {
	// AddAll adds socket id to rooms.
	AddAll(id string, rooms []string)
	// Del removes socket id from room.
	Del(id, room string)
	// DelAll removes socket id from every room.
	DelAll(id string)
	// Rooms returns the rooms socket id is in.
	Rooms(id string) []string
	// Sockets returns the ids of the local sockets that opts selects.
	Sockets(opts BroadcastOptions) []string
	// Broadcast delivers p to the sockets opts selects.
	Broadcast(p *Packet, opts BroadcastOptions)
	// BroadcastWithAck delivers p asking each recipient for an
	// acknowledgement, and returns the number of servers it reached, this
	// one included. Each of them reports how many sockets got p through
	// clientCount, once; then each acknowledgement (the JSON array of the
	// client's ack arguments) comes through ack, until ctx ends. A nil
	// packet reports a recipient that will not answer: it disconnected
	// first. Callbacks may run before BroadcastWithAck returns, and
	// concurrently.
	BroadcastWithAck(ctx context.Context, p *Packet, opts BroadcastOptions, clientCount func(int), ack func(*Packet)) int

	// AddSockets makes the sockets opts selects join rooms.
	AddSockets(opts BroadcastOptions, rooms []string)
	// DelSockets makes the sockets opts selects leave rooms.
	DelSockets(opts BroadcastOptions, rooms []string)
	// DisconnectSockets disconnects the sockets opts selects, closing
	// their connections too when close is set.
	DisconnectSockets(opts BroadcastOptions, close bool)
	// FetchSockets describes the sockets opts selects, waiting for the
	// other servers until ctx ends; it then returns what it has and an
	// error.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]RemoteSocket, error)
	// ServerSideEmit sends p (the JSON array of an event name and its
	// arguments) to the other servers, which pass it to
	// Namespace.DeliverServerSideEmit. With withAck it waits, until ctx
	// ends, for one reply per server and returns them (each the JSON
	// array of the reply), with an error if some are missing.
	ServerSideEmit(ctx context.Context, p *Packet, withAck bool) ([]*Packet, error)

	// Close releases the adapter's resources.
	Close() error
}

// NewMemoryAdapter returns the in-process adapter of ns.
func NewMemoryAdapter(ns *Namespace) Adapter {
	return &memoryAdapter{
		ns:    ns,
		rooms: make(map[string]members),
		sids:  make(map[string][]string),
	}
}

// memoryAdapter keeps rooms in two maps, as Node's in-memory adapter does,
// with small values: most rooms have one member (every socket's own room,
// named by its id), and most sockets are in a few rooms. An idle socket
// costs an entry in each map and no map of its own.
type memoryAdapter struct {
	ns    *Namespace
	mu    sync.RWMutex
	rooms map[string]members  // room -> its sockets
	sids  map[string][]string // socket id -> its rooms, without duplicates
}

// members is the set of sockets in a room: one, or a map of two or more.
type members struct {
	one  *Socket            // the only member, if many is nil
	many map[string]*Socket // socket id -> socket
}

func (m *members) add(so *Socket) {
	switch {
	case m.many != nil:
		m.many[so.id] = so
	case m.one == nil || m.one.id == so.id:
		m.one = so
	default:
		m.many = map[string]*Socket{m.one.id: m.one, so.id: so}
		m.one = nil
	}
}

// del removes id and reports whether the room is empty.
func (m *members) del(id string) (empty bool) {
	if m.many == nil {
		if m.one != nil && m.one.id == id {
			m.one = nil
		}
		return m.one == nil
	}
	delete(m.many, id)
	if len(m.many) == 1 {
		for _, so := range m.many {
			*m = members{one: so} // the map goes
		}
	}
	return len(m.many) == 0 && m.one == nil
}

func (m members) get(id string) *Socket {
	if m.many != nil {
		return m.many[id]
	}
	if m.one != nil && m.one.id == id {
		return m.one
	}
	return nil
}

// all iterates over the members, in no particular order.
func (m members) all(yield func(*Socket) bool) {
	if m.many == nil {
		if m.one != nil {
			yield(m.one)
		}
		return
	}
	for _, so := range m.many {
		if !yield(so) {
			return
		}
	}
}

func (a *memoryAdapter) AddAll(id string, rooms []string) {
	a.ns.mu.RLock()
	so := a.ns.sockets[id]
	a.ns.mu.RUnlock()
	if so == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	mine := a.sids[id]
	for _, r := range rooms {
		if !slices.Contains(mine, r) {
			mine = append(mine, r)
		}
		m := a.rooms[r]
		m.add(so)
		a.rooms[r] = m
	}
	a.sids[id] = mine
}

func (a *memoryAdapter) Del(id, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mine, ok := a.sids[id]
	if !ok {
		return
	}
	if i := slices.Index(mine, room); i >= 0 {
		mine = slices.Delete(mine, i, i+1)
		if len(mine) == 0 {
			mine = nil
		}
		a.sids[id] = mine
	}
	a.delLocked(id, room)
}

func (a *memoryAdapter) delLocked(id, room string) {
	m, ok := a.rooms[room]
	if !ok {
		return
	}
	if m.del(id) {
		delete(a.rooms, room)
	} else {
		a.rooms[room] = m
	}
}

func (a *memoryAdapter) DelAll(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.sids[id] {
		a.delLocked(id, r)
	}
	delete(a.sids, id)
}

func (a *memoryAdapter) Rooms(id string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return slices.Clone(a.sids[id])
}

func (a *memoryAdapter) Sockets(opts BroadcastOptions) []string {
	targets := a.collect(opts, nil)
	out := make([]string, len(targets))
	for i, so := range targets {
		out[i] = so.id
	}
	return out
}

var targetPool = sync.Pool{New: func() any { s := make([]*Socket, 0, 64); return &s }}

// collect appends the sockets opts selects to dst.
func (a *memoryAdapter) collect(opts BroadcastOptions, dst []*Socket) []*Socket {
	a.mu.RLock()
	defer a.mu.RUnlock()
	excluded := func(id string) bool {
		for _, r := range opts.Except {
			if a.rooms[r].get(id) != nil {
				return true
			}
		}
		return false
	}
	switch len(opts.Rooms) {
	case 0:
		for id := range a.sids {
			if so := a.rooms[id].get(id); so != nil && !excluded(id) {
				dst = append(dst, so)
			}
		}
	case 1:
		for so := range a.rooms[opts.Rooms[0]].all {
			if !excluded(so.id) {
				dst = append(dst, so)
			}
		}
	default:
		seen := make(map[string]struct{})
		for _, r := range opts.Rooms {
			for so := range a.rooms[r].all {
				if _, dup := seen[so.id]; dup {
					continue
				}
				seen[so.id] = struct{}{}
				if !excluded(so.id) {
					dst = append(dst, so)
				}
			}
		}
	}
	return dst
}

func (a *memoryAdapter) Broadcast(p *Packet, opts BroadcastOptions) {
	fs := frames(&parser.Packet{Type: parser.Event, Namespace: a.ns.name, Data: p.Data, Attachments: p.Attachments})
	bufp := targetPool.Get().(*[]*Socket)
	targets := a.collect(opts, (*bufp)[:0])
	if len(targets) > 1 {
		engineio.PrepareWebSocket(fs) // each frame made once, not once per recipient
	}
	// One goroutine writes to the recipients that have no writer running,
	// rather than a goroutine each (see engineio.Batch).
	b := engineio.NewBatch()
	for _, so := range targets {
		if opts.Volatile && !so.conn.sess.Writable() {
			continue
		}
		so.conn.sess.SendBatch(b, fs...) // a client too slow for its queue is disconnected by Send
	}
	b.Flush()
	clear(targets)
	*bufp = targets[:0]
	targetPool.Put(bufp)
}

func (a *memoryAdapter) BroadcastWithAck(ctx context.Context, p *Packet, opts BroadcastOptions, clientCount func(int), ack func(*Packet)) int {
	id := a.ns.ackIDs.Add(1) - 1
	fs := frames(&parser.Packet{
		Type: parser.Event, Namespace: a.ns.name, ID: int64(id), HasID: true,
		Data: p.Data, Attachments: p.Attachments,
	})
	targets := a.collect(opts, nil)
	if len(targets) > 1 {
		engineio.PrepareWebSocket(fs)
	}
	reached := targets[:0]
	b := engineio.NewBatch()
	defer b.Flush()
	onAck := func(args Args, err error) {
		if err != nil {
			ack(nil) // disconnected before answering: it never will
			return
		}
		ack(argsPacket(args))
	}
	for _, so := range targets {
		if opts.Volatile && !so.conn.sess.Writable() {
			continue
		}
		if so.registerAckID(id, onAck) != nil {
			continue
		}
		// Counted from here: the socket answers, or its disconnection
		// reports it (a connection that cannot take the packet is
		// closing, and disconnects it).
		so.conn.sess.SendBatch(b, fs...)
		reached = append(reached, so)
	}
	clientCount(len(reached))
	if len(reached) > 0 {
		context.AfterFunc(ctx, func() {
			for _, so := range reached {
				so.dropAck(id)
			}
		})
	}
	return 1
}

func (a *memoryAdapter) Close() error { return nil }

var _ engineio.Handler = (*engineHandler)(nil)
