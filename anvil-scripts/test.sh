#!/usr/bin/env bash
# Everything CI runs (`make test`, `.ci/run`), in order, stopping at the first failure:
#   1. cargo fmt --all --check
#   2. cargo clippy --workspace --all-targets -- -D warnings
#   3. forge fmt --check        (contracts/)
#   4. forge test               (contracts/)
#   5. deploy-check.sh          (the devnet's L1 deployment, deploy.sh, on a fresh anvil)
#   6. cargo test --workspace   (with ROLLUP_TOOLS_BIN=<repo>/.tools/bin exported)
# Installs the pinned tools first (bootstrap.sh; a few seconds when already there).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
cd "$REPO_ROOT"

# Sourced: installs what is missing and exports PATH, ROLLUP_TOOLS_BIN and FOUNDRY_SOLC.
# shellcheck source=anvil-scripts/bootstrap.sh
source "$SCRIPT_DIR/bootstrap.sh"
export ROLLUP_TOOLS_BIN="$REPO_ROOT/.tools/bin"
export PATH="$ROLLUP_TOOLS_BIN:$PATH"

step=""
on_exit() {
    local rc=$?
    if [[ $rc -ne 0 && -n $step ]]; then
        echo >&2
        echo "test.sh: FAILED at step: $step (exit code $rc)" >&2
    fi
}
trap on_exit EXIT

run_step() { # description command...
    step=$1
    shift
    echo "==> $step" >&2
    local start=$SECONDS
    "$@"
    echo "==> ok: $step ($((SECONDS - start)) s)" >&2
}

run_step "cargo fmt --all --check" cargo fmt --all --check
run_step "cargo clippy --workspace --all-targets -- -D warnings" \
    cargo clippy --workspace --all-targets -- -D warnings
run_step "forge fmt --check (contracts/)" bash -c 'cd contracts && forge fmt --check'
run_step "forge test (contracts/)" bash -c 'cd contracts && forge test'
run_step "deploy-check.sh (the devnet's L1 deployment on anvil)" "$SCRIPT_DIR/deploy-check.sh"
run_step "cargo test --workspace" cargo test --workspace
step=""
echo "test.sh: all steps passed" >&2
