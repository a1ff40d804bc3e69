// Command conformance serves what the official Engine.IO v4 and Socket.IO v5
// test suites expect (see the socketio/socket.io repository,
// docs/*-protocol/*-test-suite): on /engine.io/ a bare Engine.IO server that
// echoes every message, on /socket.io/ a Socket.IO server with the suites'
// handlers. It listens on 127.0.0.1:$CONFORMANCE_PORT, or $PORT, or 3000.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/internal/engineio"
)

// echo sends every message back to the session it came from.
type echo struct{}

func (echo) OnOpen(*engineio.Session) {}
func (echo) OnMessage(s *engineio.Session, data []byte, binary bool) {
	if binary {
		s.Send(engineio.Packet{Data: data, Binary: true})
		return
	}
	s.Send(engineio.Packet{Data: append([]byte{engineio.TypeMessage}, data...)})
}
func (echo) OnClose(*engineio.Session, string) {}

func main() {
	port := os.Getenv("CONFORMANCE_PORT")
	if port == "" {
		port = os.Getenv("PORT")
	}
	if port == "" {
		port = "3000"
	}
	timing := engineio.Config{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   1_000_000,
	}
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", engineio.NewServer(timing, echo{}))
	mux.Handle("/socket.io/", newSocketIO())
	addr := "127.0.0.1:" + port
	log.Printf("conformance server on http://%s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}

// newSocketIO is the server the socket.io-protocol suite expects.
func newSocketIO() *socketio.Server {
	srv := socketio.New(socketio.Config{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   1_000_000,
		// The reference uses 1000 ms; the suite's polling heartbeat test runs
		// three ping rounds (about 950 ms) without ever connecting, so a
		// loaded machine needs some margin. The no-handshake test only needs
		// the connection closed within 2 s.
		ConnectTimeout: 1500 * time.Millisecond,
	})
	sendAuth := func(s *socketio.Socket) {
		auth := s.Handshake().Auth
		if auth == nil {
			auth = json.RawMessage(`{}`)
		}
		s.Emit("auth", auth)
	}
	main := srv.Of("/")
	main.OnConnect(sendAuth)
	main.OnEvent("message", func(s *socketio.Socket, args socketio.Args, _ socketio.Ack) {
		s.Emit("message-back", args.Slice()...)
	})
	main.OnEvent("message-with-ack", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		if ack != nil {
			ack(args.Slice()...)
		}
	})
	srv.Of("/custom").OnConnect(sendAuth)
	return srv
}
