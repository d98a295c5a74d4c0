package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"daisydog/storage"
)

func TestFamilyExportAndDeletion(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3, nil)
	n1, n2 := nodes[0], nodes[1]
	a := newFamily(t, n1, "export@example.org", "Juniper", "9-12")
	b := newFamily(t, n1, "other@example.org", "Rowan", "9-12")
	for _, msg := range []string{"hello Daisy", "tell me a joke"} {
		if st, _ := n1.chat(t, a.childToken, msg); st != 200 {
			t.Fatalf("chat: %d", st)
		}
	}
	n1.chat(t, b.childToken, "rowan's secret message")

	// Export: everything about the family, nothing about another, audited.
	var ex struct {
		Parents []struct {
			Email string `json:"email"`
		} `json:"parents"`
		Children []struct {
			ID       string `json:"id"`
			Nickname string `json:"nickname"`
			Devices  []struct {
				ID string `json:"id"`
			} `json:"devices"`
			Turns []struct {
				Message string `json:"message"`
				Reply   string `json:"reply"`
			} `json:"turns"`
		} `json:"children"`
	}
	st, _, body := n2.raw(t, "GET", "/v1/family/export", a.parentToken, "", nil)
	if st != 200 {
		t.Fatalf("export: %d %s", st, body)
	}
	if err := jsonUnmarshal(body, &ex); err != nil {
		t.Fatal(err)
	}
	if len(ex.Parents) != 1 || ex.Parents[0].Email != "export@example.org" || len(ex.Children) != 1 ||
		ex.Children[0].Nickname != "Juniper" || len(ex.Children[0].Turns) != 2 || len(ex.Children[0].Devices) != 1 {
		t.Fatalf("export %s", body)
	}
	if strings.Contains(string(body), "Rowan") || strings.Contains(string(body), "rowan's secret") {
		t.Fatal("export holds another family's data")
	}
	if last := lastAudit(t, n2); last.Action != "read_family_export" {
		t.Fatalf("last audit %+v", last)
	}

	// Deleting a child takes its device and history with it, on every node.
	if st, _ := n2.call(t, "DELETE", "/v1/children/"+b.childID, a.parentToken, nil, nil); st != 404 {
		t.Fatalf("delete another family's child: %d", st)
	}
	if st, _ := n2.call(t, "DELETE", "/v1/children/"+a.childID, a.parentToken, nil, nil); st != 204 {
		t.Fatalf("delete child: %d", st)
	}
	for _, n := range nodes {
		waitFor(t, 5*time.Second, "the child's device to stop working on "+n.nf.NodeID, func() error {
			if st, _ := n.chat(t, a.childToken, "hi"); st != 401 {
				return fmt.Errorf("status %d", st)
			}
			return nil
		})
	}

	// Deleting the family needs the password, then nothing of it remains.
	if st, _ := n1.call(t, "DELETE", "/v1/family", a.parentToken, map[string]string{"password": "wrong password here"}, nil); st != 401 {
		t.Fatalf("delete family with a wrong password: %d", st)
	}
	if st, _ := n1.call(t, "DELETE", "/v1/family", a.parentToken, map[string]string{"password": "correct horse battery staple"}, nil); st != 204 {
		t.Fatalf("delete family: %d", st)
	}
	for _, n := range nodes {
		waitFor(t, 5*time.Second, "the family to be gone on "+n.nf.NodeID, func() error {
			if st, _ := n.call(t, "GET", "/v1/children", a.parentToken, nil, nil); st != 401 {
				return fmt.Errorf("status %d", st)
			}
			if _, err := n.db.ParentByEmailIndex(context.Background(), storage.Actor{Role: storage.RoleSystem}, n.keyring.EmailIndex("export@example.org")); err != storage.ErrNotFound {
				return fmt.Errorf("parent row still there: %v", err)
			}
			return nil
		})
	}
	if st, _ := n1.call(t, "POST", "/v1/auth/login", "", map[string]string{"email": "export@example.org", "password": "correct horse battery staple"}, nil); st != 401 {
		t.Fatalf("login after deletion: %d", st)
	}
	// The other family is untouched.
	if st, _ := n1.chat(t, b.childToken, "still here"); st != 200 {
		t.Fatalf("other family's child: %d", st)
	}
}
