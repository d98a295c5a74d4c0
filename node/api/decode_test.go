package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

type decodeTarget struct {
	Name  string `json:"name"`
	Age   int    `json:"age"`
	Tags  []string
	Inner *struct {
		On bool `json:"on"`
	} `json:"inner,omitempty"`
}

func decodeRequest(contentType, body string, limit int64) (decodeTarget, error) {
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	var dst decodeTarget
	err := decodeJSON(httptest.NewRecorder(), r, limit, &dst)
	return dst, err
}

func TestDecodeJSON(t *testing.T) {
	const ct = "application/json"
	big := `{"name":"` + strings.Repeat("a", smallBody) + `"}`
	exact := `{"name":"` + strings.Repeat("a", 100-len(`{"name":""}`)) + `"}`
	cases := []struct {
		name        string
		contentType string
		body        string
		limit       int64
		status      int // 0 = success
		wantName    string
	}{
		{"valid", ct, `{"name":"Daisy","age":7}`, smallBody, 0, "Daisy"},
		{"valid with whitespace", ct, " \n\t{\"name\":\"Daisy\"}\r\n ", smallBody, 0, "Daisy"},
		{"valid nested", ct, `{"name":"D","inner":{"on":true},"Tags":["a"]}`, smallBody, 0, "D"},
		{"valid unicode", ct, `{"name":"Dàisy 🐶 \u00e9"}`, smallBody, 0, "Dàisy 🐶 é"},
		{"charset parameter", "application/json; charset=utf-8", `{"name":"x"}`, smallBody, 0, "x"},
		{"charset parameter, upper case", "Application/JSON; Charset=UTF-8", `{"name":"x"}`, smallBody, 0, "x"},
		{"body exactly at the limit", ct, exact, int64(len(exact)), 0, exact[9 : len(exact)-2]},

		{"missing content type", "", `{"name":"x"}`, smallBody, http.StatusUnsupportedMediaType, ""},
		{"text/plain", "text/plain", `{"name":"x"}`, smallBody, http.StatusUnsupportedMediaType, ""},
		{"form", "application/x-www-form-urlencoded", `name=x`, smallBody, http.StatusUnsupportedMediaType, ""},
		{"json suffix type", "application/merge-patch+json", `{"name":"x"}`, smallBody, http.StatusUnsupportedMediaType, ""},
		{"json prefix", "application/jsonx", `{"name":"x"}`, smallBody, http.StatusUnsupportedMediaType, ""},
		{"malformed content type", "application/json; charset", `{"name":"x"}`, smallBody, http.StatusUnsupportedMediaType, ""},

		{"oversized", ct, big, smallBody, http.StatusRequestEntityTooLarge, ""},
		{"one byte over", ct, exact, int64(len(exact)) - 1, http.StatusRequestEntityTooLarge, ""},

		{"invalid UTF-8 in a string", ct, "{\"name\":\"\xff\xfe\"}", smallBody, http.StatusBadRequest, ""},
		{"overlong UTF-8", ct, "{\"name\":\"\xc0\xaf\"}", smallBody, http.StatusBadRequest, ""},
		{"UTF-16 surrogate bytes", ct, "{\"name\":\"\xed\xa0\x80\"}", smallBody, http.StatusBadRequest, ""},
		{"unknown field", ct, `{"name":"x","admin":true}`, smallBody, http.StatusBadRequest, ""},
		{"unknown nested field", ct, `{"inner":{"on":true,"off":false}}`, smallBody, http.StatusBadRequest, ""},
		{"trailing garbage", ct, `{"name":"x"} x`, smallBody, http.StatusBadRequest, ""},
		{"trailing brace", ct, `{"name":"x"}}`, smallBody, http.StatusBadRequest, ""},
		{"trailing bracket", ct, `{"name":"x"}]`, smallBody, http.StatusBadRequest, ""},
		{"trailing comma", ct, `{"name":"x"},`, smallBody, http.StatusBadRequest, ""},
		{"two objects", ct, `{"name":"x"}{"name":"y"}`, smallBody, http.StatusBadRequest, ""},
		{"two objects on lines", ct, "{\"name\":\"x\"}\n{\"name\":\"y\"}\n", smallBody, http.StatusBadRequest, ""},
		{"empty body", ct, ``, smallBody, http.StatusBadRequest, ""},
		{"whitespace body", ct, "  \n ", smallBody, http.StatusBadRequest, ""},
		{"truncated object", ct, `{"name":"x"`, smallBody, http.StatusBadRequest, ""},
		{"wrong type", ct, `{"name":7}`, smallBody, http.StatusBadRequest, ""},
		{"wrong nested type", ct, `{"inner":{"on":"yes"}}`, smallBody, http.StatusBadRequest, ""},
		{"number overflow", ct, `{"age":1e400}`, smallBody, http.StatusBadRequest, ""},
		{"array instead of object", ct, `[{"name":"x"}]`, smallBody, http.StatusBadRequest, ""},
		{"string instead of object", ct, `"x"`, smallBody, http.StatusBadRequest, ""},
		{"number instead of object", ct, `7`, smallBody, http.StatusBadRequest, ""},
		{"single quotes", ct, `{'name':'x'}`, smallBody, http.StatusBadRequest, ""},
		{"comment", ct, `{"name":"x" /* hi */}`, smallBody, http.StatusBadRequest, ""},
		{"NUL byte", ct, "{\"name\":\"x\"}\x00", smallBody, http.StatusBadRequest, ""},
		// The contract is "exactly one JSON object": null is not an object.
		{"null instead of object", ct, `null`, smallBody, http.StatusBadRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRequest(tc.contentType, tc.body, tc.limit)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("decodeJSON = %v, want success", err)
				}
				if got.Name != tc.wantName {
					t.Fatalf("name = %q, want %q", got.Name, tc.wantName)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("decodeJSON = %v (%T), want an *apiError with status %d", err, err, tc.status)
			}
			if ae.Status != tc.status {
				t.Fatalf("status = %d (%s), want %d", ae.Status, ae.Message, tc.status)
			}
			if ae.Code == "" || ae.Message == "" {
				t.Fatalf("error without code or message: %+v", ae)
			}
			if strings.Contains(ae.Message, "json:") || strings.Contains(ae.Message, "decodeTarget") {
				t.Fatalf("message leaks decoder internals: %q", ae.Message)
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		max       int
		multiline bool
		want      string // "" = refused
	}{
		{"plain", "hello", 10, false, "hello"},
		{"trimmed", "  hello \t\n", 10, false, "hello"},
		{"trim before counting", "   hello   ", 5, false, "hello"},
		{"empty", "", 10, false, ""},
		{"only spaces", "   \t ", 10, false, ""},
		{"only newlines, multiline", "\n\n", 10, true, ""},
		{"exactly max runes", "ééééé", 5, false, "ééééé"},
		{"max counted in runes, not bytes", "🐶🐶🐶", 3, false, "🐶🐶🐶"},
		{"too long in runes", "éééééé", 5, false, ""},
		{"too long", "abcdef", 5, false, ""},
		{"NUL", "a\x00b", 10, false, ""},
		{"bell", "a\ab", 10, false, ""},
		{"escape", "a\x1b[31mb", 10, false, ""},
		{"DEL", "a\x7fb", 10, false, ""},
		{"C1 control", "a\u0085b", 10, false, ""},
		{"newline, single line", "a\nb", 10, false, ""},
		{"tab, single line", "a\tb", 10, false, ""},
		{"newline, multiline", "a\nb", 10, true, "a\nb"},
		{"tab, multiline", "a\tb", 10, true, "a\tb"},
		{"carriage return, multiline", "a\rb", 10, true, ""},
		{"NUL, multiline", "a\x00b", 10, true, ""},
		{"invalid UTF-8", "a\xffb", 10, false, ""},
		{"replacement character", "a\ufffdb", 10, false, ""},
		{"emoji and accents", "Ça va? 🐶", 20, false, "Ça va? 🐶"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cleanText("field", tc.in, tc.max, tc.multiline)
			if tc.want == "" {
				var ae *apiError
				if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity {
					t.Fatalf("cleanText(%q) = %q, %v; want a 422", tc.in, got, err)
				}
				if !strings.HasPrefix(ae.Message, "field ") {
					t.Fatalf("message %q does not name the field", ae.Message)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("cleanText(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzDecodeJSON checks decodeJSON never panics, always answers with a
// client error, and accepts only bodies that are valid UTF-8 JSON within the
// limit that the standard decoder also accepts.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"name":"Daisy","age":7}`},
		{"application/json; charset=utf-8", `{"inner":{"on":true},"Tags":["a","b"]}`},
		{"application/json", `{"name":"x"} {"name":"y"}`},
		{"application/json", `{"name":"x","admin":true}`},
		{"application/json", "{\"name\":\"\xff\"}"},
		{"application/json", `null`},
		{"application/json", `[]`},
		{"application/json", ``},
		{"application/json", `{"age":1e400}`},
		{"application/json", `{"name":"x"}}`},
		{"text/plain", `{"name":"x"}`},
		{"application/json; charset", `{}`},
		{"", `{}`},
		{"application/json", strings.Repeat(`{"inner":`, 200)},
	} {
		f.Add(seed.ct, seed.body)
	}
	const limit = 512
	f.Fuzz(func(t *testing.T, ct, body string) {
		got, err := decodeRequest(ct, body, limit)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *apiError", err, err)
			}
			switch ae.Status {
			case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("status %d for %q", ae.Status, body)
			}
			if ae.Message == "" || !utf8.ValidString(ae.Message) {
				t.Fatalf("bad message %q", ae.Message)
			}
			return
		}
		if len(body) > limit {
			t.Fatalf("accepted %d bytes over a %d-byte limit", len(body), limit)
		}
		if !utf8.ValidString(body) {
			t.Fatalf("accepted invalid UTF-8 %q", body)
		}
		if !utf8.ValidString(got.Name) {
			t.Fatalf("decoded invalid UTF-8 %q", got.Name)
		}
		// (null is tolerated here; TestDecodeJSON pins that it should be refused.)
		if trimmed := strings.TrimLeft(body, " \t\r\n"); !strings.HasPrefix(trimmed, "{") && strings.TrimSpace(body) != "null" {
			t.Fatalf("accepted a body that is not an object: %q", body)
		}
	})
}
