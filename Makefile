# bulksend's build, tests and benchmarks. `make test` is what CI runs.
GO ?= go
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: build test lint fuzz bench bench-limits bench-limits-real bench-shards demo

build:
	$(GO) build -o bulksend .

# The whole check: formatting, vet, staticcheck, module tidiness, and every
# test with the race detector (unit, fuzz seed corpora, end-to-end scripts).
test: lint
	$(GO) test -race -count=1 -timeout 20m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	$(STATICCHECK) ./...
	@cp go.mod /tmp/bulksend-go.mod.bak; cp go.sum /tmp/bulksend-go.sum.bak; \
		$(GO) mod tidy; \
		if ! cmp -s go.mod /tmp/bulksend-go.mod.bak || ! cmp -s go.sum /tmp/bulksend-go.sum.bak; then \
			cp /tmp/bulksend-go.mod.bak go.mod; cp /tmp/bulksend-go.sum.bak go.sum; \
			echo "go mod tidy would change go.mod/go.sum"; exit 1; fi

# Run each fuzz target for FUZZTIME (default 20s).
FUZZTIME ?= 20s
fuzz:
	@for pkg in . ./internal/redact ./csvinput ./dupindex ./ratelimit ./report ./preset ./segments ./sendwindow ./suppress ./sandbox ./sender ./redislimit ./probe ./bench/limits ./bench/throughput ./bench/sweepcmp; do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# Micro-benchmarks of the hot path (about 15 s), then throughput against a
# minimal client and vegeta, memory and startup (about 2 minutes).
BENCHTIME ?= 20000x
bench:
	$(GO) test -run='^$$' -benchmem -benchtime=$(BENCHTIME) \
		-bench='BenchmarkCSV$$|BenchmarkJSONL$$|BenchmarkBuild|BenchmarkWriterCSV|BenchmarkWriterJSONL|BenchmarkCompact|BenchmarkWait|BenchmarkSuccess|BenchmarkParseQuota|BenchmarkParseWaitAt|BenchmarkServeHTTP/send$$|BenchmarkRun' \
		./csvinput ./preset ./report ./ratelimit ./sandbox ./sender | tee bench-micro.txt
	$(GO) run ./bench/throughput -out bench-throughput.md

# The end-to-end rate-limit benchmark of BENCHMARKS.md.
bench-limits:
	$(GO) run ./bench/limits -out bench-limits.md

# The real-limiter table of BENCHMARKS.md (needs nginx, haproxy, node and
# `npm ci` in testdata/limiters/express and testdata/limiters/node; about
# 15 minutes).
bench-limits-real:
	$(GO) run ./bench/limits -real -repeat 3 -out bench-limits-real.md

# Several processes on one Redis-shared quota (needs redis-server).
bench-shards:
	$(GO) run ./bench/shards -rows 600 -procs 2,3 -styles retry-after,x-ratelimit-reset-ms,none

demo:
	$(GO) run . demo
