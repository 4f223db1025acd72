//! The block's multi-version state: the pre-state plus what every committed
//! transaction wrote, readable by speculating workers while the committer
//! extends it, with the version of every value a run read recorded so that
//! the committer can tell whether the run saw exactly the sequential state.
//!
//! The committer publishes each committed transaction's written locations as
//! an append-only log; every thread's [`View`] replays the log into its own
//! map of last writers before a run. Lookups are then thread-local (no lock,
//! no cache line shared with the committer), and the committer's own view is
//! what it validates against.

use super::{access::Location, handler::Digest};
use alloy_primitives::{
    Address, B256, U256,
    map::{DefaultHashBuilder, HashMap, HashSet},
};
use dashmap::DashMap;
use parking_lot::Mutex;
use revm::{Database, bytecode::Bytecode, primitives::KECCAK_EMPTY, state::AccountInfo};
use rollup_core::{
    error::StateError,
    state::{AccountEffect, AccountState, StateReader, TxEffects, account_info},
};
use std::sync::{
    OnceLock,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};

/// Which transaction of the block last wrote a location (`None`: nobody, the
/// value is the pre-state's).
pub(crate) type Version = Option<u32>;

/// One value a run observed and the version it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Read {
    pub(crate) location: Location,
    pub(crate) version: Version,
}

/// The committed prefix of the block, shared by the committer and the workers.
///
/// Only the committer writes, in block order: the run into `runs`, its new
/// code, its written locations into `writes`, then the prefix length into
/// `upto` (release). A view that replays the log up to `upto` (acquire)
/// therefore finds every writer's run and code.
pub(crate) struct Committed<'a, R> {
    pre: &'a R,
    codes: DashMap<B256, Bytecode, DefaultHashBuilder>,
    runs: Vec<OnceLock<Digest>>,
    /// Each committed transaction's written locations (unset for blob
    /// transactions, which never run).
    writes: Vec<OnceLock<Vec<Location>>>,
    /// How many transactions of the block are committed (or skipped).
    upto: AtomicUsize,
    /// Locations whose speculative reads turned out stale (a hot account or
    /// slot that many transactions write), and a counter bumped on every
    /// addition so that views refresh their copy only when it changes.
    hot: Mutex<Vec<Location>>,
    hot_generation: AtomicU64,
}

impl<'a, R: StateReader> Committed<'a, R> {
    /// An empty committed prefix over `pre` for a block of `txs` transactions.
    pub(crate) fn new(pre: &'a R, txs: usize) -> Self {
        Self {
            pre,
            codes: DashMap::with_hasher(DefaultHashBuilder::default()),
            runs: (0..txs).map(|_| OnceLock::new()).collect(),
            writes: (0..txs).map(|_| OnceLock::new()).collect(),
            upto: AtomicUsize::new(0),
            hot: Mutex::new(Vec::new()),
            hot_generation: AtomicU64::new(0),
        }
    }

    /// Marks `location` hot: later speculative runs that read it give up.
    pub(crate) fn mark_hot(&self, location: Location) {
        let mut hot = self.hot.lock();
        if !hot.contains(&location) {
            hot.push(location);
            self.hot_generation.fetch_add(1, Ordering::Release);
        }
    }

    /// Appends transaction `index`'s run and its writes to the committed
    /// prefix (every transaction before it is committed or never runs).
    pub(crate) fn commit(&self, index: usize, run: Digest, writes: Vec<Location>) {
        for effect in &run.effects.accounts {
            if let Some((hash, code)) = &effect.code
                && writes.contains(&Location::Account(effect.address))
            {
                self.codes
                    .entry(*hash)
                    .or_insert_with(|| Bytecode::new_raw(code.clone()));
            }
        }
        if self.runs[index].set(run).is_err() || self.writes[index].set(writes).is_err() {
            unreachable!("transaction {index} committed twice");
        }
        self.upto.store(index + 1, Ordering::Release);
    }

    /// The committed runs in block order (`None` for transactions that never
    /// ran: blob transactions).
    pub(crate) fn into_runs(self) -> Vec<Option<Digest>> {
        self.runs.into_iter().map(OnceLock::into_inner).collect()
    }

    /// What committed transaction `version` did to `address`.
    fn effect(&self, version: u32, address: &Address) -> Option<&AccountEffect> {
        self.runs[version as usize]
            .get()
            .expect("a location's writer is committed before it is published")
            .effects
            .account(address)
    }

    /// A code by hash: the pre-state's or one a committed transaction deployed.
    fn code(&self, code_hash: B256) -> Result<Bytecode, StateError> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        if let Some(code) = self.codes.get(&code_hash) {
            return Ok(code.clone());
        }
        self.pre
            .code(code_hash)?
            .ok_or(StateError::MissingCode(code_hash))
    }
}

/// One thread's revm database over the committed prefix: it answers from the
/// latest committed values and records what it read for validation.
pub(crate) struct View<'c, 'a, R> {
    committed: &'c Committed<'a, R>,
    /// Every location read by the current run, with its version.
    pub(crate) reads: Vec<Read>,
    /// Accounts as the current run found them (to tell which it changed).
    pub(crate) found: Vec<(Address, Option<AccountState>)>,
    /// Speculating: a read of a hot location abandons the run.
    speculating: bool,
    /// This view's copy of the hot locations, and the generation it is of.
    hot: HashSet<Location>,
    hot_generation: u64,
    /// The last committed writer of every location written so far, replayed
    /// from the committer's log up to transaction `seen`.
    writer: HashMap<Location, u32>,
    seen: usize,
}

impl<'c, 'a, R: StateReader> View<'c, 'a, R> {
    pub(crate) fn new(committed: &'c Committed<'a, R>) -> Self {
        Self {
            committed,
            reads: Vec::new(),
            found: Vec::new(),
            speculating: false,
            hot: HashSet::default(),
            hot_generation: 0,
            // About two written locations per transaction: sized once, not
            // rehashed as the block commits.
            writer: HashMap::with_capacity_and_hasher(committed.runs.len() * 2, Default::default()),
            seen: 0,
        }
    }

    /// Replays the committer's log: afterwards this view answers from the
    /// whole committed prefix as it is now.
    fn catch_up(&mut self) {
        let upto = self.committed.upto.load(Ordering::Acquire);
        for index in self.seen..upto {
            // Unset: a blob transaction, which never runs.
            if let Some(writes) = self.committed.writes[index].get() {
                let version =
                    u32::try_from(index).expect("blocks hold fewer than 2^32 transactions");
                for location in writes {
                    self.writer.insert(*location, version);
                }
            }
        }
        // `upto` only grows: this view has now seen all of it.
        self.seen = upto;
    }

    /// The version of `location` in the committed prefix this view has seen.
    fn version(&self, location: &Location) -> Version {
        self.writer.get(location).copied()
    }

    /// The first location in `reads` whose committed version changed since it
    /// was read (`None`: the run saw exactly the committed state), judged
    /// against the whole committed prefix.
    pub(crate) fn first_stale(&mut self, reads: &[Read]) -> Option<Location> {
        self.catch_up();
        reads
            .iter()
            .find(|r| self.version(&r.location) != r.version)
            .map(|r| r.location)
    }

    fn account(&self, address: Address) -> Result<(Version, Option<AccountState>), StateError> {
        let version = self.version(&Location::Account(address));
        let account = match version {
            None => self.committed.pre.account(address)?,
            Some(w) => self
                .committed
                .effect(w, &address)
                .and_then(|effect| effect.post),
        };
        Ok((version, account))
    }

    fn slot(&self, address: Address, slot: U256) -> Result<(Version, Version, U256), StateError> {
        let written = self.version(&Location::Slot(address, slot));
        let wiped = self.version(&Location::Storage(address));
        let value = match (written, wiped) {
            (_, Some(wipe)) if written.is_none_or(|w| wipe > w) => U256::ZERO,
            (Some(w), _) => self
                .committed
                .effect(w, &address)
                .and_then(|effect| effect.slots.iter().find(|(s, _)| *s == slot))
                .map_or(U256::ZERO, |(_, value)| *value),
            (None, _) => self.committed.pre.storage(address, slot)?,
        };
        Ok((written, wiped, value))
    }

    /// Forgets the previous run's reads and prepares the next run: a
    /// speculative one (abandoned when it reads a hot location) or an exact
    /// one (on the committed prefix, by the committer).
    pub(crate) fn start(&mut self, speculating: bool) {
        self.catch_up();
        self.reads.clear();
        self.found.clear();
        self.speculating = speculating;
        let generation = self.committed.hot_generation.load(Ordering::Acquire);
        if speculating && generation != self.hot_generation {
            self.hot = self.committed.hot.lock().iter().copied().collect();
            self.hot_generation = generation;
        }
    }

    /// Records a read, or abandons a speculative run on a hot location.
    fn read(&mut self, location: Location, version: Version) -> Result<(), StateError> {
        if self.speculating && !self.hot.is_empty() && self.hot.contains(&location) {
            return Err(StateError::Deferred);
        }
        self.reads.push(Read { location, version });
        Ok(())
    }

    /// The locations the run changed, judged against what it read, from its
    /// digested effects (which apply `StateChanges::apply_evm_state`'s rules).
    ///
    /// An account is written when its fields changed, when its storage was
    /// wiped (created) or when it was deleted (self-destructed, or touched
    /// while empty); its storage as a whole is written when wiped; a slot
    /// when the effects list it.
    pub(crate) fn writes_of(&self, effects: &TxEffects) -> Vec<Location> {
        let mut writes = Vec::new();
        for effect in &effects.accounts {
            let address = effect.address;
            let found = self
                .found
                .iter()
                .find(|(a, _)| *a == address)
                .map(|(_, before)| *before);
            if effect.wiped || effect.post.is_none() || found != Some(effect.post) {
                writes.push(Location::Account(address));
            }
            if effect.wiped {
                writes.push(Location::Storage(address));
            }
            writes.extend(
                effect
                    .slots
                    .iter()
                    .map(|(slot, _)| Location::Slot(address, *slot)),
            );
        }
        writes
    }
}

impl<R: StateReader> Database for View<'_, '_, R> {
    type Error = StateError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        let (version, account) = self.account(address)?;
        self.read(Location::Account(address), version)?;
        self.found.push((address, account));
        let Some(account) = account else {
            return Ok(None);
        };
        let code = if account.code_hash == KECCAK_EMPTY {
            None
        } else {
            Some(self.committed.code(account.code_hash)?)
        };
        Ok(Some(account_info(account, code)))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, StateError> {
        self.committed.code(code_hash)
    }

    fn storage(&mut self, address: Address, slot: U256) -> Result<U256, StateError> {
        let (written, wiped, value) = self.slot(address, slot)?;
        self.read(Location::Slot(address, slot), written)?;
        self.read(Location::Storage(address), wiped)?;
        Ok(value)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, StateError> {
        self.committed.pre.block_hash(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::handler::DeferredRun;
    use revm::{
        context::result::{ExecutionResult, Output, SuccessReason},
        primitives::Bytes,
        state::{Account, EvmState, EvmStorageSlot, TransactionId},
    };
    use rollup_core::state::WorldState;

    const A: Address = Address::with_last_byte(0xaa);

    fn pre() -> WorldState {
        let mut state = WorldState::default();
        state.insert_account(A, AccountState::with_balance(U256::from(100)), None);
        state.set_storage(A, U256::from(1), U256::from(11));
        state.set_storage(A, U256::from(2), U256::from(22));
        state
    }

    /// A committed run that leaves `A` with `balance` and the given slots
    /// (changed from `before`), created or self-destructed as asked.
    fn run(balance: u64, slots: &[(u64, u64, u64)], created: bool, destroyed: bool) -> DeferredRun {
        let mut account = Account::from(AccountInfo {
            balance: U256::from(balance),
            nonce: u64::from(created),
            ..Default::default()
        })
        .with_storage(slots.iter().map(|&(slot, before, after)| {
            (
                U256::from(slot),
                EvmStorageSlot::new_changed(
                    U256::from(before),
                    U256::from(after),
                    TransactionId::ZERO,
                ),
            )
        }));
        account.mark_touch();
        if created {
            account.mark_created();
        }
        if destroyed {
            account.mark_selfdestruct();
        }
        let mut state = EvmState::default();
        state.insert(A, account);
        DeferredRun::Included {
            result: ExecutionResult::Success {
                reason: SuccessReason::Stop,
                gas: Default::default(),
                logs: vec![],
                output: Output::Call(Bytes::new()),
            },
            state,
            reward: 0,
            bloom: Box::default(),
        }
    }

    /// Commits `run` as transaction `index`, with the writes its view computes.
    fn commit(committed: &Committed<'_, WorldState>, index: usize, run: DeferredRun) {
        let mut view = View::new(committed);
        view.start(false);
        view.basic(A).expect("reads");
        let run = run.digest(alloy_consensus::TxType::Eip1559);
        let writes = view.writes_of(&run.effects);
        committed.commit(index, run, writes);
    }

    fn slot(view: &mut View<'_, '_, WorldState>, slot: u64) -> U256 {
        view.storage(A, U256::from(slot)).expect("reads")
    }

    #[test]
    fn reads_see_the_latest_committed_values_with_their_versions() {
        let pre = pre();
        let committed = Committed::new(&pre, 4);
        let mut view = View::new(&committed);
        view.start(true);
        assert_eq!(slot(&mut view, 1), U256::from(11));
        let before = view.reads.clone();
        assert_eq!(view.first_stale(&before), None);

        commit(&committed, 0, run(90, &[(1, 11, 12)], false, false));
        view.start(true);
        assert_eq!(view.basic(A).unwrap().unwrap().balance, U256::from(90));
        assert_eq!(slot(&mut view, 1), U256::from(12));
        assert_eq!(slot(&mut view, 2), U256::from(22));
        assert_eq!(view.reads[0].version, Some(0));
        // The read of slot 1 before the commit is stale now; this one is not.
        assert_eq!(
            view.first_stale(&before),
            Some(Location::Slot(A, U256::from(1)))
        );
        let reads = view.reads.clone();
        assert_eq!(view.first_stale(&reads), None);
    }

    #[test]
    fn destruction_and_recreation_wipe_earlier_slots() {
        let pre = pre();
        let committed = Committed::new(&pre, 4);
        commit(&committed, 0, run(100, &[(1, 11, 13)], false, false));
        commit(&committed, 1, run(0, &[], false, true));
        let mut view = View::new(&committed);
        view.start(true);
        assert_eq!(view.basic(A).unwrap(), None);
        assert_eq!(slot(&mut view, 1), U256::ZERO);
        assert_eq!(slot(&mut view, 2), U256::ZERO);
        // Re-created with one slot written in the same transaction.
        commit(&committed, 2, run(5, &[(2, 0, 7)], true, false));
        view.start(true);
        assert_eq!(view.basic(A).unwrap().unwrap().nonce, 1);
        assert_eq!(slot(&mut view, 1), U256::ZERO);
        assert_eq!(slot(&mut view, 2), U256::from(7));
    }

    #[test]
    fn unchanged_touched_accounts_are_not_writes_but_empty_ones_are() {
        let pre = pre();
        let committed = Committed::new(&pre, 2);
        let mut view = View::new(&committed);
        view.start(false);
        view.basic(A).unwrap();
        let effects = |run: DeferredRun| run.digest(alloy_consensus::TxType::Eip1559).effects;
        assert!(
            view.writes_of(&effects(run(100, &[], false, false)))
                .is_empty()
        );
        assert_eq!(
            view.writes_of(&effects(run(0, &[], false, false))),
            vec![Location::Account(A), Location::Storage(A)]
        );
    }

    #[test]
    fn speculative_reads_of_hot_locations_are_deferred() {
        let pre = pre();
        let committed = Committed::new(&pre, 1);
        committed.mark_hot(Location::Slot(A, U256::from(2)));
        let mut view = View::new(&committed);
        view.start(true);
        assert_eq!(slot(&mut view, 1), U256::from(11));
        assert!(matches!(
            view.storage(A, U256::from(2)),
            Err(StateError::Deferred)
        ));
        // The committer's exact runs read it.
        view.start(false);
        assert_eq!(slot(&mut view, 2), U256::from(22));
    }
}
