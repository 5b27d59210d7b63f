package main

import (
	"encoding/json"
	"fmt"
	"io"

	"codeberg.org/sbinet/npyio/npz"

	"mimverify/theory"
)

// trajectoryFormat resolves 'run --format': json or npz, by default from
// the --out extension (.npz), else json.
func (c *runConfig) trajectoryFormat() (err error) {
	c.format, err = formatFor(c.format, c.out, "json", map[string]string{".npz": "npz", ".json": "json"}, "json", "npz")
	return err
}

// npzStream collects a run's records and writes them, when the run ends, as
// a NumPy .npz archive (docs/FORMATS.md): per record its step, time and
// loss; A as one array per cluster k, "A{k}" of shape (records, P, N_k); B
// of shape (records, P, P); and the header fields of the JSON form, setting
// included, as a JSON string "meta". An array's header gives its shape
// first, so unlike the JSON stream the records are kept until the end: a
// float64 costs 8 bytes in memory and on disk instead of ~20 characters.
type npzStream struct {
	w                    io.Writer
	meta                 runOutput
	steps                []int64
	times, loss, stderrs []float64
	corr                 []theory.Correlations
}

func newNPZStream(w io.Writer, meta runOutput) *npzStream { return &npzStream{w: w, meta: meta} }

// add keeps a copy of the record: the engine reuses its correlations.
func (st *npzStream) add(r *theory.Record) error {
	st.steps = append(st.steps, int64(r.Step))
	st.times = append(st.times, r.Time)
	st.loss = append(st.loss, r.Loss)
	st.stderrs = append(st.stderrs, r.LossStdErr)
	st.corr = append(st.corr, r.Correlations.Clone())
	return nil
}

func (st *npzStream) close() error {
	js, err := json.Marshal(st.meta)
	if err != nil {
		return err
	}
	b := make([][][]float64, len(st.corr))
	for i, c := range st.corr {
		b[i] = c.B
	}
	type array struct {
		name string
		v    any
	}
	arrays := []array{{"meta", string(js)}, {"step", st.steps}, {"time", st.times}, {"loss", st.loss}, {"loss_stderr", st.stderrs}, {"B", b}}
	for k := range st.meta.Setting.Clusters {
		a := make([][][]float64, len(st.corr))
		for i, c := range st.corr {
			a[i] = c.A[k]
		}
		arrays = append(arrays, array{fmt.Sprintf("A%d", k), a})
	}
	zw := npz.NewWriter(st.w)
	for _, a := range arrays {
		// np.savez names each entry NAME.npy; np.load keys it NAME.
		if err := zw.Write(a.name+".npy", a.v); err != nil {
			return err
		}
	}
	return zw.Close()
}
