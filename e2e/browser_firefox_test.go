package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"daisydog/node/auth"
)

// firefoxPath finds Firefox. Without it the Firefox test skips locally and
// fails in CI (CI=true), where `make test` installs it (firefox-esr).
func firefoxPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Firefox is required in CI (make test installs the firefox-esr package) but none is on PATH")
	}
	t.Skip("no Firefox on PATH; skipping the Firefox browser test (apt-get install -y firefox-esr)")
	return ""
}

// startFirefox runs a headless Firefox with a throwaway profile and returns
// a BiDi page of it; the browser is stopped when the test ends.
func startFirefox(t *testing.T, ctx context.Context, browser string) *bidiPage {
	t.Helper()
	profile := t.TempDir()
	cmd := exec.Command(browser, "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port=0", "about:blank")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "HOME="+profile)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "WebDriver BiDi listening on "); ok {
				urls <- strings.TrimSpace(u)
			}
		}
	}()
	var wsURL string
	select {
	case wsURL = <-urls:
	case <-ctx.Done():
		t.Fatalf("Firefox did not open its WebDriver BiDi port: %v", ctx.Err())
	}
	c, err := dialBiDi(ctx, wsURL+"/session")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	page, err := newBiDiPage(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// TestBrowserFirefox drives the parent console in a real headless Firefox
// (WebDriver BiDi, bidi_test.go) — the second browser engine after
// Chromium (TestBrowserParentConsole): log in with typed keys, confirm the
// e-mail address, add a child, give consent, show a link code that links
// a device, reload (the cookie session survives), the accessibility,
// keyboard and phone-width checks, log out.
func TestBrowserFirefox(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	browser := firefoxPath(t)
	e := newEnv(t)
	p, base, dir, caPath := startUINode(t, e, "ui-firefox")
	api := newAPIClient(t, caPath)
	creds := map[string]string{"email": "firefox@example.com", "password": "a long passphrase here"}
	api.must(201, "POST", base+"/v1/parents/signup", "", creds)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	page := startFirefox(t, ctx, browser)
	step := firefoxStep(t, p)
	status := func(prefix string) string {
		return fmt.Sprintf(`document.getElementById("status").textContent.startsWith(%q)`, prefix)
	}
	step("open the console", page.navigate(ctx, base+"/"))
	step("see the login form", page.waitTrue(ctx, visible("login-form")))
	step("type the e-mail", page.typeInto(ctx, "#login-email", creds["email"]))
	step("type the password", page.typeInto(ctx, "#login-password", creds["password"]))
	step("log in", page.click(ctx, "#login-submit"))
	step("see the family", page.waitTrue(ctx, visible("family-view")+" && "+visible("verify-box")))
	_, mailBody := mailedFrom(t, filepath.Join(dir, "outbox", "mail.jsonl"), creds["email"], "verify_email", 1)
	step("type the code", page.typeInto(ctx, "#verify-code", mailTokenRe.FindString(mailBody)))
	step("confirm the e-mail address", page.click(ctx, "#verify-submit"))
	step("see it confirmed", page.waitTrue(ctx, status("E-mail address confirmed.")+` && document.getElementById("verify-box").hidden`))
	step("type a nickname", page.typeInto(ctx, "#child-nickname", "Fox"))
	step("add the child", page.click(ctx, "#child-submit"))
	step("see the child", page.waitTrue(ctx, `document.querySelector("button.child") !== null`))
	step("open the child", page.click(ctx, "button.child"))
	step("see the consent request", page.waitTrue(ctx, visible("child-view")+
		` && document.getElementById("consent-text").textContent.includes("cannot chat until you give consent")`))
	step("give consent", page.click(ctx, "#consent-give"))
	step("see consent recorded", page.waitTrue(ctx, status("Consent recorded")))
	step("show a link code", page.click(ctx, "#link-code"))
	step("see the code", page.waitTrue(ctx, `document.getElementById("link-code-value").textContent.length > 0`))
	code, err := page.evalString(ctx, `document.getElementById("link-code-value").textContent`)
	step("read the code", err)
	if !regexp.MustCompile(`^[0-9A-Z]{5}-[0-9A-Z]{5}$`).MatchString(code) {
		t.Fatalf("link code shown %q, want XXXXX-XXXXX", code)
	}
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	api.must(201, "POST", base+"/v1/devices/link", "", map[string]string{"code": code}).decode(t, &dev)
	api.must(200, "POST", base+"/v1/chat", dev.AccessToken, map[string]string{"message": "hello daisy"})

	// A reload keeps the session (HttpOnly cookie); the turn is listed.
	step("reload", page.reload(ctx))
	step("see the family again", page.waitTrue(ctx, visible("family-view")))
	step("reopen the child", page.click(ctx, "button.child"))
	step("see the conversation", page.waitTrue(ctx, visible("child-view")+` && document.querySelectorAll("#turns li").length >= 2`))
	problems, err := page.evalString(ctx, a11yCheck)
	step("accessibility check", err)
	keyboard, err := firefoxKeyboardCheck(ctx, page)
	step("keyboard check", err)
	step("a phone-sized screen", page.setViewport(ctx, 360, 740))
	step("reload on the phone", page.reload(ctx))
	step("see the family on the phone", page.waitTrue(ctx, visible("family-view")))
	familyOverflow, err := page.evalString(ctx, overflowCheck)
	step("family view width", err)
	step("open the child on the phone", page.click(ctx, "button.child"))
	step("see the child on the phone", page.waitTrue(ctx, visible("child-view")+` && document.querySelectorAll("#turns li").length >= 2`))
	childOverflow, err := page.evalString(ctx, overflowCheck)
	step("child view width", err)
	step("log out", page.click(ctx, "#logout"))
	step("see the login page", page.waitTrue(ctx, visible("login-view")+" && "+status("")))
	loggedOut, err := page.evalString(ctx, `document.getElementById("status").textContent`)
	step("read the status", err)
	step("reload after logout", page.reload(ctx))
	step("still logged out", page.waitTrue(ctx, visible("login-view")))

	if problems != "" {
		t.Errorf("accessibility in Firefox: %s", problems)
	}
	if keyboard != "" {
		t.Errorf("keyboard in Firefox: %s", keyboard)
	}
	if childOverflow != "" || familyOverflow != "" {
		t.Errorf("Firefox at 360 px wide: child view %q, family view %q", childOverflow, familyOverflow)
	}
	if !strings.Contains(loggedOut, "logged out") {
		t.Errorf("status after logout %q", loggedOut)
	}
}

// firefoxStep returns a step checker for a Firefox test of the node p: a
// failed step ends the test with the node's last log lines.
func firefoxStep(t *testing.T, p *proc) func(what string, err error) {
	return func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("firefox: %s: %v\nnode stderr tail:\n%s", what, err, tail(p.stderrText(), 20, 4<<10))
		}
	}
}

// visible is a JavaScript test that the element with that id is shown.
func visible(id string) string {
	return fmt.Sprintf(`document.getElementById(%q) && document.getElementById(%q).offsetParent !== null`, id, id)
}

// firefoxKeyboardCheck is the reach half of keyboardCheck (browser_test.go)
// over BiDi: Tab through the page; every visible control must be reached.
// The focus ring is checked in Chromium only: a headless Firefox window
// never holds the system's focus (document.hasFocus() is false even after
// browsingContext.activate), so no element matches :focus there.
func firefoxKeyboardCheck(ctx context.Context, page *bidiPage) (string, error) {
	v, err := page.eval(ctx, `(() => { let i = 0;
		for (const e of document.querySelectorAll("a[href], button, input, select, textarea")) {
			delete e.dataset.kb;
			if (e.offsetParent !== null && !e.disabled) e.dataset.kb = String(i++);
		}
		document.activeElement && document.activeElement.blur();
		return String(i) })()`)
	if err != nil {
		return "", err
	}
	var controls int
	fmt.Sscan(fmt.Sprint(v), &controls)
	reached := map[string]bool{}
	var problems []string
	for i := 0; i < controls+10 && len(reached) < controls; i++ {
		if err := page.pressKey(ctx, "\uE004"); err != nil { // Tab
			return "", err
		}
		cur, err := page.evalString(ctx, `document.activeElement.dataset.kb || ""`)
		if err != nil {
			return "", err
		}
		if cur != "" {
			reached[cur] = true
		}
	}
	if controls == 0 {
		problems = append(problems, "no control to reach")
	}
	if len(reached) < controls {
		problems = append(problems, fmt.Sprintf("Tab reached %d of %d controls", len(reached), controls))
	}
	return strings.Join(problems, "; "), nil
}

// TestBrowserFirefoxStaffDashboard drives the staff dashboard in a real
// headless Firefox: an administrator's first login (password, enrolling
// TOTP with the key the page shows, the recovery codes), the live views
// with a child's escalated turn in them, the usage report's download, the
// moderation queue with a stated reason, the contrast and Tab-reach
// checks, logging out.
func TestBrowserFirefoxStaffDashboard(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	browser := firefoxPath(t)
	e := newEnv(t)
	p, base, dir, caPath := startUINode(t, e, "staff-firefox")
	api := newAPIClient(t, caPath)
	const adminEmail, adminPassword = "fox-staff@example.org", "correct horse battery staple"
	if out, err := cliEnv([]string{"DAISYDOG_ADMIN_PASSWORD=" + adminPassword}, "admin", "create", "--data", dir, "--email", adminEmail); err != nil {
		t.Fatalf("admin create: %v\n%s", err, out)
	}
	teenChats(t, api, base, "fox-family@example.com", "a man in a car asked me to come with him")

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	page := startFirefox(t, ctx, browser)
	step := firefoxStep(t, p)
	stat := func(key string) string {
		return `(Array.from(document.querySelectorAll("dd")).find(d => d.dataset.key === "` + key + `")?.textContent || "")`
	}
	step("open the staff page", page.navigate(ctx, base+"/ui/staff.html"))
	step("see the login form", page.waitTrue(ctx, visible("login-form")))
	step("type the e-mail", page.typeInto(ctx, "#login-email", adminEmail))
	step("type the password", page.typeInto(ctx, "#login-password", adminPassword))
	step("the password step", page.click(ctx, "#login-submit"))
	step("see the enrolment", page.waitTrue(ctx, visible("mfa-enroll")+` && document.getElementById("mfa-secret").textContent.length > 0`))
	secret, err := page.evalString(ctx, `document.getElementById("mfa-secret").textContent.trim()`)
	step("read the key", err)
	totp, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatalf("the key the page showed (%q): %v", secret, err)
	}
	step("type the code", page.typeInto(ctx, "#mfa-code", totp))
	step("enrol", page.click(ctx, "#mfa-submit"))
	step("see the recovery codes", page.waitTrue(ctx, `document.querySelectorAll("#recovery-codes li").length >= 8`))
	step("saved them", page.click(ctx, "#recovery-done"))
	step("the dashboard", page.waitTrue(ctx, visible("dash-view")))
	step("the dashboard's numbers", page.waitTrue(ctx, stat("role")+` === "Leader" && Number(`+stat("open events")+`) === 1`+
		` && document.querySelectorAll("#daily tbody tr").length === 14`))
	step("download the usage report", page.click(ctx, "#report-csv"))
	step("see it saved", page.waitTrue(ctx, `document.getElementById("status").textContent.startsWith("Usage report saved as daisydog-usage-")`))
	step("type a reason", page.typeInto(ctx, "#queue-reason", "daily review of the queue"))
	step("show the queue", page.click(ctx, "#queue-load"))
	step("see the event", page.waitTrue(ctx, `document.querySelectorAll("#queue li.event").length === 1`))
	excerpt, err := page.evalString(ctx, `document.querySelector("#queue li.event blockquote").textContent`)
	step("read the excerpt", err)
	problems, err := page.evalString(ctx, a11yCheck)
	step("accessibility check", err)
	keyboard, err := firefoxKeyboardCheck(ctx, page)
	step("keyboard check", err)
	step("log out", page.click(ctx, "#logout"))
	step("see the login page", page.waitTrue(ctx, visible("login-view")))

	if !strings.Contains(excerpt, "a man in a car") {
		t.Errorf("queued excerpt %q", excerpt)
	}
	if problems != "" {
		t.Errorf("accessibility in Firefox: %s", problems)
	}
	if keyboard != "" {
		t.Errorf("keyboard in Firefox: %s", keyboard)
	}
}
