//! `make bench-proof`: the cost of an EIP-1186 proof (`eth_getProof`) served from the
//! state commitment's cached subtree hashes, side by side with the same proof built by
//! hashing every leaf of the tries on its path (the reference, and how the node built
//! proofs before), at several state sizes. Checks the two proofs are equal first.

use alloy_primitives::{B256, keccak256};
use clap::Parser;
use rollup_core::trie::StateCommitment;
use rollup_sequencer::parallel::fixtures::{account, balance_slot, pre_state};
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(
    name = "bench-proof",
    about = "eth_getProof from cached trie hashes vs from every leaf"
)]
struct Args {
    /// State sizes (funded accounts, each also holding a balance in one token
    /// contract, so the token's storage trie is as large), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,300000")]
    accounts: Vec<u64>,
    /// Proofs timed per size and method (an account and its token balance slot each).
    #[arg(long, default_value_t = 200)]
    proofs: u64,
}

fn main() -> eyre::Result<()> {
    let args = Args::parse();
    println!(
        "{:>9} {:>14} {:>16} {:>8} {:>12}",
        "accounts", "cached us", "every leaf us", "speedup", "nodes/proof"
    );
    let mut rows = serde_json::Map::new();
    for &accounts in &args.accounts {
        let (state, deployed) = pre_state(accounts, 1);
        let mut commitment = StateCommitment::from_state(&state);
        commitment.root();
        let queries: Vec<_> = (0..args.proofs)
            .map(|i| {
                // Spread over the state, and some absent accounts.
                let n = u64::from_be_bytes(keccak256(i.to_be_bytes()).0[..8].try_into().unwrap());
                let owner = account(n % (accounts + accounts / 10));
                (owner, B256::from(balance_slot(owner)))
            })
            .collect();
        let time = |every_leaf: bool| {
            let started = Instant::now();
            let mut nodes = 0;
            for (owner, slot) in &queries {
                for (address, slots) in [(*owner, &[][..]), (deployed.token, &[*slot][..])] {
                    let proof = if every_leaf {
                        commitment.proof_hashing_every_leaf(address, slots)
                    } else {
                        commitment.proof(address, slots)
                    };
                    nodes += proof.account_proof.len()
                        + proof
                            .storage_proofs
                            .iter()
                            .map(|s| s.proof.len())
                            .sum::<usize>();
                }
            }
            (started.elapsed(), nodes)
        };
        for (owner, slot) in queries.iter().take(20) {
            for (address, slots) in [(*owner, vec![]), (deployed.token, vec![*slot])] {
                eyre::ensure!(
                    commitment.proof(address, &slots)
                        == commitment.proof_hashing_every_leaf(address, &slots),
                    "the cached proof of {address} differs from the reference"
                );
            }
        }
        let (cached, nodes) = time(false);
        let (reference, _) = time(true);
        let per = |d: Duration| d.as_secs_f64() * 1e6 / args.proofs as f64;
        let speedup = reference.as_secs_f64() / cached.as_secs_f64();
        let nodes_per_proof = nodes as f64 / args.proofs as f64;
        println!(
            "{:>9} {:>14.1} {:>16.1} {:>7.0}x {:>12.1}",
            accounts,
            per(cached),
            per(reference),
            speedup,
            nodes_per_proof
        );
        let round = |x: f64| (x * 10.0).round() / 10.0;
        rows.insert(
            accounts.to_string(),
            json!({
                "cached_us": round(per(cached)),
                "every_leaf_us": round(per(reference)),
                "speedup": round(speedup),
            }),
        );
    }
    println!(
        "{}",
        json!({"proof": "account + one token balance slot", "by_accounts": rows})
    );
    Ok(())
}
