package main

// Handlers of the scenarios in interop/test/{timeouts,payloads,lifecycle,
// operators,namespaces}.test.js; interop/lib/reference-server.js has the
// same on the Node server.
//
// Namespace "/":
//
//	ack-later {ms, args}      acknowledges with args after ms
//	ask-room {to, except, event, payload, timeoutMs}
//	                          ns.To(to...).Except(except...).Timeout(timeoutMs)
//	                          .EmitWithAck(event, payload): ack {timedOut,
//	                          answers: [first argument of each answer...]}
//	op {op, to, except, rooms, close, event, args, volatile}
//	                          namespace-level operator on "/": op is
//	                          "join"/"leave" (SocketsJoin/SocketsLeave rooms),
//	                          "disconnect" (DisconnectSockets(close)), "fetch"
//	                          (ack the selected ids, sorted), "emit" (emit
//	                          event with args, binary included), "burst"
//	                          (emit n "tick" (i, <2 bytes i>)); ack true
//	                          otherwise
//	emit-reserved name        emit event name to the socket, and to its
//	                          room: ack {socket, room}, the errors or null
//	reason-of id              ack the reason the socket id (any namespace)
//	                          disconnected with, or null
//	handshake                 ack {xTest: header x-test or null, query, auth}
//	emit-values               emit "values" with fixed values (see below)
//	dyn-emit {tag}            emit "dyn-msg" tag to every dynamic namespace
//
// Dynamic namespaces "/dyn-<word>": the common handlers; auth {token:"bad"}
// is refused with "unauthorized", data {nsp}.
// Every namespace records its sockets' disconnect reasons for reason-of.

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/wirekit/socketio"
)

var reasons sync.Map // socket id -> disconnect reason

func recordReasons(ns *socketio.Namespace) {
	ns.OnDisconnect(func(s *socketio.Socket, reason string) {
		reasons.Store(s.ID(), reason)
	})
}

type opReq struct {
	Op       string   `json:"op"`
	To       []string `json:"to"`
	Except   []string `json:"except"`
	Rooms    []string `json:"rooms"`
	Close    bool     `json:"close"`
	Event    string   `json:"event"`
	Volatile bool     `json:"volatile"`
	N        int      `json:"n"`
}

var dynName = regexp.MustCompile(`^/dyn-[\w-]+$`)

func more(srv *socketio.Server) {
	main := srv.Of("/")
	recordReasons(main)
	// auth {mwDelay: ms, mwJoin: [rooms...], mwEmit: x, mwDisconnect:
	// close}: the middleware waits ms, calls Disconnect(close), joins the
	// rooms and emits "mw-hello" x, before the socket is connected.
	main.Use(func(s *socketio.Socket) error {
		var auth struct {
			Join       []string `json:"mwJoin"`
			Emit       any      `json:"mwEmit"`
			Disconnect *bool    `json:"mwDisconnect"`
			Delay      int      `json:"mwDelay"`
		}
		_ = s.DecodeAuth(&auth)
		if auth.Delay > 0 {
			time.Sleep(time.Duration(min(auth.Delay, 5000)) * time.Millisecond)
		}
		if auth.Disconnect != nil {
			s.Disconnect(*auth.Disconnect)
		}
		if len(auth.Join) > 0 {
			if err := s.Join(auth.Join...); err != nil {
				log.Printf("join in middleware: %v", err)
			}
		}
		if auth.Emit != nil {
			if err := s.Emit("mw-hello", auth.Emit); err != nil {
				log.Printf("emit in middleware: %v", err)
			}
		}
		return nil
	})
	recordReasons(srv.Of("/admin"))

	main.OnEvent("ack-later", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var req struct {
			Ms   int               `json:"ms"`
			Args []json.RawMessage `json:"args"`
		}
		_ = args.Decode(0, &req)
		if ack == nil {
			return
		}
		out := make([]any, len(req.Args))
		for i, a := range req.Args {
			out[i] = a
		}
		time.AfterFunc(time.Duration(req.Ms)*time.Millisecond, func() { _ = ack(out...) })
	})

	main.OnEvent("ask-room", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var req struct {
			To        []string `json:"to"`
			Except    []string `json:"except"`
			Event     string   `json:"event"`
			TimeoutMs int      `json:"timeoutMs"`
		}
		_ = args.Decode(0, &req)
		var payload any
		if m, ok := args.Value(0).(map[string]any); ok {
			payload = m["payload"]
		}
		b := main.To(req.To...).Except(req.Except...).Timeout(time.Duration(req.TimeoutMs) * time.Millisecond)
		answers, err := b.EmitWithAck(context.Background(), req.Event, payload)
		out := []any{}
		for _, a := range answers {
			if a.Len() == 0 {
				out = append(out, nil)
				continue
			}
			out = append(out, a.Slice()[0])
		}
		if ack != nil {
			_ = ack(map[string]any{"timedOut": errors.Is(err, socketio.ErrAckTimeout), "answers": out})
		}
	})

	main.OnEvent("op", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var req opReq
		_ = args.Decode(0, &req)
		b := main.To(req.To...).Except(req.Except...)
		if req.Volatile {
			b = b.Volatile()
		}
		var res any = true
		switch req.Op {
		case "join":
			b.SocketsJoin(req.Rooms...)
		case "leave":
			b.SocketsLeave(req.Rooms...)
		case "disconnect":
			b.DisconnectSockets(req.Close)
		case "fetch":
			ids := []string{}
			for _, so := range b.Sockets() {
				ids = append(ids, so.ID())
			}
			slices.Sort(ids)
			res = ids
		case "emit":
			// the arguments as the client sent them, binary included
			var all []any
			if m, ok := args.Value(0).(map[string]any); ok {
				all, _ = m["args"].([]any)
			}
			_ = b.Emit(req.Event, all...)
		case "burst":
			for i := range min(req.N, 1000) {
				_ = b.Emit("tick", i, []byte{byte(i), byte(i >> 8)})
			}
		default:
			res = false
		}
		if ack != nil {
			_ = ack(res)
		}
	})

	main.OnEvent("emit-reserved", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var name string
		_ = args.Decode(0, &name)
		errs := map[string]any{"socket": nil, "room": nil}
		if err := s.Emit(name, "from emit-reserved"); err != nil {
			errs["socket"] = err.Error()
		}
		if err := main.To(s.ID()).Emit(name, "from emit-reserved"); err != nil {
			errs["room"] = err.Error()
		}
		if ack != nil {
			_ = ack(errs)
		}
	})

	main.OnEvent("reason-of", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var id string
		_ = args.Decode(0, &id)
		var r any
		if v, ok := reasons.Load(id); ok {
			r = v
		}
		if ack != nil {
			_ = ack(r)
		}
	})

	main.OnEvent("handshake", func(s *socketio.Socket, _ socketio.Args, ack socketio.Ack) {
		hs := s.Handshake()
		var xTest any
		if v := hs.Header.Get("X-Test"); v != "" {
			xTest = v
		}
		var auth any
		_ = s.DecodeAuth(&auth)
		query := map[string]string{}
		for k := range hs.Query {
			query[k] = hs.Query.Get(k)
		}
		if ack != nil {
			_ = ack(map[string]any{"xTest": xTest, "query": query, "auth": auth})
		}
	})

	main.OnEvent("emit-values", func(s *socketio.Socket, _ socketio.Args, _ socketio.Ack) {
		_ = s.Emit("values",
			nil,
			[]any{1, nil, "x"},
			map[string]any{"a": nil, "b": map[string]any{"c": []any{}}},
			"é😀\u2028\u2029\x00\"\\/</script>",
			int64(9007199254740991),
			0.1,
			1e21,
			-1.5e-7,
			"",
			map[string]any{},
		)
	})

	dyn := srv.OfFunc(func(name string, _ json.RawMessage) bool { return dynName.MatchString(name) })
	dyn.Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		_ = s.DecodeAuth(&auth)
		if auth.Token == "bad" {
			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]any{"nsp": s.Namespace().Name()}}
		}
		return nil
	})
	common(dyn)
	recordReasons(dyn)

	main.OnEvent("dyn-emit", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var req struct {
			Tag string `json:"tag"`
		}
		_ = args.Decode(0, &req)
		_ = dyn.Emit("dyn-msg", req.Tag)
		if ack != nil {
			_ = ack(true)
		}
	})
}
