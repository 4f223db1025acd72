#!/usr/bin/env bash
# Runs a whole local devnet in the foreground (`make devnet`): anvil as L1, the L1
# contracts, the sequencer (L2 RPC) and, when built, the batcher and the challenger.
# Ctrl-C or SIGTERM stops every service it started; anvil saves its state so that a
# second run continues the same L1 chain (and reuses the deployed contracts).
#
# Environment (all optional):
#   DATA_DIR            where state, databases, logs and devnet.json go (default: <repo>/data)
#   L1_PORT, L2_PORT    default 8545 and 9545 (on 127.0.0.1)
#   STATUS_PORT         the challenger's JSON status, default L2_PORT + 1
#   L1_BLOCK_TIME       seconds between L1 blocks; unset = a block per transaction
#   DEVNET_SKIP_BUILD=1 do not run `cargo build --release --bins`
#   DEVNET_REDEPLOY=1   deploy fresh contracts even if devnet.json names live ones
#   GENESIS_STATE_ROOT  L2 genesis root for the Rollup when no sequencer runs
#   ROLLUP_BOND_WEI, ROLLUP_CHALLENGE_PERIOD   passed to deploy.sh (devnet: 0.01 ether, 300 s)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

DATA_DIR=${DATA_DIR:-$REPO_ROOT/data}
mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
LOG_DIR=$DATA_DIR/logs
mkdir -p "$LOG_DIR"

HOST=127.0.0.1
L1_PORT=${L1_PORT:-8545}
L2_PORT=${L2_PORT:-9545}
L1_RPC=http://$HOST:$L1_PORT
L2_RPC=http://$HOST:$L2_PORT
L1_CHAIN_ID=31337
L2_CHAIN_ID=42069
# Anvil's well-known dev accounts. The first is funded on L1 by anvil and on L2 by the
# sequencer's dev genesis; it deploys the contracts and is yours to use. The batcher gets
# the third, so that no two parties ever race for L1 nonces; the second plays the challenger's
# dispute games (and defends the batcher's roots: the batcher's key names it its defender).
DEV_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
DEV_ADDRESS=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
CHALLENGER_PRIVATE_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
CHALLENGER_ADDRESS=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
BATCHER_PRIVATE_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
BATCHER_ADDRESS=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
RELEASE_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release

log() { echo "devnet: $*" >&2; }
die() {
    echo "devnet: error: $*" >&2
    exit 1
}

# ------------------------------------------------------------------ child processes

declare -a CHILD_PIDS=() CHILD_NAMES=()

stop_children() {
    local i pid name deadline
    trap - INT TERM EXIT
    for ((i = ${#CHILD_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${CHILD_PIDS[i]}
        name=${CHILD_NAMES[i]}
        kill -0 "$pid" 2>/dev/null || continue
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 15))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name did not stop in 15 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

on_signal() {
    log "signal received; shutting down"
    stop_children
    exit 130
}
trap on_signal INT TERM
trap stop_children EXIT

start() { # name command...
    local name=$1
    shift
    log "starting $name: $* (log: $LOG_DIR/$name.log)"
    "$@" >>"$LOG_DIR/$name.log" 2>&1 &
    CHILD_PIDS+=($!)
    CHILD_NAMES+=("$name")
}

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Waits until `cast chain-id` answers at $2 for the service $1 (whose pid is the last started).
wait_rpc() { # name url timeout-seconds
    local name=$1 url=$2 deadline=$((SECONDS + $3)) pid=${CHILD_PIDS[-1]}
    until cast chain-id --rpc-url "$url" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$LOG_DIR/$name.log" >&2 || true
            die "$name exited during start-up (log above: $LOG_DIR/$name.log)"
        fi
        ((SECONDS < deadline)) || die "$name did not answer at $url within $3 s (log: $LOG_DIR/$name.log)"
        sleep 0.25
    done
    log "$name answers at $url"
}

# ------------------------------------------------------------------ tools and binaries

ROLLUP_BOOTSTRAP_QUIET=1 "$SCRIPT_DIR/bootstrap.sh" >/dev/null
# shellcheck source=anvil-scripts/env.sh
source "$SCRIPT_DIR/env.sh"

if [[ ${DEVNET_SKIP_BUILD:-0} != 1 ]]; then
    log "building the services: cargo build --release --bins"
    (cd "$REPO_ROOT" && cargo build --release --bins) || die "cargo build failed"
fi

for port in "$L1_PORT" "$L2_PORT"; do
    port_in_use "$port" && die "port $port on $HOST is in use (another devnet or node?); stop it or set L1_PORT/L2_PORT"
done

# ------------------------------------------------------------------ L1

anvil_args=(--host "$HOST" --port "$L1_PORT" --chain-id "$L1_CHAIN_ID"
    --state "$DATA_DIR/anvil-state.json" --state-interval 30)
[[ -n ${L1_BLOCK_TIME:-} ]] && anvil_args+=(--block-time "$L1_BLOCK_TIME")
start anvil anvil "${anvil_args[@]}"
wait_rpc anvil "$L1_RPC" 30

# ------------------------------------------------------------------ L2 sequencer

if [[ -x $RELEASE_DIR/sequencer ]]; then
    start sequencer "$RELEASE_DIR/sequencer" \
        --rpc.addr "$HOST:$L2_PORT" \
        --db.url "sqlite://$DATA_DIR/sequencer.db" \
        --chain.id "$L2_CHAIN_ID" \
        --l1.rpc-url "$L1_RPC"
    wait_rpc sequencer "$L2_RPC" 120
    got=$(cast chain-id --rpc-url "$L2_RPC")
    [[ $got == "$L2_CHAIN_ID" ]] || die "sequencer reports chain id $got, expected $L2_CHAIN_ID"
    genesis_root=$(cast block 0 --field stateRoot --rpc-url "$L2_RPC") || die "cannot read L2 block 0 from the sequencer"
else
    log "skipping sequencer: $RELEASE_DIR/sequencer not built (cargo build --release --bins)"
    genesis_root=${GENESIS_STATE_ROOT:-}
fi

# ------------------------------------------------------------------ L1 contracts

devnet_json=$DATA_DIR/devnet.json
contracts_json=$DATA_DIR/contracts.json
json_field() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = process.argv[2].split(".").reduce((o, k) => (o == null ? o : o[k]), j); if (v != null) console.log(v);' "$1" "$2"; }

rollup=""
if [[ ${DEVNET_REDEPLOY:-0} != 1 && -f $contracts_json ]]; then
    previous=$(json_field "$contracts_json" rollup 2>/dev/null || true)
    previous_root=$(json_field "$contracts_json" genesis_state_root 2>/dev/null || true)
    previous_batcher=$(json_field "$contracts_json" batcher 2>/dev/null || true)
    previous_games=$(json_field "$contracts_json" dispute_games 2>/dev/null || true)
    if [[ -n $previous && $(cast code "$previous" --rpc-url "$L1_RPC" 2>/dev/null || echo 0x) != 0x ]]; then
        if [[ -z $previous_games ]]; then
            log "the Rollup at $previous has no DisputeGames recorded; deploying the contracts afresh"
        elif [[ ${previous_batcher,,} != "${BATCHER_ADDRESS,,}" ]]; then
            log "the Rollup at $previous has batcher $previous_batcher, not $BATCHER_ADDRESS; deploying a new Rollup"
        elif [[ -z $genesis_root || $genesis_root == "$previous_root" ]]; then
            rollup=$previous
            log "reusing Rollup at $rollup (from $contracts_json; DEVNET_REDEPLOY=1 deploys afresh)"
        else
            log "L2 genesis root changed ($previous_root -> $genesis_root); deploying a new Rollup"
        fi
    fi
fi
if [[ -z $rollup ]]; then
    ROLLUP_BATCHER=$BATCHER_ADDRESS ROLLUP_GENESIS_STATE_ROOT=$genesis_root ROLLUP_L2_CHAIN_ID=$L2_CHAIN_ID \
        "$SCRIPT_DIR/deploy.sh" "$L1_RPC" "$DEV_PRIVATE_KEY" "$contracts_json"
    rollup=$(json_field "$contracts_json" rollup)
fi
games=$(json_field "$contracts_json" dispute_games)
# The batcher proposes every root; the challenger service defends them in its name.
cast send "$games" 'setDefender(address)' "$CHALLENGER_ADDRESS" --private-key "$BATCHER_PRIVATE_KEY" \
    --rpc-url "$L1_RPC" >/dev/null || die "cannot make the challenger the batcher's defender"

# ------------------------------------------------------------------ batcher and challenger

start_service() { # name command...
    start "$@"
    sleep 1
    if ! kill -0 "${CHILD_PIDS[-1]}" 2>/dev/null; then
        tail -n 30 "$LOG_DIR/$1.log" >&2 || true
        die "$1 exited during start-up (log above: $LOG_DIR/$1.log)"
    fi
}

STATUS_PORT=${STATUS_PORT:-$((L2_PORT + 1))}
if [[ -x $RELEASE_DIR/batcher && -x $RELEASE_DIR/sequencer ]]; then
    start_service batcher "$RELEASE_DIR/batcher" \
        --l1.rpc-url "$L1_RPC" \
        --l2.rpc-url "$L2_RPC" \
        --db.url "sqlite://$DATA_DIR/batcher.db" \
        --rollup.address "$rollup" \
        --private-key "$BATCHER_PRIVATE_KEY"
else
    log "skipping batcher: it needs $RELEASE_DIR/batcher and the sequencer"
fi
if [[ -x $RELEASE_DIR/challenger ]]; then
    start_service challenger "$RELEASE_DIR/challenger" \
        --l1.rpc-url "$L1_RPC" \
        --rollup.address "$rollup" \
        --l1.from-block "$(json_field "$contracts_json" deploy_block)" \
        --chain.id "$L2_CHAIN_ID" \
        --games.address "$games" \
        --private-key "$CHALLENGER_PRIVATE_KEY" \
        --db.url "sqlite://$DATA_DIR/challenger.db" \
        --status.addr "$HOST:$STATUS_PORT"
else
    log "skipping challenger: $RELEASE_DIR/challenger not built"
fi

# ------------------------------------------------------------------ summary

node -e '
const [out, l1, l2, l1Id, l2Id, key, addr, rollup, deployBlock, games, verifier] = process.argv.slice(1);
const j = {
  l1_rpc: l1,
  l2_rpc: l2,
  l1_chain_id: Number(l1Id),
  l2_chain_id: Number(l2Id),
  dev_private_key: key,
  dev_address: addr,
  contracts: { rollup, dispute_games: games, step_verifier: verifier },
  l1_deploy_block: Number(deployBlock),
};
require("fs").writeFileSync(out, JSON.stringify(j, null, 2) + "\n");
' "$devnet_json" "$L1_RPC" "$L2_RPC" "$L1_CHAIN_ID" "$L2_CHAIN_ID" "$DEV_PRIVATE_KEY" "$DEV_ADDRESS" \
    "$rollup" "$(json_field "$contracts_json" deploy_block)" "$games" "$(json_field "$contracts_json" step_verifier)"

cat >&2 <<EOF

devnet is up (data: $DATA_DIR, logs: $LOG_DIR)
  L2 RPC:          $L2_RPC$([[ -x $RELEASE_DIR/sequencer ]] || echo "  (NOT running: no sequencer binary)")
  L2 chain id:     $L2_CHAIN_ID
  L1 RPC:          $L1_RPC
  L1 chain id:     $L1_CHAIN_ID
  dev key:         $DEV_PRIVATE_KEY
  dev address:     $DEV_ADDRESS  (funded on L1 and L2)
  Rollup contract: $rollup
  DisputeGames:    $games
  challenger:      http://$HOST:$STATUS_PORT/status (every posted state root checked from L1 data; games)
  services:        ${CHILD_NAMES[*]}
  written to:      $devnet_json
Ctrl-C stops everything.
EOF

# ------------------------------------------------------------------ supervise

while :; do
    if ! wait -n "${CHILD_PIDS[@]}" 2>/dev/null; then :; fi
    for i in "${!CHILD_PIDS[@]}"; do
        if ! kill -0 "${CHILD_PIDS[i]}" 2>/dev/null; then
            log "${CHILD_NAMES[i]} exited unexpectedly; see $LOG_DIR/${CHILD_NAMES[i]}.log"
            tail -n 20 "$LOG_DIR/${CHILD_NAMES[i]}.log" >&2 || true
            exit 1
        fi
    done
done
