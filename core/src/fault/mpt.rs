//! Merkle Patricia proofs for the one-step verifier's `MerkleTrie.get` and `MerkleTrie.update`
//! (docs/fault-proof.md section 6).
//!
//! [`LeafTrie`] holds a secure trie as its leaves (32-byte hashed key -> value) and produces proofs
//! in the format `contracts/src/fault/MerkleTrie.sol` checks: the RLP of the nodes on the path from
//! the root towards the key, root node first, nodes shorter than 32 bytes inlined in their parent
//! (not listed), as `eth_getProof` gives them; the empty trie has the empty proof. For a deletion
//! that leaves the key's branch with one child referenced by hash, that child's node comes last
//! ([`LeafTrie::update_proof`]). Roots and proofs come from alloy-trie's `HashBuilder`.
//!
//! [`verify_get`] and [`verify_update`] are the Rust mirror of the Solidity library (same walk,
//! same rules, same errors), for checking witnesses off chain.

use alloy_primitives::{B256, Bytes, U256, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::{
    EMPTY_ROOT_HASH, HashBuilder, Nibbles, TrieAccount, TrieMask,
    nodes::{BranchNode, ExtensionNode, LeafNode, RlpNode, TrieNode},
    proof::ProofRetainer,
};
use std::collections::BTreeMap;
use std::ops::Bound;

/// Number of nibbles of a key.
const KEY_NIBBLES: usize = 64;

/// The RLP of an account as the account trie stores it: `rlp([nonce, balance, storageRoot, codeHash])`.
pub fn account_leaf(nonce: u64, balance: U256, storage_root: B256, code_hash: B256) -> Bytes {
    alloy_rlp::encode(TrieAccount {
        nonce,
        balance,
        storage_root,
        code_hash,
    })
    .into()
}

/// A secure trie given by its leaves: hashed key -> value (the RLP the leaf stores, e.g. an
/// [`account_leaf`]). Values are never empty (setting an empty value removes the key).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeafTrie {
    leaves: BTreeMap<B256, Bytes>,
}

impl FromIterator<(B256, Bytes)> for LeafTrie {
    fn from_iter<T: IntoIterator<Item = (B256, Bytes)>>(iter: T) -> Self {
        let mut trie = Self::default();
        for (key, value) in iter {
            trie.set(key, Some(value.as_ref()));
        }
        trie
    }
}

impl LeafTrie {
    /// The empty trie.
    pub fn new() -> Self {
        Self::default()
    }

    /// A trie from its leaves (entries with an empty value are dropped).
    pub fn from_leaves(mut leaves: BTreeMap<B256, Bytes>) -> Self {
        leaves.retain(|_, v| !v.is_empty());
        Self { leaves }
    }

    /// The leaves, sorted by key.
    pub fn leaves(&self) -> &BTreeMap<B256, Bytes> {
        &self.leaves
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// True when the trie has no keys.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The value at `key`.
    pub fn get(&self, key: &B256) -> Option<&Bytes> {
        self.leaves.get(key)
    }

    /// Sets `key` to `value` (an empty value removes the key); returns the previous value.
    pub fn insert(&mut self, key: B256, value: Bytes) -> Option<Bytes> {
        if value.is_empty() {
            self.leaves.remove(&key)
        } else {
            self.leaves.insert(key, value)
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &B256) -> Option<Bytes> {
        self.leaves.remove(key)
    }

    /// Sets (`Some`, non-empty) or removes (`None` or empty) `key`, as `MerkleTrie.update` does.
    pub fn set(&mut self, key: B256, value: Option<&[u8]>) -> Option<Bytes> {
        match value {
            Some(v) if !v.is_empty() => self.leaves.insert(key, Bytes::copy_from_slice(v)),
            _ => self.leaves.remove(&key),
        }
    }

    /// The root hash (`EMPTY_ROOT_HASH` for the empty trie).
    pub fn root(&self) -> B256 {
        let mut hb = HashBuilder::default();
        for (key, value) in &self.leaves {
            hb.add_leaf_unchecked(Nibbles::unpack(key), value);
        }
        hb.root()
    }

    /// Proof of inclusion or exclusion of `key` for `MerkleTrie.get`: the path nodes, root first,
    /// inlined nodes left out; empty for the empty trie.
    pub fn get_proof(&self, key: B256) -> Vec<Bytes> {
        self.proof_with_root(key, None).1
    }

    /// Proof for `MerkleTrie.update(root(), key, new_value, proof)`: the path of [`Self::get_proof`],
    /// plus, when `new_value` deletes (`None` or empty) a present key whose branch is then left with
    /// one child referenced by hash, that child's node last.
    pub fn update_proof(&self, key: B256, new_value: Option<&[u8]>) -> Vec<Bytes> {
        self.update_proof_with_root(key, new_value).1
    }

    /// The root and [`Self::update_proof`], from one pass over the leaves.
    pub fn update_proof_with_root(
        &self,
        key: B256,
        new_value: Option<&[u8]>,
    ) -> (B256, Vec<Bytes>) {
        let deletes = new_value.is_none_or(|v| v.is_empty());
        let sibling = if deletes {
            self.collapse_sibling(&key)
        } else {
            None
        };
        self.proof_with_root(key, sibling)
    }

    /// Sets `key` like [`Self::set`] and returns the update's witness: the root before, the proof
    /// for `MerkleTrie.update` against it, and the root after.
    pub fn apply_with_proof(&mut self, key: B256, new_value: Option<&[u8]>) -> UpdateWitness {
        let (root, proof) = self.update_proof_with_root(key, new_value);
        self.set(key, new_value);
        UpdateWitness {
            root,
            proof,
            new_root: self.root(),
        }
    }

    /// Runs the hash builder once, retaining the path to `key` and the node at `sibling` if given.
    fn proof_with_root(&self, key: B256, sibling: Option<Nibbles>) -> (B256, Vec<Bytes>) {
        if self.leaves.is_empty() {
            return (EMPTY_ROOT_HASH, Vec::new());
        }
        let target = Nibbles::unpack(key);
        let mut targets = vec![target];
        targets.extend(sibling);
        let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets));
        for (k, value) in &self.leaves {
            hb.add_leaf_unchecked(Nibbles::unpack(k), value);
        }
        let root = hb.root();
        let nodes = hb.take_proof_nodes();
        let mut path = nodes.matching_nodes(&target);
        path.sort_unstable_by_key(|(p, _)| p.len());
        let mut proof: Vec<Bytes> = path
            .into_iter()
            .filter(|(p, node)| p.is_empty() || node.len() >= 32)
            .map(|(_, node)| node)
            .collect();
        if let Some(sibling) = sibling {
            let node = nodes
                .get(&sibling)
                .expect("the hash builder retains the node at a target path");
            if node.len() >= 32 {
                proof.push(node.clone());
            }
        }
        (root, proof)
    }

    /// When deleting the present `key` leaves its branch with a single child, that child's path.
    fn collapse_sibling(&self, key: &B256) -> Option<Nibbles> {
        if !self.leaves.contains_key(key) {
            return None;
        }
        let target = Nibbles::unpack(key);
        let lcp = |other: &B256| Nibbles::unpack(other).common_prefix_length(&target);
        let before = self.leaves.range(..*key).next_back().map(|(k, _)| lcp(k));
        let after = self
            .leaves
            .range((Bound::Excluded(*key), Bound::Unbounded))
            .next()
            .map(|(k, _)| lcp(k));
        // The key's branch is at the depth of its longest common prefix with another key.
        let depth = before.max(after)?;
        let (lo, hi) = prefix_bounds(key, depth);
        let mut others = self
            .leaves
            .range(lo..=hi)
            .map(|(k, _)| k)
            .filter(|k| *k != key);
        let first = Nibbles::unpack(others.next()?).get_unchecked(depth);
        let last = others
            .next_back()
            .map_or(first, |k| Nibbles::unpack(k).get_unchecked(depth));
        (first == last).then(|| {
            let mut path = target.slice(..depth);
            path.push(first);
            path
        })
    }
}

/// The smallest and largest keys that start with the first `depth` nibbles of `key`.
fn prefix_bounds(key: &B256, depth: usize) -> (B256, B256) {
    let k = U256::from_be_bytes(key.0);
    let low_bits = 4 * (KEY_NIBBLES - depth);
    let low_mask = if low_bits == 256 {
        U256::MAX
    } else {
        (U256::from(1u8) << low_bits) - U256::from(1u8)
    };
    (
        B256::from((k & !low_mask).to_be_bytes()),
        B256::from((k | low_mask).to_be_bytes()),
    )
}

/// What an update needs to prove: the root before, the proof, the root after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateWitness {
    /// Root before the update.
    pub root: B256,
    /// Proof for `MerkleTrie.update(root, key, value, proof)`.
    pub proof: Vec<Bytes>,
    /// Root after the update.
    pub new_root: B256,
}

/// Why a proof does not verify; the same cases as `MerkleTrie.sol`'s custom errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MptError {
    /// `proof[index]` does not hash to the reference its parent (or the root) gives.
    #[error("proof node {index} hashes to {actual}, expected {expected}")]
    InvalidProofNodeHash {
        /// Index of the node in the proof.
        index: usize,
        /// The reference.
        expected: B256,
        /// The node's hash.
        actual: B256,
    },
    /// The path needs `proof[index]` and the proof is shorter.
    #[error("proof too short: node {index} needed")]
    ProofTooShort {
        /// Index of the missing node.
        index: usize,
    },
    /// An update used `used` nodes of a longer proof.
    #[error("proof too long: {used} of {length} nodes used")]
    ProofTooLong {
        /// Nodes used.
        used: usize,
        /// Nodes given.
        length: usize,
    },
    /// A node at nibble depth `depth` is malformed or cannot be there.
    #[error("unexpected node at depth {depth}")]
    UnexpectedNode {
        /// Nibble depth of the node.
        depth: usize,
    },
    /// The deletion collapses the branch at `depth` into a hashed child the proof lacks.
    #[error("missing sibling node of the branch at depth {depth}")]
    MissingSibling {
        /// Nibble depth of the branch.
        depth: usize,
    },
}

/// What [`verify_update`] did, for tests and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UpdateOutcome {
    /// Deleting an absent key: the root is unchanged.
    Unchanged,
    /// The key's leaf got a new value.
    Replaced,
    /// The first key of an empty trie.
    InsertedIntoEmptyTrie,
    /// A new leaf in an empty branch slot.
    InsertedIntoBranch,
    /// A new branch where the key parts from another leaf's key (`extension`: under an extension
    /// for their common nibbles).
    SplitLeaf {
        /// An extension holds the common nibbles.
        extension: bool,
    },
    /// A new branch inside an extension's path.
    SplitExtension {
        /// An extension keeps the nibbles before the split.
        extension: bool,
        /// An extension keeps the nibbles after the split (else the branch points at the child).
        remainder: bool,
    },
    /// The last key was deleted.
    DeletedLastKey,
    /// A leaf was deleted from a branch that keeps two or more children.
    DeletedFromBranch,
    /// A leaf was deleted and its branch collapsed into its one other child.
    Collapsed {
        /// The kind of the remaining child.
        into: NodeKind,
        /// That child is referenced by hash (its node is the proof's last).
        sibling_by_hash: bool,
        /// The collapsed node merged into the extension above the branch.
        merged_extension: bool,
    },
}

/// A trie node's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    /// 17-item node.
    Branch,
    /// Shared nibbles then one child.
    Extension,
    /// The rest of a key and its value.
    Leaf,
}

/// `MerkleTrie.get` in Rust: the value at `key` (`None`: proven absent). Nodes after the path are ignored.
pub fn verify_get(root: B256, key: B256, proof: &[Bytes]) -> Result<Option<Bytes>, MptError> {
    let path = walk(root, key, proof)?;
    Ok(match (path.end, path.nodes.last()) {
        (End::LeafMatch, Some((TrieNode::Leaf(leaf), _))) => Some(leaf.value.clone().into()),
        _ => None,
    })
}

/// `MerkleTrie.update` in Rust: the root after setting `key` to `value` (deleting it when empty).
pub fn verify_update(
    root: B256,
    key: B256,
    value: &[u8],
    proof: &[Bytes],
) -> Result<B256, MptError> {
    verify_update_with_outcome(root, key, value, proof).map(|(root, _)| root)
}

/// [`verify_update`], also saying which case of the algorithm applied.
pub fn verify_update_with_outcome(
    root: B256,
    key: B256,
    value: &[u8],
    proof: &[Bytes],
) -> Result<(B256, UpdateOutcome), MptError> {
    let path = walk(root, key, proof)?;
    let mut used = path.used;
    let nibbles = Nibbles::unpack(key);
    let (mut replacement, mut outcome) = if value.is_empty() {
        if path.end != End::LeafMatch {
            check_used(used, proof.len())?;
            return Ok((root, UpdateOutcome::Unchanged));
        }
        (None, UpdateOutcome::DeletedLastKey)
    } else {
        let (node, outcome) = insert(&path, &nibbles, value);
        (Some(node), outcome)
    };
    let mut collapsed_at = None;
    for i in (0..path.nodes.len().saturating_sub(1)).rev() {
        let (parent, depth) = &path.nodes[i];
        let depth = *depth;
        replacement = Some(match (parent, replacement) {
            (TrieNode::Extension(ext), Some(child)) => {
                if collapsed_at == Some(i + 1)
                    && let UpdateOutcome::Collapsed {
                        merged_extension, ..
                    } = &mut outcome
                {
                    *merged_extension = true;
                }
                match child {
                    TrieNode::Branch(_) => {
                        TrieNode::Extension(ExtensionNode::new(ext.key, rlp_ref(&child)))
                    }
                    TrieNode::Leaf(leaf) => {
                        TrieNode::Leaf(LeafNode::new(ext.key.join(&leaf.key), leaf.value))
                    }
                    TrieNode::Extension(e) => {
                        TrieNode::Extension(ExtensionNode::new(ext.key.join(&e.key), e.child))
                    }
                    TrieNode::EmptyRoot => return Err(MptError::UnexpectedNode { depth }),
                }
            }
            (TrieNode::Branch(branch), child) => {
                let mut children = branch_children(branch);
                let nibble = nibbles.get_unchecked(depth) as usize;
                match child {
                    Some(child) => {
                        children[nibble] = Some(rlp_ref(&child));
                        branch_node(&children)
                    }
                    None => {
                        children[nibble] = None;
                        let left: Vec<usize> = (0..16).filter(|&n| children[n].is_some()).collect();
                        match left.as_slice() {
                            [] => return Err(MptError::UnexpectedNode { depth }),
                            [m] => {
                                let child_ref = children[*m].clone().expect("present");
                                if child_ref.is_hash() && used >= proof.len() {
                                    return Err(MptError::MissingSibling { depth });
                                }
                                let raw = resolve(&child_ref, proof, &mut used, depth)?;
                                let child = decode_node(&raw, depth + 1)?;
                                let m = Nibbles::from_nibbles([*m as u8]);
                                let (node, into) = match child {
                                    TrieNode::Branch(_) => (
                                        TrieNode::Extension(ExtensionNode::new(
                                            m,
                                            child_ref.clone(),
                                        )),
                                        NodeKind::Branch,
                                    ),
                                    TrieNode::Leaf(leaf) => (
                                        TrieNode::Leaf(LeafNode::new(
                                            m.join(&leaf.key),
                                            leaf.value,
                                        )),
                                        NodeKind::Leaf,
                                    ),
                                    TrieNode::Extension(e) => (
                                        TrieNode::Extension(ExtensionNode::new(
                                            m.join(&e.key),
                                            e.child,
                                        )),
                                        NodeKind::Extension,
                                    ),
                                    TrieNode::EmptyRoot => {
                                        return Err(MptError::UnexpectedNode { depth: depth + 1 });
                                    }
                                };
                                outcome = UpdateOutcome::Collapsed {
                                    into,
                                    sibling_by_hash: child_ref.is_hash(),
                                    merged_extension: false,
                                };
                                collapsed_at = Some(i);
                                node
                            }
                            _ => {
                                outcome = UpdateOutcome::DeletedFromBranch;
                                branch_node(&children)
                            }
                        }
                    }
                }
            }
            _ => return Err(MptError::UnexpectedNode { depth }),
        });
    }
    check_used(used, proof.len())?;
    let root = match replacement {
        None => EMPTY_ROOT_HASH,
        Some(node) => keccak256(alloy_rlp::encode(&node)),
    };
    Ok((root, outcome))
}

fn check_used(used: usize, length: usize) -> Result<(), MptError> {
    if used == length {
        Ok(())
    } else {
        Err(MptError::ProofTooLong { used, length })
    }
}

/// How the path towards a key ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    EmptyTrie,
    LeafMatch,
    LeafOther,
    ExtensionOther,
    EmptySlot,
}

struct Path {
    /// The nodes on the path with the nibble depth where each starts.
    nodes: Vec<(TrieNode, usize)>,
    used: usize,
    end: End,
}

fn walk(root: B256, key: B256, proof: &[Bytes]) -> Result<Path, MptError> {
    let mut path = Path {
        nodes: Vec::new(),
        used: 0,
        end: End::EmptyTrie,
    };
    if root == EMPTY_ROOT_HASH {
        return Ok(path);
    }
    let first = proof.first().ok_or(MptError::ProofTooShort { index: 0 })?;
    let actual = keccak256(first);
    if actual != root {
        return Err(MptError::InvalidProofNodeHash {
            index: 0,
            expected: root,
            actual,
        });
    }
    path.used = 1;
    let nibbles = Nibbles::unpack(key);
    let mut node = decode_node(first, 0)?;
    let mut depth = 0;
    loop {
        if matches!(path.nodes.last(), Some((TrieNode::Extension(_), _)))
            && !matches!(node, TrieNode::Branch(_))
        {
            return Err(MptError::UnexpectedNode { depth });
        }
        let next = match &node {
            TrieNode::Branch(branch) => {
                let children = branch_children(branch);
                match &children[nibbles.get_unchecked(depth) as usize] {
                    None => {
                        path.end = End::EmptySlot;
                        None
                    }
                    Some(child) => {
                        let raw = resolve(child, proof, &mut path.used, depth)?;
                        Some((decode_node(&raw, depth + 1)?, depth + 1))
                    }
                }
            }
            TrieNode::Leaf(leaf) => {
                path.end = if leaf.key == nibbles.slice(depth..) {
                    End::LeafMatch
                } else {
                    End::LeafOther
                };
                None
            }
            TrieNode::Extension(ext) => {
                if nibbles.slice(depth..).starts_with(&ext.key) {
                    let raw = resolve(&ext.child, proof, &mut path.used, depth)?;
                    let child_depth = depth + ext.key.len();
                    Some((decode_node(&raw, child_depth)?, child_depth))
                } else {
                    path.end = End::ExtensionOther;
                    None
                }
            }
            TrieNode::EmptyRoot => return Err(MptError::UnexpectedNode { depth }),
        };
        path.nodes.push((node, depth));
        match next {
            Some((child, child_depth)) => {
                node = child;
                depth = child_depth;
            }
            None => return Ok(path),
        }
    }
}

/// The RLP of the node a child reference designates: the next proof node (hash-checked) or the
/// inlined node. `depth`: the parent's nibble depth.
fn resolve(
    child: &RlpNode,
    proof: &[Bytes],
    used: &mut usize,
    depth: usize,
) -> Result<Vec<u8>, MptError> {
    if !valid_ref(child) {
        return Err(MptError::UnexpectedNode { depth });
    }
    match child.as_hash() {
        Some(hash) => {
            let raw = proof
                .get(*used)
                .ok_or(MptError::ProofTooShort { index: *used })?;
            let actual = keccak256(raw);
            if actual != hash {
                return Err(MptError::InvalidProofNodeHash {
                    index: *used,
                    expected: hash,
                    actual,
                });
            }
            *used += 1;
            Ok(raw.to_vec())
        }
        None => Ok(child.to_vec()),
    }
}

/// A child reference is a 32-byte hash string or an inlined node (a list shorter than 32 bytes).
fn valid_ref(child: &RlpNode) -> bool {
    match child.first() {
        Some(0xa0) => child.len() == 33,
        Some(&b) => b >= 0xc0 && child.len() < 32,
        None => false,
    }
}

fn decode_node(raw: &[u8], depth: usize) -> Result<TrieNode, MptError> {
    let mut buf = raw;
    let node = TrieNode::decode(&mut buf).map_err(|_| MptError::UnexpectedNode { depth })?;
    if !buf.is_empty() {
        return Err(MptError::UnexpectedNode { depth });
    }
    check_node(&node, depth)?;
    Ok(node)
}

/// The shape rules `MerkleTrie.sol` enforces for a node at nibble depth `depth`.
fn check_node(node: &TrieNode, depth: usize) -> Result<(), MptError> {
    let ok = match node {
        TrieNode::Branch(branch) => depth < KEY_NIBBLES && branch.stack.iter().all(valid_ref),
        TrieNode::Leaf(leaf) => depth + leaf.key.len() == KEY_NIBBLES,
        TrieNode::Extension(ext) => {
            !ext.key.is_empty() && depth + ext.key.len() < KEY_NIBBLES && valid_ref(&ext.child)
        }
        TrieNode::EmptyRoot => false,
    };
    if ok {
        Ok(())
    } else {
        Err(MptError::UnexpectedNode { depth })
    }
}

/// The node replacing the last node of the path once `key` is set to `value`.
fn insert(path: &Path, key: &Nibbles, value: &[u8]) -> (TrieNode, UpdateOutcome) {
    let Some((last, depth)) = path.nodes.last() else {
        return (
            TrieNode::Leaf(LeafNode::new(*key, value.to_vec())),
            UpdateOutcome::InsertedIntoEmptyTrie,
        );
    };
    let depth = *depth;
    let rest = key.slice(depth..);
    match (path.end, last) {
        (End::LeafMatch, TrieNode::Leaf(leaf)) => (
            TrieNode::Leaf(LeafNode::new(leaf.key, value.to_vec())),
            UpdateOutcome::Replaced,
        ),
        (End::EmptySlot, TrieNode::Branch(branch)) => {
            let mut children = branch_children(branch);
            let leaf = TrieNode::Leaf(LeafNode::new(key.slice(depth + 1..), value.to_vec()));
            children[key.get_unchecked(depth) as usize] = Some(rlp_ref(&leaf));
            (branch_node(&children), UpdateOutcome::InsertedIntoBranch)
        }
        (End::LeafOther, TrieNode::Leaf(leaf)) => {
            let common = leaf.key.common_prefix_length(&rest);
            let old = TrieNode::Leaf(LeafNode::new(
                leaf.key.slice(common + 1..),
                leaf.value.clone(),
            ));
            let node = split(
                &rest,
                common,
                leaf.key.get_unchecked(common),
                rlp_ref(&old),
                value,
            );
            (
                node,
                UpdateOutcome::SplitLeaf {
                    extension: common > 0,
                },
            )
        }
        (End::ExtensionOther, TrieNode::Extension(ext)) => {
            let common = ext.key.common_prefix_length(&rest);
            let remainder = common + 1 < ext.key.len();
            let old = if remainder {
                rlp_ref(&TrieNode::Extension(ExtensionNode::new(
                    ext.key.slice(common + 1..),
                    ext.child.clone(),
                )))
            } else {
                ext.child.clone()
            };
            let node = split(&rest, common, ext.key.get_unchecked(common), old, value);
            (
                node,
                UpdateOutcome::SplitExtension {
                    extension: common > 0,
                    remainder,
                },
            )
        }
        _ => unreachable!("the walk ends at a node of the kind its end names"),
    }
}

/// A branch at `common` nibbles into `rest` with the old subtree `old` at nibble `old_nibble` and a
/// new leaf for `rest`, under an extension of the common nibbles if any.
fn split(rest: &Nibbles, common: usize, old_nibble: u8, old: RlpNode, value: &[u8]) -> TrieNode {
    let mut children: [Option<RlpNode>; 16] = Default::default();
    children[old_nibble as usize] = Some(old);
    let leaf = TrieNode::Leaf(LeafNode::new(rest.slice(common + 1..), value.to_vec()));
    children[rest.get_unchecked(common) as usize] = Some(rlp_ref(&leaf));
    let branch = branch_node(&children);
    if common == 0 {
        branch
    } else {
        TrieNode::Extension(ExtensionNode::new(rest.slice(..common), rlp_ref(&branch)))
    }
}

fn branch_children(branch: &BranchNode) -> [Option<RlpNode>; 16] {
    let mut children: [Option<RlpNode>; 16] = Default::default();
    let mut stack = branch.stack.iter();
    for (n, child) in children.iter_mut().enumerate() {
        if branch.state_mask.is_bit_set(n as u8) {
            *child = stack.next().cloned();
        }
    }
    children
}

fn branch_node(children: &[Option<RlpNode>; 16]) -> TrieNode {
    let mut mask = TrieMask::default();
    let mut stack = Vec::new();
    for (n, child) in children.iter().enumerate() {
        if let Some(child) = child {
            mask.set_bit(n as u8);
            stack.push(child.clone());
        }
    }
    TrieNode::Branch(BranchNode::new(stack, mask))
}

/// How a parent refers to `node`: inlined below 32 bytes, else by hash.
fn rlp_ref(node: &TrieNode) -> RlpNode {
    node.rlp(&mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{b256, hex};

    /// Deterministic pseudo-random numbers (splitmix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn key(&mut self) -> B256 {
            let mut k = [0u8; 32];
            for chunk in k.chunks_mut(8) {
                chunk.copy_from_slice(&self.next().to_be_bytes());
            }
            B256::from(k)
        }

        /// A key sharing a random number of leading nibbles with `base`.
        fn near(&mut self, base: &B256) -> B256 {
            let keep = self.below(65) as usize;
            let mut k = self.key();
            let mut nibbles = Nibbles::unpack(base).slice(..keep).to_vec();
            nibbles.extend(Nibbles::unpack(k).slice(keep..).to_vec());
            let packed = Nibbles::from_nibbles(nibbles).pack();
            k.0.copy_from_slice(&packed);
            k
        }

        fn value(&mut self) -> Bytes {
            let len = match self.below(3) {
                0 => 1 + self.below(4),
                1 => 1 + self.below(40),
                _ => 70 + self.below(40),
            } as usize;
            (0..len)
                .map(|_| self.next() as u8)
                .collect::<Vec<u8>>()
                .into()
        }
    }

    fn random_trie(rng: &mut Rng, n: usize) -> LeafTrie {
        let mut trie = LeafTrie::new();
        let mut keys: Vec<B256> = Vec::new();
        while trie.len() < n {
            let key = if keys.is_empty() || rng.below(2) == 0 {
                rng.key()
            } else {
                let base = keys[rng.below(keys.len() as u64) as usize];
                rng.near(&base)
            };
            keys.push(key);
            trie.insert(key, rng.value());
        }
        trie
    }

    #[test]
    fn empty_trie() {
        let trie = LeafTrie::new();
        assert_eq!(trie.root(), EMPTY_ROOT_HASH);
        let key = B256::repeat_byte(7);
        assert!(trie.get_proof(key).is_empty());
        assert_eq!(verify_get(EMPTY_ROOT_HASH, key, &[]), Ok(None));
        assert_eq!(
            verify_update(EMPTY_ROOT_HASH, key, &[], &[]),
            Ok(EMPTY_ROOT_HASH)
        );
        let value = [0x42u8];
        let expected = LeafTrie::from_iter([(key, Bytes::from(value.to_vec()))]).root();
        assert_eq!(
            verify_update(EMPTY_ROOT_HASH, key, &value, &[]),
            Ok(expected)
        );
    }

    #[test]
    fn matches_alloy_state_root() {
        let mut accounts: Vec<(B256, TrieAccount)> = (0..20u64)
            .map(|i| {
                (
                    keccak256(i.to_be_bytes()),
                    TrieAccount {
                        nonce: i,
                        balance: U256::from(i * 7),
                        ..Default::default()
                    },
                )
            })
            .collect();
        accounts.sort_by_key(|(k, _)| *k);
        let trie: LeafTrie = accounts
            .iter()
            .map(|(k, a)| {
                (
                    *k,
                    account_leaf(a.nonce, a.balance, a.storage_root, a.code_hash),
                )
            })
            .collect();
        assert_eq!(trie.root(), alloy_trie::root::state_root(accounts));
    }

    #[test]
    fn single_key_proof_and_delete() {
        let key = b256!("0x1000000000000000000000000000000000000000000000000000000000000001");
        let trie: LeafTrie = [(key, Bytes::from_static(&hex!("c0ffee")))]
            .into_iter()
            .collect();
        let proof = trie.get_proof(key);
        assert_eq!(proof.len(), 1);
        assert_eq!(
            verify_get(trie.root(), key, &proof),
            Ok(Some(Bytes::from_static(&hex!("c0ffee"))))
        );
        assert_eq!(
            verify_update_with_outcome(trie.root(), key, &[], &trie.update_proof(key, None)),
            Ok((EMPTY_ROOT_HASH, UpdateOutcome::DeletedLastKey))
        );
    }

    /// Every update, checked by the Rust mirror of the verifier against the hash builder's root.
    #[test]
    fn random_updates_match_the_hash_builder() {
        let mut rng = Rng(1);
        let mut seen = std::collections::BTreeSet::new();
        for round in 0..300 {
            let n = 1 + (round % 40);
            let mut trie = random_trie(&mut rng, n);
            for _ in 0..20 {
                let keys: Vec<B256> = trie.leaves().keys().copied().collect();
                let key = match (keys.is_empty(), rng.below(3)) {
                    (true, _) | (false, 0) => rng.key(),
                    (false, 1) => keys[rng.below(keys.len() as u64) as usize],
                    _ => {
                        let base = keys[rng.below(keys.len() as u64) as usize];
                        rng.near(&base)
                    }
                };
                let value: Option<Vec<u8>> = if rng.below(2) == 0 {
                    None
                } else {
                    Some(rng.value().to_vec())
                };
                let root = trie.root();
                let get = trie.get_proof(key);
                assert_eq!(verify_get(root, key, &get), Ok(trie.get(&key).cloned()));
                let proof = trie.update_proof(key, value.as_deref());
                let witness = trie.apply_with_proof(key, value.as_deref());
                assert_eq!(witness.root, root);
                assert_eq!(witness.proof, proof);
                let (new_root, outcome) = verify_update_with_outcome(
                    root,
                    key,
                    value.as_deref().unwrap_or_default(),
                    &proof,
                )
                .unwrap();
                assert_eq!(new_root, trie.root());
                assert_eq!(new_root, witness.new_root);
                // get accepts the update proof too (trailing sibling ignored).
                assert!(verify_get(root, key, &proof).is_ok());
                seen.insert(outcome);
            }
        }
        assert!(seen.len() >= 12, "cases covered: {seen:?}");
    }

    #[test]
    fn tampered_proofs_fail() {
        let mut rng = Rng(2);
        let trie = random_trie(&mut rng, 50);
        let root = trie.root();
        let key = *trie.leaves().keys().nth(17).unwrap();
        let proof = trie.update_proof(key, None);
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            let mut node = bad[i].to_vec();
            let last = node.len() - 1;
            node[last] ^= 1;
            bad[i] = node.into();
            assert!(verify_update(root, key, &[], &bad).is_err());
        }
        assert_eq!(
            verify_update(root, key, &[], &proof[..proof.len() - 1]).unwrap_err(),
            if proof.len() > trie.get_proof(key).len() {
                MptError::MissingSibling {
                    depth: proof.len() - 2,
                }
            } else {
                MptError::ProofTooShort {
                    index: proof.len() - 1,
                }
            },
        );
        let mut long = proof.clone();
        long.push(proof[0].clone());
        assert!(matches!(
            verify_update(root, key, &[], &long),
            Err(MptError::ProofTooLong { .. })
        ));
    }

    #[test]
    fn prefix_bounds_cover_the_prefix() {
        let key = b256!("0x123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0");
        let (lo, hi) = prefix_bounds(&key, 3);
        assert_eq!(
            lo,
            b256!("0x1230000000000000000000000000000000000000000000000000000000000000")
        );
        assert_eq!(
            hi,
            b256!("0x123fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
        );
        assert_eq!(
            prefix_bounds(&key, 0),
            (B256::ZERO, B256::repeat_byte(0xff))
        );
        assert_eq!(prefix_bounds(&key, 64), (key, key));
    }

    #[test]
    fn large_trie_proof_is_fast() {
        let mut rng = Rng(3);
        let trie: LeafTrie = (0..100_000)
            .map(|i| {
                (
                    rng.key(),
                    account_leaf(i, U256::from(i), EMPTY_ROOT_HASH, keccak256([])),
                )
            })
            .collect();
        let key = *trie.leaves().keys().nth(4_321).unwrap();
        let start = std::time::Instant::now();
        let (root, proof) = trie.update_proof_with_root(key, None);
        let elapsed = start.elapsed();
        assert!(verify_update(root, key, &[], &proof).is_ok());
        // Generous for debug builds; a release build takes a few tens of milliseconds.
        assert!(
            elapsed.as_secs() < 5,
            "proof over 100k leaves took {elapsed:?}"
        );
    }
}
