//go:build unix

package engineio

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loanRecorder is a recorder that is a LoanHandler: after recording a
// message, it runs work in the message's loan (or right there without
// one), and notes how each went.
type loanRecorder struct {
	*recorder
	work func(s *Session, data string)

	mu       sync.Mutex
	loaned   []string // messages that came with a loan
	onReader []string // ... whose work ran on a reading goroutine
	handed   []string // ... whose loan was taken over
}

func (r *loanRecorder) OnMessageLoan(s *Session, data []byte, binary bool, l *Loan) {
	r.recorder.OnMessage(s, data, binary)
	m := string(data)
	if l == nil {
		r.work(s, m)
		return
	}
	l.Run(func() {
		reading := onReadingGoroutine()
		r.work(s, m)
		r.mu.Lock()
		if reading {
			r.onReader = append(r.onReader, m)
		}
		r.mu.Unlock()
	})
	r.mu.Lock()
	r.loaned = append(r.loaned, m)
	if l.handedOver() {
		r.handed = append(r.handed, m)
	}
	r.mu.Unlock()
}

func (r *loanRecorder) lists() (loaned, onReader, handed []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.loaned...), append([]string(nil), r.onReader...), append([]string(nil), r.handed...)
}

// readers counts the goroutines reading a WebSocket.
func readers() int { return stacksWith("engineio.(*Session).readLoop(") }

// stacksWith counts the goroutines whose stack has fn.
func stacksWith(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte(fn))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// onReadingGoroutine reports whether the caller runs under a readLoop.
func onReadingGoroutine() bool {
	buf := make([]byte, 64<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "engineio.(*Session).readLoop(")
}

func newLoanServer(t *testing.T, work func(s *Session, data string)) (*testServer, *loanRecorder) {
	rec := newRecorder()
	rec.echo = true
	lr := &loanRecorder{recorder: rec, work: work}
	return newTestServerFor(t, quietConfig(), rec, lr, nil), lr
}

// setLoanFor sets loanFor for the test (not parallel: it is global).
func setLoanFor(t *testing.T, d time.Duration) {
	old := loanFor.Load()
	loanFor.Store(int64(d))
	t.Cleanup(func() { loanFor.Store(old) })
}

// A message's work runs on the goroutine that read it, and the reading
// goes on there once it returns: no goroutine per message. Messages that
// come by polling have no loan.
func TestLoanRunsOnReader(t *testing.T) {
	setLoanFor(t, time.Minute) // never taken over here
	s, lr := newLoanServer(t, func(*Session, string) {})
	c, _ := s.openWS()
	const n = 50
	var want []string
	for i := range n {
		m := fmt.Sprintf("m%d", i)
		want = append(want, m)
		c.mustSend("4" + m)
		assert.Equal(t, "4"+m, c.readText(2*time.Second))
	}
	// The answer goes out before the work: wait for the last one's to end.
	require.Eventually(t, func() bool { l, _, _ := lr.lists(); return len(l) == n }, 2*time.Second, time.Millisecond)
	loaned, onReader, handed := lr.lists()
	assert.Equal(t, want, loaned, "every WebSocket message comes with a loan")
	assert.Equal(t, want, onReader, "its work runs on the reading goroutine")
	assert.Empty(t, handed)

	p := s.handshake()
	p.mustPost("4polled")
	s.rec.waitMessages(t, p.sid, 1, 2*time.Second)
	loaned, _, _ = lr.lists()
	assert.Len(t, loaned, n, "a polled message has no loan")
}

// Work that blocks hands the reading over: the messages behind it are
// read, delivered and answered meanwhile, in order, and once it returns
// its goroutine ends; the session goes on with one reader.
func TestLoanHandOver(t *testing.T) {
	setLoanFor(t, 20*time.Millisecond)
	release := make(chan struct{})
	s, lr := newLoanServer(t, func(_ *Session, m string) {
		if m == "block" {
			<-release
		}
	})
	c, op := s.openWS()
	c.mustSend("4block")
	assert.Equal(t, "4block", c.readText(2*time.Second))
	for _, m := range []string{"a", "b"} {
		c.mustSend("4" + m)
		assert.Equal(t, "4"+m, c.readText(2*time.Second), "read and answered while the work blocks")
	}
	// The answers go out before the work: b's may still be running.
	require.Eventually(t, func() bool { return stacksWith("engineio.(*Loan).Run(") == 1 }, 2*time.Second, time.Millisecond,
		"only the blocked work's goroutine is in a loan")
	close(release)
	require.Eventually(t, func() bool { return stacksWith("engineio.(*Loan).Run(") == 0 }, 2*time.Second, time.Millisecond,
		"the lender's goroutine ends once its work returns")
	c.mustSend("4c")
	assert.Equal(t, "4c", c.readText(2*time.Second))
	assert.Equal(t, []string{"block", "a", "b", "c"}, s.rec.waitMessages(t, op.SID, 4, time.Second))

	// The answer goes out before the work: wait for c's to end.
	require.Eventually(t, func() bool { l, _, _ := lr.lists(); return len(l) == 4 }, 2*time.Second, time.Millisecond)
	loaned, onReader, handed := lr.lists()
	assert.ElementsMatch(t, []string{"block", "a", "b", "c"}, loaned)
	assert.Equal(t, []string{"block"}, handed)
	assert.Contains(t, onReader, "c", "the new reader lends too")

	c.close()
	assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, op.SID, 2*time.Second))
	require.Eventually(t, func() bool { return readers() == 0 }, 2*time.Second, time.Millisecond)
}

// A session that closes while work blocks in a loan has its OnClose run
// without waiting for the work: the work may well be waiting for the
// close (an ack that the close fails, a context it cancels).
func TestLoanCloseWhileBlocked(t *testing.T) {
	setLoanFor(t, 20*time.Millisecond)
	var released atomic.Bool
	var rec *recorder
	s, _ := newLoanServer(t, func(s *Session, m string) {
		if m != "wait-for-close" {
			return
		}
		select {
		case <-rec.record(s.ID()).closed:
			released.Store(true)
		case <-time.After(5 * time.Second):
		}
	})
	rec = s.rec
	c, op := s.openWS()
	c.mustSend("4wait-for-close")
	assert.Equal(t, "4wait-for-close", c.readText(2*time.Second))
	c.close()
	assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, op.SID, 2*time.Second))
	require.Eventually(t, released.Load, 2*time.Second, time.Millisecond, "the work sees the close")
	require.Eventually(t, func() bool { return readers() == 0 }, 2*time.Second, time.Millisecond)
}

// Loans that are taken over just as their work returns, many times over
// on many sessions at once: every message is delivered and answered once,
// in order, and every session ends with its connection.
func TestLoanStorm(t *testing.T) {
	setLoanFor(t, 0) // the watchdog races every work
	var works atomic.Int64
	s, lr := newLoanServer(t, func(_ *Session, m string) {
		works.Add(1)
		if strings.HasSuffix(m, "5") {
			time.Sleep(50 * time.Microsecond)
		} else {
			runtime.Gosched()
		}
	})
	const sessions, msgs = 20, 100
	var wg sync.WaitGroup
	sids := make([]string, sessions)
	for i := range sessions {
		c, op := s.openWS()
		sids[i] = op.SID
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range msgs {
				c.send(fmt.Sprintf("4s%d-%d", i, j))
			}
			for j := range msgs {
				f, err := c.next(5 * time.Second)
				if err != nil || string(f.data) == "2" {
					t.Errorf("session %d: answer %d: %v %q", i, j, err, f.data)
					return
				}
				if got, want := string(f.data), fmt.Sprintf("4s%d-%d", i, j); got != want {
					t.Errorf("session %d: got %q, want %q", i, got, want)
					return
				}
			}
			c.close()
		}()
	}
	wg.Wait()
	for i, sid := range sids {
		got := s.rec.waitMessages(t, sid, msgs, 5*time.Second)
		for j, m := range got {
			require.Equal(t, fmt.Sprintf("s%d-%d", i, j), m)
		}
		s.rec.waitClosed(t, sid, 5*time.Second)
	}
	require.Eventually(t, func() bool { return works.Load() == sessions*msgs }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return readers() == 0 }, 5*time.Second, time.Millisecond)
	_, _, handed := lr.lists()
	t.Logf("%d of %d loans taken over", len(handed), sessions*msgs)
	assert.NotEmpty(t, handed, "with loanFor 0, some loans are taken over")
}

// Loans leave the watchdog's list once idle, and join it again with their
// next work, many times over on many sessions, while the watchdog looks
// as often as it can: work that blocks is always taken over. It is
// released only by the message after it, which would never be read
// otherwise.
func TestLoanRelisted(t *testing.T) {
	setLoanFor(t, 0)
	// Widen the moment in which a Run may start as its loan is unlisted.
	widen := func() { time.Sleep(50 * time.Microsecond) }
	testHookUnlist.Store(&widen)
	t.Cleanup(func() { testHookUnlist.Store(nil) })
	var (
		mu       sync.Mutex
		releases = map[string]chan struct{}{}
		stuck    atomic.Int64
	)
	release := func(sid string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if releases[sid] == nil {
			releases[sid] = make(chan struct{}, 1)
		}
		return releases[sid]
	}
	s, _ := newLoanServer(t, func(s *Session, m string) {
		switch {
		case strings.HasPrefix(m, "wait"):
			select {
			case <-release(s.ID()):
			case <-time.After(3 * time.Second):
				stuck.Add(1)
			}
		case strings.HasPrefix(m, "free"):
			release(s.ID()) <- struct{}{}
		}
	})
	const sessions, rounds = 10, 60
	var wg sync.WaitGroup
	for i := range sessions {
		c, _ := s.openWS()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			for j := range rounds {
				for _, m := range []string{fmt.Sprintf("wait%d", j), fmt.Sprintf("free%d", j)} {
					c.send("4" + m)
					if got := c.readText(5 * time.Second); got != "4"+m {
						t.Errorf("session %d: got %q, want %q", i, got, "4"+m)
						return
					}
				}
				// Idle long enough, now and then, for the loan to be
				// unlisted: its next work lists it again.
				time.Sleep(time.Duration(j%7) * 150 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, stuck.Load(), "work that blocked was never taken over")
	require.Eventually(t, func() bool { return readers() == 0 }, 5*time.Second, time.Millisecond)
}
