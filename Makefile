# loupe — the README's two commands are `make run` and `make test`.
GO ?= go

.PHONY: run test build check vet bench-ingest bench-query clean

## run: start loupe on 127.0.0.1:4318 (HTTP: OTLP, API) and :4317 (gRPC), fed with demo traffic
run:
	$(GO) run ./cmd/loupe serve --demo

## test: the whole suite, set-up included (what CI runs)
test:
	./scripts/test.sh

## build: the loupe binary in ./bin
build:
	$(GO) build -o bin/loupe ./cmd/loupe

## check: fast static checks only
check:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## bench-ingest: the reproducible ingest benchmark (writes bench/results/)
bench-ingest:
	./bench/ingest.sh

clean:
	rm -rf bin bench/bin loupe-data

## bench-query: query latencies at 1M and 10M stored spans (writes bench/results/)
bench-query:
	./bench/query.sh
