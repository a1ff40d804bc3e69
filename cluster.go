package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/wirekit/socketio/internal/parser"
)

// Cluster operations: with an Adapter shared by several servers (see the
// redisadapter module), the operations below reach the sockets of every
// server, not only this one's. With the default in-memory adapter they act
// on this server alone.

// RemoteSocket describes a socket as FetchSockets reports it, whichever
// server it is connected to. To act on it, select it by its id:
// ns.To(rs.ID).Emit(...), ns.In(rs.ID).SocketsJoin(...),
// ns.In(rs.ID).DisconnectSockets(false).
type RemoteSocket struct {
	ID        string
	Rooms     []string // the rooms it is in, its own room included
	Handshake Handshake
	// Data is the value stored with Socket.SetData, as JSON (null when
	// none, or when it does not encode); a Node.js server reports
	// socket.data.
	Data json.RawMessage
}

// FetchSockets returns the selected sockets of every server sharing the
// namespace's adapter, this one included. It waits for the other servers'
// answers until ctx ends (or the Timeout passes); it then returns what it
// has along with the error.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	var out []RemoteSocket
	opts := b.options()
	for _, ns := range b.ns.members() {
		got, err := ns.adapter.FetchSockets(ctx, opts)
		out = append(out, got...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// FetchSockets returns the sockets of the namespace on every server
// sharing its adapter, as BroadcastOperator.FetchSockets.
func (ns *Namespace) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	return BroadcastOperator{ns: ns}.FetchSockets(ctx)
}

// ServerSideEmit sends an event to the OnServerSideEmit handlers of this
// namespace on the other servers sharing its adapter (not to this
// server's). ctx bounds the hand-over to the adapter.
func (ns *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	p, err := eventPacket(event, args)
	if err != nil {
		return err
	}
	pkt := &Packet{Data: p.Data, Attachments: p.Attachments}
	for _, n := range ns.members() {
		if _, err := n.adapter.ServerSideEmit(ctx, pkt, false); err != nil {
			return err
		}
	}
	return nil
}

// ServerSideEmitWithAck sends an event to the OnServerSideEmit handlers of
// the other servers and waits for each server's acknowledgement until ctx
// ends. A server's reply is the first argument its handler passed to its
// Ack (a Node.js server sends only that one). With no other server it
// returns at once with no reply. When some servers do not answer in time
// it returns the replies received and an *AckError (errors.Is
// ErrAckTimeout).
func (ns *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	p, err := eventPacket(event, args)
	if err != nil {
		return nil, err
	}
	pkt := &Packet{Data: p.Data, Attachments: p.Attachments}
	var out []Args
	for _, n := range ns.members() {
		replies, err := n.adapter.ServerSideEmit(ctx, pkt, true)
		for _, r := range replies {
			if a, err := packetArgs(r); err == nil {
				out = append(out, a)
			}
		}
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil || errors.Is(err, context.DeadlineExceeded) {
				return out, &AckError{Event: event, Timeout: ctxErr != context.Canceled, Err: err}
			}
			return out, err
		}
	}
	return out, nil
}

// OnServerSideEmit sets the handler of event when another server sends it
// with ServerSideEmit (or io.serverSideEmit in Node.js), replacing any
// previous one. ack is nil unless the sender waits for an
// acknowledgement; only its first argument is sent back. The handler runs
// on a goroutine of the adapter, which the redisadapter dedicates to the
// namespace: events arrive in order, and a handler that blocks delays the
// next ones.
func (ns *Namespace) OnServerSideEmit(event string, h func(args Args, ack Ack)) {
	ns.reg.mu.Lock()
	if ns.reg.serverSide == nil {
		ns.reg.serverSide = make(map[string]func(Args, Ack))
	}
	ns.reg.serverSide[event] = h
	ns.reg.mu.Unlock()
}

// DeliverServerSideEmit is for Adapter implementations: it runs the
// OnServerSideEmit handler of the event in p (Data is the JSON array of the
// event name and its arguments) on the calling goroutine. reply, when not
// nil, receives the handler's acknowledgement, at most once, as the JSON
// array of the Ack arguments. Events without a handler are ignored.
func (ns *Namespace) DeliverServerSideEmit(p *Packet, reply func(*Packet)) {
	elems, err := parser.SplitArray(p.Data)
	if err != nil || len(elems) == 0 {
		return
	}
	var event string
	if json.Unmarshal(elems[0], &event) != nil {
		return
	}
	ns.reg.mu.RLock()
	h := ns.reg.serverSide[event]
	ns.reg.mu.RUnlock()
	if h == nil {
		return
	}
	var ack Ack
	if reply != nil {
		var once sync.Once
		ack = func(args ...any) error {
			err := ErrAckSent
			once.Do(func() {
				var data []byte
				var atts [][]byte
				if data, atts, err = parser.MarshalArgs(args...); err == nil {
					reply(&Packet{Data: data, Attachments: atts})
				}
			})
			return err
		}
	}
	defer func() {
		if v := recover(); v != nil {
			ns.srv.log.Error("socketio: server-side event handler panicked",
				"namespace", ns.name, "event", event, "err", fmt.Sprint(v))
		}
	}()
	h(Args{elems: elems[1:], atts: p.Attachments}, ack)
}

// packetArgs turns the JSON array of a Packet into Args.
func packetArgs(p *Packet) (Args, error) {
	elems, err := parser.SplitArray(p.Data)
	if err != nil {
		return Args{}, err
	}
	return Args{elems: elems, atts: p.Attachments}, nil
}

// argsPacket turns Args back into the JSON array of a Packet; placeholders
// keep their numbers, since the attachments are the same.
func argsPacket(a Args) *Packet {
	n := 2
	for _, e := range a.elems {
		n += len(e) + 1
	}
	data := make([]byte, 0, n)
	data = append(data, '[')
	for i, e := range a.elems {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, e...)
	}
	data = append(data, ']')
	return &Packet{Data: data, Attachments: a.atts}
}

// The in-memory adapter's cluster operations act on this server only.

func (a *memoryAdapter) AddSockets(opts BroadcastOptions, rooms []string) {
	for _, so := range a.collect(opts, nil) {
		so.Join(rooms...) // past MaxRoomsPerSocket the socket stays out, as with Join
	}
}

func (a *memoryAdapter) DelSockets(opts BroadcastOptions, rooms []string) {
	for _, so := range a.collect(opts, nil) {
		for _, r := range rooms {
			so.Leave(r)
		}
	}
}

func (a *memoryAdapter) DisconnectSockets(opts BroadcastOptions, close bool) {
	for _, so := range a.collect(opts, nil) {
		so.Disconnect(close)
	}
}

func (a *memoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]RemoteSocket, error) {
	targets := a.collect(opts, nil)
	out := make([]RemoteSocket, 0, len(targets))
	for _, so := range targets {
		data, err := json.Marshal(so.Data())
		if err != nil {
			data = json.RawMessage("null")
		}
		out = append(out, RemoteSocket{ID: so.id, Rooms: a.Rooms(so.id), Handshake: so.Handshake(), Data: data})
	}
	return out, nil
}

// ServerSideEmit has no other server to reach.
func (a *memoryAdapter) ServerSideEmit(context.Context, *Packet, bool) ([]*Packet, error) {
	return nil, nil
}
