// Command server is the Socket.IO server the Node interop tests
// (interop/test/*.test.js) run the official socket.io-client against. It
// uses only the public API of github.com/wirekit/socketio.
//
// It listens on 127.0.0.1:$PORT (default 3000; PORT=0 picks a free port)
// and prints "listening on http://127.0.0.1:<port>" once it accepts
// connections. PING_INTERVAL_MS and PING_TIMEOUT_MS override the (short)
// heartbeat times. MaxPayload is the default, 1,000,000 bytes.
//
// Namespace "/" (auth {token:"bad"} is refused with connect_error
// "unauthorized", data {code:42}; a socket that connects gets "welcome" {id}):
//
//	whoami            ack {id, nsp, auth, query, transport}
//	add {a,b}         typed request: ack {sum}
//	echo ...args      ack with the same args (binary included); without an
//	                  ack id, emit "echo" back with them
//	no-ack            never acknowledged (client timeouts)
//	ask-client {event, payload, timeoutMs}
//	                  the server emits event with payload to the client with
//	                  an ack, and acknowledges {answer: [...]} or {error}
//	bin-info {name, data:<binary>, parts:[<binary>...]}
//	                  typed request decoding []byte: ack {name, len, sum, parts}
//	bin-make {size}   ack {nested:{buf:<size bytes i%256>}, list:[<3 bytes>, "x"]}
//	                  and emit "bin-made" with the same
//	burst {n}         emit n "tick" events: (i) or, when i%3 == 0, (i, <2 bytes i>),
//	                  then ack n
//	join room / leave room       ack the socket's rooms
//	to-room {room, tag}          s.To(room).Emit("room-msg", {room, tag, from})
//	broadcast {tag}              s.Broadcast().Emit("broadcast-msg", {tag, from})
//	note {n}          untyped, records {n, ack: whether an ack id came}, acks
//	note-typed {n}    typed On handler (acks automatically when asked)
//	notes             ack {notes:[{n,ack}...], typed:[n...]}
//	disconnect-me [{close}]  s.Disconnect(close): the client sees "io server disconnect"
//
// Namespace "/admin": whoami, echo, disconnect-me, as above.
//
// more.go has the handlers of the newer scenarios.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/wirekit/socketio"
)

type addReq struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

type addResp struct {
	Sum float64 `json:"sum"`
}

type binReq struct {
	Name  string   `json:"name"`
	Data  []byte   `json:"data"`
	Parts [][]byte `json:"parts"`
}

type binResp struct {
	Name  string `json:"name"`
	Len   int    `json:"len"`
	Sum   int    `json:"sum"`
	Parts []int  `json:"parts"` // length of each part
}

type note struct {
	N int `json:"n"`
}

var (
	Add       = socketio.NewRequest[addReq, addResp]("add")
	BinInfo   = socketio.NewRequest[binReq, binResp]("bin-info")
	NoteTyped = socketio.NewEvent[note]("note-typed")
)

// state is what a socket of "/" records for the "notes" request.
type state struct {
	mu    sync.Mutex
	notes []map[string]any
	typed []int
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	srv := newServer(envDuration("PING_INTERVAL_MS", time.Second), envDuration("PING_TIMEOUT_MS", 3*time.Second))
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	// No WriteTimeout: a long-polling GET waits up to PingInterval.
	hs := &http.Server{Handler: srv.Handler(http.NotFoundHandler()), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(hs.Serve(ln))
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return time.Duration(v) * time.Millisecond
	}
	return def
}

func newServer(pingInterval, pingTimeout time.Duration) *socketio.Server {
	srv := socketio.New(socketio.Config{
		PingInterval: pingInterval,
		PingTimeout:  pingTimeout,
		OnError: func(s *socketio.Socket, err error) {
			log.Printf("socket %s %s: %v", s.Namespace().Name(), s.ID(), err)
		},
	})

	main := srv.Of("/")
	main.Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		if err := s.DecodeAuth(&auth); err != nil {
			return &socketio.ConnectError{Message: "bad auth payload"}
		}
		if auth.Token == "bad" {
			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]any{"code": 42}}
		}
		s.SetData(&state{})
		return nil
	})
	common(main)
	main.OnConnect(func(s *socketio.Socket) {
		s.Emit("welcome", map[string]any{"id": s.ID()})
	})

	socketio.Handle(main, Add, func(_ context.Context, _ *socketio.Socket, r addReq) (addResp, error) {
		return addResp{Sum: r.A + r.B}, nil
	})

	main.OnEvent("no-ack", func(*socketio.Socket, socketio.Args, socketio.Ack) {})

	main.OnEvent("ask-client", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		if ack == nil {
			return
		}
		var req struct {
			Event     string `json:"event"`
			TimeoutMs int    `json:"timeoutMs"`
		}
		if err := args.Decode(0, &req); err != nil || req.Event == "" {
			ack(map[string]any{"error": "want {event, payload, timeoutMs}"})
			return
		}
		if req.TimeoutMs <= 0 {
			req.TimeoutMs = 5000
		}
		// The payload goes out as the client sent it, binary included
		// (Value gives []byte for attachments).
		var payload any
		if m, ok := args.Value(0).(map[string]any); ok {
			payload = m["payload"]
		}
		ctx, cancel := context.WithTimeout(s.Context(), time.Duration(req.TimeoutMs)*time.Millisecond)
		defer cancel()
		answer, err := s.EmitWithAck(ctx, req.Event, payload)
		if err != nil {
			msg := err.Error()
			if errors.Is(err, socketio.ErrAckTimeout) {
				msg = "timeout"
			}
			ack(map[string]any{"error": msg})
			return
		}
		ack(map[string]any{"answer": answer.Slice()})
	})

	socketio.Handle(main, BinInfo, func(_ context.Context, _ *socketio.Socket, r binReq) (binResp, error) {
		resp := binResp{Name: r.Name, Len: len(r.Data), Parts: []int{}}
		for _, b := range r.Data {
			resp.Sum += int(b)
		}
		for _, p := range r.Parts {
			resp.Parts = append(resp.Parts, len(p))
		}
		return resp, nil
	})

	main.OnEvent("bin-make", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var req struct {
			Size int `json:"size"`
		}
		_ = args.Decode(0, &req)
		if req.Size < 0 || req.Size > 500_000 {
			req.Size = 0
		}
		buf := make([]byte, req.Size)
		for i := range buf {
			buf[i] = byte(i)
		}
		v := map[string]any{
			"nested": map[string]any{"buf": buf},
			"list":   []any{[]byte{1, 2, 3}, "x"},
		}
		if ack != nil {
			ack(v)
		}
		s.Emit("bin-made", v)
	})

	main.OnEvent("burst", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var req struct {
			N int `json:"n"`
		}
		_ = args.Decode(0, &req)
		for i := range min(req.N, 1000) {
			if i%3 == 0 {
				s.Emit("tick", i, []byte{byte(i), byte(i >> 8)})
			} else {
				s.Emit("tick", i)
			}
		}
		if ack != nil {
			ack(req.N)
		}
	})

	main.OnEvent("join", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var room string
		if err := args.Decode(0, &room); err != nil {
			return
		}
		err := s.Join(room)
		if ack != nil {
			if err != nil {
				ack(map[string]any{"error": err.Error()})
				return
			}
			ack(s.Rooms())
		}
	})
	main.OnEvent("leave", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var room string
		if err := args.Decode(0, &room); err != nil {
			return
		}
		s.Leave(room)
		if ack != nil {
			ack(s.Rooms())
		}
	})
	main.OnEvent("to-room", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var req struct {
			Room string `json:"room"`
			Tag  string `json:"tag"`
		}
		_ = args.Decode(0, &req)
		err := s.To(req.Room).Emit("room-msg", map[string]any{"room": req.Room, "tag": req.Tag, "from": s.ID()})
		if ack != nil {
			ack(err == nil)
		}
	})
	main.OnEvent("broadcast", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var req struct {
			Tag string `json:"tag"`
		}
		_ = args.Decode(0, &req)
		err := s.Broadcast().Emit("broadcast-msg", map[string]any{"tag": req.Tag, "from": s.ID()})
		if ack != nil {
			ack(err == nil)
		}
	})

	main.OnEvent("note", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var n note
		_ = args.Decode(0, &n)
		st := s.Data().(*state)
		st.mu.Lock()
		st.notes = append(st.notes, map[string]any{"n": n.N, "ack": ack != nil})
		st.mu.Unlock()
		if ack != nil {
			ack()
		}
	})
	socketio.On(main, NoteTyped, func(s *socketio.Socket, n note) {
		st := s.Data().(*state)
		st.mu.Lock()
		st.typed = append(st.typed, n.N)
		st.mu.Unlock()
	})
	main.OnEvent("notes", func(s *socketio.Socket, _ socketio.Args, ack socketio.Ack) {
		if ack == nil {
			return
		}
		st := s.Data().(*state)
		st.mu.Lock()
		notes := append([]map[string]any{}, st.notes...)
		typed := append([]int{}, st.typed...)
		st.mu.Unlock()
		ack(map[string]any{"notes": notes, "typed": typed})
	})

	common(srv.Of("/admin"))
	more(srv)
	return srv
}

// common registers the handlers every namespace has.
func common(ns *socketio.Namespace) {
	ns.OnEvent("whoami", func(s *socketio.Socket, _ socketio.Args, ack socketio.Ack) {
		if ack == nil {
			return
		}
		hs := s.Handshake()
		var auth any
		_ = s.DecodeAuth(&auth)
		query := map[string]string{}
		for k := range hs.Query {
			query[k] = hs.Query.Get(k)
		}
		ack(map[string]any{
			"id":        s.ID(),
			"nsp":       s.Namespace().Name(),
			"auth":      auth,
			"query":     query,
			"transport": s.Transport(),
		})
	})
	ns.OnEvent("echo", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		if ack != nil {
			ack(args.Slice()...)
			return
		}
		s.Emit("echo", args.Slice()...)
	})
	ns.OnEvent("disconnect-me", func(s *socketio.Socket, args socketio.Args, _ socketio.Ack) {
		var opt struct {
			Close bool `json:"close"`
		}
		_ = args.Decode(0, &opt)
		s.Disconnect(opt.Close)
	})
}
