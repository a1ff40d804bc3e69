package engineio

// Abort closes the session at once, dropping what is queued, with the given
// reason for OnClose. The client sees its transport close (a pending poll
// receives a close packet).
func (s *Session) Abort(reason string) { s.closeNow(reason, false) }
