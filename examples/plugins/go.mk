# The Go example plugins (examples/plugins/go-*), included by the root Makefile.
#
#   make plugins-go       build each one to examples/plugins/<name>/<name>.wasm
#   make plugins-go-test  vet and test the SDK and the plugins natively (fake host),
#                         vet them for wasip1, and run the built modules in the real
#                         host (go-e2e; skipped with -short)
#
# -trimpath makes the module depend only on the sources and the Go version, so
# its sha256 (pinned in the HCL plugin block) is the same on every machine.

GO ?= go
GO_PLUGINS_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
GO_PLUGINS     := $(notdir $(patsubst %/main.go,%,$(wildcard $(GO_PLUGINS_DIR)/go-*/main.go)))
GO_PLUGIN_WASM := $(foreach p,$(GO_PLUGINS),$(GO_PLUGINS_DIR)/$(p)/$(p).wasm)
GO_PLUGIN_PKGS := ./sdk/go/... $(foreach p,$(GO_PLUGINS),./$(GO_PLUGINS_DIR)/$(p))
GO_PLUGIN_E2E  := ./$(GO_PLUGINS_DIR)/go-e2e

.PHONY: plugins-go plugins-go-test plugins-go-clean

plugins-go: $(GO_PLUGIN_WASM)

# Always handed to go build, which rebuilds only what changed.
.PHONY: $(GO_PLUGIN_WASM)
$(GO_PLUGIN_WASM):
	cd $(dir $@) && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 \
		$(GO) build -buildmode=c-shared -trimpath -o $(notdir $@) .
	@sha256sum $@

plugins-go-test:
	$(GO) vet $(GO_PLUGIN_PKGS) $(GO_PLUGIN_E2E)
	GOOS=wasip1 GOARCH=wasm $(GO) vet $(GO_PLUGIN_PKGS)
	$(GO) test -count=1 $(GO_PLUGIN_PKGS) $(GO_PLUGIN_E2E)

plugins-go-clean:
	rm -f $(GO_PLUGIN_WASM)
