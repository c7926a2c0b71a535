# Rust plugins: the SDK (sdk/rust) and the example plugin (examples/plugins/rust-tiered).
# Included by the root Makefile; also usable alone: make -f examples/plugins/rust.mk plugins-rust
#
# The toolchain is Debian's (rustc 1.63 and cargo from packages rustc, cargo and
# libstd-rust-dev-wasm32), called by absolute path so that a rustup toolchain earlier in PATH is
# not used. The crates have no dependencies: every build runs offline.
#
#   make deps-rust      install the Debian packages when they are missing
#   make plugins-rust   build examples/plugins/rust-tiered/rust-tiered.wasm and print its SHA-256
#   make sdk-rust-test  the SDK's and the example's native tests (mock host), and the SDK's
#                       no_std example built for wasm32

RUST_CARGO      ?= /usr/bin/cargo
RUST_RUSTC      ?= /usr/bin/rustc
RUST_RUSTDOC    ?= /usr/bin/rustdoc
RUST_TARGET_DIR ?= $(CURDIR)/bin/rust
RUST_ENV        := RUSTC=$(RUST_RUSTC) RUSTDOC=$(RUST_RUSTDOC) CARGO_TARGET_DIR=$(RUST_TARGET_DIR) CARGO_TERM_COLOR=never
# As examples/plugins/rust-tiered/.cargo/config.toml (RUSTFLAGS would replace it): a 64 KiB stack
# instead of 1 MiB, so 2 pages of initial memory instead of 17 per pooled instance; and bulk memory
# (WebAssembly 2.0, which tariffd's wazero runs), so memset and memcpy are single instructions.
RUST_WASM_FLAGS := -C link-arg=-zstack-size=65536 -C target-feature=+bulk-memory
# The release profile of rust-tiered's Cargo.toml, for rustc.
RUST_RELEASE    := --edition 2021 --target wasm32-unknown-unknown -C opt-level=s -C codegen-units=1 -C panic=abort

RUST_TIERED      := examples/plugins/rust-tiered
RUST_TIERED_WASM := $(RUST_TIERED)/rust-tiered.wasm
RUST_SOURCES     := $(shell find sdk/rust/src sdk/rust/examples $(RUST_TIERED)/src -name '*.rs' 2>/dev/null) \
	sdk/rust/Cargo.toml $(RUST_TIERED)/Cargo.toml $(RUST_TIERED)/Cargo.lock

.PHONY: deps-rust plugins-rust sdk-rust-test

## deps-rust: Debian's Rust toolchain with the wasm32 standard library. Skipped when present.
deps-rust:
	@if [ ! -x $(RUST_RUSTC) ] || [ ! -x $(RUST_CARGO) ] || \
		[ ! -d "$$($(RUST_RUSTC) --print sysroot 2>/dev/null)/lib/rustlib/wasm32-unknown-unknown" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq rustc cargo libstd-rust-dev-wasm32; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq rustc cargo libstd-rust-dev-wasm32; fi; \
	fi

## plugins-rust: the example plugin, checked to import nothing but tariff_v1 (when wabt is installed).
plugins-rust: $(RUST_TIERED_WASM)

# Built with rustc directly, from the repository root with relative paths: the bytes, and so the
# SHA-256 an operator pins, are then the same wherever the repository is cloned. (Through cargo,
# the absolute path of the SDK, a path dependency outside the plugin's directory, goes into
# symbol hashes, and the code layout changes with it.) `cargo build --release` in the plugin's
# directory makes an equivalent module, as the README shows.
$(RUST_TIERED_WASM): $(RUST_SOURCES) | deps-rust
	@mkdir -p $(RUST_TARGET_DIR)/release-wasm
	$(RUST_RUSTC) $(RUST_RELEASE) --crate-name tariff --crate-type rlib --cfg 'feature="alloc"' \
		-o $(RUST_TARGET_DIR)/release-wasm/libtariff.rlib sdk/rust/src/lib.rs
	$(RUST_RUSTC) $(RUST_RELEASE) --crate-name rust_tiered --crate-type cdylib -C lto -C strip=symbols \
		$(RUST_WASM_FLAGS) --extern tariff=$(RUST_TARGET_DIR)/release-wasm/libtariff.rlib \
		-o $@ $(RUST_TIERED)/src/lib.rs
	@if command -v wasm-objdump >/dev/null; then \
		bad=$$(wasm-objdump -x -j Import $@ | grep -- ' <- ' | grep -v ' <- tariff_v1\.' || true); \
		if [ -n "$$bad" ]; then echo "$@ imports from outside tariff_v1:"; echo "$$bad"; rm -f $@; exit 1; fi; \
	fi
	@echo "$@: $$(wc -c <$@) bytes, sha256 = \"$$(sha256sum $@ | cut -d' ' -f1)\""

## sdk-rust-test: native tests of the SDK (mock host) and of the example plugin.
sdk-rust-test: deps-rust
	cd sdk/rust && $(RUST_ENV) $(RUST_CARGO) test --offline
	cd sdk/rust && $(RUST_ENV) RUSTFLAGS='$(RUST_WASM_FLAGS)' $(RUST_CARGO) build --offline --release \
		--target wasm32-unknown-unknown --example flat --no-default-features --features panic-handler
	cd $(RUST_TIERED) && $(RUST_ENV) $(RUST_CARGO) test --offline
