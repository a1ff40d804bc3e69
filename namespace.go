package socketio

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Namespace is a communication channel multiplexed on the connections of a
// Server ("/" by default, "/admin", "/chat-42" ...). Handlers, middlewares
// and broadcasts are per namespace. Get one with Server.Of or
// Server.OfFunc. Its methods are safe for concurrent use and may be called
// while the server runs.
type Namespace struct {
	srv     *Server
	name    string
	reg     *registry  // shared by the children of a dynamic family
	parent  *Namespace // the family, for a dynamic namespace
	adapter Adapter
	ackIDs  atomic.Uint64 // ack ids of every socket of the namespace
	pending atomic.Int64  // sockets connecting (dynamic namespaces)

	accept func(name string, auth json.RawMessage) bool // families only

	mu       sync.RWMutex
	sockets  map[string]*Socket
	children map[string]*Namespace // families only
}

// registry holds what users register on a namespace.
type registry struct {
	mu           sync.RWMutex
	middlewares  []func(*Socket) error
	onConnect    []func(*Socket)
	onDisconnect []func(*Socket, string)
	handlers     map[string]namedHandler
	onAny        []func(*Socket, string, Args)
	serverSide   map[string]func(Args, Ack) // see OnServerSideEmit
}

// eventHandler runs one event on the socket's handler goroutine. ack is nil
// when the client asked for no acknowledgement.
type eventHandler func(s *Socket, args Args, ack Ack)

// namedHandler is a registered handler with its event's name, which the
// events that name it then share rather than allocate.
type namedHandler struct {
	name string
	h    eventHandler
}

func (s *Server) newNamespace(name string, reg *registry, parent *Namespace) *Namespace {
	if reg == nil {
		reg = &registry{handlers: make(map[string]namedHandler)}
	}
	ns := &Namespace{srv: s, name: name, reg: reg, parent: parent, sockets: make(map[string]*Socket)}
	ns.adapter = s.cfg.Adapter(ns)
	return ns
}

func normalizeNamespace(name string) string {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return name
}

// Of returns the namespace with the given name ("/" is the main one),
// creating it if needed.
func (s *Server) Of(name string) *Namespace {
	name = normalizeNamespace(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.nsps[name]
	if ns == nil {
		ns = s.newNamespace(name, nil, nil)
		s.nsps[name] = ns
	}
	return ns
}

// OfFunc returns a family of dynamic namespaces: when a client asks for a
// namespace that does not exist, accept decides from its name and its
// CONNECT payload whether to create it. Handlers and middlewares registered
// on the returned Namespace apply to every namespace of the family, and its
// broadcasts reach all of them. A namespace of the family is removed when
// its last socket leaves. accept runs on the connection's reader goroutine
// and must not block; if it panics, the namespace is refused.
func (s *Server) OfFunc(accept func(name string, auth json.RawMessage) bool) *Namespace {
	fam := &Namespace{
		srv:      s,
		name:     "",
		reg:      &registry{handlers: make(map[string]namedHandler)},
		accept:   accept,
		sockets:  make(map[string]*Socket),
		children: make(map[string]*Namespace),
	}
	fam.adapter = NewMemoryAdapter(fam)
	s.mu.Lock()
	s.parents = append(s.parents, fam)
	s.mu.Unlock()
	return fam
}

// namespaceFor finds or creates (dynamically) the namespace a client asks
// for; nil means it does not exist. The namespace counts one more pending
// socket until connectDone.
func (s *Server) namespaceFor(name string, auth json.RawMessage) *Namespace {
	if len(name) > s.cfg.MaxNamespaceLength {
		return nil
	}
	s.mu.RLock()
	ns := s.nsps[name]
	if ns != nil {
		ns.pending.Add(1)
	}
	parents := s.parents
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, fam := range parents {
		if !s.accepts(fam, name, auth) {
			continue
		}
		s.mu.Lock()
		ns = s.nsps[name]
		if ns == nil {
			ns = s.newNamespace(name, fam.reg, fam)
			s.nsps[name] = ns
			fam.mu.Lock()
			fam.children[name] = ns
			fam.mu.Unlock()
		}
		ns.pending.Add(1)
		s.mu.Unlock()
		return ns
	}
	return nil
}

// accepts asks a family whether it has the namespace name. A panic in
// accept, user code on the reader goroutine, is logged and means no.
func (s *Server) accepts(fam *Namespace, name string, auth json.RawMessage) (ok bool) {
	defer s.recoverHook("OfFunc's accept", func() { ok = false })
	return fam.accept(name, auth)
}

// connectDone ends a pending connection to ns, successful or not.
func (ns *Namespace) connectDone() {
	ns.pending.Add(-1)
	ns.maybeRemove()
}

// maybeRemove deletes an empty dynamic namespace.
func (ns *Namespace) maybeRemove() {
	if ns.parent == nil {
		return
	}
	s := ns.srv
	s.mu.Lock()
	ns.mu.RLock()
	empty := len(ns.sockets) == 0 && ns.pending.Load() == 0
	ns.mu.RUnlock()
	if empty && s.nsps[ns.name] == ns {
		delete(s.nsps, ns.name)
		ns.parent.mu.Lock()
		delete(ns.parent.children, ns.name)
		ns.parent.mu.Unlock()
	} else {
		empty = false
	}
	s.mu.Unlock()
	if empty {
		ns.adapter.Close()
	}
}

// Name returns the namespace's name, e.g. "/" or "/admin". A dynamic family
// from OfFunc has the name "".
func (ns *Namespace) Name() string { return ns.name }

// Server returns the server the namespace belongs to.
func (ns *Namespace) Server() *Server { return ns.srv }

// Adapter returns the namespace's adapter.
func (ns *Namespace) Adapter() Adapter { return ns.adapter }

// Use adds a middleware run for every socket that connects, in the order
// added, before OnConnect handlers. An error refuses the connection: the
// client gets connect_error with the error's message, and with Data when
// the error is a *ConnectError. Middlewares run on the socket's handler
// goroutine and may block (e.g. to check a token in a database).
func (ns *Namespace) Use(mw func(s *Socket) error) {
	ns.reg.mu.Lock()
	ns.reg.middlewares = append(ns.reg.middlewares, mw)
	ns.reg.mu.Unlock()
}

// OnConnect adds a handler run when a socket has connected, after the
// middlewares and after the client was told it is connected.
func (ns *Namespace) OnConnect(h func(s *Socket)) {
	ns.reg.mu.Lock()
	ns.reg.onConnect = append(ns.reg.onConnect, h)
	ns.reg.mu.Unlock()
}

// OnDisconnect adds a handler run when a socket has disconnected, with the
// reason (see the Reason constants). It runs after the socket's pending
// events, once the socket has left its rooms.
func (ns *Namespace) OnDisconnect(h func(s *Socket, reason string)) {
	ns.reg.mu.Lock()
	ns.reg.onDisconnect = append(ns.reg.onDisconnect, h)
	ns.reg.mu.Unlock()
}

// OnEvent registers the untyped handler of an event, replacing any previous
// handler of that event (typed handlers from On and Handle included). ack is
// nil when the client asked for no acknowledgement. Prefer On and Handle,
// which decode payloads into Go types. An event a client names with a
// number (socket.emit(42)) is the event named as JavaScript writes it,
// "42", as on the Node server.
func (ns *Namespace) OnEvent(event string, h func(s *Socket, args Args, ack Ack)) {
	ns.setHandler(event, h)
}

func (ns *Namespace) setHandler(event string, h eventHandler) {
	ns.reg.mu.Lock()
	ns.reg.handlers[event] = namedHandler{event, h}
	ns.reg.mu.Unlock()
}

// OnAny adds a handler run for every event a client sends, before the
// event's own handler.
func (ns *Namespace) OnAny(h func(s *Socket, event string, args Args)) {
	ns.reg.mu.Lock()
	ns.reg.onAny = append(ns.reg.onAny, h)
	ns.reg.mu.Unlock()
}

// Sockets returns the sockets connected to the namespace on this server
// (for a dynamic family, to every namespace of the family).
func (ns *Namespace) Sockets() []*Socket {
	var out []*Socket
	for _, n := range ns.members() {
		n.mu.RLock()
		for _, so := range n.sockets {
			out = append(out, so)
		}
		n.mu.RUnlock()
	}
	return out
}

// Socket returns the connected socket with the given id, or nil.
func (ns *Namespace) Socket(id string) *Socket {
	for _, n := range ns.members() {
		n.mu.RLock()
		so := n.sockets[id]
		n.mu.RUnlock()
		if so != nil {
			return so
		}
	}
	return nil
}

// members returns ns itself, or the namespaces of a dynamic family.
func (ns *Namespace) members() []*Namespace {
	if ns.accept == nil {
		return []*Namespace{ns}
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return slices.Collect(maps.Values(ns.children))
}

// add makes so a member of ns, in the rooms a middleware had it join
// (early), then in its own, the order the Node server gives them.
func (ns *Namespace) add(so *Socket, early []string) {
	ns.mu.Lock()
	ns.sockets[so.id] = so
	ns.mu.Unlock()
	ns.adapter.AddAll(so.id, append(early, so.id))
}

func (ns *Namespace) remove(so *Socket) {
	ns.mu.Lock()
	_, ok := ns.sockets[so.id]
	delete(ns.sockets, so.id)
	ns.mu.Unlock()
	if ok {
		ns.adapter.DelAll(so.id)
		ns.maybeRemove()
	}
}

// handlers returns what runs for event: the OnAny handlers and the event's
// handler (nil if none).
func (r *registry) lookup(event string) ([]func(*Socket, string, Args), eventHandler) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.onAny, r.handlers[event].h
}

// eventName decodes raw, a JSON string, when it has nothing to unescape
// (ok is false otherwise). A registered event's name comes without an
// allocation.
func (r *registry) eventName(raw []byte) (name string, ok bool) {
	if !isPlainString(raw) {
		return "", false
	}
	key := raw[1 : len(raw)-1]
	r.mu.RLock()
	e, found := r.handlers[string(key)]
	r.mu.RUnlock()
	if found {
		return e.name, true
	}
	return string(key), true
}
