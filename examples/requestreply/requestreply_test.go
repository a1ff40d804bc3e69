package main

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio/siotest"
)

// lockedBuffer is written by the client's handler goroutine and by the
// test's.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRequestReply(t *testing.T) {
	siotest.AssertNoLeaks(t)
	ts := siotest.NewServer(t, newServer(nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var out lockedBuffer
	require.NoError(t, runClient(ctx, ts.URL, &out))
	assert.Equal(t, `quote: 3 × pear = $1.65
server asks to confirm 6 × apple for $2.40: true
order 6 × apple placed: #1, $2.40
server asks to confirm 12 × melon for $38.40: false
order 12 × melon refused: cancelled by the client
order 1 × kiwi refused: no such item: "kiwi"
`, out.String())
}
