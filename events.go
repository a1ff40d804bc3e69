package socketio

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wirekit/socketio/internal/parser"
)

// Event is a named event whose payload has type T, declared once and used
// on both sides:
//
//	var Chat = socketio.NewEvent[Message]("chat")
//	socketio.On(ns, Chat, func(s *socketio.Socket, m Message) { ... })
//	socketio.Emit(s.To("lobby"), Chat, m)
//
// On the wire the payload is the event's first argument, encoded as JSON;
// []byte values anywhere in it travel as binary attachments.
type Event[T any] struct{ name string }

// NewEvent declares an event. It panics if name is one of the names the
// protocol reserves (connect, connect_error, disconnect, disconnecting,
// newListener, removeListener).
func NewEvent[T any](name string) Event[T] {
	mustNotBeReserved(name)
	return Event[T]{name: name}
}

// Name returns the event's name.
func (e Event[T]) Name() string { return e.name }

// Request is a named request with a reply: the sender emits Req with an
// acknowledgement id, the receiver's acknowledgement carries Resp.
//
//	var Join = socketio.NewRequest[JoinReq, JoinResp]("join")
//	socketio.Handle(ns, Join, func(ctx context.Context, s *socketio.Socket, r JoinReq) (JoinResp, error) { ... })
//	resp, err := socketio.EmitWithAck(ctx, s, Join, req)
type Request[Req, Resp any] struct{ name string }

// NewRequest declares a request. It panics on a reserved name, like
// NewEvent.
func NewRequest[Req, Resp any](name string) Request[Req, Resp] {
	mustNotBeReserved(name)
	return Request[Req, Resp]{name: name}
}

// Name returns the request's event name.
func (r Request[Req, Resp]) Name() string { return r.name }

func mustNotBeReserved(name string) {
	if parser.IsReserved(name) {
		panic(fmt.Sprintf("socketio: %q is a reserved event name", name))
	}
}

// Ack answers a client's acknowledgement request. It sends at most once;
// later calls return ErrAckSent.
type Ack func(args ...any) error

// On registers the handler of event e on ns, replacing any previous handler
// of that name. The handler gets the decoded payload; a payload that does
// not decode into T is reported to Config.OnError and the handler is not
// called. If the client asked for an acknowledgement, an empty one is sent
// when the handler returns (clients with the "retries" option ask for one
// on every emit).
func On[T any](ns *Namespace, e Event[T], h func(s *Socket, v T)) {
	ns.setHandler(e.name, func(s *Socket, args Args, ack Ack) {
		var v T
		if err := args.decodeFirst(&v); err != nil {
			s.reportError(&DecodeError{Event: e.name, Err: err})
			return
		}
		h(s, v)
		if ack != nil {
			ack()
		}
	})
}

// Handle registers the handler of request r on ns. The handler's response
// becomes the client's acknowledgement; if it returns an error, the
// acknowledgement carries {"error": err.Error()} instead (a Go client's
// EmitWithAck returns it as a *RemoteError). ctx is the socket's context,
// cancelled when it disconnects.
func Handle[Req, Resp any](ns *Namespace, r Request[Req, Resp], h func(ctx context.Context, s *Socket, req Req) (Resp, error)) {
	ns.setHandler(r.name, func(s *Socket, args Args, ack Ack) {
		var req Req
		if err := args.decodeFirst(&req); err != nil {
			s.reportError(&DecodeError{Event: r.name, Err: err})
			if ack != nil {
				ack(errorReply{Error: "invalid request payload"})
			}
			return
		}
		resp, err := h(s.ctx, s, req)
		if ack == nil {
			return
		}
		if err != nil {
			ack(errorReply{Error: err.Error()})
			return
		}
		ack(resp)
	})
}

// errorReply is the acknowledgement of a request whose handler failed.
type errorReply struct {
	Error string `json:"error"`
}

// Emitter is where an event can be sent: a *Socket (its client), a
// *Namespace (all its sockets) or a BroadcastOperator (a selection of
// sockets, e.g. s.To("room")).
type Emitter interface {
	emitPacket(p *parser.Packet) error
}

// Emit sends event e with payload v. Broadcasts encode the packet once and
// never block on a slow client.
func Emit[T any](to Emitter, e Event[T], v T) error {
	p, err := eventPacket(e.name, []any{v})
	if err != nil {
		return err
	}
	return to.emitPacket(p)
}

// EmitWithAck sends request r to one client and waits for its reply until
// ctx ends. Errors: an *AckError (errors.Is ErrAckTimeout or
// ErrDisconnected), a *RemoteError when the client's handler failed (its
// reply is {"error": message}, as a Go client's Handle sends), or a reply
// that does not decode into Resp.
func EmitWithAck[Req, Resp any](ctx context.Context, s *Socket, r Request[Req, Resp], req Req) (Resp, error) {
	var resp Resp
	args, err := s.EmitWithAck(ctx, r.name, req)
	if err != nil {
		return resp, err
	}
	if msg, ok := args.errorReply(); ok {
		return resp, &RemoteError{Message: msg}
	}
	if err := args.decodeFirst(&resp); err != nil {
		return resp, &DecodeError{Event: r.name, Err: err}
	}
	return resp, nil
}

// EmitWithAcks sends request r to every socket b selects and collects their
// replies until all have answered or ctx ends (or b's Timeout passes); a
// socket of this server that disconnects before answering is not waited
// for. It returns the replies received; if some are missing the error is
// an *AckError with Timeout set. Replies that do not decode are skipped and
// reported in the error.
func EmitWithAcks[Req, Resp any](ctx context.Context, b BroadcastOperator, r Request[Req, Resp], req Req) ([]Resp, error) {
	all, err := b.EmitWithAck(ctx, r.name, req)
	out := make([]Resp, 0, len(all))
	var decErr error
	for _, a := range all {
		var v Resp
		if e := a.decodeFirst(&v); e != nil {
			decErr = &DecodeError{Event: r.name, Err: e}
			continue
		}
		out = append(out, v)
	}
	if err == nil {
		err = decErr
	}
	return out, err
}

// eventPacket encodes an event and its arguments. A reserved name is
// refused: socket.io-client would take the packet for an invalid one and
// close the connection.
func eventPacket(event string, args []any) (*parser.Packet, error) {
	if parser.IsReserved(event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := parser.MarshalEvent(event, args)
	if err != nil {
		return nil, fmt.Errorf("socketio: encoding %q: %w", event, err)
	}
	return &parser.Packet{Type: parser.Event, Data: data, Attachments: atts}, nil
}

// Args are the arguments of an event as the client sent them. Decode them
// into Go values with Decode; []byte destinations receive binary
// attachments.
type Args struct {
	elems []json.RawMessage
	atts  [][]byte
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.elems) }

// Decode decodes argument i (from 0) into v, like json.Unmarshal.
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.elems) {
		return ErrNoArg
	}
	return parser.Unmarshal(a.elems[i], a.atts, v)
}

// decodeFirst decodes the first argument, leaving v at its zero value when
// there is none.
func (a Args) decodeFirst(v any) error {
	if len(a.elems) == 0 {
		return nil
	}
	return a.Decode(0, v)
}

// errorReply recognizes the reply of a request whose handler failed: a
// first argument that is exactly {"error": "<message>"}.
func (a Args) errorReply() (string, bool) {
	if len(a.elems) == 0 || len(a.elems[0]) == 0 || a.elems[0][0] != '{' {
		return "", false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(a.elems[0], &obj) != nil || len(obj) != 1 {
		return "", false
	}
	var msg string
	if e, ok := obj["error"]; !ok || json.Unmarshal(e, &msg) != nil {
		return "", false
	}
	return msg, true
}

// Value returns argument i as a generic value (map[string]any, []any,
// float64, string, bool, []byte for binary, nil), or nil if it is missing.
func (a Args) Value(i int) any {
	if i < 0 || i >= len(a.elems) {
		return nil
	}
	v, err := parser.Value(a.elems[i], a.atts)
	if err != nil {
		return nil
	}
	return v
}

// JSON returns argument i as raw JSON, binary attachments shown as their
// placeholders; nil if it is missing.
func (a Args) JSON(i int) json.RawMessage {
	if i < 0 || i >= len(a.elems) {
		return nil
	}
	return a.elems[i]
}

// Slice returns the arguments as values that Emit and Ack send on exactly
// as received, binary included: s.Emit("echo", args.Slice()...).
func (a Args) Slice() []any {
	out := make([]any, len(a.elems))
	for i, e := range a.elems {
		out[i] = parser.Raw{JSON: e, Attachments: a.atts}
	}
	return out
}
