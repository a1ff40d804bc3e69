package socketio

// Hostile namespaces (class 8): unknown ones, absurd names, and thousands of
// dynamic ones.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Class 8: namespaces that do not exist, with absurd names.
func TestHostileNamespaces(t *testing.T) {
	rs := newRawServer(t, Config{MaxNamespaceLength: 64}, func(srv *Server) {
		srv.Of("/exists")
	})
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs.t = t
			defer func() { rs.t = t }()
			w := rs.healthy(tr)
			c := rs.open(tr)
			connect(t, c, "/", "")
			names := []string{
				"/random", "/\x00", "/a b", "//", "/../..", "/?x=1", "/%2e",
				"/ünïcödé", "/" + strings.Repeat("n", 63), "/" + strings.Repeat("n", 64),
				"/" + strings.Repeat("n", 999_000), // a 1 MB name
				"/__proto__", "/constructor", "/exists/", "/EXISTS",
			}
			for _, nsp := range names {
				require.NoError(t, c.SendText("40"+nsp+","))
				f, err := c.Next(5 * time.Second)
				require.NoError(t, err, "namespace of %d bytes", len(nsp))
				require.Equal(t, "44"+nsp+`,{"message":"Invalid namespace"}`, f.text)
			}
			if tr == tPolling {
				// Bytes that are not UTF-8 arrive as U+FFFD, as on Node;
				// over WebSocket they close the connection (1007: see
				// TestInvalidUTF8).
				require.NoError(t, c.SendText("40/\xff\xfe,"))
				f, err := c.Next(5 * time.Second)
				require.NoError(t, err)
				require.Equal(t, "44/\uFFFD,"+`{"message":"Invalid namespace"}`, f.text)
			}
			// A namespace without its leading slash is not a namespace.
			connect(t, c, "/exists", "")
			echo(t, c, 1, `"still connected"`)
			require.NoError(t, c.SendText("1"))
			rs.waitConns(1, 5*time.Second)
			w.check()
		})
	}
	rs.t = t
	rs.srv.mu.RLock()
	n := len(rs.srv.nsps)
	rs.srv.mu.RUnlock()
	require.Equal(t, 2, n, "namespaces created by hostile names")
}

// Class 8: thousands of dynamic namespaces come and go; the server forgets
// them. An accept function that panics refuses the namespace.
func TestHostileDynamicNamespaces(t *testing.T) {
	const many = 3000
	rs := newRawServer(t, Config{}, func(srv *Server) {
		fam := srv.OfFunc(func(name string, auth json.RawMessage) bool {
			if name == "/dyn-panic" {
				panic("accept exploded")
			}
			return strings.HasPrefix(name, "/dyn-")
		})
		fam.OnEvent("ping", func(s *Socket, a Args, ack Ack) { ack(s.Namespace().Name()) })
	})
	count := func() int {
		rs.srv.mu.RLock()
		defer rs.srv.mu.RUnlock()
		return len(rs.srv.nsps)
	}
	base := count()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs.t = t
			defer func() { rs.t = t }()
			w := rs.healthy(tr)
			c := rs.open(tr)
			// Connect in batches (one POST or frames in a row), then read.
			for i := 0; i < many; i += 100 {
				var pkts []string
				for j := i; j < i+100; j++ {
					pkts = append(pkts, fmt.Sprintf("40/dyn-%d,", j))
				}
				require.NoError(t, c.SendText(pkts...))
				// Each socket connects on its own goroutine: any order.
				seen := map[string]bool{}
				for range 100 {
					f, err := c.Next(10 * time.Second)
					require.NoError(t, err)
					nsp, _, ok := strings.Cut(strings.TrimPrefix(f.text, "40"), `,{"sid":`)
					require.True(t, ok, f.text)
					seen[nsp] = true
				}
				for j := i; j < i+100; j++ {
					require.True(t, seen[fmt.Sprintf("/dyn-%d", j)], "no CONNECT reply for /dyn-%d", j)
				}
			}
			require.Equal(t, base+many, count())
			require.NoError(t, c.SendText(`42/dyn-7,1["ping"]`))
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `43/dyn-7,1["/dyn-7"]`, f.text)

			require.NoError(t, c.SendText("40/dyn-panic,"))
			f, err = c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `44/dyn-panic,{"message":"Invalid namespace"}`, f.text)

			// Half leave one by one, the rest go with the connection.
			for i := 0; i < many/2; i += 100 {
				var pkts []string
				for j := i; j < i+100; j++ {
					pkts = append(pkts, fmt.Sprintf("41/dyn-%d,", j))
				}
				require.NoError(t, c.SendText(pkts...))
			}
			eventually(t, 10*time.Second, func() bool { return count() == base+many/2 }, "namespaces: %v", count)
			c.Close()
			if tr == tPolling {
				require.NoError(t, c.SendText("1"))
			}
			eventually(t, 10*time.Second, func() bool { return count() == base }, "namespaces: %v", count)
			rs.waitConns(1, 5*time.Second)
			w.check()
		})
	}
	rs.t = t
}
