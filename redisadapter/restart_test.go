package redisadapter

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxy stands between a server and Redis: cutting it looks, to the
// server, like Redis going away (every connection drops, new ones are
// refused), restoring it like Redis coming back on the same address.
type proxy struct {
	t      testing.TB
	l      net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t testing.TB, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{t: t, l: l, target: target, conns: make(map[net.Conn]bool)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		l.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.wg.Add(2)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func waitLog(t *testing.T, n *node, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(n.logs.String(), want) },
		10*time.Second, 20*time.Millisecond, "log %q; have:\n%s", want, n.logs.String())
}

// Redis goes away and comes back: local delivery goes on meanwhile, the
// gap is logged, the subscription comes back by itself.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	key := testKey()
	px := newProxy(t, redisAddr())
	a := newNode(t, key, nodeConfig{addr: px.addr()})
	b := newNode(t, key, nodeConfig{})
	ca := dial(t, a.ts.URL, "ca", clientOpts{})
	cb := dial(t, b.ts.URL, "cb", clientOpts{})
	waitServers(t, key, "/", 2)

	require.NoError(t, a.ns.Emit("before"))
	assert.Empty(t, cb.upTo("before")) // it arrived, and nothing else
	assert.Empty(t, ca.upTo("before"))

	px.cut()
	waitLog(t, a, "lost the Redis subscription")
	require.NoError(t, a.ns.Emit("during-a"))
	require.NoError(t, b.ns.Emit("during-b"))
	p, _ := ca.next(time.Second)
	assert.Equal(t, `2["during-a"]`, p.text, "local delivery goes on")
	p, _ = cb.next(time.Second)
	assert.Equal(t, `2["during-b"]`, p.text)
	waitLog(t, a, "publishing to Redis failed")

	px.restore()
	waitLog(t, a, "subscribed to Redis again")
	waitServers(t, key, "/", 2)
	assert.Regexp(t, `subscribed to Redis again; messages published meanwhile were lost" gap=\d`, a.logs.String())

	// Both ways again; what was published meanwhile is lost, not late.
	require.NoError(t, b.ns.Emit("after-b"))
	assert.Empty(t, ca.upTo("after-b"))
	assert.Empty(t, cb.upTo("after-b"))
	require.NoError(t, a.ns.Emit("after-a"))
	assert.Empty(t, cb.upTo("after-a"))
	assert.Empty(t, ca.upTo("after-a"))
	waitLog(t, a, "publishing to Redis again")
	assert.Regexp(t, `publishing to Redis again" gap=\S+ lost=1`, a.logs.String())

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	all, err := a.ns.FetchSockets(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{ca.sid, cb.sid}, ids(all))
}
