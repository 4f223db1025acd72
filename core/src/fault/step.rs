//! The step machine: one step of a batch's execution from a [`MachineState`], with the world
//! state it runs on and the witness the one-step verifier checks (docs/fault-proof.md sections
//! 4 and 5). The off-chain mirror of `contracts/src/fault/OneStepVerifier.sol`.
//!
//! The accounts live in an [`AccountTrie`] (leaves `keccak256(address) -> rlp(account)`), an
//! in-memory Merkle Patricia trie that caches its node references, so that a root or a proof
//! after an update costs a path, not the whole trie; its proofs are those of
//! [`super::mpt::LeafTrie`] (the format `MerkleTrie.sol` checks). A [`WorldState`] next to it
//! serves revm (code, storage, block hashes) for the steps that run EVM code. Storage roots are
//! recomputed from the storage of the accounts an EVM step changed.
//!
//! Transactions whose execution runs EVM code (CREATE, a recipient with code or a precompile,
//! EIP-7702) go to `IN_TX` after the sender prepaid its gas, with `evm = keccak256(txHash)` (the
//! entry marker). A call to code is then entered and run one instruction per step
//! (docs/evm-steps.md, [`super::evm`]) while the instructions are stage-1 instructions; the rest
//! of a transaction (and every other kind) is one step that runs the whole transaction with revm
//! and yields `TX_EXECUTED` with the state revm left before the refund and the fees (the
//! caller's balance less the refund of unused gas, the beneficiary's less its fee), so that the
//! transaction end step reproduces revm's final balances exactly.

use super::{
    evm::{
        ACCESS_LIST_SUBSTATE, CallerFrame, Effect, EvmEntry, EvmRun, EvmRunError,
        InstructionWitness, StepCapture, WarmedAccessList, authorization_marker, call_inputs,
        create_inputs, encode_entry, encode_in_tx, encode_long_return, encode_return, entry_marker,
        frame_base, slot_leaf, warm_from_start,
    },
    inputs::{InputItem, inputs_chain, recent_hashes_tree},
    machine::{BlockItem, MachineState, Phase},
};
use crate::{
    chain::ChainConfig,
    error::{StateError, TxRejection},
    executor::{BlockInput, ExecError, build_evm, run_tx, tx_env},
    state::{AccountState, Overlay, StateChanges, StateReader, WorldState},
    trie::storage_root_of,
    tx::{MAX_TX_BYTES, check_envelope},
};
use alloy_consensus::{Transaction, TxEnvelope, transaction::Recovered};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256, map::HashMap};
use alloy_rlp::{Decodable, Encodable};
use alloy_sol_types::SolValue;
use alloy_trie::{
    EMPTY_ROOT_HASH, Nibbles, TrieAccount, TrieMask,
    nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode},
};
use revm::{
    bytecode::Bytecode, context::result::ExecutionResult,
    context_interface::cfg::gas::calculate_initial_tx_gas_for_tx, primitives::KECCAK_EMPTY,
    state::EvmState as RevmState,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, OnceLock},
};

/// Highest precompile address on Prague (`0x01..=0x11`).
pub const LAST_PRECOMPILE: u64 = 0x11;
/// EIP-3860 init code limit (Prague).
pub const MAX_INITCODE_SIZE: usize = 0xc000;

/// Why the machine cannot take a step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A block was to start and the next item is a transaction.
    #[error("item {index}: a block item was expected, found a transaction")]
    ExpectedBlockItem {
        /// Position of the item.
        index: usize,
    },
    /// A block item's recent hashes are not those of the chain the machine runs on, so its
    /// BLOCKHASH steps could not be proven.
    #[error("block {number}: the item's recent hashes {item} are not the chain's {chain}")]
    RecentHashes {
        /// The block.
        number: u64,
        /// The item's `recentHashes`.
        item: B256,
        /// The root of the machine's own block hashes.
        chain: B256,
    },
    /// The state's phase byte names no phase.
    #[error("unknown phase {0}")]
    UnknownPhase(u8),
    /// A block or transaction phase without its block or transaction (a state not reached by
    /// stepping from an initial state).
    #[error("phase {0:?} without its block or transaction")]
    Inconsistent(Phase),
    /// State could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The EVM failed for a reason outside the transaction.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// The end step would charge other gas than revm did: the machine and the reference differ.
    #[error("transaction {hash}: the end step charges {machine} gas, revm charged {revm}")]
    GasDiverged {
        /// The transaction.
        hash: B256,
        /// Gas the end step charges.
        machine: u64,
        /// Gas revm charged.
        revm: u64,
    },
    /// The EVM run of an entered transaction failed or diverged from the machine.
    #[error("transaction {hash}: {source}")]
    Evm {
        /// The transaction.
        hash: B256,
        /// Why.
        source: EvmRunError,
    },
    /// revm refused a transaction the machine found valid: the machine and the reference differ.
    #[error("revm refused transaction {hash} that the step machine accepted: {rejection}")]
    Diverged {
        /// The transaction.
        hash: B256,
        /// revm's reason.
        rejection: TxRejection,
    },
}

/// The kind of a step, by the phase (and fields) of its pre-state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepKind {
    /// `BETWEEN_BLOCKS`, no inputs left: the identity.
    Finished,
    /// `BETWEEN_BLOCKS`: consume a block item.
    BlockStart,
    /// `IN_BLOCK`, no transaction left: close the block.
    BlockEnd,
    /// `IN_BLOCK`: consume a transaction item.
    TxStart,
    /// `IN_TX`: EVM execution (not provable on L1 yet).
    Evm,
    /// `TX_EXECUTED`: refund and fees.
    TxEnd,
}

impl StepKind {
    /// The kind of the step from `state`; `None` for an unknown phase.
    pub fn of(state: &MachineState) -> Option<Self> {
        Some(match state.phase()? {
            Phase::BetweenBlocks if state.inputs.is_zero() => Self::Finished,
            Phase::BetweenBlocks => Self::BlockStart,
            Phase::InBlock if state.txsLeft == 0 => Self::BlockEnd,
            Phase::InBlock => Self::TxStart,
            Phase::InTx => Self::Evm,
            Phase::TxExecuted => Self::TxEnd,
        })
    }
}

/// The accounts (as a Merkle Patricia trie) and the rest of the world state.
#[derive(Clone, Debug)]
pub struct World {
    state: WorldState,
    trie: AccountTrie,
    /// Storage roots of the accounts with storage (absent: the empty root).
    storage_roots: HashMap<Address, B256>,
    /// Storage tries of the accounts whose storage an instruction step read or wrote (built
    /// when first needed, then kept up to date).
    storage_tries: HashMap<Address, AccountTrie>,
    /// Whether updates produce proofs (off while a trace only computes state hashes).
    proofs: bool,
}

impl World {
    /// The world of `state`: builds the account trie and the storage roots.
    pub fn new(state: WorldState) -> Self {
        let mut storage_roots = HashMap::default();
        let mut leaves = Vec::with_capacity(state.account_count());
        for (address, account) in state.accounts() {
            let storage_root = state
                .storage_of(address)
                .map(|slots| storage_root_of(&hashed_slots(slots.iter())))
                .unwrap_or(EMPTY_ROOT_HASH);
            if storage_root != EMPTY_ROOT_HASH {
                storage_roots.insert(*address, storage_root);
            }
            leaves.push((keccak256(address), encode_account(account, storage_root)));
        }
        leaves.sort_unstable_by_key(|leaf| leaf.0);
        let mut trie = AccountTrie::default();
        for (key, value) in leaves {
            trie.insert(key, value.into());
        }
        Self {
            trie,
            state,
            storage_roots,
            storage_tries: HashMap::default(),
            proofs: false,
        }
    }

    /// The storage trie of `address` (leaves `keccak256(slot) -> rlp(value)`).
    fn storage_trie(&mut self, address: Address) -> &mut AccountTrie {
        let state = &self.state;
        self.storage_tries.entry(address).or_insert_with(|| {
            let mut trie = AccountTrie::default();
            for (key, value) in hashed_slots(state.storage_of(&address).into_iter().flatten()) {
                trie.insert(key, alloy_rlp::encode(value).into());
            }
            trie
        })
    }

    /// The account trie root.
    pub fn root(&mut self) -> B256 {
        self.trie.root()
    }

    /// The world state (accounts, storage, code).
    pub fn state(&self) -> &WorldState {
        &self.state
    }

    fn account(&self, address: Address) -> Option<AccountState> {
        self.state
            .account(address)
            .expect("the in-memory state never fails")
    }

    fn storage_root(&self, address: &Address) -> B256 {
        self.storage_roots
            .get(address)
            .copied()
            .unwrap_or(EMPTY_ROOT_HASH)
    }

    /// Proof of `address` against the current root (as `MerkleTrie.get` takes it).
    fn proof(&mut self, address: Address) -> Vec<Bytes> {
        if !self.proofs {
            return Vec::new();
        }
        self.trie.proof(&keccak256(address), false)
    }

    /// The proof of `of` (for a deletion when `delete`) once `address`'s leaf is `account` over
    /// `storage_root`, the trie restored after: what a verifier reads right after writing
    /// `address` (a callee's credit, a new account, SELFDESTRUCT's target).
    fn proof_after_write(
        &mut self,
        address: Address,
        account: &AccountState,
        storage_root: B256,
        of: Address,
        delete: bool,
    ) -> Vec<Bytes> {
        let key = keccak256(address);
        let before = self.trie.get(&key).cloned();
        self.trie
            .insert(key, encode_account(account, storage_root).into());
        let proof = self.trie.proof(&keccak256(of), delete);
        self.trie.set(key, before);
        proof
    }

    /// Sets (or deletes) `address`, keeping its storage root, and returns the proof of the
    /// update against the root before it (as `MerkleTrie.update` takes it).
    fn set(&mut self, address: Address, account: Option<AccountState>) -> Vec<Bytes> {
        let key = keccak256(address);
        let mut changes = StateChanges::default();
        changes.accounts.insert(address, account);
        self.state.apply(&changes);
        match account {
            Some(account) => {
                let value = encode_account(&account, self.storage_root(&address));
                let proof = if self.proofs {
                    self.trie.proof(&key, false)
                } else {
                    Vec::new()
                };
                self.trie.insert(key, value.into());
                proof
            }
            None => {
                self.storage_roots.remove(&address);
                self.storage_tries.remove(&address);
                let proof = if self.proofs {
                    self.trie.proof(&key, true)
                } else {
                    Vec::new()
                };
                self.trie.remove(&key);
                proof
            }
        }
    }

    /// Adds `code` (of hash `hash`) to the code store: an EIP-7702 designator an authorization
    /// sets before the transaction's frame runs.
    fn add_code(&mut self, hash: B256, code: Bytes) {
        let mut changes = StateChanges::default();
        changes.codes.insert(hash, code);
        self.state.apply(&changes);
    }

    /// Applies a change set of EVM execution: accounts, storage (and so storage roots), code.
    fn apply(&mut self, changes: &StateChanges) {
        self.state.apply(changes);
        let mut touched: Vec<Address> = changes.accounts.keys().copied().collect();
        for address in &changes.destroyed {
            self.storage_tries.remove(address);
        }
        for address in changes.storage.keys().chain(&changes.destroyed) {
            let root = match (
                self.storage_tries.get_mut(address),
                changes.storage.get(address),
            ) {
                (Some(trie), Some(slots)) => {
                    for (slot, value) in slots {
                        let key = keccak256(slot.to_be_bytes::<32>());
                        trie.set(key, slot_leaf(*value));
                    }
                    trie.root()
                }
                _ => self
                    .state
                    .storage_of(address)
                    .map(|slots| storage_root_of(&hashed_slots(slots.iter())))
                    .unwrap_or(EMPTY_ROOT_HASH),
            };
            if root == EMPTY_ROOT_HASH {
                self.storage_roots.remove(address);
            } else {
                self.storage_roots.insert(*address, root);
            }
            touched.push(*address);
        }
        touched.sort_unstable();
        touched.dedup();
        for address in touched {
            let key = keccak256(address);
            match self.account(address) {
                Some(account) => {
                    let value = encode_account(&account, self.storage_root(&address));
                    self.trie.insert(key, value.into());
                }
                None => {
                    self.storage_roots.remove(&address);
                    self.storage_tries.remove(&address);
                    self.trie.remove(&key);
                }
            }
        }
    }

    /// Credits `amount` to the touched account `address` as the verifier's `_credit` does: an
    /// account left empty is deleted, an absent one that stays empty stays absent, a zero amount
    /// changes nothing else. Returns the proof the verifier reads and updates with.
    fn credit(&mut self, address: Address, amount: U256) -> Vec<Bytes> {
        let before = self.account(address);
        let mut after = before.unwrap_or_else(|| AccountState::with_balance(U256::ZERO));
        after.balance += amount;
        if after.is_empty() {
            return match before {
                Some(_) => self.set(address, None),
                None => self.proof(address),
            };
        }
        if amount.is_zero() && before.is_some() {
            return self.proof(address);
        }
        self.set(address, Some(after))
    }
}

fn hashed_slots<'a>(slots: impl Iterator<Item = (&'a U256, &'a U256)>) -> BTreeMap<B256, U256> {
    slots
        .filter(|(_, value)| !value.is_zero())
        .map(|(slot, value)| (keccak256(slot.to_be_bytes::<32>()), *value))
        .collect()
}

/// `rlp([nonce, balance, storageRoot, codeHash])`.
pub fn encode_account(account: &AccountState, storage_root: B256) -> Vec<u8> {
    alloy_rlp::encode(TrieAccount::new(
        account.nonce,
        account.balance,
        storage_root,
        account.code_hash,
    ))
}

/// The execution inputs of a block item.
pub fn block_input(item: &BlockItem) -> BlockInput {
    BlockInput {
        number: item.number,
        timestamp: item.timestamp,
        beneficiary: item.beneficiary,
        gas_limit: item.gasLimit,
        base_fee: item.baseFee,
        prevrandao: item.prevrandao,
    }
}

/// The precompiles a transaction may call in one step (docs/evm-steps.md section 1.1):
/// ECRECOVER, SHA256, RIPEMD160, IDENTITY and BLAKE2F. (Calls from code reach every
/// precompile: [`is_provable_precompile`].)
pub fn is_priced_precompile(address: Address) -> bool {
    let id = U256::from_be_slice(address.as_slice());
    (!id.is_zero() && id <= U256::from(4)) || id == U256::from(9)
}

/// The precompiles a call from code reaches in one instruction step, with or without a value
/// (witness kind 5,
/// docs/evm-steps.md section 4, "Calls to precompiles"): every one of Prague, `0x01..0x11`.
pub fn is_provable_precompile(address: Address) -> bool {
    is_precompile(address)
}

/// True for the precompiles of Prague.
pub fn is_precompile(address: Address) -> bool {
    let value = U256::from_be_slice(address.as_slice());
    !value.is_zero() && value <= U256::from(LAST_PRECOMPILE)
}

/// A transaction's access list warmed at its entry (nothing to warm without one).
fn warmed_access_list(tx: &TxEnvelope) -> Option<WarmedAccessList> {
    tx.access_list()
        .map_or(Some(WarmedAccessList::default()), WarmedAccessList::of)
}

/// The entry's starting substate from its warmed access list (the access-list marker past the
/// limit), the warmed tries for the recorder and the warming proofs for the witness.
fn start_substate(warmed: Option<WarmedAccessList>) -> (B256, WarmedAccessList, Vec<Vec<Bytes>>) {
    match warmed {
        Some(mut warmed) => {
            let substate = warmed.substate();
            let proofs = std::mem::take(&mut warmed.proofs);
            (substate, warmed, proofs)
        }
        None => (
            ACCESS_LIST_SUBSTATE,
            WarmedAccessList::default(),
            Vec::new(),
        ),
    }
}

/// The pending call transaction as its entry step reads it (kinds 0 and 11).
struct CallEntry {
    hash: B256,
    to: Address,
    caller: Address,
    value: U256,
    raw: Bytes,
    calldata: Bytes,
    /// Its access list warmed (`None` past the limit); an EIP-7702 transaction's authorities too.
    warmed: Option<WarmedAccessList>,
    /// The state root at the entry, before the value moves.
    pre_root: B256,
}

/// True for an EIP-7702 delegation designator (`0xef0100 || address`).
pub fn is_delegation(code: &[u8]) -> bool {
    code.len() == 23 && code.starts_with(&[0xef, 0x01, 0x00])
}

/// The delegate a delegation designator names ([`is_delegation`]); `None` for other code.
pub fn delegate_in(code: &[u8]) -> Option<Address> {
    is_delegation(code).then(|| Address::from_slice(&code[3..]))
}

/// A transaction that passed every check before execution.
#[derive(Clone, Debug)]
struct Valid {
    tx: Recovered<TxEnvelope>,
    intrinsic_gas: u64,
    floor_gas: u64,
}

/// Decodes `raw` and applies derivation's stateless checks ([`check_envelope`]) and the
/// transaction types the machine runs. `None`: the transaction is skipped.
fn decode_checked(raw: &[u8], chain: &ChainConfig) -> Option<Recovered<TxEnvelope>> {
    if raw.len() > MAX_TX_BYTES {
        return None;
    }
    let envelope = TxEnvelope::decode_2718_exact(raw).ok()?;
    let tx = check_envelope(envelope, chain).ok()?;
    // Types the verifier decodes: legacy (EIP-155, checked above), EIP-2930, EIP-1559, EIP-7702
    // (with at least one authorization, as revm requires).
    match tx.inner() {
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_) => Some(tx),
        TxEnvelope::Eip7702(signed) if !signed.tx().authorization_list.is_empty() => Some(tx),
        _ => None,
    }
}

/// The checks of a decoded transaction against its block (revm's block-dependent checks), and
/// its intrinsic gas and floor. `None`: the transaction is skipped without looking at state.
fn check_in_block(
    tx: &Recovered<TxEnvelope>,
    block: &BlockItem,
    block_gas_used: u64,
) -> Option<Valid> {
    let inner = tx.inner();
    if u128::from(block_gas_used) + u128::from(inner.gas_limit()) > u128::from(block.gasLimit) {
        return None;
    }
    if inner.max_fee_per_gas() < u128::from(block.baseFee) {
        return None;
    }
    if inner.nonce() == u64::MAX {
        return None;
    }
    if inner.kind().is_create() && inner.input().len() > MAX_INITCODE_SIZE {
        return None;
    }
    let gas = calculate_initial_tx_gas_for_tx(tx_env(tx), ChainConfig::SPEC, None);
    Some(Valid {
        intrinsic_gas: gas.initial_regular_gas + gas.initial_state_gas,
        floor_gas: gas.floor_gas,
        tx: tx.clone(),
    })
}

/// The effective gas price of `tx` in a block with `base_fee` (revm's rule).
fn effective_gas_price(tx: &TxEnvelope, base_fee: u64) -> u128 {
    match tx.max_priority_fee_per_gas() {
        Some(tip) => tx
            .max_fee_per_gas()
            .min(u128::from(base_fee).saturating_add(tip)),
        None => tx.max_fee_per_gas(),
    }
}

/// The transaction being executed by the EVM (`IN_TX`).
#[derive(Clone, Debug)]
struct Pending {
    tx: Recovered<TxEnvelope>,
    /// Its raw bytes (the entry step's witness).
    raw: Bytes,
    /// The sender before the transaction start step (revm runs from there).
    sender_before: Option<AccountState>,
    /// An EIP-7702 transaction before its entry: its authorizations stepped so far.
    authorizing: Option<Authorizing>,
    /// Once entered (docs/evm-steps.md section 1): the frame and its recorded states.
    entered: Option<Entered>,
}

/// The refund of an authorization applied to an existing account (EIP-7702:
/// `PER_EMPTY_ACCOUNT_COST - PER_AUTH_BASE_COST`).
const AUTHORIZATION_REFUND: u64 = 12_500;

/// An EIP-7702 transaction's authorizations being stepped (docs/evm-steps.md section 1.2): the
/// world has each applied one; revm, which applies the list itself, runs from the accounts as
/// they were.
#[derive(Clone, Debug)]
struct Authorizing {
    /// Authorizations stepped so far.
    applied: usize,
    /// The access list's warmings then the authorities' (`None`: the list is over the cap); the
    /// list's proofs until the first step takes them.
    warmed: Option<WarmedAccessList>,
    /// The refund of those applied so far.
    refund: u64,
    /// Each authority an applied authorization changed, as it was before the first.
    before: Vec<(Address, Option<AccountState>)>,
}

impl Authorizing {
    /// The warm tries' roots the authorization marker commits to.
    fn lists(&mut self) -> (B256, B256) {
        match &mut self.warmed {
            Some(warmed) => (warmed.warm_slots.root(), warmed.warm_accounts.root()),
            None => (ACCESS_LIST_SUBSTATE, B256::ZERO),
        }
    }
}

/// An entered transaction: its frame, the recorded run, and the next instruction.
#[derive(Clone, Debug)]
struct Entered {
    entry: Arc<EvmEntry>,
    run: Arc<EvmRun>,
    /// Index in `run.states` of the machine's current EVM state.
    cursor: usize,
    /// The state root after the entry (the value moved).
    entry_root: B256,
    /// `roots[k]`: the state root after the run's `k`-th effect (`run.effects[k]`).
    roots: Vec<B256>,
}

impl Entered {
    /// The machine's state root before instruction `index`: after the effects before it.
    fn root_before(&self, index: usize) -> B256 {
        match self.run.effects.partition_point(|effect| effect.0 < index) {
            0 => self.entry_root,
            written => self.roots[written - 1],
        }
    }
}

/// The world as the pending transaction's EVM run has changed it so far, replayed by
/// [`Machine::in_run`], with what to restore.
#[derive(Default)]
struct Changed {
    /// The accounts as the run has them (absent: as in the world).
    accounts: BTreeMap<Address, Option<AccountState>>,
    /// The accounts whose storage trie the run changed.
    stored: BTreeSet<Address>,
    /// What the replay changed, oldest first.
    undo: Vec<Undo>,
}

/// One change of a replay, to undo.
enum Undo {
    /// The account trie's leaf of `address` and the run's view of it, before a change.
    Account {
        address: Address,
        leaf: Option<Bytes>,
        view: Option<Option<AccountState>>,
    },
    /// A storage trie's leaf before an SSTORE.
    Slot {
        address: Address,
        key: B256,
        leaf: Option<Bytes>,
    },
}

impl Changed {
    /// `address` as the run has it now.
    fn account(&self, world: &World, address: Address) -> Option<AccountState> {
        self.accounts
            .get(&address)
            .copied()
            .unwrap_or_else(|| world.account(address))
    }

    /// `address` as the run has it, credited `value` (saturated; created when absent), as a
    /// verifier writes a callee's or a target's credit.
    fn credited(&self, world: &World, address: Address, value: U256) -> AccountState {
        let mut account = self
            .account(world, address)
            .unwrap_or_else(|| AccountState::with_balance(U256::ZERO));
        account.balance = account.balance.saturating_add(value);
        account
    }

    /// The storage root of `address` as the run has it.
    fn storage_root(&self, world: &mut World, address: Address) -> B256 {
        if self.stored.contains(&address) {
            world.storage_trie(address).root()
        } else {
            world.storage_root(&address)
        }
    }

    /// Sets `address` to `account` in the account trie, with its storage root as the run left it.
    fn put(&mut self, world: &mut World, address: Address, account: Option<AccountState>) {
        let key = keccak256(address);
        self.undo.push(Undo::Account {
            address,
            leaf: world.trie.get(&key).cloned(),
            view: self.accounts.get(&address).copied(),
        });
        let storage_root = self.storage_root(world, address);
        match account {
            Some(account) => world
                .trie
                .insert(key, encode_account(&account, storage_root).into()),
            None => world.trie.remove(&key),
        }
        self.accounts.insert(address, account);
    }

    /// Replays one effect.
    fn apply(&mut self, world: &mut World, effect: Effect, starts: &[usize]) {
        match effect {
            Effect::Store {
                account,
                slot,
                value,
            } => {
                let key = keccak256(slot.to_be_bytes::<32>());
                let trie = world.storage_trie(account);
                let leaf = trie.get(&key).cloned();
                trie.set(key, slot_leaf(value));
                self.undo.push(Undo::Slot {
                    address: account,
                    key,
                    leaf,
                });
                self.stored.insert(account);
                let current = self.account(world, account);
                self.put(world, account, current);
            }
            Effect::Transfer { from, to, value } => {
                let mut paying = self
                    .account(world, from)
                    .expect("a frame's account has code");
                paying.balance -= value;
                self.put(world, from, Some(paying));
                let mut receiving = self
                    .account(world, to)
                    .unwrap_or_else(|| AccountState::with_balance(U256::ZERO));
                receiving.balance += value;
                self.put(world, to, Some(receiving));
            }
            Effect::Nonce { account } => {
                let mut creator = self
                    .account(world, account)
                    .expect("a creating frame's account has code");
                creator.nonce += 1;
                self.put(world, account, Some(creator));
            }
            Effect::Create {
                creator,
                address,
                value,
            } => {
                // A new account keeps a balance it had (no collision: no code, nonce 0, and the
                // run stops at one with storage).
                let balance = self
                    .account(world, address)
                    .map_or(U256::ZERO, |account| account.balance);
                let created = AccountState {
                    nonce: 1,
                    balance: balance + value,
                    code_hash: KECCAK_EMPTY,
                };
                self.put(world, address, Some(created));
                if !value.is_zero() {
                    let mut paying = self
                        .account(world, creator)
                        .expect("a creating frame's account has code");
                    paying.balance -= value;
                    self.put(world, creator, Some(paying));
                }
            }
            Effect::Code { address, code_hash } => {
                let mut created = self
                    .account(world, address)
                    .expect("a creation's account exists");
                created.code_hash = code_hash;
                self.put(world, address, Some(created));
            }
            Effect::SelfDestruct {
                account,
                target,
                destroy,
            } => {
                let mut destroyed = self
                    .account(world, account)
                    .expect("a frame that runs code has an account");
                let balance = destroyed.balance;
                if target != account && !balance.is_zero() {
                    let mut receiving = self
                        .account(world, target)
                        .unwrap_or_else(|| AccountState::with_balance(U256::ZERO));
                    receiving.balance += balance;
                    self.put(world, target, Some(receiving));
                }
                if destroy {
                    self.put(world, account, None);
                } else if target != account && !balance.is_zero() {
                    destroyed.balance = U256::ZERO;
                    self.put(world, account, Some(destroyed));
                }
            }
            Effect::Revert { to } => {
                let keep = starts.get(to).copied().unwrap_or(self.undo.len());
                self.undo_to(world, keep);
            }
        }
    }

    /// Undoes the changes after the first `len`.
    fn undo_to(&mut self, world: &mut World, len: usize) {
        while self.undo.len() > len {
            match self.undo.pop().expect("longer than len") {
                Undo::Account {
                    address,
                    leaf,
                    view,
                } => {
                    world.trie.set(keccak256(address), leaf);
                    match view {
                        Some(view) => self.accounts.insert(address, view),
                        None => self.accounts.remove(&address),
                    };
                }
                Undo::Slot { address, key, leaf } => world.storage_trie(address).set(key, leaf),
            }
        }
    }
}

/// The step machine of one batch: the machine state, the world state, and the inputs.
#[derive(Clone, Debug)]
pub struct Machine {
    chain: ChainConfig,
    items: Arc<[InputItem]>,
    links: Arc<[B256]>,
    /// Each transaction item decoded and checked once (shared by the clones that re-execute).
    decoded: Arc<[OnceLock<Option<Recovered<TxEnvelope>>>]>,
    next: usize,
    state: MachineState,
    world: World,
    block: Option<BlockItem>,
    pending: Option<Pending>,
}

impl Machine {
    /// The machine at the initial state of a batch with `items`, over `world`.
    pub fn new(chain: ChainConfig, mut world: World, items: Vec<InputItem>) -> Self {
        let links: Arc<[B256]> = inputs_chain(&items).into();
        let state = MachineState::initial(world.root(), links[0]);
        Self {
            chain,
            decoded: (0..items.len()).map(|_| OnceLock::new()).collect(),
            items: items.into(),
            links,
            next: 0,
            state,
            world,
            block: None,
            pending: None,
        }
    }

    /// The current machine state.
    pub fn state(&self) -> &MachineState {
        &self.state
    }

    /// The world the machine runs on.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// True at the finished state (the identity step).
    pub fn is_finished(&self) -> bool {
        StepKind::of(&self.state) == Some(StepKind::Finished)
    }

    /// Takes one step. With `witness`, returns the `proof` the verifier takes for it (empty for
    /// the steps that take none, and for EVM execution, which the verifier refuses).
    pub fn step(&mut self, witness: bool) -> Result<Bytes, StepError> {
        let kind = StepKind::of(&self.state).ok_or(StepError::UnknownPhase(self.state.phase))?;
        self.world.proofs = witness;
        match kind {
            StepKind::Finished => Ok(Bytes::new()),
            StepKind::BlockStart => self.block_start(),
            StepKind::BlockEnd => {
                self.state = MachineState::initial(self.state.stateRoot, self.state.inputs);
                self.block = None;
                Ok(Bytes::new())
            }
            StepKind::TxStart => self.tx_start(witness),
            StepKind::Evm => self.evm_step(witness),
            StepKind::TxEnd => self.tx_end(witness),
        }
    }

    fn take_item(&mut self) -> (usize, B256) {
        let index = self.next;
        self.next += 1;
        (index, self.links[index + 1])
    }

    fn block_start(&mut self) -> Result<Bytes, StepError> {
        let (index, tail) = self.take_item();
        let InputItem::Block(item) = &self.items[index] else {
            return Err(StepError::ExpectedBlockItem { index });
        };
        let item = item.clone();
        let chain = recent_hashes_tree(item.number, |m| {
            self.world.state.block_hash(m).unwrap_or_default()
        })
        .root();
        if chain != item.recentHashes {
            return Err(StepError::RecentHashes {
                number: item.number,
                item: item.recentHashes,
                chain,
            });
        }
        self.state = in_block(
            self.state.stateRoot,
            tail,
            item.item_hash(),
            0,
            item.txCount,
        );
        let proof = (item.clone(), tail).abi_encode_params();
        self.block = Some(item);
        Ok(proof.into())
    }

    fn tx_start(&mut self, witness: bool) -> Result<Bytes, StepError> {
        let pre = self.state.clone();
        if pre.inputs.is_zero() {
            self.state = in_block(
                pre.stateRoot,
                B256::ZERO,
                pre.blockItem,
                pre.blockGasUsed,
                0,
            );
            return Ok(Bytes::new());
        }
        let block = self
            .block
            .clone()
            .ok_or(StepError::Inconsistent(Phase::InBlock))?;
        let (index, tail) = self.take_item();
        let raw: Bytes = match &self.items[index] {
            InputItem::Tx(raw) => raw.clone(),
            InputItem::Block(item) => item.abi_encode().into(),
        };
        // Skipped unless proven otherwise.
        self.state = in_block(
            pre.stateRoot,
            tail,
            pre.blockItem,
            pre.blockGasUsed,
            pre.txsLeft - 1,
        );
        let mut w = TxStartWitness {
            block: block.clone(),
            raw: raw.clone(),
            tail,
            ..Default::default()
        };
        let encode =
            |w: TxStartWitness| -> Bytes { if witness { w.encode() } else { Bytes::new() } };
        let decoded = self.decoded[index].get_or_init(|| decode_checked(&raw, &self.chain));
        let Some(valid) = decoded
            .as_ref()
            .and_then(|tx| check_in_block(tx, &block, pre.blockGasUsed))
        else {
            return Ok(encode(w));
        };
        let tx = valid.tx.inner();
        let sender = valid.tx.signer();
        let sender_before = self.world.account(sender);
        let mut account = sender_before.unwrap_or_else(|| AccountState::with_balance(U256::ZERO));
        w.sender_proof = self.world.proof(sender);
        if account.code_hash != KECCAK_EMPTY {
            let code = self
                .world
                .state
                .code(account.code_hash)?
                .ok_or(StateError::MissingCode(account.code_hash))?
                .original_bytes();
            w.sender_code = code.clone();
            if !is_delegation(&code) {
                return Ok(encode(w));
            }
        }
        if account.nonce != tx.nonce() {
            return Ok(encode(w));
        }
        let Some(max_cost) = u128::from(tx.gas_limit())
            .checked_mul(tx.max_fee_per_gas())
            .and_then(|cost| U256::from(cost).checked_add(tx.value()))
        else {
            return Ok(encode(w));
        };
        if account.balance < max_cost {
            return Ok(encode(w));
        }

        // Valid: prepay the gas, move the nonce.
        let price = effective_gas_price(tx, block.baseFee);
        account.nonce += 1;
        account.balance -= U256::from(u128::from(tx.gas_limit()) * price);
        let mut evm = match tx.kind() {
            TxKind::Create => true,
            TxKind::Call(to) => tx.is_eip7702() || is_precompile(to),
        };
        if evm {
            w.sender_proof = self.world.set(sender, Some(account));
        } else {
            let to = tx.to().expect("a call");
            let value = tx.value();
            let paid = AccountState {
                balance: account.balance - value,
                ..account
            };
            w.sender_proof = self.world.set(sender, Some(paid));
            let recipient = self.world.account(to);
            if recipient.is_some_and(|r| r.code_hash != KECCAK_EMPTY) {
                // The recipient runs code: the sender's update is redone without the value.
                w.recipient_proof = self.world.proof(to);
                self.world.set(sender, Some(account));
                evm = true;
            } else {
                w.recipient_proof = self.world.credit(to, value);
            }
        }
        if evm {
            self.pending = Some(Pending {
                tx: valid.tx.clone(),
                raw: raw.clone(),
                sender_before,
                authorizing: tx.is_eip7702().then(|| Authorizing {
                    applied: 0,
                    warmed: warmed_access_list(tx),
                    refund: 0,
                    before: Vec::new(),
                }),
                entered: None,
            });
        }
        let state = &mut self.state;
        state.phase = if evm {
            Phase::InTx as u8
        } else {
            Phase::TxExecuted as u8
        };
        state.stateRoot = self.world.root();
        state.caller = sender;
        state.txGasLimit = tx.gas_limit();
        state.effectiveGasPrice = U256::from(price);
        state.priorityFee = U256::from(price - u128::from(block.baseFee));
        state.gasLeft = tx.gas_limit() - valid.intrinsic_gas;
        state.refund = 0;
        state.floorGas = valid.floor_gas;
        state.success = !evm;
        state.evm = if evm {
            entry_marker(*tx.tx_hash())
        } else {
            B256::ZERO
        };
        Ok(encode(w))
    }

    /// A step in `IN_TX` (docs/evm-steps.md): the entry of an entered transaction, one of its
    /// instructions, or the rest of the transaction (revm's result, which the verifier refuses).
    fn evm_step(&mut self, witness: bool) -> Result<Bytes, StepError> {
        let pending = self
            .pending
            .as_mut()
            .ok_or(StepError::Inconsistent(Phase::InTx))?;
        let Some(entered) = pending.entered.as_mut() else {
            if pending.authorizing.is_some() {
                return self.authorizing_step(witness);
            }
            if self.entry_kind()? {
                return self.evm_entry(witness);
            }
            if self.priced_precompile_call()? {
                return self.precompile_call(witness);
            }
            let pending = self.pending.take().expect("checked above");
            let (result, state) = self.run_whole(&pending)?;
            self.finish(&pending, result, state)?;
            return Ok(Bytes::new());
        };
        let index = entered.cursor;
        let run = entered.run.clone();
        let entry = entered.entry.clone();
        if index + 1 < run.states.len() {
            entered.cursor += 1;
            self.state.evm = run.states[index + 1].hash();
            self.state.stateRoot = entered.root_before(index + 1);
            self.state.refund = run.refunds[index + 1];
        }
        let proof = if witness && run.provable(index) {
            self.instruction_witness(&entry, &run, index)?
        } else {
            Bytes::new()
        };
        if index + 1 == run.states.len() {
            let pending = self.pending.take().expect("checked above");
            self.finish(&pending, run.result.clone(), run.state.clone())?;
        }
        Ok(proof)
    }

    /// Whether the pending transaction is of an entered kind: a call to an address that is not a
    /// precompile, not EIP-7702, to code (an EIP-7702 delegation's too: kind 11).
    fn entry_kind(&self) -> Result<bool, StepError> {
        if self.pending_creation()?.is_some() {
            return Ok(true);
        }
        let Some(to) = self.pending_call()? else {
            return Ok(false);
        };
        if is_precompile(to) {
            return Ok(false);
        }
        let Some(recipient) = self.world.account(to) else {
            return Ok(false);
        };
        // A delegated recipient is entered too (kind 11, docs/evm-steps.md section 1.1).
        Ok(recipient.code_hash != KECCAK_EMPTY)
    }

    /// The account a pending creation transaction creates (docs/evm-steps.md section 10): the
    /// sender's address and the transaction's nonce; `None` for a call.
    fn pending_creation(&self) -> Result<Option<Address>, StepError> {
        let pending = self
            .pending
            .as_ref()
            .ok_or(StepError::Inconsistent(Phase::InTx))?;
        let tx = pending.tx.inner();
        Ok(tx
            .kind()
            .is_create()
            .then(|| pending.tx.signer().create(tx.nonce())))
    }

    /// The pending transaction's recipient when it is a call and not EIP-7702.
    fn pending_call(&self) -> Result<Option<Address>, StepError> {
        let pending = self
            .pending
            .as_ref()
            .ok_or(StepError::Inconsistent(Phase::InTx))?;
        let tx = pending.tx.inner();
        Ok(match tx.kind() {
            TxKind::Call(to) if !tx.is_eip7702() => Some(to),
            _ => None,
        })
    }

    /// Whether the pending transaction calls a priced precompile ([`is_priced_precompile`]), which is
    /// one step (docs/evm-steps.md section 1.1): not EIP-7702, and no empty account at the
    /// precompile's address (EIP-161 would delete it).
    fn priced_precompile_call(&self) -> Result<bool, StepError> {
        let Some(to) = self.pending_call()? else {
            return Ok(false);
        };
        Ok(is_priced_precompile(to) && !self.world.account(to).is_some_and(|a| a.is_empty()))
    }

    /// A call to a priced precompile: the value moves (proofs as for an entry), and revm's
    /// result of the whole transaction ends it.
    fn precompile_call(&mut self, witness: bool) -> Result<Bytes, StepError> {
        let pending = self.pending.take().expect("checked by the caller");
        let tx = pending.tx.inner();
        let to = tx.to().expect("a call");
        let caller = pending.tx.signer();
        let (caller_proof, recipient_proof, _) = self.value_move(caller, to, tx.value());
        let raw = pending.raw.clone();
        let (result, state) = self.run_whole(&pending)?;
        self.finish(&pending, result, state)?;
        Ok(if witness {
            encode_in_tx(
                0,
                encode_entry(raw, caller_proof, recipient_proof, Bytes::new(), Vec::new()),
            )
        } else {
            Bytes::new()
        })
    }

    /// The value's move at a call's entry, as the entry verifier checks it: the caller's proof
    /// (none for a zero value), the recipient's (read only for a zero value; an absent recipient
    /// is created) and the state root after the move. The world stays at the transaction
    /// start: the end applies revm's whole result.
    fn value_move(
        &mut self,
        caller: Address,
        to: Address,
        value: U256,
    ) -> (Vec<Bytes>, Vec<Bytes>, B256) {
        if value.is_zero() {
            return (Vec::new(), self.world.proof(to), self.state.stateRoot);
        }
        let caller_before = self.world.account(caller);
        let recipient_before = self.world.account(to);
        let mut paying = caller_before.expect("the caller prepaid its gas");
        paying.balance -= value;
        let caller_proof = self.world.set(caller, Some(paying));
        let recipient_proof = self.world.credit(to, value);
        let root = self.world.root();
        self.world.set(to, recipient_before);
        self.world.set(caller, caller_before);
        (caller_proof, recipient_proof, root)
    }

    fn code(&self, hash: B256) -> Result<Bytes, StepError> {
        if hash == KECCAK_EMPTY {
            return Ok(Bytes::new());
        }
        Ok(self
            .world
            .state
            .code(hash)?
            .ok_or(StateError::MissingCode(hash))?
            .original_bytes())
    }

    /// A code by hash: the world's, or one a creation of `run` deposited.
    fn run_code(&self, run: &EvmRun, hash: B256) -> Result<Bytes, StepError> {
        match run.codes.get(&hash) {
            Some(code) => Ok(code.clone()),
            None => self.code(hash),
        }
    }

    /// What the entry of the pending call transaction reads of it.
    fn call_entry(&self) -> CallEntry {
        let pending = self.pending.as_ref().expect("checked by the caller");
        let tx = pending.tx.inner();
        CallEntry {
            hash: *tx.tx_hash(),
            to: tx.to().expect("an entered kind is a call"),
            caller: pending.tx.signer(),
            value: tx.value(),
            raw: pending.raw.clone(),
            calldata: tx.input().clone(),
            // An EIP-7702 transaction's authorization steps warmed its list (and its authorities).
            warmed: match &pending.authorizing {
                Some(authorizing) => authorizing.warmed.clone(),
                None => warmed_access_list(tx),
            },
            pre_root: self.state.stateRoot,
        }
    }

    /// A step of an EIP-7702 transaction before its frame (docs/evm-steps.md section 1.2): its
    /// next authorization (kind 12), then its entry (kind 13).
    fn authorizing_step(&mut self, witness: bool) -> Result<Bytes, StepError> {
        let pending = self.pending.as_ref().expect("checked by the caller");
        let count = pending
            .tx
            .inner()
            .authorization_list()
            .map_or(0, <[_]>::len);
        let applied = pending.authorizing.as_ref().map_or(count, |a| a.applied);
        if applied < count {
            self.authorization(applied, witness)
        } else {
            self.authorized_entry(witness)
        }
    }

    /// Authorization `index` of the pending EIP-7702 transaction (kind 12), as revm 43's
    /// `apply_auth_list` applies it: skipped for another chain, a nonce of 2^64-1 or a signature
    /// that does not recover (y-parity above 1, high s); otherwise the authority is warmed and,
    /// when its code is empty or a designator and its nonce is the authorization's, delegated
    /// (nonce + 1, the designator's code hash, 12,500 refunded if it existed). The first step
    /// also warms the access list.
    fn authorization(&mut self, index: usize, witness: bool) -> Result<Bytes, StepError> {
        let block = self.block_of_tx()?;
        let chain_id = U256::from(self.chain.chain_id);
        let pending = self.pending.as_mut().expect("checked by the caller");
        let tx = pending.tx.inner();
        let hash = *tx.tx_hash();
        let to = tx.to().expect("an EIP-7702 transaction is a call");
        let caller = pending.tx.signer();
        let auth = tx.authorization_list().expect("EIP-7702")[index].clone();
        let raw = pending.raw.clone();
        let mut authorizing = pending.authorizing.take().expect("checked by the caller");
        let (listed_slots, listed_accounts) = if index == 0 {
            (B256::ZERO, B256::ZERO)
        } else {
            authorizing.lists()
        };
        let access_proofs = match (index, authorizing.warmed.as_mut()) {
            (0, Some(warmed)) => std::mem::take(&mut warmed.proofs),
            _ => Vec::new(),
        };
        let (mut authority_proof, mut authority_code, mut warm_proof) =
            (Vec::new(), Bytes::new(), Vec::new());
        let recovered =
            (auth.chain_id.is_zero() || auth.chain_id == chain_id) && auth.nonce != u64::MAX;
        if let Some(authority) = recovered.then(|| auth.recover_authority().ok()).flatten() {
            let account = self.world.account(authority);
            authority_proof = self.world.proof(authority);
            authority_code = self.code(account.map_or(KECCAK_EMPTY, |a| a.code_hash))?;
            if let Some(warmed) = authorizing.warmed.as_mut()
                && !warm_from_start(authority, caller, to, block.beneficiary)
            {
                warm_proof = warmed.warm_account(authority);
            }
            let delegable = authority_code.is_empty() || is_delegation(&authority_code);
            if delegable && auth.nonce == account.map_or(0, |a| a.nonce) {
                if account.is_some() {
                    authorizing.refund += AUTHORIZATION_REFUND;
                }
                if !authorizing.before.iter().any(|(a, _)| *a == authority) {
                    authorizing.before.push((authority, account));
                }
                let code_hash = if auth.address.is_zero() {
                    KECCAK_EMPTY
                } else {
                    let designator = Bytecode::new_eip7702(auth.address).original_bytes();
                    let code_hash = keccak256(&designator);
                    self.world.add_code(code_hash, designator);
                    code_hash
                };
                let mut delegated =
                    account.unwrap_or_else(|| AccountState::with_balance(U256::ZERO));
                delegated.nonce += 1;
                delegated.code_hash = code_hash;
                self.world.set(authority, Some(delegated));
                self.state.stateRoot = self.world.root();
                self.state.refund = authorizing.refund;
            }
        }
        authorizing.applied = index + 1;
        let (slots, accounts) = authorizing.lists();
        self.state.evm = authorization_marker(hash, index + 1, slots, accounts);
        self.pending
            .as_mut()
            .expect("checked by the caller")
            .authorizing = Some(authorizing);
        Ok(if witness {
            let body = (
                raw,
                U256::from(index),
                listed_slots,
                listed_accounts,
                access_proofs,
                authority_proof,
                authority_code,
                warm_proof,
                block,
            )
                .abi_encode_params();
            encode_in_tx(12, body.into())
        } else {
            Bytes::new()
        })
    }

    /// The entry of an EIP-7702 transaction after its authorizations (docs/evm-steps.md section
    /// 1.2, kind 13): the value moves; the recipient's code (after the authorizations) runs, or its
    /// delegate's (read and warmed as kind 11 does), in a frame whose caller frame holds the state
    /// root and refund the authorizations left; no code ends the transaction at once. A recipient
    /// that is a precompile or an existing empty account with no value is the rest of the
    /// transaction.
    fn authorized_entry(&mut self, witness: bool) -> Result<Bytes, StepError> {
        let block = self.block_of_tx()?;
        let pending = self.pending.as_mut().expect("checked by the caller");
        let authorizing = pending.authorizing.as_mut().expect("checked by the caller");
        let (slots, accounts) = authorizing.lists();
        let refund = authorizing.refund;
        let mut entry_tx = self.call_entry();
        let mut warmed = entry_tx.warmed.take();
        let (caller, to, value) = (entry_tx.caller, entry_tx.to, entry_tx.value);
        let recipient = self.world.account(to);
        if is_precompile(to) || (value.is_zero() && recipient.is_some_and(|r| r.is_empty())) {
            let pending = self.pending.take().expect("checked by the caller");
            let (result, state) = self.run_whole(&pending)?;
            self.finish(&pending, result, state)?;
            return Ok(Bytes::new());
        }
        let code = self.code(recipient.map_or(KECCAK_EMPTY, |r| r.code_hash))?;
        let mut run_hash = recipient.map_or(KECCAK_EMPTY, |r| r.code_hash);
        let (mut delegate_proof, mut delegate_warm_proof) = (Vec::new(), Vec::new());
        if let Some(delegate) = delegate_in(&code) {
            delegate_proof = self.world.proof(delegate);
            run_hash = self
                .world
                .account(delegate)
                .map_or(KECCAK_EMPTY, |account| account.code_hash);
            if let Some(warmed) = warmed.as_mut()
                && !warm_from_start(delegate, caller, to, block.beneficiary)
            {
                delegate_warm_proof = warmed.warm_account(delegate);
            }
        }
        let (caller_proof, recipient_proof, root) = self.value_move(caller, to, value);
        let proof = if witness {
            let body = (
                entry_tx.raw.clone(),
                slots,
                accounts,
                caller_proof,
                recipient_proof,
                code,
                delegate_proof,
                delegate_warm_proof,
                block,
            )
                .abi_encode_params();
            encode_in_tx(13, body.into())
        } else {
            Bytes::new()
        };
        if run_hash == KECCAK_EMPTY {
            // No code runs: revm ends the call at its frame's creation.
            let pending = self.pending.take().expect("checked by the caller");
            let (result, state) = self.run_whole(&pending)?;
            self.finish(&pending, result, state)?;
            return Ok(proof);
        }
        // The list's proofs went to the first authorization step.
        let (substate, warmed, _) = start_substate(warmed);
        let frame_code = (run_hash, self.code(run_hash)?);
        self.enter_frame(&entry_tx, frame_code, substate, warmed, root, Some(refund))?;
        Ok(proof)
    }

    /// The entry step: the value moves, the frame starts (its states are recorded from revm).
    fn evm_entry(&mut self, witness: bool) -> Result<Bytes, StepError> {
        if let Some(created) = self.pending_creation()? {
            return self.creation_entry(created, witness);
        }
        let mut entry_tx = self.call_entry();
        let recipient_before = self
            .world
            .account(entry_tx.to)
            .expect("an entered kind has code");
        let code = self.code(recipient_before.code_hash)?;
        if let Some(delegate) = delegate_in(&code) {
            return self.delegated_entry(entry_tx, code, delegate, witness);
        }
        let (caller_proof, recipient_proof, root) =
            self.value_move(entry_tx.caller, entry_tx.to, entry_tx.value);
        let (substate, warmed, access_proofs) = start_substate(entry_tx.warmed.take());
        let frame_code = (recipient_before.code_hash, code.clone());
        self.enter_frame(&entry_tx, frame_code, substate, warmed, root, None)?;
        Ok(if witness {
            encode_in_tx(
                0,
                encode_entry(
                    entry_tx.raw,
                    caller_proof,
                    recipient_proof,
                    code,
                    access_proofs,
                ),
            )
        } else {
            Bytes::new()
        })
    }

    /// Starts a call transaction's frame at depth 0 (kinds 0, 11 and 13): its state from `tx`, the
    /// code it runs (`(code hash, code)`) and its starting substate; revm's run recorded and
    /// entered, the state root after the value's move being `root`. An EIP-7702 transaction's
    /// frame (`authorization_refund`) has a caller frame without a caller: the state root before
    /// the value moved and the authorizations' refund, which a failure keeps.
    fn enter_frame(
        &mut self,
        tx: &CallEntry,
        (code_hash, code): (B256, Bytes),
        substate: B256,
        warmed: WarmedAccessList,
        root: B256,
        authorization_refund: Option<u64>,
    ) -> Result<(), StepError> {
        let mut base = frame_base(
            tx.hash,
            tx.pre_root,
            tx.to,
            tx.caller,
            tx.value,
            code_hash,
            &tx.calldata,
        );
        base.substate = substate;
        let entry = Arc::new(EvmEntry {
            base,
            code,
            calldata: tx.calldata.clone(),
            coinbase: self.block_of_tx()?.beneficiary,
            created: Address::ZERO,
            warmed,
            authorization_refund,
        });
        let mut run = self.record(&entry)?;
        if let Some(refund) = authorization_refund {
            let frame = &mut run.frames[0];
            frame.caller_frame = CallerFrame {
                stateRoot: tx.pre_root,
                refund,
                ..Default::default()
            };
            frame.parent = keccak256(frame.caller_frame.abi_encode());
        }
        self.enter(entry, run, root)
    }

    /// The entry of a call to an EIP-7702 delegated recipient (docs/evm-steps.md section 1.1,
    /// kind 11): the value moves to the recipient, the delegate (read against the state root
    /// before the move) becomes warm at no cost, and the frame runs the delegate's code; a
    /// delegate without code ends the transaction at once, successful with all its gas.
    fn delegated_entry(
        &mut self,
        mut entry_tx: CallEntry,
        designator: Bytes,
        delegate: Address,
        witness: bool,
    ) -> Result<Bytes, StepError> {
        let (caller, to) = (entry_tx.caller, entry_tx.to);
        let block = self.block_of_tx()?;
        let delegate_proof = self.world.proof(delegate);
        let delegate_hash = self
            .world
            .account(delegate)
            .map_or(KECCAK_EMPTY, |account| account.code_hash);
        let (caller_proof, recipient_proof, root) = self.value_move(caller, to, entry_tx.value);
        // The delegate's access: into the warm-account trie after the access list, unless it is
        // warm from the start or the list is over the cap (the marker stays).
        let mut delegate_warm_proof = Vec::new();
        let warmed = entry_tx.warmed.take().map(|mut warmed| {
            if !warm_from_start(delegate, caller, to, block.beneficiary) {
                delegate_warm_proof = warmed.warm_account(delegate);
            }
            warmed
        });
        let (substate, warmed, access_proofs) = start_substate(warmed);
        let proof = if witness {
            let body = (
                entry_tx.raw.clone(),
                caller_proof,
                recipient_proof,
                designator,
                access_proofs,
                delegate_proof,
                delegate_warm_proof,
                block.clone(),
            )
                .abi_encode_params();
            encode_in_tx(11, body.into())
        } else {
            Bytes::new()
        };
        if delegate_hash == KECCAK_EMPTY {
            // No code runs: revm ends the call at its frame's creation.
            let pending = self.pending.take().expect("checked by the caller");
            let (result, state) = self.run_whole(&pending)?;
            self.finish(&pending, result, state)?;
            return Ok(proof);
        }
        let frame_code = (delegate_hash, self.code(delegate_hash)?);
        self.enter_frame(&entry_tx, frame_code, substate, warmed, root, None)?;
        Ok(proof)
    }

    /// The creation transaction's entry (docs/evm-steps.md section 10, kind 9): the new account
    /// against the state root (a collision ends the transaction, failed; an account with
    /// storage is the rest of the transaction), written with nonce 1 and the value, the sender
    /// debited, and the init code's frame at depth 0 under a caller frame that names the new
    /// account.
    fn creation_entry(&mut self, created: Address, witness: bool) -> Result<Bytes, StepError> {
        let pending = self.pending.as_ref().expect("checked by the caller");
        let tx = pending.tx.inner();
        let hash = *tx.tx_hash();
        let caller = pending.tx.signer();
        let value = tx.value();
        let raw = pending.raw.clone();
        let init_code = tx.input().clone();
        let warmed = warmed_access_list(tx);
        let pre_root = self.state.stateRoot;
        let existing = self.world.account(created);
        let new_proof = self.world.proof(created);
        let encode = |caller_proof: Vec<Bytes>, access_proofs: Vec<Vec<Bytes>>| {
            if witness {
                encode_in_tx(
                    9,
                    (raw.clone(), new_proof.clone(), caller_proof, access_proofs)
                        .abi_encode_params()
                        .into(),
                )
            } else {
                Bytes::new()
            }
        };
        let collision = existing.is_some_and(|a| a.nonce != 0 || a.code_hash != KECCAK_EMPTY);
        if collision || self.world.storage_root(&created) != EMPTY_ROOT_HASH {
            // A collision fails the transaction with all its gas; a new account over storage is
            // not proven (the rest of the transaction).
            let proof = if collision {
                encode(Vec::new(), Vec::new())
            } else {
                Bytes::new()
            };
            let pending = self.pending.take().expect("checked by the caller");
            let (result, state) = self.run_whole(&pending)?;
            self.finish(&pending, result, state)?;
            return Ok(proof);
        }
        // The new account, then (a value) the sender's debit, as the verifier writes them.
        let sender_before = self.world.account(caller);
        let account = AccountState {
            nonce: 1,
            balance: existing.map_or(U256::ZERO, |a| a.balance) + value,
            code_hash: KECCAK_EMPTY,
        };
        self.world.set(created, Some(account));
        let caller_proof = if value.is_zero() {
            Vec::new()
        } else {
            let mut paying = sender_before.expect("the sender prepaid its gas");
            paying.balance -= value;
            self.world.set(caller, Some(paying))
        };
        let root = self.world.root();
        self.world.set(caller, sender_before);
        self.world.set(created, existing);
        let mut base = frame_base(
            hash,
            pre_root,
            created,
            caller,
            value,
            keccak256(&init_code),
            &[],
        );
        let (substate, warmed, access_proofs) = start_substate(warmed);
        base.substate = substate;
        let entry = Arc::new(EvmEntry {
            base,
            code: init_code,
            calldata: Bytes::new(),
            coinbase: self.block_of_tx()?.beneficiary,
            created,
            warmed,
            authorization_refund: None,
        });
        let mut run = self.record(&entry)?;
        // The frame's caller: none, but the snapshot a failed creation restores and the account.
        let frame = &mut run.frames[0];
        frame.caller_frame = CallerFrame {
            stateRoot: pre_root,
            created,
            ..Default::default()
        };
        frame.parent = keccak256(frame.caller_frame.abi_encode());
        self.enter(entry, run, root)?;
        Ok(encode(caller_proof, access_proofs))
    }

    /// Enters the recorded `run` of `entry`, the state root after the entry's value move or
    /// creation being `root`.
    fn enter(
        &mut self,
        entry: Arc<EvmEntry>,
        mut run: EvmRun,
        root: B256,
    ) -> Result<(), StepError> {
        let hash = entry.base.txHash;
        // The state root moves with the run's effects only.
        let roots = if run.effects.is_empty() {
            Vec::new()
        } else {
            self.in_run(&run.effects, |_, _, roots| roots)
        };
        run.finalize(|effects| match effects {
            0 => root,
            done => roots[done - 1],
        });
        let first = run
            .states
            .first()
            .and_then(|entry| entry.instruction())
            .ok_or(StepError::Inconsistent(Phase::InTx))?;
        if first.gas != self.state.gasLeft {
            return Err(StepError::Evm {
                hash,
                source: EvmRunError::GasDiverged {
                    revm: first.gas,
                    machine: self.state.gasLeft,
                },
            });
        }
        self.state.stateRoot = root;
        self.state.evm = first.hash();
        let pending = self.pending.as_mut().expect("checked by the caller");
        pending.entered = Some(Entered {
            entry,
            run: Arc::new(run),
            cursor: 0,
            entry_root: root,
            roots,
        });
        Ok(())
    }

    /// The state revm runs the pending transaction on: the world at its start, with the sender
    /// as it was before the start step.
    fn tx_overlay(&self, pending: &Pending) -> Overlay<&WorldState> {
        let mut overlay = Overlay::new(&self.world.state);
        // An EIP-7702 transaction's authorities as they were before its authorization steps.
        for (authority, before) in pending.authorizing.iter().flat_map(|a| &a.before) {
            overlay.changes.accounts.insert(*authority, *before);
        }
        overlay
            .changes
            .accounts
            .insert(pending.tx.signer(), pending.sender_before);
        overlay
    }

    fn block_of_tx(&self) -> Result<BlockItem, StepError> {
        self.block
            .clone()
            .ok_or(StepError::Inconsistent(Phase::InTx))
    }

    fn record(&self, entry: &EvmEntry) -> Result<EvmRun, StepError> {
        let pending = self.pending.as_ref().expect("recorded in IN_TX");
        let block = block_input(&self.block_of_tx()?);
        let mut run = EvmRun::record(
            self.tx_overlay(pending),
            &self.chain,
            &block,
            tx_env(&pending.tx),
            entry,
        )
        .map_err(|source| StepError::Evm {
            hash: *pending.tx.inner().tx_hash(),
            source,
        })?;
        // A call is provable when its callee is not an existing empty account (docs/evm-steps.md
        // section 4; every precompile, with or without a value, is kind 5; an EIP-7702 delegation
        // is followed, section 9); the first other one is the rest of the transaction.
        let unprovable = run
            .calls
            .iter()
            .find(|&&(_, callee, _, _)| self.world.account(callee).is_some_and(|a| a.is_empty()));
        // A creation over an account that has storage (but no code and nonce 0) is not proven:
        // revm would keep that storage unseen (docs/evm-steps.md section 10).
        let over_storage = run.effects.iter().find(|(_, effect)| {
            matches!(effect, Effect::Create { address, .. }
                if self.world.storage_root(address) != EMPTY_ROOT_HASH)
        });
        // SELFDESTRUCT deletes an account created in the transaction at once, where revm deletes
        // it at the transaction's end; the marker it leaves refuses every later state access
        // (docs/evm-steps.md section 11), and a failing caller undoes both. What the marker does
        // not cover is the code deposit of an init frame that destroyed itself: not proven.
        let mut destroyed: Vec<(usize, Address)> = Vec::new();
        let deposit_into_destroyed =
            run.effects
                .iter()
                .enumerate()
                .find_map(|(position, &(at, effect))| {
                    match effect {
                        Effect::SelfDestruct {
                            account,
                            destroy: true,
                            ..
                        } => destroyed.push((position, account)),
                        Effect::Revert { to } => destroyed.retain(|&(done, _)| done < to),
                        Effect::Code { address, .. }
                            if destroyed.iter().any(|&(_, account)| account == address) =>
                        {
                            return Some(at);
                        }
                        _ => {}
                    }
                    None
                });
        let first = [
            unprovable.map(|call| call.0),
            over_storage.map(|effect| effect.0),
            deposit_into_destroyed,
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(index) = first {
            run.truncate(index);
        }
        Ok(run)
    }

    /// Runs `f` on the world as the pending transaction's EVM run has it after `effects`
    /// (docs/evm-steps.md sections 7 and 9): the entry's value moved from the sender to the
    /// recipient, then the effects in order (SSTOREs, values moved by calls, failed frames
    /// undone); `f` also gets the accounts changed so far and the state root after each effect.
    /// Only the account trie and the storage tries change, and they are restored after: the
    /// world stays at the transaction start while the transaction runs.
    fn in_run<T>(
        &mut self,
        effects: &[(usize, Effect)],
        f: impl FnOnce(&mut World, &Changed, Vec<B256>) -> T,
    ) -> T {
        let pending = self.pending.as_ref().expect("replayed in IN_TX");
        let tx = pending.tx.inner();
        let (caller, value) = (pending.tx.signer(), tx.value());
        let world = &mut self.world;
        let mut changed = Changed::default();
        match tx.to() {
            // A creation transaction's new account (docs/evm-steps.md section 10).
            None => {
                let create = Effect::Create {
                    creator: caller,
                    address: caller.create(tx.nonce()),
                    value,
                };
                changed.apply(world, create, &[]);
            }
            Some(recipient) if !value.is_zero() => {
                let transfer = Effect::Transfer {
                    from: caller,
                    to: recipient,
                    value,
                };
                changed.apply(world, transfer, &[]);
            }
            Some(_) => {}
        }
        let mut starts = Vec::with_capacity(effects.len());
        let mut roots = Vec::with_capacity(effects.len());
        for &(_, effect) in effects {
            starts.push(changed.undo.len());
            changed.apply(world, effect, &starts);
            roots.push(world.trie.root());
        }
        let out = f(world, &changed, roots);
        changed.undo_to(world, 0);
        out
    }

    /// The proofs of a call (docs/evm-steps.md section 6, kind 4): the callee against the state
    /// root before it and, with a value, the frame's account against the root after the callee's
    /// credit (CALL) or the state root (CALLCODE).
    fn call_proofs(
        &mut self,
        run: &EvmRun,
        index: usize,
        witness: &mut InstructionWitness,
    ) -> Result<(), StepError> {
        let op = witness.opcode();
        // The steps of a call's arguments (kind 2) read no account.
        if witness.stack_top.is_empty() || witness.kind() == 2 {
            return Ok(());
        }
        let frame = witness.evm.target;
        let items = witness.call_items();
        let callee = Address::from_word(items[1].into());
        let value = match op {
            0xf1 | 0xf2 => items[2],
            _ => U256::ZERO,
        };
        let done = run.effects.partition_point(|effect| effect.0 < index);
        // A delegated callee: the delegate against the same root (docs/evm-steps.md section 9).
        // No instruction sets a delegation, so the transaction's start state tells.
        let delegate = self.delegate_of(callee);
        let (callee_proof, self_proof, code_hash, delegate_proof) =
            self.in_run(&run.effects[..done], |world, changed, _| {
                let callee_proof = world.trie.proof(&keccak256(callee), false);
                let code_hash = changed
                    .account(world, callee)
                    .map_or(KECCAK_EMPTY, |account| account.code_hash);
                let delegate_proof =
                    delegate.map_or_else(Vec::new, |d| world.trie.proof(&keccak256(d), false));
                if value.is_zero() {
                    return (callee_proof, Vec::new(), code_hash, delegate_proof);
                }
                if op != 0xf1 {
                    let self_proof = world.trie.proof(&keccak256(frame), false);
                    return (callee_proof, self_proof, code_hash, delegate_proof);
                }
                // A CALL to the frame's own account reads its balance from the callee's proof.
                if callee == frame {
                    return (callee_proof, Vec::new(), code_hash, delegate_proof);
                }
                let receiving = changed.credited(world, callee, value);
                let storage_root = changed.storage_root(world, callee);
                let self_proof =
                    world.proof_after_write(callee, &receiving, storage_root, frame, false);
                (callee_proof, self_proof, code_hash, delegate_proof)
            });
        witness.callee_proof = callee_proof;
        witness.self_proof = self_proof;
        witness.callee_code = self.run_code(run, code_hash)?;
        witness.delegate_proof = delegate_proof;
        Ok(())
    }

    /// The EIP-7702 delegate of `address` at the transaction's start, when its code is a
    /// delegation designator.
    fn delegate_of(&self, address: Address) -> Option<Address> {
        let account = self.world.account(address)?;
        delegate_in(&self.code(account.code_hash).ok()?)
    }

    /// The proofs of a creation (docs/evm-steps.md section 10, kind 8): the creator against the
    /// state root before it; once the address is known, the new account against the root after
    /// the nonce bump; with a value and a frame, the creator against the root after the new
    /// account is written.
    fn create_proofs(&mut self, run: &EvmRun, index: usize, witness: &mut InstructionWitness) {
        let creator = witness.evm.target;
        let done = run.effects.partition_point(|effect| effect.0 < index);
        witness.self_proof = self.in_run(&run.effects[..done], |world, _, _| {
            world.trie.proof(&keccak256(creator), false)
        });
        let Some(address) = witness.new_address else {
            return;
        };
        // The effects of the creation itself: its nonce bump, then (a frame) the new account.
        let bumped = (done + 1).min(run.effects.len());
        let started = matches!(
            run.effects.get(bumped),
            Some(&(at, Effect::Create { value, .. })) if at == index && !value.is_zero()
        );
        let (new_proof, self_after_proof) =
            self.in_run(&run.effects[..bumped], |world, changed, _| {
                let new_proof = world.trie.proof(&keccak256(address), false);
                if !started {
                    return (new_proof, Vec::new());
                }
                // The new account as the creation writes it (nonce 1, empty storage), before the
                // creator's debit.
                let value = match run.effects[bumped].1 {
                    Effect::Create { value, .. } => value,
                    _ => unreachable!("matched above"),
                };
                let created = AccountState {
                    nonce: 1,
                    code_hash: KECCAK_EMPTY,
                    ..changed.credited(world, address, value)
                };
                let self_after =
                    world.proof_after_write(address, &created, EMPTY_ROOT_HASH, creator, false);
                (new_proof, self_after)
            });
        witness.new_proof = new_proof;
        witness.self_after_proof = self_after_proof;
    }

    /// The proofs of a SELFDESTRUCT (docs/evm-steps.md section 11, kind 10): the frame's account
    /// against the state root (for a deletion when it pays itself) and against the transaction's
    /// start root; the target against the state root; the frame's account against the root after
    /// the target's credit (for a deletion when it was created in the transaction).
    fn selfdestruct_proofs(
        &mut self,
        run: &EvmRun,
        index: usize,
        witness: &mut InstructionWitness,
    ) {
        let account = witness.evm.target;
        let Some(&target) = witness.stack_top.first() else {
            return;
        };
        let target = Address::from_word(target.into());
        let destroy = run.effects.iter().any(|&(at, effect)| {
            at == index && matches!(effect, Effect::SelfDestruct { destroy: true, .. })
        });
        witness.original_proof = self.world.trie.proof(&keccak256(account), false);
        let done = run.effects.partition_point(|effect| effect.0 < index);
        let (self_proof, target_proof, self_after) =
            self.in_run(&run.effects[..done], |world, changed, _| {
                let key = keccak256(account);
                let self_proof = world.trie.proof(&key, destroy && target == account);
                if target == account {
                    return (self_proof, Vec::new(), Vec::new());
                }
                let target_key = keccak256(target);
                let target_proof = world.trie.proof(&target_key, false);
                let balance = changed
                    .account(world, account)
                    .map_or(U256::ZERO, |a| a.balance);
                // Nothing is written for a zero balance.
                let self_after = if balance.is_zero() {
                    world.trie.proof(&key, destroy)
                } else {
                    let receiving = changed.credited(world, target, balance);
                    let storage_root = changed.storage_root(world, target);
                    world.proof_after_write(target, &receiving, storage_root, account, destroy)
                };
                (self_proof, target_proof, self_after)
            });
        witness.self_proof = self_proof;
        witness.target_proof = target_proof;
        witness.self_after_proof = self_after;
    }

    /// The state proofs of a stage-3 instruction (docs/evm-steps.md section 6, kind 3) against
    /// the state root before it (after the run's earlier effects): for SLOAD and SSTORE, the
    /// frame's account and the slot (and, for an SSTORE that changes the slot, both at the
    /// transaction's start); for BALANCE, EXTCODESIZE, EXTCODEHASH and EXTCODECOPY (kind 7) the
    /// address's account (and EXTCODESIZE and EXTCODECOPY its code); for SELFBALANCE the frame's
    /// account.
    fn state_proofs(
        &mut self,
        run: &EvmRun,
        index: usize,
        witness: &mut InstructionWitness,
    ) -> Result<(), StepError> {
        let op = witness.opcode();
        if call_inputs(op).is_some() {
            return self.call_proofs(run, index, witness);
        }
        if create_inputs(op).is_some() {
            self.create_proofs(run, index, witness);
            return Ok(());
        }
        if op == 0xff {
            self.selfdestruct_proofs(run, index, witness);
            return Ok(());
        }
        let to = witness.evm.target;
        let done = run.effects.partition_point(|effect| effect.0 < index);
        // (A later chunk of an EXTCODECOPY, kind 2, reads no account.)
        if matches!(op, 0x31 | 0x3b | 0x3c | 0x3f | 0x47)
            && (op == 0x47 || !witness.stack_top.is_empty())
            && witness.kind() != 2
        {
            let address = match op {
                0x47 => to,
                _ => Address::from_word(witness.stack_top[0].into()),
            };
            let (proof, account) = self.in_run(&run.effects[..done], |world, changed, _| {
                (
                    world.trie.proof(&keccak256(address), false),
                    changed.account(world, address),
                )
            });
            witness.state.accountProof = proof;
            if matches!(op, 0x3b | 0x3c)
                && let Some(account) = account
            {
                witness.state.extCode = self.run_code(run, account.code_hash)?;
            }
            return Ok(());
        }
        if !matches!(op, 0x54 | 0x55) || witness.stack_top.is_empty() {
            return Ok(());
        }
        let slot = witness.stack_top[0];
        let new = witness.stack_top.get(1).copied().unwrap_or_default();
        let key = keccak256(slot.to_be_bytes::<32>());
        let original_account = self.world.trie.proof(&keccak256(to), false);
        let original_storage = self.world.storage_trie(to).proof(&key, false);
        let (account, storage, current) = self.in_run(&run.effects[..done], |world, _, _| {
            let account = world.trie.proof(&keccak256(to), false);
            let trie = world.storage_trie(to);
            let current = trie.get(&key).cloned();
            (account, trie.proof(&key, new.is_zero()), current)
        });
        let current = match current {
            Some(leaf) => U256::decode(&mut leaf.as_ref())
                .map_err(|_| StepError::Inconsistent(Phase::InTx))?,
            None => U256::ZERO,
        };
        witness.state.accountProof = account;
        witness.state.storageProof = storage;
        if op == 0x55 && new != current {
            witness.state.originalAccountProof = original_account;
            witness.state.originalStorageProof = original_storage;
        }
        Ok(())
    }

    fn instruction_witness(
        &mut self,
        entry: &EvmEntry,
        run: &EvmRun,
        index: usize,
    ) -> Result<Bytes, StepError> {
        let pending = self.pending.as_ref().expect("witnessed in IN_TX");
        let item = self.block_of_tx()?;
        let hash = *pending.tx.inner().tx_hash();
        let captured = EvmRun::witness(
            self.tx_overlay(pending),
            &self.chain,
            &block_input(&item),
            tx_env(&pending.tx),
            entry,
            index,
        )
        .map_err(|source| StepError::Evm { hash, source })?
        .ok_or(StepError::Inconsistent(Phase::InTx))?;
        match captured {
            StepCapture::Instruction(mut captured) => {
                // The recorded state lacks the caller frames' hashes: the finalized run has them.
                captured.evm = run.states[index]
                    .instruction()
                    .ok_or(StepError::Inconsistent(Phase::InTx))?
                    .clone();
                self.state_proofs(run, index, &mut captured)?;
                Ok(captured.into_proof(&item))
            }
            StepCapture::Return {
                frame,
                mut end,
                output,
                dest,
            } => {
                let record = &run.frames[frame];
                end.parent = record.parent;
                // An init frame's deposit: the new account against the root before it.
                let deposits = run
                    .effects
                    .iter()
                    .any(|&(at, effect)| at == index && matches!(effect, Effect::Code { .. }));
                let created_proof = if deposits {
                    let done = run.effects.partition_point(|effect| effect.0 < index);
                    let created = record.created;
                    self.in_run(&run.effects[..done], |world, _, _| {
                        world.trie.proof(&keccak256(created), false)
                    })
                } else {
                    Vec::new()
                };
                Ok(encode_return(
                    end,
                    record.caller_frame.clone(),
                    record.resume.clone(),
                    output,
                    dest,
                    created_proof,
                ))
            }
            StepCapture::LongReturn {
                frame,
                mut end,
                long,
            } => {
                let record = &run.frames[frame];
                end.parent = record.parent;
                Ok(encode_long_return(
                    end,
                    record.caller_frame.clone(),
                    record.resume.clone(),
                    long,
                ))
            }
        }
    }

    /// The rest of the transaction: revm runs the whole transaction from the state before its
    /// start.
    fn run_whole(&self, pending: &Pending) -> Result<(ExecutionResult, RevmState), StepError> {
        let block = self.block_of_tx()?;
        let hash = *pending.tx.inner().tx_hash();
        let overlay = self.tx_overlay(pending);
        let mut evm = build_evm(&overlay, &self.chain, &block_input(&block), |_| {});
        run_tx(&mut evm, tx_env(&pending.tx))?
            .map_err(|rejection| StepError::Diverged { hash, rejection })
    }

    /// `TX_EXECUTED` from revm's result of the whole transaction: its state before the refund and
    /// the fees (the end step pays them).
    fn finish(
        &mut self,
        pending: &Pending,
        result: ExecutionResult,
        evm_state: RevmState,
    ) -> Result<(), StepError> {
        let block = self.block_of_tx()?;
        let caller = pending.tx.signer();
        let hash = *pending.tx.inner().tx_hash();
        let mut changes = StateChanges::default();
        changes.apply_evm_state(&evm_state);

        let gas = result.gas();
        let mut state = self.state.clone();
        state.gasLeft = state.txGasLimit - gas.total_gas_spent();
        state.refund = gas.inner_refunded();
        state.floorGas = gas.floor_gas();
        state.success = result.is_success();
        state.evm = B256::ZERO;
        let used = gas_used(&state);
        if used != result.tx_gas_used() {
            return Err(StepError::GasDiverged {
                hash,
                machine: used,
                revm: result.tx_gas_used(),
            });
        }

        // Back out the refund and the fees: the end step pays them again.
        let refund = U256::from(state.txGasLimit - used) * state.effectiveGasPrice;
        let fee = U256::from(used) * state.priorityFee;
        for (address, amount) in [(caller, refund), (block.beneficiary, fee)] {
            match changes.accounts.get_mut(&address) {
                Some(entry @ Some(_)) => {
                    let account = entry.as_mut().expect("matched Some");
                    account.balance -= amount;
                    if account.is_empty() {
                        *entry = None;
                    }
                }
                _ => debug_assert!(amount.is_zero(), "revm touched every paid account"),
            }
        }
        self.world.apply(&changes);
        state.phase = Phase::TxExecuted as u8;
        state.stateRoot = self.world.root();
        self.state = state;
        Ok(())
    }

    fn tx_end(&mut self, witness: bool) -> Result<Bytes, StepError> {
        let pre = self.state.clone();
        let block = self
            .block
            .clone()
            .ok_or(StepError::Inconsistent(Phase::TxExecuted))?;
        let used = gas_used(&pre);
        let refund = U256::from(pre.txGasLimit - used) * pre.effectiveGasPrice;
        let caller_proof = self.world.credit(pre.caller, refund);
        let fee = U256::from(used) * pre.priorityFee;
        let beneficiary_proof = self.world.credit(block.beneficiary, fee);
        self.state = in_block(
            self.world.root(),
            pre.inputs,
            pre.blockItem,
            pre.blockGasUsed + used,
            pre.txsLeft,
        );
        Ok(if witness {
            (block, caller_proof, beneficiary_proof)
                .abi_encode_params()
                .into()
        } else {
            Bytes::new()
        })
    }
}

/// Gas a transaction is charged at its end: `max(spent - min(refund, spent / 5), floorGas)`.
pub fn gas_used(state: &MachineState) -> u64 {
    let spent = state.txGasLimit - state.gasLeft;
    let refund = state.refund.min(spent / 5);
    (spent - refund).max(state.floorGas)
}

fn in_block(
    state_root: B256,
    inputs: B256,
    block_item: B256,
    block_gas_used: u64,
    txs_left: u32,
) -> MachineState {
    MachineState {
        phase: Phase::InBlock as u8,
        stateRoot: state_root,
        inputs,
        blockItem: block_item,
        blockGasUsed: block_gas_used,
        txsLeft: txs_left,
        ..Default::default()
    }
}

/// The witness of a transaction start.
#[derive(Clone, Debug, Default)]
struct TxStartWitness {
    block: BlockItem,
    raw: Bytes,
    tail: B256,
    sender_proof: Vec<Bytes>,
    recipient_proof: Vec<Bytes>,
    sender_code: Bytes,
}

impl TxStartWitness {
    /// `abi.encode(BlockItem block, bytes rawTx, bytes32 tail, bytes[] senderProof,
    /// bytes[] recipientProof, bytes senderCode)`.
    fn encode(self) -> Bytes {
        (
            self.block,
            self.raw,
            self.tail,
            self.sender_proof,
            self.recipient_proof,
            self.sender_code,
        )
            .abi_encode_params()
            .into()
    }
}

/// An in-memory secure Merkle Patricia trie over 32-byte keys that caches the reference
/// (`rlp(node)` or `rlp(keccak(rlp(node)))`) of every node, so that the root after an update
/// re-encodes only the updated path. Proofs have the format of [`super::mpt::LeafTrie`].
#[derive(Clone, Debug, Default)]
pub struct AccountTrie {
    root: Option<Box<Node>>,
    len: usize,
}

#[derive(Clone, Debug)]
struct Node {
    kind: Kind,
    /// The node's reference, when computed since the node last changed.
    reference: Option<RlpNode>,
}

#[derive(Clone, Debug)]
enum Kind {
    Leaf {
        path: Nibbles,
        value: Bytes,
    },
    Extension {
        path: Nibbles,
        child: Box<Node>,
    },
    Branch {
        children: Box<[Option<Box<Node>>; 16]>,
    },
}

fn node(kind: Kind) -> Box<Node> {
    Box::new(Node {
        kind,
        reference: None,
    })
}

fn leaf(path: Nibbles, value: Bytes) -> Box<Node> {
    node(Kind::Leaf { path, value })
}

/// `prefix` followed by `child` (an extension, or `child` itself for an empty prefix).
fn extension(prefix: Nibbles, child: Box<Node>) -> Box<Node> {
    if prefix.is_empty() {
        child
    } else {
        node(Kind::Extension {
            path: prefix,
            child,
        })
    }
}

fn branch(children: Box<[Option<Box<Node>>; 16]>) -> Box<Node> {
    node(Kind::Branch { children })
}

/// `prefix` joined onto `child`: a leaf or an extension absorbs it, a branch gets an extension.
fn join(prefix: Nibbles, child: Box<Node>) -> Box<Node> {
    if matches!(child.kind, Kind::Branch { .. }) {
        return extension(prefix, child);
    }
    match child.kind {
        Kind::Leaf { path, value } => leaf(prefix.join(&path), value),
        Kind::Extension { path, child } => extension(prefix.join(&path), child),
        Kind::Branch { .. } => unreachable!("handled above"),
    }
}

impl Node {
    /// The node's reference, computing (and caching) it and its descendants' as needed.
    fn reference(&mut self) -> RlpNode {
        if let Some(reference) = &self.reference {
            return reference.clone();
        }
        match &mut self.kind {
            Kind::Leaf { .. } => {}
            Kind::Extension { child, .. } => {
                child.reference();
            }
            Kind::Branch { children } => {
                for child in children.iter_mut().flatten() {
                    child.reference();
                }
            }
        }
        let reference = RlpNode::from_rlp(&self.encode());
        self.reference = Some(reference.clone());
        reference
    }

    /// The node's RLP; the references of its children must be computed.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        match &self.kind {
            Kind::Leaf { path, value } => LeafNodeRef::new(path, value).encode(&mut out),
            Kind::Extension { path, child } => {
                ExtensionNodeRef::new(path, child.cached()).encode(&mut out)
            }
            Kind::Branch { children } => {
                let mut stack = Vec::with_capacity(16);
                let mut mask = TrieMask::default();
                for (i, child) in children.iter().enumerate() {
                    if let Some(child) = child {
                        stack.push(RlpNode::from_raw(child.cached()).expect("a reference"));
                        mask.set_bit(i as u8);
                    }
                }
                BranchNodeRef::new(&stack, mask).encode(&mut out)
            }
        }
        out
    }

    fn cached(&self) -> &[u8] {
        self.reference
            .as_deref()
            .expect("references are computed before encoding a parent")
    }
}

fn insert(current: Option<Box<Node>>, rest: &Nibbles, value: Bytes) -> Box<Node> {
    let Some(current) = current else {
        return leaf(*rest, value);
    };
    match current.kind {
        Kind::Leaf { path, value: old } => {
            if path == *rest {
                return leaf(path, value);
            }
            let common = path.common_prefix_length(rest);
            let mut children: Box<[Option<Box<Node>>; 16]> = Box::default();
            children[path.get_unchecked(common) as usize] =
                Some(leaf(path.slice(common + 1..), old));
            children[rest.get_unchecked(common) as usize] =
                Some(leaf(rest.slice(common + 1..), value));
            extension(rest.slice(..common), branch(children))
        }
        Kind::Extension { path, child } => {
            let common = path.common_prefix_length(rest);
            if common == path.len() {
                let child = insert(Some(child), &rest.slice(common..), value);
                return extension(path, child);
            }
            let mut children: Box<[Option<Box<Node>>; 16]> = Box::default();
            children[path.get_unchecked(common) as usize] =
                Some(extension(path.slice(common + 1..), child));
            children[rest.get_unchecked(common) as usize] =
                Some(leaf(rest.slice(common + 1..), value));
            extension(path.slice(..common), branch(children))
        }
        Kind::Branch { mut children } => {
            let i = rest.get_unchecked(0) as usize;
            children[i] = Some(insert(children[i].take(), &rest.slice(1..), value));
            branch(children)
        }
    }
}

/// Removes the key at `rest`, which must be present under `current`.
fn remove(current: Node, rest: &Nibbles) -> Option<Box<Node>> {
    match current.kind {
        Kind::Leaf { .. } => None,
        Kind::Extension { path, child } => {
            let child = remove(*child, &rest.slice(path.len()..)).expect("a branch keeps a child");
            Some(join(path, child))
        }
        Kind::Branch { mut children } => {
            let i = rest.get_unchecked(0) as usize;
            children[i] = children[i]
                .take()
                .and_then(|c| remove(*c, &rest.slice(1..)));
            let mut present = children
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_some())
                .map(|(i, _)| i);
            match (present.next(), present.next()) {
                (Some(only), None) => {
                    let child = children[only].take().expect("present");
                    Some(join(Nibbles::from_nibbles([only as u8]), child))
                }
                _ => Some(branch(children)),
            }
        }
    }
}

impl AccountTrie {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the trie has no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value at `key`.
    pub fn get(&self, key: &B256) -> Option<&Bytes> {
        let rest = Nibbles::unpack(key);
        let mut pos = 0;
        let mut current = self.root.as_deref()?;
        loop {
            match &current.kind {
                Kind::Leaf { path, value } => {
                    return (rest.slice(pos..) == *path).then_some(value);
                }
                Kind::Extension { path, child } => {
                    if !rest.slice(pos..).starts_with(path) {
                        return None;
                    }
                    pos += path.len();
                    current = child;
                }
                Kind::Branch { children } => {
                    current = children[rest.get_unchecked(pos) as usize].as_deref()?;
                    pos += 1;
                }
            }
        }
    }

    /// Sets `key` to the non-empty `value`.
    pub fn insert(&mut self, key: B256, value: Bytes) {
        debug_assert!(!value.is_empty(), "an empty value deletes");
        if self.get(&key).is_none() {
            self.len += 1;
        }
        self.root = Some(insert(self.root.take(), &Nibbles::unpack(key), value));
    }

    /// Sets `key` to `value`, or removes it for `None` (as [`super::mpt::LeafTrie::set`]).
    pub fn set(&mut self, key: B256, value: Option<Bytes>) {
        match value {
            Some(value) => self.insert(key, value),
            None => self.remove(&key),
        }
    }

    /// Removes `key` (nothing when absent).
    pub fn remove(&mut self, key: &B256) {
        if self.get(key).is_none() {
            return;
        }
        self.len -= 1;
        let root = self.root.take().expect("a key is present");
        self.root = remove(*root, &Nibbles::unpack(key));
    }

    /// The root hash (`EMPTY_ROOT_HASH` for the empty trie).
    pub fn root(&mut self) -> B256 {
        match &mut self.root {
            None => EMPTY_ROOT_HASH,
            Some(root) => {
                let reference = root.reference();
                reference
                    .as_hash()
                    .unwrap_or_else(|| keccak256(reference.as_slice()))
            }
        }
    }

    /// The proof of `key` against [`Self::root`], as `MerkleTrie.get` takes it (the path nodes,
    /// root first, inlined nodes left out) and, with `delete`, as `MerkleTrie.update` takes it to
    /// delete `key`: when the key is present and its branch is left with one child referenced by
    /// hash, that child's node last.
    pub fn proof(&mut self, key: &B256, delete: bool) -> Vec<Bytes> {
        self.root();
        let delete = delete && self.get(key).is_some();
        let rest = Nibbles::unpack(key);
        let mut proof = Vec::new();
        let mut sibling: Option<&Node> = None;
        let mut pos = 0;
        let mut current = self.root.as_deref();
        while let Some(n) = current {
            let encoded = n.encode();
            if proof.is_empty() || encoded.len() >= 32 {
                proof.push(encoded.into());
            }
            current = match &n.kind {
                Kind::Leaf { .. } => None,
                Kind::Extension { path, child } => {
                    let on_path = rest.slice(pos..).starts_with(path);
                    pos += path.len();
                    on_path.then_some(&**child)
                }
                Kind::Branch { children } => {
                    let i = rest.get_unchecked(pos) as usize;
                    pos += 1;
                    let mut others = children
                        .iter()
                        .enumerate()
                        .filter(|(j, c)| *j != i && c.is_some());
                    sibling = match (others.next(), others.next()) {
                        (Some((_, only)), None) => only.as_deref(),
                        _ => None,
                    };
                    children[i].as_deref()
                }
            };
        }
        if delete && let Some(sibling) = sibling {
            let encoded = sibling.encode();
            if encoded.len() >= 32 {
                proof.push(encoded.into());
            }
        }
        proof
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::mpt::{self, LeafTrie};

    /// A deterministic xorshift generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// A world of two contracts with storage and a funded account.
    fn replay_world() -> (World, [Address; 3]) {
        let mut state = WorldState::default();
        let [a, b, c] = [1u8, 2, 3].map(|i| Address::repeat_byte(0xa0 + i));
        for (address, code) in [
            (a, Some(Bytes::from_static(&[0x00]))),
            (b, Some(Bytes::from_static(&[0x5f, 0x00]))),
            (c, None),
        ] {
            state.insert_account(address, AccountState::with_balance(U256::from(1000)), code);
        }
        state.set_storage(a, U256::from(1), U256::from(11));
        state.set_storage(b, U256::from(2), U256::from(22));
        (World::new(state), [a, b, c])
    }

    /// The root after `effects` replayed from scratch, with the world restored after.
    fn replayed(world: &mut World, effects: &[Effect]) -> B256 {
        let mut changed = Changed::default();
        let mut starts = Vec::new();
        for &effect in effects {
            starts.push(changed.undo.len());
            changed.apply(world, effect, &starts);
        }
        let root = world.trie.root();
        changed.undo_to(world, 0);
        root
    }

    #[test]
    fn replayed_effects_undo_failed_frames_exactly() {
        let (mut world, [a, b, c]) = replay_world();
        let start = world.root();
        let store = |account, slot: u64, value: u64| Effect::Store {
            account,
            slot: U256::from(slot),
            value: U256::from(value),
        };
        let transfer = |from, to, value: u64| Effect::Transfer {
            from,
            to,
            value: U256::from(value),
        };
        let kept = [transfer(a, b, 5), store(a, 1, 0)];
        let after_kept = replayed(&mut world, &kept);
        assert_ne!(after_kept, start);
        // A frame that stores in two accounts, moves a value and creates an account, then fails.
        let failed = [
            kept[0],
            kept[1],
            store(b, 2, 0),
            store(b, 9, 99),
            transfer(b, c, 7),
            transfer(b, Address::repeat_byte(0xee), 1),
            Effect::Revert { to: 2 },
        ];
        assert_eq!(replayed(&mut world, &failed), after_kept);
        // Nested: an inner frame fails inside an outer one that fails too.
        let nested = [
            kept[0],
            store(a, 1, 5),
            store(b, 2, 6),
            transfer(b, c, 3),
            Effect::Revert { to: 2 },
            store(a, 1, 7),
            Effect::Revert { to: 1 },
            kept[1],
        ];
        assert_eq!(replayed(&mut world, &nested), after_kept);
        // An inner frame that failed without effects of its own, then effects that stay.
        let empty = [kept[0], Effect::Revert { to: 1 }, kept[1]];
        assert_eq!(replayed(&mut world, &empty), after_kept);
        // The world is back at its start, storage tries included.
        assert_eq!(world.root(), start);
        assert_eq!(replayed(&mut world, &kept), after_kept);
    }

    /// Keys that share long prefixes (so that the trie has extensions and inlined nodes) and
    /// spread ones.
    fn key(rng: &mut Rng) -> B256 {
        let mut bytes = [0u8; 32];
        match rng.next() % 3 {
            0 => bytes = keccak256(rng.next().to_be_bytes()).0,
            1 => {
                bytes[..31].copy_from_slice(&[0xab; 31]);
                bytes[31] = (rng.next() % 8) as u8;
            }
            _ => {
                bytes[..16].copy_from_slice(&[0x12; 16]);
                bytes[16..24].copy_from_slice(&rng.next().to_be_bytes());
            }
        }
        B256::from(bytes)
    }

    fn value(rng: &mut Rng) -> Bytes {
        let len = [1, 2, 5, 40, 80][(rng.next() % 5) as usize];
        (0..len).map(|_| rng.next() as u8 | 1).collect()
    }

    #[test]
    fn account_trie_roots_and_proofs_are_those_of_the_leaf_trie() {
        let mut rng = Rng(0x9e3779b97f4a7c15);
        let mut trie = AccountTrie::default();
        let mut reference = LeafTrie::new();
        let mut keys = Vec::new();
        for round in 0..600 {
            let remove = round % 3 == 2 && !keys.is_empty();
            let key = if remove || (round % 5 == 1 && !keys.is_empty()) {
                keys[(rng.next() as usize) % keys.len()]
            } else {
                let k = key(&mut rng);
                keys.push(k);
                k
            };
            let root = trie.root();
            assert_eq!(root, reference.root(), "round {round}");
            // Proofs of a present or absent key.
            let probe = if rng.next().is_multiple_of(2) {
                key
            } else {
                key_of(&mut rng)
            };
            let proof = trie.proof(&probe, false);
            assert_eq!(proof, reference.get_proof(probe), "round {round}");
            assert_eq!(
                mpt::verify_get(root, probe, &proof).expect("valid proof"),
                reference.get(&probe).cloned()
            );
            if remove {
                let proof = trie.proof(&key, true);
                assert_eq!(proof, reference.update_proof(key, None), "round {round}");
                trie.remove(&key);
                reference.remove(&key);
                assert_eq!(
                    mpt::verify_update(root, key, &[], &proof).expect("valid deletion"),
                    reference.root()
                );
            } else {
                let v = value(&mut rng);
                let proof = trie.proof(&key, false);
                assert_eq!(
                    proof,
                    reference.update_proof(key, Some(&v)),
                    "round {round}"
                );
                trie.insert(key, v.clone());
                reference.insert(key, v.clone());
                assert_eq!(
                    mpt::verify_update(root, key, &v, &proof).expect("valid update"),
                    reference.root()
                );
            }
            assert_eq!(trie.len(), reference.len());
            assert_eq!(trie.get(&key), reference.get(&key));
        }
        // Empty it again.
        for key in reference.leaves().keys().copied().collect::<Vec<_>>() {
            let proof = trie.proof(&key, true);
            assert_eq!(proof, reference.update_proof(key, None));
            trie.remove(&key);
            reference.remove(&key);
            assert_eq!(trie.root(), reference.root());
        }
        assert!(trie.is_empty());
        assert_eq!(trie.root(), EMPTY_ROOT_HASH);
    }

    fn key_of(rng: &mut Rng) -> B256 {
        key(rng)
    }

    #[test]
    fn precompiles_are_those_of_prague() {
        let prague: Vec<Address> = revm::precompile::Precompiles::prague()
            .addresses()
            .copied()
            .collect();
        assert_eq!(prague.len() as u64, LAST_PRECOMPILE);
        for address in prague {
            assert!(is_precompile(address), "{address}");
        }
        assert!(!is_precompile(Address::ZERO));
        assert!(!is_precompile(Address::with_last_byte(0x12)));
    }
}
