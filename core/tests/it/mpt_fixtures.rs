//! Merkle Patricia fixtures shared with the Solidity tests (`contracts/test/MerkleTrie.t.sol`).
//!
//! Deterministic pseudo-random tries (1 to 200 keys; random keys, keys sharing long prefixes to
//! force extensions, keys differing only in their last nibbles to force inlined nodes; one-byte,
//! short and account-sized values) and updates on them: replacements, inserts, deletes of every
//! collapse kind, exclusion proofs, insert sequences from the empty trie and delete sequences down
//! to it. Each case is checked here (the Rust mirror of `MerkleTrie.sol` against alloy-trie's
//! hash builder), every case of the update algorithm must occur, and the JSON must equal the
//! checked-in `contracts/test/fixtures/mpt.json` (regenerate with `MPT_FIXTURES_WRITE=1 cargo test
//! -p rollup-core --test it mpt_fixtures`), which the forge test replays on chain.

use alloy_primitives::{B256, Bytes, U256, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, nodes::TrieNode};
use rollup_core::fault::mpt::{
    LeafTrie, NodeKind, UpdateOutcome, account_leaf, verify_get, verify_update_with_outcome,
};
use serde::Serialize;
use std::collections::BTreeSet;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../contracts/test/fixtures/mpt.json"
);

/// Deterministic pseudo-random numbers (splitmix64), independent of any crate's version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn key(&mut self) -> B256 {
        let mut k = [0u8; 32];
        for chunk in k.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_be_bytes());
        }
        B256::from(k)
    }

    /// A random key that keeps the first `keep` nibbles of `base`.
    fn with_prefix(&mut self, base: &B256, keep: usize) -> B256 {
        let mut nibbles = Nibbles::unpack(base).slice(..keep).to_vec();
        nibbles.extend(Nibbles::unpack(self.key()).slice(keep..).to_vec());
        B256::from_slice(&Nibbles::from_nibbles(nibbles).pack())
    }

    fn bytes(&mut self, len: usize) -> Bytes {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[derive(Clone, Copy, Debug)]
enum Keys {
    /// Independent random keys.
    Random,
    /// Keys sharing a random number of nibbles with an earlier key (extensions at every depth).
    Clustered,
    /// Keys sharing 58 to 63 nibbles (deep branches, inlined nodes with short values).
    Tail,
}

#[derive(Clone, Copy, Debug)]
enum Values {
    /// One byte below 0x80 (a value that is its own RLP): the smallest leaves.
    Tiny,
    /// 1 to 40 bytes.
    Short,
    /// Accounts.
    Account,
}

struct KeyGen {
    style: Keys,
    base: B256,
    seen: Vec<B256>,
}

impl KeyGen {
    fn new(rng: &mut Rng, style: Keys) -> Self {
        Self {
            style,
            base: rng.key(),
            seen: Vec::new(),
        }
    }

    fn next(&mut self, rng: &mut Rng) -> B256 {
        let key = match self.style {
            Keys::Random => rng.key(),
            Keys::Clustered if self.seen.is_empty() || rng.below(4) == 0 => rng.key(),
            Keys::Clustered => {
                let base = self.seen[rng.below(self.seen.len())];
                let keep = rng.below(64);
                rng.with_prefix(&base, keep)
            }
            Keys::Tail => {
                let keep = 58 + rng.below(6);
                rng.with_prefix(&self.base, keep)
            }
        };
        self.seen.push(key);
        key
    }
}

fn value(rng: &mut Rng, style: Values) -> Bytes {
    match style {
        Values::Tiny => Bytes::from(vec![1 + rng.below(0x7f) as u8]),
        Values::Short => {
            let len = 1 + rng.below(40);
            rng.bytes(len)
        }
        Values::Account => {
            let storage_root = if rng.below(2) == 0 {
                EMPTY_ROOT_HASH
            } else {
                rng.key()
            };
            account_leaf(
                rng.next() % 1000,
                U256::from(rng.next()) << rng.below(128),
                storage_root,
                keccak256(rng.bytes(4)),
            )
        }
    }
}

/// One fixture: `get(root, key, proof)` gives (`found`, `value`) and `update(root, key, newValue,
/// proof)` gives `newRoot` (`newValue` empty: delete). The first `pathLength` nodes of `proof` are
/// the path (`get_proof`); a node after them is the sibling a collapsing deletion needs.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    root: B256,
    key: B256,
    proof: Vec<Bytes>,
    path_length: usize,
    found: bool,
    value: Bytes,
    new_value: Bytes,
    new_root: B256,
}

#[derive(Default)]
struct Fixtures {
    cases: Vec<Case>,
    gas: Vec<Case>,
    outcomes: BTreeSet<UpdateOutcome>,
    /// Cases whose key's leaf is inlined in its parent.
    inline_leaf_found: usize,
}

impl Fixtures {
    /// Records the update of `key` to `new_value` (`None`: delete) on `trie`, after checking it.
    fn case(&mut self, name: String, trie: &LeafTrie, key: B256, new_value: Option<&[u8]>) -> Case {
        let (root, proof) = trie.update_proof_with_root(key, new_value);
        assert_eq!(root, trie.root());
        let current = trie.get(&key).cloned();
        let mut after = trie.clone();
        after.set(key, new_value);
        let new_root = after.root();
        let new_value = Bytes::copy_from_slice(new_value.unwrap_or_default());

        assert_eq!(
            verify_get(root, key, &proof).unwrap(),
            current,
            "{name}: get"
        );
        assert_eq!(
            verify_get(root, key, &trie.get_proof(key)).unwrap(),
            current,
            "{name}: get with the path only"
        );
        let (checked_root, outcome) =
            verify_update_with_outcome(root, key, &new_value, &proof).unwrap();
        assert_eq!(checked_root, new_root, "{name}: update");
        self.outcomes.insert(outcome);

        let path = trie.get_proof(key);
        if current.is_some() {
            let last = TrieNode::decode(&mut &path.last().unwrap()[..]).unwrap();
            if !matches!(last, TrieNode::Leaf(_)) {
                self.inline_leaf_found += 1;
            }
        }
        assert!(proof.starts_with(&path) && proof.len() <= path.len() + 1);
        Case {
            name,
            root,
            key,
            path_length: path.len(),
            proof,
            found: current.is_some(),
            value: current.unwrap_or_default(),
            new_value,
            new_root,
        }
    }

    fn push(&mut self, name: String, trie: &LeafTrie, key: B256, new_value: Option<&[u8]>) {
        let case = self.case(name, trie, key, new_value);
        self.cases.push(case);
    }

    /// Updates on a random trie: replace, deletes, inserts near and far, an absent key.
    fn random_trie(&mut self, rng: &mut Rng, n: usize, keys: Keys, values: Values) {
        let mut keygen = KeyGen::new(rng, keys);
        let mut trie = LeafTrie::new();
        while trie.len() < n {
            let key = keygen.next(rng);
            trie.insert(key, value(rng, values));
        }
        let name = format!("random/{n}/{keys:?}/{values:?}");
        let present: Vec<B256> = trie.leaves().keys().copied().collect();
        let pick = |rng: &mut Rng| present[rng.below(present.len())];

        let key = pick(rng);
        let v = value(rng, values);
        self.push(format!("{name}/replace"), &trie, key, Some(&v));
        for i in 0..2 {
            let key = pick(rng);
            self.push(format!("{name}/delete{i}"), &trie, key, None);
        }
        let far = rng.key();
        let v = value(rng, values);
        self.push(format!("{name}/insert-random"), &trie, far, Some(&v));
        for i in 0..2 {
            let near = keygen.next(rng);
            let v = value(rng, values);
            self.push(format!("{name}/insert-near{i}"), &trie, near, Some(&v));
        }
        let absent = keygen.next(rng);
        self.push(format!("{name}/delete-absent"), &trie, absent, None);
    }

    /// Inserts `n` keys one by one from the empty trie, then deletes them all in a random order.
    fn sequence(&mut self, rng: &mut Rng, n: usize, keys: Keys, values: Values) {
        let mut keygen = KeyGen::new(rng, keys);
        let mut trie = LeafTrie::new();
        let name = format!("sequence/{n}/{keys:?}/{values:?}");
        let mut step = 0;
        while trie.len() < n {
            let key = keygen.next(rng);
            let v = value(rng, values);
            self.push(format!("{name}/{step}"), &trie, key, Some(&v));
            trie.insert(key, v);
            step += 1;
        }
        let mut order: Vec<B256> = trie.leaves().keys().copied().collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for key in order {
            self.push(format!("{name}/{step}"), &trie, key, None);
            trie.remove(&key);
            step += 1;
        }
        assert!(trie.is_empty());
    }

    /// Deep tries built from `base` with the nibbles given per key set (position, nibble), where
    /// the inlined-node collapses happen; each key is deleted, replaced and has a neighbour inserted.
    fn shape(&mut self, rng: &mut Rng, name: &str, keys: &[&[(usize, u8)]]) {
        let base = rng.key();
        let make = |spec: &[(usize, u8)]| {
            let mut nibbles = Nibbles::unpack(base).to_vec();
            for &(i, n) in spec {
                nibbles[i] = n;
            }
            B256::from_slice(&Nibbles::from_nibbles(nibbles).pack())
        };
        for values in [Values::Tiny, Values::Account] {
            let trie: LeafTrie = keys.iter().map(|k| (make(k), value(rng, values))).collect();
            assert_eq!(trie.len(), keys.len(), "{name}: distinct keys");
            let name = format!("shape/{name}/{values:?}");
            for (i, spec) in keys.iter().enumerate() {
                let key = make(spec);
                self.push(format!("{name}/delete{i}"), &trie, key, None);
                let v = value(rng, values);
                self.push(format!("{name}/replace{i}"), &trie, key, Some(&v));
                let mut near = spec.to_vec();
                near.push((63, (Nibbles::unpack(key).get_unchecked(63) + 1) % 16));
                self.push(format!("{name}/insert{i}"), &trie, make(&near), Some(&v));
            }
        }
    }

    /// Account tries of `n` leaves keyed by keccak256(i), for gas measurements.
    fn gas(&mut self, rng: &mut Rng, n: u64) {
        let trie: LeafTrie = (0..n)
            .map(|i| (keccak256(i.to_be_bytes()), value(rng, Values::Account)))
            .collect();
        let present = keccak256((n / 2).to_be_bytes());
        let v = value(rng, Values::Account);
        let case = self.case(format!("gas/{n}/replace"), &trie, present, Some(&v));
        self.gas.push(case);
        let absent = keccak256(n.to_be_bytes());
        let case = self.case(format!("gas/{n}/insert"), &trie, absent, Some(&v));
        self.gas.push(case);
        let case = self.case(format!("gas/{n}/delete"), &trie, present, None);
        self.gas.push(case);
    }
}

fn generate() -> Fixtures {
    let mut rng = Rng(0x006d_7074);
    let mut f = Fixtures::default();
    let key_styles = [Keys::Random, Keys::Clustered, Keys::Tail];
    let value_styles = [Values::Tiny, Values::Short, Values::Account];
    for n in [1, 2, 3, 4, 6, 9, 13, 20, 30, 50, 80, 130, 200] {
        for keys in key_styles {
            let values = value_styles[rng.below(3)];
            f.random_trie(&mut rng, n, keys, values);
        }
    }
    for n in 1..=12 {
        let keys = key_styles[n % 3];
        for values in [Values::Tiny, Values::Account] {
            f.sequence(&mut rng, n, keys, values);
        }
    }
    // A branch at 61 under a branch (then under an extension) whose other child is an extension
    // to a branch at 63; a branch at 62 under an extension whose other child is a branch at 63.
    f.shape(
        &mut rng,
        "ext-below-branch",
        &[
            &[(60, 1)],
            &[(60, 2), (61, 3)],
            &[(60, 2), (61, 4), (62, 5), (63, 6)],
            &[(60, 2), (61, 4), (62, 5), (63, 7)],
        ],
    );
    f.shape(
        &mut rng,
        "ext-below-ext",
        &[
            &[(61, 3)],
            &[(61, 4), (62, 5), (63, 6)],
            &[(61, 4), (62, 5), (63, 7)],
        ],
    );
    f.shape(
        &mut rng,
        "branch-below-ext",
        &[&[(62, 3)], &[(62, 4), (63, 6)], &[(62, 4), (63, 7)]],
    );
    for n in [100, 10_000] {
        f.gas(&mut rng, n);
    }
    f
}

fn to_json(f: &Fixtures) -> String {
    let list = |cases: &[Case]| {
        cases
            .iter()
            .map(|c| serde_json::to_string(c).unwrap())
            .collect::<Vec<_>>()
            .join(",\n")
    };
    format!(
        "{{\"cases\": [\n{}\n],\n\"gas\": [\n{}\n]}}\n",
        list(&f.cases),
        list(&f.gas)
    )
}

#[test]
fn mpt_fixtures_cover_every_case_and_match_the_checked_in_file() {
    let f = generate();

    let mut expected = BTreeSet::from([
        UpdateOutcome::Unchanged,
        UpdateOutcome::Replaced,
        UpdateOutcome::InsertedIntoEmptyTrie,
        UpdateOutcome::InsertedIntoBranch,
        UpdateOutcome::DeletedLastKey,
        UpdateOutcome::DeletedFromBranch,
    ]);
    for extension in [false, true] {
        expected.insert(UpdateOutcome::SplitLeaf { extension });
        for remainder in [false, true] {
            expected.insert(UpdateOutcome::SplitExtension {
                extension,
                remainder,
            });
        }
    }
    for into in [NodeKind::Leaf, NodeKind::Extension, NodeKind::Branch] {
        for sibling_by_hash in [false, true] {
            for merged_extension in [false, true] {
                expected.insert(UpdateOutcome::Collapsed {
                    into,
                    sibling_by_hash,
                    merged_extension,
                });
            }
        }
    }
    let missing: Vec<_> = expected.difference(&f.outcomes).collect();
    assert!(
        missing.is_empty(),
        "update cases never generated: {missing:?}"
    );
    assert!(f.inline_leaf_found > 0, "no case reads an inlined leaf");
    assert!(
        f.cases.iter().any(|c| c.proof.is_empty()),
        "no empty-trie case"
    );

    let json = to_json(&f);
    assert!(
        json.len() < 2_000_000,
        "fixture file too large: {} bytes",
        json.len()
    );
    if std::env::var_os("MPT_FIXTURES_WRITE").is_some() {
        std::fs::create_dir_all(std::path::Path::new(FIXTURE).parent().unwrap()).unwrap();
        std::fs::write(FIXTURE, &json).unwrap();
    }
    let on_disk = std::fs::read_to_string(FIXTURE).unwrap_or_default();
    assert!(
        on_disk == json,
        "{FIXTURE} is stale or missing ({} cases, {} bytes generated); regenerate with \
         MPT_FIXTURES_WRITE=1 cargo test -p rollup-core --test it mpt_fixtures",
        f.cases.len(),
        json.len()
    );
}
