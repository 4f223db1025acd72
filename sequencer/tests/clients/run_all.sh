#!/usr/bin/env bash
# Runs every real-client check in this folder against one node, the same
# command lines the sequencer's Rust integration tests use.
#
# Usage: run_all.sh <http_rpc_url> <ws_rpc_url> <private_key_hex>
# Tools: FORGE, CAST and SOLC (a native-style solc, e.g. .tools/bin/solc) default
# to <repo>/.tools/bin/{forge,cast,solc}, then to PATH. Needs `npm ci` done here.
# Exit code 0 when every check passed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
[ $# -eq 3 ] || { echo "usage: $0 <http_rpc_url> <ws_rpc_url> <private_key_hex>" >&2; exit 2; }
http_url=$1 ws_url=$2 key=$3
pick() { if [ -x "$repo/.tools/bin/$1" ]; then echo "$repo/.tools/bin/$1"; else command -v "$1"; fi; }
FORGE=${FORGE:-$(pick forge)} CAST=${CAST:-$(pick cast)} SOLC=${SOLC:-$(pick solc)}
t() { timeout 120 "$@"; } # no client may hang the run

echo "== viem"
t node "$here/viem_erc20.mjs" "$http_url" "$ws_url" "$key"

echo "== forge (in a scratch copy: forge writes out/, cache/, broadcast/)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/forge" "$work/forge"
rm -rf "$work/forge/out" "$work/forge/cache" "$work/forge/broadcast"
cd "$work/forge"
export FOUNDRY_SOLC="$SOLC"
t "$FORGE" build
created=$(t "$FORGE" create src/Counter.sol:Counter --rpc-url "$http_url" --private-key "$key" --broadcast --json)
echo "$created"
counter=$(node -e 'console.log(JSON.parse(process.argv[1]).deployedTo)' "$created")
t "$FORGE" script script/Counter.s.sol --rpc-url "$http_url" --private-key "$key" --broadcast
run=$(ls broadcast/Counter.s.sol/*/run-latest.json)
scripted=$(node -e 'const r=require(process.argv[1]);const t=r.transactions;if(t.length!==3||r.receipts.some(x=>x.status!=="0x1"))process.exit(1);console.log(t[0].contractAddress)' "$PWD/$run")
[ "$(t "$CAST" call "$scripted" 'number()(uint256)' --rpc-url "$http_url")" = 2 ] || { echo "forge script: number() != 2"; exit 1; }

echo "== cast"
[ "$(t "$CAST" call "$counter" 'number()(uint256)' --rpc-url "$http_url")" = 0 ]
hash=$(t "$CAST" send "$counter" 'increment()' --rpc-url "$http_url" --private-key "$key" --json |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);if(r.status!=="0x1")process.exit(1);console.log(r.transactionHash)})')
[ "$(t "$CAST" receipt "$hash" status --rpc-url "$http_url")" = true ]
[ "$(t "$CAST" call "$counter" 'number()(uint256)' --rpc-url "$http_url")" = 1 ]
echo "3 passed, 0 failed"
