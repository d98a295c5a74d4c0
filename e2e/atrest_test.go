package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestAtRestNoPlaintext writes distinctive markers (a parent e-mail, a child
// nickname, chat messages) through the API of a three-node cluster that
// snapshots often, stops every node gracefully and checks that no file under
// any data directory holds a marker in plain bytes.
func TestAtRestNoPlaintext(t *testing.T) {
	t.Parallel() // see parallelTests in main_test.go
	c := startCluster(t, 3, "--snapshot-threshold", "20", "--trailing-logs", "5", "--snapshot-interval", "1s")
	emailTok, nickTok, chatTok := randLetters(14), randLetters(12), randLetters(14)
	email := "marker-" + emailTok + "@example.test"
	nick := "Zqxmarker" + nickTok
	word := "Quokkamarker" + chatTok
	markers := []string{email, "marker-" + emailTok, emailTok, nick, nickTok, word, chatTok}

	leader, _ := c.waitLeader(c.nodes, 0)
	follower := c.others(leader)[0]
	f := c.newFamily(follower, email, nick)
	c.converge(c.nodes)

	// Sanity: the markers really went in and come back out through the API,
	// so a clean scan below means "sealed", not "never written".
	var child struct {
		Nickname string `json:"nickname"`
	}
	c.api.must(200, "GET", leader.url("/v1/children/"+f.childID), f.parentToken, nil).decode(t, &child)
	if child.Nickname != nick {
		t.Fatalf("child nickname reads back as %q, want %q", child.Nickname, nick)
	}
	c.api.must(200, "POST", leader.url("/v1/auth/login"), "", map[string]string{"email": email, "password": f.password})

	// Marker turns early (they end up inside snapshots) and late (still in the Raft log).
	msg := func(i int) string {
		if i == 0 || i == 20 || i == 39 {
			return fmt.Sprintf("I saw a %s at the zoo today, it was so fluffy!", word)
		}
		return fmt.Sprintf("Daisy, tell me something fun. Number %d.", i)
	}
	markerTurns := 0
	for i := 0; i < 40; i++ {
		n := c.nodes[i%len(c.nodes)]
		r, err := c.chat(n, f, msg(i))
		if err != nil || r.Status != 200 {
			t.Fatalf("chat %d via %s: %v %s", i, n.id, err, r)
		}
		if strings.Contains(msg(i), word) {
			if tu := turnOf(t, r); !strings.Contains(tu.Message, word) {
				t.Fatalf("the marker turn came back as %q; the test needs the marker stored", tu.Message)
			}
			markerTurns++
		}
	}
	c.converge(c.nodes)
	found := 0
	for _, tu := range c.history(follower, f, true) {
		if strings.Contains(tu.Message, word) {
			found++
		}
	}
	if found != markerTurns {
		t.Fatalf("parent history on %s shows %d marker turns, want %d", follower.id, found, markerTurns)
	}

	// Every node must have written at least one snapshot to scan.
	for _, n := range c.nodes {
		waitFor(t, catchUpTimeout, n.id+" to write a snapshot", func() (bool, string) {
			c.mustRun(n)
			s := snapshots(n.dir)
			return len(s) > 0, fmt.Sprintf("%d snapshots", len(s))
		})
	}

	// Scan while the nodes run (SQLite -wal and -shm files exist now) and
	// again after a graceful stop (checkpointed database, final snapshots).
	needles := variants(markers)
	scanDataDirs(t, c, needles, "while running")
	c.stopAll()
	scanDataDirs(t, c, needles, "after stopping")

	// The charter also keeps personal data out of the logs.
	t.Run("logs", func(t *testing.T) {
		c.env.mu.Lock()
		procs := append([]*proc(nil), c.env.procs...)
		c.env.mu.Unlock()
		for _, p := range procs {
			for _, path := range []string{p.stdout, p.stderr} {
				b, _ := os.ReadFile(path)
				for _, nd := range needles {
					if i := bytes.Index(b, nd); i >= 0 {
						t.Errorf("marker %q in %s at byte %d", nd, filepath.Base(path), i)
					}
				}
			}
		}
	})
}

// variants returns each marker as written, lower-cased and upper-cased.
func variants(markers []string) [][]byte {
	var out [][]byte
	for _, m := range markers {
		for _, v := range []string{m, strings.ToLower(m), strings.ToUpper(m)} {
			out = append(out, []byte(v))
		}
	}
	return out
}

// scanDataDirs reads every regular file under every node's data directory
// and fails the test for each needle found in plain bytes.
func scanDataDirs(t *testing.T, c *cluster, needles [][]byte, when string) {
	t.Helper()
	files, total := 0, int64(0)
	kinds := map[string]bool{}
	for _, n := range c.nodes {
		err := filepath.WalkDir(n.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // a file removed while walking a running node
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			files++
			total += int64(len(b))
			kinds[filepath.Base(path)] = true
			for _, nd := range needles {
				if i := bytes.Index(b, nd); i >= 0 {
					rel, _ := filepath.Rel(c.root, path)
					t.Errorf("%s: marker %q in plaintext in %s at byte %d", when, nd, rel, i)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", n.dir, err)
		}
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	t.Logf("%s: scanned %d files (%d bytes): %s", when, files, total, strings.Join(names, " "))
	if files == 0 {
		t.Fatalf("%s: scanned no files", when)
	}
}
