package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// setupWorkers is how many children are created at once: setupParallel,
// more for large families (10,000 children at 8 at a time take minutes).
func setupWorkers(n int) int { return min(max(setupParallel, n/200), maxSetupParallel) }

// ageTier is the tier of every bench child: 13-17. A profile under 13
// cannot chat until a parent with a verified e-mail address consents
// (node/api/consent.go), and a load generator has no parent's mailbox; the
// safety policy does the same work for every tier (thresholds differ, not
// the evaluation).
func ageTier(int) string { return "13-17" }

// child is one linked device: the token a bench client chats with.
type child struct {
	id    string
	token string
}

// setup creates one parent and n linked children, spreading requests over
// the targets. It stops at the first error.
func setup(ctx context.Context, c *client, n int) ([]child, error) {
	email := "bench-" + randomHex(8) + "@example.test"
	password := randomPassword(20)

	if err := c.setupCall(ctx, "sign up parent", "/v1/parents/signup", "",
		map[string]string{"email": email, "password": password}, nil); err != nil {
		return nil, err
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.setupCall(ctx, "log in parent", "/v1/auth/login", "",
		map[string]string{"email": email, "password": password}, &login); err != nil {
		return nil, err
	}
	if login.AccessToken == "" {
		return nil, errors.New("bench: log in parent: no access_token in response")
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	children := make([]child, n)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		next     = make(chan int)
	)
	for range min(setupWorkers(n), n) {
		wg.Go(func() {
			for i := range next {
				ch, err := createChild(ctx, c, login.AccessToken, i)
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					continue
				}
				children[i] = ch
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return children, nil
}

// createChild creates child i, a link code for it, and redeems the code.
func createChild(ctx context.Context, c *client, parentToken string, i int) (child, error) {
	var created struct {
		ID string `json:"id"`
	}
	// A generated nickname can happen to spell a word the nickname filter
	// refuses (422): try a few others before giving up.
	for attempt := 0; ; attempt++ {
		body := map[string]string{"nickname": nickname(i + attempt*MaxChildren), "age_tier": ageTier(i)}
		err := c.setupCall(ctx, fmt.Sprintf("create child %d", i), "/v1/children", parentToken, body, &created)
		if err == nil {
			break
		}
		if attempt >= 3 || !strings.Contains(err.Error(), "HTTP 422") {
			return child{}, err
		}
	}
	if created.ID == "" {
		return child{}, fmt.Errorf("bench: create child %d: no id in response", i)
	}
	var code struct {
		Code string `json:"code"`
	}
	if err := c.setupCall(ctx, fmt.Sprintf("link code for child %d", i),
		"/v1/children/"+created.ID+"/link-codes", parentToken, nil, &code); err != nil {
		return child{}, err
	}
	if code.Code == "" {
		return child{}, fmt.Errorf("bench: link code for child %d: no code in response", i)
	}
	var link struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.setupCall(ctx, fmt.Sprintf("link device for child %d", i), "/v1/devices/link", "",
		map[string]string{"code": code.Code}, &link); err != nil {
		return child{}, err
	}
	if link.AccessToken == "" {
		return child{}, fmt.Errorf("bench: link device for child %d: no access_token in response", i)
	}
	return child{id: created.ID, token: link.AccessToken}, nil
}

// nickname is "Pup" plus a letters-only suffix unique per i (bijective
// base 26: A … Z, AA, AB …), at most 24 characters.
func nickname(i int) string {
	var suf []byte
	for n := i + 1; n > 0; n = (n - 1) / 26 {
		suf = append(suf, byte('A'+(n-1)%26))
	}
	for l, r := 0, len(suf)-1; l < r; l, r = l+1, r-1 {
		suf[l], suf[r] = suf[r], suf[l]
	}
	return "Pup" + string(suf[:1]) + strings.ToLower(string(suf[1:]))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// randomPassword returns n characters from [A-Za-z0-9] with at least one of
// each class, drawn without modulo bias.
func randomPassword(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for {
		out := make([]byte, 0, n)
		var buf [64]byte
		for len(out) < n {
			_, _ = rand.Read(buf[:])
			for _, b := range buf {
				if int(b) < 256-256%len(alphabet) && len(out) < n {
					out = append(out, alphabet[int(b)%len(alphabet)])
				}
			}
		}
		s := string(out)
		if strings.ContainsAny(s, alphabet[:26]) && strings.ContainsAny(s, alphabet[26:52]) && strings.ContainsAny(s, alphabet[52:]) {
			return s
		}
	}
}
