// DaisyDog parent console. The access token lives in memory only; the
// refresh token is an HttpOnly cookie the page never sees. Requests that
// rely on the cookie (/v1/ui/...) carry the CSRF token in a header.
"use strict";

const state = { token: "", csrf: "", child: null, consent: null };
const $ = (id) => document.getElementById(id);

function csrfFromCookie() {
  const m = document.cookie.match(/(?:^|;\s*)__Host-dd_csrf=([^;]+)/);
  return m ? m[1] : "";
}

function show(view) {
  for (const v of ["login-view", "family-view", "child-view"]) $(v).hidden = v !== view;
  $("logout").hidden = view === "login-view";
}

function say(msg) { $("status").textContent = msg || ""; }

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (res.status === 401 && state.token && await refresh()) {
    headers["Authorization"] = "Bearer " + state.token;
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Error((data.error && data.error.message) || ("request failed: " + res.status));
  return data;
}

async function uiPost(path, body) {
  const headers = { "X-CSRF-Token": state.csrf || csrfFromCookie() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
}

async function refresh() {
  if (!csrfFromCookie()) return false;
  const res = await uiPost("/v1/ui/refresh");
  if (!res.ok) { state.token = ""; return false; }
  const d = await res.json();
  state.token = d.access_token; state.csrf = d.csrf_token;
  return true;
}

async function login(ev) {
  ev.preventDefault();
  say("");
  const res = await uiPost("/v1/ui/login", { email: $("login-email").value, password: $("login-password").value });
  const d = await res.json();
  if (!res.ok) { say(d.error ? d.error.message : "login failed"); return; }
  state.token = d.access_token; state.csrf = d.csrf_token;
  $("login-password").value = "";
  await showFamily();
}

async function logout() {
  await uiPost("/v1/ui/logout");
  state.token = ""; state.csrf = ""; state.child = null;
  show("login-view");
  say("You are logged out.");
}

function item(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  return li;
}

async function showFamily() {
  const me = await api("GET", "/v1/parents/me");
  $("verify-box").hidden = me.email_verified;
  const d = await api("GET", "/v1/children");
  const ul = $("children");
  ul.replaceChildren();
  for (const c of d.children) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.textContent = c.nickname + " (" + c.age_tier + ")" + (c.consent_required ? " — needs your consent" : "");
    b.className = "child";
    b.addEventListener("click", () => showChild(c));
    li.append(b);
    ul.append(li);
  }
  show("family-view");
}

async function addChild(ev) {
  ev.preventDefault();
  try {
    await api("POST", "/v1/children", { nickname: $("child-nickname").value, age_tier: $("child-tier").value });
    $("child-nickname").value = "";
    say("Child added.");
    await showFamily();
  } catch (e) { say(e.message); }
}

async function showChild(c) {
  state.child = c;
  $("child-title").textContent = c.nickname + " (" + c.age_tier + ")";
  $("link-code-value").textContent = "";
  show("child-view");
  await Promise.all([loadConsent(), loadDevices(), loadSettings(), loadTurns()]);
}

async function verifyEmail(ev) {
  ev.preventDefault();
  try {
    await api("POST", "/v1/auth/verify-email", { token: $("verify-code").value.trim() });
    $("verify-code").value = "";
    say("E-mail address confirmed.");
    await showFamily();
  } catch (e) { say(e.message); }
}

async function resendVerification() {
  try {
    await api("POST", "/v1/parents/me/verification-email");
    say("We sent the e-mail again.");
  } catch (e) { say(e.message); }
}

// Consent: a child under 13 cannot chat until a parent consents to the
// current privacy notice; withdrawing it stops the child's devices at once.
async function loadConsent() {
  const st = await api("GET", "/v1/children/" + state.child.id + "/consent");
  state.consent = st;
  const nick = state.child.nickname;
  let text;
  if (st.active) {
    text = "You gave consent on " + st.active.granted_at + " under privacy notice version " + st.active.notice_version + ".";
  } else if (st.required) {
    text = nick + " cannot chat until you give consent. Please read the privacy notice (version " + st.notice_version + ", /v1/privacy) first.";
  } else {
    text = "No consent is needed for a 13–17 profile.";
  }
  $("consent-text").textContent = text;
  $("consent-give").hidden = !!st.active || !st.required;
  $("consent-withdraw").hidden = !st.active;
}

async function giveConsent() {
  try {
    await api("POST", "/v1/children/" + state.child.id + "/consent", { notice_version: state.consent.notice_version, method: "email_plus" });
    say("Consent recorded. We sent a confirmation to your e-mail address.");
    await loadConsent();
  } catch (e) { say(e.message); }
}

async function withdrawConsent() {
  try {
    await api("DELETE", "/v1/children/" + state.child.id + "/consent");
    say("Consent withdrawn: " + state.child.nickname + "'s devices can no longer chat.");
    await loadConsent();
  } catch (e) { say(e.message); }
}

async function loadDevices() {
  const d = await api("GET", "/v1/children/" + state.child.id + "/devices");
  const ul = $("devices");
  ul.replaceChildren();
  for (const dev of d.devices) {
    const li = item("Device linked " + dev.linked_at + (dev.revoked_at ? " — revoked" : ""));
    if (!dev.revoked_at) {
      const b = document.createElement("button");
      b.textContent = "Revoke";
      b.addEventListener("click", async () => {
        await api("DELETE", "/v1/children/" + state.child.id + "/devices/" + dev.id);
        await loadDevices();
      });
      li.append(" ", b);
    }
    ul.append(li);
  }
}

async function loadSettings() {
  const s = await api("GET", "/v1/children/" + state.child.id + "/settings");
  $("set-limit").value = s.daily_limit_minutes;
  $("set-tz").value = s.time_zone;
  $("set-games").checked = s.features.games;
  $("set-jokes").checked = s.features.jokes;
  $("set-stories").checked = s.features.stories;
  $("set-strictness").value = s.strictness;
  state.settings = s;
}

async function saveSettings(ev) {
  ev.preventDefault();
  const s = state.settings;
  const body = {
    daily_limit_minutes: Number($("set-limit").value), time_zone: $("set-tz").value, bedtime: s.bedtime,
    features: Object.assign({}, s.features, { games: $("set-games").checked, jokes: $("set-jokes").checked, stories: $("set-stories").checked }),
    strictness: $("set-strictness").value,
  };
  try {
    state.settings = await api("PUT", "/v1/children/" + state.child.id + "/settings", body);
    say("Settings saved.");
  } catch (e) { say(e.message); }
}

async function loadTurns() {
  const d = await api("GET", "/v1/children/" + state.child.id + "/turns");
  const ol = $("turns");
  ol.replaceChildren();
  for (const t of d.turns || []) {
    ol.append(item(t.message, "turn-in"));
    ol.append(item("Daisy: " + t.reply));
    if (t.safety && t.safety.escalated) ol.append(item("⚠ flagged for review: " + t.safety.categories.join(", "), "flag"));
  }
}

async function linkCode() {
  const d = await api("POST", "/v1/children/" + state.child.id + "/link-codes");
  $("link-code-value").textContent = d.code;
}

async function start() {
  $("login-form").addEventListener("submit", login);
  $("child-form").addEventListener("submit", addChild);
  $("settings-form").addEventListener("submit", saveSettings);
  $("logout").addEventListener("click", logout);
  $("back").addEventListener("click", showFamily);
  $("link-code").addEventListener("click", linkCode);
  $("verify-form").addEventListener("submit", verifyEmail);
  $("verify-resend").addEventListener("click", resendVerification);
  $("consent-give").addEventListener("click", giveConsent);
  $("consent-withdraw").addEventListener("click", withdrawConsent);
  if (await refresh()) { await showFamily(); } else { show("login-view"); }
}

start().catch((e) => say(e.message));
