package client

import (
	"encoding/json"
	"errors"
)

// Disconnect reasons, as passed to OnDisconnect handlers: the strings the
// JavaScript client reports.
const (
	// ReasonServerDisconnect: the server disconnected the socket
	// (Socket.Disconnect on a Go server, socket.disconnect() on Node).
	// The socket does not reconnect by itself.
	ReasonServerDisconnect = "io server disconnect"
	// ReasonClientDisconnect: this side called Socket.Disconnect or
	// Conn.Close.
	ReasonClientDisconnect = "io client disconnect"
	// ReasonTransportClose: the connection was closed (by the server, or
	// the network).
	ReasonTransportClose = "transport close"
	// ReasonTransportError: a request or a write failed.
	ReasonTransportError = "transport error"
	// ReasonPingTimeout: the server stayed silent longer than its
	// pingInterval + pingTimeout.
	ReasonPingTimeout = "ping timeout"
	// ReasonParseError: the server sent something that is not a valid
	// packet.
	ReasonParseError = "parse error"
	// ReasonForcedClose: the connection was closed on purpose; sockets
	// see ReasonClientDisconnect.
	ReasonForcedClose = "forced close"
)

// ErrClosed is returned for a Conn that was closed, or that lost its
// connection and will not reconnect (Options.NoReconnect, or
// Options.ReconnectAttempts exhausted).
var ErrClosed = errors.New("socketio client: connection closed")

// ConnectError is the server's refusal of a namespace connection (the
// JavaScript client's connect_error): an unknown namespace ("Invalid
// namespace"), or a middleware that returned an error.
type ConnectError struct {
	// Message is the error's message.
	Message string
	// Data is the error's data as JSON (a Go server's ConnectError.Data,
	// a Node server's err.data); nil when there is none.
	Data json.RawMessage
}

// Error returns Message.
func (e *ConnectError) Error() string { return "socketio client: connect refused: " + e.Message }
