// DaisyDog staff dashboard (charter §7): live safety and performance views
// and the moderation queue. The access token lives in memory only (a reload
// asks for the password and code again); every value from the server is
// shown with textContent, never parsed as HTML (excerpts are children's
// words).
"use strict";

const state = { token: "", mfaToken: "", role: "", prev: null, timer: 0 };
const $ = (id) => document.getElementById(id);
const views = ["login-view", "mfa-view", "recovery-view", "dash-view"];

function show(view) {
  for (const v of views) $(v).hidden = v !== view;
  $("logout").hidden = view !== "dash-view" && view !== "recovery-view";
}

function say(msg) { $("status").textContent = msg || ""; }

async function api(method, path, body, token) {
  const headers = {};
  const tok = token === undefined ? state.token : token;
  if (tok) headers["Authorization"] = "Bearer " + tok;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit" });
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (res.status === 401 && state.token && tok === state.token) { endSession("Your session ended: log in again."); }
  if (!res.ok) throw new Error((data.error && data.error.message) || ("request failed: " + res.status));
  return data;
}

async function login(ev) {
  ev.preventDefault();
  say("");
  try {
    const d = await api("POST", "/v1/admin/login", { email: $("login-email").value, password: $("login-password").value }, "");
    $("login-password").value = "";
    state.mfaToken = d.mfa_token;
    $("mfa-enroll").hidden = d.mfa !== "enroll";
    $("mfa-secret").textContent = d.totp_secret || "";
    show("mfa-view");
    $("mfa-code").focus();
  } catch (e) { say(e.message); }
}

async function mfa(ev) {
  ev.preventDefault();
  try {
    const d = await api("POST", "/v1/admin/mfa", { mfa_token: state.mfaToken, code: $("mfa-code").value.trim() }, "");
    $("mfa-code").value = ""; $("mfa-secret").textContent = "";
    state.token = d.access_token; state.role = d.role; state.mfaToken = "";
    $("who").textContent = d.role;
    if (d.recovery_codes && d.recovery_codes.length) {
      $("recovery-codes").replaceChildren(...d.recovery_codes.map((c) => item(c)));
      show("recovery-view");
      return;
    }
    await startDashboard();
  } catch (e) { say(e.message); }
}

// downloadReport saves the usage report of the last 30 days as a CSV file
// (administrators only; GET /v1/admin/reports/usage.csv).
async function downloadReport() {
  try {
    const res = await fetch("/v1/admin/reports/usage.csv", { headers: { "Authorization": "Bearer " + state.token }, credentials: "omit" });
    if (!res.ok) throw new Error("the usage report could not be made: " + res.status);
    const name = (/filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "") || [])[1] || "daisydog-usage.csv";
    const text = await res.text();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    say("Usage report saved as " + name + " (" + (text.trim().split("\n").length - 1) + " days).");
  } catch (e) { say(e.message); }
}

async function logout() {
  try { await api("POST", "/v1/admin/logout"); } catch (e) { /* the session ends here either way */ }
  endSession("You are logged out.");
}

function endSession(msg) {
  clearInterval(state.timer);
  state.token = ""; state.role = ""; state.prev = null; state.timer = 0;
  $("who").textContent = "";
  $("queue").replaceChildren();
  show("login-view");
  say(msg);
}

function item(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  return li;
}

// fill replaces a <dl> with [term, value] pairs.
function fill(id, pairs) {
  const dl = $(id);
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = String(v);
    dd.dataset.key = k;
    dl.append(dt, dd);
  }
}

function counts(id, m) {
  const keys = Object.keys(m || {}).filter((k) => m[k] > 0).sort((a, b) => m[b] - m[a]);
  $(id).replaceChildren(...(keys.length ? keys.map((k) => item(k + ": " + m[k])) : [item("none yet")]));
}

// daily fills the trend table, newest day first.
function daily(days) {
  const rows = days.slice().reverse().map((x) => {
    const tr = document.createElement("tr");
    tr.dataset.day = x.day;
    const cats = Object.entries(x.events_by_category || {}).sort((a, b) => b[1] - a[1]).map(([k, c]) => k + " " + c).join(", ");
    for (const v of [x.day, x.turns, x.active_children, x.safety_events, cats || "—"]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.append(td);
    }
    return tr;
  });
  $("daily").tBodies[0].replaceChildren(...rows);
}

const ms = (h) => h && h.count ? h.p50_ms.toFixed(1) + " / " + h.p99_ms.toFixed(1) + " ms" : "—";

function rate(now, prev, f) {
  if (!prev) return "—";
  const dt = (Date.parse(now.at) - Date.parse(prev.at)) / 1000;
  return dt > 0 ? ((f(now) - f(prev)) / dt).toFixed(1) + "/s" : "—";
}

async function refresh() {
  try {
    const d = await api("GET", "/v1/admin/dashboard");
    const m = d.metrics, p = state.prev;
    const n = d.node || {};
    fill("cluster", [["server", n.id || "?"], ["role", n.state || "?"], ["leader", n.leader_id || "none"], ["term", n.term || 0],
      ["applied / committed", (n.applied_index || 0) + " / " + (n.commit_index || 0)], ["active policy", d.policy_version]]);
    const live = new Map((d.cluster || []).map((c) => [c.id, c]));
    $("members").replaceChildren(...(n.members || []).map((x) => {
      const c = live.get(x.id);
      const how = !c ? "" : !c.answered ? " — not answering" :
        " — " + c.state.toLowerCase() + ", applied " + c.applied_index + (c.behind ? " (" + c.behind + " behind)" : " (up to date)") + ", CA " + c.ca;
      const li = item(x.id + " (" + x.suffrage.toLowerCase() + (x.leader ? ", leader" : "") + ")" + how);
      li.dataset.member = x.id;
      li.dataset.answered = c ? String(c.answered) : "unknown";
      return li;
    }));
    fill("traffic", [["requests", m.requests.total], ["requests per second", rate(d, p, (x) => x.metrics.requests.total)],
      ["server errors (5xx)", m.requests["5xx"]], ["turns refused under overload", m.turns_shed],
      ["chat turn p50 / p99", ms(m.timings.turn)], ["policy p50 / p99", ms(m.timings.policy_eval)],
      ["Raft commit p50 / p99", ms(m.timings.raft_apply)], ["cache hit ratio", (100 * (m.cache.hit_ratio || 0)).toFixed(1) + "%"]]);
    const u = d.usage;
    fill("usage", [["families", u.families], ["children", u.children],
      ["children by age", Object.entries(u.children_by_tier || {}).map(([k, c]) => k + ": " + c).join(", ") || "none"],
      ["devices linked", u.devices_linked], ["children who chatted (24 h)", u.active_children],
      ["turns (24 h)", u.turns], ["safety events (24 h)", u.safety_events], ["counted at", d.usage_at]]);
    daily(d.daily || []);
    const s = m.safety;
    fill("safety", [["turns stored here", s.turns], ["turns per second", rate(d, p, (x) => x.metrics.safety.turns)],
      ["escalated", s.escalated], ["failed closed (policy could not decide)", s.fail_closed],
      ["parent alerts sent / failed", m.safety_alerts.sent + " / " + m.safety_alerts.failed],
      ["e-mails waiting", m.mail.pending]]);
    counts("actions", s.message_actions);
    counts("categories", s.message_categories);
    state.prev = d;
    await refreshModeration();
  } catch (e) { if (state.token) say(e.message); }
}

async function refreshModeration() {
  const q = await api("GET", "/v1/moderation/summary");
  const fp = Object.entries(q.false_positives_by_policy || {}).map(([v, c]) => v + ": " + c).join(", ") || "none";
  fill("moderation", [["open events", q.open], ["oldest open since", q.oldest_open_at || "—"],
    ["open by kind", Object.entries(q.open_by_kind).map(([k, c]) => k + " " + c).join(", ") || "none"],
    ["open and nobody on it", q.open_unassigned],
    ["open by moderator", Object.entries(q.open_by_assignee || {}).map(([k, c]) => k + " " + c).join(", ") || "none"],
    ["reviewed in " + q.days + " days", Object.entries(q.reviewed_by_outcome).map(([k, c]) => k + " " + c).join(", ") || "none"],
    ["false positives by policy", fp]]);
  state.outcomes = q.outcomes;
}

async function loadQueue(ev) {
  if (ev) ev.preventDefault();
  try {
    const reason = encodeURIComponent($("queue-reason").value.trim());
    const d = await api("GET", "/v1/moderation/flagged?status=open&limit=50&reason=" + reason);
    const ol = $("queue");
    ol.replaceChildren();
    for (const e of d.events) ol.append(eventItem(e));
    if (!d.events.length) ol.append(item("No open events."));
    say(d.events.length + " open event(s) shown; this read is in the audit log.");
  } catch (e) { say(e.message); }
}

function eventItem(e) {
  const li = document.createElement("li");
  li.className = "event";
  li.dataset.event = e.event_id;
  const head = document.createElement("p");
  head.textContent = e.created_at + " · " + e.kind + " · " + e.categories.join(", ");
  const text = document.createElement("blockquote");
  text.textContent = e.excerpt;
  const label = document.createElement("label");
  label.textContent = "Outcome ";
  const sel = document.createElement("select");
  for (const o of state.outcomes || ["no_action", "false_positive", "parent_contacted", "reported"]) {
    const opt = document.createElement("option"); opt.value = o; opt.textContent = o.replace("_", " "); sel.append(opt);
  }
  label.append(sel);
  const b = document.createElement("button");
  b.className = "review";
  b.textContent = "Record review";
  b.addEventListener("click", async () => {
    try {
      await api("POST", "/v1/moderation/events/" + encodeURIComponent(e.event_id) + "/review", { outcome: sel.value });
      li.remove();
      say("Review recorded: " + sel.value.replace("_", " ") + ".");
      await refreshModeration();
    } catch (err) { say(err.message); }
  });
  const held = document.createElement("p");
  held.className = "held";
  const showHolder = (as) => { held.textContent = as ? "assigned to " + as.assigned_to + " since " + as.assigned_at : "nobody is on it"; };
  showHolder(e.assignment);
  // action is a button whose click runs act and reports its errors.
  const action = (label, cls, act) => {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = cls;
    btn.textContent = label;
    btn.addEventListener("click", async () => {
      try { await act(); } catch (err) { say(err.message); }
    });
    return btn;
  };
  const assign = (who, label, cls) => action(label, cls, async () => {
    const r = await api("POST", "/v1/moderation/events/" + encodeURIComponent(e.event_id) + "/assign", { assignee: who });
    showHolder(r.assignment);
    say(r.assignment ? "Assigned." : "Released.");
    await refreshModeration();
  });
  const hold = (method, label, cls, done) => action(label, cls, async () => {
    await api(method, "/v1/moderation/children/" + encodeURIComponent(e.child_id) + "/hold",
      method === "PUT" ? { reason: "under_review" } : undefined);
    say(done);
  });
  li.append(head, text, held, assign("me", "Take it", "take"), assign("", "Release", "release"), label, b,
    hold("PUT", "Pause this child's chat", "hold", "The child's chat is paused until a moderator resumes it."),
    hold("DELETE", "Resume the child's chat", "unhold", "The child's chat is resumed."));
  return li;
}

async function startDashboard() {
  show("dash-view");
  $("report-box").hidden = state.role !== "admin";
  say("");
  await refresh();
  state.timer = setInterval(refresh, 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("mfa-form").addEventListener("submit", mfa);
  $("logout").addEventListener("click", logout);
  $("recovery-done").addEventListener("click", () => { $("recovery-codes").replaceChildren(); startDashboard(); });
  $("queue-form").addEventListener("submit", loadQueue);
  $("report-csv").addEventListener("click", downloadReport);
  show("login-view");
});
