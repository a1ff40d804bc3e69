package engineio

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzPost POSTs arbitrary bodies to a live polling session: no panic, the
// answer is 200 "ok" (and exactly the packets decodePayload finds were
// delivered) or 400/413 (and the session is closed).
//
// Each input costs an HTTP round trip, so minimizing a long interesting
// input takes a while: run with a short -fuzzminimizetime, e.g.
//
//	go test -run '^$' -fuzz '^FuzzPost$' -fuzztime 20s -fuzzminimizetime 2s ./internal/engineio
func FuzzPost(f *testing.F) {
	for _, s := range payloadSeeds() {
		f.Add([]byte(s))
	}
	f.Add(bytes.Repeat([]byte("4x\x1e"), 400))
	f.Add([]byte("4a\x1e1\x1e4b"))
	f.Add([]byte("3\x1e6\x1e4ok"))
	cfg := quietConfig()
	cfg.MaxPayload = 1000
	rec := newRecorder()
	srv := newTestServer(f, cfg, rec)
	f.Fuzz(func(t *testing.T, body []byte) {
		s := srv.with(t)
		if len(body) > 2000 {
			t.Skip("twice maxPayload is enough to cover 413")
		}
		c := s.handshake()
		res := c.post(string(body))

		// What the payload should have delivered.
		var want []string
		closes := false
		// Bytes that are not UTF-8 arrive as U+FFFD, as on Node.
		decErr := decodePayload(validUTF8(body), func(p decodedPacket) error {
			switch p.typ {
			case TypeMessage:
				if p.binary {
					want = append(want, fmt.Sprintf("bin:%x", p.data))
				} else {
					want = append(want, string(p.data))
				}
			case TypeClose:
				closes = true
				return errStop
			case TypePong, TypeNoop, TypeOpen, TypeUpgrade: // ignored, as on Node
			default:
				return invalid("type")
			}
			return nil
		})
		if decErr == errStop {
			decErr = nil
		}
		switch res.status {
		case 200:
			require.Equal(t, "ok", res.body)
			require.NoError(t, decErr, "accepted a payload that does not decode")
			require.LessOrEqual(t, len(body), 1000)
			require.Equal(t, want, rec.messages(c.sid))
			if closes {
				rec.waitClosed(t, c.sid, time.Second)
			} else {
				require.NotNil(t, s.srv.Session(c.sid), "session closed after 200")
			}
		case 400:
			require.Error(t, decErr, "refused a payload that decodes")
			rec.waitClosed(t, c.sid, time.Second)
		case 413:
			require.Greater(t, len(body), 1000)
			require.Empty(t, rec.messages(c.sid))
			rec.waitClosed(t, c.sid, time.Second)
		default:
			t.Fatalf("status %d %q", res.status, res.body)
		}
		if sess := s.srv.Session(c.sid); sess != nil {
			sess.closeNow("done", false)
		}
	})
}
