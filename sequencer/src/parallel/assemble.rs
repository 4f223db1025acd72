//! Block assembly after the in-order commit: the block's change set folded
//! on several threads (one shard of accounts and slots each), the fee vault's
//! credits in block order, and the receipts (built where each transaction ran)
//! given their cumulative gas: exactly what the sequential executor builds one
//! transaction at a time.

use super::handler::{Digest, RunOutcome};
use alloy_consensus::{TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, U256};
use rayon::{ThreadPool, prelude::*};
use rollup_core::{
    error::TxRejection,
    executor::{BlockOutcome, ExecutedTx},
    state::{AccountState, StateChanges},
};

/// Builds the block's outcome from its committed runs (`None`: a blob
/// transaction, refused before it ran).
pub(crate) fn assemble(
    txs: Vec<Recovered<TxEnvelope>>,
    runs: Vec<Option<Digest>>,
    vault: Address,
    vault_before: Option<AccountState>,
    pool: &ThreadPool,
    threads: usize,
) -> BlockOutcome {
    let mut outcome = BlockOutcome::default();
    let mut vault = VaultCredit::new(vault, vault_before);
    // The change set and the receipts are built at the same time from
    // separate halves of the runs.
    let mut effects = Vec::with_capacity(runs.len());
    let mut outcomes = Vec::with_capacity(runs.len());
    for run in runs {
        match run {
            Some(Digest {
                outcome,
                effects: changed,
            }) => {
                effects.push(changed);
                outcomes.push(Some(outcome));
            }
            None => outcomes.push(None),
        }
    }
    // Cumulative gas of every included transaction, by index.
    let mut cumulative = vec![None; outcomes.len()];
    let mut included = 0;
    for (i, (tx, run)) in txs.iter().zip(&outcomes).enumerate() {
        match run {
            None => outcome.reject(tx, TxRejection::BlobsUnsupported),
            Some(RunOutcome::Rejected(rejection)) => outcome.reject(tx, rejection.clone()),
            Some(RunOutcome::Included {
                gas_used, reward, ..
            }) => {
                outcome.gas_used += gas_used;
                vault.credit(*reward);
                cumulative[i] = Some(outcome.gas_used);
                included += 1;
            }
        }
    }
    let shards = threads.max(1);
    let (parts, executed) = pool.install(|| {
        rayon::join(
            // The change set: one shard of accounts and slots per thread,
            // each folding every run in block order.
            || {
                (0..shards)
                    .into_par_iter()
                    .map(|shard| {
                        let mut changes = StateChanges::default();
                        for changed in &effects {
                            changes.apply_effects_shard(changed, shard, shards);
                        }
                        changes
                    })
                    .collect::<Vec<_>>()
            },
            || receipts(txs, outcomes, cumulative, included),
        )
    });
    for part in parts {
        outcome.changes.append_shard(part);
    }
    outcome.executed = executed;
    if !outcome.executed.is_empty() {
        vault.apply(&mut outcome.changes);
    }
    outcome
}

/// The included transactions' records: receipts were built where each
/// transaction ran, only their cumulative gas is set here. Sized up front: a
/// growing vector of 10,000 receipts would be copied over and over.
fn receipts(
    txs: Vec<Recovered<TxEnvelope>>,
    outcomes: Vec<Option<RunOutcome>>,
    cumulative: Vec<Option<u64>>,
    included: usize,
) -> Vec<ExecutedTx> {
    let mut executed = Vec::with_capacity(included);
    for ((run, tx), cumulative) in outcomes.into_iter().zip(txs).zip(cumulative) {
        if let (
            Some(RunOutcome::Included {
                gas_used,
                mut receipt,
                ..
            }),
            Some(cumulative),
        ) = (run, cumulative)
        {
            if let Some(receipt) = receipt.as_receipt_with_bloom_mut() {
                receipt.receipt.cumulative_gas_used = cumulative;
            }
            executed.push(ExecutedTx::with_receipt(tx, *receipt, gas_used));
        }
    }
    executed
}

/// The fee vault as sequential execution leaves it: credited with each
/// included transaction's priority fee and touched by it, in block order (no
/// transaction of a parallel block reads or writes it otherwise).
struct VaultCredit {
    address: Address,
    before: AccountState,
    balance: U256,
    /// Touched while empty at some point: EIP-161 deleted it (and its storage).
    cleared: bool,
}

impl VaultCredit {
    fn new(address: Address, before: Option<AccountState>) -> Self {
        let before = before.unwrap_or(AccountState::with_balance(U256::ZERO));
        Self {
            address,
            before,
            balance: before.balance,
            cleared: false,
        }
    }

    /// One included transaction's credit (as revm's `incr_balance`: an
    /// overflowing credit changes nothing), then the touch.
    fn credit(&mut self, reward: u128) {
        if let Some(credited) = self.balance.checked_add(U256::from(reward)) {
            self.balance = credited;
        }
        self.cleared |= self.post().is_empty();
    }

    fn post(&self) -> AccountState {
        AccountState {
            balance: self.balance,
            ..self.before
        }
    }

    /// Writes the vault's final state into the block's changes, as
    /// `StateChanges::apply_evm_state` would after the last credit.
    fn apply(&self, changes: &mut StateChanges) {
        if self.cleared {
            changes.wipe_storage(self.address);
        }
        let post = self.post();
        changes
            .accounts
            .insert(self.address, (!post.is_empty()).then_some(post));
    }
}
