package main

import (
	"bytes"
	"encoding/json"
	"io"

	"mimverify/theory"
)

// recordKeeper keeps copies of the first and the last record of a run.
type recordKeeper struct {
	first, last *theory.Record
	count       int
}

func (k *recordKeeper) keep(r *theory.Record) error {
	cp := *r
	cp.Correlations = r.Clone()
	if k.first == nil {
		k.first = &cp
	}
	k.last = &cp
	k.count++
	return nil
}

// recordStream writes a run output as it is produced: the header fields,
// then each record, in the JSON layout of runOutput.
type recordStream struct {
	w   io.Writer
	n   int
	err error
}

func newRecordStream(w io.Writer, header runOutput) *recordStream {
	st := &recordStream{w: w}
	b, err := json.Marshal(header)
	if err != nil {
		st.err = err
		return st
	}
	// The header ends with "records":null}; the records follow in its place.
	b = bytes.TrimSuffix(b, []byte(`null}`))
	_, st.err = w.Write(b)
	if st.err == nil {
		_, st.err = io.WriteString(w, "[")
	}
	return st
}

func (st *recordStream) add(r *theory.Record) error {
	if st.err != nil {
		return st.err
	}
	b, err := json.Marshal(r)
	if err != nil {
		st.err = err
		return err
	}
	if st.n > 0 {
		b = append([]byte{','}, b...)
	}
	st.n++
	_, st.err = st.w.Write(b)
	return st.err
}

func (st *recordStream) close() error {
	if st.err != nil {
		return st.err
	}
	_, err := io.WriteString(st.w, "]}\n")
	return err
}
