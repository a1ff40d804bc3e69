package client

import "sync"

// serial runs jobs one at a time, in order, on a goroutine that exists only
// while there is work, never the connection's reader: a handler may block,
// even on EmitWithAck, without stopping the delivery of acknowledgements.
type serial struct {
	mu      sync.Mutex
	jobs    []func()
	running bool
	room    chan struct{} // capacity 1: a pushWait waits for room
}

// push queues f; it never blocks.
func (q *serial) push(f func()) {
	q.mu.Lock()
	q.jobs = append(q.jobs, f)
	if !q.running {
		q.running = true
		go q.run()
	}
	q.mu.Unlock()
}

// pushWait queues f, first waiting while limit jobs are queued (TCP
// back-pressure on a server that sends faster than the handlers run);
// when done closes first, f is dropped.
func (q *serial) pushWait(f func(), limit int, done <-chan struct{}) {
	q.mu.Lock()
	for len(q.jobs) >= limit {
		if q.room == nil {
			q.room = make(chan struct{}, 1)
		}
		room := q.room
		q.mu.Unlock()
		select {
		case <-room:
		case <-done:
			return
		}
		q.mu.Lock()
	}
	q.mu.Unlock()
	q.push(f)
}

func (q *serial) run() {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			q.jobs = nil
			q.mu.Unlock()
			return
		}
		f := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		if q.room != nil {
			select {
			case q.room <- struct{}{}:
			default:
			}
		}
		q.mu.Unlock()
		f()
	}
}
