package socketio

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirekit/socketio/internal/engineio"
	"github.com/wirekit/socketio/internal/parser"
)

// conn is one Engine.IO connection and the sockets it holds, one per
// namespace. Packets are decoded on the connection's reader goroutine, which
// never runs user code: events are handed to each socket's handler queue.
type conn struct {
	srv  *Server
	sess *engineio.Session
	dec  parser.Decoder // reader goroutine only
	// failed: a packet broke the protocol; the connection is closing and
	// reads nothing more.
	failed atomic.Bool

	mu        sync.Mutex
	sockets   map[string]*Socket // by namespace, connecting or connected
	left      []string           // namespaces whose socket has gone, latest last (see gone)
	joined    bool               // some namespace was joined: no longer "connecting"
	closed    bool
	connTimer *time.Timer
}

// engineHandler receives the Engine.IO events of a Server.
type engineHandler Server

func (h *engineHandler) OnOpen(sess *engineio.Session) {
	s := (*Server)(h)
	c := &conn{
		srv:     s,
		sess:    sess,
		dec:     parser.Decoder{MaxAttachments: s.cfg.MaxAttachments},
		sockets: make(map[string]*Socket, 1),
	}
	sess.Value = c
	s.active.add() // until OnClose has handed the sockets their disconnect
	s.connecting.Add(1)
	c.connTimer = time.AfterFunc(s.cfg.ConnectTimeout, func() {
		c.mu.Lock()
		joined := c.joined
		c.mu.Unlock()
		if !joined {
			sess.Abort(engineio.ReasonForcedClose)
		}
	})
}

func (h *engineHandler) OnMessage(sess *engineio.Session, data []byte, binary bool) {
	h.OnMessageLoan(sess, data, binary, nil)
}

// OnMessageLoan runs an event's handlers on the goroutine that read it,
// when loan allows (see engineio.Loan and serial).
func (h *engineHandler) OnMessageLoan(sess *engineio.Session, data []byte, binary bool, loan *engineio.Loan) {
	c := sess.Value.(*conn)
	if c.failed.Load() {
		return
	}
	var (
		pk  parser.Packet // stays on the stack: nothing keeps p
		p   *parser.Packet
		err error
	)
	if binary {
		p, err = c.dec.DecodeBinary(data)
	} else {
		p, err = c.dec.DecodeTextInto(&pk, data)
	}
	if err == nil && p != nil {
		err = c.dispatch(p, loan)
	}
	if err != nil {
		c.fail(err)
	}
}

// fail ends c after a packet that broke the protocol. Its sockets are
// disconnected now (reason "parse error"), and nothing more is read from
// it. As on the Node server, the connection itself closes gracefully: what
// is queued is flushed, then the close is sent, so that a long-polling
// client's next GET gets the close packet and the client sees "transport
// close" (it would see an unknown session, "transport error", if the
// session were gone at once).
func (c *conn) fail(err error) {
	c.srv.log.Debug("socketio: closing connection", "sid", c.sess.ID(), "err", err)
	c.failed.Store(true)
	for _, so := range c.socketList() {
		so.disconnect(engineio.ReasonParseError, false)
	}
	c.sess.Close(engineio.ReasonParseError)
}

// socketList returns c's sockets, connecting or connected.
func (c *conn) socketList() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Values(c.sockets))
}

func (h *engineHandler) OnClose(sess *engineio.Session, reason string) {
	c := sess.Value.(*conn)
	c.connTimer.Stop()
	c.mu.Lock()
	c.closed = true
	if !c.joined {
		c.joined = true
		c.srv.connecting.Add(-1)
	}
	c.mu.Unlock()
	for _, so := range c.socketList() {
		so.disconnect(reason, false)
	}
	c.srv.active.done()
}

// markJoined records that the connection joined a namespace.
func (c *conn) markJoined() {
	c.mu.Lock()
	first := !c.joined
	c.joined = true
	c.mu.Unlock()
	if first {
		c.connTimer.Stop()
		c.srv.connecting.Add(-1)
	}
}

func (c *conn) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockets[nsp]
}

// removeSocket forgets so, which has been disconnected; kicked: it had
// been connected, and the server disconnected it (see gone).
func (c *conn) removeSocket(so *Socket, kicked bool) {
	c.mu.Lock()
	if c.sockets[so.ns.name] == so {
		delete(c.sockets, so.ns.name)
		if kicked && !slices.Contains(c.left, so.ns.name) {
			if len(c.left) == maxLeft {
				c.left = append(c.left[:0], c.left[1:]...)
			}
			c.left = append(c.left, so.ns.name)
		}
	}
	c.mu.Unlock()
}

// maxLeft bounds conn.left: a client that joins and leaves namespace after
// namespace makes it forget the oldest.
const maxLeft = 16

// gone reports whether a packet for namespace nsp, whose socket is so (nil
// if none), is one the client may well have sent before it learnt that
// the socket had gone: the server disconnected it, and the DISCONNECT is
// on its way. (A client that left by itself knows: its packets for the
// namespace close the connection, as on Node.) Such packets are
// dropped; closing the connection for them, as for packets that make no
// sense, would also drop that DISCONNECT, and the client would reconnect
// the socket the server had just turned away.
func (c *conn) gone(nsp string, so *Socket) bool {
	if so != nil {
		so.mu.Lock()
		defer so.mu.Unlock()
		return so.state == stateDisconnected
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.left, nsp)
}

// dispatch handles one packet from the client, on the goroutine that read
// it, which loan (if not nil) lends to the handlers of an event. An error
// closes the whole connection, as the protocol prescribes for packets that
// make no sense.
func (c *conn) dispatch(p *parser.Packet, loan *engineio.Loan) error {
	switch p.Type {
	case parser.Connect:
		return c.connect(p)
	case parser.Disconnect:
		so := c.socket(p.Namespace)
		if so == nil {
			if c.gone(p.Namespace, nil) {
				return nil
			}
			return fmt.Errorf("disconnect from namespace %q not joined", p.Namespace)
		}
		so.disconnect(ReasonClientDisconnect, false)
		return nil
	case parser.Event, parser.BinaryEvent:
		so := c.socket(p.Namespace)
		if so == nil || !so.Connected() {
			if c.gone(p.Namespace, so) {
				return nil
			}
			return fmt.Errorf("event for namespace %q not joined", p.Namespace)
		}
		return so.onEvent(p, loan)
	case parser.Ack, parser.BinaryAck:
		so := c.socket(p.Namespace)
		if so == nil || !so.Connected() {
			if c.gone(p.Namespace, so) {
				return nil
			}
			return fmt.Errorf("ack for namespace %q not joined", p.Namespace)
		}
		so.onAck(p)
		return nil
	default:
		return fmt.Errorf("unexpected packet type %v from client", p.Type)
	}
}

// connect handles CONNECT: finds the namespace, then runs its middlewares on
// the new socket's handler goroutine.
func (c *conn) connect(p *parser.Packet) error {
	name := p.Namespace
	c.mu.Lock()
	prev := c.sockets[name]
	closed := c.closed
	c.mu.Unlock()
	if prev != nil {
		prev.mu.Lock()
		connecting := prev.state == stateConnecting
		prev.mu.Unlock()
		if !connecting {
			return fmt.Errorf("second CONNECT to namespace %q", name)
		}
		// The client left the namespace and came back while the
		// middlewares of its first CONNECT were still running: it sent
		// no DISCONNECT (it was not connected yet), and now waits for
		// the answer to this CONNECT. The Node server runs both; the
		// first is dropped here, silently (its middlewares see its
		// context cancelled).
		prev.disconnect(ReasonClientDisconnect, false)
	}
	if closed {
		return nil
	}
	var auth json.RawMessage
	if len(p.Data) > 0 {
		auth = p.Data
	}
	ns := c.srv.namespaceFor(name, auth)
	if ns == nil {
		c.sendConnectError(name, invalidNamespace)
		return nil
	}
	so := newSocket(ns, c, auth)
	c.mu.Lock()
	c.sockets[name] = so
	c.left = slices.DeleteFunc(c.left, func(n string) bool { return n == name })
	c.mu.Unlock()
	so.q.push(so.runConnect)
	return nil
}

var invalidNamespace = &ConnectError{Message: "Invalid namespace"}

func (c *conn) sendConnectError(nsp string, ce *ConnectError) {
	payload := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{ce.Message, ce.Data}
	data, err := json.Marshal(payload)
	if err != nil {
		data, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{ce.Message})
	}
	c.send(&parser.Packet{Type: parser.ConnectError, Namespace: nsp, Data: data})
}

// send encodes p and queues it on the connection.
func (c *conn) send(p *parser.Packet) error {
	if len(p.Attachments) == 0 {
		// The common case, without the slice frames allocates.
		return c.sess.Send(engineio.Packet{Data: textFrame(p)})
	}
	return c.sess.Send(frames(p)...)
}

// reply is send for an ack: written on the calling goroutine when the
// connection is idle (see engineio.Session.SendNow).
func (c *conn) reply(p *parser.Packet) error {
	if len(p.Attachments) == 0 {
		return c.sess.SendNow(engineio.Packet{Data: textFrame(p)})
	}
	return c.sess.SendNow(frames(p)...)
}

// replyMessage is reply for a packet already encoded as an Engine.IO
// message.
func (c *conn) replyMessage(msg []byte) error {
	return c.sess.SendNow(engineio.Packet{Data: msg})
}

// textFrame encodes the text part of a packet as an Engine.IO message.
func textFrame(p *parser.Packet) []byte {
	text := parser.AppendPacket(make([]byte, 1, 64+len(p.Data)), p)
	text[0] = engineio.TypeMessage
	return text
}

// frames encodes a packet as the Engine.IO packets that carry it: the text
// packet, then one binary packet per attachment.
func frames(p *parser.Packet) []engineio.Packet {
	fs := make([]engineio.Packet, 1+len(p.Attachments))
	fs[0] = engineio.Packet{Data: textFrame(p)}
	for i, a := range p.Attachments {
		fs[i+1] = engineio.Packet{Data: a, Binary: true}
	}
	return fs
}
