package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"daisydog/node/auth"
)

// teenChats signs up a parent (email), adds a child of 13-17 (no consent
// needed), links a device and sends msgs as the child; it returns the
// device's access token.
func teenChats(t *testing.T, api *apiClient, base, email string, msgs ...string) string {
	t.Helper()
	parent := map[string]string{"email": email, "password": "a long passphrase here"}
	api.must(201, "POST", base+"/v1/parents/signup", "", parent)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	api.must(200, "POST", base+"/v1/auth/login", "", parent).decode(t, &login)
	var child struct{ ID string }
	api.must(201, "POST", base+"/v1/children", login.AccessToken, map[string]string{"nickname": "Robin", "age_tier": "13-17"}).decode(t, &child)
	var code struct{ Code string }
	api.must(201, "POST", base+"/v1/children/"+child.ID+"/link-codes", login.AccessToken, nil).decode(t, &code)
	var dev struct {
		AccessToken string `json:"access_token"`
	}
	api.must(201, "POST", base+"/v1/devices/link", "", map[string]string{"code": code.Code}).decode(t, &dev)
	for _, m := range msgs {
		api.must(200, "POST", base+"/v1/chat", dev.AccessToken, map[string]string{"message": m})
	}
	return dev.AccessToken
}

// TestBrowserStaffDashboard drives the staff dashboard (/ui/staff.html)
// in a real headless Chromium against a real node: the first login of an
// administrator created with `daisydog admin create` (password, then
// enrolling TOTP with the key the page shows, then the one-time recovery
// codes), the live cluster, traffic and safety views (a child's escalated
// turn shows up in them), the moderation queue (a stated reason, the
// excerpt, recording a review closes the event), accessibility basics and
// a phone-sized screen, and logging out.
func TestBrowserStaffDashboard(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	browser := chromiumPath(t)
	e := newEnv(t)
	p, base, dir, caPath := startUINode(t, e, "staff")
	api := newAPIClient(t, caPath)
	const adminEmail, adminPassword = "staff@example.org", "correct horse battery staple"
	if out, err := cliEnv([]string{"DAISYDOG_ADMIN_PASSWORD=" + adminPassword}, "admin", "create", "--data", dir, "--email", adminEmail); err != nil {
		t.Fatalf("admin create: %v\n%s", err, out)
	}
	// A family whose teenager (no consent needed) sends a message the
	// policy escalates.
	device := teenChats(t, api, base, "family@example.com", "hello daisy", "a man in a car asked me to come with him")

	// A client can fetch the API's description from a running node.
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	api.must(200, "GET", base+"/v1/openapi.json", "", nil).decode(t, &doc)
	if roles, _ := doc.Paths["/v1/chat"]["post"]["x-roles"].([]any); doc.OpenAPI != "3.1.0" || len(doc.Paths) < 50 ||
		doc.Paths["/v1/admin/dashboard"]["get"] == nil || len(roles) != 1 || roles[0] != "child" {
		t.Fatalf("OpenAPI document: %q, %d paths, chat roles %v", doc.OpenAPI, len(doc.Paths), roles)
	}

	b := newBrowserRun(t, browser, p)
	step, read, wait := b.step, b.read, pollUntil
	type css = chromedp.CSS
	stat := func(key string) string { // a value of the dashboard's lists
		return `(Array.from(document.querySelectorAll("dd")).find(d => d.dataset.key === "` + key + `")?.textContent || "")`
	}

	step("open the staff page", chromedp.Navigate(base+"/ui/staff.html"), chromedp.WaitVisible(css("#login-form")))
	step("the password step",
		chromedp.SendKeys(css("#login-email"), adminEmail),
		chromedp.SendKeys(css("#login-password"), adminPassword),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#mfa-view")),
		chromedp.WaitVisible(css("#mfa-enroll")))
	secret := strings.TrimSpace(read(chromedp.Text(css("#mfa-secret"))))
	totp, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatalf("the key the page showed (%q): %v", secret, err)
	}
	step("enrol the authenticator",
		chromedp.SendKeys(css("#mfa-code"), totp),
		chromedp.Click(css("#mfa-submit")),
		chromedp.WaitVisible(css("#recovery-view")),
		wait(`document.querySelectorAll("#recovery-codes li").length >= 8`))
	step("the dashboard",
		chromedp.Click(css("#recovery-done")),
		chromedp.WaitVisible(css("#dash-view")),
		wait(stat("role")+` === "Leader"`),
		// The member as it answered on the cluster port: a leader, up to date.
		wait(`(() => { const li = document.querySelector("#members li[data-answered='true']");
			return li !== null && li.textContent.includes("leader, applied ") && li.textContent.includes("(up to date), CA ") })()`),
		wait(`Number(`+stat("escalated")+`) >= 1`),
		wait(`Number(`+stat("open events")+`) === 1`),
		wait(`Number(`+stat("children")+`) === 1 && Number(`+stat("turns (24 h)")+`) >= 2 && Number(`+stat("children who chatted (24 h)")+`) === 1`),
		// The trend: fourteen days, today first, with the turns and the
		// escalation of this test.
		wait(`(() => { const rows = document.querySelectorAll("#daily tbody tr");
			if (rows.length !== 14) return false;
			const c = Array.from(rows[0].cells).map(td => td.textContent);
			return c[0] === new Date().toISOString().slice(0, 10) && Number(c[1]) >= 2 && Number(c[2]) === 1 && Number(c[3]) >= 1 && c[4] !== "—" })()`),
		wait(`document.getElementById("who").textContent === "admin"`))
	turns := read(chromedp.Evaluate[string](stat("turns stored here")))
	policy := read(chromedp.Evaluate[string](stat("active policy")))
	// A second refresh has a previous one: the rates show numbers.
	step("rates after a refresh", wait(stat("requests per second")+`.endsWith("/s")`))
	step("download the usage report",
		chromedp.Click(css("#report-csv")),
		wait(`document.getElementById("status").textContent.startsWith("Usage report saved as daisydog-usage-")`),
		wait(`document.getElementById("status").textContent.endsWith("(30 days).")`))
	step("the open queue, with a reason",
		chromedp.SendKeys(css("#queue-reason"), "daily review of the queue"),
		chromedp.Click(css("#queue-load")),
		wait(`document.querySelectorAll("#queue li.event").length === 1`))
	excerpt := read(chromedp.Text(css("#queue li.event blockquote")))
	problems := read(chromedp.Evaluate[string](a11yCheck))
	var keyboard string
	step("the dashboard by keyboard", keyboardCheck(&keyboard))
	step("a phone-sized screen", chromedp.EmulateViewport(360, 740),
		wait(`document.querySelectorAll("#queue li.event").length === 1`))
	overflow := read(chromedp.Evaluate[string](overflowCheck))
	step("take the event",
		wait(`document.querySelector("#queue li.event .held").textContent === "nobody is on it"`),
		chromedp.Click(css("#queue li.event button.take")),
		wait(`document.querySelector("#queue li.event .held").textContent.startsWith("assigned to st_")`),
		wait(`document.getElementById("status").textContent === "Assigned."`),
		wait(stat("open and nobody on it")+` === "0"`))
	step("pause the child's chat",
		chromedp.Click(css("#queue li.event button.hold")),
		wait(`document.getElementById("status").textContent.startsWith("The child's chat is paused")`))
	api.must(423, "POST", base+"/v1/chat", device, map[string]string{"message": "are you there?"})
	step("resume the child's chat",
		chromedp.Click(css("#queue li.event button.unhold")),
		wait(`document.getElementById("status").textContent === "The child's chat is resumed."`))
	api.must(200, "POST", base+"/v1/chat", device, map[string]string{"message": "hello again"})
	step("record a review",
		chromedp.SetValue(css("#queue li.event select"), "false_positive"),
		chromedp.Click(css("#queue li.event button.review")),
		wait(`document.getElementById("status").textContent.startsWith("Review recorded")`),
		wait(`document.querySelectorAll("#queue li.event").length === 0`),
		wait(`Number(`+stat("open events")+`) === 0`),
		wait(stat("false positives by policy")+`.includes(": 1")`))
	step("log out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login-view")))
	status := read(chromedp.Text(css("#status")))

	if n := strings.TrimSpace(turns); n == "" || n == "0" {
		t.Errorf("turns stored %q, want at least the two chat turns", turns)
	}
	if !strings.HasPrefix(policy, "default@") {
		t.Errorf("active policy shown %q", policy)
	}
	if !strings.Contains(excerpt, "man in a car") {
		t.Errorf("queue excerpt %q", excerpt)
	}
	if problems != "" {
		t.Errorf("accessibility: %s", problems)
	}
	if keyboard != "" {
		t.Errorf("keyboard: %s", keyboard)
	}
	if overflow != "" {
		t.Errorf("at 360 px wide: %s", overflow)
	}
	if !strings.Contains(status, "logged out") {
		t.Errorf("status after logout %q", status)
	}
}
