//! `bench-parallel`: the parallel engine against the sequential reference
//! executor on blocks of 10,000+ transactions over a 100,000-account state,
//! one workload per conflict pattern. A block's time is its execution plus
//! its state root (the trie updated with the block's changes and hashed), as
//! a node spends it; both parts are reported. Every parallel result and root is
//! checked against the sequential one before a figure is printed. Prints a
//! table and, last, one JSON line.

use alloy_consensus::{TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use clap::Parser;
use rollup_core::{
    chain::ChainConfig,
    executor::{BlockInput, BlockOutcome, execute_block},
    state::WorldState,
    trie::StateCommitment,
};
use rollup_sequencer::parallel::{
    ParallelConfig, execute_block_parallel, execute_block_parallel_with_access,
    fixtures::{Deployed, TxFactory, account, pre_state, swap_call, transfer_call},
    on_engine_threads, schedule_shape,
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
    /// Timed runs per engine and workload (the median is reported; runs on
    /// a small VM vary, so take several).
    #[arg(long, default_value_t = 9)]
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
            name: "conflict",
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
    // The pre-state's root is known before the block, as in the node: its
    // trie is hashed (and its node cache filled) outside the timing.
    let mut commitment = StateCommitment::from_state(&pre);
    commitment.root();
    println!(
        "{:<10} {:<44} {:>6} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>8} {:>7} {:>7} {:>6} {:>7} {:>7} {:>7} {:>6}",
        "workload",
        "",
        "txs",
        "seq tx/s",
        "par tx/s",
        "seq Mg/s",
        "par Mg/s",
        "speedup",
        "exec",
        "ceil",
        "avail",
        "seq rt",
        "par rt",
        "re-run",
        "seq ex",
        "par run",
        "par asm",
        "work"
    );
    let mut results = serde_json::Map::new();
    for w in workloads(&args, &deployed) {
        let mut seq = Samples::default();
        let mut par = Samples::default();
        let mut reference = None;
        let mut stats = None;
        // The parallel engine's phases per run: speculation with the in-order
        // commit, then assembly.
        let (mut run_phase, mut assemble_phase) = (Vec::new(), Vec::new());
        // CPU time of the execution, all threads together: the engine's work against the
        // sequential executor's (its bookkeeping, re-runs and waiting).
        let (mut seq_cpu, mut par_cpu) = (Vec::new(), Vec::new());
        for _ in 0..args.runs.max(1) {
            // Sequential reference: execute, then the state root on one thread.
            let (txs, mut trie) = (w.txs.clone(), commitment.clone());
            let (t, cpu) = (Instant::now(), process_cpu());
            let out = execute_block(&pre, &chain, &block, txs)?;
            let executed = t.elapsed();
            seq_cpu.push(process_cpu() - cpu);
            trie.apply(&out.changes);
            let seq_root = trie.root();
            seq.push(executed, t.elapsed());
            reference = Some((out, seq_root));
            // Parallel engine, then the state root on the same threads.
            let (txs, mut trie) = (w.txs.clone(), commitment.clone());
            let (t, cpu) = (Instant::now(), process_cpu());
            let (out, s) = execute_block_parallel(&pre, &chain, &block, txs, &config)?;
            let executed = t.elapsed();
            par_cpu.push(process_cpu() - cpu);
            let par_root = on_engine_threads(threads, || {
                trie.apply_with_threads(&out.changes, threads);
                trie.root_with_threads(threads)
            });
            par.push(executed, t.elapsed());
            let (expected, expected_root) = reference.as_ref().expect("set above");
            eyre::ensure!(
                same(&out, expected) && par_root == *expected_root,
                "{}: parallel result differs from sequential",
                w.name
            );
            run_phase.push(s.run_phase);
            assemble_phase.push(s.assemble_phase);
            stats = Some(s);
        }
        let ceiling = machine_ceiling(&pre, &chain, &block, &w.txs, threads, args.runs)?;
        let (reference, _) = reference.expect("at least one run");
        let stats = stats.expect("at least one run");
        let (_, _, access) =
            execute_block_parallel_with_access(&pre, &chain, &block, w.txs.clone(), &config)?;
        let gas: Vec<u64> = reference.executed.iter().map(|e| e.gas_used).collect();
        let shape = schedule_shape(&access, &gas);
        let (seq_total, par_total) = (seq.total(), par.total());
        let included = reference.executed.len() as f64;
        let mgas = reference.gas_used as f64 / 1e6;
        let round2 = |x: f64| (x * 100.0).round() / 100.0;
        let ms = |d: Duration| round2(d.as_secs_f64() * 1e3);
        let inflation =
            median(par_cpu.clone()).as_secs_f64() / median(seq_cpu.clone()).as_secs_f64();
        let row = json!({
            "txs": reference.executed.len(),
            "gas": reference.gas_used,
            "sequential_tps": (included / seq_total.as_secs_f64()).round(),
            "parallel_tps": (included / par_total.as_secs_f64()).round(),
            "sequential_mgas_s": round2(mgas / seq_total.as_secs_f64()),
            "parallel_mgas_s": round2(mgas / par_total.as_secs_f64()),
            "speedup": round2(seq_total.as_secs_f64() / par_total.as_secs_f64()),
            "execution_speedup": round2(seq.exec().as_secs_f64() / par.exec().as_secs_f64()),
            "available_parallelism": round2(shape.available_parallelism),
            "machine_ceiling": round2(ceiling),
            "state_root_ms": ms(par.root()),
            "sequential_state_root_ms": ms(seq.root()),
            "groups": shape.groups,
            "reexecuted": stats.reexecuted,
            "deferred": stats.deferred,
            "fallback": stats.fallback.map(|r| format!("{r:?}")),
            "fallback_prefix": stats.fallback_prefix,
            "sequential_exec_ms": ms(seq.exec()),
            "parallel_exec_ms": ms(par.exec()),
            "parallel_run_phase_ms": ms(median(run_phase.clone())),
            "parallel_assemble_phase_ms": ms(median(assemble_phase.clone())),
            "sequential_exec_cpu_ms": ms(median(seq_cpu.clone())),
            "parallel_exec_cpu_ms": ms(median(par_cpu.clone())),
            "work_inflation": round2(inflation),
        });
        println!(
            "{:<10} {:<44} {:>6} {:>9.0} {:>9.0} {:>8.1} {:>8.1} {:>7.2}x {:>7.2}x {:>5.2}x {:>7.1}x {:>7.1} {:>7.1} {:>6} {:>7.1} {:>7.1} {:>7.1} {:>5.2}x",
            w.name,
            w.what,
            reference.executed.len(),
            included / seq_total.as_secs_f64(),
            included / par_total.as_secs_f64(),
            mgas / seq_total.as_secs_f64(),
            mgas / par_total.as_secs_f64(),
            seq_total.as_secs_f64() / par_total.as_secs_f64(),
            seq.exec().as_secs_f64() / par.exec().as_secs_f64(),
            ceiling,
            shape.available_parallelism,
            seq.root().as_secs_f64() * 1e3,
            par.root().as_secs_f64() * 1e3,
            stats.reexecuted + stats.deferred,
            ms(seq.exec()),
            ms(median(run_phase.clone())),
            ms(median(assemble_phase.clone())),
            inflation,
        );
        results.insert(w.name.into(), row);
    }
    println!(
        "{}",
        json!({ "threads": threads, "accounts": args.accounts, "workloads": results })
    );
    Ok(())
}

/// What two threads can gain on this machine for this block's execution with no engine at
/// all: the sequential executor on the block's two halves (each over the pre-state, as if they
/// were independent), one after the other on one thread against both at once on `threads`
/// threads (medians of `runs`). No coordination, validation or merging is timed, so no engine's
/// execution speedup can exceed it; the halves' results are not a block and are dropped.
fn machine_ceiling(
    pre: &WorldState,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: &[Recovered<TxEnvelope>],
    threads: usize,
    runs: usize,
) -> eyre::Result<f64> {
    let (first, second) = txs.split_at(txs.len() / 2);
    let half = |txs: Vec<Recovered<TxEnvelope>>| execute_block(pre, chain, block, txs);
    let (mut one, mut both) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let (a, b) = (first.to_vec(), second.to_vec());
        let t = Instant::now();
        half(a)?;
        half(b)?;
        one.push(t.elapsed());
        let (a, b) = (first.to_vec(), second.to_vec());
        let t = Instant::now();
        let (a, b) = on_engine_threads(threads, || rayon::join(|| half(a), || half(b)));
        both.push(t.elapsed());
        a?;
        b?;
    }
    Ok(median(one).as_secs_f64() / median(both).as_secs_f64())
}

/// CPU time the process has used so far, all threads together.
fn process_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Timed runs of one engine: execution alone and execution plus state root.
#[derive(Default)]
struct Samples {
    exec: Vec<Duration>,
    total: Vec<Duration>,
}

impl Samples {
    fn push(&mut self, exec: Duration, total: Duration) {
        self.exec.push(exec);
        self.total.push(total);
    }
    /// Medians.
    fn exec(&self) -> Duration {
        median(self.exec.clone())
    }
    fn total(&self) -> Duration {
        median(self.total.clone())
    }
    /// Median time of the state root (apply + hash), from the run with the
    /// median total.
    fn root(&self) -> Duration {
        let mut runs: Vec<(Duration, Duration)> = self
            .total
            .iter()
            .copied()
            .zip(self.exec.iter().copied())
            .collect();
        runs.sort();
        let (total, exec) = runs[runs.len() / 2];
        total - exec
    }
}
