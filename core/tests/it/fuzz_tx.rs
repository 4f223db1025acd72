//! Fuzzing of transaction intake (`rollup_core::tx::decode_and_check`): random bytes, and
//! mutated valid signed transactions of every type (legacy with EIP-155, EIP-2930, EIP-1559,
//! EIP-7702). Intake never panics; a valid transaction is accepted with its signer and
//! re-encodes to its own bytes; a mutated one is either refused with an [`IntakeError`] or
//! decodes to a transaction that re-encodes to exactly the mutated bytes (no malleability).
//!
//! The case count of every fuzz target in this crate comes from `ROLLUP_FUZZ_CASES` ([`cases`]):
//! small by default, so that `cargo test` runs each target in seconds;
//! `anvil-scripts/fuzz.sh` sets it to 100,000 for the long run.

use alloy_consensus::{
    SignableTransaction, Signed, Transaction, TxEip1559, TxEip2930, TxEip7702, TxEnvelope, TxLegacy,
};
use alloy_eips::{
    eip2718::Encodable2718,
    eip2930::{AccessList, AccessListItem},
    eip7702::Authorization,
};
use alloy_network::TxSignerSync;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use proptest::prelude::*;
use rollup_core::{
    chain::{ChainConfig, DEV_PRIVATE_KEYS},
    tx::{IntakeError, MAX_TX_BYTES, decode_and_check},
};

/// The case count of a fuzz target: `ROLLUP_FUZZ_CASES` when set (the long run), else
/// `default` (the bounded run inside `cargo test`).
pub(crate) fn cases(default: u32) -> u32 {
    match std::env::var("ROLLUP_FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("ROLLUP_FUZZ_CASES must be a number, got {v:?}")),
        Err(_) => default,
    }
}

/// A proptest configuration with [`cases`] cases.
pub(crate) fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        ..ProptestConfig::default()
    }
}

fn chain() -> ChainConfig {
    ChainConfig::default()
}

fn signer(i: usize) -> PrivateKeySigner {
    DEV_PRIVATE_KEYS[i].parse().expect("dev key")
}

fn sign<T: SignableTransaction<Signature>>(key: &PrivateKeySigner, mut tx: T) -> Bytes
where
    TxEnvelope: From<Signed<T>>,
{
    let sig = key.sign_transaction_sync(&mut tx).expect("sign");
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
}

/// The fields of a transaction that intake accepts (before the signature).
#[derive(Clone, Debug)]
struct Fields {
    kind: u8,
    key: usize,
    nonce: u64,
    fee: u128,
    tip: u128,
    gas_limit: u64,
    to: Option<Address>,
    value: U256,
    input: Vec<u8>,
    access_list: AccessList,
    auths: Vec<(U256, Address, u64)>,
}

fn arb_access_list() -> impl Strategy<Value = AccessList> {
    prop::collection::vec(
        (
            any::<[u8; 20]>(),
            prop::collection::vec(any::<[u8; 32]>(), 0..3),
        )
            .prop_map(|(address, keys)| AccessListItem {
                address: address.into(),
                storage_keys: keys.into_iter().map(B256::from).collect(),
            }),
        0..3,
    )
    .prop_map(AccessList)
}

prop_compose! {
    fn arb_fields()(
        kind in 0u8..4,
        key in 0usize..10,
        nonce in prop_oneof![0u64..100, 0u64..u64::MAX],
        fee in prop_oneof![Just(1_000_000_000u128), 1u128..u128::from(u64::MAX), any::<u128>()],
        tip_share in 0u128..=100,
        // Above any intrinsic cost generated here (input under 200 bytes, a few access list
        // entries and authorizations), under the block gas limit.
        gas_limit in 1_000_000u64..=30_000_000,
        to in prop::option::weighted(0.9, any::<[u8; 20]>().prop_map(Address::from)),
        value in prop_oneof![Just(U256::ZERO), any::<u64>().prop_map(U256::from), any::<[u8; 32]>().prop_map(U256::from_be_bytes)],
        input in prop::collection::vec(any::<u8>(), 0..200),
        access_list in arb_access_list(),
        auths in prop::collection::vec(
            (prop_oneof![Just(U256::from(42069u64)), Just(U256::ZERO), any::<u64>().prop_map(U256::from)],
             any::<[u8; 20]>().prop_map(Address::from),
             any::<u64>()),
            1..3,
        ),
    ) -> Fields {
        Fields { kind, key, nonce, fee, tip: fee / 100 * tip_share, gas_limit, to, value, input, access_list, auths }
    }
}

/// A transaction of `f.kind` (0 legacy, 1 EIP-2930, 2 EIP-1559, 3 EIP-7702), signed by dev key
/// `f.key`, that intake accepts.
fn signed(f: &Fields) -> Bytes {
    let key = signer(f.key);
    let chain_id = chain().chain_id;
    let to = f.to.map_or(TxKind::Create, TxKind::Call);
    let input = Bytes::from(f.input.clone());
    match f.kind {
        0 => sign(
            &key,
            TxLegacy {
                chain_id: Some(chain_id),
                nonce: f.nonce,
                gas_price: f.fee,
                gas_limit: f.gas_limit,
                to,
                value: f.value,
                input,
            },
        ),
        1 => sign(
            &key,
            TxEip2930 {
                chain_id,
                nonce: f.nonce,
                gas_price: f.fee,
                gas_limit: f.gas_limit,
                to,
                value: f.value,
                access_list: f.access_list.clone(),
                input,
            },
        ),
        2 => sign(
            &key,
            TxEip1559 {
                chain_id,
                nonce: f.nonce,
                gas_limit: f.gas_limit,
                max_fee_per_gas: f.fee,
                max_priority_fee_per_gas: f.tip,
                to,
                value: f.value,
                access_list: f.access_list.clone(),
                input,
            },
        ),
        _ => {
            let authorization_list = f
                .auths
                .iter()
                .map(|&(chain_id, address, nonce)| {
                    let auth = Authorization {
                        chain_id,
                        address,
                        nonce,
                    };
                    let sig = key.sign_hash_sync(&auth.signature_hash()).expect("sign");
                    auth.into_signed(sig)
                })
                .collect();
            sign(
                &key,
                TxEip7702 {
                    chain_id,
                    nonce: f.nonce,
                    gas_limit: f.gas_limit,
                    max_fee_per_gas: f.fee,
                    max_priority_fee_per_gas: f.tip,
                    to: f.to.unwrap_or_default(),
                    value: f.value,
                    access_list: f.access_list.clone(),
                    authorization_list,
                    input,
                },
            )
        }
    }
}

/// A change to a byte string.
#[derive(Clone, Debug)]
pub(crate) enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    /// Adds `delta` to the byte (RLP headers and lengths off by a little).
    Nudge(usize, i8),
    /// Copies a range of the bytes over another place.
    Splice(usize, usize, usize),
}

/// One to three mutations.
pub(crate) fn arb_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(
        prop_oneof![
            4 => (any::<usize>(), 0u8..8).prop_map(|(i, bit)| Mutation::Flip(i, 1 << bit)),
            2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
            2 => (any::<usize>(), -2i8..=2).prop_map(|(i, d)| Mutation::Nudge(i, d)),
            1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
            1 => any::<usize>().prop_map(Mutation::Delete),
            1 => any::<usize>().prop_map(Mutation::Truncate),
            1 => (any::<usize>(), any::<usize>(), 1usize..40).prop_map(|(a, b, n)| Mutation::Splice(a, b, n)),
        ],
        1..4,
    )
}

/// Applies `mutations` to `data` (indices modulo the current length).
pub(crate) fn mutate(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = data.len();
        match *m {
            Mutation::Flip(i, bit) if n > 0 => data[i % n] ^= bit,
            Mutation::Set(i, b) if n > 0 => data[i % n] = b,
            Mutation::Nudge(i, d) if n > 0 => data[i % n] = data[i % n].wrapping_add_signed(d),
            Mutation::Insert(i, b) => data.insert(i % (n + 1), b),
            Mutation::Delete(i) if n > 0 => {
                data.remove(i % n);
            }
            Mutation::Truncate(i) => data.truncate(i % (n + 1)),
            Mutation::Splice(from, to, len) if n > 0 => {
                let from = from % n;
                let to = to % n;
                let len = len.min(n - from).min(n - to);
                data.copy_within(from..from + len, to);
            }
            _ => {}
        }
    }
    data
}

/// Intake of any bytes: an error, or a transaction that re-encodes to exactly these bytes, whose
/// hash is theirs and whose sender recovers again to the same address.
fn check_intake(raw: &[u8]) -> Result<Option<Address>, TestCaseError> {
    match decode_and_check(raw, &chain()) {
        Err(e) => {
            // Every refusal reads as a message.
            prop_assert!(!e.to_string().is_empty());
            if raw.len() > MAX_TX_BYTES {
                prop_assert_eq!(e, IntakeError::Oversized);
            }
            Ok(None)
        }
        Ok(recovered) => {
            let tx = recovered.inner();
            prop_assert_eq!(
                tx.encoded_2718(),
                raw.to_vec(),
                "accepted bytes are not the canonical encoding"
            );
            prop_assert_eq!(*tx.tx_hash(), keccak256(raw));
            prop_assert_eq!(tx.chain_id(), Some(chain().chain_id));
            prop_assert!(!tx.is_eip4844());
            prop_assert!(tx.gas_limit() <= chain().gas_limit);
            // Deterministic: the same bytes give the same sender.
            let again = decode_and_check(raw, &chain()).expect("accepted once, accepted again");
            prop_assert_eq!(again.signer(), recovered.signer());
            Ok(Some(recovered.signer()))
        }
    }
}

/// Random bytes behind a likely header: a transaction type and an RLP list header.
fn arb_framed_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(None), (0u8..6).prop_map(Some), Just(Some(0x7f))],
        prop_oneof![Just(None), (0xc0u8..=0xff).prop_map(Some)],
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(ty, list, rest)| {
            let mut out = Vec::with_capacity(rest.len() + 2);
            out.extend(ty);
            out.extend(list);
            out.extend(rest);
            out
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn fuzz_tx_valid_transactions_round_trip(f in arb_fields()) {
        let raw = signed(&f);
        let sender = check_intake(&raw)?;
        prop_assert_eq!(sender, Some(signer(f.key).address()), "a valid transaction was refused or has another sender");
    }

    #[test]
    fn fuzz_tx_mutated_transactions_never_panic(f in arb_fields(), mutations in arb_mutations()) {
        let raw = signed(&f);
        let mutated = mutate(raw.to_vec(), &mutations);
        check_intake(&mutated)?;
    }

    #[test]
    fn fuzz_tx_random_bytes_never_panic(data in arb_framed_bytes()) {
        check_intake(&data)?;
    }
}

#[test]
fn fuzz_tx_oversized_is_refused_before_decoding() {
    let raw = vec![0x02; MAX_TX_BYTES + 1];
    assert_eq!(
        decode_and_check(&raw, &chain()).unwrap_err(),
        IntakeError::Oversized
    );
}
