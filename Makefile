GO ?= go

.PHONY: all build test test-race bench lint fuzz proptest-long clean

all: lint test

build:
	$(GO) build -o mimverify ./cmd/mimverify

## test: the tests CI runs (README quick start)
test:
	$(GO) test ./...

test-race:
	$(GO) test -race ./...

## bench: every benchmark, three counts each (compare runs with benchstat)
bench:
	$(GO) test ./... -run '^$$' -bench . -benchmem -count 3

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt: unformatted files:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: the config loader, 60 s
fuzz:
	$(GO) test ./theory -run '^$$' -fuzz FuzzParseConfig -fuzztime 60s

## proptest-long: the property tests with 10× more generated settings
proptest-long:
	$(GO) test ./proptest/... -rapid.checks=1000 -timeout 60m

clean:
	rm -f mimverify
