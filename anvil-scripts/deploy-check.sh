#!/usr/bin/env bash
# Checks the devnet's L1 deployment end to end: starts anvil on a free loopback port, runs
# deploy.sh (contracts/script/Deploy.s.sol through `forge script --broadcast`, as `make devnet`
# does) and checks that the Rollup, the DisputeGames factory and the one-step verifier have code
# and that the verifier's EVM step verifier is wired. Stops anvil on exit. Part of `make test`.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=anvil-scripts/env.sh
source "$SCRIPT_DIR/env.sh"

# anvil's first dev key (public, devnet only).
DEV_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rpc=http://127.0.0.1:$port
work=$(mktemp -d)
anvil --host 127.0.0.1 --port "$port" >"$work/anvil.log" 2>&1 &
anvil_pid=$!
trap 'kill "$anvil_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 50); do
    cast chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break
    sleep 0.2
done

# A deployment that hangs (a transaction left pending) fails here instead of stalling CI.
timeout 600 "$SCRIPT_DIR/deploy.sh" "$rpc" "$DEV_PRIVATE_KEY" "$work/contracts.json"

field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/contracts.json" "$1"; }
for name in rollup dispute_games step_verifier; do
    address=$(field "$name")
    code=$(cast code --rpc-url "$rpc" "$address")
    if [[ ${#code} -le 2 ]]; then
        echo "deploy-check: no code at $name $address" >&2
        exit 1
    fi
done
evm=$(cast call --rpc-url "$rpc" "$(field step_verifier)" 'EVM()(address)')
for getter in DELEGATED_ENTRY AUTHORIZATION AUTHORIZED_ENTRY; do
    verifier=$(cast call --rpc-url "$rpc" "$evm" "$getter()(address)")
    if [[ $(cast code --rpc-url "$rpc" "$verifier") == 0x ]]; then
        echo "deploy-check: the EVM step verifier's $getter verifier has no code" >&2
        exit 1
    fi
done
echo "deploy-check: Rollup, DisputeGames and the verifier tree deployed on anvil ($(cast block-number --rpc-url "$rpc") blocks)" >&2
