# Entry points of the project. `make help` lists them.
# Tools (anvil, forge, cast, solc) live in .tools/bin, installed by `make bootstrap`.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
REPO := $(CURDIR)
TOOLS_BIN := $(REPO)/.tools/bin
export PATH := $(TOOLS_BIN):$(PATH)
export FOUNDRY_SOLC := $(TOOLS_BIN)/solc
export ROLLUP_TOOLS_BIN := $(TOOLS_BIN)

.DEFAULT_GOAL := help
.PHONY: help bootstrap devnet test build fmt contracts-test \
	bench-rpc bench-parallel bench-proof bench-batch e2e-dispute chaos soak fuzz-steps

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

bootstrap: ## install the pinned L1 tools into .tools/ (anvil, forge, cast, solc, forge-std)
	anvil-scripts/bootstrap.sh

devnet: ## run anvil + contracts + sequencer (+ batcher, challenger) in the foreground
	anvil-scripts/devnet.sh

test: ## everything CI runs: fmt, clippy, forge fmt + test, cargo test
	anvil-scripts/test.sh

build: bootstrap ## release build of the services and the contracts
	cargo build --release --bins
	cd contracts && forge build

fmt: bootstrap ## format Rust and Solidity
	cargo fmt --all
	cd contracts && forge fmt

contracts-test: bootstrap ## forge tests of the L1 contracts only
	cd contracts && forge test

bench-rpc: bootstrap ## JSON-RPC load test, compared with anvil
	cargo build --release -p rollup-sequencer --bins
	target/release/loadgen --compare-anvil

bench-parallel: ## parallel vs sequential block execution
	cargo run --release -p rollup-sequencer --bin bench-parallel

bench-proof: ## eth_getProof from cached trie hashes vs from every leaf
	cargo run --release -p rollup-sequencer --bin bench-proof

bench-batch: ## batch encoding and compression
	cargo run --release -p rollup-batcher --bin bench-batch

e2e-dispute: bootstrap ## dispute games end to end against anvil (wrong root, dishonest challenger, silent party)
	cargo test -p rollup-challenger --test dispute

# Kills per store of the crash suite in `make chaos` (`make chaos CHAOS_KILLS=200`).
CHAOS_KILLS ?= 50

# Seconds Anvil stays down in `make chaos`'s L1 outage, and length of the soak.
L1_OUTAGE_SECS ?= 60
SOAK_SECS ?= 1800

chaos: bootstrap ## reliability suite: kill -9 x50 per store, Postgres crash, full disk, L1 down 60 s, 30-min soak, long fuzz; one JSON line
	CHAOS_KILLS=$(CHAOS_KILLS) L1_OUTAGE_SECS=$(L1_OUTAGE_SECS) SOAK_SECS=$(SOAK_SECS) anvil-scripts/chaos.sh

soak: ## SOAK_SECS (1800) of closed-loop transfers against the sequencer: latency per minute, node memory
	cargo build --release -p rollup-sequencer --bins
	$${CARGO_TARGET_DIR:-target}/release/loadgen --soak-secs $(SOAK_SECS) --block-time-ms 0

# Random programs in `make fuzz-steps` (`make fuzz-steps FUZZ_STEPS_PROGRAMS=100000`; about 70 steps
# each) and their seed (a new one per run unless given).
FUZZ_STEPS_PROGRAMS ?= 10000
FUZZ_STEPS_SEED ?= $(shell date +%s)

fuzz-steps: bootstrap ## EVM instruction steps of random programs checked on the Solidity verifiers; one JSON line
	@set +e; log=$${TMPDIR:-/tmp}/fuzz-steps.log; \
	FUZZ_STEPS_PROGRAMS=$(FUZZ_STEPS_PROGRAMS) FUZZ_STEPS_SEED=$(FUZZ_STEPS_SEED) \
		cargo test -p rollup-core --test it evm_step_fuzz -- --nocapture >$$log 2>&1; status=$$?; \
	grep -E '^(programs|tampered|mismatch)' $$log; grep -E '^\{"steps_checked"' $$log | tail -1; \
	[ $$status -eq 0 ] || echo "fuzz-steps failed; full output in $$log" >&2; exit $$status
