package judge

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"mimverify/theory"
)

// The full-model form of an external run (docs/FORMATS.md, "Full-model
// run"): a trainer of the d×d model writes Q at every recorded step with
// the embedding it trained in (the position embeddings e_p and the
// features v_{k,j}), and the judge projects Q to the correlations of SPEC
// §2, A_{k,p,j} = e_pᵀ Q v_{k,j} and B_{p,q} = e_pᵀ Q e_q, and measures how
// much of Q lies outside their span. By SPEC §2's lemma the gradient of the
// model of SPEC §1 lies in that span, so from any start the out-of-span
// component stays what it was at step 0, up to rounding; a component that
// moves says the trainer's model or embedding is not the one SPEC §1
// describes, and that (A, B) is a projection of what it learned.

// FullTrajectory is an external run of the full model.
type FullTrajectory struct {
	// Engine names the trainer in reports (e.g. "pytorch").
	Engine string `json:"engine"`
	// Positions holds e_p, P rows of d; Features v_{k,j}, per cluster N_k
	// rows of d. Together they must be orthonormal.
	Positions [][]float64   `json:"positions"`
	Features  [][][]float64 `json:"features"`
	Records   []FullRecord  `json:"records"`
}

// FullRecord is Q at a recorded step, with the trainer's loss there (Time
// is read as η·Step).
type FullRecord struct {
	Step int         `json:"step"`
	Time float64     `json:"time"`
	Loss float64     `json:"loss"`
	Q    [][]float64 `json:"Q"`
}

// OutOfSpan reports the component of Q outside span{e_p v_{k,j}ᵀ, e_p e_qᵀ}
// on a full-model external run: its Frobenius norm at the first and the
// last record, and how far it moved from its step-0 value against the
// rounding bound of docs/AGREEMENT.md §1, 4·d·u·(Σ‖ΔQ‖_F + (t+1)·‖Q(0)‖_F),
// at u = 2⁻⁵² (float64) and u = 2⁻²³ (float32), the path Σ‖ΔQ‖ taken over
// the recorded steps (exact when every step is recorded).
type OutOfSpan struct {
	Initial Float `json:"initial"`
	Final   Float `json:"final"`
	// Drift is the largest ‖out(Q_t) − out(Q_0)‖_F over the records, at
	// step DriftStep, where the bounds are Bound64 and Bound32.
	Drift     Float `json:"drift"`
	DriftStep int   `json:"drift_step"`
	Bound64   Float `json:"bound_float64"`
	Bound32   Float `json:"bound_float32"`
	// Moved is ‖Q_T − Q_0‖_F, how far Q moved in all.
	Moved Float `json:"moved"`
	// Warning is set when the drift exceeds the float32 bound at some
	// record: not rounding, whatever the trainer's precision.
	Warning string `json:"warning,omitempty"`
}

// orthonormalTol is how far from orthonormal the embedding's vectors may
// be, in every inner product: above float32 rounding of a basis of
// dimension d ≤ 10⁴ (√d·2⁻²⁴ ≤ 6e-6), far below an overlap that would
// change the (A, B) reduction measurably.
const orthonormalTol = 1e-5

// ProjectFull projects a full-model run to the trajectory of (A, B) the
// judge measures, and reports Q's out-of-span component. An embedding or a
// Q of the wrong size, non-orthonormal vectors or a non-finite entry is an
// error naming the record or vector.
func ProjectFull(s *theory.Setting, ft *FullTrajectory) (theory.Trajectory, *OutOfSpan, error) {
	w, P, err := embeddingRows(s, ft)
	if err != nil {
		return theory.Trajectory{}, nil, err
	}
	d := s.Dim()
	e := w.Slice(0, P, 0, d)
	var projE, projW mat.Dense
	projE.Mul(e.T(), e) // onto span{e_p}
	projW.Mul(w.T(), w) // onto span{e_p, v_{k,j}}
	tr := theory.Trajectory{Engine: ft.Engine, Records: make([]theory.Record, len(ft.Records))}
	var span OutOfSpan
	var q0, prev, out0 *mat.Dense
	path, worst := 0.0, -1.0
	for i := range ft.Records {
		fr := &ft.Records[i]
		q, err := denseOf(fr.Q, d)
		if err != nil {
			return theory.Trajectory{}, nil, fmt.Errorf("records[%d] (step %d): Q: %w", i, fr.Step, err)
		}
		// τ = η·t, whatever the trainer wrote as time.
		tr.Records[i] = theory.Record{Step: fr.Step, Time: s.Eta * float64(fr.Step), Loss: fr.Loss, Correlations: project(s, q, w, P)}
		var in, out mat.Dense
		in.Product(&projE, q, &projW)
		out.Sub(q, &in)
		if i == 0 {
			q0, out0 = q, &out
			span.Initial = Float(mat.Norm(&out, 2))
		} else {
			var dq, drift mat.Dense
			dq.Sub(q, prev)
			path += mat.Norm(&dq, 2)
			drift.Sub(&out, out0)
			scale := 4 * float64(d) * (path + float64(fr.Step+1)*mat.Norm(q0, 2))
			worst = span.note(fr.Step, mat.Norm(&drift, 2), scale, worst)
		}
		span.Final = Float(mat.Norm(&out, 2))
		prev = q
	}
	if prev != nil {
		var moved mat.Dense
		moved.Sub(prev, q0)
		span.Moved = Float(mat.Norm(&moved, 2))
	}
	return tr, &span, nil
}

// note keeps the record whose drift is the largest against its bound
// (scale·u, u the unit roundoff; worst is the largest ratio so far), and
// the warning at the first record where it passes the float32 bound.
func (o *OutOfSpan) note(step int, drift, scale, worst float64) float64 {
	b64, b32 := scale*0x1p-52, scale*0x1p-23
	if ratio := drift / math.Max(b64, math.SmallestNonzeroFloat64); ratio > worst {
		o.Drift, o.DriftStep, o.Bound64, o.Bound32 = Float(drift), step, Float(b64), Float(b32)
		worst = ratio
	}
	if drift > b32 && o.Warning == "" {
		o.Warning = fmt.Sprintf("Q's component outside the span of SPEC §2 moved by %.3g at step %d, above even float32 rounding (%.3g): "+
			"the trainer's gradient has terms the model of SPEC §1 does not have (or the embedding given is not the one it trained in); "+
			"the claims are judged on Q's projection (A, B)", drift, step, b32)
	}
	return worst
}

// embeddingRows stacks the embedding as the rows of W = [e_1 … e_P, v_{0,0}
// …], checking sizes and orthonormality.
func embeddingRows(s *theory.Setting, ft *FullTrajectory) (*mat.Dense, int, error) {
	d, P := s.Dim(), s.P
	var rows [][]float64
	var names []string
	if len(ft.Positions) != P {
		return nil, 0, fmt.Errorf("embedding: positions has %d vectors, the setting has P = %d", len(ft.Positions), P)
	}
	for p, v := range ft.Positions {
		rows, names = append(rows, v), append(names, fmt.Sprintf("positions[%d]", p))
	}
	if len(ft.Features) != len(s.Clusters) {
		return nil, 0, fmt.Errorf("embedding: features has %d clusters, the setting has K = %d", len(ft.Features), len(s.Clusters))
	}
	for k, c := range s.Clusters {
		if len(ft.Features[k]) != c.NumAreas() {
			return nil, 0, fmt.Errorf("embedding: features[%d] has %d vectors, cluster %d has %d areas", k, len(ft.Features[k]), k, c.NumAreas())
		}
		for j, v := range ft.Features[k] {
			rows, names = append(rows, v), append(names, fmt.Sprintf("features[%d][%d]", k, j))
		}
	}
	w := mat.NewDense(len(rows), d, nil)
	for i, v := range rows {
		if len(v) != d {
			return nil, 0, fmt.Errorf("embedding: %s has %d entries, the setting has d = %d", names[i], len(v), d)
		}
		if err := finiteRow(v); err != nil {
			return nil, 0, fmt.Errorf("embedding: %s: %w", names[i], err)
		}
		w.SetRow(i, v)
	}
	var g mat.Dense
	g.Mul(w, w.T())
	for i := range rows {
		for j := range rows {
			want := 0.0
			if i == j {
				want = 1
			}
			if x := g.At(i, j); math.Abs(x-want) > orthonormalTol {
				return nil, 0, fmt.Errorf("embedding: %s · %s = %.3g, must be %g (within %g): the vectors of SPEC §1 are orthonormal", names[i], names[j], x, want, orthonormalTol)
			}
		}
	}
	return w, P, nil
}

// denseOf reads a d×d matrix given as rows.
func denseOf(rows [][]float64, d int) (*mat.Dense, error) {
	if len(rows) != d {
		return nil, fmt.Errorf("%d rows, must be d = %d", len(rows), d)
	}
	q := mat.NewDense(d, d, nil)
	for i, r := range rows {
		if len(r) != d {
			return nil, fmt.Errorf("row %d has %d entries, must be d = %d", i, len(r), d)
		}
		if err := finiteRow(r); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		q.SetRow(i, r)
	}
	return q, nil
}

func finiteRow(v []float64) error {
	for j, x := range v {
		if !theory.Finite(x) {
			return fmt.Errorf("entry %d is %v", j, x)
		}
	}
	return nil
}

// project returns A_{k,p,j} = e_pᵀ Q v_{k,j} and B_{p,q} = e_pᵀ Q e_q, the
// rows of w being e_1 … e_P and then the features cluster by cluster.
func project(s *theory.Setting, q, w *mat.Dense, P int) theory.Correlations {
	var m mat.Dense // m = W Q Wᵀ: entry (a, b) is w_aᵀ Q w_b
	m.Product(w, q, w.T())
	c := s.Shape().New()
	off := P
	for k := range c.A {
		for p := range c.A[k] {
			for j := range c.A[k][p] {
				c.A[k][p][j] = m.At(p, off+j)
			}
		}
		off += len(c.A[k][0])
	}
	for p := range c.B {
		for q2 := range c.B[p] {
			c.B[p][q2] = m.At(p, q2)
		}
	}
	return c
}

// CheckFullTrajectory judges a full-model external run: its projection to
// (A, B) as CheckTrajectory judges a run written as (A, B), with Q's
// out-of-span component in the report (Run.OutOfSpan) and, when it moved
// beyond rounding, its warning in every judged claim's detail.
func CheckFullTrajectory(s theory.Setting, ft *FullTrajectory, samples []theory.Sample, opt Options) (*Report, error) {
	if len(ft.Records) == 0 {
		return nil, fmt.Errorf("%w: trajectory: no records", ErrOptions)
	}
	tr, span, err := ProjectFull(&s, ft)
	if err != nil {
		return nil, fmt.Errorf("%w: trajectory: %w", ErrOptions, err)
	}
	rep, err := CheckTrajectory(s, tr, samples, opt)
	if err != nil {
		return nil, err
	}
	rep.Run.OutOfSpan = span
	if span.Warning != "" {
		for i := range rep.Results {
			if _, unjudged := needsEngines[rep.Results[i].ID]; !unjudged {
				rep.Results[i].Detail += "; warning: " + span.Warning
			}
		}
	}
	return rep, nil
}
