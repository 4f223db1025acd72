#!/usr/bin/env bash
# The long run of every fuzz target (the bounded run is part of `cargo test` / `forge test`):
#
#   Rust (proptest, case count from ROLLUP_FUZZ_CASES):
#     transaction intake   core/tests/it/fuzz_tx.rs       rollup_core::tx::decode_and_check
#     batch decoder        core/tests/it/batch.rs         decode_batch / decode_body
#     step witnesses       core/tests/it/fuzz_witness.rs  MachineState and witness ABI decoding, MPT proofs
#     JSON-RPC params      sequencer/tests/fuzz_rpc.rs    requests over HTTP to an in-process node
#   Solidity (forge fuzz, FOUNDRY_FUZZ_RUNS):
#     one-step verifier    contracts/test/OneStepVerifierFuzz.t.sol
#   Differential (Rust step machine vs the Solidity verifiers in revm, FUZZ_STEPS_PROGRAMS):
#     EVM steps            core/tests/it/evm_step_fuzz.rs (random programs; every step, and one
#                          in four with a byte of its witness changed)
#
# Prints a table, then, last, one JSON line {"targets":N,"cases":N,"crashes":N}; exits 1 when a
# target failed. Variables: FUZZ_CASES (Rust cases per target, default 100000), FUZZ_RPC_CASES
# (default FUZZ_CASES), FUZZ_FORGE_RUNS (runs per forge fuzz test, default 10000: a run costs
# ~20 ms), FUZZ_STEP_PROGRAMS (random programs of the EVM step target, default FUZZ_CASES / 10:
# about 70 steps each), FUZZ_SEED (forge and step seed; default random, printed), FUZZ_FILTER (only targets whose name
# contains it). proptest draws a fresh seed on every run and saves failing cases under
# */proptest-regressions/.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=anvil-scripts/env.sh
source "$SCRIPT_DIR/env.sh"
export ROLLUP_TOOLS_BIN="$REPO_ROOT/.tools/bin"

CASES=${FUZZ_CASES:-100000}
RPC_CASES=${FUZZ_RPC_CASES:-$CASES}
FORGE_RUNS=${FUZZ_FORGE_RUNS:-10000}
STEP_PROGRAMS=${FUZZ_STEP_PROGRAMS:-$((CASES / 10))}
SEED=${FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}
FILTER=${FUZZ_FILTER:-}
LOG_DIR=${FUZZ_LOG_DIR:-$REPO_ROOT/target/fuzz-logs}
mkdir -p "$LOG_DIR"

# name|kind|cases|command...
TARGETS=(
    "tx: valid round trip|cargo|$CASES|cargo test -p rollup-core --test it -- --exact fuzz_tx::fuzz_tx_valid_transactions_round_trip"
    "tx: mutated|cargo|$CASES|cargo test -p rollup-core --test it -- --exact fuzz_tx::fuzz_tx_mutated_transactions_never_panic"
    "tx: random bytes|cargo|$CASES|cargo test -p rollup-core --test it -- --exact fuzz_tx::fuzz_tx_random_bytes_never_panic"
    "batch: random round trip|cargo|$CASES|cargo test -p rollup-core --test it -- --exact batch::random_batches_round_trip"
    "batch: mutated envelopes|cargo|$CASES|cargo test -p rollup-core --test it -- --exact batch::mutated_envelopes_never_panic"
    "batch: mutated bodies|cargo|$CASES|cargo test -p rollup-core --test it -- --exact batch::mutated_bodies_never_panic"
    "batch: random bytes|cargo|$CASES|cargo test -p rollup-core --test it -- --exact batch::random_bytes_never_panic"
    "witness: mutated proofs|cargo|$CASES|cargo test -p rollup-core --test it -- --exact fuzz_witness::fuzz_witness_mutated_proofs_never_panic"
    "witness: mutated states|cargo|$CASES|cargo test -p rollup-core --test it -- --exact fuzz_witness::fuzz_witness_mutated_states_never_panic"
    "witness: mutated trie nodes|cargo|$CASES|cargo test -p rollup-core --test it -- --exact fuzz_witness::fuzz_witness_mutated_proof_nodes_never_panic"
    "witness: random bytes|cargo|$CASES|cargo test -p rollup-core --test it -- --exact fuzz_witness::fuzz_witness_random_bytes_never_panic"
    "rpc: requests over HTTP|rpc|$RPC_CASES|cargo test -p rollup-sequencer --test fuzz_rpc -- --exact fuzz_rpc_requests_get_well_formed_answers"
    "verifier: mutated proof|forge|$FORGE_RUNS|forge test --mc OneStepVerifierFuzzTest --mt testFuzz_mutatedProof"
    "verifier: mutated pre-state|forge|$FORGE_RUNS|forge test --mc OneStepVerifierFuzzTest --mt testFuzz_mutatedPreState"
    "verifier: both mutated|forge|$FORGE_RUNS|forge test --mc OneStepVerifierFuzzTest --mt testFuzz_mutatedBoth"
    "verifier: random bytes|forge|$FORGE_RUNS|forge test --mc OneStepVerifierFuzzTest --mt testFuzz_randomBytes"
    "evm steps: vs the verifiers|steps|$STEP_PROGRAMS|cargo test -p rollup-core --test it -- --exact evm_step_fuzz::evm_steps_agree_with_the_solidity_verifiers_on_random_programs --nocapture"
)

selected() { [[ -z $FILTER || $1 == *"$FILTER"* ]]; }

echo "fuzz: building (Rust cases $CASES, RPC cases $RPC_CASES, forge runs $FORGE_RUNS, forge seed $SEED)" >&2
if selected "tx" || selected "batch" || selected "witness" || selected "evm steps"; then
    cargo test -p rollup-core --test it --no-run >&2
fi
if selected "rpc"; then cargo test -p rollup-sequencer --test fuzz_rpc --no-run >&2; fi
if selected "verifier"; then (cd contracts && forge build >&2); fi

targets=0
total=0
crashes=0
rows=()
for entry in "${TARGETS[@]}"; do
    IFS='|' read -r name kind cases cmd <<<"$entry"
    selected "$name" || continue
    log="$LOG_DIR/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_').log"
    echo "fuzz: $name ($cases cases) ..." >&2
    start=$SECONDS
    status=ok
    case $kind in
    cargo | rpc)
        # shellcheck disable=SC2086
        if ! ROLLUP_FUZZ_CASES=$cases $cmd >"$log" 2>&1; then status=FAILED; fi
        # A filter that matched nothing would pass silently.
        grep -q "test result: ok. 1 passed" "$log" || status=FAILED
        ;;
    steps)
        # shellcheck disable=SC2086
        if ! FUZZ_STEPS_PROGRAMS=$cases FUZZ_STEPS_SEED=$SEED $cmd >"$log" 2>&1; then status=FAILED; fi
        grep -q "test result: ok. 1 passed" "$log" || status=FAILED
        ;;
    forge)
        # shellcheck disable=SC2086
        if ! (cd contracts && FOUNDRY_FUZZ_RUNS=$cases $cmd --fuzz-seed "$SEED") >"$log" 2>&1; then
            status=FAILED
        fi
        grep -q "\[PASS\]" "$log" || status=FAILED
        ;;
    esac
    secs=$((SECONDS - start))
    targets=$((targets + 1))
    total=$((total + cases))
    if [[ $status != ok ]]; then
        crashes=$((crashes + 1))
        echo "fuzz: $name FAILED, log: $log" >&2
        tail -n 30 "$log" >&2
    fi
    rows+=("$(printf '%-30s %10s %8s  %s' "$name" "$cases" "${secs}s" "$status")")
done

printf '%-30s %10s %8s  %s\n' "target" "cases" "time" "result"
printf '%s\n' "${rows[@]}"
echo "forge fuzz seed: $SEED; logs: $LOG_DIR"
printf '{"targets":%d,"cases":%d,"crashes":%d}\n' "$targets" "$total" "$crashes"
[[ $crashes -eq 0 ]]
