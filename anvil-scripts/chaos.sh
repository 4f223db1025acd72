#!/usr/bin/env bash
# `make chaos`: the long reliability suite (issue 7), every part against real processes:
#   crash   kill -9 of the sequencer under load, CHAOS_KILLS per store (SQLite, Postgres),
#           a private Postgres server crashed, SQLite's disk filled up;
#   abuse   sendRawTransaction p99 with 1,000 idle connections and an endless eth_call;
#   l1      Anvil killed for L1_OUTAGE_SECS and restarted from its saved state while the
#           batcher runs; L1 must re-derive the sequencer's chain, each block once;
#   soak    SOAK_SECS of closed-loop transfers: send→inclusion p50/p99, node memory;
#   fuzz    every fuzz target, long (anvil-scripts/fuzz.sh).
# Each part prints its own table; last comes one JSON line with every part's counts.
set -euo pipefail
cd "$(dirname "$0")/.."

KILLS=${CHAOS_KILLS:-50}
OUTAGE=${L1_OUTAGE_SECS:-60}
SOAK=${SOAK_SECS:-1800}
TARGET=${CARGO_TARGET_DIR:-target}
LOG_DIR=$TARGET/chaos
mkdir -p "$LOG_DIR"
failed=()

# part NAME COMMAND...: runs it with its output shown and kept; its JSON lines go to NAME.jsonl.
part() {
    local name=$1
    shift
    echo "== chaos: $name"
    if ! "$@" 2>&1 | tee "$LOG_DIR/$name.log"; then
        failed+=("$name")
    fi
    grep -E '^\{"' "$LOG_DIR/$name.log" >"$LOG_DIR/$name.jsonl" || true
}

part crash env CHAOS_KILLS="$KILLS" cargo test -p rollup-sequencer --test chaos -- --nocapture --test-threads=1
part abuse cargo test -p rollup-sequencer --test it abuse::send_raw_transaction_is_served_under_idle_connections_and_endless_calls -- --nocapture
part l1 env L1_OUTAGE_SECS="$OUTAGE" cargo test -p rollup-batcher --test e2e an_l1_outage -- --nocapture
cargo build --release -p rollup-sequencer --bins
part soak "$TARGET/release/loadgen" --soak-secs "$SOAK" --block-time-ms 0
part fuzz anvil-scripts/fuzz.sh

# The summary line (node is there: bootstrap needs npm).
FAILED="${failed[*]:-}" LOG_DIR="$LOG_DIR" node -e '
const fs = require("fs");
const lines = (name) => {
    try {
        return fs.readFileSync(`${process.env.LOG_DIR}/${name}.jsonl`, "utf8")
            .split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
    } catch { return []; }
};
const stores = lines("crash").filter((l) => l.store);
const sum = (key) => stores.reduce((total, s) => total + (s[key] || 0), 0);
const crash = {};
for (const { store, ...rest } of stores) crash[store] = rest;
console.log(JSON.stringify({
    acked: sum("acked"),
    lost: sum("lost"),
    kills: sum("kills"),
    duplicate_nonces: sum("duplicate_nonces"),
    root_mismatches: sum("root_mismatches"),
    crash,
    rpc_abuse: lines("abuse").at(-1) ?? null,
    l1_outage: lines("l1").at(-1) ?? null,
    soak: lines("soak").at(-1) ?? null,
    fuzz: lines("fuzz").at(-1) ?? null,
    failed_parts: (process.env.FAILED || "").split(" ").filter(Boolean),
}));
'
[[ ${#failed[@]} -eq 0 ]]
