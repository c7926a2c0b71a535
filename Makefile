# tariff: build, test and run. Every tool the targets need is installed by `make deps`.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
export CGO_ENABLED ?= 1

.PHONY: all build deps deps-apt deps-npm deps-snet-sdk proto test test-short bench devnet fmt vet clean plugins

include examples/plugins/go.mk
include examples/plugins/rust.mk

all: build

build:
	$(GO) build -o $(BIN)/tariffd ./cmd/tariffd

## deps: the npm contract artifacts and the Debian tools the tests use.
deps: deps-npm deps-apt deps-rust deps-snet-sdk

deps-npm: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# snet-sdk (npm), the SingularityNET JS client, for the test that pays through tariffd with it.
deps-snet-sdk: examples/snet-sdk/node_modules/.package-lock.json
examples/snet-sdk/node_modules/.package-lock.json: examples/snet-sdk/package.json examples/snet-sdk/package-lock.json
	cd examples/snet-sdk && npm ci --no-audit --no-fund
	@touch $@

# protoc for `make proto`, wabt (wat2wasm) for the plugin fixtures. Skipped when already present.
deps-apt:
	@if ! command -v protoc >/dev/null || ! command -v wat2wasm >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq protobuf-compiler wabt; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq protobuf-compiler wabt; fi; \
	fi

## proto: regenerate the committed Go code from proto/ and examples/ (protoc plugins pinned in go.mod).
# Output goes where each file's go_package says (module= strips the module path), so a
# .proto may live next to its Go code or in a parent directory (examples/calculator ->
# examples/calculator/calculatorpb). Every go_package must start with the module path.
PROTO_FILES := $(shell find proto examples -name '*.proto' -not -path '*/node_modules/*')
PROTO_MODULE := github.com/tariffd/tariff
proto: deps-apt
	$(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	$(GO) build -o $(BIN)/protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc
	PATH=$(BIN):$$PATH protoc -I . --go_out=. --go_opt=module=$(PROTO_MODULE) \
		--go-grpc_out=. --go-grpc_opt=module=$(PROTO_MODULE) $(PROTO_FILES)

## test: everything, with real parts (simulated chain with the real contracts, embedded etcd, loopback gRPC).
test: deps
	@unformatted=$$($$($(GO) env GOROOT)/bin/gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed (make fmt):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -race -timeout 10m -run 'TestReloadUnderLoad|TestReplicasNeverAcceptTwice|Concurren|Commit|TestResponseWaits|EveryStreamingKind|Metered|TestTLSListener|TestReports' ./examples/devnet/localnet/ ./escrow/ ./host/ ./host/metering/ ./pricing/ ./plugins/
	$(MAKE) sdk-rust-test

test-short: deps-npm
	$(GO) test -short -count=1 ./...

## bench: paid calls through tariffd vs the same backend directly, in one run
## (ARGS="-calls 8000 -workers 1,4,16 -nofsync" to vary it).
bench: deps-npm
	$(GO) run ./examples/bench $(ARGS)

## devnet: a complete local network (chain + contracts, example service, tariffd, demo client).
devnet: deps-npm
	$(GO) run ./examples/devnet $(ARGS)

## plugins: build the example plugins (wasm) and print their sha256.
plugins: plugins-go plugins-rust

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
