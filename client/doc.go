// Package client is a Go Socket.IO client (Socket.IO protocol v5 over
// Engine.IO v4, as socket.io-client 4.x speaks it), for servers built with
// package socketio and for the Node reference server alike.
//
// # Quick start
//
// Events are declared once, with the same socketio.Event and
// socketio.Request values the server uses:
//
//	var Chat = socketio.NewEvent[Message]("chat")
//	var Join = socketio.NewRequest[JoinReq, JoinResp]("join")
//
//	conn, err := client.Dial(ctx, "http://localhost:8080", nil)
//	if err != nil { ... }
//	defer conn.Close()
//	s := conn.Of("/")                                    // not connected yet:
//	client.On(s, Chat, func(m Message) { ... })          // register handlers first
//	if err := s.Connect(ctx, map[string]string{"token": tok}); err != nil { ... }
//	resp, err := client.EmitWithAck(ctx, s, Join, JoinReq{Room: "lobby"})
//	client.Emit(s, Chat, Message{Text: "hi"})
//
// client.Connect(ctx, url, opts) does Dial and Connect in one call for a
// single namespace, like the JavaScript io(url, opts).
//
// # Transports and reconnection
//
// By default a connection opens over HTTP long-polling and upgrades to
// WebSocket, as the JavaScript client does; Options.Transports selects
// polling only or WebSocket only. The client answers the server's
// heartbeats and treats pingInterval + pingTimeout of silence as a lost
// connection. A lost connection is dialled again with exponential backoff
// and jitter, and the namespaces that were connected are connected again
// (OnConnect handlers run again; Socket.ID changes), unless
// Options.NoReconnect is set. A namespace the server disconnected stays
// disconnected.
//
// # Concurrency
//
// Each connection has one reader goroutine, which decodes packets and
// never runs user code, and one writer goroutine. The handlers of a socket
// (OnConnect, events, requests, OnDisconnect) run one at a time, in order,
// on a goroutine of that socket's own: a handler may block, and may call
// EmitWithAck. Emits queue and return at once. Every method is safe for
// concurrent use.
//
// Disconnect reasons are those of the JavaScript client: "io server
// disconnect", "io client disconnect", "transport close", "transport
// error", "ping timeout", "parse error".
package client
