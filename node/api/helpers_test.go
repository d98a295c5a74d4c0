package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"daisydog/node/auth"
	"daisydog/node/companion"
	"daisydog/policies/bundle"
	"daisydog/raftcluster"
	"daisydog/storage"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestValidEmail(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"parent@example.org", "parent@example.org", true},
		{"  padded@example.org \t", "padded@example.org", true},
		{"a@b", "a@b", true},
		{"", "", false},
		{"ab", "", false},
		{"no-at-sign", "", false},
		{"Name <name@example.org>", "", false},
		{"two@at@example.org", "", false},
		{"x@" + strings.Repeat("a", 253), "", false},
		{"comment(x)@example.org", "", false},
	}
	for _, c := range cases {
		got, err := validEmail(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("validEmail(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
		var ae *apiError
		if err != nil && (!errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Code != "invalid") {
			t.Errorf("validEmail(%q) error %v, want 422 invalid", c.in, err)
		}
	}
}

func TestValidNickname(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Milo", "Milo", true},
		{"  Anne-Marie ", "Anne-Marie", true},
		{"O'Neil", "O'Neil", true},
		{"Zoë Jo", "Zoë Jo", true},
		{strings.Repeat("a", 24), strings.Repeat("a", 24), true},
		{strings.Repeat("a", 25), "", false},
		{"   ", "", false},
		{"Ann5", "", false},
		{"Ann_B", "", false},
		{"Ann\u200b", "", false},
	}
	for _, c := range cases {
		got, err := validNickname(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("validNickname(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestLinkCodes(t *testing.T) {
	for range 200 {
		c := newLinkCode()
		if len(c) != 11 || c[5] != '-' {
			t.Fatalf("link code %q: want XXXXX-XXXXX", c)
		}
		n := normalizeLinkCode(strings.ToLower(c))
		if len(n) != 10 || strings.Trim(n, linkAlphabet) != "" {
			t.Fatalf("normalised %q = %q: not 10 symbols of the alphabet", c, n)
		}
		if n != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("normalised lower-case %q = %q", c, n)
		}
	}
	cases := map[string]string{
		"abcde-fghjk":   "ABCDEFGHJK",
		"O0 IL1-o":      "00111" + "0",
		" 12 34 5-6 ":   "123456",
		"oooooiiiiiLL":  "000001111111",
		"a-b-c d e":     "ABCDE",
		"ünï":           "ÜNÏ", // not a confusion: refused later as outside the alphabet
		"":              "",
		"ZZZZZ - ZZZZZ": "ZZZZZZZZZZ",
	}
	for in, want := range cases {
		if got := normalizeLinkCode(in); got != want {
			t.Errorf("normalizeLinkCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmailTokenShapeTable(t *testing.T) {
	good := verifyPrefix + strings.Repeat("A", 43)
	cases := []struct {
		tok, prefix string
		ok          bool
	}{
		{good, verifyPrefix, true},
		{good, resetPrefix, false},
		{resetPrefix + strings.Repeat("_", 43), resetPrefix, true},
		{verifyPrefix + strings.Repeat("A", 42), verifyPrefix, false},
		{verifyPrefix + strings.Repeat("A", 44), verifyPrefix, false},
		{verifyPrefix + strings.Repeat("A", 42) + "=", verifyPrefix, false},
		{verifyPrefix + strings.Repeat("A", 42) + "+", verifyPrefix, false},
		{"", verifyPrefix, false},
	}
	for _, c := range cases {
		if got := validEmailToken(c.tok, c.prefix); got != c.ok {
			t.Errorf("validEmailToken(%q, %q) = %v, want %v", c.tok, c.prefix, got, c.ok)
		}
	}
}

func TestTokenStatusError(t *testing.T) {
	cases := []struct {
		status string
		want   error
	}{
		{storage.TokenOK, nil},
		{storage.TokenUsed, errTokenUsed},
		{storage.TokenExpired, errTokenExpired},
		{"something else", errInvalidToken},
		{"", errInvalidToken},
	}
	for _, c := range cases {
		if got := tokenStatusError(c.status); got != c.want {
			t.Errorf("tokenStatusError(%q) = %v, want %v", c.status, got, c.want)
		}
	}
	if errTokenUsed.Status != http.StatusGone || errTokenExpired.Status != http.StatusGone || errInvalidToken.Status != http.StatusBadRequest {
		t.Error("e-mail token errors: used/expired must be 410, invalid 400")
	}
}

// Retry-After is whole seconds, rounded up: never 0 while still locked.
func TestRetryAfterRoundsUp(t *testing.T) {
	for _, c := range []struct {
		ms   int64
		secs int
	}{{1, 1}, {999, 1}, {1000, 1}, {1001, 2}, {59_500, 60}} {
		if got := errLocked(c.ms); got.RetryAfter != c.secs || got.Status != http.StatusTooManyRequests || got.Code != "locked" {
			t.Errorf("errLocked(%d) = %+v, want 429 locked Retry-After %d", c.ms, got, c.secs)
		}
		if got := errRateLimited(c.ms); got.RetryAfter != c.secs || got.Status != http.StatusTooManyRequests || got.Code != "rate_limited" {
			t.Errorf("errRateLimited(%d) = %+v, want 429 rate_limited Retry-After %d", c.ms, got, c.secs)
		}
	}
}

func TestMailLink(t *testing.T) {
	s := &Server{}
	if got := s.mailLink("/verify-email", "ev_x"); got != "" {
		t.Errorf("no link base: %q, want no link", got)
	}
	s.MailLinkBase = "https://app.example/"
	if got, want := s.mailLink("/verify-email", "ev_x"), "https://app.example/verify-email#token=ev_x"; got != want {
		t.Errorf("mailLink = %q, want %q", got, want)
	}
}

func TestExcerpt(t *testing.T) {
	short := strings.Repeat("é", excerptRunes)
	if got := excerpt(short); got != short {
		t.Errorf("excerpt of %d runes changed it", excerptRunes)
	}
	long := strings.Repeat("ü", excerptRunes) + "tail"
	got := excerpt(long)
	if want := strings.Repeat("ü", excerptRunes) + "…"; got != want {
		t.Errorf("excerpt = %q, want %q", got, want)
	}
}

func TestValidKeyID(t *testing.T) {
	for kid, ok := range map[string]bool{
		"0123456789abcdef":  true,
		"0123456789ABCDEF":  false,
		"0123456789abcde":   false,
		"0123456789abcdef0": false,
		"0123456789abcdeg":  false,
		"":                  false,
	} {
		if validKeyID(kid) != ok {
			t.Errorf("validKeyID(%q) = %v, want %v", kid, !ok, ok)
		}
	}
}

func TestPolicyErrorMapping(t *testing.T) {
	own := &apiError{Status: 418, Code: "teapot"}
	other := errors.New("disk on fire")
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"api error passes", fmt.Errorf("wrapped: %w", own), 418, "teapot"},
		{"refused", fmt.Errorf("%w: bad signature", ErrPolicyRefused), 422, "policy_refused"},
		{"refused as too large", fmt.Errorf("%w: %w", ErrPolicyRefused, bundle.ErrTooLarge), 413, "too_large"},
		{"not ready", fmt.Errorf("%w: n2 did not report", ErrPolicyNotReady), 409, "policy_not_ready"},
		{"conflict", fmt.Errorf("stage: %w", storage.ErrConflict), 409, "conflict"},
		{"not found", fmt.Errorf("activate: %w", storage.ErrNotFound), 404, "not_found"},
		{"unavailable", fmt.Errorf("apply: %w", raftcluster.ErrUnavailable), 503, "unavailable"},
		{"ambiguous", fmt.Errorf("apply: %w", raftcluster.ErrAmbiguous), 503, "unavailable"},
	}
	for _, c := range cases {
		var ae *apiError
		if got := policyError(c.err); !errors.As(got, &ae) || ae.Status != c.status || ae.Code != c.code {
			t.Errorf("%s: policyError = %v, want %d %s", c.name, got, c.status, c.code)
		}
	}
	if got := policyError(other); got != other {
		t.Errorf("unknown error mapped to %v; want it unchanged (a 500 without detail)", got)
	}
	// A refusal's reason reaches the admin: it names no person.
	if ae := policyError(fmt.Errorf("%w: vectors failed", ErrPolicyRefused)).(*apiError); !strings.Contains(ae.Message, "vectors failed") {
		t.Errorf("refusal message %q lost its reason", ae.Message)
	}
}

func TestRouteOfLogsNoIDs(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/children/ch_123/turns": "/v1/children",
		"/v1/chat":                  "/v1/chat",
		"/healthz":                  "/healthz",
		"/":                         "/",
	} {
		r := httptest.NewRequest("GET", path, nil)
		if got := routeOf(r); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestClientIP(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:443":     "192.0.2.7",
		"[2001:db8::1]:443": "2001:db8::1",
		"not-an-address":    "not-an-address",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := clientIP(r); got != want {
			t.Errorf("clientIP(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestWriteErrorEnvelope(t *testing.T) {
	s := &Server{log: discardLogger()}
	cases := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{"api error", errInvalid("nickname must be 1 to 24 characters"), 422, "invalid", ""},
		{"wrapped api error", fmt.Errorf("ctx: %w", errForbidden), 403, "forbidden", ""},
		{"unavailable carries Retry-After", errUnavailable, 503, "unavailable", "2"},
		{"overloaded", errOverloaded, 503, "unavailable", "1"},
		{"internal detail hidden", errors.New("sqlite: table turns is locked at /var/lib/x"), 500, "internal", ""},
		// A cancellation is the client's only when the request's own
		// context ended; otherwise it is a server error like any other.
		{"client left", fmt.Errorf("raft: wait applied: %w", context.Canceled), 499, "client_closed_request", ""},
		{"canceled inside, client still there", fmt.Errorf("raft: wait applied: %w", context.Canceled), 500, "internal", ""},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v1/x", nil)
		if c.name == "client left" {
			ctx, cancel := context.WithCancel(r.Context())
			cancel()
			r = r.WithContext(ctx)
		}
		s.writeError(w, r, c.err)
		var b errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
			t.Fatalf("%s: body %q: %v", c.name, w.Body.Bytes(), err)
		}
		if w.Code != c.status || b.Error.Code != c.code || w.Header().Get("Retry-After") != c.retryAfter {
			t.Errorf("%s: %d %q Retry-After %q, want %d %q %q", c.name, w.Code, b.Error.Code, w.Header().Get("Retry-After"), c.status, c.code, c.retryAfter)
		}
		if strings.Contains(w.Body.String(), "sqlite") {
			t.Errorf("%s: internal detail in the response: %s", c.name, w.Body.String())
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
	}
}

func TestSettingsControlsRoundTrip(t *testing.T) {
	d := defaultSettings()
	if d.V != settingsVersion || d.TimeZone != "UTC" || !d.Features.Games || !d.Features.Jokes || !d.Features.Stories || d.Features.AIMode ||
		d.Features.ContentPacks || d.ContentPacks == nil || len(d.ContentPacks) != 0 || d.AIThirdPartyConsent {
		t.Fatalf("default settings %+v", d)
	}
	cs := childSettings{V: 1, DailyLimitMinutes: 30, TimeZone: "Europe/Berlin", Strictness: companion.StrictStrict,
		Features: settingsFeatures{Games: false, Jokes: true, ContentPacks: false}, ContentPacks: []string{"p1"}}
	c := cs.controls()
	if c.Packs != nil {
		t.Errorf("packs %v reach the controls while the content_packs toggle is off", c.Packs)
	}
	if c.DailyMinutes != 30 || c.Games || !c.Jokes || c.Strictness != companion.StrictStrict {
		t.Errorf("controls %+v from %+v", c, cs)
	}
	cs.Features.ContentPacks = true
	c = cs.controls()
	if !reflect.DeepEqual(c.Packs, []string{"p1"}) {
		t.Errorf("packs with the toggle on: %v", c.Packs)
	}
	c.Packs[0] = "changed"
	if cs.ContentPacks[0] != "p1" {
		t.Error("controls share the settings' pack slice")
	}
	back := settingsFrom(cs.controls(), "Europe/Berlin")
	if back.DailyLimitMinutes != 30 || !back.Features.ContentPacks || back.Strictness != companion.StrictStrict {
		t.Errorf("settingsFrom(controls) = %+v", back)
	}
	for tz, want := range map[string]string{"Europe/Berlin": "Europe/Berlin", "": "UTC", "Mars/Olympus": "UTC", "UTC": "UTC"} {
		if got := (childSettings{TimeZone: tz}).location().String(); got != want {
			t.Errorf("location(%q) = %q, want %q", tz, got, want)
		}
	}
}

func TestAchievementsOf(t *testing.T) {
	all := companion.Achievements()
	if len(all) == 0 {
		t.Fatal("no achievements defined")
	}
	none := achievementsOf(companion.Stats{})
	if len(none) != len(all) {
		t.Fatalf("%d views for %d achievements", len(none), len(all))
	}
	for _, v := range none {
		if v.Earned || v.EarnedAt != "" {
			t.Fatalf("nothing earned, but %+v", v)
		}
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	got := achievementsOf(companion.Stats{Earned: []companion.Earned{{ID: all[0].ID, At: at}}})
	if !got[0].Earned || got[0].EarnedAt != "2026-03-04T05:06:07Z" || got[0].ID != all[0].ID {
		t.Errorf("earned achievement shown as %+v", got[0])
	}
	for _, v := range got[1:] {
		if v.Earned {
			t.Errorf("%s shown as earned", v.ID)
		}
	}
}

func TestNonNilAndMillis(t *testing.T) {
	if v := nonNil(nil); v == nil || len(v) != 0 {
		t.Errorf("nonNil(nil) = %#v", v)
	}
	if b, _ := json.Marshal(nonNil(nil)); string(b) != "[]" {
		t.Errorf("nonNil(nil) marshals as %s, want []", b)
	}
	if v := nonNil([]string{"a"}); !reflect.DeepEqual(v, []string{"a"}) {
		t.Errorf("nonNil kept %v", v)
	}
	if got := millis(1_700_000_000_123); got != "2023-11-14T22:13:20.123Z" {
		t.Errorf("millis = %q", got)
	}
}

func validPack() contentPack {
	return contentPack{ID: "kind-dogs", Version: 1, Title: "Kind dogs", Description: "Short lessons about being kind to dogs.",
		Source: packSource{Name: "Test shelter", URL: "https://shelter.example/packs", License: "CC BY 4.0"},
		Items: []packItem{
			{ID: "gentle", Kind: packKindLesso, Title: "Gentle hands", Text: "Dogs like slow, gentle strokes on the back.", Ages: companion.Ages{Max: "9-12"}},
			{ID: "story-1", Kind: packKindStory, Title: "The quiet pup", Text: "Once there was a quiet pup who loved naps.", Ages: companion.Ages{Min: "9-12"}},
		}}
}

func TestContentPackValidate(t *testing.T) {
	if err := validPack().validate(); err != nil {
		t.Fatalf("valid pack refused: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*contentPack)
		want string
	}{
		{"upper-case id", func(p *contentPack) { p.ID = "Kind" }, "id"},
		{"id too long", func(p *contentPack) { p.ID = strings.Repeat("a", 41) }, "id"},
		{"version 0", func(p *contentPack) { p.Version = 0 }, "version"},
		{"no title", func(p *contentPack) { p.Title = "  " }, "title is required"},
		{"long title", func(p *contentPack) { p.Title = strings.Repeat("t", maxTitleRunes+1) }, "title: at most"},
		{"no description", func(p *contentPack) { p.Description = "" }, "description is required"},
		{"no source", func(p *contentPack) { p.Source.Name = "" }, "source attribution"},
		{"http source", func(p *contentPack) { p.Source.URL = "http://shelter.example" }, "source.url"},
		{"source without host", func(p *contentPack) { p.Source.URL = "https:///x" }, "source.url"},
		{"long license", func(p *contentPack) { p.Source.License = strings.Repeat("l", maxTitleRunes+1) }, "source.license"},
		{"no items", func(p *contentPack) { p.Items = nil }, "items: 1 to"},
		{"too many items", func(p *contentPack) {
			for i := range maxPackItems {
				p.Items = append(p.Items, packItem{ID: fmt.Sprintf("x%d", i), Kind: packKindLesso, Title: "t", Text: "x"})
			}
		}, "items: 1 to"},
		{"duplicate item", func(p *contentPack) { p.Items[1].ID = p.Items[0].ID }, "duplicate"},
		{"bad item kind", func(p *contentPack) { p.Items[0].Kind = "joke" }, "kind must be lesson or story"},
		{"item without title", func(p *contentPack) { p.Items[0].Title = "" }, "items[0].title is required"},
		{"item text too long", func(p *contentPack) { p.Items[1].Text = strings.Repeat("z", companion.MaxStoryRunes+1) }, "items[1].text: at most"},
		{"unknown tier", func(p *contentPack) { p.Items[0].Min = "3-4" }, "unknown age tier"},
		{"empty age range", func(p *contentPack) { p.Items[0].Ages = companion.Ages{Min: "13-17", Max: "5-8"} }, "includes no tier"},
	}
	for _, c := range cases {
		p := validPack()
		p.Items = append([]packItem(nil), p.Items...)
		c.mod(&p)
		err := p.validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: validate = %v, want an error about %q", c.name, err, c.want)
		}
	}
}

func TestPackSummaryAndLine(t *testing.T) {
	p := validPack()
	v := packSummary(p)
	if v.Lessons != 1 || v.Stories != 1 || !reflect.DeepEqual(v.Tiers, []string{"5-8", "9-12", "13-17"}) || v.Source != p.Source {
		t.Errorf("summary %+v", v)
	}
	p.Items = p.Items[:1] // the lesson, up to 9-12
	if v := packSummary(p); !reflect.DeepEqual(v.Tiers, []string{"5-8", "9-12"}) || v.Stories != 0 {
		t.Errorf("summary of the lesson only: %+v", v)
	}
	if got := packLine(p, p.Items[0]); got != "Here's something from Kind dogs: Gentle hands. Dogs like slow, gentle strokes on the back." {
		t.Errorf("lesson line %q", got)
	}
	st := validPack().Items[1]
	if got := packLine(p, st); !strings.HasPrefix(got, "Here's a story from Kind dogs: The quiet pup. ") {
		t.Errorf("story line %q", got)
	}
}

// The catalogue survives storing: items → stored docs → Catalog is the same catalogue.
func TestCatalogItemsRoundTrip(t *testing.T) {
	def := companion.DefaultCatalog()
	items, err := catalogItems(def, 42)
	if err != nil {
		t.Fatal(err)
	}
	want := len(def.Jokes) + len(def.Tricks) + len(def.Stories) + len(def.Facts) + len(def.Games)
	if len(items) != want {
		t.Fatalf("%d items for %d catalogue entries", len(items), want)
	}
	back, err := catalogFrom(storage.CatalogState{Items: items, Seeded: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, def) {
		t.Fatal("catalogue changed through storage")
	}
	if _, err := catalogFrom(storage.CatalogState{Items: []storage.CatalogItem{{Kind: "poem", ID: "p"}}}); err == nil || !strings.Contains(err.Error(), `unknown kind "poem"`) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := catalogFrom(storage.CatalogState{Items: []storage.CatalogItem{{Kind: kindJoke, ID: "j", Doc: []byte("{")}}}); err == nil {
		t.Error("a broken stored doc decoded")
	}
	cmd, err := SeedCatalogCommand(7)
	if err != nil || cmd.At != 7 || len(cmd.Items) != want {
		t.Errorf("seed command: %v, %d items at %d", err, len(cmd.Items), cmd.At)
	}
}

func TestWithItem(t *testing.T) {
	def := companion.DefaultCatalog()
	j0 := def.Jokes[0]
	// Replace in place.
	changed := j0
	changed.Text = "A new joke text."
	next, found := withItem(def, kindJoke, j0.ID, changed)
	if !found || len(next.Jokes) != len(def.Jokes) || next.Jokes[0].Text != "A new joke text." {
		t.Fatalf("replace: found %v, %d jokes, first %q", found, len(next.Jokes), next.Jokes[0].Text)
	}
	if def.Jokes[0].Text == "A new joke text." {
		t.Fatal("withItem changed its input")
	}
	// Remove.
	next, found = withItem(def, kindJoke, j0.ID, nil)
	if !found || len(next.Jokes) != len(def.Jokes)-1 {
		t.Fatalf("remove: found %v, %d jokes", found, len(next.Jokes))
	}
	// Append a new one; removing an unknown one changes nothing.
	next, found = withItem(def, kindFact, "brand-new", companion.Fact{ID: "brand-new", Text: "Dogs sniff."})
	if found || len(next.Facts) != len(def.Facts)+1 || next.Facts[len(next.Facts)-1].ID != "brand-new" {
		t.Fatalf("append: found %v, %d facts", found, len(next.Facts))
	}
	if _, found := withItem(def, kindStory, "no-such-story", nil); found {
		t.Fatal("found an unknown story")
	}
	for _, c := range []struct {
		kind, id string
	}{{kindTrick, def.Tricks[0].ID}, {kindStory, def.Stories[0].ID}, {kindGame, def.Games[0].Kind}, {kindFact, def.Facts[0].ID}} {
		if _, found := withItem(def, c.kind, c.id, nil); !found {
			t.Errorf("%s %s not found", c.kind, c.id)
		}
	}
}

func TestStaffOnlyAllowList(t *testing.T) {
	s := &Server{log: discardLogger()}
	s.AdminNets = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	h := s.staffOnly(func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	for addr, allowed := range map[string]bool{
		"10.1.2.3:1000":          true,
		"[::ffff:10.1.2.3]:1000": true, // IPv4-mapped
		"[2001:db8::7]:1000":     true,
		"192.0.2.1:1000":         false,
		"[2001:db9::7]:1000":     false,
		"garbage":                false,
	} {
		r := httptest.NewRequest("POST", "/v1/admin/login", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		err := h(w, r, nil)
		var ae *apiError
		switch {
		case allowed && (err != nil || w.Code != http.StatusNoContent):
			t.Errorf("%s: refused (%v)", addr, err)
		case !allowed && (!errors.As(err, &ae) || ae.Status != http.StatusForbidden):
			t.Errorf("%s: %v, want 403", addr, err)
		}
	}
}

func TestActorOfClaims(t *testing.T) {
	c := &auth.Claims{Role: auth.RoleParent, FamilyID: "fa_1", SessionID: "se_1"}
	c.Subject = "pa_1"
	if a := actorOfClaims(c); a != (storage.Actor{Role: storage.RoleParent, ID: "pa_1", FamilyID: "fa_1", SessionID: "se_1"}) {
		t.Errorf("actor %+v", a)
	}
}
