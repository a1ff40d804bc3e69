package siotest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
	"github.com/wirekit/socketio/siotest"
)

var (
	Hello    = socketio.NewEvent[string]("hello")
	Greeting = socketio.NewEvent[string]("greeting")
)

// newGreeter is the code under test: it greets whoever says hello, and
// wants a name to let anyone in.
func newGreeter() *socketio.Server {
	srv := socketio.New(socketio.Config{})
	ns := srv.Of("/")
	ns.Use(func(s *socketio.Socket) error {
		var auth struct{ Name string }
		if s.DecodeAuth(&auth); auth.Name == "" {
			return &socketio.ConnectError{Message: "who are you?"}
		}
		return nil
	})
	socketio.On(ns, Hello, func(s *socketio.Socket, name string) {
		socketio.Emit(s, Greeting, "hello, "+name)
	})
	return srv
}

// A handler's test, as it reads in a TestGreeting(t *testing.T): serve,
// dial, emit, wait for the answer. Everything is closed by t.Cleanup.
func Example() {
	t := newT() // in a test: the *testing.T
	defer t.cleanup()

	ts := siotest.NewServer(t, newGreeter())
	sock := ts.Dial(t, siotest.DialOptions{Auth: map[string]string{"name": "ann"}})
	client.Emit(sock, Hello, "ann")
	fmt.Println(siotest.Next(t, sock, Greeting, time.Second))
	siotest.NoEvent(t, sock, Greeting, 10*time.Millisecond)
	// Output: hello, ann
}

// NewSocket gives a socket that is not connected yet, to see a
// middleware's refusal.
func ExampleServer_NewSocket() {
	t := newT() // in a test: the *testing.T
	defer t.cleanup()

	ts := siotest.NewServer(t, newGreeter())
	err := ts.NewSocket(t).Connect(context.Background(), nil)
	var refused *client.ConnectError
	fmt.Println(errors.As(err, &refused), refused.Message)
	// Output: true who are you?
}

// exampleT stands in for the *testing.T that a test has and an example
// does not.
type exampleT struct{ cleanups []func() }

func newT() *exampleT                               { return &exampleT{} }
func (*exampleT) Helper()                           {}
func (t *exampleT) Cleanup(f func())                { t.cleanups = append(t.cleanups, f) }
func (*exampleT) Errorf(format string, args ...any) { fmt.Printf("error: "+format+"\n", args...) }
func (*exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
