package judge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// memFixture writes the files MemoryLimit reads under dir.
func memFixture(t *testing.T, files map[string]string) MemorySources {
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return MemorySources{Meminfo: filepath.Join(dir, "meminfo"), ProcCgroup: filepath.Join(dir, "cgroup"),
		CgroupRoot: filepath.Join(dir, "sys"), Status: filepath.Join(dir, "status"), RlimitAS: 1 << 62}
}

// The default memory limit is the least of 80 % of MemTotal, the address
// space RLIMIT_AS leaves and the cgroup's limit — its own or an ancestor's,
// v2 (memory.max, "max" for none) or v1 (memory.limit_in_bytes, near 2⁶³
// for none) — and names which.
func TestMemoryLimitIsTheLeast(t *testing.T) {
	const GB = 1 << 30
	meminfo := "MemTotal:       10485760 kB\nMemFree: 1 kB\n" // 10 GiB
	for _, c := range []struct {
		name  string
		files map[string]string
		rlim  uint64
		want  float64
		from  string
	}{
		{"meminfo alone", map[string]string{"meminfo": meminfo, "cgroup": "0::/\n", "sys/memory.max": "max\n"}, 0, 8 * GB, "MemTotal"},
		{"v2 ancestor", map[string]string{"meminfo": meminfo, "cgroup": "0::/job/step\n", "sys/job/memory.max": "2147483648\n", "sys/job/step/memory.max": "max\n"}, 0, 2 * GB, "job/memory.max"},
		{"v2 own below ancestor", map[string]string{"meminfo": meminfo, "cgroup": "0::/job/step\n", "sys/job/memory.max": "3221225472\n", "sys/job/step/memory.max": "1073741824\n"}, 0, 1 * GB, "step/memory.max"},
		{"v1", map[string]string{"meminfo": meminfo, "cgroup": "9:pids:/\n4:memory:/x\n0::/\n", "sys/memory/x/memory.limit_in_bytes": "4294967296\n", "sys/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, 4 * GB, "memory.limit_in_bytes"},
		{"v1 unlimited", map[string]string{"meminfo": meminfo, "cgroup": "4:memory:/x\n", "sys/memory/x/memory.limit_in_bytes": "9223372036854771712\n"}, 0, 8 * GB, "MemTotal"},
		{"rlimit less mapped", map[string]string{"meminfo": meminfo, "status": "VmSize:\t 1048576 kB\n"}, 3 * GB, 2 * GB, "RLIMIT_AS"},
		{"no meminfo", map[string]string{}, 0, 16 * GB, "16 GiB"},
	} {
		src := memFixture(t, c.files)
		if c.rlim != 0 {
			src.RlimitAS = c.rlim
		}
		got := MemoryLimit(src)
		if got.Bytes != c.want || !strings.Contains(got.From, c.from) {
			t.Errorf("%s: %.4g bytes from %q, want %.4g from %q", c.name, got.Bytes, got.From, c.want, c.from)
		}
	}
}
