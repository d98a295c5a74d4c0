package node

import (
	"testing"
	"time"
)

func TestParentRevokesChildDeviceOnEveryNode(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, 3, nil)
	fam := newFamily(t, nodes[0], "devices@example.test", "Tilly", "5-8")
	other := newFamily(t, nodes[0], "devices-other@example.test", "Olly", "5-8")

	var list struct {
		Devices []struct {
			ID        string `json:"id"`
			RevokedAt string `json:"revoked_at"`
		}
	}
	if st, _ := nodes[1].call(t, "GET", "/v1/children/"+fam.childID+"/devices", fam.parentToken, nil, &list); st != 200 || len(list.Devices) != 1 || list.Devices[0].RevokedAt != "" {
		t.Fatalf("devices: %d %+v", st, list)
	}
	dev := list.Devices[0].ID
	path := "/v1/children/" + fam.childID + "/devices/" + dev

	// Nobody else can list or revoke it.
	refusals := []struct {
		name, method, path, token string
		want                      int
	}{
		{"other parent lists", "GET", "/v1/children/" + fam.childID + "/devices", other.parentToken, 404},
		{"other parent revokes", "DELETE", path, other.parentToken, 404},
		{"other parent names own child", "DELETE", "/v1/children/" + other.childID + "/devices/" + dev, other.parentToken, 404},
		{"child revokes", "DELETE", path, fam.childToken, 403},
		{"anonymous", "DELETE", path, "", 401},
	}
	for _, tc := range refusals {
		if st, _ := nodes[2].call(t, tc.method, tc.path, tc.token, nil, nil); st != tc.want {
			t.Fatalf("%s: %d, want %d", tc.name, st, tc.want)
		}
	}
	if st, _ := nodes[2].chat(t, fam.childToken, "still here?"); st != 200 {
		t.Fatalf("device stopped working after refused revocations: %d", st)
	}

	if st, _ := nodes[2].call(t, "DELETE", path, fam.parentToken, nil, nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	for _, n := range nodes {
		waitFor(t, time.Second, "revoked device refused on "+n.nf.NodeID, func() error {
			st, _ := n.chat(t, fam.childToken, "hello?")
			return wantStatus(st, 401)
		})
	}
	if st, _ := nodes[0].call(t, "DELETE", path, fam.parentToken, nil, nil); st != 404 {
		t.Fatalf("second revoke: %d", st)
	}
	if st, _ := nodes[0].call(t, "GET", "/v1/children/"+fam.childID+"/devices", fam.parentToken, nil, &list); st != 200 || list.Devices[0].RevokedAt == "" {
		t.Fatalf("after revoke: %d %+v", st, list)
	}
	// The other family's device is untouched.
	if st, _ := nodes[1].chat(t, other.childToken, "hi"); st != 200 {
		t.Fatalf("other family's device: %d", st)
	}
}
