package atomicfile_test

import (
	"fmt"
	"os"
	"path/filepath"

	"mimverify/internal/atomicfile"
)

// How a command uses the package: the signal handler once at start-up, the
// output check before computing (a refusal is bad input, exit status 2), and
// a streamed output committed when complete.
func Example() {
	stop := atomicfile.CleanupOnSignal()
	defer stop()

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	config := filepath.Join(dir, "setting.yaml")
	os.WriteFile(config, []byte("preset: default\n"), 0o644)
	out := filepath.Join(dir, "run.json")

	err := atomicfile.CheckOutputs(map[string]string{"--out": config}, map[string]string{"--config": config})
	fmt.Println(err != nil) // --out names the input: refused before any work

	if err := atomicfile.CheckOutputs(map[string]string{"--out": out, "--dump-samples": ""}, map[string]string{"--config": config}); err != nil {
		fmt.Println(err)
		return
	}
	f, err := atomicfile.Create(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Abort() // removes the temporary file unless committed
	fmt.Fprintln(f, `{"records": [`)
	for step := 0; step < 3; step++ {
		fmt.Fprintf(f, "  {\"step\": %d},\n", step) // written as produced
	}
	fmt.Fprintln(f, "]}")
	if err := f.Commit(); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(out)
	fmt.Println(len(b))
	// Output:
	// true
	// 62
}
