//! The parallel execution engine: produces exactly what `rollup_core`'s
//! sequential executor produces for a block, using several threads.
//!
//! Every transaction is run speculatively on worker threads against the
//! block's multi-version state: the pre-state plus what the transactions
//! committed so far wrote, each value read with its version. A committer walks
//! the block in order: a speculative result is kept when every value it read
//! is still the committed one (it then saw exactly what sequential execution
//! would have shown it); otherwise the transaction is re-run on the committed
//! prefix. The committer does nothing else per transaction, so it stays right
//! behind the workers; receipts and the change set are then assembled on all
//! threads. The fee vault is credited in block order at assembly, outside the
//! EVM, so it is no conflict; a transaction that observes the vault makes the
//! whole block fall back to the sequential executor, as does a block whose gas
//! limits could overflow the block gas limit. See `docs/parallel.md`.

mod access;
mod assemble;
mod engine;
pub mod fixtures;
mod handler;
mod pool;
mod versioned;

pub use access::{AccessSet, Location, ScheduleShape, conflict_groups, schedule_shape};

use alloy_consensus::{Transaction as _, TxEnvelope, transaction::Recovered};
use rollup_core::{
    chain::ChainConfig,
    executor::{BlockInput, BlockOutcome, ExecError, execute_block, execute_block_after},
    state::StateReader,
};
use serde::{Deserialize, Serialize};

/// Which executor builds blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The reference executor: one transaction after the other.
    Sequential,
    /// Speculative parallel execution with in-order validation.
    #[default]
    Parallel,
}

/// Settings of the parallel engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParallelConfig {
    /// Threads, the committer included (1: no speculation).
    pub threads: usize,
    /// Blocks with fewer transactions run sequentially (thread start-up costs
    /// more than it saves on tiny blocks).
    pub min_txs: usize,
    /// Testing aid: the committer starts only once workers have speculated
    /// every transaction, so that every validation path is exercised.
    pub speculate_all_first: bool,
}

impl Default for ParallelConfig {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            min_txs: 8,
            speculate_all_first: false,
        }
    }
}

/// Why a block ran sequentially.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FallbackReason {
    /// Too few transactions to be worth threads.
    SmallBlock,
    /// The gas limits add up to more than the block gas limit, so whether a
    /// transaction fits depends on the gas its predecessors used.
    GasLimitsExceedBlock,
    /// A transaction read or wrote the fee vault, whose balance depends on
    /// every earlier transaction's fee.
    FeeVaultAccessed,
    /// Two thirds or more of the early speculative results were wasted: the
    /// block is made of long dependency chains (one hot account, one
    /// counter, a few pools), which the sequential executor runs faster than
    /// the engine's bookkeeping.
    MostlyConflicting,
}

/// What the engine did with a block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParallelStats {
    /// Transactions run speculatively by worker threads.
    pub speculated: usize,
    /// Speculative results committed as they were.
    pub reused: usize,
    /// Transactions re-run after their speculative result was invalidated.
    pub reexecuted: usize,
    /// Speculative runs abandoned because they read a hot location (one
    /// whose earlier reads went stale); the committer ran them instead.
    pub deferred: usize,
    /// Transactions the committer reached before any worker and ran itself.
    pub direct: usize,
    /// Set when the block (its rest after the committed prefix) was executed sequentially
    /// instead.
    pub fallback: Option<FallbackReason>,
    /// Transactions the engine had committed when it fell back, which the sequential
    /// executor continued after rather than run again.
    pub fallback_prefix: usize,
    /// Time from the start of the block to the last transaction committed
    /// (speculation and the in-order commit, which overlap).
    pub run_phase: std::time::Duration,
    /// Time spent assembling receipts and the change set after the commit.
    pub assemble_phase: std::time::Duration,
}

/// Executes a block in parallel; same result as `rollup_core::executor::execute_block`.
pub fn execute_block_parallel<R: StateReader>(
    pre: &R,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: Vec<Recovered<TxEnvelope>>,
    config: &ParallelConfig,
) -> Result<(BlockOutcome, ParallelStats), ExecError> {
    execute_observed(pre, chain, block, txs, config, None)
}

/// As `execute_block_parallel`, also returning every transaction's read and
/// write sets in block order (empty when the block fell back to sequential).
pub fn execute_block_parallel_with_access<R: StateReader>(
    pre: &R,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: Vec<Recovered<TxEnvelope>>,
    config: &ParallelConfig,
) -> Result<(BlockOutcome, ParallelStats, Vec<AccessSet>), ExecError> {
    let mut access = Vec::new();
    let (outcome, stats) = execute_observed(pre, chain, block, txs, config, Some(&mut access))?;
    if stats.fallback.is_some() {
        access.clear();
    }
    Ok((outcome, stats, access))
}

fn execute_observed<R: StateReader>(
    pre: &R,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: Vec<Recovered<TxEnvelope>>,
    config: &ParallelConfig,
    access: Option<&mut Vec<AccessSet>>,
) -> Result<(BlockOutcome, ParallelStats), ExecError> {
    let mut stats = ParallelStats::default();
    let gas_limits: u128 = txs
        .iter()
        .map(|tx| u128::from(tx.inner().gas_limit()))
        .sum();
    let reason = if txs.len() < config.min_txs {
        Some(FallbackReason::SmallBlock)
    } else if gas_limits > u128::from(block.gas_limit) {
        Some(FallbackReason::GasLimitsExceedBlock)
    } else {
        None
    };
    let fallback = match reason {
        Some(reason) => engine::Fallback {
            reason,
            prefix: BlockOutcome::default(),
            rest: txs,
        },
        None => match engine::execute(pre, chain, block, txs, config, &mut stats, access)? {
            Ok(outcome) => return Ok((outcome, stats)),
            Err(fallback) => fallback,
        },
    };
    stats.fallback = Some(fallback.reason);
    stats.fallback_prefix = fallback.prefix.executed.len() + fallback.prefix.rejected.len();
    let outcome = execute_block_after(pre, chain, block, fallback.rest, fallback.prefix)?;
    Ok((outcome, stats))
}

/// Runs `work` on the engine's thread pool for `threads` threads, so that
/// rayon-parallel work inside it (the state root) uses those threads.
pub fn on_engine_threads<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    pool::pool(threads).install(work)
}

/// Executes a block with the chosen engine.
pub fn execute_with<R: StateReader>(
    engine: Engine,
    pre: &R,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: Vec<Recovered<TxEnvelope>>,
    config: &ParallelConfig,
) -> Result<BlockOutcome, ExecError> {
    match engine {
        Engine::Sequential => execute_block(pre, chain, block, txs),
        Engine::Parallel => {
            let (outcome, stats) = execute_block_parallel(pre, chain, block, txs, config)?;
            tracing::debug!(block = block.number, ?stats, "parallel execution");
            Ok(outcome)
        }
    }
}
