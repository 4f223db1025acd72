//! World state: the accounts, storage and code a block executes against, the
//! `StateReader` seam every executor reads through, and the per-block change set.

use crate::error::StateError;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, map::HashMap};
use revm::{
    bytecode::Bytecode,
    primitives::KECCAK_EMPTY,
    state::{AccountInfo, EvmState},
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The consensus fields of an account (the storage root is derived, not stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// Transaction count (or creation count for contracts).
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Keccak of the account's code, `KECCAK_EMPTY` for none.
    pub code_hash: B256,
}

impl AccountState {
    /// An account with a balance and nothing else.
    pub fn with_balance(balance: U256) -> Self {
        Self {
            nonce: 0,
            balance,
            code_hash: KECCAK_EMPTY,
        }
    }

    /// EIP-161 emptiness: no nonce, no balance, no code.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == KECCAK_EMPTY
    }
}

/// Read access to a state at one point in the chain.
///
/// The sequencer's head state, a block under construction, a historical state
/// read from the store and the challenger's replay all implement it.
pub trait StateReader: Send + Sync {
    /// The account at `address`, `None` when it does not exist.
    fn account(&self, address: Address) -> Result<Option<AccountState>, StateError>;
    /// The value of a storage slot (zero when unset).
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError>;
    /// Code by its hash.
    fn code(&self, code_hash: B256) -> Result<Option<Bytecode>, StateError>;
    /// Hash of a recent block, for BLOCKHASH (zero when out of range).
    fn block_hash(&self, number: u64) -> Result<B256, StateError>;
}

impl<T: StateReader + ?Sized> StateReader for &T {
    fn account(&self, address: Address) -> Result<Option<AccountState>, StateError> {
        (**self).account(address)
    }
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        (**self).storage(address, slot)
    }
    fn code(&self, code_hash: B256) -> Result<Option<Bytecode>, StateError> {
        (**self).code(code_hash)
    }
    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        (**self).block_hash(number)
    }
}

/// What one block (or one transaction) changed.
///
/// Account entries hold the post-value (`None`: the account was deleted, by
/// SELFDESTRUCT or by EIP-161 clearing). Storage holds post-values for every
/// written slot (zero: cleared). `destroyed` lists accounts whose whole storage
/// was wiped before the writes in `storage` were applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChanges {
    /// Post-state of every changed account.
    pub accounts: BTreeMap<Address, Option<AccountState>>,
    /// Post-values of every written slot.
    pub storage: BTreeMap<Address, BTreeMap<U256, U256>>,
    /// Accounts whose storage was wiped (self-destructed or re-created).
    pub destroyed: BTreeSet<Address>,
    /// New code, by hash.
    pub codes: BTreeMap<B256, Bytes>,
}

impl StateChanges {
    /// Folds one transaction's revm output into this change set, with revm's
    /// commit rules plus EIP-161 clearing of touched empty accounts.
    pub fn apply_evm_state(&mut self, state: &EvmState) {
        self.apply_effects_shard(&TxEffects::from_evm_state(state), 0, 1);
    }

    /// Merges another shard of the same block's changes (see
    /// [`StateChanges::apply_effects_shard`]): shards hold disjoint accounts
    /// and disjoint slots.
    pub fn append_shard(&mut self, mut other: StateChanges) {
        self.accounts.append(&mut other.accounts);
        self.destroyed.append(&mut other.destroyed);
        self.codes.append(&mut other.codes);
        for (address, mut slots) in other.storage {
            match self.storage.entry(address) {
                std::collections::btree_map::Entry::Vacant(entry) => {
                    entry.insert(slots);
                }
                std::collections::btree_map::Entry::Occupied(mut entry) => {
                    entry.get_mut().append(&mut slots);
                }
            }
        }
    }

    /// Records that an account's storage was wiped (EIP-161 clearing of an
    /// empty account, self-destruction, re-creation).
    pub fn wipe_storage(&mut self, address: Address) {
        self.destroyed.insert(address);
        self.storage.remove(&address);
    }

    /// Folds a later change set into this one (`later` wins).
    pub fn extend(&mut self, later: StateChanges) {
        for address in later.destroyed {
            self.wipe_storage(address);
        }
        self.accounts.extend(later.accounts);
        for (address, slots) in later.storage {
            self.storage.entry(address).or_default().extend(slots);
        }
        self.codes.extend(later.codes);
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.storage.is_empty() && self.destroyed.is_empty()
    }
}

/// One transaction's state changes digested from revm's output: exactly what
/// [`StateChanges::apply_evm_state`] folds, in a compact form that can outlive
/// revm's state (the parallel engine keeps one per transaction of a block).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxEffects {
    /// Every account the transaction touched.
    pub accounts: Vec<AccountEffect>,
}

/// What a transaction did to one account it touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEffect {
    /// The account.
    pub address: Address,
    /// Its post-state; `None` when it was deleted (self-destructed, or
    /// touched while empty, which EIP-161 deletes).
    pub post: Option<AccountState>,
    /// Its storage was wiped (created, or deleted) before `slots` were written.
    pub wiped: bool,
    /// Its code, by hash, when it has code.
    pub code: Option<(B256, Bytes)>,
    /// Post-values of the slots it wrote (every slot of a created account).
    pub slots: Vec<(U256, U256)>,
}

impl TxEffects {
    /// Digests revm's output with the rules of [`StateChanges::apply_evm_state`].
    pub fn from_evm_state(state: &EvmState) -> Self {
        let mut accounts = Vec::with_capacity(state.len());
        for (address, account) in state.iter() {
            if !account.is_touched() {
                continue;
            }
            if account.is_selfdestructed() {
                accounts.push(AccountEffect {
                    address: *address,
                    post: None,
                    wiped: true,
                    code: None,
                    slots: Vec::new(),
                });
                continue;
            }
            let info = &account.info;
            let code = match &info.code {
                Some(code) if info.code_hash != KECCAK_EMPTY => {
                    Some((info.code_hash, code.original_bytes()))
                }
                _ => None,
            };
            let post = account_state_of(info);
            if post.is_empty() {
                accounts.push(AccountEffect {
                    address: *address,
                    post: None,
                    wiped: true,
                    code,
                    slots: Vec::new(),
                });
                continue;
            }
            accounts.push(AccountEffect {
                address: *address,
                post: Some(post),
                wiped: account.is_created(),
                code,
                slots: account
                    .storage
                    .iter()
                    .filter(|(_, value)| value.is_changed() || account.is_created())
                    .map(|(slot, value)| (*slot, value.present_value))
                    .collect(),
            });
        }
        Self { accounts }
    }

    /// The effect on `address`, if the transaction touched it.
    pub fn account(&self, address: &Address) -> Option<&AccountEffect> {
        self.accounts.iter().find(|a| a.address == *address)
    }
}

impl StateChanges {
    /// Folds one shard of a transaction's digested effects, for a fold on
    /// several threads: the accounts and the slots whose shard (of `shards`)
    /// is `shard`; every shard applies every wipe to its own slots. Merging
    /// all shards with [`StateChanges::append_shard`] gives the unsharded
    /// result.
    pub fn apply_effects_shard(&mut self, effects: &TxEffects, shard: usize, shards: usize) {
        for effect in &effects.accounts {
            let address = effect.address;
            let own_account = account_shard(&address, shards) == shard;
            if effect.wiped {
                self.wipe_storage(address);
            }
            if own_account {
                if let Some((hash, code)) = &effect.code {
                    self.codes.entry(*hash).or_insert_with(|| code.clone());
                }
                self.accounts.insert(address, effect.post);
            }
            // No slots written: nothing to fold (and no map entry to make
            // and remove again, which cost a transfer-only block a third of
            // its assembly).
            if effect.post.is_none() || effect.slots.is_empty() {
                continue;
            }
            let slots = self.storage.entry(address).or_default();
            for (slot, value) in &effect.slots {
                if slot_shard(&address, slot, shards) == shard {
                    slots.insert(*slot, *value);
                }
            }
            if slots.is_empty() {
                self.storage.remove(&address);
            }
        }
    }
}

/// The shard of an account in a sharded fold.
fn account_shard(address: &Address, shards: usize) -> usize {
    address.0[19] as usize % shards
}

/// The shard of a storage slot in a sharded fold (slots of one account, such
/// as a token's balances, spread over all shards).
fn slot_shard(address: &Address, slot: &U256, shards: usize) -> usize {
    (address.0[19] as usize ^ slot.as_limbs()[0] as usize) % shards
}

/// revm's account info for our account fields and the account's code.
pub fn account_info(account: AccountState, code: Option<Bytecode>) -> AccountInfo {
    AccountInfo {
        balance: account.balance,
        nonce: account.nonce,
        code_hash: account.code_hash,
        code,
        ..Default::default()
    }
}

/// Converts revm's account info into our account fields.
pub fn account_state_of(info: &AccountInfo) -> AccountState {
    AccountState {
        nonce: info.nonce,
        balance: info.balance,
        code_hash: info.code_hash,
    }
}

/// A state under construction: a base state plus the changes made so far.
#[derive(Debug)]
pub struct Overlay<R> {
    base: R,
    /// The changes on top of `base`.
    pub changes: StateChanges,
}

impl<R: StateReader> Overlay<R> {
    /// An overlay with no changes yet.
    pub fn new(base: R) -> Self {
        Self {
            base,
            changes: StateChanges::default(),
        }
    }

    /// The state underneath.
    pub fn base(&self) -> &R {
        &self.base
    }
}

impl<R: StateReader> StateReader for Overlay<R> {
    fn account(&self, address: Address) -> Result<Option<AccountState>, StateError> {
        match self.changes.accounts.get(&address) {
            Some(account) => Ok(*account),
            None => self.base.account(address),
        }
    }
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        if let Some(value) = self
            .changes
            .storage
            .get(&address)
            .and_then(|s| s.get(&slot))
        {
            return Ok(*value);
        }
        if self.changes.destroyed.contains(&address) {
            return Ok(U256::ZERO);
        }
        self.base.storage(address, slot)
    }
    fn code(&self, code_hash: B256) -> Result<Option<Bytecode>, StateError> {
        if let Some(code) = self.changes.codes.get(&code_hash) {
            return Ok(Some(Bytecode::new_raw(code.clone())));
        }
        self.base.code(code_hash)
    }
    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        self.base.block_hash(number)
    }
}

/// The whole state held in memory: the sequencer's head and the test pre-states.
#[derive(Clone, Debug, Default)]
pub struct WorldState {
    accounts: HashMap<Address, AccountState>,
    storage: HashMap<Address, HashMap<U256, U256>>,
    codes: HashMap<B256, Bytecode>,
    /// Hashes of recent blocks by number, for BLOCKHASH.
    block_hashes: BTreeMap<u64, B256>,
}

impl WorldState {
    /// Sets an account (and its code when given).
    pub fn insert_account(&mut self, address: Address, account: AccountState, code: Option<Bytes>) {
        if let Some(code) = code {
            let bytecode = Bytecode::new_raw(code);
            let hash = bytecode.hash_slow();
            self.codes.insert(hash, bytecode);
            self.accounts.insert(
                address,
                AccountState {
                    code_hash: hash,
                    ..account
                },
            );
        } else {
            self.accounts.insert(address, account);
        }
    }

    /// Sets a storage slot (zero removes it).
    pub fn set_storage(&mut self, address: Address, slot: U256, value: U256) {
        if value.is_zero() {
            if let Some(slots) = self.storage.get_mut(&address) {
                slots.remove(&slot);
            }
        } else {
            self.storage.entry(address).or_default().insert(slot, value);
        }
    }

    /// Records a block hash for BLOCKHASH, keeping the last 256.
    pub fn record_block_hash(&mut self, number: u64, hash: B256) {
        self.block_hashes.insert(number, hash);
        while self.block_hashes.len() > 256 {
            self.block_hashes.pop_first();
        }
    }

    /// Records the hashes of later blocks without forgetting older ones (a batch replayed from
    /// this state reaches 256 blocks back from each of its blocks).
    pub fn extend_block_hashes(&mut self, hashes: impl IntoIterator<Item = (u64, B256)>) {
        self.block_hashes.extend(hashes);
    }

    /// Applies a block's change set.
    pub fn apply(&mut self, changes: &StateChanges) {
        for address in &changes.destroyed {
            self.storage.remove(address);
        }
        for (hash, code) in &changes.codes {
            self.codes
                .entry(*hash)
                .or_insert_with(|| Bytecode::new_raw(code.clone()));
        }
        for (address, account) in &changes.accounts {
            match account {
                Some(account) => {
                    self.accounts.insert(*address, *account);
                }
                None => {
                    self.accounts.remove(address);
                    self.storage.remove(address);
                }
            }
        }
        for (address, slots) in &changes.storage {
            for (slot, value) in slots {
                self.set_storage(*address, *slot, *value);
            }
        }
    }

    /// All accounts.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &AccountState)> {
        self.accounts.iter()
    }

    /// All non-zero storage of one account.
    pub fn storage_of(&self, address: &Address) -> Option<&HashMap<U256, U256>> {
        self.storage.get(address)
    }

    /// Number of accounts.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Adds code and returns its hash.
    pub fn insert_code(&mut self, code: Bytes) -> B256 {
        let hash = keccak256(&code);
        self.codes.insert(hash, Bytecode::new_raw(code));
        hash
    }
}

impl StateReader for WorldState {
    fn account(&self, address: Address) -> Result<Option<AccountState>, StateError> {
        Ok(self.accounts.get(&address).copied())
    }
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        Ok(self
            .storage
            .get(&address)
            .and_then(|s| s.get(&slot))
            .copied()
            .unwrap_or_default())
    }
    fn code(&self, code_hash: B256) -> Result<Option<Bytecode>, StateError> {
        Ok(self.codes.get(&code_hash).cloned())
    }
    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        Ok(self.block_hashes.get(&number).copied().unwrap_or_default())
    }
}

/// Adapts any `StateReader` to revm's `DatabaseRef`.
#[derive(Debug)]
pub struct RevmDb<R>(pub R);

impl<R: StateReader> revm::DatabaseRef for RevmDb<R> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        let Some(account) = self.0.account(address)? else {
            return Ok(None);
        };
        let code = if account.code_hash == KECCAK_EMPTY {
            None
        } else {
            Some(
                self.0
                    .code(account.code_hash)?
                    .ok_or(StateError::MissingCode(account.code_hash))?,
            )
        };
        Ok(Some(account_info(account, code)))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StateError> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        self.0
            .code(code_hash)?
            .ok_or(StateError::MissingCode(code_hash))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, StateError> {
        self.0.storage(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, StateError> {
        self.0.block_hash(number)
    }
}
