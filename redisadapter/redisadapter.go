// Package redisadapter lets several Socket.IO servers share rooms and
// broadcasts through Redis pub/sub. It speaks the wire protocol of the
// Node.js @socket.io/redis-adapter (8.x, the classic createAdapter), so Go
// and Node.js servers can be members of one cluster.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	adapter, err := redisadapter.New(ctx, rdb, redisadapter.Options{})
//	if err != nil {
//		log.Fatal(err) // Redis unreachable
//	}
//	srv := socketio.New(socketio.Config{Adapter: adapter})
//
// Each namespace gets an adapter that delivers locally through the root
// package's in-memory adapter and publishes to the other servers:
// broadcasts (rooms, except, volatile), broadcasts with acknowledgements,
// SocketsJoin, SocketsLeave, DisconnectSockets, FetchSockets and
// server-side emits all reach the whole cluster; Local() restricts any of
// them to one server.
//
// # Delivery
//
// Redis pub/sub keeps nothing: a server that is not subscribed when a
// message is published never gets it. All messages of one server go
// through one connection in order, so a SocketsJoin followed by a
// broadcast to the room reaches other servers in that order. Broadcasts
// are published in the background and never wait for Redis; while Redis is
// unreachable local delivery goes on, messages for other servers are lost,
// and the adapter logs when the outage starts and how long it lasted.
// Requests that wait for other servers (FetchSockets, acknowledgements)
// fail when their deadline passes, with what did arrive.
//
// Servers are counted with PUBSUB NUMSUB on the namespace's request
// channel, as the Node.js adapter does. Each server subscribes through one
// connection of its own, taken from the client's pool for as long as it has
// a namespace open.
package redisadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wirekit/socketio"
)

// Options configure the adapter. The zero value is valid; servers of one
// cluster must agree on Key.
type Options struct {
	// Key prefixes every channel name, as the Node.js adapter's "key"
	// option: <key>#<namespace>#... Default "socket.io".
	Key string
	// RequestsTimeout is how long a request waits for the other servers
	// (FetchSockets, ServerSideEmitWithAck, the acknowledgements of a
	// broadcast) when its context has no deadline. Default 5s, as in
	// Node.js.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel sends this server's answers to the
	// channel of the server that asked instead of the shared response
	// channel: less traffic for the others. Default false, as in Node.js.
	PublishOnSpecificResponseChannel bool
	// MaxPendingPublishes caps the messages waiting to be published, for
	// when Redis is slow or unreachable; further ones are dropped (and
	// counted in the log). Default 100,000.
	MaxPendingPublishes int
	// Logger receives connection losses and recoveries, and messages
	// dropped. Default nil: silent.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultKey                 = "socket.io"
	DefaultRequestsTimeout     = 5 * time.Second
	DefaultMaxPendingPublishes = 100_000
)

// New checks that Redis answers, then returns the constructor of the
// namespaces' adapters, for socketio.Config.Adapter. client is used for
// publishing and for the subscription connection; the adapters never close
// it. ctx bounds the check.
func New(ctx context.Context, client redis.UniversalClient, opts Options) (func(*socketio.Namespace) socketio.Adapter, error) {
	if client == nil {
		return nil, errors.New("redisadapter: nil Redis client")
	}
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.RequestsTimeout <= 0 {
		opts.RequestsTimeout = DefaultRequestsTimeout
	}
	if opts.MaxPendingPublishes <= 0 {
		opts.MaxPendingPublishes = DefaultMaxPendingPublishes
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redisadapter: Redis does not answer PING (is it running, and is the address right?): %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(discard{})
	}
	b := &bus{client: client, opts: opts, log: log}
	return b.newAdapter, nil
}

// Channel kinds of the subscription.
const (
	chanRequest = iota
	chanResponse
)

type subscriber struct {
	a    *adapter
	kind int
}

// bus is what the namespaces of one server share: the subscription
// connection, its receive loop, and the ordered publisher.
type bus struct {
	client redis.UniversalClient
	opts   Options
	log    *slog.Logger

	mu       sync.RWMutex
	refs     int // open adapters
	ps       *redis.PubSub
	stop     context.CancelFunc
	done     chan struct{} // closed when the receive loop returns
	pub      *publisher
	channels map[string]subscriber
	patterns map[string]*adapter

	ctl serial // subscribing and unsubscribing, in order, off the caller's goroutine
}

func (b *bus) newAdapter(ns *socketio.Namespace) socketio.Adapter {
	name := ns.Name()
	k := b.opts.Key
	a := &adapter{
		local:        socketio.NewMemoryAdapter(ns),
		bus:          b,
		ns:           ns,
		name:         name,
		uid:          randomID(),
		channel:      k + "#" + name + "#",
		requestChan:  k + "-request#" + name + "#",
		responseChan: k + "-response#" + name + "#",
		requests:     make(map[string]*request),
		acks:         make(map[string]*ackRequest),
	}
	a.specificChan = a.responseChan + a.uid + "#"
	a.ready = make(chan struct{})
	a.pattern = escapeGlob(a.channel) + "*"
	if name == "" { // a dynamic family only groups its children: nothing to share
		a.closed = true
		return a
	}
	a.pub = b.acquire(a)
	return a
}

// acquire registers a's channels, starting the subscription if a is the
// first adapter.
func (b *bus) acquire(a *adapter) *publisher {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refs == 0 {
		b.ps = b.client.Subscribe(context.Background())
		b.channels = make(map[string]subscriber)
		b.patterns = make(map[string]*adapter)
		b.pub = newPublisher(b.client, b.opts.MaxPendingPublishes, b.log)
		ctx, stop := context.WithCancel(context.Background())
		b.stop, b.done = stop, make(chan struct{})
		go b.receive(ctx, b.ps, b.done)
	}
	b.refs++
	b.channels[a.requestChan] = subscriber{a, chanRequest}
	b.channels[a.responseChan] = subscriber{a, chanResponse}
	b.channels[a.specificChan] = subscriber{a, chanResponse}
	b.patterns[a.pattern] = a
	ps := b.ps
	// The server creates namespaces under its own lock: subscribe in the
	// background (in order with unsubscribing). go-redis remembers the
	// channels even when Redis is unreachable, and subscribes again
	// whenever it reconnects.
	b.ctl.push(func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.RequestsTimeout)
		defer cancel()
		if err := ps.PSubscribe(ctx, a.pattern); err != nil {
			b.log.Warn("redisadapter: subscribing (will retry on reconnect)", "namespace", a.name, "err", err)
		}
		if err := ps.Subscribe(ctx, a.requestChan, a.responseChan, a.specificChan); err != nil {
			b.log.Warn("redisadapter: subscribing (will retry on reconnect)", "namespace", a.name, "err", err)
		}
	})
	return b.pub
}

// release unregisters a's channels; with the last adapter it stops the
// subscription and flushes what is left to publish, and returns once that
// is done.
func (b *bus) release(a *adapter) {
	b.mu.Lock()
	// A namespace removed and created again at once (a dynamic one) has a
	// new adapter on the same channels already: leave them to it.
	mine := b.patterns[a.pattern] == a
	if mine {
		delete(b.channels, a.requestChan)
		delete(b.channels, a.responseChan)
		delete(b.patterns, a.pattern)
	}
	delete(b.channels, a.specificChan)
	b.refs--
	last := b.refs == 0
	ps, stop, done, pub := b.ps, b.stop, b.done, b.pub
	b.mu.Unlock()

	if !last {
		b.ctl.push(func() {
			ctx, cancel := context.WithTimeout(context.Background(), b.opts.RequestsTimeout)
			defer cancel()
			if mine {
				ps.PUnsubscribe(ctx, a.pattern)
				ps.Unsubscribe(ctx, a.requestChan, a.responseChan)
			}
			ps.Unsubscribe(ctx, a.specificChan)
		})
		return
	}
	stopped := make(chan struct{})
	b.ctl.push(func() {
		defer close(stopped)
		stop()
		ps.Close()
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		pub.close(ctx) // flush what is queued, within the deadline
	})
	<-stopped
}

// receive reads the subscription until ctx ends. go-redis reconnects and
// subscribes again after a failure; this loop logs the gap.
func (b *bus) receive(ctx context.Context, ps *redis.PubSub, done chan struct{}) {
	defer close(done)
	var (
		down    time.Time // when the subscription was lost, zero while up
		backoff time.Duration
	)
	for {
		msg, err := ps.ReceiveTimeout(ctx, time.Minute)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if isTimeout(err) {
				// Quiet for a minute: check the connection is still there.
				pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
				ps.Ping(pingCtx)
				cancel()
				continue
			}
			if down.IsZero() {
				down = time.Now()
				b.log.Warn("redisadapter: lost the Redis subscription; messages from other servers are missed until it is back", "err", err)
			}
			backoff = min(max(2*backoff, 50*time.Millisecond), 2*time.Second)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			continue
		}
		if !down.IsZero() {
			b.log.Warn("redisadapter: subscribed to Redis again; messages published meanwhile were lost", "gap", time.Since(down).Round(time.Millisecond))
			down, backoff = time.Time{}, 0
		}
		switch m := msg.(type) {
		case *redis.Message:
			b.dispatch(m)
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.mu.RLock()
				s, ok := b.channels[m.Channel]
				b.mu.RUnlock()
				if ok && s.kind == chanRequest {
					s.a.subscribed()
				}
			}
		}
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func (b *bus) dispatch(m *redis.Message) {
	payload := m.Payload
	if m.Pattern != "" {
		b.mu.RLock()
		a := b.patterns[m.Pattern]
		b.mu.RUnlock()
		if a != nil && strings.HasPrefix(m.Channel, a.channel) {
			a.onBroadcast(m.Channel, payload)
		}
		return
	}
	b.mu.RLock()
	s, ok := b.channels[m.Channel]
	b.mu.RUnlock()
	if !ok || len(payload) == 0 {
		return
	}
	if s.kind == chanRequest {
		s.a.onRequest(payload)
	} else {
		s.a.onResponse(payload)
	}
}

// serverCount returns how many servers have the namespace of channel
// open, this one included: the subscribers of its request channel, summed
// over the masters of a Redis Cluster.
func (b *bus) serverCount(ctx context.Context, channel string) (int, error) {
	if cc, ok := b.client.(*redis.ClusterClient); ok {
		var (
			mu    sync.Mutex
			total int64
		)
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			res, err := c.PubSubNumSub(ctx, channel).Result()
			mu.Lock()
			total += res[channel]
			mu.Unlock()
			return err
		})
		return int(total), err
	}
	res, err := b.client.PubSubNumSub(ctx, channel).Result()
	return int(res[channel]), err
}

// publisher publishes in order, in pipelined batches, on a goroutine of
// its own, so that broadcasting never waits for Redis.
type publisher struct {
	client redis.UniversalClient
	max    int
	log    *slog.Logger

	mu      sync.Mutex
	queue   []outgoing
	closed  bool
	dropped int       // messages lost since failing began
	failing time.Time // when publishing started failing, zero while it works
	wake    chan struct{}
	done    chan struct{}
	flush   context.Context
}

type outgoing struct {
	channel string
	payload []byte
}

// maxBatch bounds the messages of one pipeline.
const maxBatch = 512

func newPublisher(client redis.UniversalClient, max int, log *slog.Logger) *publisher {
	p := &publisher{client: client, max: max, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go p.run()
	return p
}

// publish queues a message; it never blocks.
func (p *publisher) publish(channel string, payload []byte) {
	p.mu.Lock()
	switch {
	case p.closed:
	case len(p.queue) >= p.max:
		if p.dropped == 0 {
			p.log.Warn("redisadapter: too many messages waiting for Redis, dropping", "max", p.max)
		}
		p.dropped++
	default:
		p.queue = append(p.queue, outgoing{channel, payload})
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *publisher) run() {
	defer close(p.done)
	var batch []outgoing
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.mu.Unlock()
			<-p.wake
			p.mu.Lock()
		}
		if len(p.queue) == 0 { // closed and drained
			p.mu.Unlock()
			return
		}
		n := min(len(p.queue), maxBatch)
		batch = append(batch[:0], p.queue[:n]...)
		clear(p.queue[:n])
		p.queue = p.queue[n:]
		if len(p.queue) == 0 {
			p.queue = nil // let a burst's backing array go
		}
		ctx := context.Background()
		if p.closed {
			ctx = p.flush
		}
		p.mu.Unlock()
		p.send(ctx, batch)
		clear(batch)
	}
}

func (p *publisher) send(ctx context.Context, batch []outgoing) {
	var err error
	if len(batch) == 1 {
		err = p.client.Publish(ctx, batch[0].channel, batch[0].payload).Err()
	} else {
		pipe := p.client.Pipeline()
		for _, m := range batch {
			pipe.Publish(ctx, m.channel, m.payload)
		}
		_, err = pipe.Exec(ctx)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err != nil && p.failing.IsZero():
		p.failing = time.Now()
		p.dropped += len(batch)
		p.log.Warn("redisadapter: publishing to Redis failed; messages for other servers are lost until it works again", "err", err)
	case err != nil:
		p.dropped += len(batch)
	case !p.failing.IsZero() || p.dropped > 0:
		p.log.Warn("redisadapter: publishing to Redis again", "gap", time.Since(p.failing).Round(time.Millisecond), "lost", p.dropped)
		p.failing, p.dropped = time.Time{}, 0
	}
}

// close publishes what is queued, until ctx ends, then stops.
func (p *publisher) close(ctx context.Context) {
	p.mu.Lock()
	p.closed, p.flush = true, ctx
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.done
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// randomID returns 6 characters of the URL-safe alphabet, the form of the
// Node.js adapter's uids and request ids.
func randomID() string {
	var b [6]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[b[i]&63]
	}
	return string(b[:])
}

// escapeGlob escapes the characters PSUBSCRIBE patterns give a meaning to.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return false }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }
