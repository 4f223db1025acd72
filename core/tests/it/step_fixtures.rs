//! The fault-proof step machine against the reference executor, and the fixtures of the
//! Solidity one-step verifier's test (`contracts/test/OneStepVerifier.t.sol`).
//!
//! - Random batches of transfers and contract calls run through [`Trace`] and through the
//!   deriver (`execute_block` + `StateCommitment`): the state roots agree after every block and
//!   the finished state is the one the commitment claims.
//! - A few hand-made batches cover every kind of step, transaction type and skip; every step's
//!   pre-state, witness and post-state goes to `contracts/test/fixtures/steps.json`, which must
//!   equal what this test generates (`UPDATE_STEP_FIXTURES=1` rewrites it).

use alloy_consensus::Transaction;
use alloy_consensus::{
    Header, SignableTransaction, Signed, TxEip1559, TxEip2930, TxEip7702, TxEnvelope, TxLegacy,
};
use alloy_eips::eip2718::Decodable2718;
use alloy_eips::{
    eip2718::Encodable2718,
    eip2930::{AccessList, AccessListItem},
    eip7702::Authorization,
};
use alloy_network::TxSignerSync;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, address, hex, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolValue, sol};
use rollup_core::{
    batch::{Batch, BatchBlock},
    block::{L1Origin, genesis_header, next_block_input, seal_block},
    chain::{ChainConfig, DEV_ADDRESSES, DEV_PRIVATE_KEYS, Genesis, GenesisAccount},
    derive::Deriver,
    executor::execute_block,
    executor::tx_env,
    fault::{
        InputItem, MachineState, Phase, StepKind, Trace, batch_inputs, inputs_root,
        trace::LAST_INDEX,
    },
    revm::context_interface::cfg::gas::calculate_initial_tx_gas_for_tx,
    state::{StateReader as _, WorldState},
    trie::StateCommitment,
    tx::{MAX_TX_BYTES, check_envelope, decode_and_check},
};
use std::time::Instant;

/// Stores CALLVALUE at slot CALLER: `CALLVALUE CALLER SSTORE STOP`.
const STORE: Address = address!("0x00000000000000000000000000000000c0de0001");
/// Always reverts: `PUSH1 0 PUSH1 0 REVERT`.
const REVERT: Address = address!("0x00000000000000000000000000000000c0de0002");
/// Sends CALLVALUE to COINBASE: `CALL(GAS, COINBASE, CALLVALUE, 0, 0, 0, 0)`.
const PAY_COINBASE: Address = address!("0x00000000000000000000000000000000c0de0003");
/// An account that exists and is empty (nonce 0, balance 0, no code).
pub(super) const EMPTY: Address = address!("0x00000000000000000000000000000000e0e0e0e0");
/// The identity precompile.
const IDENTITY: Address = address!("0x0000000000000000000000000000000000000004");

pub(super) const GWEI: u128 = 1_000_000_000;

pub(super) fn chain() -> ChainConfig {
    ChainConfig {
        fee_vault: DEV_ADDRESSES[9],
        ..ChainConfig::default()
    }
}

pub(super) fn genesis() -> Genesis {
    let mut genesis = Genesis::dev(chain());
    let code = |hex: &str| GenesisAccount {
        code: Some(hex::decode(hex).expect("hex").into()),
        ..Default::default()
    };
    genesis.alloc.insert(STORE, {
        let mut store = code("34335500");
        // dev 0 has a slot: storing zero there earns a refund.
        store.storage.insert(
            B256::left_padding_from(DEV_ADDRESSES[0].as_slice()),
            B256::with_last_byte(1),
        );
        store
    });
    genesis.alloc.insert(REVERT, code("60006000fd"));
    genesis
        .alloc
        .insert(PAY_COINBASE, code("600060006000600034415af100"));
    genesis.alloc.insert(EMPTY, GenesisAccount::default());
    genesis
}

pub(super) fn dev(i: usize) -> PrivateKeySigner {
    DEV_PRIVATE_KEYS[i].parse().expect("dev key")
}

/// A key nobody funded, from a label.
fn fresh(label: &str) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&keccak256(label)).expect("key")
}

fn encode<T: SignableTransaction<Signature>>(tx: T, sig: Signature) -> Bytes
where
    TxEnvelope: From<Signed<T>>,
{
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
}

pub(super) fn sign<T: SignableTransaction<Signature>>(key: &PrivateKeySigner, mut tx: T) -> Bytes
where
    TxEnvelope: From<Signed<T>>,
{
    let sig = key.sign_transaction_sync(&mut tx).expect("sign");
    encode(tx, sig)
}

pub(super) fn eip1559(nonce: u64, to: TxKind, value: u128, gas: u64, input: Bytes) -> TxEip1559 {
    TxEip1559 {
        chain_id: chain().chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 3 * GWEI,
        max_priority_fee_per_gas: GWEI / 2,
        to,
        value: U256::from(value),
        access_list: AccessList::default(),
        input,
    }
}

fn legacy(nonce: u64, to: TxKind, value: u128, gas: u64, input: Bytes) -> TxLegacy {
    TxLegacy {
        chain_id: Some(chain().chain_id),
        nonce,
        gas_price: 2 * GWEI,
        gas_limit: gas,
        to,
        value: U256::from(value),
        input,
    }
}

fn eip2930(nonce: u64, to: TxKind, value: u128, gas: u64, input: Bytes) -> TxEip2930 {
    TxEip2930 {
        chain_id: chain().chain_id,
        nonce,
        gas_price: 2 * GWEI,
        gas_limit: gas,
        to,
        value: U256::from(value),
        access_list: AccessList(vec![AccessListItem {
            address: STORE,
            storage_keys: vec![B256::ZERO, B256::repeat_byte(7)],
        }]),
        input,
    }
}

pub(super) fn call(to: Address) -> TxKind {
    TxKind::Call(to)
}

/// The RLP items of a list payload, each with its header.
fn rlp_items(mut payload: &[u8]) -> Vec<Vec<u8>> {
    let mut items = Vec::new();
    while !payload.is_empty() {
        let start = payload;
        let header = alloy_rlp::Header::decode(&mut payload).expect("rlp");
        let consumed = start.len() - payload.len() + header.payload_length;
        items.push(start[..consumed].to_vec());
        payload = &start[consumed..];
    }
    items
}

/// A typed transaction with its list's items rewritten by `edit` (the header recomputed).
fn reencode_typed(raw: &[u8], edit: impl FnOnce(&mut Vec<Vec<u8>>)) -> Bytes {
    let mut body = &raw[1..];
    let header = alloy_rlp::Header::decode(&mut body).expect("list");
    let mut items = rlp_items(&body[..header.payload_length]);
    edit(&mut items);
    let payload: Vec<u8> = items.concat();
    let mut out = vec![raw[0]];
    alloy_rlp::Header {
        list: true,
        payload_length: payload.len(),
    }
    .encode(&mut out);
    out.extend(payload);
    out.into()
}

/// `value` as an RLP string with one leading zero byte (not canonical).
fn with_leading_zero(item: &[u8]) -> Vec<u8> {
    let mut bytes = item;
    let payload = alloy_rlp::Header::decode_bytes(&mut bytes, false).expect("string");
    let mut padded = vec![0u8];
    padded.extend_from_slice(payload);
    let mut out = Vec::new();
    alloy_rlp::Header {
        list: false,
        payload_length: padded.len(),
    }
    .encode(&mut out);
    out.extend(padded);
    out
}

/// What a transaction start must do with a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Skipped: the state does not change.
    Skip,
    /// A plain transfer, executed by the step.
    Transfer,
    /// Runs EVM code (`IN_TX`).
    Evm,
}

/// The reference: derivation's stateless checks (a transaction failing them is dropped) and
/// `execute_block` + `StateCommitment`, block by block.
pub(super) struct Reference {
    chain: ChainConfig,
    pub(super) state: WorldState,
    commitment: StateCommitment,
    head: Header,
    head_hash: B256,
    timestamp: u64,
}

impl Reference {
    pub(super) fn new(genesis: &Genesis) -> Self {
        let mut state = genesis.state();
        let mut commitment = StateCommitment::from_state(&state);
        let head = genesis_header(&genesis.config, genesis.timestamp, commitment.root());
        let head_hash = head.hash_slow();
        state.record_block_hash(0, head_hash);
        Self {
            chain: genesis.config.clone(),
            state,
            commitment,
            head,
            head_hash,
            timestamp: genesis.timestamp,
        }
    }

    /// Executes `blocks` (one list of raw transactions each); returns the batch's input items
    /// and what it sealed (the state root and hash of each block).
    pub(super) fn run(&mut self, blocks: Vec<Vec<Bytes>>) -> (Vec<InputItem>, Sealed) {
        let batch = Batch {
            parent_hash: self.head_hash,
            first_block: self.head.number + 1,
            blocks: blocks
                .into_iter()
                .map(|transactions| {
                    self.timestamp += 2;
                    BatchBlock {
                        timestamp: self.timestamp,
                        l1_origin: L1Origin {
                            number: 7,
                            hash: B256::repeat_byte(7),
                        },
                        transactions,
                    }
                })
                .collect(),
        };
        let before = hashes_before(&self.state, batch.first_block);
        let mut headers = Vec::new();
        let mut hashes = Vec::new();
        for block in &batch.blocks {
            let input = next_block_input(&self.chain, &self.head, self.head_hash, block.timestamp);
            let txs = block
                .transactions
                .iter()
                .filter_map(|raw| decode_and_check(raw, &self.chain).ok())
                .collect();
            let outcome = execute_block(&self.state, &self.chain, &input, txs).expect("executes");
            self.commitment.apply(&outcome.changes);
            self.state.apply(&outcome.changes);
            let root = self.commitment.root();
            let sealed = seal_block(self.head_hash, &input, outcome, root, block.l1_origin);
            self.state.record_block_hash(sealed.number(), sealed.hash);
            hashes.push((sealed.number(), sealed.hash));
            self.head = sealed.header.clone();
            self.head_hash = sealed.hash;
            headers.push(sealed.header);
        }
        let items = batch_inputs(&batch, &headers, &before).expect("one header per block");
        let roots = headers.iter().map(|h| h.state_root).collect();
        (items, Sealed { roots, hashes })
    }
}

/// What a batch sealed: the state root after each block and each block's hash.
pub(super) struct Sealed {
    pub(super) roots: Vec<B256>,
    pub(super) hashes: Vec<(u64, B256)>,
}

/// The hashes of the (up to 256) blocks before `first` that `state` recorded, oldest first.
pub(super) fn hashes_before(state: &WorldState, first: u64) -> Vec<B256> {
    (first.saturating_sub(256)..first)
        .map(|m| state.block_hash(m).expect("in memory"))
        .collect()
}

/// Runs `items` through a trace on `pre` (plus the batch's own block hashes, which its later
/// blocks' BLOCKHASH reaches) and checks it against the reference's roots.
pub(super) fn checked_trace(mut pre: WorldState, items: Vec<InputItem>, sealed: &Sealed) -> Trace {
    pre.extend_block_hashes(sealed.hashes.iter().copied());
    let roots = &sealed.roots;
    let prev_root = StateCommitment::from_state(&pre).root();
    let inputs = inputs_root(&items);
    let trace = Trace::new(pre, chain(), items).expect("trace");
    assert_eq!(
        trace.state_hash_at(0),
        MachineState::initial(prev_root, inputs).hash()
    );
    assert_eq!(trace.block_roots(), roots, "state root after each block");
    let post = *roots.last().expect("a block");
    assert_eq!(trace.post_state_root(), post);
    assert_eq!(
        trace.state_hash_at(LAST_INDEX),
        MachineState::finished(post).hash()
    );
    assert_eq!(
        trace.state_hash_at(trace.len()),
        trace.state_hash_at(LAST_INDEX)
    );
    trace
}

// ---------------------------------------------------------------------------
// Random batches against the deriver

/// A deterministic xorshift generator (also the EVM step fuzzer's).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Wallet {
    key: PrivateKeySigner,
    nonce: u64,
}

/// One random transaction from `wallets[from]`.
fn random_tx(rng: &mut Rng, wallets: &mut [Wallet], from: usize) -> Bytes {
    let sender = wallets[from].key.address();
    let fresh_to = Address::from_word(keccak256(rng.next().to_be_bytes()));
    let some_wallet = wallets[rng.below(wallets.len() as u64) as usize]
        .key
        .address();
    let (to, gas, input) = match rng.below(20) {
        0..=10 => (call(some_wallet), 21_000, Bytes::new()),
        11 => (call(fresh_to), 21_000, Bytes::new()),
        12 => (call(sender), 21_000, Bytes::new()),
        13 => {
            let data: Bytes = (0..rng.below(120)).map(|_| rng.next() as u8).collect();
            let gas = 21_000 + 40 * data.len() as u64;
            (call(some_wallet), gas, data)
        }
        14 | 15 => (call(STORE), 60_000, Bytes::new()),
        16 => (call(REVERT), 40_000, Bytes::new()),
        17 => (call(PAY_COINBASE), 60_000, Bytes::new()),
        18 => (call(IDENTITY), 40_000, Bytes::from_static(&[1, 2, 3])),
        _ => (
            TxKind::Create,
            100_000,
            Bytes::from(hex::decode("6004600c60003960046000f334335500").expect("hex")),
        ),
    };
    let gas = gas + 1000 * rng.below(3);
    let value = match rng.below(4) {
        0 => 0,
        1 => rng.below(1000) as u128,
        _ => rng.below(1 << 40) as u128 * GWEI,
    };
    // A nonce gap now and then (the transaction is skipped).
    let nonce = if rng.below(25) == 0 {
        wallets[from].nonce + 1
    } else {
        wallets[from].nonce
    };
    let key = &wallets[from].key;
    let raw = match rng.below(3) {
        0 => sign(key, legacy(nonce, to, value, gas, input)),
        1 => sign(key, eip2930(nonce, to, value, gas + 2400 + 3800, input)),
        _ => {
            let mut tx = eip1559(nonce, to, value, gas, input);
            tx.max_priority_fee_per_gas = u128::from(rng.below(3)) * GWEI / 2;
            sign(key, tx)
        }
    };
    if nonce == wallets[from].nonce {
        wallets[from].nonce += 1;
    }
    raw
}

#[test]
fn random_batches_end_in_the_roots_the_deriver_computes() {
    let genesis = genesis();
    let mut deriver = Deriver::from_genesis(&genesis);
    let mut rng = Rng(0x2545f4914f6cdd1d);
    let mut wallets: Vec<Wallet> = (0..10)
        .map(|i| Wallet {
            key: dev(i),
            nonce: 0,
        })
        .chain((0..12).map(|i| Wallet {
            key: fresh(&format!("wallet {i}")),
            nonce: 0,
        }))
        .collect();
    let mut timestamp = 0;
    let mut checked_steps = 0;
    for batch_number in 0..4 {
        let (head, head_hash) = deriver.head();
        let (first_block, parent_hash) = (head.number + 1, head_hash);
        let mut blocks = Vec::new();
        if batch_number == 0 {
            // The dev accounts fund the fresh wallets.
            let transactions = (10..wallets.len())
                .map(|i| {
                    let to = wallets[i].key.address();
                    let from = &mut wallets[i % 10];
                    from.nonce += 1;
                    let value = 100 * 1_000_000_000 * GWEI;
                    sign(
                        &from.key,
                        eip1559(from.nonce - 1, call(to), value, 21_000, Bytes::new()),
                    )
                })
                .collect();
            timestamp += 1;
            blocks.push(BatchBlock {
                timestamp,
                l1_origin: L1Origin::default(),
                transactions,
            });
        }
        for _ in 0..4 {
            timestamp += 1 + rng.below(3);
            let count = rng.below(16);
            let transactions = (0..count)
                .map(|_| {
                    // The fresh wallets are funded by the dev accounts in the first batch.
                    let from = if batch_number == 0 {
                        rng.below(10) as usize
                    } else {
                        rng.below(wallets.len() as u64) as usize
                    };
                    random_tx(&mut rng, &mut wallets, from)
                })
                .collect();
            blocks.push(BatchBlock {
                timestamp,
                l1_origin: L1Origin::default(),
                transactions,
            });
        }
        let batch = Batch {
            parent_hash,
            first_block,
            blocks,
        };
        let pre = deriver.state().clone();
        let before = hashes_before(&pre, first_block);
        let derived = deriver.apply_batch(&batch).expect("a valid batch");
        let headers: Vec<Header> = derived.iter().map(|d| d.block.header.clone()).collect();
        let roots = Sealed {
            roots: headers.iter().map(|h| h.state_root).collect(),
            hashes: derived
                .iter()
                .map(|d| (d.block.number(), d.block.hash))
                .collect(),
        };
        let items = batch_inputs(&batch, &headers, &before).expect("items");
        let trace = checked_trace(pre, items, &roots);
        // Every step's witness re-executes to the recorded hashes.
        for step in trace.steps() {
            let step = step.expect("step");
            assert_eq!(step.pre.hash(), trace.state_hash_at(step.index));
            assert_eq!(step.post.hash(), trace.state_hash_at(step.index + 1));
            checked_steps += 1;
        }
        let k = rng.below(trace.len());
        let (pre_state, _) = trace.witness_at(k).expect("witness");
        assert_eq!(keccak256(&pre_state), trace.state_hash_at(k));
    }
    assert!(checked_steps > 100, "{checked_steps} steps");
}

// ---------------------------------------------------------------------------
// Fixtures for the Solidity verifier

/// The transactions of the hand-made batches and what their start step must do.
#[derive(Default)]
struct Blocks {
    blocks: Vec<Vec<Bytes>>,
    outcomes: Vec<Outcome>,
}

impl Blocks {
    fn block(&mut self) {
        self.blocks.push(Vec::new());
    }

    fn tx(&mut self, raw: Bytes, outcome: Outcome) {
        self.blocks.last_mut().expect("a block").push(raw);
        self.outcomes.push(outcome);
    }
}

/// Hand-made batches: every transaction type, every kind of skip, EVM transactions.
fn scenario_batches() -> Vec<Blocks> {
    use Outcome::*;
    let gas = 21_000;
    let eth = 1_000_000_000 * GWEI;
    let x = fresh("x");
    let mut batches = Vec::new();

    // Batch 1: transfers.
    let mut b = Blocks::default();
    b.block();
    b.tx(
        sign(
            &dev(0),
            eip1559(0, call(x.address()), eth, gas, Bytes::new()),
        ),
        Transfer,
    );
    b.tx(
        sign(
            &dev(1),
            legacy(0, call(DEV_ADDRESSES[2]), 5, gas, Bytes::new()),
        ),
        Transfer,
    );
    b.tx(
        sign(
            &dev(2),
            eip2930(
                0,
                call(fresh("y").address()),
                7,
                40_000,
                Bytes::from_static(&[0, 1, 0, 2]),
            ),
        ),
        Transfer,
    );
    // Zero value to a missing account: it stays missing.
    b.tx(
        sign(
            &dev(3),
            eip1559(0, call(fresh("z").address()), 0, gas, Bytes::new()),
        ),
        Transfer,
    );
    // Self-transfer.
    b.tx(
        sign(
            &dev(4),
            eip1559(0, call(DEV_ADDRESSES[4]), 3 * eth, gas, Bytes::new()),
        ),
        Transfer,
    );
    // The fee vault sends (sender == beneficiary) and receives.
    b.tx(
        sign(
            &dev(9),
            eip1559(0, call(DEV_ADDRESSES[0]), 11, 30_000, Bytes::new()),
        ),
        Transfer,
    );
    b.tx(
        sign(
            &dev(5),
            legacy(0, call(DEV_ADDRESSES[9]), 13, gas, Bytes::new()),
        ),
        Transfer,
    );
    // Zero value to an existing empty account: it is deleted (EIP-161).
    b.tx(
        sign(&dev(6), eip1559(0, call(EMPTY), 0, gas, Bytes::new())),
        Transfer,
    );
    // Priority fee zero: the beneficiary gets nothing.
    let mut no_tip = eip1559(1, call(DEV_ADDRESSES[7]), 1, gas, Bytes::new());
    no_tip.max_priority_fee_per_gas = 0;
    b.tx(sign(&dev(6), no_tip), Transfer);
    b.block(); // an empty block
    b.block();
    // Calldata under the EIP-7623 floor: 100 non-zero bytes, intrinsic 22600, floor 25000.
    let data = Bytes::from(vec![0xff; 100]);
    b.tx(
        sign(
            &dev(1),
            eip1559(1, call(DEV_ADDRESSES[3]), 1, 30_000, data.clone()),
        ),
        Transfer,
    );
    b.tx(
        sign(
            &x,
            legacy(0, call(DEV_ADDRESSES[8]), eth / 2, gas, Bytes::new()),
        ),
        Transfer,
    );
    batches.push(b);

    // Batch 2: skips.
    let mut b = Blocks::default();
    b.block();
    b.tx(
        sign(
            &x,
            eip1559(1, call(DEV_ADDRESSES[8]), 2 * eth, gas, Bytes::new()),
        ),
        Skip,
    ); // balance
    b.tx(
        sign(
            &dev(0),
            eip1559(9, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new()),
        ),
        Skip,
    ); // nonce gap
    b.tx(
        sign(
            &dev(0),
            eip1559(0, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new()),
        ),
        Skip,
    ); // nonce reused
    let mut other_chain = eip1559(1, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new());
    other_chain.chain_id = 1;
    b.tx(sign(&dev(0), other_chain), Skip);
    let mut pre_155 = legacy(1, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new());
    pre_155.chain_id = None;
    b.tx(sign(&dev(0), pre_155), Skip);
    let mut below_base_fee = eip1559(1, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new());
    below_base_fee.max_fee_per_gas = 1;
    below_base_fee.max_priority_fee_per_gas = 1;
    b.tx(sign(&dev(0), below_base_fee), Skip);
    let mut cheap_legacy = legacy(1, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new());
    cheap_legacy.gas_price = 1;
    b.tx(sign(&dev(0), cheap_legacy), Skip);
    let mut tip_above_cap = eip1559(1, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new());
    tip_above_cap.max_priority_fee_per_gas = 4 * GWEI;
    b.tx(sign(&dev(0), tip_above_cap), Skip);
    b.tx(
        sign(
            &dev(0),
            eip1559(1, call(DEV_ADDRESSES[1]), 1, gas - 1, Bytes::new()),
        ),
        Skip,
    ); // intrinsic
    b.tx(
        sign(
            &dev(0),
            eip1559(1, call(DEV_ADDRESSES[1]), 1, 23_000, data.clone()),
        ),
        Skip,
    ); // floor
    b.tx(
        sign(
            &dev(0),
            eip1559(u64::MAX, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new()),
        ),
        Skip,
    );
    // A high-s signature (the same signer recovers from it).
    let valid = eip1559(1, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new());
    let mut unsigned = valid.clone();
    let sig = dev(0).sign_transaction_sync(&mut unsigned).expect("sign");
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .expect("n");
    let high_s = Signature::new(sig.r(), n - sig.s(), !sig.v());
    b.tx(encode(valid.clone(), high_s), Skip);
    // Not transactions, or not one this chain runs.
    b.tx(Bytes::from_static(&[0xde, 0xad]), Skip);
    b.tx(Bytes::new(), Skip);
    b.tx(Bytes::from_static(&[0x03, 0xc0]), Skip);
    let mut typed_zero = vec![0u8];
    typed_zero.extend_from_slice(&sign(
        &dev(0),
        legacy(1, call(DEV_ADDRESSES[1]), 1, gas, Bytes::new()),
    ));
    b.tx(typed_zero.into(), Skip);
    // Valid transactions made undecodable: a lenient decoder would run them.
    let good = sign(&dev(0), valid.clone());
    let mut trailing = good.to_vec();
    trailing.push(0);
    b.tx(trailing.into(), Skip);
    b.tx(
        reencode_typed(&good, |items| items[10] = with_leading_zero(&items[10])),
        Skip,
    ); // r
    b.tx(
        reencode_typed(&good, |items| {
            items[9] = if items[9] == [0x80] {
                vec![0x00]
            } else {
                vec![0x81, 0x01]
            }
        }),
        Skip,
    ); // yParity
    b.tx(
        reencode_typed(&good, |items| items[8] = vec![0xf8, 0x00]),
        Skip,
    ); // access list
    b.tx(reencode_typed(&good, |items| items.push(vec![0x80])), Skip); // an extra field
    let mut no_auth = TxEip7702 {
        chain_id: chain().chain_id,
        nonce: 1,
        gas_limit: 100_000,
        max_fee_per_gas: 3 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: STORE,
        ..Default::default()
    };
    b.tx(sign(&dev(0), no_auth.clone()), Skip);
    // Not part of the chain (core/src/tx.rs `check_provable`): a transaction straight to MODEXP,
    // an EIP-7702 one to ECRECOVER, an access list of 65 entries.
    b.tx(
        sign(
            &dev(0),
            eip1559(
                1,
                call(Address::with_last_byte(5)),
                0,
                100_000,
                Bytes::new(),
            ),
        ),
        Skip,
    );
    let to_ecrecover = Authorization {
        chain_id: U256::from(chain().chain_id),
        address: STORE,
        nonce: 2,
    };
    let signature = dev(0)
        .sign_hash_sync(&to_ecrecover.signature_hash())
        .expect("sign");
    b.tx(
        sign(
            &dev(0),
            TxEip7702 {
                to: Address::with_last_byte(1),
                authorization_list: vec![to_ecrecover.into_signed(signature)],
                ..no_auth.clone()
            },
        ),
        Skip,
    );
    let mut long_list = eip1559(1, call(STORE), 0, 300_000, Bytes::new());
    long_list.access_list = AccessList(vec![AccessListItem {
        address: STORE,
        storage_keys: (0..64u8).map(B256::with_last_byte).collect(),
    }]);
    b.tx(sign(&dev(0), long_list), Skip);
    // Init code above EIP-3860's limit, and a transaction above 128 KiB.
    let init = Bytes::from(vec![0u8; 0xc001]);
    b.tx(
        sign(&dev(0), eip1559(1, TxKind::Create, 0, 600_000, init)),
        Skip,
    );
    let huge = Bytes::from(vec![0u8; 128 * 1024]);
    b.tx(
        sign(
            &dev(0),
            eip1559(1, call(DEV_ADDRESSES[1]), 0, 1_400_000, huge),
        ),
        Skip,
    );
    // After all these, the valid one still goes through.
    b.tx(good, Transfer);
    // More gas than the block has left.
    b.tx(
        sign(
            &dev(0),
            eip1559(2, call(DEV_ADDRESSES[1]), 1, 30_000_000, Bytes::new()),
        ),
        Skip,
    );
    batches.push(b);

    // Batch 3: EVM transactions.
    let mut b = Blocks::default();
    b.block();
    b.tx(
        sign(&dev(1), eip1559(2, call(STORE), 17, 60_000, Bytes::new())),
        Evm,
    );
    b.tx(
        sign(&dev(0), eip1559(2, call(STORE), 0, 60_000, Bytes::new())),
        Evm,
    ); // refund
    b.tx(
        sign(&dev(2), legacy(1, call(REVERT), 19, 40_000, Bytes::new())),
        Evm,
    );
    b.tx(
        sign(
            &dev(3),
            eip2930(1, call(PAY_COINBASE), 23, 80_000, Bytes::new()),
        ),
        Evm,
    );
    b.tx(
        sign(
            &dev(4),
            eip1559(1, call(IDENTITY), 29, 40_000, Bytes::from_static(&[1, 2])),
        ),
        Evm,
    );
    let init = Bytes::from(hex::decode("6004600c60003960046000f334335500").expect("hex"));
    b.tx(
        sign(&dev(5), eip1559(1, TxKind::Create, 31, 100_000, init)),
        Evm,
    );
    // dev 5 makes dev 6 delegate to STORE (EIP-7702).
    let auth = Authorization {
        chain_id: U256::from(chain().chain_id),
        address: STORE,
        nonce: 2,
    };
    let auth_sig = dev(6).sign_hash_sync(&auth.signature_hash()).expect("sign");
    no_auth.nonce = 2;
    no_auth.authorization_list = vec![auth.into_signed(auth_sig)];
    no_auth.to = DEV_ADDRESSES[6];
    b.tx(sign(&dev(5), no_auth), Evm);
    b.block();
    // A delegated sender still sends; a delegated recipient runs code.
    b.tx(
        sign(
            &dev(6),
            eip1559(3, call(DEV_ADDRESSES[7]), 37, gas, Bytes::new()),
        ),
        Transfer,
    );
    b.tx(
        sign(
            &dev(7),
            eip1559(0, call(DEV_ADDRESSES[6]), 41, 60_000, Bytes::new()),
        ),
        Evm,
    );
    // A value transfer to a precompile.
    b.tx(
        sign(&dev(8), legacy(0, call(IDENTITY), 43, 40_000, Bytes::new())),
        Evm,
    );
    batches.push(b);
    batches
}

/// A `StepKind` as the Solidity test names it.
fn kind_code(kind: StepKind) -> u8 {
    match kind {
        StepKind::Finished => 0,
        StepKind::BlockStart => 1,
        StepKind::BlockEnd => 2,
        StepKind::TxStart => 3,
        StepKind::Evm => 4,
        StepKind::TxEnd => 5,
    }
}

#[derive(Default)]
struct Fixtures {
    /// Index of the first step over the large state.
    big_state_from: usize,
    kinds: Vec<u8>,
    pres: Vec<String>,
    proofs: Vec<String>,
    posts: Vec<String>,
    /// Raw transactions for the decoder alone, and `abi.encode(TxDecoder.Tx)` of each (empty
    /// when the decoder must refuse it).
    decode_raws: Vec<String>,
    decode_expected: Vec<String>,
}

impl Fixtures {
    fn push(&mut self, kind: StepKind, pre: &MachineState, proof: &[u8], post: &MachineState) {
        self.kinds.push(kind_code(kind));
        self.pres.push(hex::encode_prefixed(pre.abi_encode()));
        self.proofs.push(hex::encode_prefixed(proof));
        self.posts.push(hex::encode_prefixed(post.abi_encode()));
    }

    fn add_trace(&mut self, trace: &Trace) -> Vec<(MachineState, MachineState)> {
        let mut starts = Vec::new();
        for step in trace.steps() {
            let step = step.expect("step");
            if step.kind == StepKind::TxStart {
                starts.push((step.pre.clone(), step.post.clone()));
            }
            self.push(step.kind, &step.pre, &step.proof, &step.post);
        }
        let finished = trace.step_at(trace.len()).expect("finished step");
        self.push(
            finished.kind,
            &finished.pre,
            &finished.proof,
            &finished.post,
        );
        starts
    }

    fn json(&self) -> String {
        let value = serde_json::json!({
            "chainId": chain().chain_id,
            "bigStateFrom": self.big_state_from,
            "kinds": self.kinds,
            "pres": self.pres,
            "proofs": self.proofs,
            "posts": self.posts,
            "decodeRaws": self.decode_raws,
            "decodeExpected": self.decode_expected,
        });
        serde_json::to_string_pretty(&value).expect("json") + "\n"
    }
}

#[test]
fn fixtures_of_the_solidity_verifier_are_up_to_date() {
    let mut reference = Reference::new(&genesis());
    let mut fixtures = Fixtures::default();
    let mut counts = [0usize; 6];
    for batch in scenario_batches() {
        let pre = reference.state.clone();
        let (items, roots) = reference.run(batch.blocks);
        let trace = checked_trace(pre, items, &roots);
        let starts = fixtures.add_trace(&trace);
        assert_eq!(starts.len(), batch.outcomes.len());
        for (i, ((pre, post), expected)) in starts.iter().zip(&batch.outcomes).enumerate() {
            let phase = post.phase().expect("a phase");
            match expected {
                Outcome::Skip => {
                    assert_eq!(phase, Phase::InBlock, "transaction {i} is skipped");
                    assert_eq!(post.stateRoot, pre.stateRoot, "transaction {i}");
                }
                Outcome::Transfer => assert_eq!(phase, Phase::TxExecuted, "transaction {i}"),
                Outcome::Evm => assert_eq!(phase, Phase::InTx, "transaction {i}"),
            }
        }
    }

    // Inputs that run out before the block's transactions do.
    let pre = reference.state.clone();
    let raw = sign(
        &dev(8),
        eip1559(1, call(DEV_ADDRESSES[0]), 47, 21_000, Bytes::new()),
    );
    let (mut items, roots) = reference.run(vec![vec![raw]]);
    let InputItem::Block(block) = &mut items[0] else {
        panic!("a block item first")
    };
    block.txCount = 3;
    let trace = checked_trace(pre, items, &roots);
    fixtures.add_trace(&trace);

    // A block over 100,000 accounts, for realistic proof sizes and gas.
    let mut big = genesis();
    for i in 0..100_000u64 {
        big.alloc.insert(
            Address::from_word(keccak256(i.to_be_bytes())),
            GenesisAccount {
                balance: U256::from(i + 1),
                ..Default::default()
            },
        );
    }
    let mut reference = Reference::new(&big);
    let pre = reference.state.clone();
    let existing = |i: u64| Address::from_word(keccak256(i.to_be_bytes()));
    let block = vec![
        sign(
            &dev(0),
            eip1559(0, call(existing(1)), 5, 21_000, Bytes::new()),
        ),
        sign(
            &dev(1),
            legacy(0, call(existing(2)), 0, 21_000, Bytes::new()),
        ),
        sign(
            &dev(2),
            eip1559(0, call(fresh("big").address()), 7, 21_000, Bytes::new()),
        ),
        sign(&dev(3), eip1559(0, call(STORE), 9, 60_000, Bytes::new())),
    ];
    let (items, roots) = reference.run(vec![block]);
    let trace = checked_trace(pre, items, &roots);
    fixtures.big_state_from = fixtures.kinds.len();
    fixtures.add_trace(&trace);

    for raw in decode_vectors() {
        fixtures.decode_raws.push(hex::encode_prefixed(&raw));
        fixtures.decode_expected.push(hex::encode_prefixed(
            expected_decode(&raw)
                .map(|t| t.abi_encode())
                .unwrap_or_default(),
        ));
    }
    let accepted = fixtures
        .decode_expected
        .iter()
        .filter(|e| e.len() > 2)
        .count();
    assert!(
        accepted > 20 && fixtures.decode_raws.len() - accepted > 60,
        "{accepted} accepted"
    );

    for kind in &fixtures.kinds {
        counts[*kind as usize] += 1;
    }
    assert!(
        counts.iter().all(|c| *c > 0),
        "every kind of step: {counts:?}"
    );

    let json = fixtures.json();
    assert!(json.len() < 2_000_000, "{} bytes", json.len());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/test/fixtures/steps.json"
    );
    if std::env::var_os("UPDATE_STEP_FIXTURES").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().expect("dir")).expect("dir");
        std::fs::write(path, &json).expect("write fixtures");
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == json,
        "{path} is not what the step machine generates; rerun with UPDATE_STEP_FIXTURES=1"
    );
}

// ---------------------------------------------------------------------------
// Scale

/// A few thousand transfers over 100,000 accounts: building the trace and a witness.
#[test]
#[ignore = "slow; run with --ignored to measure"]
fn trace_of_thousands_of_transfers_over_a_hundred_thousand_accounts() {
    let mut genesis = genesis();
    for i in 0..100_000u64 {
        let address = Address::from_word(keccak256(i.to_be_bytes()));
        genesis.alloc.insert(
            address,
            GenesisAccount {
                balance: U256::from(i + 1),
                ..Default::default()
            },
        );
    }
    let mut reference = Reference::new(&genesis);
    let mut rng = Rng(7);
    let mut nonces = [0u64; 10];
    let blocks: Vec<Vec<Bytes>> = (0..20)
        .map(|_| {
            (0..150)
                .map(|_| {
                    let from = rng.below(10) as usize;
                    let to = Address::from_word(keccak256(rng.below(120_000).to_be_bytes()));
                    nonces[from] += 1;
                    sign(
                        &dev(from),
                        eip1559(
                            nonces[from] - 1,
                            call(to),
                            1 + rng.below(1000) as u128,
                            21_000,
                            Bytes::new(),
                        ),
                    )
                })
                .collect()
        })
        .collect();
    let pre = reference.state.clone();
    let (items, roots) = reference.run(blocks);
    let started = Instant::now();
    let trace = checked_trace(pre, items, &roots);
    let built = started.elapsed();
    let started = Instant::now();
    for k in [trace.len() / 3, trace.len() / 2, trace.len() - 2] {
        trace.witness_at(k).expect("witness");
    }
    let witnesses = started.elapsed() / 3;
    eprintln!(
        "{} steps over {} accounts: trace in {built:?}, a witness in {witnesses:?}",
        trace.len(),
        reference.state.account_count()
    );
}

// ---------------------------------------------------------------------------
// The decoder alone

sol! {
    /// `TxDecoder.Tx`.
    struct DecodedTx {
        uint8 txType;
        uint64 nonce;
        uint64 gasLimit;
        uint256 maxFee;
        uint256 maxPriorityFee;
        bool isCreate;
        address to;
        uint256 value;
        uint256 dataLength;
        uint256 intrinsicGas;
        uint256 floorGas;
        address sender;
        bytes32 hash;
        uint256 accessListAddresses;
        uint256 accessListKeys;
    }
}

/// What `TxDecoder.decode(raw, chainId)` must return: alloy's decoding and derivation's
/// stateless checks but the block gas limit (the verifier checks it against the block).
fn expected_decode(raw: &[u8]) -> Option<DecodedTx> {
    let chain = ChainConfig {
        gas_limit: u64::MAX,
        ..chain()
    };
    if raw.len() > MAX_TX_BYTES {
        return None;
    }
    let tx = check_envelope(TxEnvelope::decode_2718_exact(raw).ok()?, &chain).ok()?;
    if let TxEnvelope::Eip7702(signed) = tx.inner()
        && signed.tx().authorization_list.is_empty()
    {
        return None;
    }
    let gas = calculate_initial_tx_gas_for_tx(tx_env(&tx), ChainConfig::SPEC, None);
    let inner = tx.inner();
    Some(DecodedTx {
        txType: inner.tx_type() as u8,
        nonce: inner.nonce(),
        gasLimit: inner.gas_limit(),
        maxFee: U256::from(inner.max_fee_per_gas()),
        maxPriorityFee: U256::from(inner.max_priority_fee_per_gas().unwrap_or_default()),
        isCreate: inner.kind().is_create(),
        to: inner.to().unwrap_or_default(),
        value: inner.value(),
        dataLength: U256::from(inner.input().len()),
        intrinsicGas: U256::from(gas.initial_regular_gas),
        floorGas: U256::from(gas.floor_gas),
        sender: tx.signer(),
        hash: keccak256(raw),
        accessListAddresses: U256::from(
            inner
                .access_list()
                .map(|list| list.len())
                .unwrap_or_default(),
        ),
        accessListKeys: U256::from(
            inner
                .access_list()
                .map(|list| {
                    list.iter()
                        .map(|item| item.storage_keys.len())
                        .sum::<usize>()
                })
                .unwrap_or_default(),
        ),
    })
}

/// Valid transactions of every type and shape, and mutations of them (most of which a strict
/// decoder refuses; a flipped signed field gives another sender).
fn decode_vectors() -> Vec<Bytes> {
    let data = Bytes::from_static(&[
        0, 0, 1, 0, 0xff, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 9,
    ]);
    let auth = |nonce: u64, chain_id: u64| {
        let auth = Authorization {
            chain_id: U256::from(chain_id),
            address: STORE,
            nonce,
        };
        let sig = dev(3).sign_hash_sync(&auth.signature_hash()).expect("sign");
        auth.into_signed(sig)
    };
    let mut big = eip1559(u64::MAX - 1, call(STORE), 0, 1_000_000, data.clone());
    big.value = U256::MAX;
    big.max_fee_per_gas = u128::MAX;
    big.max_priority_fee_per_gas = u128::MAX - 1;
    let bases = vec![
        sign(&dev(0), legacy(0, call(STORE), 1, 21_000, Bytes::new())),
        sign(
            &dev(1),
            legacy(300, TxKind::Create, 0, 200_000, data.clone()),
        ),
        sign(
            &dev(2),
            eip2930(1, call(DEV_ADDRESSES[1]), 1 << 40, 60_000, data.clone()),
        ),
        sign(
            &dev(3),
            eip1559(70_000, call(IDENTITY), 5, 50_000, data.clone()),
        ),
        sign(
            &dev(4),
            eip1559(2, TxKind::Create, 0, 100_000, data.clone()),
        ),
        sign(&dev(5), big),
        sign(
            &dev(6),
            TxEip7702 {
                chain_id: chain().chain_id,
                nonce: 4,
                gas_limit: 200_000,
                max_fee_per_gas: 3 * GWEI,
                max_priority_fee_per_gas: GWEI,
                to: STORE,
                value: U256::from(3),
                access_list: eip2930(0, call(STORE), 0, 0, Bytes::new()).access_list,
                authorization_list: vec![auth(0, 0), auth(9, chain().chain_id)],
                input: data.clone(),
            },
        ),
    ];
    let mut rng = Rng(0xdecade);
    let mut out = vec![
        Bytes::new(),
        Bytes::from_static(&[0x00]),
        Bytes::from_static(&[0x80]),
        Bytes::from_static(&[0xc0]),
        Bytes::from_static(&[0x01, 0xc0]),
        Bytes::from_static(&[0x05, 0xc0]),
    ];
    for base in bases {
        assert!(TxEnvelope::decode_2718_exact(&base).is_ok());
        out.push(base.clone());
        for _ in 0..14 {
            let mut raw = base.to_vec();
            let i = rng.below(raw.len() as u64) as usize;
            raw[i] ^= 1 << rng.below(8);
            out.push(raw.into());
        }
        for _ in 0..3 {
            let cut = rng.below(base.len() as u64) as usize;
            out.push(base.slice(..cut));
        }
        for _ in 0..3 {
            let mut raw = base.to_vec();
            let i = rng.below(raw.len() as u64 + 1) as usize;
            raw.insert(i, rng.next() as u8);
            out.push(raw.into());
        }
        for _ in 0..2 {
            let mut raw = base.to_vec();
            raw.remove(rng.below(raw.len() as u64) as usize);
            out.push(raw.into());
        }
    }
    out
}
