package socketio

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Odd Origin values ("null", invalid characters, bytes that are not
// ASCII, a list) get the same answer on both transports, with the default
// policy and with AllowedOrigins, and never a CORS header naming an origin
// that was not allowed.
func TestOriginOddValues(t *testing.T) {
	odd := []string{"null", "NULL", "http://a b", "http://\xc3\xbc.example", "http://[::1", "%", "*",
		"http://app.example, http://evil.example", "http://app.example\x00", "http://app.example\x7f"}
	for _, tc := range []struct {
		name    string
		allowed []string
		ok      map[string]string // origin -> Access-Control-Allow-Origin
	}{
		{"default", nil, nil},
		{"list", []string{"http://app.example", "null"}, map[string]string{"null": "null", "NULL": "NULL"}},
		{"wildcard", []string{"*"}, map[string]string{
			"null": "*", "NULL": "*", "http://a b": "*", "http://\xc3\xbc.example": "*", "http://[::1": "*", "%": "*", "*": "*",
			"http://app.example, http://evil.example": "*",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := newRawServer(t, Config{AllowedOrigins: tc.allowed}, nil)
			host := rs.ts.Listener.Addr().String()
			for _, o := range odd {
				res, err := rs.rawHTTP("GET "+DefaultPath+"?EIO=4&transport=polling HTTP/1.1\r\nHost: "+host+"\r\nOrigin: "+o+"\r\nConnection: close\r\n\r\n", 5*time.Second)
				require.NoError(t, err, "origin %q", o)
				ws := rs.wsHandshake(t, "EIO=4&transport=websocket", "Origin: "+o)
				want, ok := tc.ok[o]
				switch {
				case ok:
					require.Equal(t, 200, res.status, "origin %q", o)
					require.Equal(t, 101, ws, "origin %q", o)
					require.Equal(t, want, res.header.Get("Access-Control-Allow-Origin"), "origin %q", o)
				case res.status == 400:
					// Refused by net/http itself (a control character).
					require.Equal(t, 400, ws, "origin %q", o)
				default:
					require.Equal(t, 403, res.status, "origin %q", o)
					require.Equal(t, 403, ws, "origin %q", o)
					require.Empty(t, res.header.Get("Access-Control-Allow-Origin"), "origin %q", o)
				}
			}
		})
	}
}
