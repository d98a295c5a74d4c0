package node

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The plain-HTTP redirect sends every request to the same path and query on
// the node's own HTTPS address, and never anywhere else: a request line
// that is not an absolute path (which would put the client's text where a
// browser reads a user name or a host) is refused.
func TestRedirectStaysOnTheNode(t *testing.T) {
	const target = "daisy.example:8443"
	h := redirectHandler(target)
	for _, tc := range []struct {
		line, location string // location "" = refused with 400
	}{
		{"GET / HTTP/1.1", "https://daisy.example:8443/"},
		{"GET /ui/?a=1&b=%2F HTTP/1.1", "https://daisy.example:8443/ui/?a=1&b=%2F"},
		{"GET /v1/children/ch_1 HTTP/1.1", "https://daisy.example:8443/v1/children/ch_1"},
		{"GET http:@evil.com HTTP/1.1", ""},
		{"GET http:.evil.com/x HTTP/1.1", ""},
		{"GET http://evil.com/x HTTP/1.1", ""},
		{"GET //evil.com/x HTTP/1.1", ""},
	} {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.line + "\r\nHost: daisy.example\r\n\r\n")))
		if err != nil {
			if tc.location == "" {
				continue // refused by the parser already
			}
			t.Fatalf("%s: %v", tc.line, err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		loc := rec.Header().Get("Location")
		if tc.location == "" {
			if rec.Code != http.StatusBadRequest || loc != "" {
				t.Errorf("%s: %d, Location %q; want 400 and no redirect", tc.line, rec.Code, loc)
			}
			continue
		}
		if rec.Code != http.StatusPermanentRedirect || loc != tc.location {
			t.Errorf("%s: %d, Location %q; want 308 to %q", tc.line, rec.Code, loc, tc.location)
		}
		if u, err := url.Parse(loc); err != nil || u.Host != target || u.User != nil {
			t.Errorf("%s: Location %q leaves the node", tc.line, loc)
		}
	}
}
