package socketio

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzServerPackets feeds arbitrary messages to a live, connected socket
// through the public Server, over WebSocket or polling: the server must not
// panic, must answer or close, and must stay healthy for everyone else.
//
// The input is a list of messages separated by "\n". A message that
// starts with "#" is a binary message of the bytes that follow; any other
// is a text Engine.IO packet as is ("42[...]", "3", "b<base64>"...).
func FuzzServerPackets(f *testing.F) {
	for _, seed := range []string{
		`42["echo",1]`,
		`421["echo",{"a":[1,2,{"b":null}]}]`,
		`4` + `51-["echo",{"_placeholder":true,"num":0}]` + "\n#\x01\x02",
		`4` + `52-["echo",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]` + "\n#a\n#b",
		`4` + `51-["echo",{"_placeholder":true,"num":"0"}]` + "\n#x",
		`4` + `511-["echo"]`,
		`4` + `5a-`,
		"#\x00\x01",
		`40/admin,{"token":1}` + "\n" + `42/admin,["echo"]`,
		`40/nope,`,
		`41`,
		`40`,
		`44{"message":"x"}`,
		`43999[]`,
		`4` + `3` + strings.Repeat("9", 25) + `[]`,
		`42` + strings.Repeat("[", 200) + strings.Repeat("]", 200),
		`42["connect"]`,
		`42["error"]`,
		`42[{"toString":"x"}]`,
		`42["echo","\ud800"]`,
		"42[\"echo\",\"\xff\"]",
		`2`, `3`, `5`, `6`, `1`, `0`, ``, "\x1e", `abc`,
		"bAQID",
		"b!!!",
		`42["echo"]` + "\n" + `42["echo"]` + "\n" + `41` + "\n" + `40`,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}

	srv := New(Config{PingInterval: time.Minute, PingTimeout: time.Minute, ConnectTimeout: time.Minute})
	srv.Of("/").OnEvent("echo", func(s *Socket, a Args, ack Ack) {
		if ack != nil {
			ack(a.Slice()...)
		}
	})
	srv.Of("/admin").OnEvent("echo", func(s *Socket, a Args, ack Ack) {})
	ts := httptest.NewServer(srv)
	rs := &rawServer{t: f, srv: srv, ts: ts, url: ts.URL + DefaultPath, hc: ts.Client(), reasons: map[string]chan string{}}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		srv.Shutdown(ctx)
		cancel()
		ts.CloseClientConnections()
		ts.Close()
		rs.hc.CloseIdleConnections()
	})
	// The healthy client is a WebSocket read only by check: no heartbeat
	// runs within a minute, and nothing is broadcast.
	healthy, err := rs.openWS("")
	if err != nil {
		f.Fatal(err)
	}
	connectOrFail := func(t testing.TB, c eioClient) {
		if err := c.SendText("40"); err != nil {
			t.Fatal(err)
		}
		fr, err := c.Next(5 * time.Second)
		if err != nil || !strings.HasPrefix(fr.text, `40{"sid":`) {
			t.Fatalf("CONNECT: %q, %v", fr.text, err)
		}
	}
	connectOrFail(f, healthy)
	checks := 0

	f.Fuzz(func(t *testing.T, input string, polling bool) {
		rs.t = t
		var c eioClient
		var err error
		if polling {
			c, err = rs.openPolling()
		} else {
			c, err = rs.openWS("")
		}
		if err != nil {
			t.Fatal(err)
		}
		connectOrFail(t, c)
		msgs := strings.Split(input, "\n")
		if polling {
			// One POST, as a client would batch them.
			recs := make([]string, len(msgs))
			for i, m := range msgs {
				if strings.HasPrefix(m, "#") {
					m = "b" + base64.StdEncoding.EncodeToString([]byte(m[1:]))
				}
				recs[i] = m
			}
			c.(*pollClient).Post(strings.Join(recs, "\x1e"))
		} else {
			for _, m := range msgs {
				if strings.HasPrefix(m, "#") {
					err = c.SendBinary([]byte(m[1:]))
				} else {
					err = c.SendText(m)
				}
				if err != nil {
					break
				}
			}
		}
		// The session either still works or was closed: ask it.
		const probe = `42987654321["echo","probe"]`
		if c.SendText(probe) == nil {
			for {
				// An error is the session closed, or a probe neither
				// answered nor refused; either way, closing must work below.
				fr, err := c.Next(2 * time.Second)
				if err != nil || fr.text == `43987654321["probe"]` {
					break
				}
			}
		}
		if polling {
			c.SendText("1")
		} else {
			c.Close()
		}
		deadline := time.Now().Add(5 * time.Second)
		for srv.ConnectionCount() != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections after the fuzzed one closed", srv.ConnectionCount())
			}
			time.Sleep(time.Millisecond)
		}
		// Everyone else is fine.
		checks++
		if err := healthy.SendText(fmt.Sprintf(`42%d["echo",%d]`, checks, checks)); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`43%d[%d]`, checks, checks)
		for {
			fr, err := healthy.Next(5 * time.Second)
			if err != nil {
				t.Fatalf("healthy client: %v", err)
			}
			if fr.text == want {
				break
			}
		}
	})
}
