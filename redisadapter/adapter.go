package redisadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/wirekit/socketio"
)

// Request and response types of the classic Node.js adapter.
const (
	typeSockets          = 0
	typeAllRooms         = 1
	typeRemoteJoin       = 2
	typeRemoteLeave      = 3
	typeRemoteDisconnect = 4
	typeRemoteFetch      = 5
	typeServerSideEmit   = 6
	typeBroadcast        = 7
	typeBroadcastCount   = 8
	typeBroadcastAck     = 9
)

// errClosed ends the requests pending when the adapter closes.
var errClosed = errors.New("redisadapter: adapter closed")

// adapter is the adapter of one namespace: local delivery through the
// in-memory adapter, and the namespace's channels on the bus.
type adapter struct {
	local socketio.Adapter
	bus   *bus
	pub   *publisher // nil for a dynamic family, which shares nothing
	ns    *socketio.Namespace
	name  string
	uid   string

	channel      string // <key>#<nsp>#, broadcasts (+ <room>#)
	pattern      string // what the broadcasts are subscribed with
	requestChan  string
	responseChan string
	specificChan string // responses for this adapter only

	mu       sync.Mutex
	closed   bool
	requests map[string]*request    // FetchSockets, ServerSideEmit with ack
	acks     map[string]*ackRequest // broadcasts with acknowledgements

	handlers serial // server-side event handlers, one at a time

	ready     chan struct{} // closed once Redis confirms the request channel's subscription
	readyOnce sync.Once
}

func (a *adapter) subscribed() { a.readyOnce.Do(func() { close(a.ready) }) }

// serverCount counts the servers with the namespace open. Until Redis has
// confirmed this server's own subscription (just after the namespace is
// created) the count would miss it: it waits for that first, within ctx.
func (a *adapter) serverCount(ctx context.Context) (int, error) {
	select {
	case <-a.ready:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return a.bus.serverCount(ctx, a.requestChan)
}

type request struct {
	kind     int
	expected int
	got      int
	sockets  []socketio.RemoteSocket
	replies  []*socketio.Packet
	done     chan struct{}
	err      error // errClosed
}

type ackRequest struct {
	clientCount func(int)
	ack         func(*socketio.Packet)
}

// What stays on this server.

func (a *adapter) AddAll(id string, rooms []string)                { a.local.AddAll(id, rooms) }
func (a *adapter) Del(id, room string)                             { a.local.Del(id, room) }
func (a *adapter) DelAll(id string)                                { a.local.DelAll(id) }
func (a *adapter) Rooms(id string) []string                        { return a.local.Rooms(id) }
func (a *adapter) Sockets(opts socketio.BroadcastOptions) []string { return a.local.Sockets(opts) }

// shared reports whether opts reach the other servers.
func (a *adapter) shared(opts socketio.BroadcastOptions) bool { return !opts.Local && a.pub != nil }

func (a *adapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return a.local.Close()
	}
	a.closed = true
	for id, r := range a.requests {
		r.err = errClosed
		close(r.done)
		delete(a.requests, id)
	}
	clear(a.acks)
	a.mu.Unlock()
	if a.pub != nil {
		a.bus.release(a)
	}
	return a.local.Close()
}

// ---------------------------------------------------------------------------
// Broadcasts

func (a *adapter) Broadcast(p *socketio.Packet, opts socketio.BroadcastOptions) {
	a.local.Broadcast(p, opts)
	if !a.shared(opts) {
		return
	}
	channel, msg, err := a.broadcastMessage(p, opts)
	if err != nil {
		a.bus.log.Error("redisadapter: broadcast payload", "namespace", a.name, "err", err)
		return
	}
	a.pub.publish(channel, msg)
}

// broadcastMessage encodes a broadcast: [uid, packet, opts], on the
// channel of its room when it has exactly one.
func (a *adapter) broadcastMessage(p *socketio.Packet, opts socketio.BroadcastOptions) (string, []byte, error) {
	data, err := parseJSON(p.Data, p.Attachments, false)
	if err != nil {
		return "", nil, err
	}
	var flags []field
	if opts.Volatile {
		flags = append(flags, field{"volatile", value{kind: kBool, b: true}})
	}
	msg := array(str(a.uid), a.packet(data), optsValue(opts, flags))
	channel := a.channel
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	return channel, msgpackBytes(&msg), nil
}

// packet is the Socket.IO packet object of a broadcast.
func (a *adapter) packet(data value) value {
	return object(
		field{"type", number(2)},
		field{"data", data},
		field{"nsp", str(a.name)},
	)
}

func (a *adapter) onBroadcast(channel, payload string) {
	v, err := decodeMsgpack(payload)
	if err != nil || v.kind != kArray || len(v.arr) < 2 {
		a.bus.log.Debug("redisadapter: ignoring a malformed broadcast", "channel", channel, "err", err)
		return
	}
	if uid, _ := v.arr[0].asString(); uid == a.uid {
		return // our own, delivered locally already
	}
	data, ok := a.eventData(&v.arr[1])
	if !ok {
		return
	}
	opts := socketio.BroadcastOptions{Local: true}
	if len(v.arr) > 2 {
		readOpts(&v.arr[2], &opts)
	}
	a.local.Broadcast(data, opts)
}

// eventData checks that pkt is an event of this namespace and returns its
// data in the root package's form.
func (a *adapter) eventData(pkt *value) (*socketio.Packet, bool) {
	if pkt.kind != kObject {
		return nil, false
	}
	nsp := "/" // older emitters leave it out
	if n, ok := pkt.get("nsp"); ok {
		if nsp, ok = n.asString(); !ok {
			return nil, false
		}
	}
	if nsp != a.name {
		return nil, false
	}
	if t, ok := pkt.get("type"); ok {
		if n, _ := t.asInt(); n != 2 && n != 5 { // EVENT, BINARY_EVENT
			return nil, false
		}
	}
	data, ok := pkt.get("data")
	if !ok || data.kind != kArray || len(data.arr) == 0 || data.arr[0].kind != kString {
		return nil, false
	}
	return toPacket(data), true
}

// toPacket turns an array into the root package's JSON with placeholders.
func toPacket(v *value) *socketio.Packet {
	var atts [][]byte
	js := v.appendJSON(make([]byte, 0, 64), &atts)
	return &socketio.Packet{Data: js, Attachments: atts}
}

func readOpts(v *value, opts *socketio.BroadcastOptions) {
	if v.kind != kObject {
		return
	}
	if r, ok := v.get("rooms"); ok {
		opts.Rooms = r.strings()
	}
	if e, ok := v.get("except"); ok {
		opts.Except = e.strings()
	}
	if f, ok := v.get("flags"); ok && f.kind == kObject {
		if vol, ok := f.get("volatile"); ok && vol.kind == kBool {
			opts.Volatile = vol.b
		}
	}
}

func optsValue(opts socketio.BroadcastOptions, flags []field) value {
	return object(
		field{"rooms", stringArray(opts.Rooms)},
		field{"except", stringArray(dedupe(opts.Except))},
		field{"flags", object(flags...)}, // always there, empty without flags
	)
}

// ---------------------------------------------------------------------------
// Broadcasts with acknowledgements

func (a *adapter) BroadcastWithAck(ctx context.Context, p *socketio.Packet, opts socketio.BroadcastOptions, clientCount func(int), ack func(*socketio.Packet)) int {
	if !a.shared(opts) {
		return a.local.BroadcastWithAck(ctx, p, opts, clientCount, ack)
	}
	id := randomID()
	timeout := a.bus.opts.RequestsTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	msg, err := a.ackBroadcastMessage(id, p, opts, timeout)
	if err != nil {
		a.bus.log.Error("redisadapter: broadcast payload", "namespace", a.name, "err", err)
		return a.local.BroadcastWithAck(ctx, p, opts, clientCount, ack)
	}
	a.mu.Lock()
	a.acks[id] = &ackRequest{clientCount, ack}
	a.mu.Unlock()
	context.AfterFunc(ctx, func() { // late answers are ignored
		a.mu.Lock()
		delete(a.acks, id)
		a.mu.Unlock()
	})
	a.pub.publish(a.requestChan, msg)
	a.local.BroadcastWithAck(ctx, p, opts, clientCount, ack)
	n, err := a.serverCount(ctx)
	if err != nil || n < 1 {
		a.bus.log.Warn("redisadapter: counting servers", "namespace", a.name, "err", err)
		return 1
	}
	return n
}

// ackBroadcastMessage encodes the request of a broadcast with
// acknowledgements.
func (a *adapter) ackBroadcastMessage(id string, p *socketio.Packet, opts socketio.BroadcastOptions, timeout time.Duration) ([]byte, error) {
	data, err := parseJSON(p.Data, p.Attachments, false)
	if err != nil {
		return nil, err
	}
	msg := object(
		field{"uid", str(a.uid)},
		field{"requestId", str(id)},
		field{"type", number(typeBroadcast)},
		field{"packet", a.packet(data)},
		field{"opts", optsValue(opts, []field{{"timeout", number(timeout.Milliseconds())}})},
	)
	return msgpackBytes(&msg), nil
}

// onBroadcastWithAck delivers another server's broadcast with
// acknowledgements, and answers with the number of sockets reached, then
// with each acknowledgement.
func (a *adapter) onBroadcastWithAck(v *value) {
	id, _ := getString(v, "requestId")
	uid, _ := getString(v, "uid")
	if id == "" || uid == a.uid || a.ownAck(id) {
		return
	}
	pkt, ok := v.get("packet")
	if !ok {
		return
	}
	data, ok := a.eventData(pkt)
	if !ok {
		return
	}
	opts := socketio.BroadcastOptions{}
	timeout := a.bus.opts.RequestsTimeout
	if o, ok := v.get("opts"); ok {
		readOpts(o, &opts)
		if f, ok := o.get("flags"); ok && f.kind == kObject {
			if t, ok := f.get("timeout"); ok {
				if ms, ok := t.asInt(); ok && ms > 0 {
					timeout = time.Duration(ms) * time.Millisecond
				}
			}
		}
	}
	opts.Local, opts.Volatile = true, false
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	var (
		mu       sync.Mutex
		expected = -1
		got      int
	)
	a.local.BroadcastWithAck(ctx, data, opts,
		func(n int) {
			a.respond(uid, jsonBytes(countResponse{typeBroadcastCount, id, n}))
			mu.Lock()
			expected = n
			finished := got >= n
			mu.Unlock()
			if finished {
				cancel()
			}
		},
		func(p *socketio.Packet) {
			// A recipient that disconnected (nil) is not reported: the
			// protocol has no message for it, and the requester waits
			// for it until its timeout, as with Node.js.
			if p != nil {
				fs := []field{{"type", number(typeBroadcastAck)}, {"requestId", str(id)}}
				if first, ok := firstArg(p); ok {
					fs = append(fs, field{"packet", first}) // Node.js forwards the first argument only
				}
				msg := object(fs...)
				a.respond(uid, msgpackBytes(&msg))
			}
			mu.Lock()
			got++
			finished := expected >= 0 && got >= expected
			mu.Unlock()
			if finished {
				cancel()
			}
		})
}

func (a *adapter) ownAck(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.acks[id]
	return ok
}

// firstArg returns the first element of a packet's array.
func firstArg(p *socketio.Packet) (value, bool) {
	v, err := parseJSON(p.Data, p.Attachments, false)
	if err != nil || v.kind != kArray || len(v.arr) == 0 {
		return value{}, false
	}
	return v.arr[0], true
}

// ---------------------------------------------------------------------------
// SocketsJoin, SocketsLeave, DisconnectSockets: applied here at once, and
// by the other servers when the request reaches them (this server skips its
// own).

func (a *adapter) AddSockets(opts socketio.BroadcastOptions, rooms []string) {
	a.local.AddSockets(opts, rooms)
	if a.shared(opts) {
		a.pub.publish(a.requestChan, jsonBytes(roomsRequest{a.uid, typeRemoteJoin, wireOptsOf(opts), nonNil(rooms)}))
	}
}

func (a *adapter) DelSockets(opts socketio.BroadcastOptions, rooms []string) {
	a.local.DelSockets(opts, rooms)
	if a.shared(opts) {
		a.pub.publish(a.requestChan, jsonBytes(roomsRequest{a.uid, typeRemoteLeave, wireOptsOf(opts), nonNil(rooms)}))
	}
}

func (a *adapter) DisconnectSockets(opts socketio.BroadcastOptions, close bool) {
	a.local.DisconnectSockets(opts, close)
	if a.shared(opts) {
		a.pub.publish(a.requestChan, jsonBytes(disconnectRequest{a.uid, typeRemoteDisconnect, wireOptsOf(opts), close}))
	}
}

// ---------------------------------------------------------------------------
// FetchSockets and ServerSideEmit: requests answered by every other server.

func (a *adapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]socketio.RemoteSocket, error) {
	local, err := a.local.FetchSockets(ctx, opts)
	if err != nil || !a.shared(opts) {
		return local, err
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	r, id, err := a.startRequest(ctx, typeRemoteFetch)
	if r == nil {
		return local, err
	}
	a.pub.publish(a.requestChan, jsonBytes(fetchRequest{a.uid, id, typeRemoteFetch, wireOptsOf(opts)}))
	err = a.wait(ctx, r, id)
	return append(local, r.sockets...), err
}

func (a *adapter) ServerSideEmit(ctx context.Context, p *socketio.Packet, withAck bool) ([]*socketio.Packet, error) {
	if a.pub == nil {
		return nil, nil
	}
	v, err := parseJSON(p.Data, p.Attachments, false)
	if err != nil {
		return nil, err
	}
	data := v.appendJSON(nil, nil) // binary as JSON.stringify writes a Buffer
	if !withAck {
		a.pub.publish(a.requestChan, jsonBytes(sseRequest{UID: a.uid, Type: typeServerSideEmit, Data: data}))
		return nil, nil
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	r, id, err := a.startRequest(ctx, typeServerSideEmit)
	if r == nil {
		return nil, err
	}
	a.pub.publish(a.requestChan, jsonBytes(sseRequest{a.uid, id, typeServerSideEmit, data}))
	err = a.wait(ctx, r, id)
	return r.replies, err
}

// withTimeout gives ctx the default deadline if it has none.
func (a *adapter) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.bus.opts.RequestsTimeout)
}

// startRequest counts the other servers and registers a request expecting
// an answer from each; it returns a nil request when there is none.
func (a *adapter) startRequest(ctx context.Context, kind int) (*request, string, error) {
	n, err := a.serverCount(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("redisadapter: counting servers: %w", err)
	}
	if n <= 1 {
		return nil, "", nil
	}
	r := &request{kind: kind, expected: n - 1, done: make(chan struct{})}
	id := randomID()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, "", errClosed
	}
	a.requests[id] = r
	return r, id, nil
}

// wait waits for every answer; what arrived stays in r either way.
func (a *adapter) wait(ctx context.Context, r *request, id string) error {
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.requests, id)
	switch {
	case r.err != nil:
		return r.err
	case r.got < r.expected:
		return fmt.Errorf("redisadapter: timeout reached: only %d responses received out of %d: %w", r.got, r.expected, ctx.Err())
	}
	return nil
}

// ---------------------------------------------------------------------------
// Receiving requests

func (a *adapter) onRequest(payload string) {
	if payload[0] != '{' { // MessagePack: a broadcast with acknowledgements
		v, err := decodeMsgpack(payload)
		if err != nil || v.kind != kObject {
			a.bus.log.Debug("redisadapter: ignoring a malformed request", "namespace", a.name, "err", err)
			return
		}
		if t, ok := v.get("type"); ok {
			if n, _ := t.asInt(); n == typeBroadcast {
				a.onBroadcastWithAck(&v)
			}
		}
		return
	}
	var r wireRequest
	if err := json.Unmarshal([]byte(payload), &r); err != nil {
		a.bus.log.Debug("redisadapter: ignoring a malformed request", "namespace", a.name, "err", err)
		return
	}
	switch r.Type {
	case typeSockets:
		if a.ownRequest(r.RequestID) {
			return
		}
		opts := socketio.BroadcastOptions{Rooms: roomNames(r.Rooms), Local: true}
		a.respond(r.UID, jsonBytes(idsResponse{r.RequestID, nonNil(a.local.Sockets(opts))}))
	case typeAllRooms:
		if a.ownRequest(r.RequestID) {
			return
		}
		a.respond(r.UID, jsonBytes(roomsResponse{r.RequestID, a.allRooms()}))
	case typeRemoteJoin, typeRemoteLeave, typeRemoteDisconnect:
		a.onRoomsRequest(&r)
	case typeRemoteFetch:
		if r.UID == a.uid || a.ownRequest(r.RequestID) {
			return
		}
		opts := socketio.BroadcastOptions{Local: true}
		if r.Opts != nil {
			opts.Rooms, opts.Except = roomNames(r.Opts.Rooms), roomNames(r.Opts.Except)
		}
		sockets, _ := a.local.FetchSockets(context.Background(), opts)
		out := make([]wireSocket, len(sockets))
		for i, s := range sockets {
			out[i] = toWireSocket(s)
		}
		a.respond(r.UID, jsonBytes(socketsResponse{r.RequestID, out}))
	case typeServerSideEmit:
		if r.UID == a.uid {
			return
		}
		a.onServerSideEmit(&r)
	}
}

func (a *adapter) ownRequest(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.requests[id]
	return ok
}

func (a *adapter) onRoomsRequest(r *wireRequest) {
	if r.Opts != nil {
		if r.UID == a.uid {
			return // applied when sent
		}
		opts := socketio.BroadcastOptions{Rooms: roomNames(r.Opts.Rooms), Except: roomNames(r.Opts.Except), Local: true}
		switch r.Type {
		case typeRemoteJoin:
			a.local.AddSockets(opts, roomNames(r.Rooms))
		case typeRemoteLeave:
			a.local.DelSockets(opts, roomNames(r.Rooms))
		default:
			a.local.DisconnectSockets(opts, r.Close)
		}
		return
	}
	// The older form, for one socket, answered by the server that has it.
	opts := socketio.BroadcastOptions{Rooms: []string{r.SID}, Local: true}
	if r.SID == "" || len(a.local.Sockets(opts)) == 0 {
		return
	}
	switch r.Type {
	case typeRemoteJoin:
		a.local.AddSockets(opts, roomNames([]json.RawMessage{r.Room}))
	case typeRemoteLeave:
		a.local.DelSockets(opts, roomNames([]json.RawMessage{r.Room}))
	default:
		a.local.DisconnectSockets(opts, r.Close)
	}
	a.respond(r.UID, jsonBytes(idResponse{r.RequestID}))
}

func (a *adapter) allRooms() []string {
	sockets, _ := a.local.FetchSockets(context.Background(), socketio.BroadcastOptions{Local: true})
	seen := make(map[string]bool)
	out := []string{}
	for _, s := range sockets {
		for _, r := range s.Rooms {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

func (a *adapter) onServerSideEmit(r *wireRequest) {
	v, err := parseJSON(r.Data, nil, true)
	if err != nil || v.kind != kArray || len(v.arr) == 0 || v.arr[0].kind != kString {
		return
	}
	p := toPacket(&v)
	var reply func(*socketio.Packet)
	if id := r.RequestID; id != "" {
		reply = func(p *socketio.Packet) {
			resp := sseResponse{Type: typeServerSideEmit, RequestID: id}
			if first, ok := firstArg(p); ok {
				resp.Data = first.appendJSON(nil, nil)
			}
			// Always on the shared channel, as Node.js does.
			a.pub.publish(a.responseChan, jsonBytes(resp))
		}
	}
	a.handlers.push(func() { a.ns.DeliverServerSideEmit(p, reply) })
}

// respond sends an answer to the server with uid.
func (a *adapter) respond(uid string, payload []byte) {
	channel := a.responseChan
	if a.bus.opts.PublishOnSpecificResponseChannel && uid != "" {
		channel += uid + "#"
	}
	a.pub.publish(channel, payload)
}

// ---------------------------------------------------------------------------
// Receiving responses

func (a *adapter) onResponse(payload string) {
	if payload[0] != '{' { // MessagePack: an acknowledgement of a broadcast
		v, err := decodeMsgpack(payload)
		if err != nil || v.kind != kObject {
			return
		}
		id, _ := getString(&v, "requestId")
		a.mu.Lock()
		ar := a.acks[id]
		a.mu.Unlock()
		if ar == nil {
			return
		}
		if t, ok := v.get("type"); !ok || t.num != "9" {
			return
		}
		args := value{kind: kArray, arr: []value{}}
		if p, ok := v.get("packet"); ok {
			args.arr = append(args.arr, *p)
		}
		ar.ack(toPacket(&args))
		return
	}
	var r wireResponse
	if err := json.Unmarshal([]byte(payload), &r); err != nil {
		return
	}
	a.mu.Lock()
	ar := a.acks[r.RequestID]
	req := a.requests[r.RequestID]
	a.mu.Unlock()
	if ar != nil {
		if r.Type == typeBroadcastCount {
			ar.clientCount(r.ClientCount)
		}
		return
	}
	if req == nil {
		return
	}
	// Decode before taking the lock again.
	var sockets []socketio.RemoteSocket
	var reply *socketio.Packet
	switch req.kind {
	case typeRemoteFetch:
		for _, s := range r.Sockets {
			if rs, ok := fromWireSocket(s); ok {
				sockets = append(sockets, rs)
			}
		}
	case typeServerSideEmit:
		args := value{kind: kArray, arr: []value{}}
		if len(r.Data) > 0 {
			v, err := parseJSON(r.Data, nil, true)
			if err != nil {
				return
			}
			args.arr = append(args.arr, v)
		}
		reply = toPacket(&args)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.requests[r.RequestID] != req {
		return // finished meanwhile
	}
	req.got++
	req.sockets = append(req.sockets, sockets...)
	if reply != nil {
		req.replies = append(req.replies, reply)
	}
	if req.got >= req.expected {
		delete(a.requests, r.RequestID)
		close(req.done)
	}
}

// ---------------------------------------------------------------------------
// Wire messages (JSON)

type wireOpts struct {
	Rooms  []json.RawMessage `json:"rooms"`
	Except []json.RawMessage `json:"except"`
}

type wireRequest struct {
	UID       string            `json:"uid"`
	RequestID string            `json:"requestId"`
	Type      int               `json:"type"`
	Opts      *wireOpts         `json:"opts"`
	Rooms     []json.RawMessage `json:"rooms"`
	Close     bool              `json:"close"`
	Data      json.RawMessage   `json:"data"`
	SID       string            `json:"sid"` // older single-socket form
	Room      json.RawMessage   `json:"room"`
}

type wireResponse struct {
	Type        int               `json:"type"`
	RequestID   string            `json:"requestId"`
	ClientCount int               `json:"clientCount"`
	Sockets     []json.RawMessage `json:"sockets"`
	Data        json.RawMessage   `json:"data"`
}

type optsOut struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
}

func wireOptsOf(opts socketio.BroadcastOptions) optsOut {
	return optsOut{nonNil(opts.Rooms), nonNil(dedupe(opts.Except))}
}

type roomsRequest struct {
	UID   string   `json:"uid"`
	Type  int      `json:"type"`
	Opts  optsOut  `json:"opts"`
	Rooms []string `json:"rooms"`
}

type disconnectRequest struct {
	UID   string  `json:"uid"`
	Type  int     `json:"type"`
	Opts  optsOut `json:"opts"`
	Close bool    `json:"close"`
}

type fetchRequest struct {
	UID       string  `json:"uid"`
	RequestID string  `json:"requestId"`
	Type      int     `json:"type"`
	Opts      optsOut `json:"opts"`
}

type sseRequest struct {
	UID       string          `json:"uid"`
	RequestID string          `json:"requestId,omitempty"`
	Type      int             `json:"type"`
	Data      json.RawMessage `json:"data"`
}

type sseResponse struct {
	Type      int             `json:"type"`
	RequestID string          `json:"requestId"`
	Data      json.RawMessage `json:"data,omitempty"`
}

type countResponse struct {
	Type        int    `json:"type"`
	RequestID   string `json:"requestId"`
	ClientCount int    `json:"clientCount"`
}

type idResponse struct {
	RequestID string `json:"requestId"`
}

type idsResponse struct {
	RequestID string   `json:"requestId"`
	Sockets   []string `json:"sockets"`
}

type roomsResponse struct {
	RequestID string   `json:"requestId"`
	Rooms     []string `json:"rooms"`
}

type socketsResponse struct {
	RequestID string       `json:"requestId"`
	Sockets   []wireSocket `json:"sockets"`
}

// wireSocket is a socket as the Node.js adapter describes it.
type wireSocket struct {
	ID        string            `json:"id"`
	Handshake wireHandshake     `json:"handshake"`
	Rooms     []json.RawMessage `json:"rooms"`
	Data      json.RawMessage   `json:"data"`
}

type wireHandshake struct {
	Headers map[string]json.RawMessage `json:"headers"`
	Time    string                     `json:"time"`
	Address string                     `json:"address"`
	XDomain bool                       `json:"xdomain"`
	Secure  bool                       `json:"secure"`
	Issued  float64                    `json:"issued"`
	URL     string                     `json:"url,omitempty"`
	Query   map[string]json.RawMessage `json:"query"`
	Auth    json.RawMessage            `json:"auth"`
}

// jsDate is how JavaScript's Date.toString writes a time (in UTC).
const jsDate = "Mon Jan 02 2006 15:04:05 GMT-0700"

func toWireSocket(s socketio.RemoteSocket) wireSocket {
	hs := s.Handshake
	headers := make(map[string]json.RawMessage, len(hs.Header)+1)
	for k, vs := range hs.Header {
		headers[strings.ToLower(k)] = jsonBytes(joinHeader(k, vs))
	}
	if hs.Host != "" {
		headers["host"] = jsonBytes(hs.Host)
	}
	query := make(map[string]json.RawMessage, len(hs.Query))
	for k, vs := range hs.Query {
		if len(vs) == 1 {
			query[k] = jsonBytes(vs[0])
		} else {
			query[k] = jsonBytes(vs)
		}
	}
	auth := json.RawMessage(hs.Auth)
	if len(auth) == 0 {
		auth = json.RawMessage("{}")
	}
	addr := hs.Address
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	rooms := make([]json.RawMessage, len(s.Rooms))
	for i, r := range s.Rooms {
		rooms[i] = jsonBytes(r)
	}
	data := s.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return wireSocket{
		ID: s.ID,
		Handshake: wireHandshake{
			Headers: headers,
			Time:    hs.Time.UTC().Format(jsDate) + " (Coordinated Universal Time)",
			Address: addr,
			XDomain: hs.Header.Get("Origin") != "",
			Secure:  hs.Secure,
			Issued:  float64(hs.Time.UnixMilli()),
			Query:   query,
			Auth:    auth,
		},
		Rooms: rooms,
		Data:  data,
	}
}

// joinHeader merges repeated headers as Node.js does.
func joinHeader(k string, vs []string) any {
	switch strings.ToLower(k) {
	case "set-cookie":
		return vs
	case "cookie":
		return strings.Join(vs, "; ")
	}
	return strings.Join(vs, ", ")
}

func fromWireSocket(raw json.RawMessage) (socketio.RemoteSocket, bool) {
	var w wireSocket
	if err := json.Unmarshal(raw, &w); err != nil || w.ID == "" {
		return socketio.RemoteSocket{}, false
	}
	hs := socketio.Handshake{
		Header:  make(http.Header, len(w.Handshake.Headers)),
		Query:   make(url.Values, len(w.Handshake.Query)),
		Address: w.Handshake.Address,
		Secure:  w.Handshake.Secure,
	}
	for k, v := range w.Handshake.Headers {
		hs.Header[http.CanonicalHeaderKey(k)] = stringValues(v)
	}
	hs.Host = hs.Header.Get("Host")
	for k, v := range w.Handshake.Query {
		hs.Query[k] = stringValues(v)
	}
	if len(w.Handshake.Auth) > 0 && string(w.Handshake.Auth) != "null" {
		hs.Auth = w.Handshake.Auth
	}
	if w.Handshake.Issued > 0 {
		hs.Time = time.UnixMilli(int64(w.Handshake.Issued))
	} else if len(w.Handshake.Time) >= len(jsDate) {
		hs.Time, _ = time.Parse(jsDate, w.Handshake.Time[:len(jsDate)])
	}
	data := w.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return socketio.RemoteSocket{ID: w.ID, Rooms: roomNames(w.Rooms), Handshake: hs, Data: data}, true
}

// stringValues reads a string or an array of strings.
func stringValues(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var ss []string
	json.Unmarshal(raw, &ss)
	return ss
}

// roomNames reads rooms, which Node.js allows to be numbers too.
func roomNames(raws []json.RawMessage) []string {
	out := make([]string, 0, len(raws))
	for _, r := range raws {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out = append(out, s)
			continue
		}
		var n json.Number
		if json.Unmarshal(r, &n) == nil {
			out = append(out, n.String())
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Helpers

type field struct {
	key string
	val value
}

func object(fs ...field) value {
	v := value{kind: kObject, keys: make([]string, len(fs)), vals: make([]value, len(fs))}
	for i, f := range fs {
		v.keys[i], v.vals[i] = f.key, f.val
	}
	return v
}

func array(vs ...value) value { return value{kind: kArray, arr: vs} }

func number[T int | int64](n T) value { return value{kind: kNumber, num: fmt.Sprint(n)} }

func stringArray(ss []string) value {
	v := value{kind: kArray, arr: make([]value, len(ss))}
	for i, s := range ss {
		v.arr[i] = str(s)
	}
	return v
}

func getString(v *value, key string) (string, bool) {
	f, ok := v.get(key)
	if !ok || f.kind != kString {
		return "", false
	}
	return f.str, true
}

func msgpackBytes(v *value) []byte {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	v.encode(enc) // writes to a bytes.Buffer cannot fail
	return buf.Bytes()
}

// jsonBytes encodes v without HTML escaping, as JSON.stringify does.
func jsonBytes(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func dedupe(ss []string) []string {
	if len(ss) < 2 {
		return ss
	}
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		dup := false
		for _, o := range out {
			if o == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// serial runs jobs one at a time, in order, on a goroutine that exists only
// while there is work.
type serial struct {
	mu      sync.Mutex
	jobs    []func()
	running bool
}

func (q *serial) push(f func()) {
	q.mu.Lock()
	q.jobs = append(q.jobs, f)
	if !q.running {
		q.running = true
		go q.run()
	}
	q.mu.Unlock()
}

func (q *serial) run() {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			q.jobs = nil
			q.mu.Unlock()
			return
		}
		f := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		f()
	}
}
