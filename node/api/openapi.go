package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/julienschmidt/httprouter"

	"daisydog/storage"
)

// The OpenAPI 3.1 document of the HTTP API (GET /v1/openapi.json, public),
// built from the route table itself: every registered route appears with
// the roles its handler declared, and a route without an entry in
// operationDocs fails TestOpenAPICoversEveryRoute. Request and response
// bodies are JSON Schemas — generated from the Go types the handlers
// encode where there is one, written out otherwise — and the API tests
// check every 2xx JSON answer they receive against the document
// (harness_test.go), so it cannot drift from what the server sends. The
// prose reference, with every error code and limit, is docs/api.md.

// schema is a JSON Schema fragment.
type schema = map[string]any

var (
	sString  = schema{"type": "string"}
	sInt     = schema{"type": "integer"}
	sNum     = schema{"type": "number"}
	sBool    = schema{"type": "boolean"}
	sAnyObj  = schema{"type": "object"}
	sStrings = schema{"type": "array", "items": sString}
)

// prop is one property of an object schema; req marks it always present.
type prop struct {
	name string
	s    schema
	req  bool
}

func req(name string, s schema) prop { return prop{name, s, true} }
func opt(name string, s schema) prop { return prop{name, s, false} }

func obj(props ...prop) schema {
	ps := schema{}
	var required []string
	for _, p := range props {
		ps[p.name] = p.s
		if p.req {
			required = append(required, p.name)
		}
	}
	out := schema{"type": "object", "properties": ps}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func arrayOf(s schema) schema  { return schema{"type": "array", "items": s} }
func mapOf(s schema) schema    { return schema{"type": "object", "additionalProperties": s} }
func nullable(s schema) schema { return schema{"anyOf": []any{s, schema{"type": "null"}}} }
func described(s schema, d string) schema {
	out := schema{}
	for k, v := range s {
		out[k] = v
	}
	out["description"] = d
	return out
}

// typeSchema derives a schema from the Go type a handler encodes: exported
// fields by their json names, `omitempty` fields optional, the others
// required; pointers, slices and maps may be null when empty.
func typeSchema(t reflect.Type) schema { return typeSchemaSeen(t, map[reflect.Type]bool{}) }

var (
	rawMessage = reflect.TypeOf(json.RawMessage(nil))
	marshaler  = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
)

func typeSchemaSeen(t reflect.Type, seen map[reflect.Type]bool) schema {
	if t == rawMessage || t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler) {
		return schema{} // any JSON
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(typeSchemaSeen(t.Elem(), seen))
	case reflect.String:
		return sString
	case reflect.Bool:
		return sBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return sInt
	case reflect.Float32, reflect.Float64:
		return sNum
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return sString // base64
		}
		return nullable(arrayOf(typeSchemaSeen(t.Elem(), seen)))
	case reflect.Map:
		return nullable(mapOf(typeSchemaSeen(t.Elem(), seen)))
	case reflect.Interface:
		return schema{}
	case reflect.Struct:
		if seen[t] {
			return sAnyObj
		}
		seen[t] = true
		defer delete(seen, t)
		var props []prop
		addStructFields(t, seen, &props)
		return obj(props...)
	}
	return schema{}
}

func addStructFields(t reflect.Type, seen map[reflect.Type]bool, props *[]prop) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addStructFields(ft, seen, props)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := typeSchemaSeen(f.Type, seen)
		if strings.Contains(opts, "string") {
			s = sString
		}
		*props = append(*props, prop{name: name, s: s, req: !strings.Contains(opts, "omitempty")})
	}
}

func typeOf[T any]() schema { return typeSchema(reflect.TypeOf((*T)(nil)).Elem()) }

// opDoc documents one operation.
type opDoc struct {
	summary string
	query   []string // query parameters (all optional unless listed in queryReq)
	body    schema   // request body (nil: none)
	status  int      // success status
	resp    schema   // success body (nil: none)
	// nonJSON: the success answer is not JSON (text, HTML, a redirect).
	nonJSON string
}

var (
	sCredentials = obj(req("email", sString), req("password", sString))
	sStatus      = obj(req("status", sString))
	sChild       = typeOf[childView]()
	sTurn        = typeOf[turnView]()
	sGame        = schema{} // the client-safe view of a game (its fields vary by kind)
	sTurnReply   = obj(req("turn", sTurn), opt("game", sGame), opt("outcome", sAnyObj))
	sSettings    = typeOf[childSettings]()
	sConsent     = typeOf[consentStatus]()
	sIndexReply  = typeOf[indexReply]()
	sFlagged     = obj(req("events", arrayOf(typeOf[flaggedView]())), req("next_before", sString))
	sCatalogItem = described(sAnyObj, "a catalogue item of the path's kind (docs/api.md \"Catalogue\")")
	sPacks       = obj(req("packs", nullable(arrayOf(typeOf[packView]()))))
)

// operationDocs documents every route by "METHOD path" as registered.
func operationDocs(method, path string) (opDoc, bool) {
	if rest, ok := strings.CutPrefix(path, "/v1/admin/catalog/"); ok {
		item := strings.HasSuffix(rest, "/:id")
		switch {
		case method == http.MethodGet && !item:
			return opDoc{summary: "List the catalogue items of one kind (built-in and added)", status: 200,
				resp: obj(req("kind", sString), req("items", nullable(arrayOf(sCatalogItem))))}, true
		case method == http.MethodPost && !item:
			return opDoc{summary: "Add a catalogue item (it must pass the output policy for every tier it serves)", body: sCatalogItem, status: 201, resp: sCatalogItem}, true
		case method == http.MethodPut && item:
			return opDoc{summary: "Replace a catalogue item", body: sCatalogItem, status: 200, resp: sCatalogItem}, true
		case method == http.MethodDelete && item:
			return opDoc{summary: "Delete a catalogue item (a built-in one is hidden)", status: 204}, true
		}
		return opDoc{}, false
	}
	d, ok := docs[method+" "+path]
	return d, ok
}

var docs = map[string]opDoc{
	"GET /healthz":               {summary: "Liveness", status: 200, resp: sStatus},
	"GET /readyz":                {summary: "Readiness: leader known, keys and policy loaded, storage answering, disk not nearly full (else 503)", status: 200, resp: sStatus},
	"GET /.well-known/jwks.json": {summary: "The keys access tokens are signed with", status: 200, resp: obj(req("keys", arrayOf(sAnyObj)))},
	"GET /v1/privacy":            {summary: "The privacy notice: data classes, retention in force, the parent's rights", status: 200, resp: typeOf[privacyNotice]()},
	"GET /v1/metrics":            {summary: "This node's counters and latency histograms (loopback or the metrics token only; others get 404)", status: 200, resp: typeOf[MetricsSnapshot]()},
	"GET /metrics":               {summary: "The same in the Prometheus text format", status: 200, nonJSON: "text/plain; version=0.0.4"},
	"GET /v1/openapi.json":       {summary: "This document", status: 200, resp: sAnyObj},

	"POST /v1/parents/signup": {summary: "Create a parent account (a verification e-mail is sent)", body: sCredentials, status: 201,
		resp: obj(req("parent_id", sString), req("email_verified", sBool))},
	"POST /v1/auth/login":                    {summary: "Parent login", body: sCredentials, status: 200, resp: typeOf[tokenResponse]()},
	"POST /v1/auth/refresh":                  {summary: "Exchange a refresh token for new tokens (a reused one ends the session)", body: obj(req("refresh_token", sString)), status: 200, resp: typeOf[tokenResponse]()},
	"POST /v1/auth/logout":                   {summary: "End this session on every node", status: 204},
	"POST /v1/auth/logout-all":               {summary: "End every session of this parent", status: 204},
	"POST /v1/auth/verify-email":             {summary: "Confirm the e-mail address with the e-mailed token", body: obj(req("token", sString)), status: 200, resp: obj(req("email_verified", sBool))},
	"POST /v1/auth/password-reset":           {summary: "Ask for a password-reset e-mail (the same answer whether or not the address has an account)", body: obj(req("email", sString)), status: 202, resp: obj(req("status", sString), req("message", sString))},
	"POST /v1/auth/password-reset/confirm":   {summary: "Set a new password with the e-mailed token; every session ends", body: obj(req("token", sString), req("password", sString)), status: 204},
	"GET /v1/parents/me":                     {summary: "The signed-in parent", status: 200, resp: typeOf[parentView]()},
	"POST /v1/parents/me/verification-email": {summary: "Send the verification e-mail again", status: 202, resp: sStatus},

	"POST /v1/children": {summary: "Add a child profile", body: obj(req("nickname", sString), req("age_tier", schema{"type": "string", "enum": []string{"5-8", "9-12", "13-17"}})),
		status: 201, resp: sChild},
	"GET /v1/children":                        {summary: "The family's children", status: 200, resp: obj(req("children", arrayOf(sChild)))},
	"GET /v1/children/:id":                    {summary: "One child", status: 200, resp: sChild},
	"DELETE /v1/children/:id":                 {summary: "Delete a child and everything about it, on every node", status: 204},
	"POST /v1/children/:id/link-codes":        {summary: "A single-use code (10 minutes) that links a device to the child", status: 201, resp: obj(req("code", sString), req("expires_at", sString))},
	"GET /v1/children/:id/turns":              {summary: "The child's conversation with the safety verdicts, newest first", query: []string{"limit", "before"}, status: 200, resp: obj(req("turns", arrayOf(sTurn)))},
	"GET /v1/children/:id/devices":            {summary: "The child's linked and unlinked devices", status: 200, resp: obj(req("devices", arrayOf(typeOf[deviceView]())))},
	"DELETE /v1/children/:id/devices/:device": {summary: "Unlink a device: its token stops working on every node", status: 204},
	"GET /v1/children/:id/settings":           {summary: "The parent's settings for the child (defaults if never saved)", status: 200, resp: sSettings},
	"PUT /v1/children/:id/settings":           {summary: "Replace the child's settings", body: sSettings, status: 200, resp: sSettings},
	"GET /v1/children/:id/usage":              {summary: "Today's usage in the child's time zone, totals and achievements", status: 200, resp: typeOf[usageView]()},
	"GET /v1/children/:id/consent":            {summary: "The consent in force and its history", status: 200, resp: sConsent},
	"POST /v1/children/:id/consent": {summary: "Give consent (e-mail plus) to the current privacy notice for a child under 13",
		body: obj(req("notice_version", sString), opt("method", schema{"type": "string", "enum": []string{storage.ConsentEmailPlus}})), status: 201, resp: sConsent},
	"DELETE /v1/children/:id/consent": {summary: "Withdraw the consent in force: the child's devices stop", status: 200, resp: sConsent},
	"GET /v1/family/export":           {summary: "Everything the family's account holds, as JSON (audit-logged)", status: 200, resp: described(sAnyObj, "docs/api.md \"Export\"")},
	"DELETE /v1/family":               {summary: "Delete the whole family and its data key (crypto-shredding)", body: obj(req("password", sString)), status: 204},
	"GET /v1/packs":                   {summary: "Content packs a parent can opt a child into", status: 200, resp: sPacks},

	"POST /v1/devices/link":        {summary: "Redeem a link code: the device gets a child token", body: obj(req("code", sString)), status: 201, resp: typeOf[tokenResponse]()},
	"POST /v1/chat":                {summary: "A chat turn: the policy checks the message, Daisy answers, the policy checks the answer", body: obj(req("message", sString)), status: 200, resp: sTurnReply},
	"GET /v1/chat":                 {summary: "The child's own turns, newest first", query: []string{"limit", "before"}, status: 200, resp: obj(req("turns", arrayOf(sTurn)))},
	"GET /v1/chat/daisy":           {summary: "Daisy now: mood, hunger, energy, availability, game, achievements", status: 200, resp: typeOf[daisyView]()},
	"POST /v1/games":               {summary: "Start a game", body: obj(req("kind", sString)), status: 200, resp: sTurnReply},
	"POST /v1/games/current/moves": {summary: "A move in the game in progress", body: obj(req("move", sString)), status: 200, resp: sTurnReply},

	"POST /v1/admin/bootstrap":        {summary: "Create the first administrator with the bootstrap token (once)", body: sAnyObj, status: 201, resp: obj(req("staff_id", sString), req("role", sString))},
	"POST /v1/admin/login":            {summary: "Staff password step (then /v1/admin/mfa)", body: sCredentials, status: 200, resp: typeOf[staffLoginResponse]()},
	"POST /v1/admin/mfa":              {summary: "Staff second step: a TOTP code (enrolment on the first login) or a recovery code", body: obj(req("mfa_token", sString), opt("code", sString), opt("recovery_code", sString)), status: 200, resp: typeOf[staffTokenResponse]()},
	"POST /v1/admin/invites/accept":   {summary: "Create a staff account from an invite", body: sAnyObj, status: 201, resp: obj(req("staff_id", sString), req("role", sString))},
	"POST /v1/admin/logout":           {summary: "End this staff session", status: 204},
	"POST /v1/admin/invites":          {summary: "Invite an administrator or moderator", body: obj(req("role", schema{"type": "string", "enum": []string{"admin", "moderator"}})), status: 201, resp: obj(req("invite_token", sString), req("role", sString), req("expires_at", sString))},
	"GET /v1/admin/staff":             {summary: "Staff accounts", status: 200, resp: obj(req("staff", arrayOf(sAnyObj)))},
	"GET /v1/admin/reports/usage":     {summary: "The usage report (analytics export): per UTC day, turns, children who chatted, safety events by category, turns by intent; counts below 5 withheld; ?from=&to= (YYYY-MM-DD, default the last 30 days), also as usage.csv", status: 200, resp: typeOf[usageReport]()},
	"GET /v1/admin/reports/usage.csv": {summary: "The usage report as CSV: one row per day; columns day, turns, active_children, safety_events, events:CATEGORY…, turns:INTENT…; \"<5\" is a withheld count", status: 200, nonJSON: "text/csv; charset=utf-8"},
	"GET /v1/admin/dashboard":         {summary: "The staff dashboard's data: this node's cluster view, every member's state, active policy and counters", status: 200, resp: typeOf[dashboardView]()},
	"GET /v1/admin/retention":         {summary: "The retention in force and where it comes from", status: 200, resp: typeOf[retentionView]()},
	"PUT /v1/admin/retention": {summary: "Set the cluster's retention (days per class; 0 = until the parent deletes)",
		body: obj(req("turns_days", sInt), req("safety_days", sInt), req("sessions_days", sInt)), status: 200, resp: typeOf[retentionView]()},
	"GET /v1/admin/catalog":      {summary: "The catalogue's kinds and counts", status: 200, resp: sAnyObj},
	"GET /v1/admin/packs":        {summary: "Content packs with every item", status: 200, resp: obj(req("packs", nullable(arrayOf(typeOf[contentPack]()))))},
	"POST /v1/admin/packs":       {summary: "Load a content pack (every item passes the output policy)", body: sAnyObj, status: 201, resp: typeOf[packView]()},
	"DELETE /v1/admin/packs/:id": {summary: "Remove a content pack", status: 204},
	"GET /v1/moderation/flagged": {summary: "Redacted excerpts of flagged turns (the read is audit-logged with its reason)", query: []string{"reason", "status", "assigned", "limit", "before"}, status: 200, resp: sFlagged},
	"GET /v1/moderation/summary": {summary: "The moderation queue in numbers (no content)", query: []string{"days"}, status: 200, resp: obj(req("open", sInt), req("open_unassigned", sInt), req("open_by_assignee", mapOf(sInt)), req("open_by_kind", mapOf(sInt)), req("open_by_category", mapOf(sInt)), req("oldest_open_at", nullable(sString)), req("days", sInt), req("reviewed_by_outcome", mapOf(sInt)), req("false_positives_by_policy", mapOf(sInt)), req("outcomes", sStrings))},
	"POST /v1/moderation/events/:id/review": {summary: "Record the outcome of a moderator's review of a safety event",
		body: obj(req("outcome", schema{"type": "string", "enum": storage.ReviewOutcomes})), status: 200, resp: obj(req("event_id", sString), req("review", typeOf[reviewView]()))},
	"PUT /v1/moderation/children/:id/hold": {summary: "Stop a child's chat until the family has been reached (a safety hold, with a reason from a fixed list)",
		body: obj(req("reason", schema{"type": "string", "enum": storage.HoldReasons})), status: 200, resp: obj(req("child_id", sString), req("safety_hold", nullable(typeOf[holdView]())))},
	"DELETE /v1/moderation/children/:id/hold": {summary: "Lift a child's safety hold", status: 200, resp: obj(req("child_id", sString), req("safety_hold", nullable(typeOf[holdView]())))},
	"POST /v1/moderation/events/:id/assign": {summary: `Assign an open safety event to a moderator ("me", a staff ID for administrators) or release it ("")`,
		body: obj(req("assignee", sString)), status: 200, resp: obj(req("event_id", sString), req("assignment", nullable(typeOf[assignmentView]())))},

	"GET /v1/admin/policies":                   {summary: "The policy lifecycle on this node: active, shadow, staged bundles per node", status: 200, resp: typeOf[PolicyStatus]()},
	"POST /v1/admin/policies":                  {summary: "Push a signed policy bundle (zstd body); every node compiles and self-tests it", body: described(schema{"type": "string", "format": "binary"}, "the bundle file (application/octet-stream)"), query: []string{"activate"}, status: 201, resp: sAnyObj},
	"POST /v1/admin/policies/:policy/activate": {summary: "Activate a staged policy at one log index on every node", status: 200, resp: sIndexReply},
	"POST /v1/admin/policies/:policy/shadow":   {summary: "Run a staged policy beside the active one without enforcing it", status: 200, resp: sIndexReply},
	"DELETE /v1/admin/policies/:policy":        {summary: "Remove a staged policy", status: 204},
	"DELETE /v1/admin/policy-shadow":           {summary: "Stop the shadow run", status: 200, resp: sIndexReply},
	"POST /v1/admin/policy-rollback":           {summary: "Go back to the previously active policy", status: 200, resp: sIndexReply},
	"POST /v1/admin/policy-keys":               {summary: "Trust a policy-signing key", body: sAnyObj, status: 201, resp: obj(req("key_id", sString))},
	"DELETE /v1/admin/policy-keys/:kid":        {summary: "Revoke a policy-signing key", status: 200, resp: sAnyObj},

	"POST /internal/join": {summary: "Cluster join, first phase (join token; not for clients)", status: 200, nonJSON: "internal"},
	"GET /":               {summary: "Redirect to the parent console", status: 302, nonJSON: "redirect"},
	"GET /ui/*file":       {summary: "The embedded parent console and staff dashboard", status: 200, nonJSON: "text/html, text/javascript, text/css"},
	"POST /v1/ui/login":   {summary: "Parent console login (sets the HttpOnly refresh cookie and the CSRF cookie)", body: sCredentials, status: 200, resp: sAnyObj},
	"POST /v1/ui/refresh": {summary: "Parent console token refresh through the cookie (X-CSRF-Token required)", status: 200, resp: sAnyObj},
	"POST /v1/ui/logout":  {summary: "Parent console logout (X-CSRF-Token required)", status: 204},
}

// openAPIPath turns an httprouter path into an OpenAPI template and its
// parameter names.
func openAPIPath(p string) (string, []string) {
	parts := strings.Split(p, "/")
	var params []string
	for i, s := range parts {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			params = append(params, s[1:])
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/"), params
}

// OpenAPI builds the document for a route table. Routes without
// documentation are listed in missing (TestOpenAPICoversEveryRoute).
func OpenAPI(routes []Route) (doc map[string]any, missing []string) {
	paths := map[string]map[string]any{}
	for _, r := range routes {
		d, ok := operationDocs(r.Method, r.Path)
		if !ok {
			missing = append(missing, r.Method+" "+r.Path)
			continue
		}
		tpl, names := openAPIPath(r.Path)
		op := map[string]any{"summary": d.summary, "operationId": operationID(r.Method, tpl)}
		var params []any
		for _, n := range names {
			params = append(params, map[string]any{"name": n, "in": "path", "required": true, "schema": sString})
		}
		for _, q := range d.query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": q == "reason", "schema": sString})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if d.body != nil {
			ctype := "application/json"
			if d.body["format"] == "binary" {
				ctype = "application/octet-stream"
			}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{ctype: map[string]any{"schema": d.body}}}
		}
		ok200 := map[string]any{"description": http.StatusText(d.status)}
		switch {
		case d.nonJSON != "":
			ok200["description"] = http.StatusText(d.status) + " (" + d.nonJSON + ")"
		case d.resp != nil:
			ok200["content"] = map[string]any{"application/json": map[string]any{"schema": d.resp}}
		}
		op["responses"] = map[string]any{
			itoa(d.status): ok200,
			"default":      map[string]any{"$ref": "#/components/responses/Error"},
		}
		if len(r.Roles) > 0 {
			roles := make([]string, len(r.Roles))
			for i, role := range r.Roles {
				roles[i] = string(role)
			}
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			op["x-roles"] = roles
		} else {
			op["security"] = []any{}
		}
		if paths[tpl] == nil {
			paths[tpl] = map[string]any{}
		}
		paths[tpl][strings.ToLower(r.Method)] = op
	}
	sort.Strings(missing)
	doc = map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "DaisyDog Edge API", "version": PrivacyNoticeVersion + "-api1",
			"description": "The HTTPS API of a DaisyDog Edge node. Errors, limits and flows: docs/api.md. x-roles names who may call an operation (a bearer access token of that role)."},
		"paths": paths,
		"components": map[string]any{
			// #nosec G101 -- the OpenAPI description of bearer tokens, not a credential
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"}},
			"responses": map[string]any{"Error": map[string]any{"description": "An error (docs/api.md \"Errors\")",
				"content": map[string]any{"application/json": map[string]any{"schema": obj(req("error",
					obj(req("code", sString), req("message", sString), opt("request_id", sString))))}}}},
		},
	}
	return doc, missing
}

func operationID(method, tpl string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(tpl, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '.' || r == '-' || r == '*' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	doc, _ := OpenAPI(s.Routes())
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// OpenAPIStale lists documented operations no route of the table has (a
// renamed or removed route whose entry stayed behind).
func OpenAPIStale(routes []Route) []string {
	have := map[string]bool{}
	for _, r := range routes {
		have[r.Method+" "+r.Path] = true
	}
	var stale []string
	for k := range docs {
		if !have[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	return stale
}
