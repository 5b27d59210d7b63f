package judge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"mimverify/theory"
)

// Provenance says what produced a report or a sweep, so that a colleague can
// rerun it: the tool's version and revision, the command line, when and
// where it ran, and the hash of the setting it ran on.
type Provenance struct {
	Tool string `json:"tool"`
	// Version is the module version ("(devel)" for a build from a work
	// tree); Revision and Modified the VCS revision it was built from and
	// whether the work tree had uncommitted changes (empty and false when
	// the build did not record them, as 'go run' does not).
	Version    string   `json:"version"`
	Revision   string   `json:"revision,omitempty"`
	Modified   bool     `json:"modified,omitempty"`
	GoVersion  string   `json:"go_version"`
	Command    []string `json:"command,omitempty"`
	Start      string   `json:"start"` // RFC 3339, UTC
	Host       string   `json:"host"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	// SettingHash is the SHA-256 (first 12 bytes, hex) of the setting's
	// JSON form: two reports with the same hash ran the same setting.
	SettingHash string `json:"setting_hash"`
}

// BuildVersion returns the module version, the VCS revision and whether the
// build's work tree was modified, from the binary's build information.
func BuildVersion() (version, revision string, modified bool) {
	version = "(unknown)"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, "", false
	}
	version = info.Main.Version
	for _, kv := range info.Settings {
		switch kv.Key {
		case "vcs.revision":
			revision = kv.Value
		case "vcs.modified":
			modified = kv.Value == "true"
		}
	}
	return version, revision, modified
}

// NewProvenance records the provenance of a run of command (the command
// line, program name first) on s, started at start.
func NewProvenance(command []string, s *theory.Setting, start time.Time) *Provenance {
	p := &Provenance{Tool: "mimverify", GoVersion: runtime.Version(), Command: command,
		Start: start.UTC().Format(time.RFC3339), GOMAXPROCS: runtime.GOMAXPROCS(0), SettingHash: SettingHash(s)}
	p.Version, p.Revision, p.Modified = BuildVersion()
	p.Host, _ = os.Hostname()
	return p
}

// SettingHash identifies a setting: the SHA-256 of its JSON form (fields in
// declaration order), first 12 bytes in hex, as Plan.Hash does for plans.
func SettingHash(s *theory.Setting) string { return jsonHash(s) }

// jsonHash is the SHA-256 of v's JSON form, first 12 bytes in hex: the
// identity of a plan (Plan.Hash) and of a setting (SettingHash). Both hold
// only numbers, strings and Floats, whose encoding cannot fail.
func jsonHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("judge: cannot be encoded for hashing: " + err.Error())
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}
