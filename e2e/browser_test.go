package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath finds a Chromium/Chrome binary. Without one the browser
// test skips locally and fails in CI (CI=true), where `make test` installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("a Chromium browser is required in CI (make test installs the chromium package) but none is on PATH")
	}
	t.Skip("no Chromium browser on PATH; skipping the real-browser test (apt-get install -y chromium)")
	return ""
}

// a11yCheck lists basic accessibility problems of the page ("" = none):
// no language, a visible form control without a label, a button without
// text, no live status region, a visible text whose contrast with what is
// behind it is below WCAG 2.1 AA.
const a11yCheck = `(() => {
  const p = [];
  if (!document.documentElement.lang) p.push("no lang on <html>");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.offsetParent !== null && el.labels.length === 0 && !el.getAttribute("aria-label")) p.push("unlabelled " + el.id);
  }
  for (const b of document.querySelectorAll("button")) {
    if (b.offsetParent !== null && b.textContent.trim() === "" && !b.getAttribute("aria-label")) p.push("unnamed button " + b.id);
  }
  const s = document.getElementById("status");
  if (!s || s.getAttribute("role") !== "status") p.push("no status region");
  // Contrast (WCAG 2.1 AA): every visible text at least 4.5:1 against what
  // is behind it, 3:1 when large (24 px, or 18.67 px bold).
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0)) return c;
    }
    return [255, 255, 255];
  };
  let checked = 0;
  for (const el of document.querySelectorAll("body *")) {
    if (el.offsetParent === null) continue;
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim() !== "");
    if (!own) continue;
    const st = getComputedStyle(el);
    const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const a = lum(rgb(st.color)), b = lum(behind(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    checked++;
    if (ratio < need) p.push("contrast " + ratio.toFixed(2) + " < " + need + " on " + (el.id || el.tagName.toLowerCase() + "." + el.className) + " (\"" + el.textContent.trim().slice(0, 20) + "\")");
  }
  if (checked === 0) p.push("no visible text to check the contrast of");
  return p.slice(0, 8).join("; ");
})()`

// keyboardCheck tabs through the page (Tab key events, as a keyboard user)
// and lists the problems into *res ("" = none): a visible control that
// Tab never reaches, or a focused control without a visible focus
// indicator (an outline or a shadow).
func keyboardCheck(res *string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		var none chromedp.Void
		mark := `(() => { let i = 0;
			for (const e of document.querySelectorAll("a[href], button, input, select, textarea")) {
				delete e.dataset.kb;
				if (e.offsetParent !== null && !e.disabled) e.dataset.kb = String(i++);
			}
			document.activeElement && document.activeElement.blur();
			return i })()`
		controls, err := chromedp.Evaluate[int](mark)(ctx, tg)
		if err != nil {
			return none, err
		}
		type focus struct {
			KB, Name, Outline, Shadow string
		}
		focused := `(() => { const e = document.activeElement, s = getComputedStyle(e);
			return {KB: e.dataset.kb || "", Name: e.id || e.textContent.trim().slice(0, 20) || e.tagName,
				Outline: s.outlineStyle === "none" ? "" : s.outlineWidth, Shadow: s.boxShadow === "none" ? "" : s.boxShadow} })()`
		reached := map[string]bool{}
		var problems []string
		for i := 0; i < controls+10 && len(reached) < controls; i++ {
			if _, err := chromedp.KeyEvent(kb.Tab)(ctx, tg); err != nil {
				return none, err
			}
			cur, err := chromedp.Evaluate[focus](focused)(ctx, tg)
			if err != nil {
				return none, err
			}
			if cur.KB == "" || reached[cur.KB] {
				continue
			}
			reached[cur.KB] = true
			if (cur.Outline == "" || cur.Outline == "0px") && cur.Shadow == "" {
				problems = append(problems, "no visible focus on "+cur.Name)
			}
		}
		if controls == 0 {
			problems = append(problems, "no control to reach")
		}
		if len(reached) < controls {
			list := `Array.from(document.querySelectorAll("[data-kb]")).map(e => e.dataset.kb + ":" + (e.id || e.textContent.trim().slice(0, 20)))`
			marked, err := chromedp.Evaluate[[]string](list)(ctx, tg)
			if err != nil {
				return none, err
			}
			for _, m := range marked {
				if k, name, _ := strings.Cut(m, ":"); !reached[k] {
					problems = append(problems, "not reachable by Tab: "+name)
				}
			}
		}
		*res = strings.Join(problems, "; ")
		return none, nil
	}
}

// overflowCheck names the visible elements wider than the viewport ("" =
// none): on a phone nothing may need sideways scrolling.
const overflowCheck = `(() => {
  const w = document.documentElement.clientWidth, p = [];
  if (document.documentElement.scrollWidth > w) p.push("page " + document.documentElement.scrollWidth + " > " + w);
  for (const el of document.querySelectorAll("main *")) {
    const r = el.getBoundingClientRect();
    if (el.offsetParent !== null && r.right > w + 1) p.push((el.id || el.tagName) + " ends at " + Math.round(r.right));
  }
  return p.slice(0, 5).join("; ");
})()`

// TestBrowserParentConsole drives the embedded parent console in a real
// headless Chromium against a real node: log in (cookie session with
// CSRF), confirm the e-mail address with the code from the mail outbox,
// add a child (9-12), give consent (withdraw it and give it again), show a
// device link code, change a setting, reload (the session survives through
// the HttpOnly cookie), log out; the code then links a device that chats.
func TestBrowserParentConsole(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	browser := chromiumPath(t)
	e := newEnv(t)
	p, base, dir, caPath := startUINode(t, e, "ui")
	api := newAPIClient(t, caPath)
	creds := map[string]string{"email": "browser@example.com", "password": "a long passphrase here"}
	api.must(201, "POST", base+"/v1/parents/signup", "", creds)

	b := newBrowserRun(t, browser, p)
	step, read, wait := b.step, b.read, pollUntil
	type css = chromedp.CSS
	step("open the console", chromedp.Navigate(base+"/"))
	step("see the login form", chromedp.WaitVisible(css("#login-form")))
	step("log in",
		chromedp.SendKeys(css("#login-email"), creds["email"]),
		chromedp.SendKeys(css("#login-password"), creds["password"]),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#family-view")),
		chromedp.WaitVisible(css("#verify-box")))
	_, mailBody := mailedFrom(t, filepath.Join(dir, "outbox", "mail.jsonl"), creds["email"], "verify_email", 1)
	step("confirm the e-mail address",
		chromedp.SendKeys(css("#verify-code"), mailTokenRe.FindString(mailBody)),
		chromedp.Click(css("#verify-submit")),
		wait(`document.getElementById("status").textContent === "E-mail address confirmed."`),
		wait(`document.getElementById("verify-box").hidden`))
	step("add a child and open it",
		chromedp.SendKeys(css("#child-nickname"), "Pip"),
		chromedp.Click(css("#child-submit")),
		chromedp.WaitVisible(css("button.child")))
	childButton := read(chromedp.Text(css("button.child")))
	step("open the child", chromedp.Click(css("button.child")), chromedp.WaitVisible(css("#child-view")),
		wait(`document.getElementById("consent-text").textContent.includes("cannot chat until you give consent")`))
	step("give consent",
		chromedp.Click(css("#consent-give")),
		wait(`document.getElementById("status").textContent.startsWith("Consent recorded")`),
		wait(`document.getElementById("consent-text").textContent.startsWith("You gave consent on")`),
		wait(`document.getElementById("consent-give").hidden && !document.getElementById("consent-withdraw").hidden`))
	step("withdraw it and give it again",
		chromedp.Click(css("#consent-withdraw")),
		wait(`document.getElementById("status").textContent.startsWith("Consent withdrawn")`),
		wait(`!document.getElementById("consent-give").hidden`),
		chromedp.Click(css("#consent-give")),
		wait(`document.getElementById("status").textContent.startsWith("Consent recorded")`))
	step("show a link code",
		chromedp.Click(css("#link-code")),
		wait(`document.getElementById("link-code-value").textContent.length > 0`))
	code := read(chromedp.Text(css("#link-code-value")))
	// The code the browser showed links a real device, which may chat: the
	// consent given in the browser is in force. Its message is one long
	// word, which the conversation list must wrap on a phone.
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	api.must(201, "POST", base+"/v1/devices/link", "", map[string]string{"code": code}).decode(t, &dev)
	api.must(200, "POST", base+"/v1/chat", dev.AccessToken, map[string]string{"message": "hello daisy"})
	api.must(200, "POST", base+"/v1/chat", dev.AccessToken, map[string]string{"message": "W" + strings.Repeat("o", 150) + "f"})
	step("change the daily limit",
		chromedp.SetValue(css("#set-limit"), "45"),
		chromedp.Click(css("#settings-submit")),
		wait(`document.getElementById("status").textContent === "Settings saved."`))
	// A reload keeps the session: the page refreshes through the cookie.
	step("reload and reopen the child",
		chromedp.Reload(),
		chromedp.WaitVisible(css("#family-view")),
		chromedp.Click(css("button.child")),
		chromedp.WaitVisible(css("#child-view")),
		wait(`document.getElementById("set-limit").value !== ""`))
	limit := read(chromedp.Value(css("#set-limit")))
	// Accessibility basics on the child view: a language, every control
	// named (a label or text), a live status region. Then a phone-sized
	// screen: nothing wider than the viewport in either view.
	problems := read(chromedp.Evaluate[string](a11yCheck))
	var keyboard string
	step("the child view by keyboard", keyboardCheck(&keyboard))
	step("a phone-sized screen", chromedp.EmulateViewport(360, 740), chromedp.Reload(),
		chromedp.WaitVisible(css("#family-view")), chromedp.Click(css("button.child")), chromedp.WaitVisible(css("#child-view")),
		wait(`document.getElementById("set-limit").value !== ""`),
		wait(`document.querySelectorAll("#turns li").length >= 4`))
	childOverflow := read(chromedp.Evaluate[string](overflowCheck))
	step("the family view on the phone", chromedp.Click(css("#back")), chromedp.WaitVisible(css("#family-view")))
	familyOverflow := read(chromedp.Evaluate[string](overflowCheck))
	step("log out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login-view")))
	status := read(chromedp.Text(css("#status")))
	// After logout a reload shows the login page: the cookie is gone.
	step("reload after logout", chromedp.Reload(), chromedp.WaitVisible(css("#login-view")))
	if !regexp.MustCompile(`^[0-9A-Z]{5}-[0-9A-Z]{5}$`).MatchString(code) {
		t.Errorf("link code shown %q, want XXXXX-XXXXX", code)
	}
	if limit != "45" {
		t.Errorf("daily limit after reload %q, want 45", limit)
	}
	if problems != "" {
		t.Errorf("accessibility: %s", problems)
	}
	if keyboard != "" {
		t.Errorf("keyboard: %s", keyboard)
	}
	if childOverflow != "" || familyOverflow != "" {
		t.Errorf("at 360 px wide: child view %q, family view %q", childOverflow, familyOverflow)
	}
	if !strings.Contains(status, "logged out") {
		t.Errorf("status after logout %q", status)
	}
	if !strings.Contains(childButton, "needs your consent") {
		t.Errorf("a new 9-12 child listed as %q, want it marked as needing consent", childButton)
	}
	if _, body := mailedFrom(t, filepath.Join(dir, "outbox", "mail.jsonl"), creds["email"], "consent_confirmation", 2); !strings.Contains(body, "Pip") {
		t.Errorf("second consent confirmation %q", body)
	}
}

// startUINode starts one node for a browser test (data under e.root/name)
// and waits until it is ready; it returns the process, the base URL, the
// data directory and the path of the cluster's CA certificate.
func startUINode(t *testing.T, e *env, name string) (p *proc, base, dir, caPath string) {
	t.Helper()
	addrs := freeAddrs(t, 2)
	dir = filepath.Join(e.root, name)
	p = e.start("run", "run", "--data", dir, "--http", addrs[0], "--raft", addrs[1])
	base = "https://" + addrs[0]
	caPath = filepath.Join(dir, "tls", "ca.crt")
	waitFor(t, startTimeout, "the node to be ready", func() (bool, string) {
		if p.exited() {
			t.Fatalf("daisydog run %s", p.state())
		}
		if _, err := os.Stat(caPath); err != nil {
			return false, err.Error()
		}
		r, err := newAPIClient(t, caPath).get(base+"/readyz", "")
		if err != nil {
			return false, err.Error()
		}
		return r.Status == 200, r.String()
	})
	return p, base, dir, caPath
}

// browserRun is one headless Chromium (a throwaway profile) driving the
// node p serves; it is closed when the test ends, and a whole run may take
// 90 s.
type browserRun struct {
	t   *testing.T
	ctx context.Context
	p   *proc
}

func newBrowserRun(t *testing.T, browser string, p *proc) *browserRun {
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0], chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		// The node's certificate comes from the cluster's own CA, which this
		// throwaway browser profile does not trust.
		chromedp.IgnoreCertErrors,
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	return &browserRun{t: t, ctx: ctx, p: p}
}

// step runs browser actions; a failure ends the test with the node's
// last log lines.
func (b *browserRun) step(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v\nnode stderr tail:\n%s", what, err, tail(b.p.stderrText(), 20, 4<<10))
	}
}

// read evaluates one value in the page.
func (b *browserRun) read(a chromedp.Action[string]) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("browser: read: %v", err)
	}
	return v
}

// pollUntil waits (up to 20 s) until the JavaScript expression is true.
func pollUntil(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))
}
