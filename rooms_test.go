package socketio_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// member is a client of the rooms tests: it records the notes it gets.
type member struct {
	name string
	s    *client.Socket
	got  chan note
}

// roomsRig serves a namespace where clients join rooms with reqRooms, and
// where "shout" [room...] sends a note from the sender to those rooms
// (s.To: not back to the sender), "leave" leaves a room.
func roomsRig(t *testing.T, names ...string) (*rig, []*member) {
	r := newRig(t, socketio.Config{})
	ns := r.srv.Of("/")
	socketio.Handle(ns, reqRooms, func(ctx context.Context, s *socketio.Socket, rooms []string) ([]string, error) {
		if err := s.Join(rooms...); err != nil {
			return nil, err
		}
		all := s.Rooms()
		slices.Sort(all)
		return all, nil
	})
	ns.OnEvent("leave", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var room string
		args.Decode(0, &room)
		s.Leave(room)
		ack()
	})
	ns.OnEvent("shout", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var rooms []string
		args.Decode(0, &rooms)
		socketio.Emit(s.To(rooms...), evNote, note{From: s.ID(), Text: "shout"})
		ack()
	})
	var ms []*member
	for _, name := range names {
		m := &member{name: name, got: make(chan note, 16)}
		m.s = r.socket(t, "/", nil, func(s *client.Socket) {
			client.On(s, evNote, func(n note) { m.got <- n })
		})
		ms = append(ms, m)
	}
	return r, ms
}

// join makes m join rooms and returns all its rooms, its own included.
func (m *member) join(t *testing.T, rooms ...string) []string {
	t.Helper()
	all, err := client.EmitWithAck(ctx(t), m.s, reqRooms, rooms)
	require.NoError(t, err)
	return all
}

// delivered broadcasts a sentinel to the whole namespace after whatever
// was sent before, and returns, for each member, the texts it received
// before the sentinel: exactly what reached it, since each connection
// keeps the order.
func delivered(t *testing.T, r *rig, ms []*member) map[string][]string {
	t.Helper()
	require.NoError(t, socketio.Emit(r.srv.Of("/"), evNote, note{Text: "sentinel"}))
	out := make(map[string][]string)
	for _, m := range ms {
		out[m.name] = []string{}
		for {
			n := wait(t, m.got, m.name+"'s notes")
			if n.Text == "sentinel" {
				break
			}
			out[m.name] = append(out[m.name], n.Text)
		}
	}
	return out
}

func TestRooms(t *testing.T) {
	t.Parallel()
	r, ms := roomsRig(t, "a", "b", "c")
	a, b, c := ms[0], ms[1], ms[2]
	ns := r.srv.Of("/")

	assert.Equal(t, sorted(a.s.ID(), "red"), a.join(t, "red"))
	assert.Equal(t, sorted(b.s.ID(), "blue", "red"), b.join(t, "red", "blue"))
	assert.Equal(t, sorted(c.s.ID(), "blue"), c.join(t, "blue"))
	assert.Equal(t, sorted(a.s.ID(), "red"), a.join(t), "joining nothing changes nothing")
	assert.Equal(t, sorted(a.s.ID(), "red"), a.join(t, "red"), "joining twice is joining once")

	require.NoError(t, socketio.Emit(ns.To("red"), evNote, note{Text: "to red"}))
	require.NoError(t, socketio.Emit(ns.To("blue"), evNote, note{Text: "to blue"}))
	require.NoError(t, socketio.Emit(ns.To("red", "blue"), evNote, note{Text: "to red or blue"}))
	require.NoError(t, socketio.Emit(ns.Except("red"), evNote, note{Text: "except red"}))
	require.NoError(t, socketio.Emit(ns.To("blue").Except("red"), evNote, note{Text: "blue except red"}))
	require.NoError(t, socketio.Emit(ns.To(c.s.ID()), evNote, note{Text: "to c's own room"}))
	require.NoError(t, socketio.Emit(ns.To("green"), evNote, note{Text: "to an empty room"}))
	assert.Equal(t, map[string][]string{
		"a": {"to red", "to red or blue"},
		"b": {"to red", "to blue", "to red or blue"}, // in both: one copy
		"c": {"to blue", "to red or blue", "except red", "blue except red", "to c's own room"},
	}, delivered(t, r, ms))

	// s.To reaches the rooms but not the sender.
	_, err := b.s.EmitWithAck(ctx(t), "shout", []string{"red", "blue"})
	require.NoError(t, err)
	got := delivered(t, r, ms)
	assert.Equal(t, map[string][]string{"a": {"shout"}, "b": {}, "c": {"shout"}}, got)

	// Rooms as the server sees them; leaving.
	assert.ElementsMatch(t, []string{b.s.ID(), "red", "blue"}, r.serverSocket(t, b.s).Rooms())
	_, err = b.s.EmitWithAck(ctx(t), "leave", "red")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{b.s.ID(), "blue"}, r.serverSocket(t, b.s).Rooms())
	require.NoError(t, socketio.Emit(ns.To("red"), evNote, note{Text: "to red"}))
	assert.Equal(t, map[string][]string{"a": {"to red"}, "b": {}, "c": {}}, delivered(t, r, ms))

	// A socket that disconnects leaves its rooms.
	aID := a.s.ID()
	a.s.Disconnect()
	require.Eventually(t, func() bool { return ns.Socket(aID) == nil }, 5*time.Second, time.Millisecond)
	assert.Empty(t, ns.To("red").Sockets())
	assert.Empty(t, ns.To(aID).Sockets())
	require.NoError(t, socketio.Emit(ns.To("red", "blue"), evNote, note{Text: "after a left"}))
	assert.Equal(t, map[string][]string{"b": {"after a left"}, "c": {"after a left"}}, delivered(t, r, ms[1:]))
}

func TestRoomsSelectionSockets(t *testing.T) {
	t.Parallel()
	r, ms := roomsRig(t, "a", "b", "c")
	ms[0].join(t, "x")
	ms[1].join(t, "x", "y")
	ms[2].join(t, "y")
	ids := func(b socketio.BroadcastOperator) []string {
		var out []string
		for _, so := range b.Sockets() {
			out = append(out, so.ID())
		}
		slices.Sort(out)
		return out
	}
	ns := r.srv.Of("/")
	assert.Equal(t, sorted(ms[0].s.ID(), ms[1].s.ID()), ids(ns.To("x")))
	assert.Equal(t, sorted(ms[0].s.ID(), ms[1].s.ID(), ms[2].s.ID()), ids(ns.To("x", "y")))
	assert.Equal(t, sorted(ms[2].s.ID()), ids(ns.To("y").Except("x")))
	assert.Equal(t, sorted(ms[0].s.ID(), ms[2].s.ID()), ids(ns.Except(ms[1].s.ID())))

	// SocketsJoin / SocketsLeave act on a selection.
	ns.To("y").SocketsJoin("z")
	assert.Equal(t, sorted(ms[1].s.ID(), ms[2].s.ID()), ids(ns.To("z")))
	ns.To("x").SocketsLeave("z")
	assert.Equal(t, sorted(ms[2].s.ID()), ids(ns.To("z")))
}

func TestTooManyRooms(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{MaxRoomsPerSocket: 3})
	socketio.Handle(r.srv.Of("/"), reqRooms, func(ctx context.Context, s *socketio.Socket, rooms []string) ([]string, error) {
		return nil, s.Join(rooms...)
	})
	s := r.socket(t, "/", nil, nil)
	_, err := client.EmitWithAck(ctx(t), s, reqRooms, []string{"a", "b"}) // with its own: 3
	require.NoError(t, err)
	_, err = client.EmitWithAck(ctx(t), s, reqRooms, []string{"a"})
	require.NoError(t, err, "rooms already joined do not count")
	_, err = client.EmitWithAck(ctx(t), s, reqRooms, []string{"c"})
	var re *socketio.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, socketio.ErrTooManyRooms.Error(), re.Message)
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
