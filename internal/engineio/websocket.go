package engineio

import (
	"errors"
	"net/http"
	"time"

	"golang.org/x/net/websocket"
)

// Close codes sent in WebSocket close frames.
const (
	closeNormal   = 1000
	closeTooLarge = 1009
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
	srv := s.wsServer(func(ws *websocket.Conn) {
		if sess == nil {
			s.openWebSocket(ws, r)
		} else {
			sess.upgrade(ws)
		}
	})
	srv.ServeHTTP(w, r)
}

// openWebSocket runs a session opened over WebSocket.
func (s *Server) openWebSocket(ws *websocket.Conn, r *http.Request) {
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
	sess.ws = ws
	sess.mu.Unlock()
	sess.runWebSocket(ws)
}

func (s *Server) writeTimeout() time.Duration {
	return s.cfg.PingInterval + s.cfg.PingTimeout
}

// upgrade probes ws and, when the client completes the upgrade, moves the
// session onto it.
func (s *Session) upgrade(ws *websocket.Conn) {
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
	s.ws = ws
	// Under the lock: a close from now on sets its own deadline, which
	// this must not clear.
	ws.SetReadDeadline(time.Time{})
	s.wakeLocked() // a pending GET answers noop; the writer flushes the queue
	s.mu.Unlock()
	s.runWebSocket(ws)
}

// probe runs the upgrade handshake on ws: 2probe, 3probe, then 5. It
// reports whether the client completed it within UpgradeTimeout.
func (s *Session) probe(ws *websocket.Conn) bool {
	deadline := time.Now().Add(s.srv.cfg.UpgradeTimeout)
	ws.SetReadDeadline(deadline)
	ws.PayloadType = websocket.TextFrame
	probed := false
	for {
		f, err := readMessage(ws, s.srv.cfg.MaxPayload)
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
			probed = true
		case "5":
			return probed
		default:
			return false
		}
	}
}

// runWebSocket runs the session on ws: a writer goroutine drains the queue
// while this goroutine reads. It returns once both are done.
func (s *Session) runWebSocket(ws *websocket.Conn) {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(ws)
	}()
	s.readLoop(ws)
	<-writerDone
}

func (s *Session) readLoop(ws *websocket.Conn) {
	for {
		f, err := readMessage(ws, s.srv.cfg.MaxPayload)
		if err != nil {
			if errors.Is(err, websocket.ErrFrameTooLarge) {
				s.mu.Lock()
				s.closeCode = closeTooLarge
				s.mu.Unlock()
				s.closeNow(ReasonTransportError, false)
				return
			}
			s.closeNow(ReasonTransportClose, false)
			return
		}
		p := decodedPacket{typ: TypeMessage, data: f.data, binary: true}
		if !f.binary {
			var err error
			if p, err = decodeText(f.data); err != nil {
				s.srv.log.Debug("engineio: bad packet", "sid", s.id, "err", err)
				s.closeNow(ReasonParseError, false)
				return
			}
		}
		if err := s.onPacket(p); err != nil {
			if err != errStop {
				s.srv.log.Debug("engineio: bad packet", "sid", s.id, "err", err)
				s.closeNow(ReasonParseError, false)
			}
			return
		}
	}
}

// writeLoop is the session's only writer on ws. Each wake-up drains
// everything queued, the ping first; a ping due while a long batch is
// written goes out between two of its packets.
func (s *Session) writeLoop(ws *websocket.Conn) {
	timeout := s.srv.writeTimeout()
	for {
		select {
		case <-s.wake:
		case <-s.done:
		}
		s.mu.Lock()
		if s.state == stateClosed {
			code := s.closeCode
			s.mu.Unlock()
			if code == 0 {
				code = closeNormal
			}
			ws.WriteClose(code)
			return
		}
		ping := s.pingDue
		s.pingDue = false
		batch := s.takeLocked()
		finish := s.state == stateClosing
		// Under the lock: a close from now on shortens this deadline,
		// rather than being overwritten by it.
		ws.SetWriteDeadline(time.Now().Add(timeout))
		s.mu.Unlock()

		var err error
		if ping {
			ws.PayloadType = websocket.TextFrame
			_, err = ws.Write(pingFrame)
		}
		for i, p := range batch {
			if err != nil {
				break
			}
			if i > 0 {
				// A long batch: a ping due meanwhile cuts in (its pong
				// deadline is already running), and a close stops it.
				s.mu.Lock()
				if s.state == stateClosed {
					s.mu.Unlock()
					break
				}
				ping := s.pingDue
				s.pingDue = false
				ws.SetWriteDeadline(time.Now().Add(timeout))
				s.mu.Unlock()
				if ping {
					ws.PayloadType = websocket.TextFrame
					if _, err = ws.Write(pingFrame); err != nil {
						break
					}
				}
			}
			if p.Binary {
				ws.PayloadType = websocket.BinaryFrame
			} else {
				ws.PayloadType = websocket.TextFrame
			}
			_, err = ws.Write(p.Data)
		}
		s.recycle(batch)
		if err != nil {
			s.closeNow(ReasonTransportError, false)
		} else if finish {
			s.closeNow(ReasonForcedClose, false)
		}
	}
}
