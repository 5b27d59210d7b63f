package main

import (
	"strings"

	"mimverify/engine"
	"mimverify/theory"
)

// refuseDeparted refuses, as bad input (exit 2), a reduced engine on a
// setting that departs from the assumptions, naming each assumption it
// breaks (docs/ASSUMPTIONS.md): only the full model runs such settings.
func refuseDeparted(id engine.ID, s theory.Setting) error {
	broken := s.Broken()
	if id == engine.Full || len(broken) == 0 {
		return nil
	}
	return badInput("--engine %s: %s; run it with --engine full (docs/ASSUMPTIONS.md)", id, strings.Join(broken, "; "))
}
