package eval

import (
	"fmt"
	"testing"
)

func TestSplitHalf(t *testing.T) {
	var cases []Case
	for i := range 1000 {
		cases = append(cases, Case{ID: fmt.Sprintf("src:%d", i)})
	}
	tune, err := SplitHalf(cases, HalfTune)
	if err != nil {
		t.Fatal(err)
	}
	check, err := SplitHalf(cases, HalfCheck)
	if err != nil {
		t.Fatal(err)
	}
	if len(tune)+len(check) != len(cases) {
		t.Fatalf("halves %d + %d != %d", len(tune), len(check), len(cases))
	}
	if len(tune) < 400 || len(check) < 400 {
		t.Fatalf("unbalanced split: %d / %d", len(tune), len(check))
	}
	seen := map[string]bool{}
	for _, c := range tune {
		seen[c.ID] = true
	}
	for _, c := range check {
		if seen[c.ID] {
			t.Fatalf("case %s in both halves", c.ID)
		}
	}
	all, _ := SplitHalf(cases, HalfAll)
	if len(all) != len(cases) {
		t.Fatalf("HalfAll kept %d of %d", len(all), len(cases))
	}
	if _, err := SplitHalf(cases, "other"); err == nil {
		t.Fatal("unknown half accepted")
	}
}
