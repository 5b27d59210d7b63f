package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeString(path, s string) error {
	return Write(path, func(w io.Writer) error { _, err := io.WriteString(w, s); return err })
}

// device returns a character device like /dev/<name>: a fresh node made with
// mknod in a temporary directory when the test may (as root), so that a
// broken implementation replaces the copy and not the system's device;
// otherwise /dev/<name> itself, which a non-root process cannot replace.
func device(t *testing.T, name string, major, minor uint32) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, int(major<<8|minor)); err == nil {
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil { // the file system may be nodev
			f.Close()
			return path
		}
	}
	if os.Geteuid() == 0 {
		t.Skipf("cannot make a %s device here, and as root the test would risk /dev/%s", name, name)
	}
	return "/dev/" + name
}

func isCharDevice(t *testing.T, path string) {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a character device: mode %v", path, info.Mode())
	}
}

func TestWriteThroughNullDevice(t *testing.T) {
	null := device(t, "null", 1, 3)
	if err := writeString(null, "discarded"); err != nil {
		t.Fatal(err)
	}
	isCharDevice(t, null)
	if err := Check(null); err != nil {
		t.Errorf("Check(%s): %v", null, err)
	}
}

func TestWriteToFullDeviceReportsENOSPC(t *testing.T) {
	full := device(t, "full", 1, 7)
	err := Write(full, func(w io.Writer) error {
		_, err := w.Write(make([]byte, 1<<20))
		return err
	})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("writing to %s: %v, want ENOSPC", full, err)
	}
	if !strings.Contains(err.Error(), full) || strings.Contains(err.Error(), ".mv-") {
		t.Errorf("the error %q does not name %s (or names a temporary file)", err, full)
	}
	isCharDevice(t, full)
	// A small write fails at Commit, when the buffer is flushed.
	f, err := Create(full)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	if err := f.Commit(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Commit on %s: %v, want ENOSPC", full, err)
	}
}

func TestWriteThroughFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	if err := writeString(fifo, "through the pipe"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "through the pipe" {
			t.Errorf("the reader got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader got nothing")
	}
	if info, err := os.Lstat(fifo); err != nil || info.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("%s is no longer a FIFO: %v %v", fifo, info.Mode(), err)
	}
}

func TestWriteToStandardOutput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = saved }()
	for _, path := range []string{"-", "/dev/stdout"} {
		if err := writeString(path, path+"\n"); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	w.Close()
	b, _ := io.ReadAll(r)
	if string(b) != "-\n/dev/stdout\n" {
		t.Errorf("standard output got %q", b)
	}
	if _, err := os.Lstat("-"); err == nil {
		t.Error(`a file named "-" was created`)
	}
}

func TestWriteFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.json")
	os.WriteFile(target, []byte("old"), 0o644)
	abs := filepath.Join(dir, "abs-link")
	rel := filepath.Join(dir, "rel-link")
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(target, abs)
	os.Symlink("real.json", rel)
	os.Symlink("new.json", dangling)
	for _, link := range []string{abs, rel} {
		if err := writeString(link, "via "+link); err != nil {
			t.Fatal(err)
		}
		if info, err := os.Lstat(link); err != nil || info.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link", link)
		}
		if b, _ := os.ReadFile(target); string(b) != "via "+link {
			t.Errorf("the target holds %q after writing through %s", b, link)
		}
	}
	if err := writeString(dangling, "created"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "new.json")); string(b) != "created" {
		t.Errorf("the dangling link's target holds %q", b)
	}
	if info, _ := os.Lstat(dangling); info.Mode()&fs.ModeSymlink == 0 {
		t.Error("the dangling link was replaced")
	}
}

func TestWriteKeepsMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, mode := range []fs.FileMode{0o600, 0o640, 0o755, 0o444, 0} {
		path := filepath.Join(t.TempDir(), "out")
		os.WriteFile(path, []byte("old"), 0o600)
		os.Chmod(path, mode)
		if err := writeString(path, "new"); err != nil {
			t.Fatal(err)
		}
		if info, _ := os.Stat(path); info.Mode().Perm() != mode {
			t.Errorf("a file of mode %v became %v", mode, info.Mode().Perm())
		}
	}
}

func TestNewFileRespectsUmask(t *testing.T) {
	for _, c := range []struct{ umask, want fs.FileMode }{{0o022, 0o644}, {0o027, 0o640}, {0o077, 0o600}, {0, 0o666}} {
		old := syscall.Umask(int(c.umask))
		path := filepath.Join(t.TempDir(), "new")
		err := writeString(path, "x")
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		if info, _ := os.Stat(path); info.Mode().Perm() != c.want {
			t.Errorf("umask %03o: new file has mode %v, want %v", c.umask, info.Mode().Perm(), c.want)
		}
	}
}

func TestLongFileName(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("n", 245)+".json") // 250 characters
	if err := writeString(path, "ok"); err != nil {
		t.Fatalf("a valid 250-character name: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "ok" {
		t.Errorf("got %q", b)
	}
	if err := Check(path); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestCreateStreamsCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stream.json")
	os.WriteFile(path, []byte("previous"), 0o644)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if _, err := f.Write([]byte("record\n")); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "previous" {
		t.Fatalf("before Commit the destination holds %.20q", b)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); len(b) != 7000 {
		t.Fatalf("after Commit the destination holds %d bytes, want 7000", len(b))
	}
	if err := f.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if _, err := f.Write([]byte("late")); err == nil {
		t.Error("Write after Commit succeeded")
	}
	g, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	g.Write([]byte("abandoned"))
	if err := g.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := g.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if b, _ := os.ReadFile(path); len(b) != 7000 {
		t.Error("Abort changed the destination")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries left in the directory, want 1", len(entries))
	}
}

func TestCheckRefusesBeforeComputing(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	cases := []struct{ path, want string }{
		{filepath.Join(dir, "missing", "out.json"), "directory " + filepath.Join(dir, "missing") + " does not exist"},
		{dir, "is a directory"},
		{filepath.Join(dir, "file", "out.json"), "is not a directory"},
		{"", "no output path"},
	}
	for _, c := range cases {
		err := Check(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%q) = %v, want an error containing %q", c.path, err, c.want)
		}
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o500)
		if err := Check(filepath.Join(ro, "out")); err == nil || !strings.Contains(err.Error(), "not writable") {
			t.Errorf("Check in a read-only directory: %v", err)
		}
	}
	for _, ok := range []string{filepath.Join(dir, "new.json"), filepath.Join(dir, "file"), "-"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q): %v", ok, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Check left %d entries in the directory", len(entries))
	}
	if err := writeString(filepath.Join(dir, "no", "such", "dir", "f"), "x"); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	if err := writeString(filepath.Join(dir, "d"), "x"); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("writing over a directory: %v", err)
	}
}

func TestCheckOutputsRefusesSharedFiles(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	os.WriteFile(config, []byte("preset: default\n"), 0o644)
	os.Symlink(config, filepath.Join(dir, "link.yaml"))
	os.Link(config, filepath.Join(dir, "hard.yaml"))
	os.Symlink(dir, filepath.Join(dir, "sub"))
	null := device(t, "null", 1, 3) // a private copy: the check must not depend on the machine's /dev/null
	t.Chdir(dir)
	inputs := map[string]string{"--config": config}
	cases := []struct {
		outputs map[string]string
		want    string // "" for no error
	}{
		{map[string]string{"--out": config}, "--out " + config + " is the same file as --config"},
		{map[string]string{"--out": "config.yaml"}, "is the same file as --config"},
		{map[string]string{"--out": "./x/../config.yaml"}, "is the same file as --config"},
		{map[string]string{"--out": filepath.Join(dir, "link.yaml")}, "is the same file as --config"},
		{map[string]string{"--out": filepath.Join(dir, "hard.yaml")}, "is the same file as --config"},
		{map[string]string{"--out": "a.json", "--dump-samples": "a.json"}, "--dump-samples a.json and --out a.json are the same output"},
		{map[string]string{"--out": "sub/b.json", "--dump-samples": filepath.Join(dir, "b.json")}, "are the same output"},
		{map[string]string{"--out": "-", "--dump-samples": "/dev/stdout"}, "are the same output"},
		{map[string]string{"--out": "missing/a.json"}, "--out missing/a.json: directory missing does not exist"},
		{map[string]string{"--out": "a.json", "--dump-samples": "b.json", "--report": ""}, ""},
		{map[string]string{"--out": null, "--dump-samples": null}, ""},
		{map[string]string{"--out": "-"}, ""},
	}
	for _, c := range cases {
		err := CheckOutputs(c.outputs, inputs)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("CheckOutputs(%v): %v", c.outputs, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("CheckOutputs(%v) = %v, want an error containing %q", c.outputs, err, c.want)
		}
	}
	if err := CheckOutputs(map[string]string{"--out": "-"}, map[string]string{"--config": "-"}); err != nil {
		t.Errorf("reading the standard input and writing the standard output: %v", err)
	}
	if b, _ := os.ReadFile(config); string(b) != "preset: default\n" {
		t.Error("the input was changed")
	}
}

// TestCleanupOnSignal runs a helper process that starts an output, then
// sends it SIGINT, SIGTERM, SIGHUP or SIGQUIT: the temporary file must be
// gone, the destination untouched, and the exit status 128 + the signal.
func TestCleanupOnSignal(t *testing.T) {
	if dir := os.Getenv("ATOMICFILE_SIGNAL_HELPER"); dir != "" {
		signalHelper(dir)
		return
	}
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}, {syscall.SIGQUIT, 131}} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "out.json"), []byte("previous"), 0o644)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCleanupOnSignal$")
		cmd.Env = append(os.Environ(), "ATOMICFILE_SIGNAL_HELPER="+dir)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		if line != "ready\n" {
			cmd.Process.Kill()
			t.Fatalf("helper said %q", line)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 {
			t.Fatalf("before the signal: %d entries, want the output and its temporary file", len(entries))
		}
		cmd.Process.Signal(c.sig)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != c.code {
			t.Errorf("%v: helper ended with %v, want exit status %d", c.sig, err, c.code)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 || entries[0].Name() != "out.json" {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("%v: the directory holds %v, want only out.json", c.sig, names)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "out.json")); string(b) != "previous" {
			t.Errorf("%v: the destination holds %q", c.sig, b)
		}
	}
}

func signalHelper(dir string) {
	stop := CleanupOnSignal()
	defer stop()
	f, err := Create(filepath.Join(dir, "out.json"))
	if err != nil {
		os.Stdout.WriteString(err.Error() + "\n")
		os.Exit(3)
	}
	f.Write(make([]byte, 1<<17)) // past the buffer: the temporary file has content
	os.Stdout.WriteString("ready\n")
	time.Sleep(time.Minute)
	os.Exit(4)
}
