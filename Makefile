GO ?= go

.PHONY: all build test test-race mutants false-alarms bench peaks roofline sweep-bench lint fuzz proptest-long evidence evidence-departures screenshots slurm-test clean

all: lint test

build:
	$(GO) build -buildvcs=auto -o mimverify ./cmd/mimverify  # records the revision (this machine sets GOFLAGS=-buildvcs=false)

## test: the tests CI runs (README quick start)
test:
	$(GO) test ./...

## test-race: the tests under the race detector (about 10× slower; -short skips the longest judge runs)
test-race:
	$(GO) test -race -short -timeout 60m ./...

## mutants: the mutation gate — check on default and global-local with each mutant of internal/mutant switched on (docs/JUDGE.md)
mutants:
	$(GO) test -tags mutants -count=1 -timeout 30m -run 'TestMutationGate|TestMutantCatalogue|TestEquivalentMutants|TestGateGoal' -v ./judge/

## bench: the step benchmarks of the three engines (exact, population in CRN mode, full) at
## P = 16, 64, 196, 400, 1024, BENCHCOUNT runs each, into bench-exact.txt, bench-population.txt and
## bench-full.txt (with the full model's product kernel, GemmNN); the judge's measurement of a
## record and whole checks of default and vit14 into bench-judge.txt; then summarised by
## benchstat when it is installed (docs/PERFORMANCE.md)
BENCHCOUNT ?= 6
bench:
	$(GO) test ./dynamics -run '^$$' -bench ExactStep -benchmem -count $(BENCHCOUNT) | tee bench-exact.txt
	$(GO) test ./dynamics -run '^$$' -bench 'PopulationStep/P(16|64|196|400)$$' -benchmem -count $(BENCHCOUNT) -timeout 60m | tee bench-population.txt
	MIMVERIFY_BENCH_P1024=1 $(GO) test ./dynamics -run '^$$' -bench 'PopulationStep/P1024$$' -benchtime 1x -benchmem -count 3 -timeout 60m | tee -a bench-population.txt
	$(GO) test ./empirical -run '^$$' -bench 'GDStep/P(16|64|196|400)$$' -benchmem -count $(BENCHCOUNT) -timeout 60m | tee bench-full.txt
	MIMVERIFY_BENCH_P1024=1 $(GO) test ./empirical -run '^$$' -bench 'GDStep/P1024$$' -benchtime 1x -benchmem -count 3 -timeout 60m | tee -a bench-full.txt
	$(GO) test ./empirical -run '^$$' -bench 'GemmNN' -count $(BENCHCOUNT) | tee -a bench-full.txt
	$(GO) test ./judge -run '^$$' -bench 'MeasureAttention' -benchmem -cpu 1,2 -count $(BENCHCOUNT) | tee bench-judge.txt
	$(GO) test ./judge -run '^$$' -bench 'Check/' -benchtime 1x -cpu 2 -count 3 -timeout 60m | tee -a bench-judge.txt
	@if command -v benchstat >/dev/null; then benchstat bench-exact.txt; benchstat bench-population.txt; benchstat bench-full.txt; benchstat bench-judge.txt; \
	else echo "bench: benchstat not found (go install golang.org/x/perf/cmd/benchstat@latest)"; fi

## peaks: the machine peaks of docs/PERFORMANCE.md's roofline, on one core, with the project's
## own kernels: expNonPosSlice (ns/exp), a memory triad (GB/s), Go's scalar FMA (GFLOP/s),
## the exact kernel's gather row loop (Gadd/s);
## BENCHCOUNT runs each (measure on a quiet machine: `uptime` is printed)
peaks:
	@uptime
	$(GO) test ./dynamics -run '^$$' -bench '^BenchmarkPeak' -benchtime 200x -cpu 1 -count $(BENCHCOUNT) | tee bench-peaks.txt
	@if command -v benchstat >/dev/null; then benchstat bench-peaks.txt; fi

## roofline: the roofline table of the exact step (docs/PERFORMANCE.md): the inherent work per
## step (TestExactWork), the peaks and the step at P = 16…400 on 1 and 2 cores (BENCHCOUNT runs
## each), then each step's median and best as a multiple of its floor (tools/roofline)
roofline:
	@uptime
	MIMVERIFY_WORK_OUT=$(CURDIR)/roofline-work.json $(GO) test ./dynamics -run '^TestExactWork$$' -count 1
	$(GO) test ./dynamics -run '^$$' -bench '^BenchmarkPeak(Exp|RowAdds|Triad)$$' -benchtime 200x -cpu 1 -count $(BENCHCOUNT) | tee bench-roofline.txt
	$(GO) test ./dynamics -run '^$$' -bench '^BenchmarkExactStep/P(16|64|196|400)$$' -benchtime 300x -cpu 1,2 -count $(BENCHCOUNT) | tee -a bench-roofline.txt
	$(GO) run ./tools/roofline -work roofline-work.json bench-roofline.txt

## sweep-bench: the 1,000-point sweep of docs/PERFORMANCE.md (default; C2, C3, C5, C7; the
## judge's default samples), timed, on the orbit engine (ENGINE=exact for the n-sample runs);
## SHARD=0/10 runs a deterministic tenth of it (resumable: rerun to continue)
ENGINE ?= orbit
SWEEP_PLAN = --preset default --vary gamma=0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.75 \
	--vary z.U=1.05,1.1,1.15,1.2,1.25,1.3,1.35,1.4,1.45,1.5 --seeds 10 --claims C2,C3,C5,C7 --engine $(ENGINE)
SHARD ?= 0/1
sweep-bench: build
	mkdir -p bench
	start=$$(date +%s); ./mimverify sweep $(SWEEP_PLAN) --progress never --shard $(SHARD) \
		--results bench/sweep-$(ENGINE)-$(subst /,-of-,$(SHARD)).jsonl --format csv --out bench/sweep-$(ENGINE)-$(subst /,-of-,$(SHARD)).csv && \
		echo "sweep-bench: shard $(SHARD) in $$(( $$(date +%s) - start )) s (wall)"

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt: unformatted files:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags mutants ./...
	$(GO) vet -tags purego ./...

## false-alarms: the judge's false-alarm rate — check (sharp bands, no controls) on default,
## global-local, grid4 and coverage at 50 seeds each, the failures per claim (docs/JUDGE.md §Power;
## tools/falsealarms/run.sh; about 20 minutes on the 2-core machine; not in CI)
false-alarms: build
	tools/falsealarms/run.sh build/false-alarms

## fuzz: the config loader, 60 s
fuzz:
	$(GO) test ./theory -run '^$$' -fuzz FuzzParseConfig -fuzztime 60s

## proptest-long: the property tests with 10× more generated settings
proptest-long:
	$(GO) test ./proptest/... -rapid.checks=1000 -rapid.seed=$$(date +%s) -timeout 60m -v -run 'Equals|ToPopulation|ToFlow|MatchesCRN'

## evidence: regenerate docs/evidence/ — every number docs/THEORY.md and docs/JUDGE.md cite (several minutes)
RATES = "-preset default -eta 10 -steps 2000" \
	"-preset default -eta 10 -steps 2000 -z constant -L 1 -U 1" \
	"-preset default -eta 10 -steps 2000 -z constant -L 0.5 -U 0.5" \
	"-preset default -eta 10 -steps 2000 -z two-point" \
	"-preset default -eta 10 -steps 2000 -z shared" \
	"-preset default -eta 10 -steps 2000 -gamma 0.3" \
	"-preset default -eta 10 -steps 2000 -gamma 0.7" \
	"-preset default -eta 2 -steps 4000" \
	"-preset default -eta 11 -steps 2000" \
	"-preset default -eta 10 -steps 2000 -loss mean" \
	"-preset default -eta 10 -steps 2000 -keys all" \
	"-preset grid4 -eta 2 -steps 4000" \
	"-preset grid4 -eta 2 -steps 4000 -pop" \
	"-preset grid4 -eta 7.5 -steps 2000" \
	"-preset grid4 -eta 2 -steps 2000 -gamma 0.7" \
	"-preset random-regions -eta 10 -steps 2000" \
	"-preset vit14 -eta 10 -steps 1000" \
	"-preset global-local -eta 2 -steps 4000"
PHASES = "-eta 0.2 -steps 1500" \
	"-eta 0.2 -steps 1500 -z constant -L 1" \
	"-g 20 -l 2,2,2 -eta 0.2 -steps 1500" \
	"-eta 2 -steps 1500"

evidence: build
	mkdir -p docs/evidence bin
	$(GO) build -o bin/evidence ./tools/evidence
	for a in $(RATES); do echo "### rates $$a"; ./bin/evidence rates $$a -v || exit 1; done > docs/evidence/rates.txt
	for a in $(PHASES); do echo "### phase $$a"; ./bin/evidence phase $$a || exit 1; done > docs/evidence/phase.txt
	$(GO) test -count=1 -v -run 'TestFlowQuadraticClosedForm|TestFlowVsGDOrderEta|TestFlowGapBound|TestFlowVsDescendGrid4' ./dynamics > docs/evidence/tests-flow.txt
	$(GO) test -count=1 -v -run 'TestDescentToFlow|TestFullEqualsExact|TestSamplesToPopulation|TestEnumerationMatchesCRN' ./proptest > docs/evidence/tests-agreement.txt
	./mimverify check --format markdown --out docs/evidence/check-default.md --progress never
	./mimverify check --preset global-local --format markdown --out docs/evidence/check-global-local.md --progress never
	./mimverify sweep --preset default --vary gamma=0.3,0.5,0.7 --vary z.kind=constant,uniform,two-point \
		--claims C2,C3,C4,C5,C7 --format markdown --out docs/evidence/sweep-default.md --progress never
	./mimverify sweep --preset global-local --vary z.kind=constant,uniform,two-point --vary z.L=0.5,1 \
		--claims C3,C6 --format markdown --out docs/evidence/sweep-global-local.md --progress never
	./mimverify sweep --preset grid4 --vary keys=unmasked,all --vary loss=sum,mean --vary eta=2,5,20 \
		--claims C2,C3,C7 --format markdown --out docs/evidence/sweep-grid4.md --progress never
	./mimverify sweep --preset grid4 --vary z.kind=constant --vary samples=64,128,256 \
		--claims C2,C3 --format json --out docs/evidence/sweep-grid4-samples.json --progress never

## evidence-departures: regenerate docs/evidence/departures/ — the findings of docs/ASSUMPTIONS.md: each
## departure swept on grid4 with the full model (C2–C7), and the (noise σ, feature overlap) phase
## diagram for C3 and C5 (about 15 minutes on 2 cores; not in CI)
DEP = docs/evidence/departures
DEP_SWEEP = ./mimverify sweep --preset grid4 --claims C2,C3,C4,C5,C6,C7 --progress never --format markdown --fail-on never
evidence-departures: build
	mkdir -p $(DEP)
	$(DEP_SWEEP) --vary noise=0,0.05,0.1,0.2,0.4 --out $(DEP)/noise.md
	$(DEP_SWEEP) --vary feature_overlap=0,0.2,0.4,0.6,0.8,0.95 --out $(DEP)/feature_overlap.md
	$(DEP_SWEEP) --vary position_overlap=0,0.2,0.4,0.6,0.8,0.95 --out $(DEP)/position_overlap.md
	$(DEP_SWEEP) --vary random_partitions=false,true --out $(DEP)/random_partitions.md
	$(DEP_SWEEP) --vary batch=0,8,32,128 --vary replacement=false --out $(DEP)/batch.md
	$(DEP_SWEEP) --vary optimizer=gd,adam --vary eta=0.01,0.03,0.1,0.3 --max-steps 1000 --out $(DEP)/adam.md
	$(DEP_SWEEP) --vary weight_decay=0,0.001,0.01,0.1 --out $(DEP)/weight_decay.md
	$(DEP_SWEEP) --vary heads=1,2,4 --vary train_value=false,true --out $(DEP)/model.md
	$(DEP_SWEEP) --vary train_value=false,true --vary eta=0.5,1,2 --out $(DEP)/value-eta.md
	./mimverify sweep --preset grid4 --claims C3,C5 --progress never --fail-on never \
		--vary noise=0,0.05,0.1,0.2,0.4 --vary feature_overlap=0,0.2,0.4,0.6,0.8 \
		--format markdown --out $(DEP)/phase-noise-overlap.md --figures $(DEP)/phase-noise-overlap

## screenshots: the check (default, global-local, and default failing under the learning-rate
## mutant) and a two-axis and a one-axis sweep as HTML and PNG in build/screenshots/, rendered by
## headless Chromium, then each page loaded in Chromium by TestPagesInBrowser (console errors,
## broken images, overflowing text, figure text under 8 px); skipped, with the reason, without Chromium
screenshots:
	GO=$(GO) tools/screenshots/run.sh build/screenshots

## slurm-test: deploy/slurm's job array on a real one-node Slurm started in build/slurm-test
## (slurm-wlm and munge installed by apt-get where absent; no system service touched): a
## 4-task array, one task cancelled mid-way and resubmitted, the merge job with its
## dependency, the merged sweep against one unsharded run row for row; then deploy/k8s
## validated by kubeconform against the Kubernetes schemas (docs/SWEEPS.md; ~2 min, not in CI)
slurm-test:
	GO=$(GO) tools/slurmtest/run.sh build/slurm-test

clean:
	rm -rf mimverify bin build bench-exact.txt bench-population.txt bench-full.txt bench-judge.txt bench-peaks.txt bench-roofline.txt roofline-work.json
