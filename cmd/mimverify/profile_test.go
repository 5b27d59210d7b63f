package main

import (
	"bytes"
	"fmt"
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

// MIMVERIFY_STAGE_TIMES prints, on stderr, a start and an end line for each
// labelled stage of a check (the main run's among them), the end's time not
// before the start's; without it, stderr has none of them.
func TestStageTimesFromEnvironment(t *testing.T) {
	bin := buildMimverify(t)
	for _, on := range []bool{true, false} {
		cmd := exec.Command(bin, "check", "--preset", "grid4", "--claims", "C2", "--progress", "never", "--controls=false")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Env = os.Environ()
		if on {
			cmd.Env = append(cmd.Env, "MIMVERIFY_STAGE_TIMES=1")
		}
		if err := cmd.Run(); err != nil {
			t.Fatalf("check (stage times %v): %v\n%s", on, err, stderr.String())
		}
		start, end := map[string]float64{}, map[string]float64{}
		for _, line := range strings.Split(stderr.String(), "\n") {
			var at float64
			var what, label string
			if n, _ := fmt.Sscanf(line, "%f s %s %s", &at, &what, &label); n == 3 {
				switch what {
				case "start":
					start[label] = at
				case "end":
					end[label] = at
				}
			}
		}
		if !on {
			if len(start)+len(end) > 0 {
				t.Errorf("without MIMVERIFY_STAGE_TIMES, stderr has stage lines:\n%s", stderr.String())
			}
			continue
		}
		if _, ok := start["engines=[exact]"]; !ok {
			t.Errorf("no start line for the main run (engines=[exact]) in:\n%s", stderr.String())
		}
		for label, t0 := range start {
			if t1, ok := end[label]; !ok || t1 < t0 {
				t.Errorf("stage %s: start %g s, end %g s (found %v)", label, t0, t1, ok)
			}
		}
	}
}
