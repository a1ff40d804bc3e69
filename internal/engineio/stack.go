package engineio

// GrowStack makes sure the calling goroutine has a stack of at least about
// 4 KiB, at the cost of copying a few frames at most: call it first thing
// in a goroutine that will need that much.
//
// New goroutines start with the runtime's estimate of what goroutines use,
// taken at each GC from the stacks it scans; idle WebSockets, which hold no
// goroutine (see park_linux.go), no longer raise it, and 2 KiB is common,
// of which about 1.1 KiB is usable. The path of a message from the socket
// to its handler, and of an ack back to the socket, needs more: growing
// there copies a dozen frames, adjusting each (server CPU per echo ack
// +10%); growing here, two.
//
//go:noinline
func GrowStack() {
	var pad [2560]byte
	keepStack(&pad)
}

//go:noinline
func keepStack(*[2560]byte) {}
