package engineio

import (
	"runtime"
	"sync/atomic"
	"time"
)

// A Loan lends a WebSocket's reading goroutine to the work a message
// starts, an event handler for instance, so that the work need not be
// handed to a goroutine of its own: on a busy connection that hand-off is
// a goroutine start, and often a thread woken, per message.
//
// The work may block, though, and while it does the connection must still
// be read: pongs, the acks the work itself may be waiting for, the close
// that should end it. So if the work is still running after loanFor, a new
// goroutine takes the reading over, and the one the work runs on ends once
// the work returns. Nothing is lost or reordered: the new reader starts
// with the next message.
//
// A LoanHandler gets a Loan with each message read from a WebSocket whose
// reading can move from goroutine to goroutine (see wsIn); messages that
// come by polling, or over TLS or a wrapped connection, come without one.
type Loan struct {
	s     *Session
	in    *wsIn
	state atomic.Int32
	timer *time.Timer // made by the first Run
}

const (
	loanIdle    int32 = iota
	loanOut           // Run runs its work
	loanHanding       // the timer is taking the reading over
	loanHanded        // taken over: this goroutine reads no more
)

// loanFor is how long work may run on the reading goroutine before another
// goroutine takes the reading over. Tests change it, before starting any
// server.
var loanFor = time.Millisecond

// LoanHandler is a Handler whose OnMessageLoan replaces OnMessage.
type LoanHandler interface {
	Handler
	// OnMessageLoan is OnMessage, with a Loan when the calling goroutine
	// is a WebSocket's reader that can be lent (l is nil otherwise). Use
	// l only during the call. Once a Run's work is taken over, the call
	// no longer counts as running: the next message's call, or OnClose,
	// may come while the work goes on.
	OnMessageLoan(s *Session, data []byte, binary bool, l *Loan)
}

// Run runs f on the calling goroutine, which must be the one OnMessageLoan
// was called on with l, before the connection is read again. If f is
// still running after loanFor, another goroutine takes the reading over
// (and ends the OnMessageLoan call as far as the session is concerned:
// its OnClose no longer waits for it). So does a goroutine that f ends
// (runtime.Goexit, or a panic that nothing recovers).
func (l *Loan) Run(f func()) {
	if l.state.Load() != loanIdle {
		f() // handed over already: just a goroutine now
		return
	}
	l.state.Store(loanOut)
	if l.timer == nil {
		l.timer = time.AfterFunc(loanFor, l.handOver)
	} else {
		l.timer.Reset(loanFor)
	}
	returned := false
	defer func() { l.settle(returned) }()
	f()
	returned = true
}

// settle ends Run: the loan is back, or the reading has moved on.
func (l *Loan) settle(returned bool) {
	l.timer.Stop()
	if returned && l.state.CompareAndSwap(loanOut, loanIdle) {
		return
	}
	if !returned && l.claim() {
		// This goroutine is going away with f: read on elsewhere.
		go l.readOn()
		return
	}
	// The timer won: wait until the new reader owns the connection.
	for l.state.Load() != loanHanded {
		runtime.Gosched()
	}
}

// handedOver reports whether the reading has moved to another goroutine.
func (l *Loan) handedOver() bool {
	return l != nil && l.state.Load() == loanHanded
}

// handOver, on the timer's goroutine, makes it the session's reader.
func (l *Loan) handOver() {
	if l.claim() {
		l.readOn()
	}
}

// claim takes the reading from the goroutine Run runs on, if Run has not
// ended first. (A timer that fired just as one Run ended may claim the
// next Run's loan early: that costs a goroutine, nothing else.)
func (l *Loan) claim() bool {
	if !l.state.CompareAndSwap(loanOut, loanHanding) {
		return false // Run's work returned in time
	}
	in := l.in
	// x/net closes the connection when the lending goroutine's handler
	// returns: the last reader closes it instead, as after a park. (Set
	// only once: that goroutine may be reading it, if it parked before.)
	if !in.xconn.parked {
		in.xconn.parked = true
	}
	in.loan = nil // the next Run is the new reader's: a new loan
	l.state.Store(loanHanded)
	return true
}

// readOn is the new reader, once claim has succeeded.
func (l *Loan) readOn() {
	// The message's callback ends here for the session, and with it
	// anything that waits for it (OnClose).
	open := l.s.endCallback()
	l.s.readOn(l.in, open)
}
