package socketio

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap them, so test with
// errors.Is.
var (
	// ErrDisconnected: the socket is not connected (any more).
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrAckTimeout: an acknowledgement did not arrive before the deadline.
	ErrAckTimeout = errors.New("socketio: acknowledgement timed out")
	// ErrQueueOverflow: the client reads too slowly; its connection has been
	// closed (see Config.MaxBufferedBytes).
	ErrQueueOverflow = errors.New("socketio: send queue overflow, client disconnected")
	// ErrTooManyAcks: Config.MaxPendingAcks acknowledgements are already
	// pending on the socket.
	ErrTooManyAcks = errors.New("socketio: too many pending acknowledgements")
	// ErrTooManyRooms: the socket is already in Config.MaxRoomsPerSocket rooms.
	ErrTooManyRooms = errors.New("socketio: too many rooms for one socket")
	// ErrAckSent: an Ack was called a second time.
	ErrAckSent = errors.New("socketio: acknowledgement already sent")
	// ErrNoArg: Args.Decode was asked for an argument the client did not send.
	ErrNoArg = errors.New("socketio: no such argument")
	// ErrReservedEvent: an emit named an event reserved by Socket.IO
	// (connect, connect_error, disconnect, disconnecting, newListener,
	// removeListener), which socket.io-client would refuse by closing the
	// connection. Nothing is sent; the Node server throws.
	ErrReservedEvent = errors.New("socketio: reserved event name")
)

// ConnectError refuses a connection from a namespace middleware (see
// Namespace.Use): the client's connect_error event receives an Error whose
// message is Message and whose data is Data.
type ConnectError struct {
	Message string
	Data    any
}

// Error returns Message, the message the client receives.
func (e *ConnectError) Error() string { return e.Message }

// AckError reports an acknowledgement that did not come.
type AckError struct {
	Event   string // the event that asked for it
	Timeout bool   // the deadline passed, otherwise the socket disconnected or ctx was cancelled
	Err     error  // the context's error, or a *DisconnectError
}

// Error says which event went unacknowledged, and why.
func (e *AckError) Error() string {
	if e.Timeout {
		return fmt.Sprintf("socketio: no acknowledgement of %q before the deadline", e.Event)
	}
	return fmt.Sprintf("socketio: no acknowledgement of %q: %v", e.Event, e.Err)
}

// Is makes errors.Is(err, ErrAckTimeout) and errors.Is(err, ErrDisconnected)
// work.
func (e *AckError) Is(target error) bool {
	switch target {
	case ErrAckTimeout:
		return e.Timeout
	case ErrDisconnected:
		var d *DisconnectError
		return errors.As(e.Err, &d)
	}
	return false
}

// Unwrap returns Err.
func (e *AckError) Unwrap() error { return e.Err }

// DisconnectError says why a socket disconnected (one of the Reason
// constants).
type DisconnectError struct {
	Reason string
}

// Error includes the reason.
func (e *DisconnectError) Error() string { return "socketio: disconnected: " + e.Reason }

// Is makes errors.Is(err, ErrDisconnected) true.
func (e *DisconnectError) Is(target error) bool { return target == ErrDisconnected }

// DecodeError reports an event payload that does not decode into the type
// its handler expects. The handler is not called; the error goes to
// Config.OnError.
type DecodeError struct {
	Event string
	Err   error
}

// Error names the event and what did not decode.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("socketio: payload of %q does not decode: %v", e.Event, e.Err)
}

// Unwrap returns Err, the decoder's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// RemoteError is what EmitWithAck returns when the other side's request
// handler returned an error (a Go client's EmitWithAck when the server's
// Handle failed, the server's EmitWithAck when a Go client's Handle
// failed): the acknowledgement then carries {"error": message} in place of
// a response.
type RemoteError struct {
	Message string
}

// Error includes the other side's message.
func (e *RemoteError) Error() string { return "socketio: remote error: " + e.Message }
