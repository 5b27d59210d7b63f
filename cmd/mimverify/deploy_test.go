package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// A tiny plan in place of the examples' 1000-point one.
const tinyPlan = "--preset grid4 --vary gamma=0.3,0.5 --vary keys=unmasked,all --claims C2,C3 --samples 16 --eval 16 --max-steps 300"

// fakeMimverify puts a 'mimverify' on a fresh PATH directory that runs
// this test binary as the CLI, and returns that directory.
func fakeMimverify(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nMIMVERIFY_AS_CLI=1 exec %q \"$@\"\n", os.Args[0])
	if err := os.WriteFile(filepath.Join(dir, "mimverify"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tinyReference is the tiny plan run in one process.
func tinyReference(t *testing.T) string {
	t.Helper()
	ref := filepath.Join(t.TempDir(), "ref.json")
	args := append(append([]string{"sweep"}, strings.Fields(tinyPlan)...), "--progress", "never", "--out", ref)
	if status, _, errs := runCLI(t, args...); status != 0 {
		t.Fatalf("reference: status %d: %s", status, errs)
	}
	return ref
}

func runScript(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// The Slurm example, run as its job array would run it (three tasks, then
// the merge job), gives the sweep of one process; a task resubmitted alone
// (sbatch --array=1: an array of one) resumes its own shard.
func TestDeploySlurmExample(t *testing.T) {
	bin, out := fakeMimverify(t), t.TempDir()
	env := []string{"MIMVERIFY=" + filepath.Join(bin, "mimverify"), "OUT=" + out, "PLAN=" + tinyPlan,
		"SHARDS=3", "SLURM_CPUS_PER_TASK=1"}
	for i := range 3 {
		runScript(t, append(env, fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i), "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=2"), "bash", "../../deploy/slurm/sweep.sbatch")
	}
	runScript(t, append(env, "SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=1"), "bash", "../../deploy/slurm/sweep.sbatch")
	runScript(t, env, "bash", "../../deploy/slurm/merge.sbatch")
	sameSweep(t, "Slurm shards merged", tinyReference(t), filepath.Join(out, "sweep.json"))
	for _, f := range []string{"sweep.csv", "sweep.html", "figures/phase-C2.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("the merge job did not write %s: %v", f, err)
		}
	}
}

// job is the part of a Kubernetes Job the example's test reads.
type job struct {
	Spec struct {
		CompletionMode string `json:"completionMode"`
		Completions    int    `json:"completions"`
		Template       struct {
			Spec struct {
				Containers []struct {
					Command []string `json:"command"`
					Args    []string `json:"args"`
					Env     []struct{ Name, Value string }
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

func readJob(t *testing.T, path string) job {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j job
	first, _, _ := strings.Cut(string(data), "\n---\n")
	if err := yaml.Unmarshal([]byte(first), &j); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(j.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: want one container", path)
	}
	return j
}

// The Kubernetes example: an Indexed Job whose completions match its
// SHARDS, and whose container command, run for each completion index as
// Kubernetes would run it, then the merge Job's, gives the sweep of one
// process.
func TestDeployKubernetesExample(t *testing.T) {
	sweep, merge := readJob(t, "../../deploy/k8s/sweep-job.yaml"), readJob(t, "../../deploy/k8s/merge-job.yaml")
	c := sweep.Spec.Template.Spec.Containers[0]
	shards := ""
	for _, e := range c.Env {
		if e.Name == "SHARDS" {
			shards = e.Value
		}
	}
	if sweep.Spec.CompletionMode != "Indexed" || fmt.Sprint(sweep.Spec.Completions) != shards {
		t.Fatalf("completionMode %q, completions %d, SHARDS %q: want Indexed with completions = SHARDS",
			sweep.Spec.CompletionMode, sweep.Spec.Completions, shards)
	}
	bin, out := fakeMimverify(t), t.TempDir()
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "SHARDS=3", "PLAN=" + tinyPlan}
	line := strings.ReplaceAll(c.Args[0], "/results", out)
	for i := range 3 {
		runScript(t, append(env, fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)), "sh", "-c", line)
	}
	m := merge.Spec.Template.Spec.Containers[0]
	runScript(t, env, "sh", "-c", strings.ReplaceAll(m.Args[0], "/results", out))
	sameSweep(t, "Kubernetes shards merged", tinyReference(t), filepath.Join(out, "sweep.json"))
}
