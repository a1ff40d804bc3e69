package engineio

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandshakePolling(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   1000000,
	}, nil)
	res := s.mustDo("GET", "EIO=4&transport=polling", "", nil)
	require.Equal(t, 200, res.status)
	require.Equal(t, "text/plain; charset=UTF-8", res.header.Get("Content-Type"))
	op := parseOpen(t, res.body)
	assert.Equal(t, []string{"websocket"}, op.Upgrades)
	assert.EqualValues(t, 300, op.PingInterval)
	assert.EqualValues(t, 200, op.PingTimeout)
	assert.EqualValues(t, 1000000, op.MaxPayload)
	assert.GreaterOrEqual(t, len(op.SID), 20)
	// Exact bytes: key order as the reference server writes it.
	assert.Equal(t, `0{"sid":"`+op.SID+`","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`, res.body)

	sess := s.srv.Session(op.SID)
	require.NotNil(t, sess)
	assert.Equal(t, Polling, sess.Transport())
	assert.Equal(t, 1, s.srv.Count())

	// Session ids are unique.
	op2 := s.handshake().open
	assert.NotEqual(t, op.SID, op2.SID)
}

// No polling response may be cached by a proxy or the browser: each is one
// exchange of a session.
func TestPollingNoStore(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, fastConfig(), nil)
	res := s.mustDo("GET", "EIO=4&transport=polling", "", nil)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"), "handshake")
	sid := parseOpen(t, res.body).SID
	q := "EIO=4&transport=polling&sid=" + sid
	res = s.mustDo("POST", q, "4hi", nil)
	require.Equal(t, 200, res.status)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"), "POST")
	res = s.mustDo("GET", q, "", nil)
	require.Equal(t, 200, res.status)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"), "GET")
}

func TestHandshakeDefaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{}, nil)
	op := s.handshake().open
	assert.EqualValues(t, 25000, op.PingInterval)
	assert.EqualValues(t, 20000, op.PingTimeout)
	assert.EqualValues(t, 1000000, op.MaxPayload)
	c := s.srv.Config()
	assert.Equal(t, DefaultUpgradeTimeout, c.UpgradeTimeout)
	assert.EqualValues(t, DefaultMaxBufferedBytes, c.MaxBufferedBytes)
}

func TestHandshakeWebSocket(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, fastConfig(), nil)
	c, op := s.openWS()
	assert.Equal(t, []string{}, op.Upgrades)
	assert.EqualValues(t, 200, op.PingInterval)
	sess := s.srv.Session(op.SID)
	require.NotNil(t, sess)
	assert.Equal(t, WebSocket, sess.Transport())
	c.mustSend("4hello")
	assert.Equal(t, "4hello", c.readText(time.Second))
}

func TestHandshakeNoUpgradesWhenWebSocketDisabled(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.DisableWebSocket = true
	s := newTestServer(t, cfg, nil)
	assert.Equal(t, []string{}, s.handshake().open.Upgrades)
	_, status, err := s.dialWS("EIO=4&transport=websocket", testOrigin)
	require.Error(t, err)
	assert.Equal(t, 400, status)
}

func TestHandshakePollingDisabled(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.DisablePolling = true
	s := newTestServer(t, cfg, nil)
	requireError(t, s.mustDo("GET", "EIO=4&transport=polling", "", nil), 400, codeTransportUnknown)
	s.openWS()
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	s.requireErrors(t, []errorCase{
		{"no EIO", "GET", "transport=polling", 400, codeUnsupportedVersion},
		{"EIO 3", "GET", "EIO=3&transport=polling", 400, codeUnsupportedVersion},
		{"EIO 5", "GET", "EIO=5&transport=polling", 400, codeUnsupportedVersion},
		{"EIO empty", "GET", "EIO=&transport=polling", 400, codeUnsupportedVersion},
		{"EIO 04", "GET", "EIO=04&transport=polling", 400, codeUnsupportedVersion},
		{"no transport", "GET", "EIO=4", 400, codeTransportUnknown},
		{"empty transport", "GET", "EIO=4&transport=", 400, codeTransportUnknown},
		{"unknown transport", "GET", "EIO=4&transport=flash", 400, codeTransportUnknown},
		{"__proto__", "GET", "EIO=4&transport=__proto__", 400, codeTransportUnknown},
		{"constructor", "GET", "EIO=4&transport=constructor", 400, codeTransportUnknown},
		{"case", "GET", "EIO=4&transport=Polling", 400, codeTransportUnknown},
		{"__proto__ with sid", "GET", "EIO=4&transport=__proto__&sid=" + c.sid, 400, codeTransportUnknown},
		{"POST handshake", "POST", "EIO=4&transport=polling", 400, codeBadHandshakeMethod},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", 400, codeBadHandshakeMethod},
		{"DELETE handshake", "DELETE", "EIO=4&transport=polling", 400, codeBadHandshakeMethod},
		{"unknown sid GET", "GET", "EIO=4&transport=polling&sid=nope", 400, codeUnknownSID},
		{"unknown sid POST", "POST", "EIO=4&transport=polling&sid=nope", 400, codeUnknownSID},
		{"sid __proto__", "GET", "EIO=4&transport=polling&sid=__proto__", 400, codeUnknownSID},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", 400, codeBadRequest},
		{"websocket sid without upgrade", "GET", "EIO=4&transport=websocket&sid=" + c.sid, 400, codeBadRequest},
		{"PUT with sid", "PUT", "EIO=4&transport=polling&sid=" + c.sid, 400, codeBadRequest},
	})
	// None of that touched the open session.
	assert.Equal(t, 1, s.srv.Count())
	c.mustPost("4still")
	assert.Equal(t, []string{"4still"}, c.getPackets(false))
}

func TestErrorCodesWebSocket(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	for _, q := range []string{
		"transport=websocket",
		"EIO=3&transport=websocket",
		"EIO=4",
		"EIO=4&transport=__proto__",
		"EIO=4&transport=websocket&sid=unknown",
	} {
		_, status, err := s.dialWS(q, testOrigin)
		require.Error(t, err, q)
		assert.Equal(t, 400, status, q)
	}
	assert.Equal(t, 0, s.srv.Count())
}

func TestCheckOrigin(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.CheckOrigin = func(r *http.Request) bool { return r.Header.Get("Origin") == "https://good.example" }
	s := newTestServer(t, cfg, nil)

	// Polling handshake.
	res := s.mustDo("GET", "EIO=4&transport=polling", "", map[string]string{"Origin": "https://evil.example"})
	requireError(t, res, 403, codeForbidden)
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))

	// A good origin passes and gets CORS headers.
	res = s.mustDo("GET", "EIO=4&transport=polling", "", map[string]string{"Origin": "https://good.example"})
	require.Equal(t, 200, res.status)
	assert.Equal(t, "https://good.example", res.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))
	op := parseOpen(t, res.body)

	// Requests on an existing session from a bad origin: refused, and the
	// session is not touched.
	c := &pollClient{s: s, t: t, sid: op.SID}
	res = s.mustDo("POST", c.query(), "1", map[string]string{"Origin": "https://evil.example"})
	requireError(t, res, 403, codeForbidden)
	assert.NotNil(t, s.srv.Session(op.SID))

	// WebSocket handshake, and WebSocket upgrade of the good session.
	_, status, err := s.dialWS("EIO=4&transport=websocket", "https://evil.example")
	require.Error(t, err)
	assert.Equal(t, 403, status)
	_, status, err = s.dialWS(c.query()[:len("EIO=4&transport=")]+"websocket&sid="+op.SID, "https://evil.example")
	require.Error(t, err)
	assert.Equal(t, 403, status)
	ws, _, err := s.dialWS("EIO=4&transport=websocket", "https://good.example")
	require.NoError(t, err)
	ws.read(time.Second)

	// No Origin header at all (non-browser clients): allowed.
	res = s.mustDo("GET", "EIO=4&transport=polling", "", nil)
	require.Equal(t, 200, res.status)
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))
}

func TestAllowRequest(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.AllowRequest = func(r *http.Request) error {
		if r.URL.Query().Get("token") != "secret" {
			return errors.New("no token, no entry")
		}
		return nil
	}
	s := newTestServer(t, cfg, nil)
	res := s.mustDo("GET", "EIO=4&transport=polling", "", nil)
	requireError(t, res, 403, codeForbidden)
	assert.JSONEq(t, `{"code":4,"message":"no token, no entry"}`, res.body)

	_, status, err := s.dialWS("EIO=4&transport=websocket", testOrigin)
	require.Error(t, err)
	assert.Equal(t, 403, status)
	assert.Equal(t, 0, s.srv.Count())
	assert.EqualValues(t, 0, s.rec.opens.Load())

	res = s.mustDo("GET", "EIO=4&transport=polling&token=secret", "", nil)
	require.Equal(t, 200, res.status)
	op := parseOpen(t, res.body)
	// Only the handshake is checked: later requests of the session carry
	// no token.
	c := &pollClient{s: s, t: t, sid: op.SID}
	c.mustPost("4hi")
	ws, _, err := s.dialWS("EIO=4&transport=websocket&token=secret", testOrigin)
	require.NoError(t, err)
	ws.read(time.Second)
}

func TestCORS(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	// Preflight.
	res := s.mustDo("OPTIONS", "EIO=4&transport=polling", "", map[string]string{
		"Origin":                         "https://app.example",
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "content-type, x-custom",
	})
	assert.Equal(t, 204, res.status)
	assert.Equal(t, "https://app.example", res.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, res.header.Get("Access-Control-Allow-Methods"), "POST")
	assert.Contains(t, res.header.Get("Access-Control-Allow-Methods"), "GET")
	assert.Equal(t, "content-type, x-custom", res.header.Get("Access-Control-Allow-Headers"))
	assert.Contains(t, res.header.Values("Vary"), "Origin")
	assert.Empty(t, res.body)
	assert.Equal(t, 0, s.srv.Count())

	// Every response to a cross-origin request carries the headers,
	// errors included.
	hdr := map[string]string{"Origin": "https://app.example"}
	res = s.mustDo("GET", "EIO=4&transport=polling", "", hdr)
	require.Equal(t, 200, res.status)
	assert.Equal(t, "https://app.example", res.header.Get("Access-Control-Allow-Origin"))
	op := parseOpen(t, res.body)
	res = s.mustDo("POST", "EIO=4&transport=polling&sid="+op.SID, "4x", hdr)
	require.Equal(t, 200, res.status)
	assert.Equal(t, "https://app.example", res.header.Get("Access-Control-Allow-Origin"))
	res = s.mustDo("GET", "EIO=3&transport=polling", "", hdr)
	requireError(t, res, 400, codeUnsupportedVersion)
	assert.Equal(t, "https://app.example", res.header.Get("Access-Control-Allow-Origin"))

	// Preflight from a refused origin: 403.
	cfg := quietConfig()
	cfg.CheckOrigin = func(*http.Request) bool { return false }
	s2 := newTestServer(t, cfg, nil)
	res = s2.mustDo("OPTIONS", "EIO=4&transport=polling", "", hdr)
	requireError(t, res, 403, codeForbidden)
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))
}

func TestCORSOrigin(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.CORSOrigin = func(r *http.Request) (string, bool) { return "*", false }
	s := newTestServer(t, cfg, nil)
	res := s.mustDo("GET", "EIO=4&transport=polling", "", map[string]string{"Origin": "https://any.example"})
	require.Equal(t, 200, res.status)
	assert.Equal(t, "*", res.header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, res.header.Get("Access-Control-Allow-Credentials"))
	res = s.mustDo("OPTIONS", "EIO=4&transport=polling", "", map[string]string{"Origin": "https://any.example"})
	assert.Equal(t, 204, res.status)
	assert.Equal(t, "*", res.header.Get("Access-Control-Allow-Origin"))
}

// A request wrong in several ways gets the error code the reference server
// gives it: the transport is checked first, then the session, and the
// protocol version of a handshake last (after its method and AllowRequest);
// a request for an open session with another version is a bad request, and
// leaves the session alone.
func TestErrorCodeOrder(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.AllowRequest = func(r *http.Request) error {
		if r.URL.Query().Get("deny") != "" {
			return errors.New("denied")
		}
		return nil
	}
	s := newTestServer(t, cfg, nil)
	c := s.handshake()
	s.requireErrors(t, []errorCase{
		{"EIO 3, unknown transport", "GET", "EIO=3&transport=flash", 400, codeTransportUnknown},
		{"no EIO, no transport", "GET", "", 400, codeTransportUnknown},
		{"EIO 3, POST handshake", "POST", "EIO=3&transport=polling", 400, codeBadHandshakeMethod},
		{"EIO 3, websocket without upgrade", "GET", "EIO=3&transport=websocket", 400, codeBadRequest},
		{"EIO 3, refused", "GET", "EIO=3&transport=polling&deny=1", 403, codeForbidden},
		{"EIO 3, unknown sid", "GET", "EIO=3&transport=polling&sid=nope", 400, codeUnknownSID},
		{"EIO 3, open session", "GET", "EIO=3&transport=polling&sid=" + c.sid, 400, codeBadRequest},
		{"no EIO, open session", "POST", "transport=polling&sid=" + c.sid, 400, codeBadRequest},
	})
	assert.Equal(t, 1, s.srv.Count())
	c.mustPost("4still")
	assert.Equal(t, []string{"4still"}, c.getPackets(false))
	assert.Equal(t, []string{"still"}, s.rec.messages(c.sid))
}

// errorCase is a request and the Engine.IO error it must get.
type errorCase struct {
	name, method, query string
	status, code        int
}

// requireErrors sends each case's request (with a body unless a GET), as
// a subtest, and requires its error.
func (s *testServer) requireErrors(t *testing.T, cases []errorCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			body := ""
			if tc.method != "GET" {
				body = "4x"
			}
			requireError(t, s.mustDo(tc.method, tc.query, body, nil), tc.status, tc.code)
		})
	}
}
