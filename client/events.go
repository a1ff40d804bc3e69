package client

import (
	"context"
	"encoding/json"

	"github.com/wirekit/socketio"
)

// On registers the handler of event e on s, replacing any previous handler
// of that name: the same socketio.Event declaration the server uses. A
// payload that does not decode into T goes to Options.OnError as a
// *socketio.DecodeError and the handler is not called. If the server asked
// for an acknowledgement, an empty one is sent when the handler returns.
func On[T any](s *Socket, e socketio.Event[T], h func(v T)) {
	s.setHandler(e.Name(), func(_ context.Context, args socketio.Args, ack socketio.Ack) {
		var v T
		if args.Len() > 0 {
			if err := args.Decode(0, &v); err != nil {
				s.conn.reportError(s, &socketio.DecodeError{Event: e.Name(), Err: err})
				return
			}
		}
		h(v)
		if ack != nil {
			ack()
		}
	})
}

// Handle registers the handler of request r on s, for requests the server
// sends with socketio.EmitWithAck. The handler's response becomes the
// acknowledgement; if it returns an error, the acknowledgement carries
// {"error": err.Error()} instead, as a Go server's socketio.Handle does.
// ctx ends when the socket disconnects.
func Handle[Req, Resp any](s *Socket, r socketio.Request[Req, Resp], h func(ctx context.Context, req Req) (Resp, error)) {
	s.setHandler(r.Name(), func(ctx context.Context, args socketio.Args, ack socketio.Ack) {
		var req Req
		if args.Len() > 0 {
			if err := args.Decode(0, &req); err != nil {
				s.conn.reportError(s, &socketio.DecodeError{Event: r.Name(), Err: err})
				if ack != nil {
					ack(errorReply{Error: "invalid request payload"})
				}
				return
			}
		}
		resp, err := h(ctx, req)
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

// Emit sends event e with payload v. It fails with
// socketio.ErrDisconnected when the socket is not connected.
func Emit[T any](s *Socket, e socketio.Event[T], v T) error {
	return s.Emit(e.Name(), v)
}

// EmitWithAck sends request r and waits for the server's reply until ctx
// ends. Errors: a *socketio.RemoteError when the server's handler failed
// (its acknowledgement is {"error": message}), a *socketio.AckError
// (errors.Is socketio.ErrAckTimeout or socketio.ErrDisconnected), a
// *socketio.DecodeError for a reply that does not decode into Resp.
func EmitWithAck[Req, Resp any](ctx context.Context, s *Socket, r socketio.Request[Req, Resp], req Req) (Resp, error) {
	var resp Resp
	args, err := s.EmitWithAck(ctx, r.Name(), req)
	if err != nil {
		return resp, err
	}
	if msg, ok := remoteError(args); ok {
		return resp, &socketio.RemoteError{Message: msg}
	}
	if args.Len() > 0 {
		if err := args.Decode(0, &resp); err != nil {
			return resp, &socketio.DecodeError{Event: r.Name(), Err: err}
		}
	}
	return resp, nil
}

// remoteError recognizes the acknowledgement of a failed request: a first
// argument that is exactly {"error": "<message>"}.
func remoteError(args socketio.Args) (string, bool) {
	raw := args.JSON(0)
	if len(raw) == 0 || raw[0] != '{' {
		return "", false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || len(obj) != 1 {
		return "", false
	}
	var msg string
	if e, ok := obj["error"]; !ok || json.Unmarshal(e, &msg) != nil {
		return "", false
	}
	return msg, true
}
