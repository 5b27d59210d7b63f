package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The environment's profiles (MIMVERIFY_CPUPROFILE, MIMVERIFY_MEMPROFILE)
// are written as pprof files — gzip-compressed protocol buffers, which is
// what go tool pprof reads — by a real process, and a profile path that
// cannot be created stops the command with status 2 naming the variable,
// before it computes anything.
func TestProfilesFromEnvironment(t *testing.T) {
	bin := buildMimverify(t)
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	cmd := exec.Command(bin, "check", "--preset", "grid4", "--claims", "C2", "--progress", "never", "--controls=false")
	cmd.Env = append(os.Environ(), "MIMVERIFY_CPUPROFILE="+cpu, "MIMVERIFY_MEMPROFILE="+mem)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("check with profiles: %v\n%s", err, out)
	}
	for _, p := range []string{cpu, mem} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 100 || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Errorf("%s: %d bytes, not a gzip-compressed pprof profile", filepath.Base(p), len(b))
		}
	}
	bad := exec.Command(bin, "presets")
	bad.Env = append(os.Environ(), "MIMVERIFY_CPUPROFILE="+filepath.Join(dir, "missing", "cpu.prof"))
	out, _ := bad.CombinedOutput()
	if code := bad.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "MIMVERIFY_CPUPROFILE") {
		t.Errorf("an uncreatable profile path: status %d, %q; want 2 naming MIMVERIFY_CPUPROFILE", code, out)
	}
}
