package engineio

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// idlePoller lets an idle WebSocket hold no goroutine. A reader that finds
// nothing to read between messages parks: it puts its socket in this
// poller's epoll set, once (EPOLLONESHOT), and its goroutine ends, with its
// stack. When the socket becomes readable (bytes, the client's end, an
// error) the poller starts a new reader goroutine for the session; so does
// the session's close, which has no bytes to show for it.
//
// The epoll set is a file of its own, waited on through the runtime's
// poller like any other, by one goroutine that runs only while some socket
// is parked. Level-triggered and one-shot: a socket that already has bytes
// when it is added is reported at once, and at most once per park.
type idlePoller struct {
	once sync.Once
	ok   bool
	epfd int
	file *os.File // the epoll set, as a file the runtime's poller waits on
	rc   syscall.RawConn
	fn   func(fd uintptr) bool // p.poll, made once

	events  [128]syscall.EpollEvent // run's only
	n       int
	pollErr error // what epoll_wait failed with

	mu      sync.Mutex
	parked  map[uint64]*Session // by token, the epoll data of its socket
	next    uint64              // the last token given
	running bool                // run's goroutine exists
	broken  bool                // the set could not be waited on: no more parking
}

// idler is the process's idle poller, shared by every Server.
var idler idlePoller

// parkAvailable reports whether idle readers can park on this platform.
const parkAvailable = true

func (p *idlePoller) init() bool {
	p.once.Do(func() {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		if err := syscall.SetNonblock(fd, true); err != nil {
			syscall.Close(fd)
			return
		}
		p.file = os.NewFile(uintptr(fd), "engineio-idle")
		rc, err := p.file.SyscallConn()
		if err != nil {
			p.file.Close()
			return
		}
		// A deadline is the way to wake run (see forget): it must be
		// settable, that is, the runtime's poller must watch the file.
		if err := p.file.SetReadDeadline(time.Time{}); err != nil {
			p.file.Close()
			return
		}
		p.epfd, p.rc, p.fn, p.ok = fd, rc, p.poll, true
		p.parked = make(map[uint64]*Session)
	})
	return p.ok
}

// add puts in's socket in the set for s, and returns its token. The caller
// holds s.mu, so the wake-up this may cause at once (see run) waits until
// s has recorded the park.
func (p *idlePoller) add(s *Session, in *wsIn) (uint64, bool) {
	if !p.init() {
		return 0, false
	}
	p.mu.Lock()
	if p.broken {
		p.mu.Unlock()
		return 0, false
	}
	p.next++
	tok := p.next
	p.parked[tok] = s
	p.mu.Unlock()

	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(uint32(tok)),
		Pad:    int32(uint32(tok >> 32)),
	}
	var cerr error
	err := in.raw.rc.Control(func(fd uintptr) {
		// After the first park the socket stays in the set, disarmed:
		// arm it again.
		op := syscall.EPOLL_CTL_ADD
		if in.registered {
			op = syscall.EPOLL_CTL_MOD
		}
		cerr = syscall.EpollCtl(p.epfd, op, int(fd), &ev)
		switch {
		case cerr == syscall.ENOENT && op == syscall.EPOLL_CTL_MOD:
			cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		case cerr == syscall.EEXIST && op == syscall.EPOLL_CTL_ADD:
			cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		}
	})
	if err == nil {
		err = cerr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		delete(p.parked, tok)
		return 0, false
	}
	in.registered = true
	if !p.running {
		p.running = true
		p.file.SetReadDeadline(time.Time{}) // in case forget set one
		go p.run()
	}
	return tok, true
}

// forget drops tok, whose session was woken by something else than its
// socket (it closed). The socket stays in the set, armed, until it is
// closed; an event for it meanwhile finds no session and is ignored.
func (p *idlePoller) forget(tok uint64) {
	p.mu.Lock()
	delete(p.parked, tok)
	if len(p.parked) == 0 && p.running {
		p.file.SetReadDeadline(time.Now()) // run looks, and ends
	}
	p.mu.Unlock()
}

// poll takes the events ready in the set, without waiting.
func (p *idlePoller) poll(fd uintptr) bool {
	for {
		n, err := syscall.EpollWait(int(fd), p.events[:], 0)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			p.pollErr = err
			return true
		case n <= 0:
			return false // wait for the set to become readable
		}
		p.n = n
		return true
	}
}

// run wakes the session of each socket that becomes readable, and ends
// once no socket is parked.
func (p *idlePoller) run() {
	for {
		p.n, p.pollErr = 0, nil
		err := p.rc.Read(p.fn)
		if err == nil {
			err = p.pollErr
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			// The set cannot be waited on (it is never closed): wake
			// everything, and let readers wait for themselves.
			p.mu.Lock()
			all := p.parked
			p.parked = make(map[uint64]*Session)
			p.running = false
			p.broken = true
			p.mu.Unlock()
			for tok, s := range all {
				s.unpark(tok)
			}
			return
		}
		for _, ev := range p.events[:p.n] {
			tok := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			s := p.parked[tok]
			delete(p.parked, tok)
			p.mu.Unlock()
			if s != nil {
				s.unpark(tok)
			}
		}
		p.mu.Lock()
		if len(p.parked) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		if err != nil {
			p.file.SetReadDeadline(time.Time{})
		}
		p.mu.Unlock()
	}
}
