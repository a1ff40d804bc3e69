package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is a server under test, listening on Addr, running as process PID.
type Target struct {
	Name string
	Addr string // host:port
	Path string // "/socket.io/"
	PID  int
}

// Result holds a scenario's figures by key (see the compare command for
// their meaning) and notes about anything unexpected.
type Result struct {
	Values map[string]float64
	Notes  []string
}

func newResult() *Result { return &Result{Values: map[string]float64{}} }

func (r *Result) set(k string, v float64) { r.Values[k] = v }

func (r *Result) notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// base is the origin of the timestamps carried in broadcast payloads; the
// sender and the receivers live in this process, so one monotonic clock
// serves both ends.
var base = time.Now()

func now() int64 { return int64(time.Since(base)) }

// ServerStats is what the benchmark servers' "stats" event returns.
type ServerStats struct {
	Conns       int            `json:"conns"`
	Disconnects map[string]int `json:"disconnects"`
}

// Stats asks the server for its connection count and the disconnect
// reasons seen so far, over a connection of its own (counted in Conns).
func (t Target) Stats(ctx context.Context) (ServerStats, error) {
	var st ServerStats
	c, err := Dial(ctx, t.Addr, t.Path, DialOptions{})
	if err != nil {
		return st, err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	ack, err := c.Call(0, "stats", nil)
	if err != nil {
		return st, err
	}
	var arr []ServerStats
	if err := json.Unmarshal(ack, &arr); err != nil || len(arr) != 1 {
		return st, fmt.Errorf("stats: bad reply %q", ack)
	}
	// Leave the namespace before closing, so that this connection's own
	// disconnect is told apart from the ones under study.
	c.WriteText([]byte("41"))
	return arr[0], nil
}

// statsReason is the disconnect reason of a Stats connection, on both
// servers.
const statsReason = "client namespace disconnect"

// WaitIdle waits until the server has no connection but the one asking.
func (t Target) WaitIdle(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := t.Stats(ctx)
		if err == nil && st.Conns <= 1 {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return err
			}
			return fmt.Errorf("%s still has %d connections", t.Name, st.Conns-1)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// connectMany opens n clients, conc at a time. lat, when not nil, receives
// each connection's setup time.
func connectMany(ctx context.Context, t Target, n, conc int, o DialOptions, lat []int64) ([]*Client, error) {
	clients := make([]*Client, n)
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				c, err := Dial(ctx, t.Addr, t.Path, o)
				if err != nil {
					errMu.Lock()
					if first == nil {
						first = fmt.Errorf("client %d: %w", i, err)
					}
					errMu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
				if lat != nil {
					lat[i] = int64(time.Since(t0))
				}
				clients[i] = c
			}
		}()
	}
	wg.Wait()
	if first != nil {
		closeAll(clients)
		return nil, first
	}
	return clients, nil
}

func closeAll(cs []*Client) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}

// discardLoop reads and drops everything (answering pings) until the
// connection closes.
func discardLoop(c *Client) {
	for {
		if _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

type cpuMeter struct {
	pid          int
	srv0, lg0    time.Duration
	srv1, lg1    time.Duration
	wait0, wait1 time.Duration // the server's threads' time waiting for a CPU
	waitErr      error
	t0, t1       time.Time
	srvErr       error
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid}
	m.srv0, m.srvErr = CPUTime(pid)
	m.wait0, m.waitErr = SchedWait(pid)
	m.lg0 = SelfCPU()
	m.t0 = time.Now()
	return m
}

func (m *cpuMeter) stop() {
	m.t1 = time.Now()
	var err error
	m.srv1, err = CPUTime(m.pid)
	if m.srvErr == nil {
		m.srvErr = err
	}
	if m.waitErr == nil {
		m.wait1, m.waitErr = SchedWait(m.pid)
	}
	m.lg1 = SelfCPU()
}

// waitPerOp returns the server's time waiting for a CPU per op, in µs, and
// whether it could be read.
func (m *cpuMeter) waitPerOp(ops float64) (float64, bool) {
	if ops <= 0 || m.waitErr != nil {
		return 0, false
	}
	return float64(m.wait1-m.wait0) / 1e3 / ops, true
}

// perOp returns server and load-generator CPU per op, in µs.
func (m *cpuMeter) perOp(ops float64) (srv, lg float64) {
	if ops <= 0 {
		return 0, 0
	}
	return float64(m.srv1-m.srv0) / 1e3 / ops, float64(m.lg1-m.lg0) / 1e3 / ops
}

func pct(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)-1) + 0.5)
	return float64(sorted[i])
}

const ms = float64(time.Millisecond)
const us = float64(time.Microsecond)

// Connect opens n connections, conc at a time, through the whole setup a
// socket.io-client does over WebSocket (upgrade, Engine.IO open, namespace
// CONNECT and its reply): connections per second, setup latency, server
// CPU per connection.
func Connect(ctx context.Context, t Target, n, conc int) (*Result, error) {
	r := newResult()
	if err := t.WaitIdle(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	lat := make([]int64, n)
	m := startCPU(t.PID)
	clients, err := connectMany(ctx, t, n, conc, DialOptions{}, lat)
	m.stop()
	if err != nil {
		return nil, err
	}
	elapsed := m.t1.Sub(m.t0)
	slices.Sort(lat)
	srv, lg := m.perOp(float64(n))
	r.set("connect.rate", float64(n)/elapsed.Seconds())
	r.set("connect.p50", pct(lat, 0.50)/ms)
	r.set("connect.p99", pct(lat, 0.99)/ms)
	r.set("connect.cpu", srv)
	r.set("connect.lgcpu", lg)
	closeAll(clients)
	return r, t.WaitIdle(ctx, 60*time.Second)
}

// IdleMemory connects n clients that then stay idle, and reports the
// server's RSS growth per connection once it has settled.
func IdleMemory(ctx context.Context, t Target, n, conc int, settle time.Duration) (*Result, error) {
	r := newResult()
	if err := t.WaitIdle(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	time.Sleep(settle / 2)
	rss0, err := RSS(t.PID)
	if err != nil {
		return nil, err
	}
	clients, err := connectMany(ctx, t, n, conc, DialOptions{}, nil)
	if err != nil {
		return nil, err
	}
	for _, c := range clients {
		go discardLoop(c)
	}
	time.Sleep(settle)
	rss1, err := RSS(t.PID)
	if err != nil {
		return nil, err
	}
	st, err := t.Stats(ctx)
	if err == nil && st.Conns-1 != n {
		r.notef("server reports %d connections, expected %d", st.Conns-1, n)
	}
	r.set("idle.rss0", float64(rss0)/(1<<20))
	r.set("idle.rss1", float64(rss1)/(1<<20))
	r.set("idle.perconn", float64(rss1-rss0)/float64(n)/1024)
	closeAll(clients)
	return r, t.WaitIdle(ctx, 60*time.Second)
}

// EchoDriver chooses how Echo drives its clients: "loop" (the default
// where the platform has epoll: one goroutine over an epoll set, see
// echoLoop) or "goroutines" (one goroutine per client, as the first
// rounds of measurements did).
var EchoDriver = "loop"

// Echo runs clients that each emit "echo" with an ack and wait for it, in
// a loop, for warm then dur; figures cover dur only.
func Echo(ctx context.Context, t Target, clients int, warm, dur time.Duration, payload []byte) (*Result, error) {
	r := newResult()
	if err := t.WaitIdle(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	cs, err := connectMany(ctx, t, clients, 50, DialOptions{}, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll(cs)
	want := append(append([]byte{'['}, payload...), ']')
	var (
		phase         atomic.Int32 // 0 warm-up, 1 measured, 2 stop
		all           []int64
		bad, failures int64
		loopErr       error
		done          = make(chan struct{})
	)
	driver := EchoDriver
	go func() {
		defer close(done)
		if driver == "loop" {
			all, bad, failures, loopErr = echoLoop(cs, payload, want, &phase)
			if loopErr != errNoLoop {
				return
			}
			loopErr = nil
		}
		all, bad, failures = echoGoroutines(cs, payload, want, &phase)
	}()
	time.Sleep(warm)
	phase.Store(1)
	m := startCPU(t.PID)
	time.Sleep(dur)
	phase.Store(2)
	m.stop()
	<-done
	if loopErr != nil {
		return nil, loopErr
	}
	slices.Sort(all)
	n := float64(len(all))
	srv, lg := m.perOp(n)
	r.set("echo.rate", n/m.t1.Sub(m.t0).Seconds())
	r.set("echo.p50", pct(all, 0.50)/us)
	r.set("echo.p99", pct(all, 0.99)/us)
	r.set("echo.p999", pct(all, 0.999)/us)
	r.set("echo.cpu", srv)
	r.set("echo.lgcpu", lg)
	if w, ok := m.waitPerOp(n); ok {
		r.set("echo.wait", w)
	}
	if bad > 0 {
		r.notef("%d acks did not carry the payload back", bad)
	}
	if failures > 0 {
		r.notef("%d clients failed", failures)
	}
	return r, nil
}

// echoGoroutines is Echo's driver with a goroutine per client, each
// blocked in its own read. It returns the latencies of the measured phase.
func echoGoroutines(cs []*Client, payload, want []byte, phase *atomic.Int32) (all []int64, bad, failures int64) {
	var (
		wg              sync.WaitGroup
		lats            = make([][]int64, len(cs))
		nbad, nfailures atomic.Int64
	)
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]int64, 0, 1<<16)
			var buf []byte
			for id := int64(0); ; id++ {
				ph := phase.Load()
				if ph == 2 {
					break
				}
				t0 := time.Now()
				var err error
				if buf, err = c.Emit(buf, id, "echo", payload); err != nil {
					nfailures.Add(1)
					break
				}
				var m []byte
				for {
					m, err = c.ReadMessage()
					if err != nil {
						break
					}
					if got, _, ok := AckID(m); ok && got == id {
						break
					}
				}
				if err != nil {
					nfailures.Add(1)
					break
				}
				d := time.Since(t0)
				if _, rest, _ := AckID(m); !bytes.Equal(rest, want) {
					nbad.Add(1)
				}
				if ph == 1 && phase.Load() == 1 {
					lat = append(lat, int64(d))
				}
			}
			lats[i] = lat
		}()
	}
	wg.Wait()
	return slices.Concat(lats...), nbad.Load(), nfailures.Load()
}

// EchoAtRate is Echo with the load fixed rather than as fast as the
// server answers: clients together emit rate events per second, on a
// schedule, without waiting for the acks (open loop). Latency counts from
// when each emit was due, so a server that falls behind is not spared the
// wait it causes. It compares tails at equal load, which the closed-loop
// Echo does not (there the faster server is also the busier one).
func EchoAtRate(ctx context.Context, t Target, clients, rate int, warm, dur time.Duration, payload []byte) (*Result, error) {
	r := newResult()
	if err := t.WaitIdle(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	cs, err := connectMany(ctx, t, clients, 50, DialOptions{}, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll(cs)
	interval := time.Duration(float64(time.Second) * float64(clients) / float64(rate))
	total := int((warm + dur) / interval)
	first := int(warm / interval)
	start := time.Now().Add(10 * time.Millisecond)
	var (
		wg       sync.WaitGroup
		lats     = make([][]int64, clients)
		missing  atomic.Int64
		measured atomic.Int64
	)
	for i, c := range cs {
		due := make([]int64, total) // when emit k was due, ns since base
		lat := make([]int64, 0, total-first)
		got := make(chan struct{})
		wg.Add(2)
		go func() { // reader
			defer wg.Done()
			defer close(got)
			n := 0
			for n < total {
				m, err := c.ReadMessage()
				if err != nil {
					return
				}
				id, _, ok := AckID(m)
				if !ok || id < 0 || id >= int64(total) {
					continue
				}
				if id >= int64(first) {
					lat = append(lat, now()-due[id])
				}
				n++
			}
		}()
		go func() { // writer
			defer wg.Done()
			// Spread the clients' schedules over one interval.
			offset := time.Duration(i) * interval / time.Duration(clients)
			var buf []byte
			for k := range total {
				at := start.Add(offset + time.Duration(k)*interval)
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				due[k] = int64(at.Sub(base))
				var err error
				if buf, err = c.Emit(buf, int64(k), "echo", payload); err != nil {
					return
				}
			}
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				c.Close()
				<-got
			}
			lats[i] = lat
			measured.Add(int64(len(lat)))
			missing.Add(int64(total - first - len(lat)))
		}()
	}
	time.Sleep(time.Until(start.Add(warm)))
	m := startCPU(t.PID)
	time.Sleep(dur)
	m.stop()
	wg.Wait()
	all := slices.Concat(lats...)
	slices.Sort(all)
	srv, _ := m.perOp(float64(rate) * dur.Seconds())
	r.set("echorate.rate", float64(rate))
	r.set("echorate.p50", pct(all, 0.50)/us)
	r.set("echorate.p99", pct(all, 0.99)/us)
	r.set("echorate.p999", pct(all, 0.999)/us)
	r.set("echorate.cpu", srv)
	if n := missing.Load(); n > 0 {
		r.notef("%d of %d acks missing", n, n+measured.Load())
	}
	return r, nil
}

// room is a set of receivers in "room1" plus a sender, also in the room,
// that broadcasts through "bcast" (to the room except itself).
type room struct {
	t       Target
	sender  *Client
	recv    []*Client
	cur     atomic.Pointer[phase]
	selfGot atomic.Int64 // "msg" packets the sender received: must stay 0
	wg      sync.WaitGroup
}

// phase is one run of broadcasts and what each receiver saw of it.
type phase struct {
	n         int64 // messages sent
	count     []int64
	next      []int64
	errs      []int64
	last      []int64 // time of the receiver's last delivery
	lat       [][]int64
	remaining atomic.Int64
	done      chan struct{}
}

func newPhase(receivers int, n int64) *phase {
	p := &phase{
		n:     n,
		count: make([]int64, receivers),
		next:  make([]int64, receivers),
		errs:  make([]int64, receivers),
		last:  make([]int64, receivers),
		lat:   make([][]int64, receivers),
		done:  make(chan struct{}),
	}
	for i := range p.lat {
		p.lat[i] = make([]int64, 0, n)
	}
	p.remaining.Store(int64(receivers))
	return p
}

var (
	keySeq = []byte(`"seq":`)
	keyT   = []byte(`"t":`)
	msgPfx = []byte(`42["msg",`)
)

func joinRoom(c *Client) error {
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	ack, err := c.Call(1, "join", nil, []byte(`"room1"`))
	c.SetReadDeadline(time.Time{})
	if err != nil {
		return err
	}
	if string(ack) != "[true]" {
		return fmt.Errorf("join: ack %q", ack)
	}
	return nil
}

func newRoom(ctx context.Context, t Target, receivers int) (*room, error) {
	rm := &room{t: t}
	var err error
	if rm.recv, err = connectMany(ctx, t, receivers, 50, DialOptions{}, nil); err != nil {
		return nil, err
	}
	if rm.sender, err = Dial(ctx, t.Addr, t.Path, DialOptions{}); err != nil {
		closeAll(rm.recv)
		return nil, err
	}
	all := append([]*Client{rm.sender}, rm.recv...)
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(all) {
					return
				}
				if err := joinRoom(all[i]); err != nil {
					first.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		rm.close()
		return nil, *e
	}
	for i, c := range rm.recv {
		rm.wg.Add(1)
		go func() {
			defer rm.wg.Done()
			rm.receive(i, c)
		}()
	}
	rm.wg.Add(1)
	go func() {
		defer rm.wg.Done()
		for {
			m, err := rm.sender.ReadMessage()
			if err != nil {
				return
			}
			if bytes.HasPrefix(m, msgPfx) {
				rm.selfGot.Add(1)
			}
		}
	}()
	return rm, nil
}

func (rm *room) receive(i int, c *Client) {
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return
		}
		t := now()
		if !bytes.HasPrefix(m, msgPfx) {
			continue
		}
		p := rm.cur.Load()
		if p == nil {
			continue
		}
		seq, ok1 := IntField(m, keySeq)
		sent, ok2 := IntField(m, keyT)
		if !ok1 || !ok2 {
			p.errs[i]++
			continue
		}
		if seq != p.next[i] {
			p.errs[i]++ // a gap, a duplicate or a reordering
		}
		p.next[i] = seq + 1
		p.count[i]++
		p.last[i] = t
		p.lat[i] = append(p.lat[i], t-sent)
		if p.count[i] == p.n {
			if p.remaining.Add(-1) == 0 {
				close(p.done)
			}
		}
	}
}

func (rm *room) close() {
	if rm.sender != nil {
		rm.sender.Close()
	}
	closeAll(rm.recv)
	rm.wg.Wait()
}

// phaseResult summarises a phase.
type phaseResult struct {
	deliveries int64
	rate       float64 // deliveries per second, first send to last delivery
	p50, p99   float64 // latency, ms
	max        float64
	complete   bool // every receiver got every message
	errs       int64
	srvCPU     float64 // µs per delivery
	lgCPU      float64
}

// run broadcasts n messages with pad bytes of padding, one every pace (0:
// back to back), and waits up to timeout for every receiver to have them.
func (rm *room) run(n int, pace time.Duration, pad int, timeout time.Duration) phaseResult {
	p := newPhase(len(rm.recv), int64(n))
	rm.cur.Store(p)
	padding := strings.Repeat("x", pad)
	buf := make([]byte, 0, 64+pad)
	arg := make([]byte, 0, 64+pad)
	m := startCPU(rm.t.PID)
	first := now()
	start := time.Now()
	for i := range n {
		if pace > 0 {
			if d := time.Until(start.Add(time.Duration(i) * pace)); d > 0 {
				time.Sleep(d)
			}
		}
		arg = append(arg[:0], `{"seq":`...)
		arg = strconv.AppendInt(arg, int64(i), 10)
		arg = append(arg, `,"t":`...)
		arg = strconv.AppendInt(arg, now(), 10)
		arg = append(arg, `,"p":"`...)
		arg = append(arg, padding...)
		arg = append(arg, `"}`...)
		var err error
		if buf, err = rm.sender.Emit(buf, -1, "bcast", arg); err != nil {
			break
		}
	}
	var res phaseResult
	select {
	case <-p.done:
		res.complete = true
	case <-time.After(timeout):
	}
	m.stop()
	rm.cur.Store(nil)
	time.Sleep(20 * time.Millisecond) // let receivers finish with p
	var all []int64
	lastT := first
	for i := range rm.recv {
		res.deliveries += p.count[i]
		res.errs += p.errs[i]
		lastT = max(lastT, p.last[i])
		all = append(all, p.lat[i]...)
	}
	slices.Sort(all)
	if d := lastT - first; d > 0 {
		res.rate = float64(res.deliveries) / (float64(d) / 1e9)
	}
	res.p50, res.p99, res.max = pct(all, 0.5)/ms, pct(all, 0.99)/ms, pct(all, 1)/ms
	res.srvCPU, res.lgCPU = m.perOp(float64(res.deliveries))
	return res
}

func (pr phaseResult) record(r *Result, prefix string, want int64) {
	r.set(prefix+".rate", pr.rate)
	r.set(prefix+".p50", pr.p50)
	r.set(prefix+".p99", pr.p99)
	r.set(prefix+".max", pr.max)
	r.set(prefix+".cpu", pr.srvCPU)
	r.set(prefix+".lgcpu", pr.lgCPU)
	ok := pr.complete && pr.errs == 0 && pr.deliveries == want
	r.set(prefix+".ok", b2f(ok))
	if !ok {
		r.notef("%s: %d/%d delivered, %d out of order or duplicated, complete=%v", prefix, pr.deliveries, want, pr.errs, pr.complete)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Broadcast measures fan-out to a room of receivers: n messages back to
// back (burst), then n messages one every pace (paced).
func Broadcast(ctx context.Context, t Target, receivers, n int, pace time.Duration) (*Result, error) {
	r := newResult()
	if err := t.WaitIdle(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	rm, err := newRoom(ctx, t, receivers)
	if err != nil {
		return nil, err
	}
	defer rm.close()
	want := int64(receivers) * int64(n)
	rm.run(50, 0, 40, 30*time.Second) // warm-up of this room
	rm.run(n, 0, 40, 60*time.Second).record(r, "burst", want)
	rm.run(n, pace, 40, 60*time.Second+time.Duration(n)*pace).record(r, "paced", want)
	if g := rm.selfGot.Load(); g > 0 {
		r.notef("the sender received %d of its own broadcasts", g)
		r.set("burst.ok", 0)
	}
	return r, nil
}

// SlowReader broadcasts continuously (rate messages/s for dur, pad bytes
// each) to a room of receivers, first as is, then with one more member
// that never reads. It reports the others' delivery rate and latency in
// both runs, then goes on broadcasting until the server drops the slow
// one (at most maxWait after it joined), and reports when and why.
func SlowReader(ctx context.Context, t Target, receivers, rate int, dur, maxWait time.Duration, pad int) (*Result, error) {
	r := newResult()
	if err := t.WaitIdle(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	rm, err := newRoom(ctx, t, receivers)
	if err != nil {
		return nil, err
	}
	defer rm.close()
	n := int(float64(rate) * dur.Seconds())
	pace := time.Second / time.Duration(rate)
	want := int64(receivers) * int64(n)
	timeout := dur + 30*time.Second

	base := rm.run(n, pace, pad, timeout)
	base.record(r, "slow.without", want)

	before, err := t.Stats(ctx)
	if err != nil {
		return nil, err
	}
	slow, err := Dial(ctx, t.Addr, t.Path, DialOptions{RecvBuf: 4096, MSS: 1460})
	if err != nil {
		return nil, err
	}
	defer slow.Close()
	if err := joinRoom(slow); err != nil {
		return nil, err
	}
	rss0, _ := RSS(t.PID)
	startWith := time.Now()
	with := rm.run(n, pace, pad, timeout)
	rss1, _ := RSS(t.PID)
	with.record(r, "slow.with", want)
	if base.rate > 0 {
		r.set("slow.rateratio", with.rate/base.rate)
	}
	r.set("slow.rssgrowth", float64(rss1-rss0)/(1<<20))

	// Go on at the same rate, a second at a time, until the server drops
	// the slow client or maxWait has passed since it joined. Before its
	// own queue fills, the kernel buffers what the client does not read
	// (the client's MSS keeps that to what a real network path allows).
	reasons := func() []string {
		after, err := t.Stats(ctx)
		if err != nil {
			return nil
		}
		var out []string
		for k, v := range after.Disconnects {
			if k == statsReason {
				continue
			}
			if d := v - before.Disconnects[k]; d > 0 {
				out = append(out, fmt.Sprintf("%s x%d", k, d))
			}
		}
		slices.Sort(out)
		return out
	}
	got := reasons()
	for len(got) == 0 && time.Since(startWith) < maxWait {
		rm.run(rate, pace, pad, timeout)
		got = reasons()
	}
	rss2, _ := RSS(t.PID)
	r.set("slow.rssgrowth", float64(rss2-rss0)/(1<<20))

	// A server that dropped the client closed the connection: what it
	// had buffered for it ends with a close frame or EOF.
	slow.SetReadDeadline(time.Now().Add(3 * time.Second))
	closed := false
	for {
		if _, err := slow.ReadMessage(); err != nil {
			var ne interface{ Timeout() bool }
			closed = !(errors.As(err, &ne) && ne.Timeout())
			break
		}
	}
	r.set("slow.dropped", b2f(closed && len(got) > 0))
	if len(got) > 0 {
		r.set("slow.droptime", time.Since(startWith).Seconds())
		r.notef("slow reader dropped by the server within %.0fs of joining, reason: %s", time.Since(startWith).Seconds(), strings.Join(got, ", "))
	} else {
		r.notef("slow reader not dropped by the server within %v of joining (connection closed: %v)", maxWait, closed)
	}
	return r, nil
}
