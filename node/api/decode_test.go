package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

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
