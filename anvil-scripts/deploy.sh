#!/usr/bin/env bash
# Deploys the L1 contracts (contracts/script/Deploy.s.sol) with `forge script --broadcast`
# and writes their addresses as JSON.
#
#   anvil-scripts/deploy.sh <l1_rpc_url> <private_key> <out.json>
#
# out.json: {"rollup":"0x…","dispute_games":"0x…","step_verifier":"0x…","deploy_block":N,
#            "l1_chain_id":N,"batcher":"0x…","bond_wei":"…","challenge_period":N,
#            "genesis_state_root":"0x…","l2_chain_id":N,"challenge_bond_wei":"…",
#            "move_bond_base_wei":"…","max_clock_seconds":N}
#
# Parameters (environment, all optional):
#   ROLLUP_BATCHER              batcher address        (default: the deploying key's address)
#   ROLLUP_BOND_WEI             minimum bond in wei    (default: 10000000000000000 = 0.01 ether)
#   ROLLUP_CHALLENGE_PERIOD     seconds                (default: 300; production: 604800 = 7 days)
#   ROLLUP_GENESIS_STATE_ROOT   L2 genesis state root  (default: the empty-trie root, with a warning;
#                                                       devnet.sh passes the sequencer's block 0 root)
#   ROLLUP_L2_CHAIN_ID          L2 chain id            (default: 42069, the dev genesis)
#   GAMES_CHALLENGE_BOND_WEI    bond to open a game    (default: 50000000000000000 = 0.05 ether)
#   GAMES_MOVE_BOND_BASE_WEI    move bond at depth 0   (default: 1000000000000000 = 0.001 ether)
#   GAMES_MAX_CLOCK             seconds per side       (default: 600; production: 302400 = 3.5 days)
# Needs the tools of bootstrap.sh (it runs it when forge is missing).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
CONTRACTS_DIR=$REPO_ROOT/contracts
EMPTY_TRIE_ROOT=0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421

die() {
    echo "deploy: error: $*" >&2
    exit 1
}

if [[ $# -ne 3 ]]; then
    echo "usage: $0 <l1_rpc_url> <private_key> <out.json>" >&2
    exit 2
fi
L1_RPC=$1
PRIVATE_KEY=$2
OUT_JSON=$3

if [[ ! -x $REPO_ROOT/.tools/bin/forge || ! -e $REPO_ROOT/.tools/bin/solc ]]; then
    ROLLUP_BOOTSTRAP_QUIET=1 "$SCRIPT_DIR/bootstrap.sh" >/dev/null
fi
# shellcheck source=anvil-scripts/env.sh
source "$SCRIPT_DIR/env.sh"

deployer=$(cast wallet address --private-key "$PRIVATE_KEY") || die "invalid private key"
chain_id=$(cast chain-id --rpc-url "$L1_RPC") || die "no L1 node answers at $L1_RPC"

batcher=${ROLLUP_BATCHER:-$deployer}
bond=${ROLLUP_BOND_WEI:-10000000000000000}
period=${ROLLUP_CHALLENGE_PERIOD:-300}
genesis=${ROLLUP_GENESIS_STATE_ROOT:-}
l2_chain_id=${ROLLUP_L2_CHAIN_ID:-42069}
challenge_bond=${GAMES_CHALLENGE_BOND_WEI:-50000000000000000}
move_bond=${GAMES_MOVE_BOND_BASE_WEI:-1000000000000000}
max_clock=${GAMES_MAX_CLOCK:-600}
if [[ -z $genesis ]]; then
    echo "deploy: warning: ROLLUP_GENESIS_STATE_ROOT not set; using the empty-trie root $EMPTY_TRIE_ROOT" >&2
    genesis=$EMPTY_TRIE_ROOT
fi

# `--slow` sends each transaction after the previous one's receipt: sent together, the verifiers'
# creations (about 80M gas) fill anvil's 30M blocks and automining leaves the one that does not fit
# pending until another transaction arrives, which never does.
# Broadcast logs go to a temporary folder, not into the work tree.
broadcast_dir=$(mktemp -d)
trap 'rm -rf "$broadcast_dir"' EXIT

echo "deploy: deploying Rollup, OneStepVerifier and DisputeGames to chain $chain_id at $L1_RPC (batcher $batcher, bond $bond wei, challenge period ${period}s)" >&2
log=$broadcast_dir/forge.log
if ! (cd "$CONTRACTS_DIR" && FOUNDRY_BROADCAST=$broadcast_dir forge script script/Deploy.s.sol:Deploy \
    --rpc-url "$L1_RPC" --private-key "$PRIVATE_KEY" --broadcast --slow --non-interactive \
    --sig 'run(address,uint256,uint256,bytes32,uint64,uint256,uint256,uint64)' \
    "$batcher" "$bond" "$period" "$genesis" "$l2_chain_id" "$challenge_bond" "$move_bond" "$max_clock") >"$log" 2>&1; then
    cat "$log" >&2
    die "forge script failed"
fi

run_json=$broadcast_dir/Deploy.s.sol/$chain_id/run-latest.json
[[ -f $run_json ]] || {
    cat "$log" >&2
    die "forge wrote no broadcast log at $run_json"
}

# "address block" of the Rollup creation, from forge's broadcast log.
created=$(node - "$run_json" <<'EOF'
const fs = require('fs');
const run = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const name of ['Rollup', 'OneStepVerifier', 'DisputeGames']) {
  const tx = run.transactions.find((t) => t.transactionType === 'CREATE' && t.contractName === name);
  if (!tx || !tx.contractAddress) {
    console.error(`deploy: error: no ${name} creation in the broadcast log`);
    process.exit(1);
  }
  const receipt = (run.receipts || []).find((r) => r.transactionHash === tx.hash);
  if (!receipt || !['0x1', 1, true].includes(receipt.status)) {
    console.error(`deploy: error: the ${name} creation has no successful receipt`);
    process.exit(1);
  }
  out.push(tx.contractAddress);
  if (name === 'Rollup') out.push(Number(receipt.blockNumber));
}
console.log(out.join(' '));
EOF
) || die "cannot read $run_json"
read -r rollup deploy_block verifier games <<<"$created"
rollup=$(cast to-check-sum-address "$rollup")
verifier=$(cast to-check-sum-address "$verifier")
games=$(cast to-check-sum-address "$games")
code=$(cast code "$rollup" --rpc-url "$L1_RPC")
[[ $code != 0x && -n $code ]] || die "no code at $rollup after deployment"

mkdir -p "$(dirname "$OUT_JSON")"
node -e '
const [outJson, rollup, block, chainId, batcher, bond, period, genesis, verifier, games,
       l2ChainId, challengeBond, moveBond, maxClock] = process.argv.slice(1);
const out = {
  rollup,
  dispute_games: games,
  step_verifier: verifier,
  deploy_block: Number(block),
  l1_chain_id: Number(chainId),
  batcher,
  bond_wei: bond,
  challenge_period: Number(period),
  genesis_state_root: genesis,
  l2_chain_id: Number(l2ChainId),
  challenge_bond_wei: challengeBond,
  move_bond_base_wei: moveBond,
  max_clock_seconds: Number(maxClock),
};
require("fs").writeFileSync(outJson, JSON.stringify(out, null, 2) + "\n");
' "$OUT_JSON" "$rollup" "$deploy_block" "$chain_id" "$batcher" "$bond" "$period" "$genesis" \
    "$verifier" "$games" "$l2_chain_id" "$challenge_bond" "$move_bond" "$max_clock"
echo "deploy: Rollup at $rollup, DisputeGames at $games, OneStepVerifier at $verifier; wrote $OUT_JSON" >&2
