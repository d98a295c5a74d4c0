//go:build wasip1

// Command wordpolicy is a tiny data-driven test policy: it blocks (as
// profanity) any message containing a word listed, one per line, in the
// bundle data file "blocked.txt", and allows everything else. With
// "crash.txt" present in the data it refuses the data (the host must then
// refuse the bundle).
package main

import (
	"encoding/json"
	"errors"
	"strings"

	"daisydog/policies/sdk"
)

var blocked = map[string]bool{}

func init() {
	sdk.OnData(func(data []byte) error {
		var files map[string]string
		if err := json.Unmarshal(data, &files); err != nil {
			return err
		}
		if _, ok := files["crash.txt"]; ok {
			return errors.New("refused")
		}
		for _, w := range strings.Fields(files["blocked.txt"]) {
			blocked[strings.ToLower(w)] = true
		}
		return nil
	})
	sdk.Serve(func(in sdk.Input) sdk.Verdict {
		for _, w := range strings.FieldsFunc(strings.ToLower(in.Text), func(r rune) bool { return !(r >= 'a' && r <= 'z') }) {
			if blocked[w] {
				return sdk.Verdict{Action: sdk.ActionBlock, Categories: []string{sdk.CategoryProfanity}, Severity: 2, Rules: []string{"word." + w}}
			}
		}
		return sdk.Verdict{Action: sdk.ActionAllow}
	})
}

func main() {}
