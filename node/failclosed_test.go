package node

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"daisydog/wasm/wasmtest"
)

// A policy that returns garbage must never let a turn through unchecked: the
// turn fails closed (a safe reply, the message withheld, a safety event) and
// the node keeps serving.
func TestBrokenPolicyFailsClosed(t *testing.T) {
	t.Parallel()
	const allow = `{"action":"allow","escalate":false,"categories":[],"severity":0,"spans":[],"rules":[]}`
	modules := map[string][]byte{
		"traps":          wasmtest.FlakyPolicy(allow, []byte{wasmtest.OpUnreachable}),
		"loops forever":  wasmtest.FlakyPolicy(allow, []byte{wasmtest.OpLoop, wasmtest.BlockEmpty, wasmtest.OpBr, 0, wasmtest.OpEnd}),
		"invalid json":   wasmtest.FlakyPolicy(allow, wasmtest.Cat(wasmtest.I64Const(int64(65536+1024)<<32|4), []byte{wasmtest.OpReturn})),
		"unknown action": wasmtest.FlakyPolicy(allow, wasmtest.Cat(wasmtest.I64Const(int64(65536+2048)<<32|17), []byte{wasmtest.OpReturn})),
	}
	for name, mod := range modules {
		t.Run(name, func(t *testing.T) {
			// Set the family up under the real policy (nicknames are checked too),
			// then restart the node on the broken one.
			// The parent's address is verified, so an escalated turn would
			// e-mail them (node/api/alerts.go).
			outbox := func(c *Config) { c.MailOutbox = filepath.Join(c.DataDir, "outbox", "mail.jsonl") }
			good := startCluster(t, 1, outbox)[0]
			const email = "failclosed@example.test"
			fam := newFamily(t, good, email, "Ziggy", "5-8") // verifies the address (consent for a 5-8 profile)
			good.stop(t)
			n := startTestNode(t, good.dir, func(c *Config) { outbox(c); c.PolicyModule = mod })
			waitFor(t, 30e9, "ready", func() error { return n.ready(context.Background()) })

			for i := 0; i < 3; i++ { // the node keeps serving after each failure
				st, tr := n.chat(t, fam.childToken, "tell me a joke about my phone 555-123-4567 "+strings.Repeat("and then a story about a very good dog ", 4))
				if st != 200 {
					t.Fatalf("turn %d: status %d", i, st)
				}
				if !tr.Turn.Safety.FailClosed || tr.Turn.Intent != "unavailable" {
					t.Fatalf("turn %d did not fail closed: %+v", i, tr.Turn)
				}
				if strings.Contains(tr.Turn.Message, "555") {
					t.Fatalf("unchecked message stored: %q", tr.Turn.Message)
				}
			}
			if c, err := n.DB().SafetyEventCount(context.Background(), "policy_failure"); err != nil || c != 3 {
				t.Fatalf("policy_failure events = %d, %v", c, err)
			}
			// A policy failure is not something the child wrote: no alert
			// to the parents (the safety events above tell the moderators).
			for _, e := range n.outbox(t) {
				if e.Kind == "safety_alert" {
					t.Fatalf("parents alerted about a policy failure: %q", e.Subject)
				}
			}
			if st, _ := n.call(t, "GET", "/healthz", "", nil, nil); st != 200 {
				t.Fatalf("healthz after failures: %d", st)
			}
		})
	}
}
