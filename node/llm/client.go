package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults for a Config field left zero.
const (
	DefaultTimeout         = 2 * time.Second
	DefaultMaxTokens       = 120
	DefaultBreakerFailures = 3
	DefaultBreakerCooldown = 30 * time.Second
	DefaultDailyBudget     = 40
	// MaxReplyRunes: a longer reply is not a short chat line for a child.
	MaxReplyRunes = 500
	maxBody       = 64 << 10
)

// Config is the operator's provider configuration.
type Config struct {
	// URL is the API base, e.g. "http://127.0.0.1:8080/v1"; requests go to
	// URL + "/chat/completions".
	URL   string
	Model string
	// APIKey is sent as a bearer token when set. Never logged.
	APIKey string
	// Timeout bounds one whole call (connect, wait, read).
	Timeout   time.Duration
	MaxTokens int
	// BreakerFailures consecutive failures open the breaker for
	// BreakerCooldown; then one probe call is let through (half-open).
	BreakerFailures int
	BreakerCooldown time.Duration
	// DailyBudget is how many provider calls one child may cause per local
	// day (counted by the caller in the child's replicated usage).
	DailyBudget int
	// Now is the breaker's clock (default time.Now).
	Now func() time.Time
	// HTTPClient overrides the default client (tests, custom TLS roots).
	HTTPClient *http.Client
}

// Validate checks the operator's settings.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("llm: URL must be an absolute http(s) URL")
	}
	if u.User != nil {
		return errors.New("llm: put credentials in the API key, not the URL")
	}
	if strings.TrimSpace(c.Model) == "" {
		return errors.New("llm: model is required")
	}
	if c.Timeout < 0 || c.Timeout > time.Minute {
		return errors.New("llm: timeout must be between 0 and 1m")
	}
	if c.DailyBudget < 0 || c.MaxTokens < 0 || c.BreakerFailures < 0 || c.BreakerCooldown < 0 {
		return errors.New("llm: budget, max tokens and breaker settings must not be negative")
	}
	return nil
}

// String describes the configuration without the key.
func (c Config) String() string {
	return fmt.Sprintf("llm{url=%s model=%s key=%t timeout=%s budget=%d}", c.URL, c.Model, c.APIKey != "", c.Timeout, c.DailyBudget)
}

// Errors. Every one of them means: answer with the built-in engine.
var (
	ErrOpen     = errors.New("llm: circuit open")
	ErrProvider = errors.New("llm: provider failed")
	ErrUnusable = errors.New("llm: reply not usable")
)

// Client calls the provider. Safe for concurrent use.
type Client struct {
	cfg     Config
	http    *http.Client
	breaker *Breaker
}

// New builds a Client from a validated Config with defaults filled in.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = DefaultBreakerFailures
	}
	if cfg.BreakerCooldown == 0 {
		cfg.BreakerCooldown = DefaultBreakerCooldown
	}
	if cfg.DailyBudget == 0 {
		cfg.DailyBudget = DefaultDailyBudget
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return &Client{cfg: cfg, http: hc, breaker: NewBreaker(cfg.BreakerFailures, cfg.BreakerCooldown, cfg.Now)}, nil
}

// DailyBudget is the per-child daily number of calls.
func (c *Client) DailyBudget() int { return c.cfg.DailyBudget }

// Breaker exposes the circuit breaker (metrics, tests).
func (c *Client) Breaker() *Breaker { return c.breaker }

// BreakerState is the circuit breaker's state (Closed, Open, HalfOpen).
func (c *Client) BreakerState() string { return c.breaker.State() }

// Prompt is all the provider ever learns about a turn: the age tier and the
// child's message after the safety policy redacted it.
type Prompt struct {
	Tier    string
	Message string
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []chatMessage `json:"messages"`
	MaxTokens   int           `json:"max_tokens"`
	Temperature float64       `json:"temperature"`
	Stream      bool          `json:"stream"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

// Messages builds the request messages: the fixed persona for the tier,
// then the message. Exported so a test can see exactly what is sent.
func Messages(p Prompt) []chatMessage {
	return []chatMessage{{Role: "system", Content: persona(p.Tier)}, {Role: "user", Content: p.Message}}
}

func persona(tier string) string {
	words := map[string]string{
		"5-8":   "Use very simple, short words a 6-year-old understands.",
		"9-12":  "Use friendly, simple language for a 10-year-old.",
		"13-17": "Talk naturally to a teenager, warm but not babyish.",
	}[tier]
	if words == "" {
		words = "Use very simple, short words a 6-year-old understands."
	}
	return "You are Daisy, a friendly, playful cartoon dog who chats with a child. " + words +
		" Answer in one to three short sentences and stay in character as a dog." +
		" Never ask for or mention personal information (names, addresses, schools, phone numbers, e-mail, photos, locations)." +
		" Never suggest meeting anyone, never give links or contact details, never ask the child to keep a secret." +
		" If the child seems sad, scared or unsafe, kindly tell them to talk to a trusted grown-up."
}

// Reply asks the provider for Daisy's answer. Any error (breaker open,
// timeout, HTTP error, malformed or unusable reply) means: do not use it.
func (c *Client) Reply(ctx context.Context, p Prompt) (string, error) {
	done, ok := c.breaker.Allow()
	if !ok {
		return "", ErrOpen
	}
	text, err := c.call(ctx, p)
	// An unusable (but delivered) reply is the provider working: it does
	// not count towards opening the breaker.
	done(err == nil || errors.Is(err, ErrUnusable))
	return text, err
}

func (c *Client) call(ctx context.Context, p Prompt) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	body, err := json.Marshal(chatRequest{Model: c.cfg.Model, Messages: Messages(p), MaxTokens: c.cfg.MaxTokens, Temperature: 0.7})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrProvider, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	res, err := c.http.Do(req)
	if err != nil {
		// The error names the URL, never the key (it is in a header).
		return "", fmt.Errorf("%w: %v", ErrProvider, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return "", fmt.Errorf("%w: reading reply: %v", ErrProvider, err)
	}
	if res.StatusCode != http.StatusOK {
		// The body may say "billing" or "quota": it is never passed on.
		return "", fmt.Errorf("%w: status %d", ErrProvider, res.StatusCode)
	}
	if len(data) > maxBody {
		return "", fmt.Errorf("%w: reply too large", ErrProvider)
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil || len(cr.Choices) == 0 {
		return "", fmt.Errorf("%w: malformed reply", ErrProvider)
	}
	return clean(cr.Choices[0].Message.Content)
}

var (
	spaceRe = regexp.MustCompile(`\s+`)
	// Operational or out-of-character text a child must never see.
	// Defence in depth beside the output policy: contact details, links
	// and meeting up have no place in a reply from Daisy.
	contactRe     = regexp.MustCompile(`(?i)https?://|www\.|\b[a-z0-9-]+\.(com|org|net|io|co|uk|app|gg|me|ly|tv|de|fr)\b|\S+@\S+|\d(?:[\s.()-]?\d){6,}`)
	meetRe        = regexp.MustCompile(`(?i)\b(meet (up|me|you|in person)|let'?s meet|come over|come to my|visit (you|me)|your (house|home|address|school)|my (house|address)|where do you live|in person|real life)\b`)
	operationalRe = regexp.MustCompile(`(?i)\b(billing|quota|rate.?limit|api.?key|credits?|subscription|payment|error|unavailable|overloaded|server|as an ai|language model|openai|assistant|tokens?)\b`)
)

// clean normalises whitespace and refuses empty, overlong or operational
// replies (the output safety policy still checks what remains).
func clean(s string) (string, error) {
	s = strings.TrimSpace(spaceRe.ReplaceAllString(s, " "))
	switch {
	case s == "":
		return "", fmt.Errorf("%w: empty", ErrUnusable)
	case utf8.RuneCountInString(s) > MaxReplyRunes:
		return "", fmt.Errorf("%w: too long", ErrUnusable)
	case operationalRe.MatchString(s):
		return "", fmt.Errorf("%w: operational or out of character", ErrUnusable)
	case contactRe.MatchString(s):
		return "", fmt.Errorf("%w: contact details or a link", ErrUnusable)
	case meetRe.MatchString(s):
		return "", fmt.Errorf("%w: meeting up", ErrUnusable)
	case !utf8.ValidString(s):
		return "", fmt.Errorf("%w: invalid text", ErrUnusable)
	}
	return s, nil
}
