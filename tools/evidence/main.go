// Command evidence measures the quantities docs/THEORY.md tabulates, on
// exact-engine trajectories: 'evidence rates' the C2/C3/C4/C7 rates and
// area-wide times (§3.4, §4.2), 'evidence phase' the C6 phase events on a
// global+local layout (§7). 'make evidence' runs it over the settings the
// tables list and writes docs/evidence/; it is not part of the mimverify
// binary.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"mimverify/theory"
	"mimverify/theory/expr"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "evidence:", err)
		os.Exit(1)
	}
}

func run(args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: evidence rates|phase [flags]")
	}
	switch args[0] {
	case "rates":
		return rates(args[1:], w)
	case "phase":
		return phase(args[1:], w)
	}
	return fmt.Errorf("unknown subcommand %q: want rates or phase", args[0])
}

// overrides are the setting flags both subcommands take.
type overrides struct {
	eta, gamma, L, U float64
	z, loss, keys    string
}

func (o *overrides) register(fs *flag.FlagSet) {
	fs.Float64Var(&o.eta, "eta", 0, "step size (0: the setting's)")
	fs.Float64Var(&o.gamma, "gamma", 0, "masking probability (0: the setting's)")
	fs.StringVar(&o.z, "z", "", "z law kind (empty: the setting's)")
	fs.Float64Var(&o.L, "L", 0, "z.L (0: the setting's)")
	fs.Float64Var(&o.U, "U", 0, "z.U (0: the setting's)")
	fs.StringVar(&o.loss, "loss", "", "loss normalisation (empty: the setting's)")
	fs.StringVar(&o.keys, "keys", "", "key mode (empty: the setting's)")
}

// apply sets the overridden fields and resolves the setting.
func (o *overrides) apply(s *theory.Setting) error {
	if o.eta > 0 {
		s.Eta = o.eta
	}
	if o.gamma > 0 {
		s.Gamma = o.gamma
	}
	if o.z != "" {
		s.Z.Kind = theory.ZKind(o.z)
	}
	if o.L > 0 {
		s.Z.L = o.L
	}
	if o.U > 0 {
		s.Z.U = o.U
	}
	if s.Z.Kind == theory.ZConstant && o.U == 0 {
		s.Z.U = s.Z.L
	}
	if o.loss != "" {
		s.Loss = theory.LossNorm(o.loss)
	}
	if o.keys != "" {
		s.Keys = theory.KeyMode(o.keys)
	}
	return s.Resolve()
}

// prediction returns a claim's predicted expression (or, with aux, one of
// its auxiliary predictions).
func prediction(id, aux string) (expr.Expr, error) {
	for _, c := range theory.Claims() {
		if c.ID != id {
			continue
		}
		if aux == "" {
			return c.Predicted, nil
		}
		if e, ok := c.Aux[aux]; ok {
			return e, nil
		}
	}
	return expr.Expr{}, fmt.Errorf("claim %s has no prediction %q", id, aux)
}
