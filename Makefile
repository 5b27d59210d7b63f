GO ?= go

.PHONY: all build test test-race bench lint fuzz proptest-long evidence clean

all: lint test

build:
	$(GO) build -o mimverify ./cmd/mimverify

## test: the tests CI runs (README quick start)
test:
	$(GO) test ./...

test-race:
	$(GO) test -race ./...

## bench: the step benchmarks of both engines at P = 16, 64, 196, 400, 1024, BENCHCOUNT runs each,
## into bench-exact.txt and bench-full.txt (summarise or compare with benchstat; docs/PERFORMANCE.md)
BENCHCOUNT ?= 6
bench:
	$(GO) test ./dynamics -run '^$$' -bench ExactStep -benchmem -count $(BENCHCOUNT) | tee bench-exact.txt
	$(GO) test ./empirical -run '^$$' -bench 'GDStep/P(16|64|196|400)$$' -benchmem -count $(BENCHCOUNT) -timeout 60m | tee bench-full.txt
	MIMVERIFY_BENCH_P1024=1 $(GO) test ./empirical -run '^$$' -bench 'GDStep/P1024$$' -benchtime 1x -benchmem -count 3 -timeout 60m | tee -a bench-full.txt

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt: unformatted files:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: the config loader, 60 s
fuzz:
	$(GO) test ./theory -run '^$$' -fuzz FuzzParseConfig -fuzztime 60s

## proptest-long: the property tests with 10× more generated settings
proptest-long:
	$(GO) test ./proptest/... -rapid.checks=1000 -rapid.seed=$$(date +%s) -timeout 60m -v -run 'Equals|ToPopulation|ToFlow|MatchesCRN'

## evidence: regenerate docs/evidence/ (the tool's own numerical evidence for docs/THEORY.md; a few minutes)
evidence: build
	mkdir -p docs/evidence
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

clean:
	rm -f mimverify bench-exact.txt bench-full.txt
