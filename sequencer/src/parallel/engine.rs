//! The scheduler: speculative execution on worker threads against the
//! block's multi-version state (the pre-state plus everything committed so
//! far), an in-order commit that keeps a speculative result only when every
//! value it read is still the committed one and otherwise re-runs the
//! transaction on the committed prefix, then a parallel assembly of the
//! receipts and the change set.

use super::{
    FallbackReason, ParallelConfig, ParallelStats,
    access::{AccessSet, Location},
    assemble::assemble,
    handler::{Digest, EvmOn, run_deferred},
    pool::pool,
    versioned::{Committed, Read, View},
};
use alloy_consensus::{TxEnvelope, transaction::Recovered};
use alloy_primitives::Address;
use parking_lot::Mutex;
use revm::context_interface::ContextTr;
use rollup_core::{
    chain::ChainConfig,
    error::StateError,
    executor::{BlockInput, BlockOutcome, ExecError, build_evm_on, tx_env},
    state::StateReader,
};
use std::{
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::Duration,
};

/// A run together with what it read and wrote.
struct Speculated {
    run: Digest,
    reads: Vec<Read>,
    writes: Vec<Location>,
    /// It loaded the fee vault, whose balance it would then have observed.
    loaded_vault: bool,
}

/// One transaction's slot in the shared speculation table.
struct Speculation {
    /// Set by whoever runs the transaction first (a worker or the committer).
    claimed: AtomicBool,
    /// A worker's result.
    result: Mutex<Option<Result<Speculated, ExecError>>>,
    /// Set once `result` holds the worker's answer.
    ready: AtomicBool,
}

/// A block handed back for sequential execution: why, the outcome of the transactions the
/// committer had committed (exactly sequential execution's), and the block's other
/// transactions, which the sequential executor runs after them.
pub(crate) struct Fallback {
    pub(crate) reason: FallbackReason,
    pub(crate) prefix: BlockOutcome,
    pub(crate) rest: Vec<Recovered<TxEnvelope>>,
}

/// Why the committer gave up on the parallel schedule.
enum Abort {
    /// The schedule stops before the transaction at this index (the ones before it are
    /// committed).
    Fallback(FallbackReason, usize),
    Error(ExecError),
}

/// An EVM over one thread's view of the committed prefix.
type VersionedEvm<'c, 'a, R> = EvmOn<View<'c, 'a, R>>;

/// Runs `txs` speculatively in parallel, commits them in order and assembles
/// the block. Hands the block back (`Ok(Err(_))`) when its rest must be
/// executed sequentially instead: the committed prefix is kept, not run again.
pub(crate) fn execute<R: StateReader>(
    pre: &R,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: Vec<Recovered<TxEnvelope>>,
    config: &ParallelConfig,
    stats: &mut ParallelStats,
    access: Option<&mut Vec<AccessSet>>,
) -> Result<Result<BlockOutcome, Fallback>, ExecError> {
    let started = std::time::Instant::now();
    let vault = block.beneficiary;
    let vault_before = pre.account(vault)?;
    let table: Vec<Speculation> = txs
        .iter()
        .map(|tx| Speculation {
            // Blob transactions are refused before they run: nobody speculates on them.
            claimed: AtomicBool::new(tx.inner().is_eip4844()),
            result: Mutex::new(None),
            ready: AtomicBool::new(false),
        })
        .collect();
    let committed = Committed::new(pre, txs.len());

    let shared = Shared {
        committed: &committed,
        chain,
        block,
        txs: &txs,
        table: &table,
        next: AtomicUsize::new(0),
        speculated: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    };
    let worker = || shared.speculate_rest(&mut versioned_evm(&committed, chain, block));

    let pool = pool(config.threads);
    let outcome = pool.scope(|scope| {
        for _ in 1..config.threads.max(1) {
            scope.spawn(|_| worker());
        }
        if config.speculate_all_first && config.threads > 1 {
            // Speculate alongside the workers (whose jobs may not even have
            // started when other blocks hold the pool), then wait for the
            // runs others claimed: each is in progress.
            shared.speculate_rest(&mut versioned_evm(&committed, chain, block));
            for (entry, tx) in table.iter().zip(&txs) {
                while !tx.inner().is_eip4844() && !entry.ready.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
            }
        }
        let out = commit_in_order(&shared, &txs, vault, stats, access);
        shared.stop.store(true, Ordering::Relaxed);
        out
    });
    stats.speculated = shared.speculated.load(Ordering::Relaxed);
    stats.run_phase = started.elapsed();
    match outcome {
        Ok(()) => {
            let outcome = assemble(
                txs,
                committed.into_runs(),
                vault,
                vault_before,
                &pool,
                config.threads,
            );
            stats.assemble_phase = started.elapsed() - stats.run_phase;
            Ok(Ok(outcome))
        }
        Err(Abort::Fallback(reason, at)) => {
            let mut txs = txs;
            let rest = txs.split_off(at);
            let mut runs = committed.into_runs();
            runs.truncate(at);
            let prefix = assemble(txs, runs, vault, vault_before, &pool, config.threads);
            Ok(Err(Fallback {
                reason,
                prefix,
                rest,
            }))
        }
        Err(Abort::Error(e)) => Err(e),
    }
}

/// An EVM whose database is a fresh view of the committed prefix.
fn versioned_evm<'c, 'a, R: StateReader>(
    committed: &'c Committed<'a, R>,
    chain: &ChainConfig,
    block: &BlockInput,
) -> VersionedEvm<'c, 'a, R> {
    build_evm_on(View::new(committed), chain, block, |_| {})
}

/// Runs one transaction on `evm`, collecting what it read and wrote, and
/// digests its state on this thread.
fn run_recorded<R: StateReader>(
    evm: &mut VersionedEvm<'_, '_, R>,
    tx: &Recovered<TxEnvelope>,
    speculating: bool,
) -> Result<Speculated, ExecError> {
    evm.ctx.db_mut().start(speculating);
    // Built where it runs (a clone would cost as much), so that a block
    // handed to the sequential executor has not paid for them upfront.
    let run = run_deferred(evm, tx_env(tx))?;
    let loaded_vault = run.state().contains_key(&evm.ctx.block.beneficiary);
    // A rejected transaction's digest has no effects, hence no writes.
    let run = run.digest(tx.inner().tx_type());
    let view = evm.ctx.db_mut();
    Ok(Speculated {
        writes: view.writes_of(&run.effects),
        // A copy of exactly the right size; the view keeps its capacity.
        reads: view.reads.clone(),
        loaded_vault,
        run,
    })
}

/// After this many transactions the committer judges whether speculation pays.
const ADAPT_AFTER: usize = 64;

/// What the committer and the workers share.
struct Shared<'c, 'a, R> {
    committed: &'c Committed<'a, R>,
    chain: &'c ChainConfig,
    block: &'c BlockInput,
    txs: &'c [Recovered<TxEnvelope>],
    table: &'c [Speculation],
    /// The next transaction to claim.
    next: AtomicUsize,
    /// Transactions run speculatively.
    speculated: AtomicUsize,
    /// Set when speculation stops (the block is committed, or speculation
    /// turned out useless): nobody claims further transactions.
    stop: AtomicBool,
}

impl<'c, 'a, R: StateReader> Shared<'c, 'a, R> {
    /// Speculates until every transaction is taken or speculation stops.
    fn speculate_rest(&self, evm: &mut VersionedEvm<'c, 'a, R>) {
        loop {
            if !self.speculate_next(evm) {
                break;
            }
        }
    }

    /// Claims the next transaction nobody runs yet and runs it against the
    /// committed prefix; false when every transaction is taken.
    fn speculate_next(&self, evm: &mut VersionedEvm<'c, 'a, R>) -> bool {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.table.len() {
                return false;
            }
            if self.table[i].claimed.swap(true, Ordering::AcqRel) {
                continue;
            }
            // A panic must not leave the committer waiting for this slot: it
            // becomes an error, and the committer re-runs the transaction itself.
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_recorded(evm, &self.txs[i], true)
            }))
            .unwrap_or_else(|_| {
                // Nothing of the interrupted run may leak into the next one.
                *evm = versioned_evm(self.committed, self.chain, self.block);
                Err(ExecError::Evm("speculative run panicked".into()))
            });
            self.speculated.fetch_add(1, Ordering::Relaxed);
            *self.table[i].result.lock() = Some(run);
            self.table[i].ready.store(true, Ordering::Release);
            return true;
        }
    }
}

/// The committer: walks the block in order, keeping each speculative result
/// whose reads are still current and re-running the others on the committed
/// prefix, which is then exactly the sequential state before the transaction.
/// While the next transaction's speculation is still running elsewhere, it
/// speculates on later transactions itself.
fn commit_in_order<R: StateReader>(
    shared: &Shared<'_, '_, R>,
    txs: &[Recovered<TxEnvelope>],
    vault: Address,
    stats: &mut ParallelStats,
    mut access: Option<&mut Vec<AccessSet>>,
) -> Result<(), Abort> {
    let (committed, table) = (shared.committed, shared.table);
    let mut evm = versioned_evm(committed, shared.chain, shared.block);
    // The speculative results examined and wasted before the window being judged.
    let (mut examined_before, mut wasted_before) = (0, 0);
    for (i, tx) in txs.iter().enumerate() {
        if tx.inner().is_eip4844() {
            continue;
        }
        let done = if !table[i].claimed.swap(true, Ordering::AcqRel) {
            stats.direct += 1;
            run_recorded(&mut evm, tx, false).map_err(Abort::Error)?
        } else {
            let mut backoff = 0u32;
            while !table[i].ready.load(Ordering::Acquire) {
                // Rather than wait, speculate on a later transaction.
                if shared.speculate_next(&mut evm) {
                    continue;
                }
                backoff += 1;
                if backoff < 64 {
                    std::hint::spin_loop();
                } else if backoff < 256 {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(Duration::from_micros(20));
                }
            }
            let speculative = table[i]
                .result
                .lock()
                .take()
                .expect("ready implies a result");
            // Every run reads its sender (validation loads it first), so a
            // changed nonce or balance invalidates it like any other read.
            let stale = match &speculative {
                Ok(done) => evm.ctx.db_mut().first_stale(&done.reads),
                Err(_) => None,
            };
            match speculative {
                Ok(done) if stale.is_none() => {
                    stats.reused += 1;
                    done
                }
                failed => {
                    match failed {
                        Err(ExecError::State(StateError::Deferred)) => stats.deferred += 1,
                        _ => stats.reexecuted += 1,
                    }
                    if let Some(location) = stale {
                        committed.mark_hot(location);
                    }
                    run_recorded(&mut evm, tx, false).map_err(Abort::Error)?
                }
            }
        };
        // When two thirds or more of the speculative results of a window are wasted
        // (long dependency chains), the committer would run most of the rest alone, and
        // the sequential executor continues the block instead (after the committed
        // prefix, which is kept): it does less per transaction than the engine's
        // bookkeeping. Judged every 64 transactions over the results examined since the
        // last judgement, once there are enough of them (the committer runs the first
        // transactions itself while the workers wake up), so that a block whose later
        // part turns into a chain falls back too. A run that records access sets keeps
        // going, only without speculation.
        let wasted = stats.reexecuted + stats.deferred;
        let examined = stats.reused + wasted;
        if (i + 1) % ADAPT_AFTER == 0 && examined - examined_before >= ADAPT_AFTER / 2 {
            let (window, window_wasted) = (examined - examined_before, wasted - wasted_before);
            (examined_before, wasted_before) = (examined, wasted);
            if window_wasted * 3 >= window * 2 {
                if access.is_none() {
                    return Err(Abort::Fallback(FallbackReason::MostlyConflicting, i));
                }
                shared.stop.store(true, Ordering::Relaxed);
            }
        }
        // The beneficiary is credited at the end of every transaction, so a
        // transaction that observes it depends on all its predecessors.
        if done.loaded_vault || tx.signer() == vault {
            return Err(Abort::Fallback(FallbackReason::FeeVaultAccessed, i));
        }
        if let Some(access) = access.as_deref_mut() {
            let mut reads: Vec<Location> = done.reads.iter().map(|r| r.location).collect();
            reads.push(Location::Account(tx.signer()));
            access.push(AccessSet {
                reads,
                writes: done.writes.clone(),
            });
        }
        committed.commit(i, done.run, done.writes);
    }
    Ok(())
}
