package dynamics

import (
	"mimverify/engine"
	"mimverify/theory"
)

// descend runs gradient descent on obj from init (zero when empty).
func descend(s *theory.Setting, obj Objective, sch engine.Schedule, init theory.Correlations, obs engine.Observer) (theory.Trajectory, error) {
	return Descent{Name: engine.Exact, Objective: obj}.Run(engine.Problem{Setting: s, Init: init}, sch, obs)
}

// lossAt returns obj's loss at c.
func lossAt(obj Objective, c theory.Correlations) float64 {
	l, _ := obj.LossGrad(c, c.Shape().New())
	return l
}
