//! State commitment: the Merkle Patricia state root and storage roots, computed
//! exactly as Ethereum does, incrementally per block, and EIP-1186 proofs.

mod cached;

use cached::CachedTrie;

use crate::state::{AccountState, StateChanges, WorldState};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, map::HashMap};
use alloy_rlp::Encodable as _;
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, TrieAccount};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Keeps the hashed-key leaves of the account trie and every storage trie,
/// with the hashes of their upper nodes, so that a block's state root
/// rehashes only the paths to changed leaves, and storage roots are
/// recomputed only for accounts whose storage changed.
#[derive(Clone, Debug, Default)]
pub struct StateCommitment {
    /// keccak(address) -> account (storage root filled in).
    accounts: CachedTrie<TrieAccount>,
    /// keccak(address) -> (keccak(slot) -> value), non-zero values only.
    storage: HashMap<B256, CachedTrie<U256>>,
}

impl StateCommitment {
    /// Builds the commitment of a whole state.
    pub fn from_state(state: &WorldState) -> Self {
        let mut accounts = BTreeMap::new();
        let mut storage = HashMap::default();
        for (address, account) in state.accounts() {
            let hashed = keccak256(address);
            let slots: BTreeMap<B256, U256> = state
                .storage_of(address)
                .map(|s| {
                    s.iter()
                        .filter(|(_, v)| !v.is_zero())
                        .map(|(k, v)| (keccak256(k.to_be_bytes::<32>()), *v))
                        .collect()
                })
                .unwrap_or_default();
            let mut slots = CachedTrie::from(slots);
            let storage_root = slots.root(&encode_value, 1);
            if !slots.is_empty() {
                storage.insert(hashed, slots);
            }
            accounts.insert(hashed, trie_account(account, storage_root));
        }
        Self {
            accounts: CachedTrie::from(accounts),
            storage,
        }
    }

    /// Applies a block's changes; the next `root()` reflects them.
    pub fn apply(&mut self, changes: &StateChanges) {
        self.apply_with_threads(changes, 1);
    }

    /// [`StateCommitment::apply`] with keys hashed and the tries' parts
    /// updated in parallel when `threads` > 1 (on the current rayon pool).
    pub fn apply_with_threads(&mut self, changes: &StateChanges, threads: usize) {
        for address in &changes.destroyed {
            self.storage.remove(&keccak256(address));
        }
        // The trie keys of every changed slot, hashed on all threads.
        let slot_changes: Vec<(&U256, &U256)> = changes.storage.values().flatten().collect();
        let mut slot_keys = parallel_map(&slot_changes, threads, |(slot, _)| {
            keccak256(slot.to_be_bytes::<32>())
        })
        .into_iter();
        // Storage tries whose root must be recomputed: changed or destroyed.
        let mut dirty: Vec<B256> = Vec::with_capacity(changes.storage.len());
        for (address, slots) in &changes.storage {
            let hashed = keccak256(address);
            let batch: Vec<(B256, U256)> = slots
                .values()
                .map(|value| (slot_keys.next().expect("one key per changed slot"), *value))
                .collect();
            self.storage
                .entry(hashed)
                .or_default()
                .apply(batch, threads, &|_, _, value: U256| {
                    (!value.is_zero()).then_some(value)
                });
            dirty.push(hashed);
        }
        dirty.extend(changes.destroyed.iter().map(keccak256));
        let mut storage_roots: HashMap<B256, B256> = HashMap::default();
        for hashed in dirty {
            let root = self.storage_root_hashed(hashed, threads);
            if self.storage.get(&hashed).is_some_and(|s| s.is_empty()) {
                self.storage.remove(&hashed);
            }
            storage_roots.insert(hashed, root);
        }
        // The accounts, each part of the trie on its own thread: a storage
        // root recomputed above, or the leaf's own, or that of no storage.
        let addresses: Vec<&Address> = changes.accounts.keys().collect();
        let hashed_addresses = parallel_map(&addresses, threads, |address| keccak256(address));
        let batch: Vec<(B256, Option<&AccountState>)> = hashed_addresses
            .iter()
            .zip(changes.accounts.values())
            .map(|(hashed, account)| (*hashed, account.as_ref()))
            .collect();
        self.accounts
            .apply(batch, threads, &|hashed, leaf, account| {
                account.map(|account| {
                    let storage_root = storage_roots
                        .get(hashed)
                        .copied()
                        .or(leaf.map(|leaf| leaf.storage_root))
                        .unwrap_or(EMPTY_ROOT_HASH);
                    trie_account(account, storage_root)
                })
            });
        // Storage changed without the account itself in the change set.
        for (hashed, root) in &storage_roots {
            if self
                .accounts
                .get(hashed)
                .is_some_and(|a| a.storage_root != *root)
            {
                self.accounts
                    .update(hashed, |account| account.storage_root = *root);
            }
        }
        for (hashed, account) in hashed_addresses.iter().zip(changes.accounts.values()) {
            if account.is_none() {
                self.storage.remove(hashed);
            }
        }
    }

    fn storage_root_hashed(&mut self, hashed: B256, threads: usize) -> B256 {
        self.storage
            .get_mut(&hashed)
            .map(|slots| slots.root(&encode_value, threads))
            .unwrap_or(EMPTY_ROOT_HASH)
    }

    /// The state root.
    pub fn root(&mut self) -> B256 {
        self.root_with_threads(1)
    }

    /// The state root, hashed in parallel when `threads` > 1 (on the current
    /// rayon pool: run it inside the pool whose threads it may use), the same
    /// result as [`StateCommitment::root`].
    pub fn root_with_threads(&mut self, threads: usize) -> B256 {
        self.accounts.root(&encode_value, threads)
    }

    /// EIP-1186 proof of an account and some of its slots against `root()`.
    /// Right after `root()` it hashes only the leaves near each key's path
    /// (the cached subtree hashes serve the rest), so a proof costs about the
    /// same at any state size.
    pub fn proof(&self, address: Address, slots: &[B256]) -> AccountProof {
        self.proof_with(address, slots, true)
    }

    /// [`StateCommitment::proof`] built by hashing every leaf of the tries on
    /// the paths: the same proof, at a cost that grows with the state (the
    /// reference for tests and `bench-proof`).
    pub fn proof_hashing_every_leaf(&self, address: Address, slots: &[B256]) -> AccountProof {
        self.proof_with(address, slots, false)
    }

    fn proof_with(&self, address: Address, slots: &[B256], from_cache: bool) -> AccountProof {
        let hashed = keccak256(address);
        let account_proof = proof_path(
            self.accounts.proof(&hashed, &encode_value, from_cache),
            &Nibbles::unpack(hashed),
        );
        let account = self.accounts.get(&hashed).copied();
        let trie = self.storage.get(&hashed);
        let empty = CachedTrie::default();
        let storage_proofs = slots
            .iter()
            .map(|slot| {
                let key = keccak256(slot);
                let trie = trie.unwrap_or(&empty);
                StorageProof {
                    slot: *slot,
                    value: trie.get(&key).copied().unwrap_or_default(),
                    proof: proof_path(
                        trie.proof(&key, &encode_value, from_cache),
                        &Nibbles::unpack(key),
                    ),
                }
            })
            .collect();
        AccountProof {
            address,
            account,
            account_proof,
            storage_proofs,
        }
    }

    /// Number of accounts in the trie.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when the state has no accounts.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

fn proof_path(nodes: alloy_trie::proof::ProofNodes, target: &Nibbles) -> Vec<Bytes> {
    nodes
        .matching_nodes_sorted(target)
        .into_iter()
        .map(|(_, node)| node)
        .collect()
}

/// A trie leaf's value: its RLP encoding.
fn encode_value<T: alloy_rlp::Encodable>(value: &T, buf: &mut Vec<u8>) {
    value.encode(buf);
}

fn trie_account(account: &AccountState, storage_root: B256) -> TrieAccount {
    TrieAccount::new(
        account.nonce,
        account.balance,
        storage_root,
        account.code_hash,
    )
}

/// The root of one storage trie given its hashed-key leaves.
pub fn storage_root_of(slots: &BTreeMap<B256, U256>) -> B256 {
    storage_root_with_threads(slots, 1)
}

/// [`storage_root_of`], hashed in parallel when `threads` > 1 (on the
/// current rayon pool).
pub fn storage_root_with_threads(slots: &BTreeMap<B256, U256>, threads: usize) -> B256 {
    trie_root(
        slots,
        |value, buf| alloy_rlp::Encodable::encode(value, buf),
        threads,
    )
}

/// `f` over `items`, in order, on rayon's threads when `threads` > 1 (one
/// thread for short inputs).
fn parallel_map<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> U + Sync + Send,
) -> Vec<U> {
    if threads <= 1 || items.len() < PARALLEL_TRIE_MIN_LEAVES {
        return items.iter().map(f).collect();
    }
    items.par_iter().with_min_len(1024).map(f).collect()
}

/// Below this many leaves a trie is hashed on one thread.
const PARALLEL_TRIE_MIN_LEAVES: usize = 2048;

/// The Merkle Patricia root of a trie whose leaves are keyed by 32-byte
/// hashes, each value RLP-encoded by `encode`.
///
/// With `threads` > 1, the sixteen subtries under the root's branch node are
/// hashed independently on rayon's threads (the keys stripped of their first nibble) and the
/// branch is encoded from their hashes. With 64-nibble keys no node below the
/// root is shorter than 32 bytes (a leaf holds a 63-nibble path; extensions
/// and branches hold hashes), so every child is referenced by its hash and
/// the result is exactly the one-pass root. A trie whose leaves share one
/// first nibble has no branch at the root and is hashed in one pass.
fn trie_root<V: Sync>(
    leaves: &BTreeMap<B256, V>,
    encode: impl Fn(&V, &mut Vec<u8>) + Sync + Send,
    threads: usize,
) -> B256 {
    let subtrie = |first: u8, strip: usize| {
        let mut lo = B256::ZERO;
        lo.0[0] = first << 4;
        let mut hb = HashBuilder::default();
        let mut buf = Vec::with_capacity(128);
        let mut any = false;
        let range = if strip == 0 {
            leaves.range::<B256, _>(..)
        } else if first == 15 {
            leaves.range::<B256, _>(lo..)
        } else {
            let mut hi = B256::ZERO;
            hi.0[0] = (first + 1) << 4;
            leaves.range::<B256, _>(lo..hi)
        };
        for (key, value) in range {
            buf.clear();
            encode(value, &mut buf);
            hb.add_leaf(Nibbles::unpack(key).slice(strip..), &buf);
            any = true;
        }
        any.then(|| hb.root())
    };
    let spread = {
        let first = leaves.keys().next().map(|k| k.0[0] >> 4);
        let last = leaves.keys().next_back().map(|k| k.0[0] >> 4);
        first != last
    };
    if threads <= 1 || leaves.len() < PARALLEL_TRIE_MIN_LEAVES || !spread {
        return subtrie(0, 0).unwrap_or(EMPTY_ROOT_HASH);
    }
    let children: Vec<Option<B256>> = (0..16u8).into_par_iter().map(|n| subtrie(n, 1)).collect();
    branch_hash(&children)
}

/// Keccak of a branch node with the given child hashes and no value.
fn branch_hash(children: &[Option<B256>]) -> B256 {
    let payload_length: usize = children
        .iter()
        .map(|c| if c.is_some() { 33 } else { 1 })
        .sum::<usize>()
        + 1;
    let mut out = Vec::with_capacity(payload_length + 3);
    alloy_rlp::Header {
        list: true,
        payload_length,
    }
    .encode(&mut out);
    for child in children {
        match child {
            Some(hash) => hash.encode(&mut out),
            None => out.push(alloy_rlp::EMPTY_STRING_CODE),
        }
    }
    out.push(alloy_rlp::EMPTY_STRING_CODE);
    keccak256(out)
}

/// An account's Merkle proof and its storage proofs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountProof {
    /// The account proven.
    pub address: Address,
    /// Its trie leaf, `None` when absent (the proof is then an exclusion proof).
    pub account: Option<TrieAccount>,
    /// Nodes from the root to the leaf.
    pub account_proof: Vec<Bytes>,
    /// One proof per requested slot.
    pub storage_proofs: Vec<StorageProof>,
}

/// A storage slot's Merkle proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageProof {
    /// The slot (unhashed key).
    pub slot: B256,
    /// Its value.
    pub value: U256,
    /// Nodes from the storage root to the leaf.
    pub proof: Vec<Bytes>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    /// Proofs served from the cached hashes equal proofs from every leaf, for
    /// present and absent accounts and slots, before and after a block.
    #[test]
    fn proofs_from_the_cache_equal_proofs_from_every_leaf() {
        let contract = Address::repeat_byte(0xcc);
        let mut state = WorldState::default();
        for i in 0..20_000u64 {
            let mut a = Address::ZERO;
            a.0[12..20].copy_from_slice(&i.to_be_bytes());
            state.insert_account(a, AccountState::with_balance(U256::from(i + 1)), None);
            state.set_storage(contract, U256::from(i), U256::from(i * 3 + 1));
        }
        state.insert_account(contract, AccountState::with_balance(U256::ZERO), None);
        let mut commitment = StateCommitment::from_state(&state);
        let check = |commitment: &mut StateCommitment, what: &str| {
            let root = commitment.root();
            for i in (0..20_000u64).step_by(1999).chain([5_000_000]) {
                let mut a = Address::ZERO;
                a.0[12..20].copy_from_slice(&i.to_be_bytes());
                let slots = [
                    B256::from(U256::from(i)),
                    B256::from(U256::from(i + 1_000_000)),
                ];
                for address in [a, contract] {
                    let proof = commitment.proof(address, &slots);
                    assert_eq!(
                        proof,
                        commitment.proof_hashing_every_leaf(address, &slots),
                        "{what}: {address}"
                    );
                    let first = proof.account_proof.first().expect("a root node");
                    assert_eq!(keccak256(first), root, "{what}: proof from the root");
                }
            }
        };
        check(&mut commitment, "pre-state");
        let mut changes = StateChanges::default();
        changes.storage.insert(
            contract,
            (0..500u64)
                .map(|i| (U256::from(i * 7), U256::ZERO))
                .collect(),
        );
        commitment.apply(&changes);
        check(&mut commitment, "after a block");
    }

    #[test]
    fn empty_state_has_the_empty_root() {
        let mut c = StateCommitment::default();
        assert_eq!(c.root(), EMPTY_ROOT_HASH);
    }

    #[test]
    fn incremental_root_equals_root_from_scratch() {
        let mut state = WorldState::default();
        let a = address!("0x00000000000000000000000000000000000000aa");
        let b = address!("0x00000000000000000000000000000000000000bb");
        state.insert_account(a, AccountState::with_balance(U256::from(5)), None);
        let mut commitment = StateCommitment::from_state(&state);
        let mut changes = StateChanges::default();
        changes
            .accounts
            .insert(b, Some(AccountState::with_balance(U256::from(7))));
        changes
            .storage
            .entry(b)
            .or_default()
            .insert(U256::from(1), U256::from(9));
        changes.accounts.insert(a, None);
        commitment.apply(&changes);
        state.apply(&changes);
        assert_eq!(
            commitment.root(),
            StateCommitment::from_state(&state).root()
        );
        assert_ne!(commitment.root(), EMPTY_ROOT_HASH);
    }

    #[test]
    fn matches_alloy_trie_reference_root() {
        let mut state = WorldState::default();
        let mut reference = Vec::new();
        for i in 1..50u64 {
            let address = Address::with_last_byte(i as u8);
            let account = AccountState {
                nonce: i,
                balance: U256::from(i * 1000),
                ..AccountState::with_balance(U256::ZERO)
            };
            state.insert_account(address, account, None);
            reference.push((address, trie_account(&account, EMPTY_ROOT_HASH)));
        }
        let expected = alloy_trie::root::state_root_unhashed(reference);
        assert_eq!(StateCommitment::from_state(&state).root(), expected);
    }

    /// Leaves with keys from a small deterministic generator; `skew` puts
    /// every key under one first nibble, or most of them.
    fn leaves(n: u64, skew: Option<u8>) -> BTreeMap<B256, U256> {
        (0..n)
            .map(|i| {
                let mut key = keccak256(i.to_be_bytes());
                if let Some(nibble) = skew
                    && (i % 10 != 0 || n < 5000)
                {
                    key.0[0] = (nibble << 4) | (key.0[0] & 0x0f);
                }
                (key, U256::from(i + 1))
            })
            .collect()
    }

    #[test]
    fn parallel_trie_root_equals_the_one_pass_root() {
        for n in [0, 1, 2, 17, 2047, 2048, 3000, 20_000] {
            for skew in [None, Some(0), Some(7), Some(15)] {
                let slots = leaves(n, skew);
                let one_pass = storage_root_of(&slots);
                for threads in [2, 3, 16, 64] {
                    assert_eq!(
                        storage_root_with_threads(&slots, threads),
                        one_pass,
                        "{n} leaves, skew {skew:?}, {threads} threads"
                    );
                }
            }
        }
        // And against alloy-trie's own root of the same leaves.
        let slots = leaves(5000, None);
        let expected = alloy_trie::root::storage_root(slots.iter().map(|(k, v)| (*k, *v)));
        assert_eq!(storage_root_with_threads(&slots, 2), expected);
    }

    #[test]
    fn parallel_apply_and_root_equal_sequential() {
        let mut state = WorldState::default();
        let token = Address::with_last_byte(0xee);
        state.insert_account(token, AccountState::with_balance(U256::ZERO), None);
        for i in 1..6000u64 {
            let address = Address::from_word(keccak256(i.to_be_bytes()));
            state.insert_account(address, AccountState::with_balance(U256::from(i)), None);
            state.set_storage(token, U256::from(i), U256::from(i * 3));
        }
        let mut sequential = StateCommitment::from_state(&state);
        let mut parallel = sequential.clone();
        assert_eq!(sequential.root(), parallel.root_with_threads(2));
        // Blocks of changed accounts and slots, enough to be hashed on several
        // threads; the cached roots carried from block to block equal the
        // root of the resulting state hashed from scratch.
        for round in 0..3u64 {
            let mut changes = StateChanges::default();
            for i in (1 + round..6000u64).step_by(2 + round as usize) {
                let address = Address::from_word(keccak256(i.to_be_bytes()));
                changes.accounts.insert(
                    address,
                    Some(AccountState::with_balance(U256::from(i + 7 + round))),
                );
                changes
                    .storage
                    .entry(token)
                    .or_default()
                    .insert(U256::from(i), U256::from(round * i));
            }
            state.apply(&changes);
            sequential.apply(&changes);
            parallel.apply_with_threads(&changes, 2);
            let root = sequential.root();
            assert_eq!(root, parallel.root_with_threads(2), "round {round}");
            assert_eq!(
                root,
                StateCommitment::from_state(&state).root(),
                "round {round}"
            );
        }
    }
}
