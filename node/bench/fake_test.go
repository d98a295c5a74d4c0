package bench

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeAPI is a minimal stand-in for the six DaisyDog endpoints the bench
// drives. It exists only to test the load generator and validates every
// request the way the real API will (strict JSON, Content-Type, tokens).
type fakeAPI struct {
	// knobs, set before serving
	chat503Every    int64         // every k-th chat gets 503 (0 = never)
	signup503       int64         // first k signups get 503 with Retry-After: 0
	chatDelay       time.Duration // added to each chat
	hangChat        chan struct{} // non-nil: chat blocks until closed or the client gives up
	badBody         bool          // chat answers 200 without a turn
	badNick         string        // this nickname is refused with 422 (the nickname filter)
	failClosedEvery int64         // every k-th chat is answered fail-closed (policy unavailable)
	failClosed      atomic.Int64

	mu          sync.Mutex
	parents     map[string]string // email → password
	parentToks  map[string]string // token → email
	children    map[string]string // id → parent email
	codes       map[string]string // code → child id (single use)
	childToks   map[string]string // token → child id
	badRequests []string

	signups    atomic.Int64
	chats      atomic.Int64
	chatOK     atomic.Int64
	chat503    atomic.Int64
	newConns   atomic.Int64
	games      atomic.Int64
	daisyReads atomic.Int64
	scrapes    atomic.Int64
	perChild   sync.Map // child id → *atomic.Int64
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{
		parents: map[string]string{}, parentToks: map[string]string{}, children: map[string]string{},
		codes: map[string]string{}, childToks: map[string]string{},
	}
}

var (
	nickRe  = regexp.MustCompile(`^[A-Za-z]{1,24}$`)
	emailRe = regexp.MustCompile(`^bench-[0-9a-f]+@example\.test$`)
)

func tok() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) fail(w http.ResponseWriter, status int, code, msg string) {
	if status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusUnsupportedMediaType {
		f.mu.Lock()
		f.badRequests = append(f.badRequests, code+": "+msg)
		f.mu.Unlock()
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// decode strictly decodes a JSON body into v, requiring the JSON content type.
func (f *fakeAPI) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.fail(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type "+ct)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.fail(w, http.StatusBadRequest, "invalid_json", err.Error())
		return false
	}
	return true
}

func (f *fakeAPI) bearer(r *http.Request, m map[string]string) (string, bool) {
	t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := m[t]
	return v, ok
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		f.serveGet(w, r)
		return
	}
	if r.Method != http.MethodPost {
		f.fail(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method)
		return
	}
	switch {
	case r.URL.Path == "/v1/parents/signup":
		if f.signups.Add(1) <= f.signup503 {
			w.Header().Set("Retry-After", "0")
			f.fail(w, http.StatusServiceUnavailable, "no_leader", "try again")
			return
		}
		var in struct{ Email, Password string }
		if !f.decode(w, r, &in) {
			return
		}
		if !emailRe.MatchString(in.Email) || len(in.Password) != 20 {
			f.fail(w, http.StatusBadRequest, "invalid_signup", in.Email)
			return
		}
		f.mu.Lock()
		f.parents[in.Email] = in.Password
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]string{"parent_id": tok()})
	case r.URL.Path == "/v1/auth/login":
		var in struct{ Email, Password string }
		if !f.decode(w, r, &in) {
			return
		}
		f.mu.Lock()
		pw, ok := f.parents[in.Email]
		t := tok()
		if ok && pw == in.Password {
			f.parentToks[t] = in.Email
		}
		f.mu.Unlock()
		if !ok || pw != in.Password {
			f.fail(w, http.StatusUnauthorized, "invalid_credentials", "nope")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": t, "token_type": "Bearer", "expires_in": 900})
	case r.URL.Path == "/v1/children":
		email, ok := f.bearer(r, f.parentToks)
		if !ok {
			f.fail(w, http.StatusUnauthorized, "unauthorized", "parent token")
			return
		}
		var in struct {
			Nickname string `json:"nickname"`
			AgeTier  string `json:"age_tier"`
		}
		if !f.decode(w, r, &in) {
			return
		}
		if in.Nickname == f.badNick {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": map[string]string{"code": "invalid", "message": "please choose a different nickname"}})
			return
		}
		if !nickRe.MatchString(in.Nickname) || (in.AgeTier != "5-8" && in.AgeTier != "9-12" && in.AgeTier != "13-17") {
			f.fail(w, http.StatusBadRequest, "invalid_child", in.Nickname+"/"+in.AgeTier)
			return
		}
		id := tok()
		f.mu.Lock()
		f.children[id] = email
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]string{"id": id, "nickname": in.Nickname, "age_tier": in.AgeTier, "created_at": time.Now().UTC().Format(time.RFC3339)})
	case strings.HasPrefix(r.URL.Path, "/v1/children/") && strings.HasSuffix(r.URL.Path, "/link-codes"):
		email, ok := f.bearer(r, f.parentToks)
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/children/"), "/link-codes")
		f.mu.Lock()
		owner := f.children[id]
		code := strings.ToUpper(tok()[:8])
		if ok && owner == email {
			f.codes[code] = id
		}
		f.mu.Unlock()
		if !ok || owner != email {
			f.fail(w, http.StatusUnauthorized, "unauthorized", "not your child")
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"code": code, "expires_at": time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)})
	case r.URL.Path == "/v1/devices/link":
		var in struct {
			Code string `json:"code"`
		}
		if !f.decode(w, r, &in) {
			return
		}
		f.mu.Lock()
		id, ok := f.codes[in.Code]
		delete(f.codes, in.Code)
		t := tok()
		if ok {
			f.childToks[t] = id
		}
		f.mu.Unlock()
		if !ok {
			f.fail(w, http.StatusBadRequest, "invalid_code", in.Code)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"access_token": t, "token_type": "Bearer", "expires_in": 900, "child": map[string]string{"id": id}})
	case r.URL.Path == "/v1/chat":
		id, ok := f.bearer(r, f.childToks)
		if !ok {
			f.fail(w, http.StatusUnauthorized, "unauthorized", "child token")
			return
		}
		var in struct {
			Message string `json:"message"`
		}
		if !f.decode(w, r, &in) {
			return
		}
		if in.Message == "" {
			f.fail(w, http.StatusBadRequest, "empty_message", "")
			return
		}
		if f.hangChat != nil {
			select {
			case <-f.hangChat:
			case <-r.Context().Done():
				return
			}
		}
		if f.chatDelay > 0 {
			time.Sleep(f.chatDelay)
		}
		n := f.chats.Add(1)
		if f.chat503Every > 0 && n%f.chat503Every == 0 {
			f.chat503.Add(1)
			w.Header().Set("Retry-After", "1")
			f.fail(w, http.StatusServiceUnavailable, "no_leader", "try again")
			return
		}
		if f.failClosedEvery > 0 && n%f.failClosedEvery == 0 {
			f.failClosed.Add(1)
			writeJSON(w, http.StatusOK, map[string]any{"turn": map[string]any{"id": tok(), "reply": "withheld", "safety": map[string]any{"fail_closed": true}}})
			return
		}
		if f.badBody {
			writeJSON(w, http.StatusOK, map[string]any{"ok": true})
			return
		}
		c, _ := f.perChild.LoadOrStore(id, new(atomic.Int64))
		seq := c.(*atomic.Int64).Add(1)
		f.chatOK.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{"turn": map[string]any{"id": tok(), "seq": seq, "reply": "Woof! " + in.Message}})
	case r.URL.Path == "/v1/games" || r.URL.Path == "/v1/games/current/moves":
		if _, ok := f.bearer(r, f.childToks); !ok {
			f.fail(w, http.StatusUnauthorized, "unauthorized", "child token")
			return
		}
		var in struct {
			Kind string `json:"kind,omitempty"`
			Move string `json:"move,omitempty"`
		}
		if !f.decode(w, r, &in) {
			return
		}
		if (r.URL.Path == "/v1/games") != (in.Kind != "") || (in.Kind == "" && in.Move == "") {
			f.fail(w, http.StatusBadRequest, "invalid_game", r.URL.Path)
			return
		}
		f.games.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{"turn": map[string]any{"id": tok(), "reply": "Let's play!"}, "game": nil})
	default:
		f.fail(w, http.StatusNotFound, "not_found", r.URL.Path)
	}
}

// serveGet answers Daisy's state and a metrics document shaped like a node's.
func (f *fakeAPI) serveGet(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/chat/daisy":
		if _, ok := f.bearer(r, f.childToks); !ok {
			f.fail(w, http.StatusUnauthorized, "unauthorized", "child token")
			return
		}
		f.daisyReads.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{"mood": "happy", "hunger": 2, "energy": 5})
	case "/v1/metrics":
		n := uint64(f.chatOK.Load() + f.games.Load())
		// Every turn "spends" 2ms in policy (bucket ≤ 2ms) and 5ms in Raft.
		hist := func(count uint64, ms float64, bucket int) map[string]any {
			b := make([]map[string]any, 4)
			for i, le := range []float64{1, 2, 5, -1} {
				c := uint64(0)
				if i == bucket {
					c = count
				}
				b[i] = map[string]any{"le_ms": le, "count": c}
			}
			return map[string]any{"count": count, "sum_ms": float64(count) * ms, "buckets": b}
		}
		f.scrapes.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{
			"requests": map[string]uint64{"total": n, "5xx": uint64(f.chat503.Load())},
			"timings":  map[string]any{"turn": hist(n, 10, 3), "policy_eval": hist(2*n, 1, 0), "raft_apply": hist(n, 5, 2)},
			"fsm":      map[string]uint64{"batches": n / 2, "entries": n},
			"cache":    map[string]uint64{"hits": 3 * n, "misses": n},
			"process":  map[string]int64{"goroutines": 10, "open_fds": 5},
		})
	default:
		f.fail(w, http.StatusNotFound, "not_found", r.URL.Path)
	}
}

// start serves f on n TLS listeners sharing its state and returns their URLs
// and a PEM file trusting them (httptest servers share one test certificate).
func (f *fakeAPI) start(t *testing.T, n int) (urls []string, caFile string) {
	t.Helper()
	for range n {
		s := httptest.NewUnstartedServer(f)
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				f.newConns.Add(1)
			}
		}
		s.StartTLS()
		t.Cleanup(func() {
			if f.hangChat != nil {
				select {
				case <-f.hangChat:
				default:
					close(f.hangChat)
				}
			}
			s.Close()
		})
		urls = append(urls, s.URL)
		if caFile == "" {
			caFile = filepath.Join(t.TempDir(), "ca.pem")
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
			if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return urls, caFile
}

func (f *fakeAPI) checkNoBadRequests(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.badRequests) > 0 {
		t.Errorf("fake saw %d bad requests, first: %s", len(f.badRequests), f.badRequests[0])
	}
	if len(f.childToks) == 0 {
		t.Errorf("no child linked")
	}
}

func (f *fakeAPI) String() string {
	return fmt.Sprintf("chats=%d ok=%d 503=%d conns=%d", f.chats.Load(), f.chatOK.Load(), f.chat503.Load(), f.newConns.Load())
}
