// Package socketio is a Socket.IO server for net/http: one http.Handler that
// the official socket.io-client (v3 and v4: Engine.IO protocol 4, Socket.IO
// protocol 5) talks to unchanged, over HTTP long-polling and WebSocket.
//
// # Quick start
//
//	type Message struct {
//		User string `json:"user"`
//		Text string `json:"text"`
//	}
//
//	var Chat = socketio.NewEvent[Message]("chat")
//
//	srv := socketio.New(socketio.Config{})
//	ns := srv.Of("/")
//	ns.OnConnect(func(s *socketio.Socket) { s.Join("lobby") })
//	socketio.On(ns, Chat, func(s *socketio.Socket, m Message) {
//		socketio.Emit(ns.To("lobby"), Chat, m)
//	})
//	http.Handle("/socket.io/", srv)
//
// and in the browser:
//
//	const socket = io();
//	socket.on("chat", (m) => console.log(m.user, m.text));
//	socket.emit("chat", { user: "ann", text: "hi" });
//
// # Events
//
// An event's payload type is declared once, with NewEvent (one-way) or
// NewRequest (with a reply carried by the client's acknowledgement). On and
// Handle register typed handlers on a Namespace; Emit sends to an Emitter
// (a Socket, a Namespace, or a BroadcastOperator such as s.To("room"));
// EmitWithAck asks one client and waits for its reply, honouring ctx.
// []byte values anywhere in a payload travel as binary attachments (an
// ArrayBuffer or Buffer in JavaScript) in both directions. Socket.Emit,
// Namespace.OnEvent and Args are the untyped escape hatch.
//
// # Concurrency
//
// Each connection has at most one reader goroutine at a time (the HTTP
// request of a WebSocket, or the POST requests of long-polling) and at most
// one writer. On Linux, a WebSocket over a plain TCP or Unix socket that
// has nothing to read holds no goroutine at all: its reader ends, and the
// socket waits in an epoll set of the package's, which starts a reader
// again when the client sends something or the session closes. A
// connection that sends more often than every ten seconds (or half the
// ping interval, if shorter) keeps its reader, until it has been quiet
// that long.
//
// Handlers of one socket (middlewares, OnConnect, event handlers,
// OnDisconnect) run one at a time, in the order the client sent the
// events, on a goroutine of that socket's own that exists only while there
// is work. On a Unix system, an event read from a WebSocket over a plain
// TCP or Unix socket, whose socket has no handler running, is handled on
// the reader goroutine itself, which reads on when the handler returns: no
// goroutine is started per event. If that handler is still running after
// a millisecond (two at most), a new goroutine takes the reading over.
// Either way a handler may block — on a database, or on EmitWithAck to the
// same client — and only delays the next events of that socket (by up to
// two milliseconds, the events of the connection's other namespaces); handlers
// of different connections run in parallel. If a socket's handlers fall
// 256 events, or Config.MaxBufferedBytes of them, behind, its connection
// stops being read until they catch up.
//
// A socket is disconnected as soon as its client leaves, its connection
// ends or the client breaks the protocol, even while some of its events
// wait for their handlers: those still run, in order, and OnDisconnect
// after them, but Socket.Connected then reports false and an emit to that
// socket returns ErrDisconnected. (The Node server runs a handler's
// synchronous part before it reads the next packet, so there it sees the
// socket still connected.)
//
// Every emit queues bytes and returns at once. A broadcast encodes its
// packet, and its WebSocket frames, once and queues the same bytes for
// every recipient, without holding any lock while doing so; a client
// whose queue exceeds
// Config.MaxBufferedBytes is disconnected rather than slowing anyone down.
// Only one goroutine writes to a connection at a time: usually its writer,
// which runs while there is something to send and batches what queued
// meanwhile. On an idle WebSocket over a plain TCP or Unix socket, an ack
// is written by the goroutine that sends it, and a broadcast's recipients
// by one goroutine for the whole broadcast, with writes that take what the
// socket accepts at once and leave the rest to the writer: those never
// wait for a client either. Over TLS, or a connection a listener wraps,
// the writer writes everything.
// All exported methods are safe for concurrent use.
//
// A panic in a handler is recovered, reported to Config.OnError and
// disconnects that socket only.
//
// # Deployment
//
// A long-polling GET is held open for up to Config.PingInterval (25s by
// default): http.Server.WriteTimeout, and any proxy's read timeout, must be
// longer, or polling clients will see errors. WebSocket connections are
// hijacked from net/http and are not subject to those timeouts; ServeHTTP
// returns as soon as a WebSocket is established, and the connection goes on
// on goroutines of its own (so middleware that times requests sees the
// handshake only). Values an HTTP middleware in front of the server puts in
// the handshake request's context (a signed-in user, a request id) are in
// Socket.Context, which is cancelled when the socket disconnects, not when
// that request ends.
//
// With several servers behind a load balancer, polling clients need sticky
// sessions (all requests of one session must reach the same server), or
// clients may be configured with transports: ["websocket"]. Broadcasts
// across servers need an Adapter shared by all of them: the module
// github.com/wirekit/socketio/redisadapter provides one on Redis, which
// interoperates with Node.js servers using @socket.io/redis-adapter.
//
// Call Server.Shutdown on exit, before http.Server.Shutdown, so that queued
// messages are flushed while long-polling clients can still reach the
// server, and their connections closed cleanly (clients then reconnect by
// themselves, as after the Node server's close()). Calling it from
// http.Server.RegisterOnShutdown works too, but by then the listener is
// closed: a polling client without a pending request cannot collect its
// goodbye, and is closed after a second (so is one that has gone away).
package socketio
