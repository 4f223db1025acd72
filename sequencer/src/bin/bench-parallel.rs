//! `bench-parallel`: the parallel engine against the sequential reference
//! executor on blocks of 10,000+ transactions over a 100,000-account state,
//! one workload per conflict pattern. Prints a table and, last, one JSON line.

use alloy_consensus::{TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use clap::Parser;
use rollup_core::{
    chain::ChainConfig,
    executor::{BlockInput, BlockOutcome, execute_block},
    state::WorldState,
};
use rollup_sequencer::parallel::{
    ParallelConfig, execute_block_parallel, execute_block_parallel_with_access,
    fixtures::{Deployed, TxFactory, account, pre_state, swap_call, transfer_call},
    schedule_shape,
};
use serde_json::json;
use std::time::{Duration, Instant};

// Both engines allocate per transaction; a thread-caching allocator keeps the
// worker threads from contending on glibc's arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "bench-parallel",
    about = "Parallel vs sequential block execution"
)]
struct Args {
    /// Transactions per block.
    #[arg(long, default_value_t = 10_000)]
    txs: usize,
    /// Funded accounts in the pre-state.
    #[arg(long, default_value_t = 100_000)]
    accounts: u64,
    /// Threads of the parallel engine [default: the machine's cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Timed runs per engine and workload (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Only these workloads (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// A small deterministic generator (xorshift), so every run builds the same blocks.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

struct Workload {
    name: &'static str,
    what: &'static str,
    txs: Vec<Recovered<TxEnvelope>>,
}

fn workloads(args: &Args, d: &Deployed) -> Vec<Workload> {
    let f = TxFactory {
        chain_id: ChainConfig::default().chain_id,
        max_fee: 2_000_000_000,
        tip: 1_000_000_000,
    };
    let n = args.txs;
    let accounts = args.accounts;
    let hot = account(accounts - 1);
    // Every transaction has its own sender (nonce 0): conflicts come from what it touches.
    let sender = |i: usize| account(i as u64);
    let eth = |from: Address, to: Address| {
        f.tx(
            from,
            0,
            TxKind::Call(to),
            U256::from(1_000),
            Bytes::new(),
            21_000,
        )
    };
    let erc20 = |from: Address, to: Address| {
        f.tx(
            from,
            0,
            TxKind::Call(d.token),
            U256::ZERO,
            transfer_call(to, U256::from(5)),
            60_000,
        )
    };
    let swap = |from: Address, pool: Address, amount: u64| {
        f.tx(
            from,
            0,
            TxKind::Call(pool),
            U256::ZERO,
            swap_call(U256::from(amount)),
            100_000,
        )
    };
    let counter = |from: Address| {
        f.tx(
            from,
            0,
            TxKind::Call(d.counter),
            U256::ZERO,
            Bytes::new(),
            100_000,
        )
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut random = move || account(rng.below(accounts));
    // Recipients that send nothing in the block: truly independent transfers.
    let mut rng = Rng(0x0bad_5eed_1234_5678);
    let mut bystander = move || account(n as u64 + rng.below(accounts - n as u64));
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut pick = move |k: u64| rng.below(k);
    let mut all = vec![
        Workload {
            name: "transfers",
            what: "independent ETH transfers",
            txs: (0..n).map(|i| eth(sender(i), bystander())).collect(),
        },
        Workload {
            name: "erc20",
            what: "ERC-20 transfers, random accounts",
            txs: (0..n).map(|i| erc20(sender(i), random())).collect(),
        },
        Workload {
            name: "erc20_hot",
            what: "ERC-20 transfers, one recipient",
            txs: (0..n).map(|i| erc20(sender(i), hot)).collect(),
        },
        Workload {
            name: "hot30",
            what: "30% touch one hot account",
            txs: (0..n)
                .map(|i| {
                    if pick(10) < 3 {
                        erc20(sender(i), hot)
                    } else {
                        erc20(sender(i), random())
                    }
                })
                .collect(),
        },
        Workload {
            name: "amm",
            what: "swaps over 10 pools",
            txs: (0..n)
                .map(|i| {
                    swap(
                        sender(i),
                        d.pools[pick(d.pools.len() as u64) as usize],
                        1_000 + pick(1_000),
                    )
                })
                .collect(),
        },
        Workload {
            name: "counter",
            what: "one contract everyone writes",
            txs: (0..n).map(|i| counter(sender(i))).collect(),
        },
        Workload {
            name: "mix",
            what: "40% ETH, 30% ERC-20, 20% swaps, 10% counter",
            txs: (0..n)
                .map(|i| match pick(10) {
                    0..4 => eth(sender(i), random()),
                    4..7 => erc20(sender(i), random()),
                    7..9 => swap(sender(i), d.pools[pick(d.pools.len() as u64) as usize], 500),
                    _ => counter(sender(i)),
                })
                .collect(),
        },
    ];
    if !args.only.is_empty() {
        all.retain(|w| args.only.iter().any(|o| o == w.name));
    }
    all
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn same(a: &BlockOutcome, b: &BlockOutcome) -> bool {
    a.changes == b.changes
        && a.gas_used == b.gas_used
        && a.rejected == b.rejected
        && a.executed.len() == b.executed.len()
        && a.executed.iter().zip(&b.executed).all(|(x, y)| {
            x.receipt == y.receipt && x.tx.inner().tx_hash() == y.tx.inner().tx_hash()
        })
}

fn main() -> eyre::Result<()> {
    let args = Args::parse();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let config = ParallelConfig {
        threads,
        min_txs: 0,
        speculate_all_first: false,
    };
    eyre::ensure!(
        args.accounts as usize > args.txs,
        "need more accounts than transactions"
    );
    let started = Instant::now();
    let (pre, deployed) = pre_state(args.accounts, 10);
    let pre: WorldState = pre;
    eprintln!(
        "pre-state: {} accounts, built in {:.1?}; {} threads",
        pre.account_count(),
        started.elapsed(),
        threads
    );
    let chain = ChainConfig::default();
    let block = BlockInput {
        number: 1,
        timestamp: 1_700_000_000,
        beneficiary: chain.fee_vault,
        gas_limit: u64::MAX / 2,
        base_fee: 1_000_000_000,
        prevrandao: B256::repeat_byte(1),
    };
    println!(
        "{:<10} {:<44} {:>7} {:>10} {:>10} {:>9} {:>9} {:>8} {:>8} {:>7}",
        "workload",
        "",
        "txs",
        "seq tx/s",
        "par tx/s",
        "seq Mg/s",
        "par Mg/s",
        "speedup",
        "avail",
        "re-run"
    );
    let mut results = serde_json::Map::new();
    for w in workloads(&args, &deployed) {
        let mut seq_times = Vec::new();
        let mut par_times = Vec::new();
        let mut reference = None;
        let mut stats = None;
        for _ in 0..args.runs.max(1) {
            let txs = w.txs.clone();
            let t = Instant::now();
            let out = execute_block(&pre, &chain, &block, txs)?;
            seq_times.push(t.elapsed());
            reference = Some(out);
            let txs = w.txs.clone();
            let t = Instant::now();
            let (out, s) = execute_block_parallel(&pre, &chain, &block, txs, &config)?;
            par_times.push(t.elapsed());
            eyre::ensure!(
                same(&out, reference.as_ref().expect("set above")),
                "{}: parallel result differs from sequential",
                w.name
            );
            stats = Some(s);
        }
        let reference = reference.expect("at least one run");
        let stats = stats.expect("at least one run");
        let (_, _, access) =
            execute_block_parallel_with_access(&pre, &chain, &block, w.txs.clone(), &config)?;
        let gas: Vec<u64> = reference.executed.iter().map(|e| e.gas_used).collect();
        let shape = schedule_shape(&access, &gas);
        let (seq, par) = (median(seq_times), median(par_times));
        let included = reference.executed.len() as f64;
        let mgas = reference.gas_used as f64 / 1e6;
        let row = json!({
            "txs": reference.executed.len(),
            "gas": reference.gas_used,
            "seq_tps": (included / seq.as_secs_f64()).round(),
            "par_tps": (included / par.as_secs_f64()).round(),
            "seq_mgas_s": (mgas / seq.as_secs_f64() * 10.0).round() / 10.0,
            "par_mgas_s": (mgas / par.as_secs_f64() * 10.0).round() / 10.0,
            "speedup": (seq.as_secs_f64() / par.as_secs_f64() * 100.0).round() / 100.0,
            "available_parallelism": (shape.available_parallelism * 100.0).round() / 100.0,
            "groups": shape.groups,
            "reexecuted": stats.reexecuted,
            "fallback": stats.fallback.map(|r| format!("{r:?}")),
        });
        println!(
            "{:<10} {:<44} {:>7} {:>10.0} {:>10.0} {:>9.1} {:>9.1} {:>7.2}x {:>7.2}x {:>7}",
            w.name,
            w.what,
            reference.executed.len(),
            included / seq.as_secs_f64(),
            included / par.as_secs_f64(),
            mgas / seq.as_secs_f64(),
            mgas / par.as_secs_f64(),
            seq.as_secs_f64() / par.as_secs_f64(),
            shape.available_parallelism,
            stats.reexecuted,
        );
        results.insert(w.name.into(), row);
    }
    println!(
        "{}",
        json!({ "threads": threads, "accounts": args.accounts, "workloads": results })
    );
    Ok(())
}
