//! EVM instruction steps, off chain (docs/evm-steps.md): the EVM state and its hash, word
//! trees, stack hashes, and the recorder that takes them from revm 43's interpreter.
//!
//! [`EvmRun::record`] runs a transaction once with revm and an inspector that, before every
//! instruction of every frame, builds the [`EvmState`] and keeps it, with a returning state
//! ([`FrameEnd`]) after each frame at depth 1 or more; recording stops at the first step the
//! verifiers do not prove (the rest-of-transaction step) or when the transaction's frame ends. [`EvmRun::witness`] re-runs the transaction and captures, at
//! one instruction, what the verifier needs: the stack items it reads, the word proofs, the
//! code.

use super::{
    inputs::{BLOCK_HASH_HISTORY, recent_hashes_tree},
    machine::BlockItem,
    sponge::{self, KeccakSponge},
    step::{AccountTrie, is_provable_precompile},
};
use crate::{
    chain::ChainConfig,
    executor::{BlockInput, ExecError, rejection_of},
    precompiles::MAX_PRECOMPILE_INPUT,
    state::{RevmDb, StateReader},
};
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, map::HashMap};
use alloy_sol_types::{SolValue, sol};
use alloy_trie::EMPTY_ROOT_HASH;
use revm::{
    Context, Database, InspectEvm, Inspector, MainBuilder, MainContext,
    context::{
        CfgEnv, TxEnv,
        result::{EVMError, ExecutionResult},
    },
    context_interface::{Block as _, ContextTr, JournalTr},
    database::CacheDB,
    interpreter::{
        CreateInputs, CreateOutcome, InstructionResult, Interpreter,
        interpreter_types::{InputsTr, Jumps, LoopControl, MemoryTr, ReturnData},
    },
    state::EvmState as RevmState,
};
use std::sync::LazyLock;

sol! {
    /// The running EVM frame and the transaction's EVM context (docs/evm-steps.md section 2).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct EvmState {
        bytes32 txHash;
        bytes32 txStartRoot;
        bytes32 substate;
        uint16 depth;
        bytes32 parent;
        address target;
        address caller;
        uint256 value;
        bool isStatic;
        bytes32 codeHash;
        bytes32 calldataRoot;
        uint32 calldataSize;
        bytes32 returnDataRoot;
        uint32 returnDataSize;
        uint32 pc;
        uint64 gas;
        uint16 stackSize;
        bytes32 stack;
        uint32 memSize;
        bytes32 memRoot;
    }

    /// One word of a word tree with its siblings (docs/evm-steps.md section 3).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct WordProof {
        uint32 index;
        bytes32 word;
        bytes32[20] siblings;
    }

    /// Consecutive words of a word tree with the siblings that open them together
    /// (docs/evm-steps.md section 3).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct WordRange {
        uint32 first;
        bytes32[] words;
        bytes32[] siblings;
    }

    /// What a state-access instruction opens (docs/evm-steps.md section 6, kind 3): the
    /// substate's tries and the Merkle Patricia proofs of the slot or account.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct StateWitness {
        bytes32 warmSlots;
        bytes32 transientStorage;
        bytes32 warmAccounts;
        bytes[] warmProof;
        bytes[] accountProof;
        bytes[] storageProof;
        bytes[] originalAccountProof;
        bytes[] originalStorageProof;
        bytes[] transientProof;
        bytes extCode;
    }

    /// What a call to a precompile opens, with or without a value (docs/evm-steps.md section 6,
    /// kind 5).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct PrecompileCallWitness {
        bytes[] calleeProof;
        WordRange input;
        WordRange output;
        bytes[] selfProof;
    }

    /// What a call without a frame opens (docs/evm-steps.md section 6, kind 4).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct CallWitness {
        bytes32 warmSlots;
        bytes32 transientStorage;
        bytes32 warmAccounts;
        bytes[] warmProof;
        bytes[] calleeProof;
        bytes[] selfProof;
        bytes[] frameWarmProof;
        WordRange args;
        bytes calleeCode;
        bytes[] delegateWarmProof;
        bytes[] delegateProof;
    }

    /// The caller of a frame at depth ≥ 1 as it resumes, and its snapshots (docs/evm-steps.md
    /// section 9); the frame's `parent` is its hash.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct CallerFrame {
        bytes32 frame;
        uint32 retOffset;
        uint32 retLen;
        bytes32 stateRoot;
        bytes32 substate;
        uint64 refund;
        address created;
    }

    /// What a SELFDESTRUCT opens (docs/evm-steps.md section 6, kind 10).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct SelfDestructWitness {
        bytes32 warmSlots;
        bytes32 transientStorage;
        bytes32 warmAccounts;
        bytes[] warmProof;
        bytes[] selfProof;
        bytes[] originalProof;
        bytes[] targetProof;
        bytes[] selfAfterProof;
    }

    /// What a CREATE or CREATE2 opens (docs/evm-steps.md section 6, kind 8).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct CreateWitness {
        bytes32 warmSlots;
        bytes32 transientStorage;
        bytes32 warmAccounts;
        bytes[] selfProof;
        bytes[] warmProof;
        bytes[] newProof;
        bytes[] selfAfterProof;
        bytes[] frameWarmProof;
        WordRange initCode;
    }

    /// A frame at depth ≥ 1 that has ended (docs/evm-steps.md section 9): the returning state's
    /// `evm` is its hash.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct FrameEnd {
        bytes32 parent;
        uint8 outcome;
        uint64 gasLeft;
        bytes32 substate;
        bytes32 memRoot;
        uint32 outOffset;
        uint32 outSize;
    }

    /// What a step of a long output (kind 14, docs/evm-steps.md section 9, "Long outputs") adds
    /// to the return witness: the chunk it moves, the return data's tree and the caller's memory
    /// root so far, and the chunk's words in the ended frame's memory, the return data's tree and
    /// the caller's memory.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct LongOutput {
        uint256 k;
        bytes32 returnData;
        bytes32 callerMem;
        WordRange output;
        WordRange returnRange;
        WordRange dest;
    }
}

/// A change of the world state during a transaction's EVM run, in the order it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// SSTORE of `value` into `slot` of `account` (the frame's).
    Store {
        /// The frame's account.
        account: Address,
        /// The slot.
        slot: U256,
        /// Its new value.
        value: U256,
    },
    /// A CALL moved `value` from the frame's account `from` to `to`.
    Transfer {
        /// The calling frame's account.
        from: Address,
        /// The callee.
        to: Address,
        /// The value.
        value: U256,
    },
    /// CREATE or CREATE2 bumped the nonce of the frame's account `account`.
    Nonce {
        /// The creating frame's account.
        account: Address,
    },
    /// A creation's frame started: `address` gets nonce 1, `value` more and an empty storage,
    /// taken from `creator`.
    Create {
        /// The creating frame's account.
        creator: Address,
        /// The new account.
        address: Address,
        /// The value it is given.
        value: U256,
    },
    /// A creation succeeded: the new account's code.
    Code {
        /// The new account.
        address: Address,
        /// The hash of the code it deposited.
        code_hash: B256,
    },
    /// SELFDESTRUCT (EIP-6780): `account`'s balance goes to `target`; an account created in the
    /// transaction is deleted at once (docs/evm-steps.md section 11).
    SelfDestruct {
        /// The frame's account.
        account: Address,
        /// Who gets its balance.
        target: Address,
        /// It was created in this transaction: it is deleted.
        destroy: bool,
    },
    /// A frame failed: the effects from the `to`-th on are undone.
    Revert {
        /// The number of effects that stay.
        to: usize,
    },
}

/// The `substate` of a frame whose transaction's access list is longer than
/// [`MAX_ACCESS_LIST_WARMINGS`] (its state-access instructions are rest-of-transaction steps),
/// also left by a SELFDESTRUCT that deletes an account (docs/evm-steps.md sections 2 and 11).
pub const ACCESS_LIST_SUBSTATE: B256 = B256::with_last_byte(1);

/// Most access-list entries (addresses plus storage keys) an entry step warms, one trie proof
/// each; a longer list leaves the access-list marker.
pub const MAX_ACCESS_LIST_WARMINGS: usize = 64;

/// A transaction's access list warmed into the substate's tries at its entry (docs/evm-steps.md
/// section 2): every address (key `keccak256(address)`), then its storage keys ([`slot_key`]),
/// in the list's order, each with the proof the entry verifier updates its trie with.
#[derive(Clone, Debug, Default)]
pub struct WarmedAccessList {
    /// The warm-slot trie after the list.
    pub warm_slots: AccountTrie,
    /// The warm-account trie after the list.
    pub warm_accounts: AccountTrie,
    /// One proof per warming, each against its trie's root at that moment.
    pub proofs: Vec<Vec<Bytes>>,
}

/// The entries of an access list as the entry step counts them: each address and each storage
/// key, duplicates counted.
pub fn access_list_entries(list: &AccessList) -> usize {
    list.iter().map(|item| 1 + item.storage_keys.len()).sum()
}

impl WarmedAccessList {
    /// The list warmed, `None` when it has more than [`MAX_ACCESS_LIST_WARMINGS`] entries.
    pub fn of(list: &AccessList) -> Option<Self> {
        if access_list_entries(list) > MAX_ACCESS_LIST_WARMINGS {
            return None;
        }
        let mut warmed = Self::default();
        for item in list.iter() {
            let proof = warmed.warm_account(item.address);
            warmed.proofs.push(proof);
            for slot in &item.storage_keys {
                let key = slot_key(item.address, U256::from_be_bytes(slot.0));
                warmed.proofs.push(warmed.warm_slots.proof(&key, false));
                warmed.warm_slots.insert(key, Bytes::from_static(&[1]));
            }
        }
        Some(warmed)
    }

    /// Makes `address` warm (`keccak256(address)` into `warm_accounts`); returns the proof of the
    /// insertion against the trie before it, as the entry verifiers update it.
    pub fn warm_account(&mut self, address: Address) -> Vec<Bytes> {
        let key = keccak256(address);
        let proof = self.warm_accounts.proof(&key, false);
        self.warm_accounts.insert(key, Bytes::from_static(&[1]));
        proof
    }

    /// The frame's starting `substate` (no transient storage yet).
    pub fn substate(&mut self) -> B256 {
        substate_hash(
            self.warm_slots.root(),
            EMPTY_ROOT_HASH,
            self.warm_accounts.root(),
        )
    }
}

/// The frame's `substate`: 0 when the three tries are empty, else
/// `keccak256(abi.encode(warmSlots, transientStorage, warmAccounts))`.
pub fn substate_hash(warm_slots: B256, transient_storage: B256, warm_accounts: B256) -> B256 {
    if [warm_slots, transient_storage, warm_accounts] == [EMPTY_ROOT_HASH; 3] {
        return B256::ZERO;
    }
    keccak256((warm_slots, transient_storage, warm_accounts).abi_encode())
}

/// Whether `address` is warm from the start of the transaction's frame (EIP-2929, EIP-3651):
/// the sender, the recipient, the block's beneficiary, or a precompile.
pub fn warm_from_start(
    address: Address,
    sender: Address,
    to: Address,
    beneficiary: Address,
) -> bool {
    let id = U256::from_be_slice(address.as_slice());
    address == sender
        || address == to
        || address == beneficiary
        || (id >= U256::from(1) && id <= U256::from(0x11))
}

/// The key of `slot` of `account` in the warm-slot and transient-storage tries:
/// `keccak256(abi.encodePacked(account, slot))`.
pub fn slot_key(account: Address, slot: U256) -> B256 {
    let mut buf = [0u8; 52];
    buf[..20].copy_from_slice(account.as_slice());
    buf[20..].copy_from_slice(&slot.to_be_bytes::<32>());
    keccak256(buf)
}

/// A storage slot's leaf payload in a storage (or transient-storage) trie: `rlp(value)`; `None`
/// for 0 (no leaf).
pub fn slot_leaf(value: U256) -> Option<Bytes> {
    (!value.is_zero()).then(|| alloy_rlp::encode(value).into())
}

impl EvmState {
    /// `keccak256(abi.encode(state))`, the machine state's `evm` field.
    pub fn hash(&self) -> B256 {
        keccak256(self.abi_encode())
    }
}

/// The `evm` field of an `IN_TX` state before the EVM is entered: `keccak256(txHash)`.
pub fn entry_marker(tx_hash: B256) -> B256 {
    keccak256(tx_hash)
}

/// The `evm` field of an EIP-7702 transaction's `IN_TX` state once `applied` of its
/// authorizations are stepped (docs/evm-steps.md section 1.2): `keccak256(abi.encode(txHash,
/// applied, warmSlots, warmAccounts))`, the roots of the substate's warm tries so far
/// ([`ACCESS_LIST_SUBSTATE`] and 0 for an access list over the cap).
pub fn authorization_marker(
    tx_hash: B256,
    applied: usize,
    warm_slots: B256,
    warm_accounts: B256,
) -> B256 {
    keccak256((tx_hash, U256::from(applied), warm_slots, warm_accounts).abi_encode())
}

/// Depth of a word tree: 2^20 words of 32 bytes.
pub const WORD_DEPTH: usize = 20;

/// `ZERO[k]`: the root of a subtree of height `k` whose words are all zero.
static ZERO: LazyLock<[B256; WORD_DEPTH + 1]> = LazyLock::new(|| {
    let mut zero = [B256::ZERO; WORD_DEPTH + 1];
    for k in 1..=WORD_DEPTH {
        zero[k] = node_hash(zero[k - 1], zero[k - 1]);
    }
    zero
});

fn node_hash(left: B256, right: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// The root of the empty byte array (and of an all-zero one).
pub fn empty_word_root() -> B256 {
    ZERO[WORD_DEPTH]
}

/// A word tree (docs/evm-steps.md section 3), sparse: only subtrees with a non-zero word are
/// stored.
#[derive(Clone, Debug, Default)]
pub struct WordTree {
    /// `(level, index) -> hash` for the non-zero nodes; level 0 holds the words.
    nodes: HashMap<(u8, u32), B256>,
}

impl WordTree {
    /// The tree of `data`, zero-padded to whole words.
    ///
    /// Built level by level (about two hashes a word), where setting each word would rehash its
    /// whole path (twenty).
    pub fn from_bytes(data: &[u8]) -> Self {
        let mut nodes = HashMap::default();
        let mut level: Vec<(u32, B256)> = data
            .chunks(32)
            .enumerate()
            .filter_map(|(index, chunk)| {
                let mut word = B256::ZERO;
                word[..chunk.len()].copy_from_slice(chunk);
                (word != B256::ZERO).then_some((index as u32, word))
            })
            .collect();
        for height in 0..=WORD_DEPTH {
            nodes.extend(level.iter().map(|&(at, hash)| ((height as u8, at), hash)));
            if height == WORD_DEPTH {
                break;
            }
            // The parents of this level's non-zero nodes, in order (pairs are adjacent).
            let mut parents = Vec::with_capacity(level.len().div_ceil(2));
            let mut i = 0;
            while i < level.len() {
                let (at, hash) = level[i];
                let (left, right) = if at & 1 == 0 {
                    match level.get(i + 1) {
                        Some(&(next, sibling)) if next == at + 1 => {
                            i += 1;
                            (hash, sibling)
                        }
                        _ => (hash, ZERO[height]),
                    }
                } else {
                    (ZERO[height], hash)
                };
                parents.push((at >> 1, node_hash(left, right)));
                i += 1;
            }
            level = parents;
        }
        Self { nodes }
    }

    fn node(&self, level: usize, index: u32) -> B256 {
        self.nodes
            .get(&(level as u8, index))
            .copied()
            .unwrap_or(ZERO[level])
    }

    /// The root.
    pub fn root(&self) -> B256 {
        self.node(WORD_DEPTH, 0)
    }

    /// Word `index`.
    pub fn word(&self, index: u32) -> B256 {
        self.node(0, index)
    }

    /// Sets word `index` and rehashes its path.
    pub fn set(&mut self, index: u32, word: B256) {
        if self.word(index) == word {
            return;
        }
        let mut hash = word;
        let mut at = index;
        for level in 0..=WORD_DEPTH {
            if hash == ZERO[level] {
                self.nodes.remove(&(level as u8, at));
            } else {
                self.nodes.insert((level as u8, at), hash);
            }
            if level == WORD_DEPTH {
                break;
            }
            let sibling = self.node(level, at ^ 1);
            hash = if at & 1 == 0 {
                node_hash(hash, sibling)
            } else {
                node_hash(sibling, hash)
            };
            at >>= 1;
        }
    }

    /// Writes `bytes` at byte `offset`, keeping the other bytes of the words it touches.
    pub fn write(&mut self, offset: usize, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let (a, b) = words_of(offset as u32, bytes.len() as u32);
        for word_index in a..=b {
            let mut word = self.word(word_index);
            let base = word_index as usize * 32;
            for (i, byte) in word.iter_mut().enumerate() {
                let at = base + i;
                if at >= offset && at < offset + bytes.len() {
                    *byte = bytes[at - offset];
                }
            }
            self.set(word_index, word);
        }
    }

    /// The proof of word `index` against the current root.
    pub fn proof(&self, index: u32) -> WordProof {
        let mut siblings = [B256::ZERO; WORD_DEPTH];
        let mut at = index;
        for (level, sibling) in siblings.iter_mut().enumerate() {
            *sibling = self.node(level, at ^ 1);
            at >>= 1;
        }
        WordProof {
            index,
            word: self.word(index),
            siblings,
        }
    }

    /// The range proof of words `first..=last` against the current root: at each level from the
    /// words up, the left neighbour of the range when its first node is a right child, then the
    /// right neighbour when its last node is a left child.
    pub fn range(&self, first: u32, last: u32) -> WordRange {
        let words = (first..=last).map(|index| self.word(index)).collect();
        let mut siblings = Vec::new();
        let (mut lo, mut hi) = (first, last);
        for level in 0..WORD_DEPTH {
            if lo & 1 == 1 {
                siblings.push(self.node(level, lo - 1));
            }
            if hi & 1 == 0 {
                siblings.push(self.node(level, hi + 1));
            }
            lo >>= 1;
            hi >>= 1;
        }
        WordRange {
            first,
            words,
            siblings,
        }
    }
}

/// The root a range proof opens with `words` in its place (what the verifier computes); `None`
/// when the range leaves the tree, is empty, or the siblings are not exactly those it needs.
pub fn range_root(first: u32, words: &[B256], siblings: &[B256]) -> Option<B256> {
    let mut level = words.to_vec();
    if level.is_empty() || first as usize + level.len() > 1 << WORD_DEPTH {
        return None;
    }
    let mut siblings = siblings.iter().copied();
    let mut lo = first as usize;
    for _ in 0..WORD_DEPTH {
        let hi = lo + level.len() - 1;
        let left = if lo & 1 == 1 {
            siblings.next()?
        } else {
            B256::ZERO
        };
        let right = if hi & 1 == 0 {
            siblings.next()?
        } else {
            B256::ZERO
        };
        let parents = (hi >> 1) - (lo >> 1) + 1;
        let node = |i: usize| {
            if i < lo {
                left
            } else if i > hi {
                right
            } else {
                level[i - lo]
            }
        };
        level = (0..parents)
            .map(|j| {
                let parent = (lo >> 1) + j;
                node_hash(node(2 * parent), node(2 * parent + 1))
            })
            .collect();
        lo >>= 1;
    }
    siblings.next().is_none().then(|| level[0])
}

/// The root `proof` opens for `word` at its index (what the verifier computes).
pub fn word_root(index: u32, word: B256, siblings: &[B256; WORD_DEPTH]) -> B256 {
    let mut hash = word;
    let mut at = index;
    for sibling in siblings {
        hash = if at & 1 == 0 {
            node_hash(hash, *sibling)
        } else {
            node_hash(*sibling, hash)
        };
        at >>= 1;
    }
    hash
}

/// Stack hashes, kept for every height so that a push or a pop costs one hash.
#[derive(Clone, Debug)]
struct StackHasher {
    items: Vec<U256>,
    /// `prefix[i]`: the hash of the bottom `i` items.
    prefix: Vec<B256>,
}

impl Default for StackHasher {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            prefix: vec![B256::ZERO],
        }
    }
}

/// `keccak256(abi.encodePacked(uint256 item, bytes32 rest))`.
pub fn stack_push(rest: B256, item: U256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&item.to_be_bytes::<32>());
    buf[32..].copy_from_slice(rest.as_slice());
    keccak256(buf)
}

impl StackHasher {
    /// Brings the hasher to `data` (bottom first), rehashing only above the first change.
    fn update(&mut self, data: &[U256]) {
        let same = self
            .items
            .iter()
            .zip(data)
            .take_while(|(a, b)| a == b)
            .count();
        self.items.truncate(same);
        self.prefix.truncate(same + 1);
        for item in &data[same..] {
            let rest = *self.prefix.last().expect("prefix[0] exists");
            self.prefix.push(stack_push(rest, *item));
            self.items.push(*item);
        }
    }

    fn hash(&self) -> B256 {
        *self.prefix.last().expect("prefix[0] exists")
    }
}

/// Opcodes of docs/evm-steps.md section 4 with the number of stack items each reads; an opcode
/// byte Prague does not define is a stage-1 instruction that halts (it reads nothing).
/// `None`: not a stage-1 instruction (the rest-of-transaction step).
pub fn stage1_inputs(op: u8) -> Option<usize> {
    Some(match op {
        0x00 | 0x30 | 0x32..=0x34 | 0x36 | 0x38 | 0x3a | 0x3d | 0x41..=0x46 | 0x48 | 0x4a => 0,
        0x58..=0x5b | 0x5f..=0x7f | 0xfe => 0,
        0x15 | 0x19 | 0x35 | 0x40 | 0x49 | 0x50 | 0x51 | 0x56 => 1,
        0x01..=0x07 | 0x0a | 0x0b | 0x10..=0x14 | 0x16..=0x18 | 0x1a..=0x1d => 2,
        0x52 | 0x53 | 0x57 | 0xf3 | 0xfd => 2,
        // LOG0..LOG4: offset, length and the topics.
        0xa0..=0xa4 => usize::from(op - 0xa0) + 2,
        0x08 | 0x09 => 3,
        0x80..=0x8f => usize::from(op - 0x7f),
        0x90..=0x9f => usize::from(op - 0x8f) + 1,
        // Undefined on Prague (halts): 0x0c-0x0f, 0x1e-0x1f (CLZ is Osaka), 0x21-0x2f,
        // 0x4b-0x4f, 0xa5-0xef, 0xf6-0xf9, 0xfb, 0xfc.
        0x0c..=0x0f | 0x1e | 0x1f | 0x21..=0x2f | 0x4b..=0x4f | 0xa5..=0xef => 0,
        0xf6..=0xf9 | 0xfb | 0xfc => 0,
        _ => return None,
    })
}

/// Most words one range of a stage-2 step may span (32 KiB): longer copies and hashes are
/// chunked (docs/evm-steps.md section 4, "Hashing and copies").
pub const MAX_RANGE_WORDS: usize = 1024;

/// Most words a creation's init code spans (EIP-3860's 49,152 bytes at any offset): the one
/// range a CREATE or CREATE2 opens may be that long (docs/evm-steps.md section 10).
pub const MAX_INITCODE_WORDS: usize = 49_152 / 32 + 1;

/// Most bytes one step of a copy moves (1023 words: any span this long touches at most
/// [`MAX_RANGE_WORDS`] words). A longer CALLDATACOPY, CODECOPY, RETURNDATACOPY or MCOPY is
/// split into chunks of this size, one step each (docs/evm-steps.md section 4, "Chunked copies").
pub const CHUNK_BYTES: usize = 32_736;

/// Bytes one step of a chunked KECCAK256 absorbs (48 blocks of keccak's rate): a KECCAK256 of
/// more than [`CHUNK_BYTES`] is one step per chunk of this size, the sponge's state carried on
/// the stack between them (docs/evm-steps.md section 4, "Chunked hashes").
pub const HASH_CHUNK_BYTES: usize = 48 * sponge::RATE;

/// A frame in the middle of a chunked copy has `pc = p + (k << CHUNK_SHIFT)`: `p` the copy's
/// own pc (code is at most 49,152 bytes) and `k` the next chunk.
pub const CHUNK_SHIFT: u32 = 16;

/// The chunks of a copy `dst src len` (`len > 0`, memory offsets below 2^64) that did not halt:
/// `(offset, length)` inside its `len` bytes, in the order its steps copy them. One chunk when
/// `len <= CHUNK_BYTES` or for KECCAK256 (whose chunks carry keccak's sponge and are
/// [`HASH_CHUNK_BYTES`] long: `Recorder::chunked_hash`). MCOPY with `dst > src` goes
/// backward, so that no chunk reads source bytes an earlier chunk overwrote.
pub fn copy_chunks(op: u8, dst: U256, src: U256, len: usize) -> Vec<(usize, usize)> {
    if op == 0x20 || len <= CHUNK_BYTES {
        return vec![(0, len)];
    }
    let n = len.div_ceil(CHUNK_BYTES);
    let backward = op == 0x5e && dst > src;
    (0..n)
        .map(|k| {
            if backward {
                let end = len - k * CHUNK_BYTES;
                let offset = end.saturating_sub(CHUNK_BYTES);
                (offset, end - offset)
            } else {
                let offset = k * CHUNK_BYTES;
                (offset, CHUNK_BYTES.min(len - offset))
            }
        })
        .collect()
}

/// The instruction's own pc of a frame's `pc` (without a chunked copy's chunk index).
pub fn instruction_pc(pc: u32) -> usize {
    (pc & ((1 << CHUNK_SHIFT) - 1)) as usize
}

/// Stage 2 (docs/evm-steps.md section 4): KECCAK256, CALLDATACOPY, CODECOPY, RETURNDATACOPY,
/// MCOPY and EXTCODECOPY, with the number of stack items each reads. Their witnesses are word
/// ranges (kind 2; EXTCODECOPY, also a state access, is kind 7).
pub fn stage2_inputs(op: u8) -> Option<usize> {
    match op {
        0x20 => Some(2),
        0x37 | 0x39 | 0x3e | 0x5e => Some(3),
        0x3c => Some(4),
        _ => None,
    }
}

/// Stage 3 (docs/evm-steps.md section 4, "State access"): SLOAD, SSTORE, TLOAD, TSTORE,
/// BALANCE, EXTCODESIZE, EXTCODEHASH, SELFBALANCE and EXTCODECOPY, with the number of stack
/// items each reads. Their witnesses are state proofs (kind 3; EXTCODECOPY, also a copy, is kind
/// 7: the state proofs and its destination range).
pub fn stage3_inputs(op: u8) -> Option<usize> {
    match op {
        0x54 | 0x5c | 0x31 | 0x3b | 0x3f => Some(1),
        0x55 | 0x5d => Some(2),
        0x47 => Some(0),
        0x3c => Some(4),
        _ => None,
    }
}

/// Whether `op` reads another account (BALANCE, EXTCODESIZE, EXTCODEHASH, EXTCODECOPY): the
/// address on top of the stack becomes warm.
fn reads_account(op: u8) -> bool {
    matches!(op, 0x31 | 0x3b | 0x3c | 0x3f)
}

/// Calls (docs/evm-steps.md section 4, "Calls without a frame"): CALL, CALLCODE, DELEGATECALL
/// and STATICCALL, with the number of stack items each reads. Their witnesses are kind 4; a
/// call that starts a frame (or reaches a precompile) is a rest-of-transaction step.
pub fn call_inputs(op: u8) -> Option<usize> {
    match op {
        0xf1 | 0xf2 => Some(7),
        0xf4 | 0xfa => Some(6),
        _ => None,
    }
}

/// Steps that put a call's argument bytes in its callee's call-data tree before the call step
/// itself (docs/evm-steps.md section 9, "Long arguments"): one per [`CHUNK_BYTES`] of an argument
/// range over [`CHUNK_BYTES`] when the callee is not a precompile and the call reaches its
/// callee's access (100 gas, no value in a static frame, the memory expansion of its argument
/// range and then of its output range, as `EvmCallVerifier` charges them); otherwise 0. `items`
/// are the call's stack items, top first; `state` the frame before it.
pub fn call_arg_steps(op: u8, items: &[U256], state: &EvmState) -> usize {
    const WARM_READ: u64 = 100;
    let Some(inputs) = call_inputs(op) else {
        return 0;
    };
    if items.len() < inputs {
        return 0;
    }
    let at = inputs - 4;
    let len = items[at + 1];
    if len <= U256::from(CHUNK_BYTES) || is_provable_precompile(Address::from_word(items[1].into()))
    {
        return 0;
    }
    let gas = state.gas;
    if gas < WARM_READ || (op == 0xf1 && state.isStatic && !items[2].is_zero()) {
        return 0;
    }
    let reaches = call_range(
        u128::from(state.memSize),
        u128::from(WARM_READ),
        gas,
        items[at],
        len,
    )
    .and_then(|(mem_size, cost)| call_range(mem_size, cost, gas, items[at + 2], items[at + 3]))
    .is_some();
    match (reaches, usize::try_from(len)) {
        (true, Ok(len)) => len.div_ceil(CHUNK_BYTES),
        _ => 0,
    }
}

/// A call's range of `len` bytes at `offset` (`EvmFrame.callRange`, revm's `resize_memory`): the
/// memory size and the cost after its expansion, `None` when the call halts there (an operand past
/// 64 bits, or a cost over `gas`). An empty range costs nothing.
fn call_range(
    mem_size: u128,
    cost: u128,
    gas: u64,
    offset: U256,
    len: U256,
) -> Option<(u128, u128)> {
    let len = u64::try_from(len).ok()?;
    let (mem_size, cost) = if len == 0 {
        (mem_size, cost)
    } else {
        let offset = u64::try_from(offset).ok()?;
        let end = offset.saturating_add(len);
        let words = u128::from(end.saturating_add(31) / 32);
        let old = mem_size / 32;
        if words <= old {
            (mem_size, cost)
        } else {
            (words * 32, cost + memory_cost(words) - memory_cost(old))
        }
    };
    (cost <= u128::from(gas)).then_some((mem_size, cost))
}

/// `EvmFrame.memoryCost`: `3w + w²/512`, each part saturated to 64 bits as revm's.
fn memory_cost(words: u128) -> u128 {
    let max = u128::from(u64::MAX);
    ((3 * words).min(max) + (words * words).min(max) / 512).min(max)
}

/// Creations (docs/evm-steps.md section 10): CREATE and CREATE2, with the number of stack items
/// each reads. Their witnesses are kind 8.
pub fn create_inputs(op: u8) -> Option<usize> {
    match op {
        0xf0 => Some(3),
        0xf5 => Some(4),
        _ => None,
    }
}

/// SELFDESTRUCT (docs/evm-steps.md section 11) reads one stack item; its witness is kind 10.
pub fn selfdestruct_inputs(op: u8) -> Option<usize> {
    (op == 0xff).then_some(1)
}

/// The largest code a creation may deposit (EIP-170).
pub const MAX_CODE_SIZE: usize = 24_576;

/// The stack items an instruction with a witness (stages 1 to 3, calls and creations) reads;
/// `None`: a rest-of-transaction step.
pub fn instruction_inputs(op: u8) -> Option<usize> {
    stage1_inputs(op)
        .or_else(|| stage2_inputs(op))
        .or_else(|| stage3_inputs(op))
        .or_else(|| call_inputs(op))
        .or_else(|| create_inputs(op))
        .or_else(|| selfdestruct_inputs(op))
}

/// The word tree a range of a stage-2 step opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RangeTree {
    Memory,
    Calldata,
    ReturnData,
}

/// The word ranges `(tree, first, last)` a stage-2 instruction that does not halt reads and
/// writes, in the verifier's order (the source, then the destination); `items` are its stack
/// items, top first. Memory offsets of an instruction that ran fit in 64 bits; source offsets
/// saturate, as revm's do.
fn stage2_ranges(
    op: u8,
    items: &[U256],
    calldata_size: usize,
    return_data_size: usize,
) -> Vec<(RangeTree, usize, usize)> {
    if op == 0x3c {
        // EXTCODECOPY address dst src len: as CODECOPY, whose source is in the witness.
        return stage2_ranges(0x39, &items[1..], calldata_size, return_data_size);
    }
    let at = |i: usize| usize::try_from(items[i]).unwrap_or(usize::MAX);
    let span = |offset: usize, len: usize| (offset / 32, (offset + len - 1) / 32);
    let len = at(if op == 0x20 { 1 } else { 2 });
    if len == 0 {
        return Vec::new();
    }
    let mut ranges = Vec::new();
    let source = at(1);
    match op {
        0x20 => {
            let (first, last) = span(at(0), len);
            return vec![(RangeTree::Memory, first, last)];
        }
        // CALLDATACOPY: the call data it copies (bytes past its end are zero).
        0x37 if source < calldata_size => {
            let end = source.saturating_add(len).min(calldata_size);
            ranges.push((RangeTree::Calldata, source / 32, (end - 1) / 32));
        }
        0x3e => {
            let (first, last) = span(source, len);
            debug_assert!(source + len <= return_data_size, "the copy ran");
            ranges.push((RangeTree::ReturnData, first, last));
        }
        0x5e => {
            let (first, last) = span(source, len);
            ranges.push((RangeTree::Memory, first, last));
        }
        _ => {}
    }
    let (first, last) = span(at(0), len);
    ranges.push((RangeTree::Memory, first, last));
    ranges
}

/// What [`EvmRun`] needs to run a transaction: its revm environment and the frame's context.
#[derive(Clone, Debug)]
pub struct EvmEntry {
    /// The state fields fixed for the whole frame (pc, gas, stack and memory are filled in).
    pub base: EvmState,
    /// The running code.
    pub code: Bytes,
    /// The call data.
    pub calldata: Bytes,
    /// The block's beneficiary (warm from the start, EIP-3651).
    pub coinbase: Address,
    /// A creation transaction: the new account, whose init code the frame runs (docs/evm-steps.md
    /// section 10); zero for a call.
    pub created: Address,
    /// The access list warmed at the entry (empty tries without one, or past the limit); for an
    /// EIP-7702 transaction, with its authorities.
    pub warmed: WarmedAccessList,
    /// An EIP-7702 transaction (docs/evm-steps.md section 1.2): the refund of its authorizations,
    /// where the refund counter starts; its frame has a caller frame without a caller and ends
    /// through the return step. `None` for every other transaction.
    pub authorization_refund: Option<u64>,
}

/// An entry of a transaction's EVM trace: the state before an instruction, or a returning
/// state between a frame's last instruction and its caller's next (docs/evm-steps.md section 9).
// Nearly every entry is an instruction: boxing them would allocate once per step.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEntry {
    /// Before an instruction.
    Instruction(EvmState),
    /// A frame at depth ≥ 1 has ended; the return step goes back to its caller.
    Return(FrameEnd),
    /// Between two steps of a long output (docs/evm-steps.md section 9, "Long outputs"): `k`
    /// chunks moved, the return data's tree and the caller's memory root so far.
    ReturnChunk {
        /// The returning state.
        end: FrameEnd,
        /// Chunks moved.
        k: u32,
        /// The return data's tree so far.
        return_data: B256,
        /// The caller's memory root so far.
        caller_mem: B256,
    },
}

impl TraceEntry {
    /// The machine state's `evm` at this entry.
    pub fn hash(&self) -> B256 {
        match self {
            Self::Instruction(state) => state.hash(),
            Self::Return(end) => keccak256(end.abi_encode()),
            Self::ReturnChunk {
                end,
                k,
                return_data,
                caller_mem,
            } => long_output_hash(keccak256(end.abi_encode()), *k, *return_data, *caller_mem),
        }
    }

    /// The instruction's state, if this is an instruction.
    pub fn instruction(&self) -> Option<&EvmState> {
        match self {
            Self::Instruction(state) => Some(state),
            Self::Return(_) | Self::ReturnChunk { .. } => None,
        }
    }

    fn set_parent(&mut self, parent: B256) {
        match self {
            Self::Instruction(state) => state.parent = parent,
            Self::Return(end) | Self::ReturnChunk { end, .. } => end.parent = parent,
        }
    }
}

/// The `evm` between two steps of a long output (`EvmReturnVerifier.progressHash`):
/// `keccak256(abi.encode(endHash, k, returnData, callerMem))`.
pub fn long_output_hash(end_hash: B256, k: u32, return_data: B256, caller_mem: B256) -> B256 {
    keccak256((end_hash, U256::from(k), return_data, caller_mem).abi_encode_params())
}

/// A frame of a recorded run: the call that started it and its caller's snapshots
/// (docs/evm-steps.md section 9). Frame 0 is the transaction's own.
#[derive(Clone, Debug, Default)]
pub struct FrameRecord {
    /// The calling frame's index.
    pub caller: usize,
    /// The caller as it resumes after the call (its `parent` filled by [`EvmRun::finalize`]).
    pub resume: EvmState,
    /// Where the output goes in the caller's memory.
    pub ret_offset: u32,
    /// See `ret_offset`.
    pub ret_len: u32,
    /// The caller's substate after the call's account access.
    pub substate: B256,
    /// The refund counter at the call.
    pub refund: u64,
    /// How many of the run's effects ran before the call moved its value.
    pub mark: usize,
    /// The frame's `parent` (0 for frame 0; filled by [`EvmRun::finalize`]).
    pub parent: B256,
    /// Its preimage (filled by [`EvmRun::finalize`]).
    pub caller_frame: CallerFrame,
    /// An init frame's new account (zero for a call's frame).
    pub created: Address,
}

/// A call of the run: `(trace index, callee, value, whether it started a frame)`.
pub type CallRecord = (usize, Address, U256, bool);

/// A transaction's EVM trace, one entry before each recorded instruction of every frame and
/// one returning state after each frame at depth ≥ 1, and revm's result of the whole
/// transaction.
#[derive(Clone, Debug)]
pub struct EvmRun {
    /// `states[i]`: the `i`-th entry of the trace.
    pub states: Vec<TraceEntry>,
    /// `frame_of[i]`: the frame (index in `frames`) entry `i` belongs to.
    pub frame_of: Vec<usize>,
    /// The frames, in the order they started.
    pub frames: Vec<FrameRecord>,
    /// `opcodes[i]`: the `i`-th entry's instruction (`code[pc]`, or 0 past the end; 0 for a
    /// returning state).
    pub opcodes: Vec<u8>,
    /// revm's result.
    pub result: ExecutionResult,
    /// revm's state after the transaction.
    pub state: RevmState,
    /// Recording stopped at an entry the verifier does not prove (the last entry is before a
    /// rest-of-transaction step).
    pub unproven_last: bool,
    /// The state changes of the run, in order: `(trace index, effect)`.
    pub effects: Vec<(usize, Effect)>,
    /// The calls that returned at once or started a frame.
    pub calls: Vec<CallRecord>,
    /// `refunds[i]`: the refund counter at entry `i`.
    pub refunds: Vec<u64>,
    /// The code every successful creation of the run deposited, by hash.
    pub codes: HashMap<B256, Bytes>,
}

/// The witness of one step of a trace, as the recorder captures it.
// One capture per witness: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum StepCapture {
    /// An instruction.
    Instruction(InstructionWitness),
    /// A return step: the frame that ended (index in [`EvmRun::frames`]), its end, the output
    /// range of its memory and the destination range of its caller's (the caller frame and the
    /// caller's state come from the finalized run).
    Return {
        /// The ended frame.
        frame: usize,
        /// Its end.
        end: FrameEnd,
        /// The output's words in the ended frame's memory.
        output: WordRange,
        /// The destination's words in the caller's memory, before the copy.
        dest: WordRange,
    },
    /// A step of a long output (kind 14, docs/evm-steps.md section 9, "Long outputs"): as
    /// `Return`, with the chunk's ranges in `long`.
    LongReturn {
        /// The ended frame.
        frame: usize,
        /// Its end.
        end: FrameEnd,
        /// The chunk, the roots so far and the chunk's ranges.
        long: LongOutput,
    },
}

/// The witness of one instruction step: `abi.encode(EvmState evm, bytes code, uint256[]
/// stackTop, bytes32 stackRest, WordProof[] words, BlockItem block)`.
#[derive(Clone, Debug, Default)]
pub struct InstructionWitness {
    /// The state before the instruction.
    pub evm: EvmState,
    /// The running code.
    pub code: Bytes,
    /// The stack items the instruction reads, top first.
    pub stack_top: Vec<U256>,
    /// The hash of the stack below them.
    pub stack_rest: B256,
    /// The word proofs, in the order the verifier uses them (stage 1).
    pub words: Vec<WordProof>,
    /// The word ranges, in the order the verifier uses them (stage 2).
    pub ranges: Vec<WordRange>,
    /// The substate's tries and the proof of the slot's or account's key in them (stage 3);
    /// the step machine adds the account and storage proofs and the code ([`StateWitness`]).
    pub state: StateWitness,
    /// A call's callee against the state root, and with a value the frame's account (kind 4;
    /// added by the step machine).
    pub callee_proof: Vec<Bytes>,
    /// See `callee_proof`.
    pub self_proof: Vec<Bytes>,
    /// A call that starts a frame: the argument range of the caller's memory (kind 4).
    pub args: WordRange,
    /// A call from the transaction's own frame that starts a frame: the recipient's key in the
    /// warm-account trie after the callee's access (kind 4).
    pub frame_warm_proof: Vec<Bytes>,
    /// A call: the callee's code when it has code (kind 4; added by the step machine), so that
    /// the verifier can follow an EIP-7702 delegation.
    pub callee_code: Bytes,
    /// A call to an EIP-7702 delegated callee: the delegate's key in the warm-account trie after
    /// the callee's access (kind 4).
    pub delegate_warm_proof: Vec<Bytes>,
    /// A call to an EIP-7702 delegated callee: the delegate against the state root before the call
    /// (kind 4; added by the step machine).
    pub delegate_proof: Vec<Bytes>,
    /// A creation: the new address against the root after the nonce bump (kind 8; added by the
    /// step machine).
    pub new_proof: Vec<Bytes>,
    /// A creation with a value that starts a frame: the creator against the root after the new
    /// account is written (kind 8; added by the step machine).
    pub self_after_proof: Vec<Bytes>,
    /// A creation that does not halt: the memory words of its init code (kind 8).
    pub init_code: WordRange,
    /// A creation that got as far as its address: the new account (not encoded; the step
    /// machine proves it).
    pub new_address: Option<Address>,
    /// SELFDESTRUCT: the frame's account against the transaction's start root (kind 10; added by
    /// the step machine).
    pub original_proof: Vec<Bytes>,
    /// SELFDESTRUCT: the target against the state root (kind 10; added by the step machine).
    pub target_proof: Vec<Bytes>,
}

impl InstructionWitness {
    /// The instruction.
    pub fn opcode(&self) -> u8 {
        self.code
            .get(instruction_pc(self.evm.pc))
            .copied()
            .unwrap_or(0)
    }

    /// A call's stack items, top first: after its arguments' steps (docs/evm-steps.md section 9,
    /// "Long arguments") the stack also holds their tree above them, which is left out.
    pub fn call_items(&self) -> &[U256] {
        let chunked = instruction_pc(self.evm.pc) != self.evm.pc as usize;
        match self.stack_top.split_first() {
            Some((_, items)) if chunked => items,
            _ => &self.stack_top,
        }
    }

    /// Whether this is one of the steps that put a call's arguments in a tree before the call
    /// (docs/evm-steps.md section 9, "Long arguments"; kind 2): the first when the call has such
    /// steps, a later one (`pc = p + (k << 16)`) while `k` is below their number.
    pub fn is_call_args_step(&self) -> bool {
        let op = self.opcode();
        let k = (self.evm.pc >> CHUNK_SHIFT) as usize;
        if k == 0 {
            return call_arg_steps(op, &self.stack_top, &self.evm) > 0;
        }
        let items = self.call_items();
        match call_inputs(op) {
            Some(inputs) if items.len() >= inputs => {
                k < usize::try_from(items[inputs - 3]).map_or(0, |len| len.div_ceil(CHUNK_BYTES))
            }
            _ => false,
        }
    }

    /// The kind of its `IN_TX` proof: 1 for stage 1, 2 for stage 2 (and a call's arguments'
    /// steps), 3 for stage 3, 4 and 5 for calls, 7 for EXTCODECOPY (docs/evm-steps.md section 6).
    pub fn kind(&self) -> u8 {
        let op = self.opcode();
        if op == 0x3c {
            // A later chunk of a chunked EXTCODECOPY is the copy verifier's.
            if instruction_pc(self.evm.pc) == self.evm.pc as usize {
                7
            } else {
                2
            }
        } else if op == 0xff {
            10
        } else if create_inputs(op).is_some() {
            8
        } else if stage2_inputs(op).is_some() {
            2
        } else if stage3_inputs(op).is_some() {
            3
        } else if call_inputs(op).is_some() {
            if self.is_call_args_step() {
                return 2;
            }
            // To a precompile, with or without a value: kind 5.
            let top = self.call_items();
            if top.len() >= 2 && is_provable_precompile(Address::from_word(top[1].into())) {
                5
            } else {
                4
            }
        } else {
            1
        }
    }

    /// The `body` of an instruction step's proof: `abi.encode(EvmState evm, bytes code,
    /// uint256[] stackTop, bytes32 stackRest, WordProof[] words, BlockItem block)` for stage 1,
    /// `abi.encode(EvmState evm, bytes code, uint256[] stackTop, bytes32 stackRest, WordRange[]
    /// ranges)` for stage 2, and for EXTCODECOPY (kind 7) `abi.encode(EvmState evm, bytes code,
    /// uint256[] stackTop, bytes32 stackRest, StateWitness w, BlockItem block, WordRange dest)`.
    pub fn encode(self, block: &BlockItem) -> Bytes {
        if self.kind() == 10 {
            let destruct = SelfDestructWitness {
                warmSlots: self.state.warmSlots,
                transientStorage: self.state.transientStorage,
                warmAccounts: self.state.warmAccounts,
                warmProof: self.state.warmProof,
                selfProof: self.self_proof,
                originalProof: self.original_proof,
                targetProof: self.target_proof,
                selfAfterProof: self.self_after_proof,
            };
            return (
                self.evm,
                self.code,
                self.stack_top,
                self.stack_rest,
                destruct,
                block.clone(),
            )
                .abi_encode_params()
                .into();
        }
        if self.kind() == 8 {
            let create = CreateWitness {
                warmSlots: self.state.warmSlots,
                transientStorage: self.state.transientStorage,
                warmAccounts: self.state.warmAccounts,
                selfProof: self.self_proof,
                warmProof: self.state.warmProof,
                newProof: self.new_proof,
                selfAfterProof: self.self_after_proof,
                frameWarmProof: self.frame_warm_proof,
                initCode: self.init_code,
            };
            return (self.evm, self.code, self.stack_top, self.stack_rest, create)
                .abi_encode_params()
                .into();
        }
        if self.kind() == 7 {
            let dest = self.ranges.into_iter().next().unwrap_or_default();
            return (
                self.evm,
                self.code,
                self.stack_top,
                self.stack_rest,
                self.state,
                block.clone(),
                dest,
            )
                .abi_encode_params()
                .into();
        }
        if self.kind() == 5 {
            let mut ranges = self.ranges.into_iter();
            let call = PrecompileCallWitness {
                calleeProof: self.callee_proof,
                input: ranges.next().unwrap_or_default(),
                output: ranges.next().unwrap_or_default(),
                selfProof: self.self_proof,
            };
            return (self.evm, self.code, self.stack_top, self.stack_rest, call)
                .abi_encode_params()
                .into();
        }
        if self.kind() == 4 {
            let call = CallWitness {
                warmSlots: self.state.warmSlots,
                transientStorage: self.state.transientStorage,
                warmAccounts: self.state.warmAccounts,
                warmProof: self.state.warmProof,
                calleeProof: self.callee_proof,
                selfProof: self.self_proof,
                frameWarmProof: self.frame_warm_proof,
                args: self.args,
                calleeCode: self.callee_code,
                delegateWarmProof: self.delegate_warm_proof,
                delegateProof: self.delegate_proof,
            };
            return (
                self.evm,
                self.code,
                self.stack_top,
                self.stack_rest,
                call,
                block.clone(),
            )
                .abi_encode_params()
                .into();
        }
        if self.kind() == 3 {
            return (
                self.evm,
                self.code,
                self.stack_top,
                self.stack_rest,
                self.state,
                block.clone(),
            )
                .abi_encode_params()
                .into();
        }
        if self.kind() == 2 {
            return (
                self.evm,
                self.code,
                self.stack_top,
                self.stack_rest,
                self.ranges,
            )
                .abi_encode_params()
                .into();
        }
        (
            self.evm,
            self.code,
            self.stack_top,
            self.stack_rest,
            self.words,
            block.clone(),
        )
            .abi_encode_params()
            .into()
    }

    /// The whole `IN_TX` proof.
    pub fn into_proof(self, block: &BlockItem) -> Bytes {
        let kind = self.kind();
        encode_in_tx(kind, self.encode(block))
    }
}

/// Why an EVM run failed.
#[derive(Debug, thiserror::Error)]
pub enum EvmRunError {
    /// revm refused the transaction (the start step accepted it: the machine diverged).
    #[error("revm refused the transaction: {0:?}")]
    Refused(crate::error::TxRejection),
    /// revm failed.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// The recorded frame does not start where the machine entered it.
    #[error("the EVM frame started with {revm} gas, the machine entered it with {machine}")]
    GasDiverged {
        /// revm's gas at the first instruction.
        revm: u64,
        /// The machine's `gasLeft`.
        machine: u64,
    },
}

impl EvmRun {
    /// Runs `tx` on `db` (the state before the transaction start) and records its trace.
    pub fn record<R: StateReader>(
        db: R,
        chain: &ChainConfig,
        block: &BlockInput,
        tx: TxEnv,
        entry: &EvmEntry,
    ) -> Result<Self, EvmRunError> {
        let mut recorder = Recorder::new(entry, None);
        let (result, state) = run(db, chain, block, tx, &mut recorder)?;
        recorder.callerless_frame_ended();
        Ok(Self {
            states: recorder.states,
            frame_of: recorder.frame_of,
            frames: recorder.records,
            opcodes: recorder.opcodes,
            result,
            state,
            unproven_last: recorder.unproven,
            effects: recorder.effects,
            calls: recorder.calls,
            refunds: recorder.refunds,
            codes: recorder.codes,
        })
    }

    /// Whether entry `index` has a witness the verifier proves.
    pub fn provable(&self, index: usize) -> bool {
        index < self.states.len() && !(self.unproven_last && index + 1 == self.states.len())
    }

    /// Ends the trace at entry `index`, a rest-of-transaction step.
    pub fn truncate(&mut self, index: usize) {
        self.states.truncate(index + 1);
        self.frame_of.truncate(index + 1);
        self.opcodes.truncate(index + 1);
        self.refunds.truncate(index + 1);
        self.effects.retain(|effect| effect.0 < index);
        self.calls.retain(|call| call.0 < index);
        let frames = self.frame_of.iter().max().map_or(1, |last| last + 1);
        self.frames.truncate(frames);
        self.unproven_last = true;
    }

    /// Fills in the caller frames and every entry's `parent` (docs/evm-steps.md section 9);
    /// `root_after(k)` is the state root after the run's first `k` effects.
    pub fn finalize(&mut self, mut root_after: impl FnMut(usize) -> B256) {
        for index in 1..self.frames.len() {
            let caller = self.frames[index].caller;
            let caller_parent = self.frames[caller].parent;
            let frame = &mut self.frames[index];
            frame.resume.parent = caller_parent;
            frame.caller_frame = CallerFrame {
                frame: frame.resume.hash(),
                retOffset: frame.ret_offset,
                retLen: frame.ret_len,
                stateRoot: root_after(frame.mark),
                substate: frame.substate,
                refund: frame.refund,
                created: frame.created,
            };
            frame.parent = keccak256(frame.caller_frame.abi_encode());
        }
        for (entry, &frame) in self.states.iter_mut().zip(&self.frame_of) {
            entry.set_parent(self.frames[frame].parent);
        }
    }

    /// Re-runs `tx` and captures the witness of entry `index` (its `parent` fields are those of
    /// the recording: the caller replaces them with the finalized run's).
    pub fn witness<R: StateReader>(
        db: R,
        chain: &ChainConfig,
        block: &BlockInput,
        tx: TxEnv,
        entry: &EvmEntry,
        index: usize,
    ) -> Result<Option<StepCapture>, EvmRunError> {
        let mut recorder = Recorder::new(entry, Some(index));
        run(db, chain, block, tx, &mut recorder)?;
        recorder.callerless_frame_ended();
        // A call that halted is still waiting for its return.
        Ok(recorder.captured.or_else(|| {
            recorder
                .pending
                .map(|pending| StepCapture::Instruction(pending.witness))
        }))
    }
}

fn run<R: StateReader>(
    db: R,
    chain: &ChainConfig,
    block: &BlockInput,
    tx: TxEnv,
    recorder: &mut Recorder,
) -> Result<(ExecutionResult, RevmState), EvmRunError> {
    let mut cfg = CfgEnv::new_with_spec(ChainConfig::SPEC);
    cfg.chain_id = chain.chain_id;
    let mut evm = Context::mainnet()
        .with_db(CacheDB::new(RevmDb(db)))
        .with_cfg(cfg)
        .with_block(block.block_env())
        .build_mainnet_with_inspector(recorder);
    crate::precompiles::install(&mut evm);
    match evm.inspect_tx(tx) {
        Ok(out) => Ok((out.result, out.state)),
        Err(EVMError::Transaction(invalid)) => Err(EvmRunError::Refused(rejection_of(&invalid))),
        Err(EVMError::Database(e)) => Err(ExecError::State(e).into()),
        Err(other) => Err(ExecError::Evm(other.to_string()).into()),
    }
}

/// The byte lengths of the input and output ranges a call to a precompile opens in its step
/// (kind 5), from the call's stack items (`items`, top first, at least six) and the return
/// data it left: no input when it is over the chain's bound (the call fails unread:
/// [`crate::precompiles`]), the output at most the return data.
fn precompile_range_lens(items: &[U256], return_data: &[u8]) -> (usize, usize) {
    let at = items.len() - 4;
    let input = usize::try_from(items[at + 1])
        .ok()
        .filter(|len| *len <= MAX_PRECOMPILE_INPUT)
        .unwrap_or(0);
    let output = usize::try_from(items[at + 3])
        .unwrap_or(usize::MAX)
        .min(return_data.len());
    (input, output)
}

/// A capture in progress: the parts known before the instruction runs.
#[derive(Clone, Debug)]
struct PendingCapture {
    witness: InstructionWitness,
    op: u8,
    /// The memory tree before the instruction (writes are proven from it).
    memory: WordTree,
    /// The first stack item the instruction reads (an offset), if any.
    offset: Option<U256>,
}

impl PendingCapture {
    /// The words of the memory before the instruction over `[offset, offset + len)` (empty for
    /// `len` 0 or a span past the tree).
    fn memory_range(&self, offset: U256, len: usize) -> WordRange {
        (len > 0)
            .then(|| word_span(offset, len))
            .flatten()
            .map(|(first, last)| self.memory.range(first as u32, last as u32))
            .unwrap_or_default()
    }
}

/// A frame the recorder is in.
struct LiveFrame {
    /// Its index in the run's frames.
    id: usize,
    /// The state fields fixed for the whole frame (pc, gas, stack and memory are filled in).
    base: EvmState,
    code: Bytes,
    calldata: WordTree,
    stack: StackHasher,
    memory: WordTree,
    /// Words written by the previous instruction (`first..=last`), to refresh from revm.
    dirty: Option<(usize, usize)>,
    /// The refund counter when the frame started (revm counts each frame's from 0).
    refund_base: i64,
    /// The substate's tries when it started, after the call's account access (restored when the
    /// frame fails); none for the transaction's own frame.
    snapshot: Option<[AccountTrie; 3]>,
}

impl LiveFrame {
    fn new(id: usize, base: EvmState, code: Bytes, calldata: &[u8]) -> Self {
        Self {
            id,
            base,
            code,
            calldata: WordTree::from_bytes(calldata),
            stack: StackHasher::default(),
            memory: WordTree::default(),
            dirty: None,
            refund_base: 0,
            snapshot: None,
        }
    }

    /// Copies `bytes` (revm's memory from word `first` on) into the memory tree.
    fn refresh_words(&mut self, first: usize, bytes: &[u8]) {
        for (i, chunk) in bytes.chunks(32).enumerate() {
            let mut word = B256::ZERO;
            word[..chunk.len()].copy_from_slice(chunk);
            self.memory.set((first + i) as u32, word);
        }
    }
}

/// A call whose instruction has run: what its callee's frame starts from.
struct CallInProgress {
    index: usize,
    op: u8,
    callee: Address,
    value: U256,
    /// Its stack items, top first.
    items: Vec<U256>,
    /// The caller as it resumes after the call (known once the instruction has run).
    resume: Option<EvmState>,
    /// The argument bytes.
    args: Bytes,
    /// Arguments over a chunk: the call-data tree their steps built, on top of the items at the
    /// call's own step (docs/evm-steps.md section 9, "Long arguments").
    args_root: Option<B256>,
    /// The callee's EIP-7702 delegate, when its code is a delegation designator (its access
    /// follows the callee's: docs/evm-steps.md section 9, "Delegations").
    delegate: Option<Address>,
}

/// A CREATE or CREATE2 whose instruction is running: what its frame starts from.
struct CreateInProgress {
    index: usize,
    value: U256,
    /// Its stack items, top first.
    items: Vec<U256>,
    /// The caller as it resumes after the creation (known once the instruction has run).
    resume: Option<EvmState>,
    /// The new account's address, once revm's frame creation has the creator's nonce.
    address: Option<Address>,
}

/// How the top frame's last instruction ended it.
#[derive(Clone, Debug)]
struct Ending {
    outcome: u8,
    gas_left: u64,
    out_offset: u32,
    out_size: u32,
    /// An init frame's RETURN: the code it returned.
    code: Option<Bytes>,
}

/// The words `[offset, offset + len)` spans, for a range that ran (`len > 0`).
fn words_of(offset: u32, len: u32) -> (u32, u32) {
    let end = u64::from(offset) + u64::from(len) - 1;
    (offset / 32, (end / 32) as u32)
}

/// The inspector: builds the trace entry before each instruction of every frame, and the
/// returning states between frames.
struct Recorder {
    /// The frames the run is in, the transaction's own first.
    frames: Vec<LiveFrame>,
    /// revm's depth of the transaction's own frame.
    base_depth: Option<usize>,
    stopped: bool,
    /// Recording stopped at an entry the verifier does not prove.
    unproven: bool,
    /// The stage-2 instruction in progress and its stack items (top first): its ranges are
    /// known once it has run (it may halt first).
    stage2: Option<(u8, Vec<U256>)>,
    /// The stage-3 instruction in progress: `(op, slot or address, value)` (value 0 but for the
    /// stores).
    stage3: Option<(u8, U256, U256)>,
    /// RETURN's or REVERT's `(offset, length)` in progress.
    output: Option<(U256, U256)>,
    /// The transaction's sender, recipient and block beneficiary (warm from the start).
    sender: Address,
    recipient: Address,
    coinbase: Address,
    /// The substate's tries (docs/evm-steps.md section 2) and its hash.
    warm_slots: AccountTrie,
    transient_storage: AccountTrie,
    warm_accounts: AccountTrie,
    substate: B256,
    effects: Vec<(usize, Effect)>,
    calls: Vec<CallRecord>,
    /// The call in progress; it ran without a frame when the next instruction is the frame's
    /// own, it started one when the next is one level deeper.
    call: Option<CallInProgress>,
    /// The creation in progress (as `call`).
    create: Option<CreateInProgress>,
    /// Code deposited by the run's successful creations.
    codes: HashMap<B256, Bytes>,
    /// How the top frame's last instruction ended it.
    ending: Option<Ending>,
    refunds: Vec<u64>,
    /// An EIP-7702 transaction: its frame ends through the return step, its output unread.
    authorized: bool,
    states: Vec<TraceEntry>,
    frame_of: Vec<usize>,
    opcodes: Vec<u8>,
    records: Vec<FrameRecord>,
    capture: Option<usize>,
    pending: Option<PendingCapture>,
    captured: Option<StepCapture>,
    return_data_root: ReturnDataRoot,
}

/// The root of the last return data seen: it changes only after a call, and every instruction's
/// state names it.
#[derive(Default)]
struct ReturnDataRoot {
    data: Vec<u8>,
    root: Option<B256>,
}

impl ReturnDataRoot {
    fn root(&mut self, data: &[u8]) -> B256 {
        match self.root {
            Some(root) if self.data == data => root,
            _ => {
                let root = WordTree::from_bytes(data).root();
                self.data = data.to_vec();
                self.root = Some(root);
                root
            }
        }
    }
}

impl Recorder {
    fn new(entry: &EvmEntry, capture: Option<usize>) -> Self {
        let mut frame = LiveFrame::new(0, entry.base.clone(), entry.code.clone(), &entry.calldata);
        frame.refund_base = entry.authorization_refund.unwrap_or_default() as i64;
        Self {
            frames: vec![frame],
            base_depth: None,
            stopped: false,
            unproven: false,
            stage2: None,
            stage3: None,
            output: None,
            sender: entry.base.caller,
            recipient: entry.base.target,
            coinbase: entry.coinbase,
            warm_slots: entry.warmed.warm_slots.clone(),
            transient_storage: AccountTrie::default(),
            warm_accounts: entry.warmed.warm_accounts.clone(),
            substate: entry.base.substate,
            effects: Vec::new(),
            calls: Vec::new(),
            call: None,
            create: None,
            codes: HashMap::default(),
            ending: None,
            refunds: Vec::new(),
            states: Vec::new(),
            frame_of: Vec::new(),
            opcodes: Vec::new(),
            records: vec![FrameRecord {
                created: entry.created,
                ..Default::default()
            }],
            authorized: entry.authorization_refund.is_some(),
            capture,
            pending: None,
            captured: None,
            return_data_root: ReturnDataRoot::default(),
        }
    }

    fn top(&self) -> &LiveFrame {
        self.frames
            .last()
            .expect("the transaction's frame is never popped")
    }

    fn top_mut(&mut self) -> &mut LiveFrame {
        self.frames
            .last_mut()
            .expect("the transaction's frame is never popped")
    }

    /// Whether `address` is warm without being in the warm-account trie, in the top frame.
    fn warm_from_start(&self, address: Address) -> bool {
        warm_from_start(address, self.sender, self.top().base.target, self.coinbase)
    }

    /// Marks `address` warm (an account access).
    fn access(&mut self, address: Address) {
        if !self.warm_from_start(address) {
            self.warm_accounts
                .insert(keccak256(address), Bytes::from_static(&[1]));
        }
    }

    /// The call about to run, to a delegated callee: the delegate's key in the warm-account trie
    /// as the callee's access leaves it (the verifier opens it there); empty otherwise.
    fn delegate_warm_proof(&self) -> Vec<Bytes> {
        let Some(call) = &self.call else {
            return Vec::new();
        };
        let Some(delegate) = call.delegate else {
            return Vec::new();
        };
        let mut warm = self.warm_accounts.clone();
        if !self.warm_from_start(call.callee) {
            warm.insert(keccak256(call.callee), Bytes::from_static(&[1]));
        }
        warm.proof(&keccak256(delegate), false)
    }

    fn rehash_substate(&mut self) {
        self.substate = substate_hash(
            self.warm_slots.root(),
            self.transient_storage.root(),
            self.warm_accounts.root(),
        );
    }

    /// A copy of more than [`CHUNK_BYTES`] that ran (docs/evm-steps.md section 4, "Chunked
    /// copies"): its state is the first chunk's; the states between its chunks follow it (pc
    /// with the chunk index, gas and memory size after the whole instruction, memory with the
    /// chunks so far), and the frame's memory becomes revm's after the copy.
    fn chunked_copy(&mut self, op: u8, items: &[U256], interp: &Interpreter) {
        let at = self.states.len() - 1;
        let Some(TraceEntry::Instruction(first)) = self.states.get(at).cloned() else {
            unreachable!("a copy's entry is an instruction");
        };
        let refund = self.refunds[at];
        let after = interp.memory.slice(0..interp.memory.size()).to_vec();
        let frame = self.frames.last().expect("the transaction's frame");
        let frame_id = frame.id;
        // EXTCODECOPY's `dst src len` follow its address.
        let b = usize::from(op == 0x3c);
        let stack_rest = frame.stack.prefix[usize::from(first.stackSize) - 3 - b];
        let code = frame.code.clone();
        let calldata_size = first.calldataSize as usize;
        let mut memory = frame.memory.clone();
        // Lent to the loop, which also records states; given back at the end.
        let calldata = std::mem::take(&mut self.top_mut().calldata);
        // Memory offsets of a copy that ran fit in 64 bits; the source saturates (revm's).
        let dst = items[b].saturating_to::<u64>();
        let src = items[b + 1].saturating_to::<u64>();
        let len = items[b + 2].saturating_to::<usize>();
        let chunks = copy_chunks(op, items[b], items[b + 1], len);
        for (k, &(offset, length)) in chunks.iter().enumerate() {
            let index = at + k;
            if k > 0 {
                let state = EvmState {
                    pc: first.pc + ((k as u32) << CHUNK_SHIFT),
                    gas: interp.gas.remaining(),
                    memSize: after.len() as u32,
                    memRoot: memory.root(),
                    // EXTCODECOPY's first step made its account warm.
                    substate: self.substate,
                    ..first.clone()
                };
                self.push_chunk_state(state, frame_id, op, refund);
            }
            let source = src.saturating_add(offset as u64);
            let target = dst + offset as u64;
            if self.capture == Some(index) {
                // The chunk's ranges are those of a one-step copy of its bytes, the memory's
                // against the chunks so far.
                let return_data = interp.return_data.buffer();
                let return_tree = (op == 0x3e).then(|| WordTree::from_bytes(return_data));
                let chunk = [
                    items[0],
                    U256::from(target),
                    U256::from(source),
                    U256::from(length),
                ];
                let ranges = stage2_ranges(op, &chunk[1 - b..], calldata_size, return_data.len())
                    .into_iter()
                    .map(|(tree, first, last)| {
                        let tree = match tree {
                            RangeTree::Memory => &memory,
                            RangeTree::Calldata => &calldata,
                            RangeTree::ReturnData => {
                                return_tree.as_ref().expect("RETURNDATACOPY's source")
                            }
                        };
                        tree.range(first as u32, last as u32)
                    })
                    .collect();
                let mut witness = self.chunk_witness(index, &code, items.to_vec(), stack_rest);
                witness.ranges = ranges;
                self.captured = Some(StepCapture::Instruction(witness));
            }
            // The chunk's destination bytes, as revm's memory holds them after the copy.
            let target = target as usize;
            memory.write(target, &after[target..target + length]);
        }
        let frame = self.top_mut();
        frame.memory = memory;
        frame.calldata = calldata;
    }

    /// Appends the state between two chunks of a chunked copy or hash.
    fn push_chunk_state(&mut self, state: EvmState, frame_id: usize, op: u8, refund: u64) {
        self.states.push(TraceEntry::Instruction(state));
        self.frame_of.push(frame_id);
        self.opcodes.push(op);
        self.refunds.push(refund);
    }

    /// The witness of chunk step `index` (its ranges to be filled): the first chunk's is the
    /// capture in progress, a later chunk's is built from its state and stack items.
    fn chunk_witness(
        &mut self,
        index: usize,
        code: &Bytes,
        stack_top: Vec<U256>,
        stack_rest: B256,
    ) -> InstructionWitness {
        match self.pending.take() {
            Some(pending) => pending.witness,
            None => InstructionWitness {
                evm: match &self.states[index] {
                    TraceEntry::Instruction(state) => state.clone(),
                    _ => unreachable!("a chunk's state is an instruction"),
                },
                code: code.clone(),
                stack_top,
                stack_rest,
                ..Default::default()
            },
        }
    }

    /// A KECCAK256 of more than [`CHUNK_BYTES`] that ran (docs/evm-steps.md section 4, "Chunked
    /// hashes"): its state is the first chunk's; the states between its chunks follow it (pc with
    /// the chunk index, gas and memory size after the whole instruction, the sponge's seven words
    /// above `offset len`); memory does not change.
    fn chunked_hash(&mut self, items: &[U256], interp: &Interpreter) {
        let at = self.states.len() - 1;
        let Some(TraceEntry::Instruction(first)) = self.states.get(at).cloned() else {
            unreachable!("a hash's entry is an instruction");
        };
        let refund = self.refunds[at];
        let frame = self.frames.last().expect("the transaction's frame");
        let frame_id = frame.id;
        let stack_rest = frame.stack.prefix[usize::from(first.stackSize) - 2];
        let code = frame.code.clone();
        // Memory offsets of a hash that ran fit in 64 bits; the bytes past the old size are the
        // expansion's zeros, in the tree as in revm's memory.
        let offset = items[0].saturating_to::<usize>();
        let len = items[1].saturating_to::<usize>();
        let input = interp.memory.slice(offset..offset + len).to_vec();
        // Lent to the loop, which also records states; given back at the end.
        let memory = std::mem::take(&mut self.top_mut().memory);
        let n = len.div_ceil(HASH_CHUNK_BYTES);
        let mut sponge = KeccakSponge::default();
        for k in 0..n {
            let index = at + k;
            let (start, end) = (k * HASH_CHUNK_BYTES, len.min((k + 1) * HASH_CHUNK_BYTES));
            let words = sponge.words();
            if k > 0 {
                let mut stack = first.stack;
                for word in words.iter().rev() {
                    stack = stack_push(stack, *word);
                }
                let state = EvmState {
                    pc: first.pc + ((k as u32) << CHUNK_SHIFT),
                    gas: interp.gas.remaining(),
                    memSize: interp.memory.size() as u32,
                    stackSize: first.stackSize + sponge::STATE_WORDS as u16,
                    stack,
                    ..first.clone()
                };
                self.push_chunk_state(state, frame_id, 0x20, refund);
            }
            if self.capture == Some(index) {
                let (a, b) = words_of((offset + start) as u32, (end - start) as u32);
                let stack_top = words.iter().chain(items).copied().collect();
                let mut witness = self.chunk_witness(index, &code, stack_top, stack_rest);
                witness.ranges = vec![memory.range(a, b)];
                self.captured = Some(StepCapture::Instruction(witness));
            }
            if k + 1 < n {
                sponge.absorb(&input[start..end]);
            } else {
                debug_assert_eq!(sponge.finish(&input[start..]), keccak256(&input));
            }
        }
        self.top_mut().memory = memory;
    }

    /// The steps that put a call's argument bytes (over [`CHUNK_BYTES`]) in its callee's
    /// call-data tree, `steps` of them from the call's state `first` (entry `first_index`, the
    /// first step's): after each, a state with the tree so far on top of the call's `items` and
    /// the pc `p + (k << 16)`; the last is the call step's. Gas and memory do not change (the call
    /// step charges the whole call; argument bytes past the memory's size are zero). Returns the
    /// call step's entry, its state and the tree's root.
    fn call_args(
        &mut self,
        op: u8,
        first_index: usize,
        first: EvmState,
        items: &[U256],
        steps: usize,
        interp: &Interpreter,
    ) -> (usize, EvmState, B256) {
        let at = items.len() - 4;
        // Both fit: the call's memory expansion was affordable.
        let offset = items[at].saturating_to::<usize>();
        let len = items[at + 1].saturating_to::<usize>();
        let mut args = vec![0u8; len];
        let size = interp.memory.size();
        if offset < size {
            let end = (offset + len).min(size);
            args[..end - offset].copy_from_slice(&interp.memory.slice(offset..end));
        }
        let refund = self.refunds[first_index];
        let frame = self.frames.last().expect("the transaction's frame");
        let frame_id = frame.id;
        let stack_rest = frame.stack.prefix[usize::from(first.stackSize) - items.len()];
        let code = frame.code.clone();
        let mut tree = WordTree::from_bytes(&[]);
        let mut state = first.clone();
        for k in 0..steps {
            let index = first_index + k;
            let off = k * CHUNK_BYTES;
            let l = CHUNK_BYTES.min(len - off);
            let (a, b) = words_of(off as u32, l as u32);
            if self.capture == Some(index) {
                let so_far = (k > 0).then(|| U256::from_be_bytes(tree.root().0));
                let stack_top = so_far.into_iter().chain(items.iter().copied()).collect();
                let (c, d) = words_of((offset + off) as u32, l as u32);
                let mut witness = self.chunk_witness(index, &code, stack_top, stack_rest);
                witness.ranges = vec![self.top().memory.range(c, d), tree.range(a, b)];
                self.captured = Some(StepCapture::Instruction(witness));
            }
            tree.write(off, &args[off..off + l]);
            state = EvmState {
                pc: first.pc + (((k + 1) as u32) << CHUNK_SHIFT),
                stackSize: first.stackSize + 1,
                stack: stack_push(first.stack, U256::from_be_bytes(tree.root().0)),
                ..first.clone()
            };
            self.push_chunk_state(state.clone(), frame_id, op, refund);
        }
        debug_assert_eq!(tree.root(), WordTree::from_bytes(&args).root());
        (first_index + steps, state, tree.root())
    }

    fn stop_unproven(&mut self) {
        self.stopped = true;
        self.unproven = true;
        self.pending = None;
    }

    /// The substate's part of a stage-3 witness before the instruction in progress: the tries'
    /// roots and the proof of its slot's or account's key in the trie it reads (and writes).
    fn state_witness(&mut self) -> StateWitness {
        let mut witness = StateWitness {
            warmSlots: self.warm_slots.root(),
            transientStorage: self.transient_storage.root(),
            warmAccounts: self.warm_accounts.root(),
            ..Default::default()
        };
        let target = self.top().base.target;
        if let Some((op, item, value)) = self.stage3 {
            match op {
                0x5c | 0x5d => {
                    witness.transientProof = self
                        .transient_storage
                        .proof(&slot_key(target, item), op == 0x5d && value.is_zero())
                }
                0x54 | 0x55 => {
                    witness.warmProof = self.warm_slots.proof(&slot_key(target, item), false)
                }
                op if reads_account(op) || call_inputs(op).is_some() || op == 0xff => {
                    witness.warmProof = self
                        .warm_accounts
                        .proof(&keccak256(Address::from_word(item.into())), false)
                }
                _ => {}
            }
        }
        witness
    }

    /// The top frame as it resumes after the call or creation at entry `index`, which popped
    /// `popped` items and has run (revm's `interp` after it): pc on, its items gone, memory
    /// expanded, its gas (the forwarded gas included) spent.
    fn resumed(&self, index: usize, popped: usize, interp: &Interpreter) -> EvmState {
        let Some(TraceEntry::Instruction(state)) = self.states.get(index) else {
            unreachable!("a call or creation is an instruction entry");
        };
        let below = state.stackSize as usize - popped;
        EvmState {
            pc: instruction_pc(state.pc) as u32 + 1,
            stackSize: below as u16,
            stack: self.top().stack.prefix[below],
            memSize: interp.memory.size() as u32,
            gas: interp.gas.remaining(),
            ..state.clone()
        }
    }

    /// The substate's tries as a starting frame's snapshot (restored when it fails).
    fn snapshot(&self) -> [AccountTrie; 3] {
        [
            self.warm_slots.clone(),
            self.transient_storage.clone(),
            self.warm_accounts.clone(),
        ]
    }

    /// A frame starting from the transaction's own: the transaction's recipient enters the
    /// warm-account trie (so that it stays warm at every depth), and the proof of its key
    /// before; no proof deeper.
    fn recipient_warm_at_depth(&mut self) -> Vec<Bytes> {
        if self.frames.len() != 1 {
            return Vec::new();
        }
        let key = keccak256(self.recipient);
        let proof = self.warm_accounts.proof(&key, false);
        self.warm_accounts.insert(key, Bytes::from_static(&[1]));
        self.rehash_substate();
        proof
    }

    /// The call in progress started a frame, whose first instruction is at revm's `interp`:
    /// the callee's access, the value's move, the caller's snapshots and the new frame
    /// (docs/evm-steps.md section 9). False when the call is not provable (its arguments span
    /// more than a range may).
    fn frame_started(&mut self, interp: &Interpreter) -> bool {
        if self.create.is_some() {
            return self.creation_started(interp);
        }
        let Some(call) = self.call.take() else {
            // No call of the top frame is in progress: it is not one we recorded.
            self.stop_unproven();
            return false;
        };
        let at = call.items.len() - 4;
        let arg_len = call.args.len();
        debug_assert!(call.args_root.is_some() || arg_len <= CHUNK_BYTES);
        let caller = self.top().id;
        let caller_target = self.top().base.target;
        self.access(call.callee);
        if let Some(delegate) = call.delegate {
            self.access(delegate);
        }
        self.rehash_substate();
        let snapshot_substate = self.substate;
        let snapshot = self.snapshot();
        let frame_warm_proof = self.recipient_warm_at_depth();
        let mark = self.effects.len();
        if call.op == 0xf1 && !call.value.is_zero() && call.callee != caller_target {
            self.effects.push((
                call.index,
                Effect::Transfer {
                    from: caller_target,
                    to: call.callee,
                    value: call.value,
                },
            ));
        }
        self.calls.push((call.index, call.callee, call.value, true));
        let (ret_offset, ret_len) = match u32::try_from(call.items[at + 3]) {
            Ok(0) | Err(_) => (0, 0),
            Ok(len) => (u32::try_from(call.items[at + 2]).unwrap_or_default(), len),
        };
        let mut resume = call.resume.unwrap_or_default();
        resume.substate = snapshot_substate;
        let refund = self.refunds[call.index];
        let id = self.records.len();
        self.records.push(FrameRecord {
            caller,
            resume,
            ret_offset,
            ret_len,
            substate: snapshot_substate,
            refund,
            mark,
            ..Default::default()
        });
        let code = interp.bytecode.original_bytes();
        let first = &self.frames[0].base;
        let base = EvmState {
            txHash: first.txHash,
            txStartRoot: first.txStartRoot,
            depth: self.frames.len() as u16,
            target: interp.input.target_address(),
            caller: interp.input.caller_address(),
            value: interp.input.call_value(),
            isStatic: interp.runtime_flag.is_static,
            codeHash: keccak256(&code),
            calldataRoot: call
                .args_root
                .unwrap_or_else(|| WordTree::from_bytes(&call.args).root()),
            calldataSize: arg_len as u32,
            returnDataRoot: empty_word_root(),
            memRoot: empty_word_root(),
            ..Default::default()
        };
        let mut frame = LiveFrame::new(id, base, code, &call.args);
        frame.refund_base = refund as i64;
        frame.snapshot = Some(snapshot);
        if let Some(mut pending) = self.pending.take() {
            // The call's witness: its argument range of the caller's memory (none after its
            // arguments' steps: their tree is on the stack).
            if call.args_root.is_none() {
                pending.witness.args = pending.memory_range(call.items[at], arg_len);
            }
            pending.witness.frame_warm_proof = frame_warm_proof;
            self.captured = Some(StepCapture::Instruction(pending.witness));
        }
        self.frames.push(frame);
        true
    }

    /// The creation in progress started its init frame, whose first instruction is at revm's
    /// `interp` (docs/evm-steps.md section 10): the creator's nonce bump, the new address's
    /// access, the snapshots, the new account and its value, and the init frame. (Its init code,
    /// at most 49,152 bytes, is one range of at most [`MAX_INITCODE_WORDS`] words.)
    fn creation_started(&mut self, interp: &Interpreter) -> bool {
        let create = self.create.take().expect("checked by the caller");
        let code = interp.bytecode.original_bytes();
        let caller = self.top().id;
        let creator = self.top().base.target;
        let address = interp.input.target_address();
        self.effects
            .push((create.index, Effect::Nonce { account: creator }));
        let key = keccak256(address);
        let warm_proof = self.warm_accounts.proof(&key, false);
        self.warm_accounts.insert(key, Bytes::from_static(&[1]));
        self.rehash_substate();
        let snapshot_substate = self.substate;
        let snapshot = self.snapshot();
        let frame_warm_proof = self.recipient_warm_at_depth();
        let mark = self.effects.len();
        let created = Effect::Create {
            creator,
            address,
            value: create.value,
        };
        self.effects.push((create.index, created));
        let mut resume = create.resume.unwrap_or_default();
        resume.substate = snapshot_substate;
        let refund = self.refunds[create.index];
        let id = self.records.len();
        self.records.push(FrameRecord {
            caller,
            resume,
            substate: snapshot_substate,
            refund,
            mark,
            created: address,
            ..Default::default()
        });
        let first = &self.frames[0].base;
        let base = EvmState {
            txHash: first.txHash,
            txStartRoot: first.txStartRoot,
            depth: self.frames.len() as u16,
            target: address,
            caller: creator,
            value: create.value,
            codeHash: keccak256(&code),
            calldataRoot: empty_word_root(),
            returnDataRoot: empty_word_root(),
            memRoot: empty_word_root(),
            ..Default::default()
        };
        let mut frame = LiveFrame::new(id, base, code.clone(), &[]);
        frame.refund_base = refund as i64;
        frame.snapshot = Some(snapshot);
        if let Some(mut pending) = self.pending.take() {
            pending.witness.init_code = pending.memory_range(create.items[1], code.len());
            pending.witness.state.warmProof = warm_proof;
            pending.witness.frame_warm_proof = frame_warm_proof;
            pending.witness.new_address = Some(address);
            self.captured = Some(StepCapture::Instruction(pending.witness));
        }
        self.frames.push(frame);
        true
    }

    /// The creation in progress failed without a frame (revm's `make_create_frame`): at depth
    /// 1024 or for a balance below its value nothing happened; a collision bumped the creator's
    /// nonce and made the address warm.
    fn creation_failed(&mut self, result: InstructionResult) {
        let Some(create) = self.create.take() else {
            return;
        };
        let creator = self.top().base.target;
        let collision = result == InstructionResult::CreateCollision;
        let warm_proof = match create.address.filter(|_| collision) {
            Some(address) => {
                let key = keccak256(address);
                let proof = self.warm_accounts.proof(&key, false);
                self.warm_accounts.insert(key, Bytes::from_static(&[1]));
                self.rehash_substate();
                self.effects
                    .push((create.index, Effect::Nonce { account: creator }));
                proof
            }
            None => Vec::new(),
        };
        if collision && create.address.is_none() {
            self.stop_unproven();
            return;
        }
        if let Some(mut pending) = self.pending.take() {
            let len = usize::try_from(create.items[2]).unwrap_or(usize::MAX);
            pending.witness.init_code = pending.memory_range(create.items[1], len);
            pending.witness.state.warmProof = warm_proof;
            pending.witness.new_address = create.address.filter(|_| collision);
            self.captured = Some(StepCapture::Instruction(pending.witness));
        }
    }

    /// A creation transaction's frame has ended: its returning state, whose return step deposits
    /// the code and ends the transaction (docs/evm-steps.md section 10); an EIP-7702
    /// transaction's frame too, whose return step ends the transaction (section 1.2).
    fn callerless_frame_ended(&mut self) {
        let has_parent = self.records[0].created != Address::ZERO || self.authorized;
        if self.stopped || !has_parent || self.frames.len() != 1 {
            return;
        }
        // The transaction's frame has no caller: a placeholder below it for the return step.
        let placeholder = LiveFrame::new(0, EvmState::default(), Bytes::new(), &[]);
        self.frames.insert(0, placeholder);
        self.frame_returned();
    }

    /// The top frame has ended (its caller's next instruction is at hand): the returning state
    /// (docs/evm-steps.md section 9). False when the return step is not provable.
    fn frame_returned(&mut self) -> bool {
        let frame = self.frames.pop().expect("a frame at depth 1 or more");
        let ending = self.ending.take().unwrap_or(Ending {
            outcome: 3,
            gas_left: 0,
            out_offset: 0,
            out_size: 0,
            code: None,
        });
        let record = &self.records[frame.id];
        let (mark, ret_offset, ret_len) = (record.mark, record.ret_offset, record.ret_len);
        let created = record.created;
        // An init frame that returned deposits its code, unless revm's `return_create` refuses it
        // (too large, starting with 0xEF, or more than its gas pays at 200 a byte).
        let deposit = ending.code.clone().filter(|code| {
            created != Address::ZERO
                && code.len() <= MAX_CODE_SIZE
                && code.first() != Some(&0xef)
                && 200 * code.len() as u64 <= ending.gas_left
        });
        let copied = ret_len.min(ending.out_size);
        let end = FrameEnd {
            parent: B256::ZERO,
            outcome: ending.outcome,
            gasLeft: ending.gas_left,
            substate: if ending.outcome == 1 {
                self.substate
            } else {
                B256::ZERO
            },
            memRoot: if ending.out_size > 0 {
                frame.memory.root()
            } else {
                B256::ZERO
            },
            outOffset: ending.out_offset,
            outSize: ending.out_size,
        };
        let first_index = self.states.len();
        self.states.push(TraceEntry::Return(end.clone()));
        self.frame_of.push(frame.id);
        self.opcodes.push(0);
        self.refunds
            .push(self.refunds.last().copied().unwrap_or_default());
        // A long output returned to a caller (not by an init frame's success: a code over
        // EIP-170's limit is not read) takes one step per chunk (docs/evm-steps.md section 9,
        // "Long outputs"); the state root changes at the last.
        let has_caller = frame.id != 0;
        let long = ending.out_size as usize > CHUNK_BYTES
            && has_caller
            && !(created != Address::ZERO && ending.outcome == 1);
        let index = if long {
            self.long_output(&frame, &end, ret_offset, ret_len, created, first_index)
        } else {
            first_index
        };
        if let Some(code) = deposit {
            let code_hash = keccak256(&code);
            self.codes.insert(code_hash, code);
            let effect = Effect::Code {
                address: created,
                code_hash,
            };
            self.effects.push((index, effect));
        } else if ending.outcome != 1 || created != Address::ZERO {
            self.effects.push((index, Effect::Revert { to: mark }));
            // (A creation transaction's frame has none: the transaction ends.)
            if let Some([warm_slots, transient_storage, warm_accounts]) = frame.snapshot {
                self.warm_slots = warm_slots;
                self.transient_storage = transient_storage;
                self.warm_accounts = warm_accounts;
                self.rehash_substate();
            }
        }
        // An init frame's output over the code size limit fails whatever it holds: not opened.
        let oversized = created != Address::ZERO
            && ending.outcome == 1
            && ending.out_size as usize > MAX_CODE_SIZE;
        // An EIP-7702 transaction's frame returns to no caller: its output is not read; nor is a
        // creation transaction's when it fails.
        let to_no_caller = self.authorized && frame.id == 0;
        let failed_creation_tx = frame.id == 0 && created != Address::ZERO && ending.outcome != 1;
        let output =
            (ending.out_size > 0 && !oversized && !to_no_caller && !failed_creation_tx && !long)
                .then(|| words_of(ending.out_offset, ending.out_size));
        let dest = (copied > 0 && !long).then(|| words_of(ret_offset, copied));
        let too_large = [output, dest]
            .iter()
            .flatten()
            .any(|(first, last)| (last - first + 1) as usize > MAX_RANGE_WORDS);
        if self.capture == Some(index) && !too_large && !long {
            let caller_memory = &self.top().memory;
            self.captured = Some(StepCapture::Return {
                frame: frame.id,
                end,
                output: output
                    .map(|(first, last)| frame.memory.range(first, last))
                    .unwrap_or_default(),
                dest: dest
                    .map(|(first, last)| caller_memory.range(first, last))
                    .unwrap_or_default(),
            });
        }
        if too_large {
            self.stop_unproven();
            return false;
        }
        true
    }

    /// The steps of a long output (docs/evm-steps.md section 9, "Long outputs") from the returning
    /// state `end` (entry `first_index`): chunk `k` of the output goes into the return data's tree
    /// and, below `min(retLen, outSize)` (none for an init frame), into the caller's memory at
    /// `retOffset`; between the steps, states with the roots so far. Returns the last step's entry
    /// (the one that resumes the caller).
    fn long_output(
        &mut self,
        frame: &LiveFrame,
        end: &FrameEnd,
        ret_offset: u32,
        ret_len: u32,
        created: Address,
        first_index: usize,
    ) -> usize {
        let out_size = end.outSize as usize;
        let n = out_size.div_ceil(CHUNK_BYTES);
        let copied = if created == Address::ZERO {
            (ret_len as usize).min(out_size)
        } else {
            0
        };
        let output: Vec<u8> = {
            let (a, b) = words_of(end.outOffset, end.outSize);
            let mut bytes = Vec::with_capacity((b - a + 1) as usize * 32);
            for word in a..=b {
                bytes.extend_from_slice(frame.memory.word(word).as_slice());
            }
            let skip = end.outOffset as usize % 32;
            bytes[skip..skip + out_size].to_vec()
        };
        let mut return_data = WordTree::from_bytes(&[]);
        let mut caller_mem = self.top().memory.clone();
        let refund = self.refunds[first_index];
        for k in 0..n {
            let index = first_index + k;
            if k > 0 {
                self.states.push(TraceEntry::ReturnChunk {
                    end: end.clone(),
                    k: k as u32,
                    return_data: return_data.root(),
                    caller_mem: caller_mem.root(),
                });
                self.frame_of.push(frame.id);
                self.opcodes.push(0);
                self.refunds.push(refund);
            }
            let off = k * CHUNK_BYTES;
            let l = CHUNK_BYTES.min(out_size - off);
            let part = &output[off..off + l];
            let (a, b) = words_of((end.outOffset as usize + off) as u32, l as u32);
            let (c, d) = words_of(off as u32, l as u32);
            let dest = (off < copied).then(|| {
                let m = l.min(copied - off);
                (ret_offset as usize + off, m)
            });
            if self.capture == Some(index) {
                self.captured = Some(StepCapture::LongReturn {
                    frame: frame.id,
                    end: end.clone(),
                    long: LongOutput {
                        k: U256::from(k),
                        returnData: return_data.root(),
                        callerMem: caller_mem.root(),
                        output: frame.memory.range(a, b),
                        returnRange: return_data.range(c, d),
                        dest: dest
                            .map(|(at, m)| {
                                let (e, f) = words_of(at as u32, m as u32);
                                caller_mem.range(e, f)
                            })
                            .unwrap_or_default(),
                    },
                });
            }
            return_data.write(off, part);
            if let Some((at, m)) = dest {
                caller_mem.write(at, &part[..m]);
            }
        }
        debug_assert_eq!(return_data.root(), WordTree::from_bytes(&output).root());
        first_index + n - 1
    }
}

/// The word span `[offset, offset + len)` touches, when it fits the tree.
fn word_span(offset: U256, len: usize) -> Option<(usize, usize)> {
    let offset = usize::try_from(offset).ok()?;
    let end = offset.checked_add(len)?;
    let last = (end - 1) / 32;
    (last < 1 << WORD_DEPTH).then_some((offset / 32, last))
}

/// The word of block `number`'s recent hashes that BLOCKHASH(`requested`) reads, `None` when
/// the requested block is out of reach (the result is then zero, as revm's `blockhash`).
fn recent_hash_index(number: u64, requested: U256) -> Option<u32> {
    let requested = u64::try_from(requested).ok()?;
    (requested < number && number - requested <= BLOCK_HASH_HISTORY)
        .then_some((requested % BLOCK_HASH_HISTORY) as u32)
}

/// The length of `address`'s code as revm's journal loaded it (0 when it is not loaded).
fn loaded_code_len<CTX>(context: &mut CTX, address: Address) -> usize
where
    CTX: ContextTr<Journal: JournalTr<State = RevmState>>,
{
    context
        .journal_ref()
        .evm_state()
        .get(&address)
        .and_then(|account| account.info.code.as_ref())
        .map_or(0, |code| code.original_byte_slice().len())
}

/// The EIP-7702 delegate of `address` when its code is a delegation designator: as an EIP-7702
/// transaction's authorizations left it (the journal holds each authority with its code), else
/// read from the state the transaction started on (no instruction sets a delegation). Neither
/// read warms anything in revm's journal.
fn delegate_of<CTX>(context: &mut CTX, address: Address) -> Option<Address>
where
    CTX: ContextTr<Journal: JournalTr<State = RevmState>>,
{
    if let Some(code) = context
        .journal_ref()
        .evm_state()
        .get(&address)
        .and_then(|account| account.info.code.clone())
    {
        return code.eip7702_address();
    }
    let db = context.db_mut();
    let info = db.basic(address).ok().flatten()?;
    let code = match info.code {
        Some(code) => code,
        None if info.code_hash == revm::primitives::KECCAK_EMPTY => return None,
        None => db.code_by_hash(info.code_hash).ok()?,
    };
    code.eip7702_address()
}

impl<CTX> Inspector<CTX> for Recorder
where
    CTX: ContextTr<Journal: JournalTr<State = RevmState>>,
{
    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        // The new address: revm's frame creation takes the creator's nonce before bumping it.
        if !self.stopped
            && let Some(create) = self.create.as_mut()
            && let Some(creator) = context.journal_ref().evm_state().get(&inputs.caller())
        {
            create.address = Some(inputs.created_address(creator.info.nonce));
        }
        None
    }

    fn create_end(
        &mut self,
        _context: &mut CTX,
        _inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        // Still in progress at its end: the creation failed before its frame started.
        if !self.stopped && self.create.is_some() {
            self.creation_failed(outcome.result.result);
        }
    }

    fn step(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        if self.stopped {
            return;
        }
        let depth = interp.input.depth();
        let base_depth = *self.base_depth.get_or_insert(depth);
        let level = depth - base_depth;
        let top = self.frames.len() - 1;
        if level < top {
            if !self.frame_returned() {
                return;
            }
        } else if level > top && !self.frame_started(interp) {
            return;
        }
        let mem_size = interp.memory.size();
        let frame = self.top_mut();
        if let Some((first, last)) = frame.dirty.take() {
            let end = ((last + 1) * 32).min(mem_size);
            if first * 32 < end {
                let words = interp.memory.slice(first * 32..end).to_vec();
                frame.refresh_words(first, &words);
            }
        }
        let data = interp.stack.data();
        if let Some(mut pending) = self.pending.take() {
            // The call being captured returned without a frame: the memory words of its input
            // and of the output it wrote, from the memory before it.
            let top = &pending.witness.stack_top;
            if top.len() >= 6 {
                let at = top.len() - 4;
                let (in_len, out_len) = precompile_range_lens(top, interp.return_data.buffer());
                let input = pending.memory_range(top[at], in_len);
                let output = pending.memory_range(top[at + 2], out_len);
                pending.witness.ranges = vec![input, output];
            }
            self.captured = Some(StepCapture::Instruction(pending.witness));
        }
        if let Some(call) = self.call.take() {
            // A precompile's input, or the output it wrote, over `MAX_RANGE_WORDS` words: the
            // verifier opens neither (docs/evm-steps.md section 4), so the call would be the
            // rest of the transaction. The chain's precompiles make it unreachable (an input
            // over 32,736 bytes fails unread, no output is longer: [`crate::precompiles`]); the
            // check stays so that a change to them cannot produce an unprovable witness.
            if is_provable_precompile(call.callee) {
                let at = call.items.len() - 4;
                let words = |offset: U256, len: usize| {
                    (len > 0)
                        .then(|| word_span(offset, len))
                        .flatten()
                        .is_some_and(|(first, last)| last - first + 1 > MAX_RANGE_WORDS)
                };
                let (input, output) =
                    precompile_range_lens(&call.items, interp.return_data.buffer());
                if words(call.items[at], input) || words(call.items[at + 2], output) {
                    self.stop_unproven();
                    return;
                }
            }
            // The call returned without a frame: 1 on the stack when it succeeded.
            let from = self.top().base.target;
            if call.op == 0xf1
                && !call.value.is_zero()
                && call.callee != from
                && data.last() == Some(&U256::from(1))
            {
                let transfer = Effect::Transfer {
                    from,
                    to: call.callee,
                    value: call.value,
                };
                self.effects.push((call.index, transfer));
            }
            self.access(call.callee);
            if let Some(delegate) = call.delegate {
                self.access(delegate);
            }
            self.rehash_substate();
            self.calls
                .push((call.index, call.callee, call.value, false));
        }
        let return_data = interp.return_data.buffer();
        let frame = self.frames.last_mut().expect("the transaction's frame");
        frame.stack.update(data);
        let pc = interp.bytecode.pc();
        let op = frame.code.get(pc).copied().unwrap_or(0);
        let state = EvmState {
            pc: pc as u32,
            gas: interp.gas.remaining(),
            stackSize: data.len() as u16,
            stack: frame.stack.hash(),
            memSize: mem_size as u32,
            memRoot: frame.memory.root(),
            returnDataSize: return_data.len() as u32,
            returnDataRoot: self.return_data_root.root(return_data),
            substate: self.substate,
            ..frame.base.clone()
        };
        let index = self.states.len();
        self.states.push(TraceEntry::Instruction(state.clone()));
        self.frame_of.push(frame.id);
        self.opcodes.push(op);
        // The machine's refund counter is the frames' together (revm's of each frame starts at
        // 0 and joins its caller's when it succeeds); it never goes below zero
        // (docs/evm-steps.md section 4, "Storage").
        let refund = frame.refund_base + interp.gas.refunded();
        self.refunds.push(u64::try_from(refund).unwrap_or_default());
        let storage_op = stage3_inputs(op).is_some()
            || call_inputs(op).is_some()
            || create_inputs(op).is_some()
            || selfdestruct_inputs(op).is_some();
        // The access-list marker: a transaction with an access list, or an account destroyed.
        let access_list = self.frames[0].base.substate == ACCESS_LIST_SUBSTATE
            || self.substate == ACCESS_LIST_SUBSTATE;
        let Some(inputs) = instruction_inputs(op).filter(|_| !(storage_op && access_list)) else {
            self.stopped = true;
            self.unproven = true;
            return;
        };
        // A call whose arguments are over a chunk: the steps that put them in a tree come first,
        // and the call's own step is from the last state (docs/evm-steps.md section 9, "Long
        // arguments").
        let call_items: Vec<U256> = match call_inputs(op) {
            Some(inputs) if data.len() >= inputs => {
                data[data.len() - inputs..].iter().rev().copied().collect()
            }
            _ => Vec::new(),
        };
        let arg_steps = call_arg_steps(op, &call_items, &state);
        let (index, state, args_root) = if arg_steps > 0 {
            let (index, state, root) =
                self.call_args(op, index, state, &call_items, arg_steps, interp);
            (index, state, Some(root))
        } else {
            (index, state, None)
        };
        // Words this instruction may write, refreshed before the next one.
        // (The copies' destination is known once they have run: `step_end`.)
        let top_item = data.last().copied();
        let item = |i: usize| data.len().checked_sub(i + 1).map(|at| data[at]);
        let dirty = match op {
            0x52 => top_item.and_then(|o| word_span(o, 32)),
            0x53 => top_item.and_then(|o| word_span(o, 1)),
            // A call may write its output range, refreshed before the next instruction.
            op if call_inputs(op).is_some() && data.len() >= inputs => {
                let at = inputs - 4;
                match (item(at + 2), item(at + 3)) {
                    (Some(offset), Some(len)) if !len.is_zero() => usize::try_from(len)
                        .ok()
                        .and_then(|len| word_span(offset, len)),
                    _ => None,
                }
            }
            _ => None,
        };
        self.top_mut().dirty = dirty;
        self.output = (matches!(op, 0xf3 | 0xfd) && data.len() >= 2)
            .then(|| (data[data.len() - 1], data[data.len() - 2]));
        self.stage2 = (stage2_inputs(op).is_some() && data.len() >= inputs).then(|| {
            (
                op,
                data[data.len() - inputs..].iter().rev().copied().collect(),
            )
        });
        if create_inputs(op).is_some() && data.len() >= inputs {
            self.create = Some(CreateInProgress {
                index,
                value: item(0).unwrap_or_default(),
                items: data[data.len() - inputs..].iter().rev().copied().collect(),
                resume: None,
                address: None,
            });
        }
        let storage_op = storage_op && create_inputs(op).is_none();
        self.stage3 = (storage_op && data.len() >= inputs).then(|| {
            let at = |i: usize| data[data.len() - 1 - i];
            match op {
                // SELFDESTRUCT: the target.
                0xff => (op, at(0), U256::ZERO),
                // A call: the callee, and the value of CALL and CALLCODE.
                0xf1 | 0xf2 => (op, at(1), at(2)),
                0xf4 | 0xfa => (op, at(1), U256::ZERO),
                _ if inputs == 0 => (op, U256::ZERO, U256::ZERO),
                _ if inputs == 1 => (op, at(0), U256::ZERO),
                _ => (op, at(0), at(1)),
            }
        });
        if let Some((op, callee, value)) = self.stage3
            && call_inputs(op).is_some()
        {
            let callee = Address::from_word(callee.into());
            self.call = Some(CallInProgress {
                index,
                op,
                callee,
                value,
                items: call_items,
                resume: None,
                args: Bytes::new(),
                delegate: delegate_of(context, callee),
                args_root,
            });
        }
        if self.capture == Some(index) {
            let frame = self.top();
            let (stack_top, stack_rest) = if data.len() >= inputs {
                let below = data.len() - inputs;
                // After a call's arguments' steps, their tree is on top of its items.
                let tree = args_root.map(|root| U256::from_be_bytes(root.0));
                (
                    tree.into_iter()
                        .chain(data[below..].iter().rev().copied())
                        .collect(),
                    frame.stack.prefix[below],
                )
            } else {
                (Vec::new(), B256::ZERO)
            };
            let code = frame.code.clone();
            let memory = frame.memory.clone();
            let delegate_warm_proof = self.delegate_warm_proof();
            self.pending = Some(PendingCapture {
                witness: InstructionWitness {
                    evm: state,
                    code,
                    stack_top,
                    stack_rest,
                    state: self.state_witness(),
                    delegate_warm_proof,
                    ..Default::default()
                },
                op,
                memory,
                offset: if data.len() >= inputs { top_item } else { None },
            });
        }
    }

    fn step_end(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        if self.stopped {
            return;
        }
        let action = interp.bytecode.action().as_ref();
        let ended = action.and_then(|action| action.instruction_result());
        let halted = action.is_some();
        if let Some(result) = ended {
            // The frame ends: how, for its returning state.
            let outcome = if result.is_ok() {
                1
            } else if result.is_revert() {
                2
            } else {
                3
            };
            let (out_offset, out_size) = match self.output.take() {
                Some((offset, len)) if outcome != 3 && !len.is_zero() => (
                    u32::try_from(offset).unwrap_or_default(),
                    u32::try_from(len).unwrap_or_default(),
                ),
                _ => (0, 0),
            };
            // An init frame's RETURN: the code it returns, for the deposit.
            let init_frame = self.records[self.top().id].created != Address::ZERO;
            let code = (init_frame && outcome == 1).then(|| {
                let end = out_offset as usize + out_size as usize;
                if out_size == 0 || end > interp.memory.size() {
                    Bytes::new()
                } else {
                    interp
                        .memory
                        .slice(out_offset as usize..end)
                        .to_vec()
                        .into()
                }
            });
            self.ending = Some(Ending {
                outcome,
                gas_left: if outcome == 3 {
                    0
                } else {
                    interp.gas.remaining()
                },
                out_offset,
                out_size,
                code,
            });
            // SELFDESTRUCT: the balance moves; an account created in this transaction is deleted
            // (at once: docs/evm-steps.md section 11).
            if result == InstructionResult::SelfDestruct
                && let Some((0xff, item, _)) = self.stage3
            {
                let account = self.top().base.target;
                let target = Address::from_word(item.into());
                let destroy = context
                    .journal_ref()
                    .evm_state()
                    .get(&account)
                    .is_some_and(|a| a.is_created_locally());
                let effect = Effect::SelfDestruct {
                    account,
                    target,
                    destroy,
                };
                self.effects.push((self.states.len() - 1, effect));
                self.access(target);
                self.rehash_substate();
                if destroy {
                    // Deleted at this step, where revm deletes it at the transaction's end: every
                    // later state access is refused, as under the access-list marker, until a
                    // failing caller restores its snapshot (docs/evm-steps.md section 11).
                    self.substate = ACCESS_LIST_SUBSTATE;
                }
            }
            // A creation that halted: no frame.
            if self.create.take().is_some()
                && let Some(pending) = self.pending.take()
            {
                self.captured = Some(StepCapture::Instruction(pending.witness));
            }
            // A call that halted: no frame, no return to wait for.
            if self.call.take().is_some()
                && let Some(pending) = self.pending.take()
            {
                self.captured = Some(StepCapture::Instruction(pending.witness));
            }
        } else if let Some(create) = &self.create {
            // The creation's instruction has run: the caller as it resumes.
            let resume = self.resumed(create.index, create.items.len(), interp);
            if let Some(create) = self.create.as_mut() {
                create.resume = Some(resume);
            }
        } else if let Some(call) = &self.call {
            // The call's instruction has run: the caller as it resumes, and the arguments.
            // (After its arguments' steps, their tree is on the stack too.)
            let popped = call.items.len() + usize::from(call.args_root.is_some());
            let resume = self.resumed(call.index, popped, interp);
            let call = self.call.as_mut().expect("checked above");
            call.resume = Some(resume);
            let at = call.items.len() - 4;
            if let (Ok(offset), Ok(len)) = (
                usize::try_from(call.items[at]),
                usize::try_from(call.items[at + 1]),
            ) && len > 0
                && offset.saturating_add(len) <= interp.memory.size()
            {
                call.args = interp.memory.slice(offset..offset + len).to_vec().into();
            }
        }
        let target = self.top().base.target;
        if let Some((op, item, value)) = self.stage3.take()
            && !halted
        {
            let key = slot_key(target, item);
            match op {
                0x5d => self.transient_storage.set(key, slot_leaf(value)),
                0x54 | 0x55 => {
                    self.warm_slots.insert(key, Bytes::from_static(&[1]));
                    if op == 0x55 {
                        let store = Effect::Store {
                            account: target,
                            slot: item,
                            value,
                        };
                        self.effects.push((self.states.len() - 1, store));
                    }
                }
                op if reads_account(op) => self.access(Address::from_word(item.into())),
                _ => {}
            }
            self.rehash_substate();
        }
        if let Some((op, items)) = self.stage2.take()
            && !halted
        {
            // A KECCAK256 over a chunk carries keccak's sponge between its steps.
            if op == 0x20 && items[1] > U256::from(CHUNK_BYTES) {
                self.chunked_hash(&items, interp);
                return;
            }
            // CALLDATACOPY, CODECOPY, RETURNDATACOPY, MCOPY (`dst src len`) and EXTCODECOPY
            // (`address dst src len`) are chunked by bytes.
            let len_item = if op == 0x3c { 3 } else { 2 };
            if matches!(op, 0x37 | 0x39 | 0x3c | 0x3e | 0x5e)
                && items[len_item] > U256::from(CHUNK_BYTES)
            {
                // A code longer than a chunk (only a genesis holds one) would not leave zeros
                // to every later chunk: not proven (docs/evm-steps.md section 4).
                if op == 0x3c
                    && loaded_code_len(context, Address::from_word(items[0].into())) > CHUNK_BYTES
                {
                    self.stop_unproven();
                    return;
                }
                self.chunked_copy(op, &items, interp);
                return;
            }
            let return_data = interp.return_data.buffer();
            let calldata_size = self.top().base.calldataSize as usize;
            let ranges = stage2_ranges(op, &items, calldata_size, return_data.len());
            if ranges
                .iter()
                .any(|(_, first, last)| last - first + 1 > MAX_RANGE_WORDS)
            {
                // Too large for one step: the rest of the transaction.
                self.stop_unproven();
                return;
            }
            // A copy writes its last range, refreshed from revm before the next instruction.
            if op != 0x20
                && let Some(&(_, first, last)) = ranges.last()
            {
                self.top_mut().dirty = Some((first, last));
            }
            if let Some(pending) = self.pending.as_mut() {
                let frame = self.frames.last().expect("the transaction's frame");
                let return_tree = WordTree::from_bytes(return_data);
                pending.witness.ranges = ranges
                    .into_iter()
                    .map(|(tree, first, last)| {
                        let tree = match tree {
                            RangeTree::Memory => &frame.memory,
                            RangeTree::Calldata => &frame.calldata,
                            RangeTree::ReturnData => &return_tree,
                        };
                        tree.range(first as u32, last as u32)
                    })
                    .collect();
            }
        }
        let Some(mut pending) = self.pending.take() else {
            return;
        };
        // A call's witness is complete once it has returned (the output's length) or its
        // callee's frame has started (the arguments).
        if call_inputs(pending.op).is_some() || create_inputs(pending.op).is_some() {
            self.pending = Some(pending);
            return;
        }
        if ended.is_none()
            && !halted
            && let Some(offset) = pending.offset
        {
            let frame = self.frames.last().expect("the transaction's frame");
            let memory = interp.memory.slice(0..interp.memory.size()).to_vec();
            let span = |len| word_span(offset, len).expect("the instruction ran");
            match pending.op {
                // MLOAD: the words read.
                0x51 => {
                    let (first, last) = span(32);
                    for index in first..=last {
                        pending
                            .witness
                            .words
                            .push(pending.memory.proof(index as u32));
                    }
                }
                // MSTORE, MSTORE8: each word proven against the root the previous write left.
                0x52 | 0x53 => {
                    let (first, last) = span(if pending.op == 0x52 { 32 } else { 1 });
                    let mut tree = pending.memory.clone();
                    for index in first..=last {
                        pending.witness.words.push(tree.proof(index as u32));
                        let mut word = B256::ZERO;
                        word.copy_from_slice(&memory[index * 32..index * 32 + 32]);
                        tree.set(index as u32, word);
                    }
                }
                // BLOCKHASH: the block's word of its recent hashes, when the block is in reach.
                0x40 => {
                    let number: u64 = context.block().number().saturating_to();
                    if let Some(index) = recent_hash_index(number, offset) {
                        let db = context.db_mut();
                        let tree =
                            recent_hashes_tree(number, |m| db.block_hash(m).unwrap_or_default());
                        pending.witness.words.push(tree.proof(index));
                    }
                }
                // CALLDATALOAD: the call-data words, when the offset is inside the data.
                0x35 if offset < U256::from(frame.base.calldataSize) => {
                    let (first, last) = span(32);
                    for index in first..=last {
                        pending
                            .witness
                            .words
                            .push(frame.calldata.proof(index as u32));
                    }
                }
                _ => {}
            }
        }
        self.captured = Some(StepCapture::Instruction(pending.witness));
    }
}

/// The entry witness: `abi.encode(bytes rawTx, bytes[] callerProof, bytes[] recipientProof,
/// bytes code, bytes[][] accessProofs)`.
pub fn encode_entry(
    raw: Bytes,
    caller_proof: Vec<Bytes>,
    recipient_proof: Vec<Bytes>,
    code: Bytes,
    access_proofs: Vec<Vec<Bytes>>,
) -> Bytes {
    (raw, caller_proof, recipient_proof, code, access_proofs)
        .abi_encode_params()
        .into()
}

/// A step of a long output (kind 14): `abi.encode(FrameEnd end, CallerFrame frame, EvmState
/// caller, LongOutput long)`.
pub fn encode_long_return(
    end: FrameEnd,
    frame: CallerFrame,
    caller: EvmState,
    long: LongOutput,
) -> Bytes {
    encode_in_tx(14, (end, frame, caller, long).abi_encode_params().into())
}

/// The return step's proof (docs/evm-steps.md sections 9 and 10, kind 6): `abi.encode(FrameEnd
/// end, CallerFrame frame, EvmState caller, WordRange output, WordRange dest, bytes[]
/// createdProof)`.
pub fn encode_return(
    end: FrameEnd,
    frame: CallerFrame,
    caller: EvmState,
    output: WordRange,
    dest: WordRange,
    created_proof: Vec<Bytes>,
) -> Bytes {
    let body = (end, frame, caller, output, dest, created_proof).abi_encode_params();
    encode_in_tx(6, body.into())
}

/// An `IN_TX` proof: `abi.encode(uint8 kind, bytes body)` (0: entry, 1: instruction).
pub fn encode_in_tx(kind: u8, body: Bytes) -> Bytes {
    // `uint8` encodes as one word, like a `uint256` of the same value.
    (U256::from(kind), body).abi_encode_params().into()
}

/// The fixed fields of the transaction's own frame (docs/evm-steps.md section 1); the fields
/// of later stages stay zero.
pub fn frame_base(
    tx_hash: B256,
    tx_start_root: B256,
    to: Address,
    caller: Address,
    value: U256,
    code_hash: B256,
    calldata: &[u8],
) -> EvmState {
    EvmState {
        txHash: tx_hash,
        txStartRoot: tx_start_root,
        target: to,
        caller,
        value,
        codeHash: code_hash,
        calldataRoot: WordTree::from_bytes(calldata).root(),
        calldataSize: calldata.len() as u32,
        returnDataRoot: empty_word_root(),
        memRoot: empty_word_root(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_trees_prove_their_words() {
        let data: Vec<u8> = (0..200u8).collect();
        let mut tree = WordTree::from_bytes(&data);
        for index in [0u32, 3, 6, 7, 1000] {
            let proof = tree.proof(index);
            assert_eq!(
                word_root(index, proof.word, &proof.siblings),
                tree.root(),
                "word {index}"
            );
        }
        assert_eq!(tree.word(6)[..8], data[192..200]);
        assert_eq!(tree.word(7), B256::ZERO);
        let before = tree.root();
        tree.set(9, B256::repeat_byte(1));
        assert_ne!(tree.root(), before);
        tree.set(9, B256::ZERO);
        assert_eq!(tree.root(), before, "clearing a word restores the root");
        assert_eq!(WordTree::default().root(), empty_word_root());
        assert_eq!(WordTree::from_bytes(&[0; 64]).root(), empty_word_root());
    }

    #[test]
    fn copies_over_a_chunk_are_split_and_cover_every_byte_once() {
        assert_eq!(
            copy_chunks(0x37, U256::ZERO, U256::ZERO, CHUNK_BYTES),
            [(0, CHUNK_BYTES)]
        );
        assert_eq!(
            copy_chunks(0x20, U256::ZERO, U256::ZERO, 100_000),
            [(0, 100_000)]
        );
        assert_eq!(
            copy_chunks(0x37, U256::ZERO, U256::ZERO, CHUNK_BYTES + 1),
            [(0, CHUNK_BYTES), (CHUNK_BYTES, 1)]
        );
        // MCOPY backward when the destination is above the source, forward otherwise.
        let len = 2 * CHUNK_BYTES + 100;
        let back = copy_chunks(0x5e, U256::from(9), U256::from(8), len);
        assert_eq!(
            back,
            [
                (CHUNK_BYTES + 100, CHUNK_BYTES),
                (100, CHUNK_BYTES),
                (0, 100)
            ]
        );
        let forward = copy_chunks(0x5e, U256::from(8), U256::from(9), len);
        assert_eq!(forward[0], (0, CHUNK_BYTES));
        for chunks in [back, forward] {
            let mut covered = vec![0u8; len];
            for (offset, length) in chunks {
                assert!(length <= CHUNK_BYTES && words_of(31, length as u32).1 < 1024);
                covered[offset..offset + length]
                    .iter_mut()
                    .for_each(|c| *c += 1);
            }
            assert!(covered.iter().all(|&c| c == 1));
        }
        assert_eq!(instruction_pc(7 + (3 << CHUNK_SHIFT)), 7);
    }

    #[test]
    fn trees_built_level_by_level_equal_trees_built_word_by_word() {
        // Zero words between non-zero ones, odd and even ends, a partial last word.
        for len in [0usize, 1, 32, 33, 64, 95, 96, 200, 1000, 4097] {
            let data: Vec<u8> = (0..len)
                .map(|i| {
                    if (i / 32) % 3 == 1 {
                        0
                    } else {
                        (i * 13 + 1) as u8
                    }
                })
                .collect();
            let mut by_word = WordTree::default();
            for (index, chunk) in data.chunks(32).enumerate() {
                let mut word = B256::ZERO;
                word[..chunk.len()].copy_from_slice(chunk);
                by_word.set(index as u32, word);
            }
            let built = WordTree::from_bytes(&data);
            assert_eq!(built.root(), by_word.root(), "{len} bytes");
            assert_eq!(
                built.nodes, by_word.nodes,
                "{len} bytes: the same stored nodes"
            );
        }
    }

    #[test]
    fn range_proofs_open_their_words_and_nothing_else() {
        let data: Vec<u8> = (0..2000u32).map(|i| (i * 7 + 3) as u8).collect();
        let tree = WordTree::from_bytes(&data);
        for (first, last) in [
            (0, 0),
            (0, 1),
            (1, 1),
            (1, 2),
            (3, 17),
            (5, 62),
            (0, 63),
            (61, 70),
        ] {
            let range = tree.range(first, last);
            assert_eq!(range.words.len(), (last - first + 1) as usize);
            assert_eq!(
                range_root(first, &range.words, &range.siblings),
                Some(tree.root()),
                "{first}..={last}"
            );
            // New words under the same siblings give the root of the tree holding them.
            let mut changed = tree.clone();
            let words: Vec<B256> = (first..=last).map(|i| B256::repeat_byte(i as u8)).collect();
            for (i, word) in (first..).zip(&words) {
                changed.set(i, *word);
            }
            assert_eq!(
                range_root(first, &words, &range.siblings),
                Some(changed.root())
            );
            // One sibling too many or too few, or another position, opens nothing.
            let mut more = range.siblings.clone();
            more.push(B256::ZERO);
            assert_eq!(range_root(first, &range.words, &more), None);
            assert_eq!(range_root(first, &range.words, &range.siblings[1..]), None);
            assert_ne!(
                range_root(first + 2, &range.words, &range.siblings),
                Some(tree.root())
            );
        }
        let top = (1u32 << WORD_DEPTH) - 1;
        let edge = tree.range(top - 1, top);
        assert_eq!(
            range_root(top - 1, &edge.words, &edge.siblings),
            Some(tree.root())
        );
        assert_eq!(range_root(top, &edge.words, &edge.siblings), None);
        assert_eq!(range_root(0, &[], &[]), None);
    }

    #[test]
    fn stage2_ranges_cover_the_source_then_the_destination() {
        let u = |x: u64| U256::from(x);
        // KECCAK256 of 64 bytes at 40: words 1..=3.
        assert_eq!(
            stage2_ranges(0x20, &[u(40), u(64)], 0, 0),
            vec![(RangeTree::Memory, 1, 3)]
        );
        // CALLDATACOPY of 100 bytes from 50 of 70-byte call data to 0: call-data words 1..=2,
        // memory words 0..=3.
        assert_eq!(
            stage2_ranges(0x37, &[u(0), u(50), u(100)], 70, 0),
            vec![(RangeTree::Calldata, 1, 2), (RangeTree::Memory, 0, 3)]
        );
        // From past the call data (or a huge offset): zeros, no source.
        assert_eq!(
            stage2_ranges(0x37, &[u(32), U256::MAX, u(1)], 70, 0),
            vec![(RangeTree::Memory, 1, 1)]
        );
        assert_eq!(
            stage2_ranges(0x39, &[u(31), u(0), u(2)], 0, 0),
            vec![(RangeTree::Memory, 0, 1)]
        );
        assert_eq!(
            stage2_ranges(0x5e, &[u(64), u(0), u(33)], 0, 0),
            vec![(RangeTree::Memory, 0, 1), (RangeTree::Memory, 2, 3)]
        );
        assert!(stage2_ranges(0x3e, &[u(5), u(9), u(0)], 0, 0).is_empty());
        // EXTCODECOPY address dst src len: the destination only (the code is in the witness).
        assert_eq!(
            stage2_ranges(0x3c, &[u(0xabc), u(33), U256::MAX, u(40)], 0, 0),
            vec![(RangeTree::Memory, 1, 2)]
        );
        assert!(stage2_ranges(0x3c, &[u(0xabc), U256::MAX, u(0), u(0)], 0, 0).is_empty());
    }

    #[test]
    fn stack_hashes_follow_pushes_and_pops() {
        let mut hasher = StackHasher::default();
        let items = [U256::from(1), U256::from(2), U256::from(3)];
        hasher.update(&items);
        let expected = items.iter().fold(B256::ZERO, |h, x| stack_push(h, *x));
        assert_eq!(hasher.hash(), expected);
        hasher.update(&items[..1]);
        assert_eq!(hasher.hash(), stack_push(B256::ZERO, items[0]));
        hasher.update(&[]);
        assert_eq!(hasher.hash(), B256::ZERO);
    }

    #[test]
    fn stage1_covers_exactly_the_listed_opcodes() {
        for op in [0x20, 0x31, 0x37, 0x39, 0x3b, 0x3c, 0x3e, 0x3f, 0x47] {
            assert_eq!(stage1_inputs(op), None, "{op:#x}");
        }
        for op in [0x54, 0x55, 0x5c, 0x5d, 0x5e, 0xf0, 0xf1, 0xf2] {
            assert_eq!(stage1_inputs(op), None, "{op:#x}");
        }
        for op in [0xf4, 0xf5, 0xfa, 0xff] {
            assert_eq!(stage1_inputs(op), None, "{op:#x}");
        }
        assert_eq!(stage1_inputs(0x01), Some(2));
        assert_eq!(stage1_inputs(0x8f), Some(16));
        assert_eq!(stage1_inputs(0x9f), Some(17));
        assert_eq!(stage1_inputs(0x1e), Some(0), "CLZ is not Prague");
        assert_eq!(stage1_inputs(0xa0), Some(2), "LOG0");
        assert_eq!(stage1_inputs(0xa4), Some(6), "LOG4");
        assert_eq!(stage1_inputs(0x40), Some(1), "BLOCKHASH");
        // Not stage 1: the 9 state, hash and copy opcodes of 0x20-0x47, SLOAD, SSTORE, TLOAD,
        // TSTORE, MCOPY, and the 7 call, create and selfdestruct opcodes.
        let stage1 = (0..=255u8)
            .filter(|op| stage1_inputs(*op).is_some())
            .count();
        assert_eq!(stage1, 256 - 21);
    }
}
