package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

type Message struct {
	User string `json:"user"`
	Text string `json:"text"`
}

// Chat is declared once, with its payload type, and used by the server and
// by Go clients alike.
var Chat = socketio.NewEvent[Message]("chat")

// serve runs srv on a loopback port until the returned func is called.
// In a test, siotest.NewServer does this.
func serve(srv *socketio.Server) (url string, stop func()) {
	ts := httptest.NewServer(srv)
	return ts.URL, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ts.Close()
	}
}

// A server that shouts back every chat message to everyone, and a Go client
// that talks to it.
func Example() {
	srv := socketio.New(socketio.Config{})
	ns := srv.Of("/")
	socketio.On(ns, Chat, func(s *socketio.Socket, m Message) {
		m.Text = strings.ToUpper(m.Text)
		socketio.Emit(ns, Chat, m) // to every socket of the namespace
	})
	url, stop := serve(srv) // in an application: http.Handle("/socket.io/", srv)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sock, err := client.Connect(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sock.Disconnect()
	got := make(chan Message, 1)
	client.On(sock, Chat, func(m Message) { got <- m })

	client.Emit(sock, Chat, Message{User: "ann", Text: "hello"})
	fmt.Printf("%+v\n", <-got)
	// Output: {User:ann Text:HELLO}
}

type Sum struct {
	A, B int
}

// Add is a request: its reply travels in the client's acknowledgement.
var Add = socketio.NewRequest[Sum, int]("add")

// Handle answers a client's request; an error becomes a *RemoteError for a
// Go client, {error: message} for a JavaScript one.
func ExampleHandle() {
	srv := socketio.New(socketio.Config{})
	socketio.Handle(srv.Of("/"), Add, func(ctx context.Context, s *socketio.Socket, r Sum) (int, error) {
		if r.A < 0 || r.B < 0 {
			return 0, errors.New("only natural numbers")
		}
		return r.A + r.B, nil
	})
	url, stop := serve(srv)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sock, err := client.Connect(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sock.Disconnect()

	fmt.Println(client.EmitWithAck(ctx, sock, Add, Sum{A: 2, B: 3}))
	_, err = client.EmitWithAck(ctx, sock, Add, Sum{A: -1, B: 3})
	var remote *socketio.RemoteError
	fmt.Println(errors.As(err, &remote), remote.Message)
	// Output:
	// 5 <nil>
	// true only natural numbers
}

// Question is asked by the server; the client's acknowledgement is the
// answer.
var Question = socketio.NewRequest[string, string]("question")

// The server asks a newly connected client a question and waits for the
// answer. A handler may block on EmitWithAck: only that socket's next
// events wait.
func ExampleEmitWithAck() {
	srv := socketio.New(socketio.Config{})
	answers := make(chan string, 1)
	srv.Of("/").OnConnect(func(s *socketio.Socket) {
		ctx, cancel := context.WithTimeout(s.Context(), 5*time.Second)
		defer cancel()
		answer, err := socketio.EmitWithAck(ctx, s, Question, "what is your name?")
		if err != nil {
			answer = err.Error() // errors.Is(err, socketio.ErrAckTimeout) if it took too long
		}
		answers <- answer
	})
	url, stop := serve(srv)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	sock := conn.Of("/")
	// Registered before connecting: the question comes right away.
	client.Handle(sock, Question, func(ctx context.Context, q string) (string, error) {
		return "ann", nil
	})
	if err := sock.Connect(ctx, nil); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-answers)
	// Output: ann
}

// Topic asks to follow a topic; News is what followers get.
var (
	Follow = socketio.NewRequest[string, bool]("follow")
	News   = socketio.NewEvent[string]("news")
)

// Rooms: sockets join them, broadcasts select them.
func ExampleNamespace_To() {
	srv := socketio.New(socketio.Config{})
	ns := srv.Of("/")
	socketio.Handle(ns, Follow, func(ctx context.Context, s *socketio.Socket, topic string) (bool, error) {
		return true, s.Join("topic:" + topic)
	})
	url, stop := serve(srv)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan string, 10)
	follow := func(name, topic string) *client.Socket {
		sock, err := client.Connect(ctx, url, nil)
		if err != nil {
			panic(err)
		}
		client.On(sock, News, func(n string) { got <- name + " got " + n })
		client.EmitWithAck(ctx, sock, Follow, topic)
		return sock
	}
	defer follow("ann", "go").Disconnect()
	defer follow("bob", "rust").Disconnect()

	socketio.Emit(ns.To("topic:go"), News, "Go 1.26 is out")
	socketio.Emit(ns.To("topic:rust"), News, "Rust 1.95 is out")
	socketio.Emit(ns.To("topic:go", "topic:rust"), News, "a new compiler paper") // once to a socket in both
	socketio.Emit(ns.Except("topic:go"), News, "not for gophers")

	var lines []string
	for range 5 {
		lines = append(lines, <-got)
	}
	slices.Sort(lines) // ann's and bob's arrive in parallel
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// ann got Go 1.26 is out
	// ann got a new compiler paper
	// bob got Rust 1.95 is out
	// bob got a new compiler paper
	// bob got not for gophers
}

// A namespace middleware refuses a connection with a *ConnectError; the
// client's connect_error gets its message and data.
func ExampleConnectError() {
	srv := socketio.New(socketio.Config{})
	srv.Of("/").Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		if err := s.DecodeAuth(&auth); err != nil || auth.Token != "let-me-in" {
			return &socketio.ConnectError{
				Message: "unauthorized",
				Data:    map[string]string{"reason": "bad token"},
			}
		}
		return nil
	})
	url, stop := serve(srv)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.Connect(ctx, url, &client.Options{Auth: map[string]string{"token": "guess"}})
	var refused *client.ConnectError
	if errors.As(err, &refused) {
		fmt.Println(refused.Message, string(refused.Data))
	}

	sock, err := client.Connect(ctx, url, &client.Options{Auth: map[string]string{"token": "let-me-in"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sock.Disconnect()
	fmt.Println("connected:", sock.Connected())
	// Output:
	// unauthorized {"reason":"bad token"}
	// connected: true
}

// Handler wraps an existing application: requests for Config.Path go to
// the Socket.IO server, everything else to the application.
func ExampleServer_Handler() {
	app := http.NewServeMux()
	app.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the app")
	})
	srv := socketio.New(socketio.Config{})
	ts := httptest.NewServer(srv.Handler(app)) // or app.Handle("/socket.io/", srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	resp, err := ts.Client().Get(ts.URL + "/hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sock, err := client.Connect(ctx, ts.URL, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sock.Disconnect()
	fmt.Println("socket.io connected:", sock.Connected())
	// Output:
	// hello from the app
	// socket.io connected: true
}
