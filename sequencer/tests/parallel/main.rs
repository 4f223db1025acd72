//! The parallel engine against the sequential reference executor: one test
//! per hazard, and property tests over random blocks.

mod equivalence;
mod hazards;

use alloy_consensus::{TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, B256};
use rollup_core::{
    chain::ChainConfig,
    executor::{BlockInput, BlockOutcome, execute_block},
    state::WorldState,
};
use rollup_sequencer::parallel::{
    FallbackReason, ParallelConfig, ParallelStats, execute_block_parallel,
    fixtures::{TxFactory, account},
};

/// The chain every test runs.
pub(crate) fn chain() -> ChainConfig {
    ChainConfig::default()
}

/// A block over `chain()` with a fee vault that no test account uses.
pub(crate) fn block() -> BlockInput {
    BlockInput {
        number: 7,
        timestamp: 1_700_000_000,
        beneficiary: chain().fee_vault,
        gas_limit: chain().gas_limit,
        base_fee: 1_000_000_000,
        prevrandao: B256::repeat_byte(0x11),
    }
}

/// Transactions paying 2 gwei max, 1 gwei tip.
pub(crate) fn factory() -> TxFactory {
    TxFactory {
        chain_id: chain().chain_id,
        max_fee: 2_000_000_000,
        tip: 1_000_000_000,
    }
}

/// Test account `i`.
pub(crate) fn eoa(i: u64) -> Address {
    account(i)
}

/// Everything observable about a block, in comparable form.
fn summary(outcome: &BlockOutcome) -> impl PartialEq + std::fmt::Debug {
    (
        outcome
            .executed
            .iter()
            .map(|e| {
                (
                    *e.tx.inner().tx_hash(),
                    e.receipt.clone(),
                    e.gas_used,
                    e.contract_address,
                )
            })
            .collect::<Vec<_>>(),
        outcome.rejected.clone(),
        outcome.changes.clone(),
        outcome.gas_used,
    )
}

/// Runs `txs` both ways on `threads` threads and asserts identical outcomes;
/// returns the parallel run's statistics and the sequential outcome.
pub(crate) fn assert_equivalent(
    pre: &WorldState,
    txs: &[Recovered<TxEnvelope>],
    threads: usize,
) -> (ParallelStats, BlockOutcome) {
    let block = block();
    let sequential = execute_block(pre, &chain(), &block, txs.to_vec()).expect("sequential");
    let mut last = None;
    // First with every transaction speculated before the commit starts (every
    // validation path runs), then as the node runs it (committer racing workers).
    for speculate_all_first in [true, false] {
        let config = ParallelConfig {
            threads,
            min_txs: 0,
            speculate_all_first,
        };
        let (parallel, stats) =
            execute_block_parallel(pre, &chain(), &block, txs.to_vec(), &config).expect("parallel");
        assert_eq!(
            summary(&parallel),
            summary(&sequential),
            "parallel ({threads} threads, {stats:?}) differs from sequential"
        );
        last.get_or_insert(stats);
    }
    (last.expect("ran"), sequential)
}

/// As `assert_equivalent`, also requiring that the engine did not fall back.
pub(crate) fn assert_parallel(
    pre: &WorldState,
    txs: &[Recovered<TxEnvelope>],
) -> (ParallelStats, BlockOutcome) {
    let (stats, outcome) = assert_equivalent(pre, txs, 2);
    assert_eq!(stats.fallback, None::<FallbackReason>, "{stats:?}");
    (stats, outcome)
}
