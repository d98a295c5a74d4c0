package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"daisydog/node/llm"
)

// aiFlags configure the optional AI provider. The API key comes from an
// environment variable or a file, never from a flag (flags show up in
// process listings), and is never logged.
type aiFlags struct {
	url, model, keyEnv, keyFile string
	timeout                     time.Duration
	budget                      int
}

func (a *aiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.url, "ai-url", "", "optional OpenAI-compatible API base URL for richer replies, e.g. http://127.0.0.1:8080/v1 (off when empty)")
	fs.StringVar(&a.model, "ai-model", "", "model name to ask the AI provider for")
	fs.StringVar(&a.keyEnv, "ai-key-env", "DAISYDOG_AI_KEY", "environment variable holding the AI provider's API key (if any)")
	fs.StringVar(&a.keyFile, "ai-key-file", "", "file holding the AI provider's API key (instead of the environment)")
	fs.DurationVar(&a.timeout, "ai-timeout", llm.DefaultTimeout, "strict timeout for one AI provider call (then the built-in reply)")
	fs.IntVar(&a.budget, "ai-daily-budget", llm.DefaultDailyBudget, "AI provider calls per child per day")
}

// config returns the provider configuration, or nil when none is set.
func (a *aiFlags) config() (*llm.Config, error) {
	if a.url == "" {
		if a.model != "" || a.keyFile != "" {
			return nil, errors.New("--ai-model/--ai-key-file need --ai-url")
		}
		return nil, nil
	}
	key := ""
	switch {
	case a.keyFile != "":
		b, err := os.ReadFile(a.keyFile)
		if err != nil {
			return nil, fmt.Errorf("reading --ai-key-file: %w", err)
		}
		key = strings.TrimSpace(string(b))
	case a.keyEnv != "":
		key = strings.TrimSpace(os.Getenv(a.keyEnv))
	}
	if a.budget < 1 {
		return nil, errors.New("--ai-daily-budget must be at least 1")
	}
	c := &llm.Config{URL: a.url, Model: a.model, APIKey: key, Timeout: a.timeout, DailyBudget: a.budget}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
