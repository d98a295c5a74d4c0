package main

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDecideMemoryLimit(t *testing.T) {
	const gib = 1 << 30
	capped := machineMemory{cgroupMax: 4 * gib, total: 24 * gib}
	bare := machineMemory{total: 24 * gib}
	for _, tc := range []struct {
		spec    string
		m       machineMemory
		want    int64
		source  string
		wantErr string
	}{
		{"auto", capped, 3 * gib, "auto: 75% of the cgroup memory cap", ""},
		{"", capped, 3 * gib, "auto: 75% of the cgroup memory cap", ""},
		{"auto", bare, 0, "auto: no cgroup memory cap", ""},
		{"auto", machineMemory{cgroupMax: 4 * gib, envLimit: "1GiB"}, 0, "GOMEMLIMIT", ""},
		{"off", capped, 0, "off", ""},
		{"0", capped, 0, "off", ""},
		{"1GiB", capped, gib, "--memory-limit", ""},
		{"1.5GiB", bare, 3 * gib / 2, "--memory-limit", ""},
		{"800MiB", bare, 800 << 20, "--memory-limit", ""},
		{"800MB", bare, 800e6, "--memory-limit", ""},
		{"2G", bare, 2 * gib, "--memory-limit", ""},
		{"268435456", bare, 256 << 20, "--memory-limit", ""},
		{"50%", capped, 2 * gib, "50% of the cgroup memory cap", ""},
		{"25%", bare, 6 * gib, "25% of the machine's memory", ""},
		{"10MiB", bare, 0, "", "below the minimum of 64 MiB"},
		{"lots", bare, 0, "", `"lots" is not a size`},
		{"-1GiB", bare, 0, "", "is not a size"},
		{"150%", bare, 0, "", "between 0 and 100"},
		{"50%", machineMemory{}, 0, "", "cannot read the machine's memory"},
	} {
		got, err := decideMemoryLimit(tc.spec, tc.m)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.bytes != tc.want || got.source != tc.source {
			t.Errorf("%q: got %+v %v, want %d %q", tc.spec, got, err, tc.want, tc.source)
		}
	}
}

func TestReadCgroupLimitAndMeminfo(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		content string
		want    int64
	}{
		{"max\n", 0},
		{"2147483648\n", 2 << 30},
		{"9223372036854771712\n", 0}, // cgroup v1's "no limit"
		{"garbage", 0},
	} {
		if got, ok := readCgroupLimit(write("memory.max", tc.content)); !ok || got != tc.want {
			t.Errorf("%q: %d %v, want %d", tc.content, got, ok, tc.want)
		}
	}
	if _, ok := readCgroupLimit(filepath.Join(dir, "missing")); ok {
		t.Error("a missing file was read")
	}
	info := "MemFree:  1000 kB\nMemTotal:       24576000 kB\n"
	if got := parseMeminfoTotal([]byte(info)); got != 24576000<<10 {
		t.Errorf("MemTotal = %d", got)
	}
	if got := parseMeminfoTotal([]byte("nothing here")); got != 0 {
		t.Errorf("MemTotal of garbage = %d", got)
	}
	// The real machine: whatever it has, the reading is sane.
	if m := readMachineMemory(); m.total <= 0 || m.cgroupMax < 0 {
		t.Errorf("readMachineMemory() = %+v", m)
	}
}

func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	if got := applyMemoryLimit(memoryLimit{bytes: 512 << 20, source: "--memory-limit"}); got != 512<<20 {
		t.Fatalf("limit in force %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 512<<20 {
		t.Fatalf("runtime limit %d", got)
	}
	// auto without a cap leaves what is in force alone.
	if got := applyMemoryLimit(memoryLimit{source: "auto: no cgroup memory cap"}); got != 512<<20 {
		t.Fatalf("auto changed the limit to %d", got)
	}
	if got := applyMemoryLimit(memoryLimit{source: "off"}); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("off left %d", got)
	}
}

// TestMemoryLimitFlag: the default is auto; a bad value stops the command
// before it touches anything.
func TestMemoryLimitFlag(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var sf serveFlags
	sf.register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := sf.check(); err != nil || sf.memoryLimit != "auto" {
		t.Fatalf("default %q: %v", sf.memoryLimit, err)
	}
	data := filepath.Join(t.TempDir(), "data")
	_, _, err := capture(t, func() error {
		return cmdServe([]string{"--data", data, "--memory-limit", "lots"})
	})
	wantErrContains(t, err, `--memory-limit: "lots" is not a size`)
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("created or touched %s", data)
	}
}
