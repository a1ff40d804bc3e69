package engineio

import (
	"runtime"
	"sync"
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
// that should end it. So if the work is still running after loanFor (and
// up to a millisecond more: see watchdog), a new goroutine takes the
// reading over, and the one the work runs on ends once the work returns.
// Nothing is lost or reordered: the new reader starts with the next
// message.
//
// A LoanHandler gets a Loan with each message read from a WebSocket whose
// reading can move from goroutine to goroutine (see wsIn); messages that
// come by polling, or over TLS or a wrapped connection, come without one.
type Loan struct {
	s  *Session
	in *wsIn
	// state is loanIdle, loanHanding or loanHanded, or, while Run's work
	// runs, when it started (see sinceEpoch): the watchdog claims a loan
	// only from the Run it saw.
	state atomic.Int64
	// last is when the latest Run started. listed: on the watchdog's
	// list. seen and idle are the watchdog's own: the last it saw, and
	// how many of its rounds in a row saw no Run start.
	last   atomic.Int64
	listed atomic.Bool
	seen   int64
	idle   int
}

const (
	loanIdle    int64 = 0
	loanHanding int64 = -1 // the watchdog is taking the reading over
	loanHanded  int64 = -2 // taken over: this goroutine reads no more
)

// loanFor is how long work may run on the reading goroutine before another
// goroutine takes the reading over: a time.Duration, 1 ms. Tests change it.
var loanFor atomic.Int64

func init() { loanFor.Store(int64(time.Millisecond)) }

// epoch is the origin of the times in Loan.state.
var epoch = time.Now()

// sinceEpoch returns the monotonic time since epoch, plus one: never 0.
func sinceEpoch() int64 { return int64(time.Since(epoch)) + 1 }

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
// still running after loanFor (or up to a millisecond later), another
// goroutine takes the reading over (and ends the OnMessageLoan call as
// far as the session is concerned: its OnClose no longer waits for it).
// So does a goroutine that f ends (runtime.Goexit, or a panic that nothing
// recovers).
func (l *Loan) Run(f func()) {
	if l.state.Load() != loanIdle {
		f() // handed over already: just a goroutine now
		return
	}
	start := sinceEpoch()
	l.state.Store(start)
	l.last.Store(start)
	// After the Stores: a watchdog that unlists l checks state again.
	if !l.listed.Load() && l.listed.CompareAndSwap(false, true) {
		watch.add(l)
	}
	returned := false
	defer func() { l.settle(start, returned) }()
	f()
	returned = true
}

// settle ends Run: the loan is back, or the reading has moved on.
func (l *Loan) settle(start int64, returned bool) {
	if returned && l.state.CompareAndSwap(start, loanIdle) {
		return
	}
	if !returned && l.claim(start) {
		// This goroutine is going away with f: read on elsewhere.
		go l.readOn()
		return
	}
	// The watchdog won: wait until the new reader owns the connection.
	for l.state.Load() != loanHanded {
		runtime.Gosched()
	}
}

// handedOver reports whether the reading has moved to another goroutine.
func (l *Loan) handedOver() bool {
	return l != nil && l.state.Load() == loanHanded
}

// claim takes the reading from the goroutine that runs the Run that
// started at start, if that Run's work has not returned first.
func (l *Loan) claim(start int64) bool {
	if !l.state.CompareAndSwap(start, loanHanding) {
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

// watch is the watchdog of every server's loans.
var watch watchdog

// A watchdog finds the loans whose work has run for loanFor, and hands
// their reading over. Its goroutine runs while any loan is listed, and
// looks at them every loanFor, or every millisecond if that is sooner: a
// Run costs a clock reading and a few atomic operations, rather than a
// timer's reset and stop. A loan joins the list with the first Run after
// it left, and leaves it after idleRounds rounds in a row in which no Run
// started, so that a busy connection's loan stays, and the watchdog stops
// soon after the last work.
type watchdog struct {
	mu      sync.Mutex
	loans   []*Loan
	running bool
}

// testHookUnlist, if set, runs as the watchdog unlists an idle loan.
var testHookUnlist atomic.Pointer[func()]

// idleRounds is how many of the watchdog's rounds in a row see no Run of
// a loan start before it leaves the list.
const idleRounds = 2

// add lists l, whose listed flag the caller has just set.
func (w *watchdog) add(l *Loan) {
	w.mu.Lock()
	l.idle = 0
	w.loans = append(w.loans, l)
	if !w.running {
		w.running = true
		go w.run()
	}
	w.mu.Unlock()
}

// run is the watchdog's goroutine: every loanFor, but at least every
// millisecond, it takes the reading of loans out for loanFor or longer
// over, until no loan is listed.
func (w *watchdog) run() {
	for {
		after := time.Duration(loanFor.Load())
		time.Sleep(min(max(after, 10*time.Microsecond), time.Millisecond))
		if !w.round(int64(after)) {
			return
		}
	}
}

// round looks at every listed loan once, and reports whether any is left.
func (w *watchdog) round(after int64) bool {
	now := sinceEpoch()
	w.mu.Lock()
	defer w.mu.Unlock()
	keep := w.loans[:0]
	for _, l := range w.loans {
		if last := l.last.Load(); last != l.seen {
			l.seen, l.idle = last, 0
		} else {
			l.idle++
		}
		switch st := l.state.Load(); {
		case st > 0: // out since st
			if now-st >= after && l.claim(st) {
				go l.readOn()
				continue // a spent loan: the new reader makes another
			}
			keep = append(keep, l)
		case st == loanIdle:
			if l.idle < idleRounds {
				keep = append(keep, l)
				continue
			}
			if h := testHookUnlist.Load(); h != nil {
				(*h)()
			}
			l.listed.Store(false)
			// A Run that saw it still listed has stored its start
			// already: keep l for it. (One that sees it unlisted adds
			// it again, once this round has let go of w.mu.)
			if l.state.Load() > 0 && l.listed.CompareAndSwap(false, true) {
				l.idle = 0
				keep = append(keep, l)
			}
		default: // taken over by its own goroutine's end: spent
		}
	}
	clear(w.loans[len(keep):])
	w.loans = keep
	if len(keep) == 0 {
		w.running = false
		return false
	}
	return true
}
