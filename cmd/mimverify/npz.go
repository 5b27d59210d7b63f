package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"codeberg.org/sbinet/npyio/npz"

	"mimverify/internal/atomicfile"
)

// trajectoryFormat resolves 'run --format': json or npz, by default from
// the --out extension (.npz), else json.
func (c *runConfig) trajectoryFormat() error {
	if c.format == "" {
		c.format = "json"
		if strings.EqualFold(filepath.Ext(c.out), ".npz") {
			c.format = "npz"
		}
	}
	if c.format != "json" && c.format != "npz" {
		return badInput("--format = %q: must be json or npz", c.format)
	}
	return nil
}

// writeNPZ writes a trajectory as a NumPy .npz archive (docs/FORMATS.md):
// per record its step, time and loss; A as one array per cluster k, "A{k}"
// of shape (records, P, N_k); B of shape (records, P, P); and the header
// fields of the JSON form, setting included, as a JSON string "meta". A
// float64 costs 8 bytes instead of ~20 characters of JSON.
func writeNPZ(path string, out runOutput) error {
	recs := out.Records
	steps := make([]int64, len(recs))
	times := make([]float64, len(recs))
	loss := make([]float64, len(recs))
	stderr := make([]float64, len(recs))
	b := make([][][]float64, len(recs))
	for i, r := range recs {
		steps[i], times[i], loss[i], stderr[i], b[i] = int64(r.Step), r.Time, r.Loss, r.LossStdErr, r.B
	}
	meta := out
	meta.Records = nil
	js, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	arrays := []struct {
		name string
		v    any
	}{{"meta", string(js)}, {"step", steps}, {"time", times}, {"loss", loss}, {"loss_stderr", stderr}, {"B", b}}
	for k := range out.Setting.Clusters {
		a := make([][][]float64, len(recs))
		for i, r := range recs {
			a[i] = r.A[k]
		}
		arrays = append(arrays, struct {
			name string
			v    any
		}{fmt.Sprintf("A%d", k), a})
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		zw := npz.NewWriter(w)
		for _, a := range arrays {
			// np.savez names each entry NAME.npy; np.load keys it NAME.
			if err := zw.Write(a.name+".npy", a.v); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}
