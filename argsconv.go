package socketio

import "encoding/json"

// NewArgs wraps event or acknowledgement arguments as received, for
// clients and adapters: elems are the JSON arguments (with binary
// placeholders {"_placeholder":true,"num":N}) and attachments the buffers
// the placeholders refer to. The slices are kept, not copied.
func NewArgs(elems []json.RawMessage, attachments [][]byte) Args {
	return Args{elems: elems, atts: attachments}
}
