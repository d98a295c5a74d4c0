package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
)

// apiClient speaks the public HTTPS API, trusting only the cluster CA.
type apiClient struct {
	t  testing.TB
	hc *http.Client
}

func newAPIClient(t testing.TB, caFile string) *apiClient {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("reading the cluster CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", caFile)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &apiClient{t: t, hc: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

// apiResp is a complete HTTP response.
type apiResp struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration
}

func (r apiResp) String() string {
	b := r.Body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(b))
}

// decode unmarshals the body into v or fails the test.
func (r apiResp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response %s is not the expected JSON: %v", r, err)
	}
}

// do sends a request; body (if not nil) is sent as JSON; token (if not
// empty) as a bearer token. A transport error is returned, not fatal.
func (a *apiClient) do(method, url, token string, body any) (apiResp, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiResp{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return apiResp{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	begin := time.Now()
	res, err := a.hc.Do(req)
	if err != nil {
		return apiResp{Elapsed: time.Since(begin)}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	return apiResp{Status: res.StatusCode, Header: res.Header, Body: data, Elapsed: time.Since(begin)}, err
}

func (a *apiClient) get(url, token string) (apiResp, error) {
	return a.do(http.MethodGet, url, token, nil)
}

// must sends a request and fails the test unless the status is want.
func (a *apiClient) must(want int, method, url, token string, body any) apiResp {
	a.t.Helper()
	r, err := a.do(method, url, token, body)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, url, err)
	}
	if r.Status != want {
		a.t.Fatalf("%s %s: want %d, got %s", method, url, want, r)
	}
	return r
}

// family is a parent with one child and one linked device.
type family struct {
	email, password string
	parentID        string
	parentToken     string
	childID         string
	nickname        string
	childToken      string
}

// newFamily signs a parent up, creates a child and links a device, all
// through n's API. Empty email or nickname get random ones. On a cluster
// with a mail outbox the child is 9-12 and the parent confirms their
// address and consents, as the console asks; without one (the fault
// scenarios) it is a 13-17 profile, which needs no parental consent.
func (c *cluster) newFamily(n *node, email, nickname string) *family {
	c.t.Helper()
	outbox, tier := c.outbox(), "13-17"
	if outbox != "" {
		tier = "9-12"
	}
	f := &family{email: email, nickname: nickname, password: "correct horse battery " + randLetters(8)}
	if f.email == "" {
		f.email = "parent-" + randLetters(10) + "@example.test"
	}
	randomNick := f.nickname == ""
	var signup struct {
		ParentID string `json:"parent_id"`
	}
	c.api.must(201, "POST", n.url("/v1/parents/signup"), "", map[string]string{"email": f.email, "password": f.password}).decode(c.t, &signup)
	f.parentID = signup.ParentID
	var login struct {
		AccessToken string `json:"access_token"`
	}
	c.api.must(200, "POST", n.url("/v1/auth/login"), "", map[string]string{"email": f.email, "password": f.password}).decode(c.t, &login)
	f.parentToken = login.AccessToken
	var child struct {
		ID       string `json:"id"`
		Nickname string `json:"nickname"`
	}
	for attempt := 0; ; attempt++ {
		if randomNick {
			f.nickname = "Pip" + randLetters(6)
		}
		r, err := c.api.do("POST", n.url("/v1/children"), f.parentToken, map[string]string{"nickname": f.nickname, "age_tier": tier})
		if err != nil {
			c.t.Fatal(err)
		}
		// A random nickname can happen to spell something the safety
		// policy refuses (422); that is the policy working, so draw another.
		if r.Status == 422 && randomNick && attempt < 10 {
			continue
		}
		if r.Status != 201 {
			c.t.Fatalf("POST %s: want 201, got %s", n.url("/v1/children"), r)
		}
		r.decode(c.t, &child)
		break
	}
	f.childID = child.ID
	if outbox != "" {
		c.consent(n, f.parentToken, f.email, f.childID)
	}
	var code struct {
		Code string `json:"code"`
	}
	c.api.must(201, "POST", n.url("/v1/children/"+f.childID+"/link-codes"), f.parentToken, nil).decode(c.t, &code)
	var link struct {
		AccessToken string `json:"access_token"`
		Child       struct {
			ID       string `json:"id"`
			Nickname string `json:"nickname"`
		} `json:"child"`
	}
	c.api.must(201, "POST", n.url("/v1/devices/link"), "", map[string]string{"code": code.Code}).decode(c.t, &link)
	if link.Child.ID != f.childID || link.AccessToken == "" {
		c.t.Fatalf("device link answered child %q (token %t), want child %q", link.Child.ID, link.AccessToken != "", f.childID)
	}
	f.childToken = link.AccessToken
	return f
}

// outbox is the mail outbox the cluster's nodes append to ("" if none).
func (c *cluster) outbox() string {
	for i, a := range c.tuning {
		if a == "--mail-outbox" && i+1 < len(c.tuning) {
			return c.tuning[i+1]
		}
	}
	return ""
}

// consent confirms the parent's address with the first verification
// e-mail in the outbox (if not confirmed yet) and records their consent
// for a child under 13 to the current privacy notice, through n.
func (c *cluster) consent(n *node, parentToken, email, childID string) {
	c.t.Helper()
	var me struct {
		EmailVerified bool `json:"email_verified"`
	}
	c.api.must(200, "GET", n.url("/v1/parents/me"), parentToken, nil).decode(c.t, &me)
	if !me.EmailVerified {
		_, body := mailedFrom(c.t, c.outbox(), email, "verify_email", 1)
		tok := mailTokenRe.FindString(body)
		c.api.must(200, "POST", n.url("/v1/auth/verify-email"), "", map[string]string{"token": tok})
	}
	var notice struct {
		Version string `json:"version"`
	}
	c.api.must(200, "GET", n.url("/v1/privacy"), "", nil).decode(c.t, &notice)
	c.api.must(201, "POST", n.url("/v1/children/"+childID+"/consent"), parentToken, map[string]string{"notice_version": notice.Version})
}

// turn is a chat turn as the API returns it.
type turn struct {
	ID      string `json:"id"`
	Seq     int64  `json:"seq"`
	Message string `json:"message"`
	Reply   string `json:"reply"`
	Intent  string `json:"intent"`
	Safety  *struct {
		Action     string   `json:"action"`
		Categories []string `json:"categories"`
	} `json:"safety"`
}

// chat sends one message as the child through n.
func (c *cluster) chat(n *node, f *family, msg string) (apiResp, error) {
	return c.api.do("POST", n.url("/v1/chat"), f.childToken, map[string]string{"message": msg})
}

// turnOf decodes a 200 chat response.
func turnOf(t testing.TB, r apiResp) turn {
	t.Helper()
	var body struct {
		Turn turn `json:"turn"`
	}
	r.decode(t, &body)
	if body.Turn.ID == "" {
		t.Fatalf("chat answered 200 without a turn id: %s", r)
	}
	return body.Turn
}

// history reads every turn of f's child from n, newest first, paginating
// with ?before=. parent selects the parent endpoint, else the child's own.
func (c *cluster) history(n *node, f *family, parent bool) []turn {
	c.t.Helper()
	var all []turn
	before := int64(0)
	for page := 0; page < 1000; page++ {
		q := "?limit=100"
		if before > 0 {
			q += "&before=" + strconv.FormatInt(before, 10)
		}
		url, token := n.url("/v1/chat"+q), f.childToken
		if parent {
			url, token = n.url("/v1/children/"+f.childID+"/turns"+q), f.parentToken
		}
		var body struct {
			Turns []turn `json:"turns"`
		}
		c.api.must(200, "GET", url, token, nil).decode(c.t, &body)
		for _, tu := range body.Turns {
			if before > 0 && tu.Seq >= before {
				c.t.Fatalf("%s: page before=%d holds turn seq %d", n.id, before, tu.Seq)
			}
			all = append(all, tu)
		}
		if len(body.Turns) < 100 {
			return all
		}
		before = body.Turns[len(body.Turns)-1].Seq
	}
	c.t.Fatalf("%s: history did not end after 1000 pages", n.id)
	return nil
}

const letters = "abcdefghijklmnopqrstuvwxyz"

// randLetters returns n random lower-case ASCII letters.
func randLetters(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}
