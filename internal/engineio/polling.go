package engineio

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// beginRequest admits a polling request to the session and marks it in
// progress (busy is s.polling for a GET, s.posting for a POST), returning
// with s.mu held. Otherwise it answers the request itself and returns false:
// the session is gone, past its pong deadline, upgraded, or already serving
// a request of the same kind, which the protocol punishes by closing the
// session (a GET waiting then receives the close packet).
func (s *Session) beginRequest(w http.ResponseWriter, busy *bool, method string) bool {
	s.mu.Lock()
	switch {
	case s.state == stateClosed:
		s.mu.Unlock()
		writeError(w, codeUnknownSID, "")
	case s.pongOverdueLocked():
		s.mu.Unlock()
		s.closeNow(ReasonPingTimeout, false)
		writeError(w, codeUnknownSID, "")
	case s.transport != Polling:
		s.mu.Unlock()
		writeError(w, codeBadRequest, "")
	case *busy:
		s.mu.Unlock()
		s.srv.log.Debug("engineio: concurrent "+method, "sid", s.id)
		s.closeNow(ReasonTransportError, false)
		writeError(w, codeBadRequest, "")
	default:
		*busy = true
		return true
	}
	return false
}

// servePoll answers a long-polling GET with everything queued, waiting until
// there is something to send.
func (s *Session) servePoll(w http.ResponseWriter, r *http.Request) {
	if !s.beginRequest(w, &s.polling, "GET") {
		return
	}
	// A GET that arrives once the probe has been answered comes from a
	// client that should have paused polling: most often its 5 is on the
	// way, on the WebSocket (another connection, read by another
	// goroutine, and so possibly behind this GET). Give the upgrade a
	// moment, as the reference server does (it answers such a GET with
	// its next noop, within 100 ms): once upgraded, the GET is refused
	// like any poll after the upgrade.
	late := s.probed
	var graceC <-chan time.Time
	if late {
		grace := time.NewTimer(probeGrace)
		defer grace.Stop()
		graceC = grace.C
	}
	inGrace := late
	for !s.pollReadyLocked(inGrace) {
		s.mu.Unlock()
		select {
		case <-s.pollWake:
		case <-graceC:
			inGrace, graceC = false, nil
		case <-s.done:
		case <-r.Context().Done():
			// The client went away while waiting: the protocol closes the
			// session.
			s.closeNow(ReasonTransportClose, false)
			return
		}
		s.mu.Lock()
	}
	var (
		batch  []Packet
		ping   bool
		finish bool // a graceful close completes with this response
		body   []byte
	)
	switch {
	case s.state == stateClosed:
		if s.noopClose {
			body = []byte{TypeNoop}
		} else {
			body = []byte{TypeClose}
		}
	case s.transport != Polling && late:
		s.polling = false
		s.mu.Unlock()
		writeError(w, codeBadRequest, "")
		return
	case s.transport != Polling:
		// Upgraded while waiting: everything goes to the WebSocket now.
		body = []byte{TypeNoop}
	default:
		ping, s.pingDue = s.pingDue, false
		batch = s.takeLocked()
		// A graceful close sends the close packet in a response of its
		// own, after the queue (as the reference server does):
		// socket.io-client handles the messages of a payload on the next
		// tick but a close packet at once, so a close after them in the
		// same payload would overtake them (a DISCONNECT would be
		// reported as "transport close", and the client reconnect).
		finish = s.state == stateClosing && len(batch) == 0
		if !ping && len(batch) == 0 && !finish {
			body = []byte{TypeNoop} // upgrading
		}
	}
	s.mu.Unlock()

	if body == nil {
		n := payloadSize(batch)
		if ping {
			n += 2
		}
		if finish {
			n += 2
		}
		body = make([]byte, 0, n)
		if ping {
			body = append(body, TypePing)
			if len(batch) > 0 {
				body = append(body, recordSeparator)
			}
		}
		body = appendPayload(body, batch)
		if finish {
			if len(body) > 0 {
				body = append(body, recordSeparator)
			}
			body = append(body, TypeClose)
		}
		s.recycle(batch)
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	// The wait may have outlasted the http.Server's WriteTimeout, a
	// deadline set when the request was read: the response gets a
	// deadline of its own, bounded still. (Fails harmlessly where the
	// ResponseWriter cannot set one.)
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.srv.writeTimeout()))
	_, err := w.Write(body)
	s.mu.Lock()
	s.polling = false
	s.mu.Unlock()
	if finish {
		s.closeNow(ReasonForcedClose, false)
	} else if err != nil {
		s.closeNow(ReasonTransportError, false)
	}
}

// probeGrace is how long a GET that arrives after the probe waits for the
// upgrade to complete before it is answered with a noop.
const probeGrace = 100 * time.Millisecond

// pollReadyLocked reports whether a waiting GET has something to answer:
// data, a close, the upgrade, or a probe (unless the GET arrived after it
// and is still in its grace period).
func (s *Session) pollReadyLocked(inGrace bool) bool {
	return s.state != stateOpen || s.pingDue || len(s.queue) > 0 ||
		s.transport != Polling || (s.probed && !inGrace)
}

var errTooLarge = errors.New("payload too large")

// servePost reads a payload of packets from the client.
func (s *Session) servePost(w http.ResponseWriter, r *http.Request) {
	if !s.beginRequest(w, &s.posting, "POST") {
		return
	}
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		// A v3 client's binary payload: v4 payloads are text, binary
		// packets in base64. The reference server refuses it and closes
		// the session, without reading it.
		s.posting = false
		s.mu.Unlock()
		s.closeNow(ReasonParseError, false)
		writeError(w, codeBadRequest, "")
		return
	}
	// A close of the session from now on ends the read (a body that never
	// comes would otherwise hold this goroutine and the connection).
	s.postRC = http.NewResponseController(w)
	s.mu.Unlock()
	body, err := readBody(r, s.srv.cfg.MaxPayload)
	s.mu.Lock()
	s.postRC = nil
	s.mu.Unlock()
	if err == nil {
		err = decodePayload(validUTF8(body), s.onPolled)
	}
	// Done before answering: a client that completes an upgrade as soon as
	// it reads "ok" must find no POST in progress.
	s.mu.Lock()
	s.posting = false
	s.mu.Unlock()
	switch {
	case err == nil, err == errStop:
	case errors.Is(err, errTooLarge):
		s.closeNow(ReasonTransportError, false)
		// An empty 413, as the reference server answers: the client
		// reports the status, and its tests expect no body.
		h := w.Header()
		h.Set("Connection", "close")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	case !errors.Is(err, ErrInvalidPacket):
		s.closeNow(ReasonTransportError, false)
		writeError(w, codeBadRequest, "")
		return
	default:
		s.srv.log.Debug("engineio: bad payload", "sid", s.id, "err", err)
		s.closeNow(ReasonParseError, false)
		writeError(w, codeBadRequest, "")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=UTF-8")
	h.Set("Content-Length", "2")
	h.Set("Cache-Control", "no-store")
	w.Write([]byte("ok"))
}

// readBody reads at most max bytes: the limit is enforced while reading,
// whatever Content-Length says (or does not say, when chunked).
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, errTooLarge
	}
	size := r.ContentLength
	if size < 0 || size > 64<<10 {
		size = 512 // grow as it comes: a header is no reason to allocate
	}
	buf := make([]byte, 0, size+1)
	lr := io.LimitReader(r.Body, max+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
