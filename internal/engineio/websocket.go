package engineio

import (
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"golang.org/x/net/websocket"
)

// Close codes sent in WebSocket close frames.
const (
	closeNormal        = 1000
	closeProtocolError = 1002 // bad framing
	closeInvalidData   = 1007 // a text message that is not UTF-8
	closeTooLarge      = 1009
)

var (
	pingFrame  = []byte{TypePing}
	probeReply = []byte("3probe")
)

type wsFrame struct {
	data   []byte
	binary bool
}

// serveWebSocket upgrades the request. sess is nil for a WebSocket-only
// handshake, or the polling session to upgrade.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, sess *Session) {
	if _, ok := w.(http.Hijacker); !ok {
		// HTTP/2 and some wrappers cannot hijack; x/net would panic.
		writeError(w, codeBadRequest, "WebSocket needs an HTTP/1.1 connection")
		return
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		// RFC 6455's version, the only one browsers speak (x/net would
		// also take the drafts' 8).
		w.Header().Set("Sec-WebSocket-Version", "13")
		writeError(w, codeBadRequest, "Unsupported WebSocket version")
		return
	}
	resp, out, in, err := hijack(w)
	if err != nil {
		return
	}
	// x/net keeps the request for the connection's lifetime: give it (and
	// a new session) only what is kept of it.
	r = handshakeRequest(r)
	srv := s.wsServer(func(ws *websocket.Conn) {
		if sess == nil {
			s.openWebSocket(ws, out, in, r)
			return
		}
		// The session keeps the request it was opened with: of this
		// one, done with once x/net's handshake has read it, keep only
		// what a log line about the connection shows.
		forgetRequest(r)
		sess.upgrade(ws, out, in)
	})
	// The connection lives on without the net/http goroutine (see
	// wsconn.go): ServeHTTP returns once the upgrade is under way.
	go s.serveHijacked(srv, resp, r)
}

// openWebSocket runs a session opened over WebSocket.
func (s *Server) openWebSocket(ws *websocket.Conn, out *wsOut, in *wsIn, r *http.Request) {
	sess, err := s.open(r, WebSocket)
	if err != nil {
		ws.WriteClose(1001)
		return
	}
	ws.SetWriteDeadline(time.Now().Add(s.writeTimeout()))
	ws.PayloadType = websocket.TextFrame
	if _, err := ws.Write(sess.openPacket()); err != nil {
		sess.closeNow(ReasonTransportError, false)
		return
	}
	sess.mu.Lock()
	if sess.state == stateClosed {
		sess.mu.Unlock()
		return
	}
	sess.attachLocked(ws, out)
	sess.mu.Unlock()
	sess.runWebSocket(ws, in)
}

func (s *Server) writeTimeout() time.Duration {
	return s.cfg.PingInterval + s.cfg.PingTimeout
}

// upgrade probes ws and, when the client completes the upgrade, moves the
// session onto it.
func (s *Session) upgrade(ws *websocket.Conn, out *wsOut, in *wsIn) {
	s.mu.Lock()
	if s.state != stateOpen || s.transport != Polling || s.upgrading {
		// A second upgrade, or a session already on WebSocket.
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.upgrading = true
	s.probeWS = ws
	s.mu.Unlock()

	ok := s.probe(ws)

	s.mu.Lock()
	s.probeWS = nil
	s.upgrading = false
	s.probed = false
	// A session closing gracefully upgrades too: the client stopped
	// polling when it sent 5, so only the WebSocket can deliver the rest.
	if !ok || s.state == stateClosed || s.posting {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.transport = WebSocket
	s.attachLocked(ws, out)
	// Under the lock: a close from now on sets its own deadline, which
	// this must not clear.
	ws.SetReadDeadline(time.Time{})
	s.wakeLocked() // a pending GET answers noop; the writer flushes the queue
	s.mu.Unlock()
	s.runWebSocket(ws, in)
}

// probe runs the upgrade handshake on ws: 2probe, 3probe, then 5. It
// reports whether the client completed it within UpgradeTimeout. A 5
// without a probe before it completes the upgrade too, as on the
// reference server: the probe only tells the client that the WebSocket
// works.
func (s *Session) probe(ws *websocket.Conn) bool {
	deadline := time.Now().Add(s.srv.cfg.UpgradeTimeout)
	ws.SetReadDeadline(deadline)
	ws.PayloadType = websocket.TextFrame
	for {
		f, err := readMessage(ws, nil, s.srv.cfg.MaxPayload)
		if err != nil || f.binary {
			return false
		}
		switch string(f.data) {
		case "2probe":
			// Marked before the reply: a GET sent once the client has
			// 3probe must find the session probed (see servePoll).
			s.mu.Lock()
			s.probed = true
			s.wakeLocked() // the pending GET answers noop now
			s.mu.Unlock()
			ws.SetWriteDeadline(deadline)
			if _, err := ws.Write(probeReply); err != nil {
				return false
			}
		case "5":
			return true
		default:
			return false
		}
	}
}

// attachLocked makes ws the session's transport. From then on a writer
// goroutine runs whenever there is something to write, and only then: an
// idle connection costs no goroutine but its reader.
func (s *Session) attachLocked(ws *websocket.Conn, out *wsOut) {
	s.ws, s.wsOut = ws, out
	s.wsDone = make(chan struct{})
	s.writer = s.writeLoop // once: go s.writer() then allocates nothing
	out.mu.Lock()
	out.wake = s.wakeWriter
	out.mu.Unlock()
	if len(s.queue) > 0 || s.pingDue || s.state != stateOpen {
		s.startWriterLocked()
	}
}

// wakeWriter starts the writer for what x/net wrote outside a batch.
func (s *Session) wakeWriter() {
	s.mu.Lock()
	s.startWriterLocked()
	s.mu.Unlock()
}

// startWriterLocked starts the writer if the session is on WebSocket and
// none runs.
func (s *Session) startWriterLocked() {
	if s.ws == nil || s.writing {
		return
	}
	s.writing = true
	go s.writer()
}

// runWebSocket reads ws until the session closes, then waits for the
// writer's close frame; or until the reader parks (then the reader that
// resumes does the rest).
func (s *Session) runWebSocket(ws *websocket.Conn, in *wsIn) {
	if in != nil {
		in.done = s.done
		in.parkAfter = min(parkAfterMax, s.srv.cfg.PingInterval/2)
	}
	if s.readLoop(ws, in) {
		return
	}
	s.endWebSocket()
}

// park ends the reader's goroutine while its WebSocket has nothing to read
// (see idlePoller): a new one starts when the socket has something, or when
// the session closes. It reports false if the session has closed, or if
// the socket cannot park (then in.canPark is off, and the reader waits).
func (s *Session) park(in *wsIn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateClosed {
		return false
	}
	in.parkedAt = time.Now()
	tok, ok := idler.add(s, in)
	if !ok {
		in.canPark, in.busy = false, false
		return false
	}
	// The next reader may start as soon as s.mu is released: from then on
	// this one touches nothing but x/net's defers, which read parked.
	if !in.xconn.parked {
		in.xconn.parked = true
	}
	s.parkTok, s.parkIn = tok, in
	return true
}

// unpark starts a reader for a parked session: the one that parked with
// tok, or any (tok 0, when the session closes).
func (s *Session) unpark(tok uint64) {
	s.mu.Lock()
	if s.parkTok == 0 || (tok != 0 && tok != s.parkTok) {
		s.mu.Unlock()
		return
	}
	in, t := s.parkIn, s.parkTok
	s.parkTok, s.parkIn = 0, nil
	s.mu.Unlock()
	if tok == 0 {
		idler.forget(t)
	}
	go s.resumeRead(in)
}

// resumeRead is the reader of a session that parked.
func (s *Session) resumeRead(in *wsIn) {
	in.resumed()
	s.readOn(in, true)
}

// readOn is a reader that takes over from another goroutine (a parked one,
// or one lent to a message's work): it reads on if open, and ends the
// session's WebSocket. The connection is no longer x/net's to close (see
// parkConn): the reader that ends the session closes it.
func (s *Session) readOn(in *wsIn, open bool) {
	defer func() {
		if v := recover(); v != nil {
			s.srv.log.Error("engineio: panic serving a WebSocket", "remote", s.req.RemoteAddr, "panic", v)
			in.conn.Close()
		}
	}()
	GrowStack()
	if open && s.readLoop(s.ws, in) {
		return
	}
	s.endWebSocket()
	in.conn.Close()
}

// endWebSocket waits for the writer's close frame, once the reader is done.
func (s *Session) endWebSocket() {
	<-s.wsDone
	s.mu.Lock()
	tooLarge, out := s.closeCode == closeTooLarge, s.wsOut
	s.mu.Unlock()
	if tooLarge {
		// The rest of the oversized message is still coming: closing
		// now would reset the connection, and the client could lose the
		// close frame, or fail the write it is still doing.
		out.linger(2 * s.srv.cfg.MaxPayload)
	}
}

// readLoop reads ws (through in, if not nil) until the session closes, or
// until another goroutine reads on (it parked, or its loan was taken
// over): it reports whether one does.
func (s *Session) readLoop(ws *websocket.Conn, in *wsIn) (gone bool) {
	loan := in.lend(s)
	for {
		// Between messages, without a read buffer.
		if in.wait() {
			if s.park(in) {
				return true
			}
			if in.canPark {
				// Closed: the last reader ends the session.
				s.closeNow(ReasonTransportClose, false)
				return false
			}
			continue // cannot park: wait
		}
		f, err := readMessage(ws, in.reader(), s.srv.cfg.MaxPayload)
		if err != nil {
			code := 0
			switch {
			case errors.Is(err, websocket.ErrFrameTooLarge):
				code = closeTooLarge
			case errors.Is(err, errFragments), errors.Is(err, errBadFrame):
				code = closeProtocolError
			}
			if code != 0 {
				s.failWebSocket(code)
				return false
			}
			var cc *clientClose
			if errors.As(err, &cc) {
				if cc.code == closeProtocolError || cc.code == closeInvalidData {
					s.failWebSocket(cc.code)
					return false
				}
				s.mu.Lock()
				s.closeCode = cc.code // echoed
				s.mu.Unlock()
			}
			s.closeNow(ReasonTransportClose, false)
			return false
		}
		if !f.binary && !utf8.Valid(f.data) {
			// RFC 6455 fails such a connection, as Node's ws does; sent
			// on, the bytes would make the browsers that receive them
			// close their own connections.
			s.failWebSocket(closeInvalidData)
			return false
		}
		p := decodedPacket{typ: TypeMessage, data: f.data, binary: true}
		if !f.binary {
			var err error
			if p, err = decodeText(f.data); err != nil {
				s.srv.log.Debug("engineio: bad packet", "sid", s.id, "err", err)
				s.closeNow(ReasonParseError, false)
				return false
			}
		}
		if err := s.onPacket(p, loan); err != nil {
			if err == errHanded {
				return true
			}
			if err != errStop {
				s.srv.log.Debug("engineio: bad packet", "sid", s.id, "err", err)
				s.closeNow(ReasonParseError, false)
			}
			return false
		}
	}
}

// failWebSocket closes the session for what its client sent over
// WebSocket, with close code code.
func (s *Session) failWebSocket(code int) {
	s.mu.Lock()
	s.closeCode = code
	s.mu.Unlock()
	s.closeNow(ReasonTransportError, false)
}

// writeLoop is the session's writer goroutine: it runs while there is
// something to write, and writes nothing while a writeNow does (both hold
// s.writing). It drains what is queued, the ping first, and returns once
// nothing is left; after the session has closed it writes the close frame
// instead, and no writer starts after it.
//
// The frames of a batch are written into out, which sends them in chunks
// of about wsChunk bytes, one write(2) each, after what a writeNow could
// not write. Between chunks, a ping due meanwhile cuts in (its pong
// deadline is already running) and a close stops the batch.
func (s *Session) writeLoop() {
	ws, out := s.ws, s.wsOut // set once, before the first writer starts
	for {
		s.mu.Lock()
		if s.state == stateClosed {
			code := s.closeCode
			s.mu.Unlock()
			if code == 0 {
				code = closeNormal
			}
			out.begin() // after what a writeNow left, if anything
			ws.WriteClose(code)
			out.end()
			close(s.wsDone)
			return
		}
		ping := s.pingDue
		finish := s.state == stateClosing
		if !ping && !finish && len(s.queue) == 0 && out.buffered() == 0 {
			s.writing = false
			s.mu.Unlock()
			return
		}
		batch := s.takeForWriteLocked(ws)
		s.mu.Unlock()

		out.begin()
		err := writePing(out, ping)
		for _, p := range batch {
			if err != nil {
				break
			}
			if err = writeFrame(out, p); err != nil || out.buffered() < wsChunk {
				continue
			}
			if err = out.flush(); err != nil {
				break
			}
			s.mu.Lock()
			if s.state == stateClosed {
				s.mu.Unlock()
				break
			}
			ping := s.pingDue
			s.pingDue = false
			s.writeDeadlineLocked(ws)
			s.mu.Unlock()
			err = writePing(out, ping)
		}
		if e := out.end(); err == nil {
			err = e
		}
		s.recycle(batch)
		if err != nil {
			s.closeNow(ReasonTransportError, false)
		} else if finish {
			s.closeNow(ReasonForcedClose, false)
		}
	}
}

// takeForWriteLocked takes what is queued for a writer, and clears the
// ping due (the caller read it), and moves the write deadline.
func (s *Session) takeForWriteLocked(ws *websocket.Conn) []Packet {
	s.pingDue = false
	s.writeDeadlineLocked(ws)
	return s.takeLocked()
}

func writePing(out *wsOut, ping bool) error {
	if !ping {
		return nil
	}
	return out.writeFrame(pingFrame, false)
}

// writeFrame writes p's frame to out: its frame as made by PrepareWebSocket,
// or one made now. Frames reach out whole, in one Write or writeFrame each
// (x/net's too: it flushes after each frame, and a frame it writes outside
// the writer, a pong or a close, fits its buffer): one cannot land inside
// another.
func writeFrame(out *wsOut, p Packet) error {
	if p.frame != nil {
		_, err := out.Write(p.frame)
		return err
	}
	return out.writeFrame(p.Data, p.Binary)
}

// writeNow writes what is queued on the calling goroutine, which holds
// the writer's role (s.writing, taken by SendNow or SendBatch): the
// frames go out in one write that does not wait for the network. What
// the connection does not take, what is queued meanwhile, a ping, a
// close, or a queue too large for one write, is left to writeLoop on a
// goroutine, which then holds the role.
func (s *Session) writeNow() {
	ws, out := s.ws, s.wsOut
	s.mu.Lock()
	if s.state != stateOpen || s.queued > wsChunk {
		go s.writer()
		s.mu.Unlock()
		return
	}
	ping := s.pingDue
	batch := s.takeForWriteLocked(ws) // the deadline: a raw write fails past it too
	s.mu.Unlock()

	out.begin()
	err := writePing(out, ping)
	for _, p := range batch {
		if err == nil {
			err = writeFrame(out, p)
		}
	}
	done, terr := out.tryEnd() // never out.end here: it waits for the client
	if err == nil {
		err = terr
	}
	s.recycle(batch)

	s.mu.Lock()
	if err != nil {
		c := s.closeLocked(ReasonTransportError, false)
		go s.writer() // for the close frame
		s.mu.Unlock()
		s.finishClose(c, true) // OnClose runs user code: not here
		return
	}
	if done && s.state == stateOpen && !s.pingDue && len(s.queue) == 0 {
		s.writing = false
	} else {
		go s.writer()
	}
	s.mu.Unlock()
}

// writeDeadlineLocked keeps a write deadline of about writeTimeout ahead:
// a client that takes no bytes for that long is cut off. Setting a
// deadline costs a timer update, so it is moved only once a quarter of it
// has passed. Under the lock, so that the short deadline of a close is
// never pushed back.
func (s *Session) writeDeadlineLocked(ws *websocket.Conn) {
	timeout := s.srv.writeTimeout()
	now := time.Now()
	if s.wsDeadline.Sub(now) > timeout-timeout/4 {
		return
	}
	s.wsDeadline = now.Add(timeout)
	ws.SetWriteDeadline(s.wsDeadline)
}
