//! A trie's leaves together with the hashes of its upper nodes, kept between
//! blocks: after a block's changes the root rehashes only the nodes above
//! changed leaves instead of the whole trie.
//!
//! The hash of "the node of the leaves under prefix `p`, keys stripped of
//! `p`'s nibbles" depends on those leaves alone, whatever the trie above it
//! looks like. So such hashes are cached for every prefix of up to
//! [`MAX_CACHED_DEPTH`] nibbles, and a changed leaf forgets exactly the
//! cached hashes of its own prefixes. With 64-nibble keys every node below
//! the root encodes to at least 32 bytes, so a parent always refers to a
//! child by its hash, and a branch's hash follows from its children's.
//!
//! The same hashes make a proof cheap: the nodes on a key's path are built
//! from the cached hashes of the subtrees beside the path and the few leaves
//! under the key's deepest cached prefix, not from every leaf.

use alloy_primitives::B256;
use alloy_trie::{
    EMPTY_ROOT_HASH, HashBuilder, Nibbles,
    proof::{ProofNodes, ProofRetainer},
};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Deepest prefix length whose nodes are cached (16^4 = 65,536 nodes).
const MAX_CACHED_DEPTH: usize = 4;

/// Below this many leaves nothing is cached: hashing the trie in one pass
/// costs about as much as walking the cache.
const MIN_CACHED_LEAVES: usize = 4096;

/// What the cache knows of the node under one prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cached {
    /// Never computed, or a leaf under the prefix changed since.
    Unknown,
    /// No leaf under the prefix.
    Empty,
    /// The node's hash.
    Node(B256),
}

/// What a proof feeds the hash builder: a subtree's cached hash or a leaf.
enum ProofItem<'a, V> {
    Subtree(B256),
    Leaf(&'a V),
}

/// The leaves under the `depth`-nibble `prefix` (`depth` 0: all of them).
fn leaves_under<V>(
    leaves: &BTreeMap<B256, V>,
    depth: usize,
    prefix: usize,
) -> std::collections::btree_map::Range<'_, B256, V> {
    let low = prefix_key(prefix, depth);
    if prefix + 1 == 1 << (4 * depth) {
        leaves.range(low..)
    } else {
        leaves.range(low..prefix_key(prefix + 1, depth))
    }
}

/// Hashed-key leaves (the value RLP-encoded by the caller's encoder) and the
/// cached hashes of the nodes above them.
///
/// A large trie keeps its leaves in sixteen parts, one per first nibble, each
/// with its own cache, so that a block's changes are applied and the
/// sixteen subtrees under the root are hashed on separate threads.
#[derive(Clone, Debug)]
pub(crate) struct CachedTrie<V> {
    /// The leaves of a small trie (empty once it is split into parts).
    small: BTreeMap<B256, V>,
    /// A large trie's leaves by first nibble (none while it is small).
    parts: Vec<Part<V>>,
    /// Number of leaves.
    len: usize,
    /// The root, while no leaf changed.
    root: Option<B256>,
}

/// The leaves under one first nibble and the cached nodes above them.
#[derive(Clone, Debug)]
struct Part<V> {
    leaves: BTreeMap<B256, V>,
    /// `levels[d - 1][q]`: the node of the leaves under the `d`-nibble prefix
    /// made of this part's nibble and then `q`'s `d - 1` nibbles.
    levels: Vec<Vec<Cached>>,
}

impl<V> Part<V> {
    fn new(leaves: BTreeMap<B256, V>, depth: usize) -> Self {
        Self {
            leaves,
            levels: (1..=depth)
                .map(|d| vec![Cached::Unknown; 1 << (4 * (d - 1))])
                .collect(),
        }
    }

    /// Sets or removes one leaf: `merge` gets the present value and says
    /// what the leaf becomes; returns how the leaf count changed.
    fn apply<C>(
        &mut self,
        key: B256,
        change: C,
        merge: &(impl Fn(&B256, Option<&V>, C) -> Option<V> + Sync),
    ) -> isize {
        let delta = match merge(&key, self.leaves.get(&key), change) {
            Some(value) => isize::from(self.leaves.insert(key, value).is_none()),
            None => -isize::from(self.leaves.remove(&key).is_some()),
        };
        self.forget(&key);
        delta
    }

    /// Forgets the cached hashes of every node above `key`'s leaf.
    fn forget(&mut self, key: &B256) {
        for (depth, level) in (1..).zip(self.levels.iter_mut()) {
            level[index_in_part(prefix_of(key, depth), depth)] = Cached::Unknown;
        }
    }
}

impl<V> Default for CachedTrie<V> {
    fn default() -> Self {
        Self {
            small: BTreeMap::new(),
            parts: Vec::new(),
            len: 0,
            root: None,
        }
    }
}

impl<V: Send + Sync> From<BTreeMap<B256, V>> for CachedTrie<V> {
    fn from(leaves: BTreeMap<B256, V>) -> Self {
        let mut trie = Self {
            len: leaves.len(),
            small: leaves,
            ..Self::default()
        };
        trie.reshape();
        trie
    }
}

impl<V: Send + Sync> CachedTrie<V> {
    /// Every leaf, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&B256, &V)> {
        self.small
            .iter()
            .chain(self.parts.iter().flat_map(|part| part.leaves.iter()))
    }

    pub(crate) fn get(&self, key: &B256) -> Option<&V> {
        if self.parts.is_empty() {
            self.small.get(key)
        } else {
            self.parts[prefix_of(key, 1)].leaves.get(key)
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Sets a leaf.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, key: B256, value: V) {
        self.apply(vec![(key, value)], 1, &|_, _, value| Some(value));
    }

    /// Removes a leaf (if present).
    #[cfg(test)]
    pub(crate) fn remove(&mut self, key: &B256) {
        self.apply(vec![(*key, ())], 1, &|_, _, ()| None);
    }

    /// Changes a leaf in place (if present).
    pub(crate) fn update(&mut self, key: &B256, change: impl FnOnce(&mut V)) {
        if self.parts.is_empty() {
            if let Some(value) = self.small.get_mut(key) {
                change(value);
                self.root = None;
            }
        } else {
            let part = &mut self.parts[prefix_of(key, 1)];
            if let Some(value) = part.leaves.get_mut(key) {
                change(value);
                part.forget(key);
                self.root = None;
            }
        }
    }

    /// Applies a batch of changes: for each key, `merge` gets the present
    /// value (if any) and the change and says what the leaf becomes (`None`:
    /// removed). A split trie applies each part's changes on its own thread
    /// when `threads` > 1 (on the current rayon pool).
    pub(crate) fn apply<C: Send>(
        &mut self,
        changes: Vec<(B256, C)>,
        threads: usize,
        merge: &(impl Fn(&B256, Option<&V>, C) -> Option<V> + Sync),
    ) {
        if changes.is_empty() {
            return;
        }
        self.root = None;
        let delta: isize = if self.parts.is_empty() {
            changes
                .into_iter()
                .map(
                    |(key, change)| match merge(&key, self.small.get(&key), change) {
                        Some(value) => isize::from(self.small.insert(key, value).is_none()),
                        None => -isize::from(self.small.remove(&key).is_some()),
                    },
                )
                .sum()
        } else {
            let mut by_part: Vec<Vec<(B256, C)>> = (0..16).map(|_| Vec::new()).collect();
            for (key, change) in changes {
                by_part[prefix_of(&key, 1)].push((key, change));
            }
            let apply_part = |(part, changes): (&mut Part<V>, Vec<(B256, C)>)| -> isize {
                changes
                    .into_iter()
                    .map(|(key, change)| part.apply(key, change, merge))
                    .sum()
            };
            if threads > 1 {
                self.parts.par_iter_mut().zip(by_part).map(apply_part).sum()
            } else {
                self.parts.iter_mut().zip(by_part).map(apply_part).sum()
            }
        };
        self.len = self.len.saturating_add_signed(delta);
        self.reshape();
    }

    /// The Merkle Patricia proof nodes of `key`'s path (the key present or
    /// absent), each value encoded by `encode`. Right after [`CachedTrie::root`]
    /// every cached hash is known, and only the leaves under the key's deepest
    /// cached prefix are hashed (the subtrees beside the path are taken from
    /// the cache); otherwise every leaf is. `from_cache: false` hashes every
    /// leaf (the reference).
    pub(crate) fn proof(
        &self,
        key: &B256,
        encode: &impl Fn(&V, &mut Vec<u8>),
        from_cache: bool,
    ) -> ProofNodes {
        let target = Nibbles::unpack(key);
        let mut items: Vec<(Nibbles, ProofItem<'_, V>)> = Vec::new();
        match self.path_plan(key).filter(|_| from_cache) {
            Some((beside, leaves)) => {
                items.extend(
                    beside
                        .into_iter()
                        .map(|(path, hash)| (path, ProofItem::Subtree(hash))),
                );
                if let Some((depth, prefix)) = leaves {
                    let part = &self.parts[prefix >> (4 * (depth - 1))];
                    items.extend(
                        leaves_under(&part.leaves, depth, prefix)
                            .map(|(k, v)| (Nibbles::unpack(k), ProofItem::Leaf(v))),
                    );
                }
                items.sort_unstable_by_key(|(path, _)| *path);
            }
            None => items.extend(
                self.iter()
                    .map(|(k, v)| (Nibbles::unpack(k), ProofItem::Leaf(v))),
            ),
        }
        let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(vec![target]));
        let mut buf = Vec::with_capacity(128);
        for (path, item) in items {
            match item {
                ProofItem::Subtree(hash) => hb.add_branch(path, hash, false),
                ProofItem::Leaf(value) => {
                    buf.clear();
                    encode(value, &mut buf);
                    hb.add_leaf(path, &buf);
                }
            }
        }
        let _ = hb.root();
        hb.take_proof_nodes()
    }

    /// What a proof of `key` needs, from the cache: the subtrees beside the
    /// key's path (their prefixes and cached hashes), and the prefix
    /// `(depth, prefix)` whose leaves must be hashed (none when the path
    /// ends in a branch without the key's child). `None` when the cache
    /// cannot serve (a small trie, or hashes not known since a change).
    ///
    /// A subtree beside the path is taken from the cache only when its
    /// parent is a branch (two children or more), so that its hash is what
    /// the parent refers to; a parent with one child is an extension or a
    /// leaf the hash builder forms itself from what lies below.
    #[allow(clippy::type_complexity)]
    fn path_plan(&self, key: &B256) -> Option<(Vec<(Nibbles, B256)>, Option<(usize, usize)>)> {
        if self.parts.is_empty() || self.root.is_none() {
            return None;
        }
        let deepest = self.parts[0].levels.len();
        let mut beside = Vec::new();
        // The key's first `depth - 1` nibbles.
        let mut prefix = 0usize;
        for depth in 1..=deepest {
            let on_path = prefix_of(key, depth) & 0xf;
            let mut children = [Cached::Empty; 16];
            for (nibble, child) in children.iter_mut().enumerate() {
                let at = prefix << 4 | nibble;
                *child =
                    self.parts[at >> (4 * (depth - 1))].levels[depth - 1][index_in_part(at, depth)];
                if *child == Cached::Unknown {
                    return None;
                }
            }
            let filled = children.iter().filter(|c| **c != Cached::Empty).count();
            match filled {
                0 => return Some((beside, None)),
                1 if children[on_path] != Cached::Empty => {}
                // One child, off the path: the node here is a leaf or an
                // extension that diverges from the key, formed from its leaves.
                1 if depth == 1 => return None,
                1 => return Some((beside, Some((depth - 1, prefix)))),
                _ => {
                    for (nibble, child) in children.iter().enumerate() {
                        if let (true, Cached::Node(hash)) = (nibble != on_path, child) {
                            let at = prefix << 4 | nibble;
                            beside.push((
                                Nibbles::unpack(prefix_key(at, depth)).slice(..depth),
                                *hash,
                            ));
                        }
                    }
                    if children[on_path] == Cached::Empty {
                        return Some((beside, None));
                    }
                }
            }
            prefix = prefix << 4 | on_path;
        }
        Some((beside, Some((deepest, prefix))))
    }

    /// Splits a trie that grew large into parts, or joins one that shrank
    /// (with some slack, so that a trie near the threshold does not flip).
    fn reshape(&mut self) {
        if self.parts.is_empty() && self.len >= MIN_CACHED_LEAVES {
            let mut leaves = std::mem::take(&mut self.small);
            let depth = cached_depth(self.len);
            let mut parts = Vec::with_capacity(16);
            for nibble in (1..16u8).rev() {
                let mut low = B256::ZERO;
                low.0[0] = nibble << 4;
                parts.push(Part::new(leaves.split_off(&low), depth));
            }
            parts.push(Part::new(leaves, depth));
            parts.reverse();
            self.parts = parts;
        } else if !self.parts.is_empty() && self.len < MIN_CACHED_LEAVES / 2 {
            for part in std::mem::take(&mut self.parts) {
                self.small.extend(part.leaves);
            }
        }
    }

    /// The trie's Merkle Patricia root, each value encoded by `encode`;
    /// nodes hashed on rayon's threads when `threads` > 1 (run it inside
    /// the pool whose threads it may use).
    pub(crate) fn root(
        &mut self,
        encode: &(impl Fn(&V, &mut Vec<u8>) + Sync),
        threads: usize,
    ) -> B256 {
        if let Some(root) = self.root {
            return root;
        }
        let root = if self.parts.is_empty() {
            super::trie_root(&self.small, encode, threads)
        } else {
            // A split trie that shrank below the caching threshold (but not
            // enough to be joined) still hashes its parts apart.
            let depth = cached_depth(self.len).max(1);
            if depth != self.parts[0].levels.len() {
                let parts = std::mem::take(&mut self.parts);
                self.parts = parts
                    .into_iter()
                    .map(|part| Part::new(part.leaves, depth))
                    .collect();
            }
            self.cached_root(encode, threads)
        };
        self.root = Some(root);
        root
    }

    /// The root from the sixteen depth-1 nodes, each from the cache or
    /// rebuilt below it (in parallel when `threads` > 1).
    fn cached_root(&mut self, encode: &(impl Fn(&V, &mut Vec<u8>) + Sync), threads: usize) -> B256 {
        let node = |(nibble, part): (usize, &mut Part<V>)| {
            let walk = Walk {
                leaves: &part.leaves,
                encode,
                depth: part.levels.len(),
            };
            walk.node(&mut part.levels, 1, nibble)
        };
        let children: Vec<Cached> = if threads > 1 {
            self.parts.par_iter_mut().enumerate().map(node).collect()
        } else {
            self.parts.iter_mut().enumerate().map(node).collect()
        };
        let filled: Vec<usize> = (0..16).filter(|&n| children[n] != Cached::Empty).collect();
        match filled[..] {
            [] => EMPTY_ROOT_HASH,
            // One first nibble only: the root is an extension or a leaf,
            // hashed from that part's leaves with their whole keys.
            [nibble] => {
                let part = &self.parts[nibble];
                let walk = Walk {
                    leaves: &part.leaves,
                    encode,
                    depth: part.levels.len(),
                };
                match walk.hashed(0, 0) {
                    Cached::Node(root) => root,
                    _ => unreachable!("the part holds leaves"),
                }
            }
            _ => super::branch_hash(&hashes(&children)),
        }
    }
}

/// The read-only side of a root computation, within one part.
struct Walk<'t, V, E> {
    leaves: &'t BTreeMap<B256, V>,
    encode: &'t E,
    /// Deepest cached prefix length.
    depth: usize,
}

impl<V, E: Fn(&V, &mut Vec<u8>)> Walk<'_, V, E> {
    /// The node of the leaves under the `depth`-nibble `prefix`, with
    /// `memo[d - 1]` the part's cache at depth `d` (indexed by the prefix's
    /// nibbles after the first).
    fn node(&self, memo: &mut [Vec<Cached>], depth: usize, prefix: usize) -> Cached {
        let index = index_in_part(prefix, depth);
        let cached = memo[depth - 1][index];
        if cached != Cached::Unknown {
            return cached;
        }
        let node = if depth == self.depth {
            self.hashed(depth, prefix)
        } else {
            let children: Vec<Cached> = (0..16)
                .map(|nibble| self.node(memo, depth + 1, prefix << 4 | nibble))
                .collect();
            match children.iter().filter(|c| **c != Cached::Empty).count() {
                0 => Cached::Empty,
                // One child: this node is an extension (or a leaf), not a branch.
                1 => self.hashed(depth, prefix),
                _ => Cached::Node(super::branch_hash(&hashes(&children))),
            }
        };
        memo[depth - 1][index] = node;
        node
    }

    /// The node of the leaves under the `depth`-nibble `prefix`, hashed in
    /// one pass with their keys stripped of its nibbles (depth 0: the whole
    /// trie of these leaves).
    fn hashed(&self, depth: usize, prefix: usize) -> Cached {
        let range = leaves_under(self.leaves, depth, prefix);
        let mut hb = HashBuilder::default();
        let mut buf = Vec::with_capacity(128);
        let mut any = false;
        for (key, value) in range {
            buf.clear();
            (self.encode)(value, &mut buf);
            hb.add_leaf(Nibbles::unpack(key).slice(depth..), &buf);
            any = true;
        }
        if any {
            Cached::Node(hb.root())
        } else {
            Cached::Empty
        }
    }
}

/// Child hashes of a branch (`None`: no child under that nibble).
fn hashes(children: &[Cached]) -> Vec<Option<B256>> {
    children
        .iter()
        .map(|c| match c {
            Cached::Node(hash) => Some(*hash),
            _ => None,
        })
        .collect()
}

/// How deep to cache for `leaves` leaves: about one leaf or more per
/// deepest cached node (0: no cache).
fn cached_depth(leaves: usize) -> usize {
    if leaves < MIN_CACHED_LEAVES {
        return 0;
    }
    let mut depth = 1;
    while depth < MAX_CACHED_DEPTH && leaves >> (4 * (depth + 1)) > 0 {
        depth += 1;
    }
    depth
}

/// The first `depth` nibbles of `key` as a number.
fn prefix_of(key: &B256, depth: usize) -> usize {
    let head = u32::from_be_bytes([key.0[0], key.0[1], key.0[2], key.0[3]]);
    (head >> (32 - 4 * depth)) as usize
}

/// Where a part's cache keeps the node of the `depth`-nibble `prefix`
/// (`depth` ≥ 1): its nibbles after the first.
fn index_in_part(prefix: usize, depth: usize) -> usize {
    prefix & ((1 << (4 * (depth - 1))) - 1)
}

/// The smallest key with the `depth`-nibble `prefix`.
fn prefix_key(prefix: usize, depth: usize) -> B256 {
    let mut key = B256::ZERO;
    // Depth 0: the empty prefix, whose smallest key is zero.
    let head = (prefix as u32)
        .checked_shl(32 - 4 * depth as u32)
        .unwrap_or(0);
    key.0[..4].copy_from_slice(&head.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{U256, keccak256};

    fn encode(value: &U256, buf: &mut Vec<u8>) {
        alloy_rlp::Encodable::encode(value, buf);
    }

    fn key(i: u64) -> B256 {
        keccak256(i.to_be_bytes())
    }

    /// The root of the same leaves computed from scratch in one pass.
    fn one_pass(trie: &CachedTrie<U256>) -> B256 {
        let leaves: BTreeMap<B256, U256> = trie.iter().map(|(k, v)| (*k, *v)).collect();
        super::super::trie_root(&leaves, encode, 1)
    }

    #[test]
    fn depths_and_prefixes() {
        assert_eq!(cached_depth(4095), 0);
        assert_eq!(cached_depth(4096), 3);
        assert_eq!(cached_depth(65_535), 3);
        assert_eq!(cached_depth(65_536), 4);
        assert_eq!(cached_depth(10_000_000), 4);
        let k = B256::from([0xab; 32]);
        assert_eq!(prefix_of(&k, 1), 0xa);
        assert_eq!(prefix_of(&k, 4), 0xabab);
        assert_eq!(prefix_key(0xabab, 4).0[..3], [0xab, 0xab, 0]);
        assert_eq!(prefix_key(0xa, 1).0[0], 0xa0);
    }

    /// Blocks of inserts, updates and removals on a trie that grows past
    /// each cache depth and shrinks back: after every block the cached root
    /// equals the one-pass root, on one thread and on several.
    #[test]
    fn cached_roots_equal_one_pass_roots_block_after_block() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut single = CachedTrie::<U256>::default();
        let mut parallel = CachedTrie::<U256>::default();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("pool");
        let plan: &[(u64, u64, u64)] = &[
            // (inserted keys, updated, removed) per block
            (100, 0, 0),
            (5000, 50, 10),
            (2, 1, 1),
            (70_000, 3000, 500),
            (0, 20_000, 0),
            (0, 0, 0),
            (10, 5, 2),
            (0, 1, 70_000),
            // Below the caching threshold but still split, then joined.
            (0, 0, 2000),
            (3, 3, 0),
            (0, 0, 1000),
            (0, 0, 2000),
        ];
        // The same blocks applied as one batch each, parts on three threads.
        let mut batched = CachedTrie::<U256>::default();
        let mut live: Vec<u64> = Vec::new();
        let mut fresh = 0u64;
        for (block, &(inserts, updates, removals)) in plan.iter().enumerate() {
            let mut batch = Vec::new();
            for _ in 0..inserts {
                fresh += 1;
                live.push(fresh);
                single.insert(key(fresh), U256::from(fresh));
                parallel.insert(key(fresh), U256::from(fresh));
                batch.push((key(fresh), Some(U256::from(fresh))));
            }
            for _ in 0..updates.min(live.len() as u64) {
                let i = live[(next() % live.len() as u64) as usize];
                let value = U256::from(next());
                single.update(&key(i), |v| *v = value);
                parallel.update(&key(i), |v| *v = value);
                batch.push((key(i), Some(value)));
            }
            for _ in 0..removals.min(live.len() as u64) {
                let i = live.swap_remove((next() % live.len() as u64) as usize);
                single.remove(&key(i));
                parallel.remove(&key(i));
                batch.push((key(i), None));
            }
            pool.install(|| {
                batched.apply(batch, 3, &|_, _, change| change);
                batched.root(&encode, 3)
            });
            let expected = one_pass(&single);
            assert_eq!(batched.root(&encode, 1), expected, "block {block}, batched");
            assert_eq!(batched.len(), live.len());
            assert_eq!(
                single.root(&encode, 1),
                expected,
                "block {block}, one thread"
            );
            assert_eq!(
                pool.install(|| parallel.root(&encode, 3)),
                expected,
                "block {block}, three threads"
            );
            assert_eq!(single.len(), live.len());
        }
        assert!(single.is_empty() || single.len() == live.len());
    }

    /// `key(i)`, except that for most `i` the first `shared` nibbles are all 0x7.
    fn crowded_key(i: u64, shared: usize) -> B256 {
        let mut k = key(i);
        if !i.is_multiple_of(50) {
            for n in 0..shared {
                let byte = &mut k.0[n / 2];
                *byte = if n % 2 == 0 {
                    (*byte & 0x0f) | 0x70
                } else {
                    (*byte & 0xf0) | 0x07
                };
            }
        }
        k
    }

    /// Keys crowded under one prefix: nodes above the cached depth with a
    /// single child (extensions), and a root that is not a branch.
    #[test]
    fn crowded_prefixes_hash_like_one_pass() {
        for shared in [1usize, 2, 3, 5] {
            let mut trie = CachedTrie::<U256>::default();
            for i in 0..6000u64 {
                trie.insert(crowded_key(i, shared), U256::from(i + 1));
            }
            assert_eq!(trie.root(&encode, 1), one_pass(&trie), "{shared} shared");
            // Only the crowded keys are left: the root itself is an extension.
            for i in (0..6000u64).step_by(50) {
                trie.remove(&key(i));
            }
            assert_eq!(
                trie.root(&encode, 2),
                one_pass(&trie),
                "{shared} shared, crowded only"
            );
        }
    }

    /// The proof built by hashing every leaf, as the cache-less path does.
    fn one_pass_proof(
        trie: &CachedTrie<U256>,
        key: &B256,
    ) -> Vec<(Nibbles, alloy_primitives::Bytes)> {
        let target = Nibbles::unpack(key);
        let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(vec![target]));
        for (k, v) in trie.iter() {
            hb.add_leaf(Nibbles::unpack(k), &alloy_rlp::encode(v));
        }
        let _ = hb.root();
        hb.take_proof_nodes()
            .matching_nodes_sorted(&target)
            .into_iter()
            .collect()
    }

    fn assert_proofs_like_one_pass(
        trie: &mut CachedTrie<U256>,
        keys: impl Iterator<Item = B256>,
        what: &str,
    ) {
        trie.root(&encode, 1);
        let mut served = 0;
        for key in keys {
            served += usize::from(trie.path_plan(&key).is_some());
            let proof: Vec<_> = trie
                .proof(&key, &encode, true)
                .matching_nodes_sorted(&Nibbles::unpack(key))
                .into_iter()
                .collect();
            assert_eq!(proof, one_pass_proof(trie, &key), "{what}: key {key}");
        }
        assert!(
            trie.parts.is_empty() || served > 0,
            "{what}: the cache served no proof"
        );
    }

    /// Proofs of present and absent keys served from the cache equal the
    /// proofs built from every leaf, at every cache depth, after changes,
    /// and with keys crowded under a few prefixes (extensions above and
    /// below the cached depth, a root that is an extension).
    #[test]
    fn cached_proofs_equal_one_pass_proofs() {
        let mut trie = CachedTrie::<U256>::default();
        let mut inserted = 0u64;
        // (keys added, every how many a present key is proven, absent keys proven)
        for (grow, step, absent, what) in [
            (3000u64, 97, 20, "small"),
            (2000, 251, 20, "depth 3"),
            (70_000, 9973, 8, "depth 4"),
        ] {
            for i in inserted..inserted + grow {
                trie.insert(key(i), U256::from(i + 1));
            }
            inserted += grow;
            let present = (0..inserted).step_by(step).map(key);
            let absent = (0..absent).map(|i| key(1_000_000 + i));
            assert_proofs_like_one_pass(&mut trie, present.chain(absent), what);
        }
        for i in (0..inserted).step_by(3) {
            trie.remove(&key(i));
        }
        trie.update(&key(1), |v| *v = U256::from(7));
        let keys = (0..60u64).map(key).chain([key(1), key(2_000_000)]);
        assert_proofs_like_one_pass(&mut trie, keys, "after removals");
        for shared in [1usize, 2, 3, 5] {
            let mut trie = CachedTrie::<U256>::default();
            let crowd = |i: u64| crowded_key(i, shared);
            for i in 0..6000u64 {
                trie.insert(crowd(i), U256::from(i + 1));
            }
            let keys = (0..6000u64)
                .step_by(37)
                .map(crowd)
                .chain((0..20u64).map(|i| crowd(9_000_000 + i)));
            assert_proofs_like_one_pass(&mut trie, keys.clone(), &format!("{shared} shared"));
            for i in (0..6000u64).step_by(50) {
                trie.remove(&crowd(i));
            }
            assert_proofs_like_one_pass(&mut trie, keys, &format!("{shared} shared, crowded only"));
        }
    }

    #[test]
    fn matches_alloy_tries_storage_root() {
        let mut trie = CachedTrie::<U256>::default();
        for i in 0..9000u64 {
            trie.insert(key(i), U256::from(i * 7 + 1));
        }
        let expected = alloy_trie::root::storage_root(trie.iter().map(|(k, v)| (*k, *v)));
        assert_eq!(trie.root(&encode, 1), expected);
        trie.update(&key(5), |v| *v = U256::from(1234));
        let expected = alloy_trie::root::storage_root(trie.iter().map(|(k, v)| (*k, *v)));
        assert_eq!(trie.root(&encode, 1), expected);
    }
}
