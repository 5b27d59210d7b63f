package main

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"codeberg.org/sbinet/npyio/npy"

	"mimverify/theory"
)

// trajectoryFormat resolves 'run --format': json or npz, by default from
// the --out extension (.npz), else json.
func (c *runConfig) trajectoryFormat() (err error) {
	c.format, err = formatFor(c.format, c.out, "json", map[string]string{".npz": "npz", ".json": "json"}, "json", "npz")
	return err
}

// npzStream writes a run as a NumPy .npz archive (docs/FORMATS.md): a zip
// file and nothing else, whose entries are per record its step, time and
// loss; A as one array per cluster k, "A{k}" of shape (records, P, N_k); B
// of shape (records, P, P); and the header fields of the JSON form, setting
// included, as a JSON string "meta".
//
// An .npy entry gives its shape before its data, and a zip archive holds
// one entry after another, so the arrays cannot be written while the run
// makes them. Each record is appended instead to one spill file per array
// (raw little-endian numbers, unlinked at once so that no exit leaves them
// behind), and close copies each into its entry. Memory stays flat in the
// number of records: a buffer per array; the disk holds the numbers twice
// until the run ends. npyio writes whole in-memory arrays only, so the
// entries' .npy headers are written here (npyHeader).
type npzStream struct {
	w      io.Writer
	meta   runOutput
	n      int64 // records added
	arrays []*spill
	err    error
}

// spill is one array's numbers so far, and the shape of one record's part.
type spill struct {
	name  string
	descr string // '<f8' or '<i8'
	shape []int  // of one record
	f     *os.File
	buf   *bufio.Writer
}

func newNPZStream(w io.Writer, meta runOutput) *npzStream {
	st := &npzStream{w: w, meta: meta}
	P := meta.Setting.P
	add := func(name, descr string, shape ...int) {
		if st.err != nil {
			return
		}
		f, err := os.CreateTemp("", "mimverify-npz-*")
		if err != nil {
			st.err = fmt.Errorf("npz: a spill file for %s: %w", name, err)
			return
		}
		os.Remove(f.Name()) // the open descriptor keeps it until closed
		st.arrays = append(st.arrays, &spill{name: name, descr: descr, shape: shape, f: f, buf: bufio.NewWriterSize(f, 1<<16)})
	}
	add("step", "<i8")
	add("time", "<f8")
	add("loss", "<f8")
	add("loss_stderr", "<f8")
	add("B", "<f8", P, P)
	for k, c := range meta.Setting.Clusters {
		add(fmt.Sprintf("A%d", k), "<f8", P, c.NumAreas())
	}
	return st
}

// add appends one record to every spill file.
func (st *npzStream) add(r *theory.Record) error {
	if st.err != nil {
		return st.err
	}
	a := st.arrays
	put := func(s *spill, v uint64) {
		if st.err == nil {
			st.err = binary.Write(s.buf, binary.LittleEndian, v)
		}
	}
	put(a[0], uint64(int64(r.Step)))
	put(a[1], math.Float64bits(r.Time))
	put(a[2], math.Float64bits(r.Loss))
	put(a[3], math.Float64bits(r.LossStdErr))
	for _, row := range r.B {
		for _, v := range row {
			put(a[4], math.Float64bits(v))
		}
	}
	for k, ak := range r.A {
		for _, row := range ak {
			for _, v := range row {
				put(a[5+k], math.Float64bits(v))
			}
		}
	}
	st.n++
	return st.err
}

// close writes the archive: meta, then each array from its spill file.
func (st *npzStream) close() error {
	defer st.release()
	if st.err != nil {
		return st.err
	}
	zw := zip.NewWriter(st.w)
	js, err := json.Marshal(st.meta)
	if err != nil {
		return err
	}
	// np.savez names each entry NAME.npy; np.load keys it NAME.
	e, err := zw.CreateHeader(&zip.FileHeader{Name: "meta.npy", Method: zip.Store})
	if err == nil {
		err = npy.Write(e, string(js))
	}
	for _, s := range st.arrays {
		if err != nil {
			break
		}
		err = st.copy(zw, s)
	}
	if err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	return zw.Close()
}

// copy writes one array's entry: its header, then its spill file.
func (st *npzStream) copy(zw *zip.Writer, s *spill) error {
	if err := s.buf.Flush(); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	e, err := zw.CreateHeader(&zip.FileHeader{Name: s.name + ".npy", Method: zip.Store})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(e, npyHeader(s.descr, append([]int{int(st.n)}, s.shape...))); err != nil {
		return err
	}
	_, err = io.Copy(e, bufio.NewReaderSize(s.f, 1<<16))
	return err
}

func (st *npzStream) release() {
	for _, s := range st.arrays {
		s.f.Close()
	}
	st.arrays = nil
}

// npyHeader is the header of an .npy file, format version 1.0 (NumPy's
// "NEP 1 — A simple file format for NumPy arrays"): the magic "\x93NUMPY",
// the version 1.0, the length of the header dictionary as a little-endian
// uint16, then the dictionary, padded with spaces and ended by a newline so
// that the data starts at a multiple of 64 bytes.
func npyHeader(descr string, shape []int) string {
	dims := make([]string, len(shape))
	for i, n := range shape {
		dims[i] = fmt.Sprint(n)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, tuple)
	const prefix = 10 // magic (6), version (2), length (2)
	pad := 63 - (prefix+len(dict))%64
	dict += strings.Repeat(" ", pad) + "\n"
	return "\x93NUMPY\x01\x00" + string([]byte{byte(len(dict)), byte(len(dict) >> 8)}) + dict
}
