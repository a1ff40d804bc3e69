package loadgen

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// echoLoop drives the echo clients from one goroutine, on a thread of its
// own, over a level-triggered epoll set of their sockets: the way Node
// drives its sockets, one read(2) per readable socket and one write(2) per
// emit, with no goroutine woken per ack. The goroutine-per-client driver
// (echoGoroutines) spends about as much CPU per ack as the server it
// measures, and on a 2-core box the acks it has not yet read wait behind
// that work: with a fast server, a large part of the measured tail was
// time an ack spent in the load generator's receive path. This driver
// costs less per ack and serves every socket in turn.
//
// Latencies and the phase rule are those of echoGoroutines: an ack counts
// when its emit was sent and read in the measured phase.
func echoLoop(cs []*Client, payload, want []byte, phase *atomic.Int32) (lats []int64, bad, failures int64, err error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, 0, 0, err
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, 0, 0, err
	}
	// The set is waited on through the runtime's poller, as a file: the
	// goroutine parks like any reader instead of blocking its thread.
	epf := os.NewFile(uintptr(epfd), "echo-epoll")
	defer epf.Close()
	eprc, err := epf.SyscallConn()
	if err != nil {
		return nil, 0, 0, err
	}
	if err := epf.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		return nil, 0, 0, err // not in the runtime's poller
	}

	type state struct {
		c    *Client
		fd   int
		in   []byte // bytes read, not yet parsed
		id   int64
		t0   time.Time
		ph   int32 // phase when the pending emit was sent
		msg  []byte
		out  []byte
		dead bool
	}
	ss := make([]*state, len(cs))
	for i, c := range cs {
		fd, err := sockFD(c.conn)
		if err != nil {
			return nil, 0, 0, err
		}
		st := &state{c: c, fd: fd, in: make([]byte, 0, 4096)}
		// Bytes the handshake read past its last message.
		if n := c.br.Buffered(); n > 0 {
			b, _ := c.br.Peek(n)
			st.in = append(st.in, b...)
			c.br.Discard(n)
		}
		ss[i] = st
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return nil, 0, 0, err
		}
	}

	send := func(st *state, op byte, p []byte) bool {
		st.out = maskFrame(st.out[:0], op, st.c.mask, p)
		for off := 0; off < len(st.out); {
			n, err := syscall.Write(st.fd, st.out[off:])
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				// The socket's buffer is full, which an echo client with
				// one emit in flight never sees: wait for it the slow way.
				if _, err := st.c.conn.Write(st.out[off:]); err != nil {
					return false
				}
				return true
			case err != nil:
				return false
			}
			off += n
		}
		return true
	}
	emit := func(st *state) bool {
		st.id++
		st.msg = append(st.msg[:0], "42"...)
		st.msg = strconv.AppendInt(st.msg, st.id, 10)
		st.msg = append(st.msg, `["echo",`...)
		st.msg = append(st.msg, payload...)
		st.msg = append(st.msg, ']')
		st.ph = phase.Load()
		st.t0 = time.Now()
		return send(st, 0x1, st.msg)
	}
	live := len(ss)
	kill := func(st *state) {
		if !st.dead {
			st.dead = true
			live--
			failures++
			syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, st.fd, nil)
		}
	}
	// handle parses st.in's complete frames.
	handle := func(st *state) {
		b := st.in
		for {
			op, p, rest, ok := parseFrame(b)
			if !ok {
				break
			}
			b = rest
			switch {
			case op == 0x8:
				kill(st)
				return
			case op == 0x9:
				send(st, 0xA, p)
				continue
			case op != 0x1:
				continue
			case len(p) == 1 && p[0] == '2':
				send(st, 0x1, []byte{'3'})
				continue
			}
			id, rest, ok := AckID(p)
			if !ok || id != st.id {
				continue
			}
			d := time.Since(st.t0)
			if !bytes.Equal(rest, want) {
				bad++
			}
			if st.ph == 1 && phase.Load() == 1 {
				lats = append(lats, int64(d))
			}
			if phase.Load() == 2 {
				continue
			}
			if !emit(st) {
				kill(st)
				return
			}
		}
		st.in = append(st.in[:0], b...)
	}

	lats = make([]int64, 0, 1<<20)
	for _, st := range ss {
		if len(st.in) > 0 {
			handle(st)
		}
		if !emit(st) {
			kill(st)
		}
	}
	events := make([]syscall.EpollEvent, len(ss))
	var (
		n       int
		pollErr error
	)
	wait := func(fd uintptr) bool {
		for {
			n, pollErr = syscall.EpollWait(int(fd), events, 0)
			switch {
			case pollErr == syscall.EINTR:
				continue
			case pollErr != nil || n > 0:
				return true
			}
			return false // nothing ready: the runtime's poller wakes this
		}
	}
	for phase.Load() != 2 && live > 0 {
		epf.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if err := eprc.Read(wait); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return nil, 0, 0, err
		}
		if pollErr != nil {
			return nil, 0, 0, pollErr
		}
		for _, ev := range events[:n] {
			st := ss[ev.Fd]
			if st.dead {
				continue
			}
			if len(st.in) == cap(st.in) {
				st.in = append(st.in, make([]byte, cap(st.in))...)[:len(st.in)]
			}
			m, err := syscall.Read(st.fd, st.in[len(st.in):cap(st.in)])
			switch {
			case err == syscall.EINTR || err == syscall.EAGAIN:
				continue
			case err != nil || m == 0:
				kill(st)
				continue
			}
			st.in = st.in[:len(st.in)+m]
			handle(st)
		}
	}
	return lats, bad, failures, nil
}

var errNoLoop = errors.New("loadgen: no event loop on this platform")

// sockFD returns conn's socket descriptor, for system calls made directly:
// it stays valid until conn is closed.
func sockFD(conn net.Conn) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0, errNoLoop
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var fd int
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return 0, err
	}
	return fd, nil
}
