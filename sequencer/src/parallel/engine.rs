//! The scheduler: speculative execution of every transaction against the
//! pre-state on worker threads, and an in-order commit that keeps a
//! speculative result only when nothing it read was written before it, and
//! otherwise re-runs the transaction after its predecessors.

use super::{
    FallbackReason, ParallelConfig, ParallelStats,
    access::{AccessSet, Location, reads_none_of, reads_of, writes_of},
    handler::{DeferredRun, EngineEvm, SpeculativeEvm, run_deferred},
};
use alloy_consensus::{TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, U256, map::HashSet};
use parking_lot::Mutex;
use revm::{
    DatabaseCommit,
    context::TxEnv,
    context_interface::ContextTr,
    database::AccountState as DbAccountState,
    database_interface::WrapDatabaseRef,
    state::{Account, AccountInfo},
};
use rollup_core::{
    chain::ChainConfig,
    error::TxRejection,
    executor::{BlockInput, BlockOutcome, ExecError, build_evm, build_evm_on, tx_env},
    state::{AccountState, RevmDb, StateReader},
};
use std::{
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::Duration,
};

/// One transaction's slot in the shared speculation table.
struct Speculation {
    /// Set by whoever runs the transaction first (a worker or the committer).
    claimed: AtomicBool,
    /// A worker's result against the pre-state.
    result: Mutex<Option<Result<DeferredRun, ExecError>>>,
    /// Set once `result` holds the worker's answer.
    ready: AtomicBool,
}

/// A block handed back for sequential execution, and why.
pub(crate) type Fallback = (FallbackReason, Vec<Recovered<TxEnvelope>>);

/// Why the committer gave up on the parallel schedule.
enum Abort {
    Fallback(FallbackReason),
    Error(ExecError),
}

/// Runs `txs` speculatively in parallel and commits them in order.
/// Hands the transactions back (`Ok(Err(_))`) when the block must be
/// executed sequentially instead.
pub(crate) fn execute<R: StateReader>(
    pre: &R,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: Vec<Recovered<TxEnvelope>>,
    config: &ParallelConfig,
    stats: &mut ParallelStats,
    access: Option<&mut Vec<AccessSet>>,
) -> Result<Result<BlockOutcome, Fallback>, ExecError> {
    let vault = block.beneficiary;
    let envs: Vec<TxEnv> = txs.iter().map(tx_env).collect();
    let table: Vec<Speculation> = txs
        .iter()
        .map(|tx| Speculation {
            // Blob transactions are refused before they run: nobody speculates on them.
            claimed: AtomicBool::new(tx.inner().is_eip4844()),
            result: Mutex::new(None),
            ready: AtomicBool::new(false),
        })
        .collect();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let speculated = AtomicUsize::new(0);

    let worker = || {
        let mut evm = speculative_evm(pre, chain, block);
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= table.len() {
                break;
            }
            if table[i].claimed.swap(true, Ordering::AcqRel) {
                continue;
            }
            // A panic must not leave the committer waiting for this slot: it
            // becomes an error, and the committer re-runs the transaction itself.
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_deferred(&mut evm, envs[i].clone())
            }))
            .unwrap_or_else(|_| {
                // Nothing of the interrupted run may leak into the next one.
                evm = speculative_evm(pre, chain, block);
                Err(ExecError::Evm("speculative run panicked".into()))
            });
            speculated.fetch_add(1, Ordering::Relaxed);
            *table[i].result.lock() = Some(run);
            table[i].ready.store(true, Ordering::Release);
        }
    };

    let committed = std::thread::scope(|scope| {
        for _ in 1..config.threads.max(1) {
            scope.spawn(worker);
        }
        if config.speculate_all_first && config.threads > 1 {
            for (entry, tx) in table.iter().zip(&txs) {
                while !tx.inner().is_eip4844() && !entry.ready.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
            }
        }
        let out = commit_in_order(pre, chain, block, &txs, &envs, &table, vault, stats, access);
        stop.store(true, Ordering::Relaxed);
        out
    });
    stats.speculated = speculated.load(Ordering::Relaxed);
    match committed {
        Ok(outcome) => Ok(Ok(outcome)),
        Err(Abort::Fallback(reason)) => Ok(Err((reason, txs))),
        Err(Abort::Error(e)) => Err(e),
    }
}

/// An EVM that reads the pre-state directly and never commits.
fn speculative_evm<'a, R: StateReader>(
    pre: &'a R,
    chain: &ChainConfig,
    block: &BlockInput,
) -> SpeculativeEvm<&'a R> {
    build_evm_on(WrapDatabaseRef(RevmDb(pre)), chain, block, |_| {})
}

/// The committer: walks the block in order over its own view of the state,
/// taking each transaction's speculative result when it is still valid.
#[allow(clippy::too_many_arguments)]
fn commit_in_order<R: StateReader>(
    pre: &R,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: &[Recovered<TxEnvelope>],
    envs: &[TxEnv],
    table: &[Speculation],
    vault: Address,
    stats: &mut ParallelStats,
    mut access: Option<&mut Vec<AccessSet>>,
) -> Result<BlockOutcome, Abort> {
    let mut evm: EngineEvm<&R> = build_evm(pre, chain, block, |_| {});
    let mut vault = VaultCredit::new(
        vault,
        pre.account(vault).map_err(|e| Abort::Error(e.into()))?,
    );
    let mut outcome = BlockOutcome::default();
    // Locations changed by the committed prefix of the block.
    let mut written: HashSet<Location> = HashSet::default();
    for (i, tx) in txs.iter().enumerate() {
        if tx.inner().is_eip4844() {
            outcome.reject(tx, TxRejection::BlobsUnsupported);
            continue;
        }
        let run = if !table[i].claimed.swap(true, Ordering::AcqRel) {
            stats.direct += 1;
            run_deferred(&mut evm, envs[i].clone()).map_err(Abort::Error)?
        } else {
            let mut backoff = 0u32;
            while !table[i].ready.load(Ordering::Acquire) {
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
            // The sender is read by validation even when revm rejects the
            // transaction before loading anything else.
            let sender = Location::Account(tx.signer());
            match speculative {
                Ok(run) if !written.contains(&sender) && reads_none_of(run.state(), &written) => {
                    stats.reused += 1;
                    run
                }
                _ => {
                    stats.reexecuted += 1;
                    run_deferred(&mut evm, envs[i].clone()).map_err(Abort::Error)?
                }
            }
        };
        // The beneficiary is credited at the end of every transaction, so a
        // transaction that observes it depends on all its predecessors.
        if run.state().contains_key(&vault.address) || tx.signer() == vault.address {
            return Err(Abort::Fallback(FallbackReason::FeeVaultAccessed));
        }
        let writes = writes_of(run.state(), |address| current_account(&evm, pre, address));
        written.extend(writes.iter().copied());
        if let Some(access) = access.as_deref_mut() {
            let mut reads: Vec<Location> = reads_of(run.state()).collect();
            reads.push(Location::Account(tx.signer()));
            access.push(AccessSet { reads, writes });
        }
        match run {
            DeferredRun::Rejected { rejection, .. } => outcome.reject(tx, rejection),
            DeferredRun::Included {
                result,
                mut state,
                reward,
                bloom,
            } => {
                vault.credit(reward, &mut state);
                outcome.include_with_bloom(tx.clone(), &result, &state, *bloom);
                state.remove(&vault.address);
                evm.ctx.db_mut().commit(state);
            }
        }
    }
    Ok(outcome)
}

/// An account as the committer's view holds it now.
fn current_account<R: StateReader>(
    evm: &EngineEvm<&R>,
    pre: &R,
    address: Address,
) -> Option<AccountState> {
    match evm.ctx.db().cache.accounts.get(&address) {
        Some(db_account) => match db_account.account_state {
            DbAccountState::NotExisting => None,
            _ => Some(rollup_core::state::account_state_of(&db_account.info)),
        },
        // Not loaded by the committer yet: unchanged since the pre-state. A
        // read error here would have failed the run that loaded it.
        None => pre.account(address).ok().flatten(),
    }
}

/// The fee vault's account as sequential execution would leave it after each
/// transaction: credited with the transaction's priority fee and touched.
struct VaultCredit {
    address: Address,
    before: AccountState,
    balance: U256,
}

impl VaultCredit {
    fn new(address: Address, before: Option<AccountState>) -> Self {
        let before = before.unwrap_or(AccountState::with_balance(U256::ZERO));
        Self {
            address,
            before,
            balance: before.balance,
        }
    }

    /// Credits `reward` and records the touched vault in `state`, which the
    /// run itself never loaded (that would have made the block fall back).
    fn credit(&mut self, reward: u128, state: &mut revm::state::EvmState) {
        // As revm's `incr_balance`: an overflowing credit changes nothing.
        if let Some(credited) = self.balance.checked_add(U256::from(reward)) {
            self.balance = credited;
        }
        let mut account = Account::from(AccountInfo {
            balance: self.balance,
            nonce: self.before.nonce,
            code_hash: self.before.code_hash,
            ..Default::default()
        });
        account.mark_touch();
        state.insert(self.address, account);
    }
}
