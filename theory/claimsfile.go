package theory

import (
	"fmt"
	"slices"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"

	"mimverify/theory/expr"
)

// Claims as data (docs/CLAIMS.md): a claims file states claims the way
// Claims does in Go — a statement, a regime, an observable, a prediction
// and a relation — so that a theorist adds or revises a claim without
// editing code. It is read as strictly as a setting file: unknown fields,
// observables, relations and symbols are errors naming the line, the name
// and the known ones.

// Conjecture is the provenance of a claim nobody has derived yet.
const Conjecture Provenance = "conjecture"

// At says where along the run a claim's observable is compared with its
// prediction.
type At string

const (
	// AtLast compares at the last recorded step t.
	AtLast At = "last"
	// AtEvery compares at every recorded step ≥ From, with t bound to each
	// record's step: the claim holds when the relation holds at all of them.
	AtEvery At = "every"
)

// ObservableRef names an observable of the judge's registry with its
// arguments: own_mass_quantile(0.05) is ID own_mass_quantile, Args [0.05];
// slope(own_mass_deficit) is ID slope, Of the inner observable.
type ObservableRef struct {
	ID   string
	Args []expr.Expr
	Of   *ObservableRef
}

// String prints the reference as a claims file writes it.
func (o ObservableRef) String() string {
	var args []string
	if o.Of != nil {
		args = append(args, o.Of.String())
	}
	for _, a := range o.Args {
		args = append(args, a.String())
	}
	if len(args) == 0 {
		return o.ID
	}
	return o.ID + "(" + strings.Join(args, ", ") + ")"
}

// ObservableSig is what the claims decoder knows of an observable: its id,
// the names of its numeric parameters (all optional: a missing one takes
// the check's value, e.g. δ), and whether it takes another observable (slope).
type ObservableSig struct {
	ID           string
	Params       []string
	OfObservable bool
	// PerRecord: the observable has a value at every record (at: every
	// needs one).
	PerRecord bool
}

// ClaimVocabulary is what a claims file may name: the judge's observables
// and the symbols its formulas may use.
type ClaimVocabulary struct {
	Observables []ObservableSig
	Symbols     []string
}

// ClaimSpec is one claim of a claims file: a Claim (id, statement, regime,
// prediction, relation) with the observable it compares and where.
type ClaimSpec struct {
	Claim
	Observable ObservableRef
	At         At
	// From is the first step compared with At every (0 when not given).
	From float64
	// Window is a slope's fit window [t0, t1] in steps; nil fits from the
	// middle record to the last.
	Window []float64
	// Require makes the report fail when the claim is not asserted.
	Require bool
	// Line is the line of the claim in its file.
	Line int
}

// claimFields are the fields of one claim, in the order docs/CLAIMS.md
// lists them.
var claimFields = []string{"id", "title", "statement", "provenance", "quantity", "observable", "at", "from", "window",
	"relation", "predicted", "predicted_name", "regime", "require"}

// ParseClaims reads a claims file: a mapping with one field, claims, a
// list of claims. Every problem is reported with its line.
func ParseClaims(data []byte, vocab ClaimVocabulary) ([]ClaimSpec, error) {
	return parseClaims(data, vocab, false)
}

// parseClaims reads a claims file; builtin allows the ids C1–C8 (the
// embedded file of the built-in claims).
func parseClaims(data []byte, vocab ClaimVocabulary, builtin bool) ([]ClaimSpec, error) {
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("claims file is %d bytes, larger than the %d allowed", len(data), maxConfigBytes)
	}
	root, err := parseDocument(data)
	if err != nil {
		return nil, err
	}
	d := &claimsDecoder{decoder: decoder{budget: maxConfigItems}, vocab: vocab}
	var specs []ClaimSpec
	top := d.node(root)
	if top == nil || top.Kind != yaml3.MappingNode {
		return nil, fmt.Errorf("a claims file is a mapping with one field, claims: a list of claims (docs/CLAIMS.md)")
	}
	d.mapping(top, "claims file", "", []string{"claims"}, func(_ string, v *yaml3.Node) {
		if v = d.node(v); v == nil || v.Kind != yaml3.SequenceNode {
			d.bad(v, "claims", "a list of claims")
			return
		}
		for i, c := range v.Content {
			specs = append(specs, d.claim(c, fmt.Sprintf("claims[%d]", i)))
		}
	})
	d.unique(specs, builtin)
	if err := d.errs.err(); err != nil {
		return nil, err
	}
	return specs, nil
}

// BuiltinIDs are the ids of Claims, which a claims file may not take.
var BuiltinIDs = []string{"C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"}

type claimsDecoder struct {
	decoder
	vocab ClaimVocabulary
}

// unique checks that claim ids are unique and do not take a built-in id.
func (d *claimsDecoder) unique(specs []ClaimSpec, builtinFile bool) {
	seen := map[string]int{}
	builtin := BuiltinIDs
	for _, s := range specs {
		if line, dup := seen[s.ID]; dup && s.ID != "" {
			d.errs.add(&lineError{line: s.Line, err: fmt.Errorf("claim id %q given twice (first at line %d)", s.ID, line)})
		}
		if !builtinFile && slices.Contains(builtin, s.ID) {
			d.errs.add(&lineError{line: s.Line, err: fmt.Errorf("claim id %q is a built-in claim's (%s): choose another", s.ID, strings.Join(builtin, " "))})
		}
		seen[s.ID] = s.Line
	}
}

// claim decodes one claim.
func (d *claimsDecoder) claim(n *yaml3.Node, path string) ClaimSpec {
	s := ClaimSpec{At: AtLast, Line: n.Line}
	s.Provenance = Conjecture
	s.PredictedName = "prediction"
	fields := map[string]*yaml3.Node{}
	d.mapping(n, path, "{"+strings.Join(claimFields, ", ")+"}", claimFields, func(key string, v *yaml3.Node) {
		fields[key] = v
	})
	for _, req := range []string{"id", "statement", "observable", "relation", "predicted"} {
		if _, ok := fields[req]; !ok && d.node(n) != nil && d.node(n).Kind == yaml3.MappingNode {
			d.failf(n, "%s: field %s is required", path, req)
		}
	}
	for _, key := range claimFields {
		if v, ok := fields[key]; ok {
			d.claimField(&s, path, key, v)
		}
	}
	if s.Quantity == "" {
		s.Quantity = s.Observable.String()
	}
	if s.Title == "" {
		s.Title = s.ID
	}
	if s.At == AtEvery && s.Observable.ID != "" && !d.perRecord(s.Observable.ID) {
		d.failf(fields["at"], "%s.at: every needs an observable with a value at every record; %s is one number per run (use at: last)", path, s.Observable)
	}
	if s.Window != nil && s.Observable.ID != "slope" {
		d.failf(fields["window"], "%s.window: only a slope(…) observable has a fit window (observable is %s)", path, s.Observable)
	}
	return s
}

func (d *claimsDecoder) perRecord(id string) bool {
	i := slices.IndexFunc(d.vocab.Observables, func(o ObservableSig) bool { return o.ID == id })
	return i >= 0 && d.vocab.Observables[i].PerRecord
}

// claimField decodes one field of a claim into s.
func (d *claimsDecoder) claimField(s *ClaimSpec, path, key string, v *yaml3.Node) {
	field := path + "." + key
	switch key {
	case "id":
		s.ID = d.text(v, field, "a claim id such as R1")
	case "title":
		s.Title = d.text(v, field, "a short title")
	case "statement":
		s.Statement = d.text(v, field, "the claim in words")
	case "quantity":
		s.Quantity = d.text(v, field, "what is measured, in words")
	case "predicted_name":
		s.PredictedName = d.text(v, field, "the prediction's name, e.g. ε*(t)")
	case "provenance":
		p := Provenance(d.text(v, field, "paper, derived or conjecture"))
		if p != Paper && p != Derived && p != Conjecture && p != "" {
			d.bad(v, field, "paper, derived or conjecture")
		}
		s.Provenance = p
	case "at":
		a := At(d.text(v, field, "last or every"))
		if a != AtLast && a != AtEvery && a != "" {
			d.bad(v, field, "last or every")
		}
		s.At = a
	case "from":
		s.From = d.number(v, field, "a step ≥ 0")
	case "window":
		s.Window = d.window(v, field)
	case "relation":
		d.relation(s, v, field)
	case "predicted":
		if t := d.text(v, field, "an expression"); t != "" {
			s.Predicted = d.expression(v, field, t)
		}
	case "regime":
		d.regime(s, v, field)
	case "require":
		if n := d.scalar(v, field, "true or false"); n != nil {
			if n.ShortTag() != "!!bool" {
				d.bad(n, field, "true or false")
			}
			s.Require = n.Value == "true"
		}
	case "observable":
		if t := d.text(v, field, "an observable id"); t != "" {
			ref, err := parseObservableRef(t, d.vocab)
			if err != nil {
				d.failf(v, "%s: %v", field, err)
			}
			s.Observable = ref
		}
	}
}

func (d *claimsDecoder) relation(s *ClaimSpec, v *yaml3.Node, field string) {
	t := d.text(v, field, "< <= ≤ > >= ≥ =")
	if t == "" {
		return
	}
	r, err := expr.ParseRelation(t)
	if err != nil {
		d.failf(v, "%s: %v", field, err)
	}
	s.Relation = r
}

func (d *claimsDecoder) window(v *yaml3.Node, field string) []float64 {
	if v = d.node(v); v == nil || v.Kind != yaml3.SequenceNode || len(v.Content) != 2 {
		d.bad(v, field, "[t0, t1], two steps with 0 ≤ t0 < t1")
		return nil
	}
	t0, t1 := d.number(v.Content[0], field+"[0]", "a step ≥ 0"), d.number(v.Content[1], field+"[1]", "a step > t0")
	if !(t0 >= 0 && t1 > t0) {
		d.bad(v, field, "[t0, t1], two steps with 0 ≤ t0 < t1")
	}
	return []float64{t0, t1}
}

// expression parses a formula, reporting a parse error at the field's line.
func (d *claimsDecoder) expression(v *yaml3.Node, field, text string) expr.Expr {
	e, err := expr.Parse(text, d.vocab.Symbols)
	if err != nil {
		d.failf(v, "%s: %v", field, err)
	}
	return e
}

// regime decodes the list of predicates: each a string ("γ <= 0.6") or a
// mapping {if: "γ <= 0.6", why: "…"}.
func (d *claimsDecoder) regime(s *ClaimSpec, v *yaml3.Node, field string) {
	if v = d.node(v); v == nil || v.Kind != yaml3.SequenceNode {
		d.bad(v, field, "a list of predicates such as \"γ <= 0.6\"")
		return
	}
	for i, item := range v.Content {
		at := fmt.Sprintf("%s[%d]", field, i)
		text, why := "", ""
		if n := d.node(item); n != nil && n.Kind == yaml3.MappingNode {
			d.mapping(n, at, "{if, why}", []string{"if", "why"}, func(key string, w *yaml3.Node) {
				if key == "if" {
					text = d.text(w, at+".if", "a predicate")
				} else {
					why = d.text(w, at+".why", "the predicate's reason in words")
				}
			})
		} else {
			text = d.text(item, at, "a predicate such as \"γ <= 0.6\"")
		}
		if text == "" {
			continue
		}
		p, err := expr.ParsePredicate(text, d.vocab.Symbols)
		if err != nil {
			d.failf(item, "%s: %v", at, err)
			continue
		}
		p.Why = why
		s.Regime = append(s.Regime, p)
	}
}

// parseObservableRef reads "name", "name(arg, …)" or "slope(observable)".
func parseObservableRef(text string, vocab ClaimVocabulary) (ObservableRef, error) {
	text = strings.TrimSpace(text)
	name, rest, call := strings.Cut(text, "(")
	name = strings.TrimSpace(name)
	i := slices.IndexFunc(vocab.Observables, func(o ObservableSig) bool { return o.ID == name })
	if i < 0 {
		ids := make([]string, len(vocab.Observables))
		for j, o := range vocab.Observables {
			ids[j] = o.ID
		}
		return ObservableRef{}, fmt.Errorf("unknown observable %q (known: %s)", name, strings.Join(ids, ", "))
	}
	sig := vocab.Observables[i]
	ref := ObservableRef{ID: name}
	if !call {
		if sig.OfObservable {
			return ref, fmt.Errorf("%s needs an observable: %s(own_mass_deficit)", name, name)
		}
		return ref, nil
	}
	inner, ok := strings.CutSuffix(strings.TrimSpace(rest), ")")
	if !ok {
		return ref, fmt.Errorf("%q: missing “)”", text)
	}
	if sig.OfObservable {
		of, err := parseObservableRef(inner, vocab)
		if err != nil {
			return ref, err
		}
		// A fit needs a value at every record: not a once-per-run
		// number (area_wide_step), nor another fit.
		if j := slices.IndexFunc(vocab.Observables, func(o ObservableSig) bool { return o.ID == of.ID }); j < 0 || !vocab.Observables[j].PerRecord || of.Of != nil {
			return ref, fmt.Errorf("%s(%s): %s needs an observable with a value at every record", name, of, name)
		}
		ref.Of = &of
		return ref, nil
	}
	args := splitTop(inner)
	if len(args) > len(sig.Params) {
		return ref, fmt.Errorf("%s takes %d arguments (%s), not %d", name, len(sig.Params), strings.Join(sig.Params, ", "), len(args))
	}
	for _, a := range args {
		e, err := expr.Parse(a, vocab.Symbols)
		if err != nil {
			return ref, fmt.Errorf("%s argument: %w", name, err)
		}
		ref.Args = append(ref.Args, e)
	}
	return ref, nil
}

// splitTop splits at the commas outside parentheses; "" gives no parts.
func splitTop(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}
