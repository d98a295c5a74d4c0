package node

import (
	"fmt"
	"strings"
	"testing"
)

// TestAuthorizationMatrix checks every endpoint that takes an object ID, for
// every kind of caller, against its own object, another family's object and
// an ID that does not exist: exactly the owner gets data, everyone else gets
// the same answer as for a missing object (IDs reveal nothing).
func TestAuthorizationMatrix(t *testing.T) {
	n := startCluster(t, 1, nil)[0]
	a := newFamily(t, n, "matrix-a@example.test", "Alpha", "9-12")
	b := newFamily(t, n, "matrix-b@example.test", "Bravo", "5-8")
	if st, _ := n.chat(t, a.childToken, "hello daisy"); st != 200 {
		t.Fatal(st)
	}
	if st, _ := n.chat(t, b.childToken, "hello daisy"); st != 200 {
		t.Fatal(st)
	}
	missing := "ch_" + strings.Repeat("0", 32)

	callers := map[string]string{
		"anonymous": "", "parent A": a.parentToken, "parent B": b.parentToken,
		"child A": a.childToken, "child B": b.childToken, "forged": a.parentToken[:len(a.parentToken)-4] + "AAAA",
	}
	objects := map[string]string{"A's child": a.childID, "B's child": b.childID, "missing": missing}
	endpoints := []struct{ method, path string }{
		{"GET", "/v1/children/%s"},
		{"GET", "/v1/children/%s/turns"},
		{"POST", "/v1/children/%s/link-codes"},
		{"GET", "/v1/children/%s/usage"},
	}
	// expect returns the status a caller must get for an object.
	expect := func(caller, object string) int {
		switch caller {
		case "anonymous", "forged":
			return 401
		case "child A", "child B":
			return 403 // parent routes refuse child tokens whatever the object
		case "parent A":
			if object == "A's child" {
				return 0 // success (200 or 201)
			}
			return 404
		case "parent B":
			if object == "B's child" {
				return 0
			}
			return 404
		}
		panic(caller)
	}
	for _, ep := range endpoints {
		for caller, token := range callers {
			for object, id := range objects {
				name := fmt.Sprintf("%s %s as %s on %s", ep.method, ep.path, caller, object)
				t.Run(name, func(t *testing.T) {
					st, _, body := n.raw(t, ep.method, fmt.Sprintf(ep.path, id), token, "", nil)
					want := expect(caller, object)
					if want == 0 {
						if st != 200 && st != 201 {
							t.Fatalf("owner got %d: %s", st, body)
						}
						return
					}
					if st != want {
						t.Fatalf("got %d, want %d: %s", st, want, body)
					}
					// No data leaks in refusals: never the other family's nickname or turn text.
					for _, leak := range []string{"Alpha", "Bravo", "hello daisy"} {
						if strings.Contains(string(body), leak) {
							t.Fatalf("refusal leaks %q: %s", leak, body)
						}
					}
				})
			}
		}
	}
	// Child routes act only on the caller's own child: the child's token decides, there is no ID to guess.
	for caller, token := range callers {
		t.Run("GET /v1/chat as "+caller, func(t *testing.T) {
			st, _, body := n.raw(t, "GET", "/v1/chat", token, "", nil)
			switch caller {
			case "child A":
				if st != 200 || strings.Contains(string(body), "Bravo") {
					t.Fatalf("%d %s", st, body)
				}
			case "child B":
				if st != 200 {
					t.Fatalf("%d %s", st, body)
				}
			case "parent A", "parent B":
				if st != 403 {
					t.Fatalf("%d", st)
				}
			default:
				if st != 401 {
					t.Fatalf("%d", st)
				}
			}
		})
	}
	// Listing shows only the caller's own children.
	var list struct{ Children []struct{ ID string } }
	if st, _ := n.call(t, "GET", "/v1/children", a.parentToken, nil, &list); st != 200 || len(list.Children) != 1 || list.Children[0].ID != a.childID {
		t.Fatalf("parent A's list: %d %+v", st, list)
	}
}
