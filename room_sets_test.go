package socketio

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// A room's members go from one socket held inline to a map and back, and
// the room reads the same either way.
func TestRoomMembers(t *testing.T) {
	a, b, c := &Socket{id: "a"}, &Socket{id: "b"}, &Socket{id: "c"}
	ids := func(m members) []string {
		var out []string
		for so := range m.all {
			out = append(out, so.id)
		}
		slices.Sort(out)
		return out
	}

	var m members
	require.Nil(t, ids(m))
	m.add(a)
	m.add(a)
	require.Nil(t, m.many, "one member needs no map")
	require.Equal(t, []string{"a"}, ids(m))
	require.Same(t, a, m.get("a"))
	require.Nil(t, m.get("b"))
	require.False(t, m.del("b"), "not a member")

	m.add(b)
	m.add(c)
	require.NotNil(t, m.many)
	require.Equal(t, []string{"a", "b", "c"}, ids(m))
	require.Same(t, c, m.get("c"))

	require.False(t, m.del("a"))
	require.False(t, m.del("a"))
	require.Equal(t, []string{"b", "c"}, ids(m))
	require.False(t, m.del("c"))
	require.Nil(t, m.many, "down to one member: the map goes")
	require.Equal(t, []string{"b"}, ids(m))
	require.True(t, m.del("b"))
	require.Nil(t, ids(m))

	// all stops when asked to.
	m.add(a)
	m.add(b)
	n := 0
	for range m.all {
		n++
		break
	}
	require.Equal(t, 1, n)
}

// The in-memory adapter's two maps stay consistent through joins, leaves
// and disconnections, and forget a socket entirely once it is gone.
func TestMemoryAdapterRooms(t *testing.T) {
	srv := New(Config{})
	ns := srv.Of("/")
	a := ns.adapter.(*memoryAdapter)
	socks := map[string]*Socket{}
	for _, id := range []string{"s1", "s2", "s3"} {
		so := &Socket{id: id, ns: ns}
		socks[id] = so
		ns.mu.Lock()
		ns.sockets[id] = so
		ns.mu.Unlock()
		a.AddAll(id, []string{id})
	}
	sorted := func(s []string) []string { slices.Sort(s); return s }

	a.AddAll("s1", []string{"r", "q", "r"})
	a.AddAll("s2", []string{"r"})
	require.Equal(t, []string{"q", "r", "s1"}, sorted(a.Rooms("s1")))
	require.Equal(t, []string{"s1", "s2"}, sorted(a.Sockets(BroadcastOptions{Rooms: []string{"r"}})))
	require.Equal(t, []string{"s1", "s2", "s3"}, sorted(a.Sockets(BroadcastOptions{})))
	require.Equal(t, []string{"s2", "s3"}, sorted(a.Sockets(BroadcastOptions{Except: []string{"q"}})))
	require.Equal(t, []string{"s1", "s2"}, sorted(a.Sockets(BroadcastOptions{Rooms: []string{"r", "q", "s1"}})))

	a.Del("s1", "r")
	a.Del("s1", "nowhere")
	a.Del("nobody", "r")
	require.Equal(t, []string{"q", "s1"}, sorted(a.Rooms("s1")))
	require.Equal(t, []string{"s2"}, a.Sockets(BroadcastOptions{Rooms: []string{"r"}}))

	// A socket that leaves its own room is not in a broadcast to all.
	a.Del("s3", "s3")
	require.Empty(t, a.Rooms("s3"))
	require.Equal(t, []string{"s1", "s2"}, sorted(a.Sockets(BroadcastOptions{})))

	for id := range socks {
		a.DelAll(id)
	}
	require.Empty(t, a.rooms)
	require.Empty(t, a.sids)
}
