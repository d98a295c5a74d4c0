package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"daisydog/node/api"
)

// openAPIRoutes are the document's operations as path patterns, built once
// from the test node's route table.
type openAPIRoute struct {
	re     *regexp.Regexp
	method string
	op     map[string]any
}

var (
	openAPIOnce sync.Once
	openAPIOps  []openAPIRoute
)

func (n *apiNode) openAPIOps() []openAPIRoute {
	openAPIOnce.Do(func() {
		doc, _ := api.OpenAPI(n.Routes())
		// Through JSON, as a client reads it.
		b, _ := json.Marshal(doc)
		var d struct {
			Paths map[string]map[string]map[string]any `json:"paths"`
		}
		_ = json.Unmarshal(b, &d)
		for tpl, ops := range d.Paths {
			pat := regexp.MustCompile(`\\\{[a-z_]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tpl), `[^/]+`)
			if strings.HasSuffix(tpl, "{file}") {
				pat = strings.TrimSuffix(pat, `[^/]+`) + `.*`
			}
			for m, op := range ops {
				openAPIOps = append(openAPIOps, openAPIRoute{re: regexp.MustCompile("^" + pat + "$"), method: strings.ToUpper(m), op: op})
			}
		}
		// Literal paths before templates ("/v1/games/current/moves" is not "/v1/games/{id}").
		slices.SortFunc(openAPIOps, func(a, b openAPIRoute) int {
			return strings.Count(a.re.String(), "[^/]+") - strings.Count(b.re.String(), "[^/]+")
		})
	})
	return openAPIOps
}

// conformsToOpenAPI checks a successful answer against the document: the
// operation exists, answers this status, and a JSON body matches its schema.
func (n *apiNode) conformsToOpenAPI(method, path string, status int, ctype string, body []byte) error {
	path, _, _ = strings.Cut(path, "?")
	for _, r := range n.openAPIOps() {
		if r.method != method || !r.re.MatchString(path) {
			continue
		}
		resp, ok := r.op["responses"].(map[string]any)[strconv.Itoa(status)].(map[string]any)
		if !ok {
			return fmt.Errorf("status %d is not a documented success", status)
		}
		content, _ := resp["content"].(map[string]any)
		if content == nil {
			return nil // no JSON body documented (204, redirects, text)
		}
		if !strings.HasPrefix(ctype, "application/json") {
			return fmt.Errorf("content type %q, documented as JSON", ctype)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		return validate(content["application/json"].(map[string]any)["schema"], v, "$")
	}
	return fmt.Errorf("no such operation in the document")
}

// validate is the subset of JSON Schema the document uses: type, anyOf,
// enum, properties with required, items, additionalProperties.
func validate(sch any, v any, at string) error {
	s, _ := sch.(map[string]any)
	if len(s) == 0 {
		return nil
	}
	if any, ok := s["anyOf"].([]any); ok {
		var errs []string
		for _, alt := range any {
			err := validate(alt, v, at)
			if err == nil {
				return nil
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("%s: none of %s", at, strings.Join(errs, " | "))
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		return fmt.Errorf("%s: %v not in %v", at, v, enum)
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an object", at, v)
		}
		if req, ok := s["required"].([]any); ok {
			for _, k := range req {
				if _, has := m[k.(string)]; !has {
					return fmt.Errorf("%s: no %q", at, k)
				}
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, pv := range m {
			if ps, ok := props[k]; ok {
				if err := validate(ps, pv, at+"."+k); err != nil {
					return err
				}
			} else if ap, ok := s["additionalProperties"]; ok {
				if err := validate(ap, pv, at+"."+k); err != nil {
					return err
				}
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an array", at, v)
		}
		for i, e := range a {
			if err := validate(s["items"], e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: %T, want a string", at, v)
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: %v, want an integer", at, v)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: %T, want a number", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %T, want a boolean", at, v)
		}
	case "null":
		if v != nil {
			return fmt.Errorf("%s: %T, want null", at, v)
		}
	}
	return nil
}

// Every route of the table is in the OpenAPI document and every entry of
// the document is a route; the served document is that one.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	n := testNode(t)
	routes := n.Routes()
	doc, missing := api.OpenAPI(routes)
	if len(missing) > 0 {
		t.Errorf("routes without OpenAPI documentation (node/api/openapi.go docs): %v", missing)
	}
	if stale := api.OpenAPIStale(routes); len(stale) > 0 {
		t.Errorf("documented operations that are no route: %v", stale)
	}
	var served struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	n.must(t, http.StatusOK, "GET", "/v1/openapi.json", "", nil, &served)
	ops := 0
	for _, m := range served.Paths {
		ops += len(m)
	}
	if served.OpenAPI != "3.1.0" || ops != len(routes) || len(doc["paths"].(map[string]map[string]any)) != len(served.Paths) {
		t.Fatalf("served document: openapi %q, %d operations for %d routes", served.OpenAPI, ops, len(routes))
	}
	chat := served.Paths["/v1/chat"]["post"]
	if chat["x-roles"] == nil || chat["requestBody"] == nil || served.Paths["/v1/children/{id}/consent"]["post"] == nil {
		t.Fatalf("chat operation %v", chat)
	}
	if sec, _ := served.Paths["/v1/parents/signup"]["post"]["security"].([]any); len(sec) != 0 {
		t.Fatalf("sign-up requires %v", sec)
	}
}

// The validator the harness runs on every answer can fail.
func TestOpenAPIValidatorRefusesWrongShapes(t *testing.T) {
	s := map[string]any{"type": "object", "required": []any{"id"}, "properties": map[string]any{
		"id": map[string]any{"type": "string"}, "n": map[string]any{"type": "integer"},
		"tags": map[string]any{"anyOf": []any{map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, map[string]any{"type": "null"}}}}}
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{`{"id":"a","n":1,"tags":["x"]}`, true},
		{`{"id":"a","tags":null}`, true},
		{`{"n":1}`, false},
		{`{"id":1}`, false},
		{`{"id":"a","n":1.5}`, false},
		{`{"id":"a","tags":[1]}`, false},
		{`[]`, false},
	} {
		var v any
		_ = json.Unmarshal([]byte(tc.v), &v)
		if err := validate(s, v, "$"); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.v, err, tc.ok)
		}
	}
}
