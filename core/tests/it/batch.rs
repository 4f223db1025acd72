//! The batch codec: round trips on realistic and random batches, robustness
//! against mutated and random input, and one test per error variant.
//!
//! The body is rebuilt here from `docs/batch-format.md` (a header, then 24
//! length-prefixed columns), independently of the implementation, so that the
//! tests can forge every kind of malformed body.

use alloy_consensus::{
    SignableTransaction, Signed, TxEip1559, TxEip2930, TxEip4844, TxEip7702, TxEnvelope, TxLegacy,
};
use alloy_eips::{
    eip2718::Encodable2718,
    eip2930::{AccessList, AccessListItem},
    eip7702::{Authorization, SignedAuthorization},
};
use alloy_network::TxSignerSync;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use proptest::prelude::*;
use rollup_core::{
    batch::{
        BATCH_VERSION, Batch, BatchBlock, BatchDecodeError, BatchEncodeError, L1Origin,
        MAX_BLOCKS_PER_BATCH, MAX_BODY_BYTES, MAX_TX_BYTES, MAX_TXS_PER_BATCH, decode_batch,
        decode_body, encode_batch, encode_body, open_body, seal_body,
    },
    chain::DEV_PRIVATE_KEYS,
};

const CHAIN_ID: u64 = 42069;

// ---------------------------------------------------------------------------
// Transactions

fn signer(i: usize) -> PrivateKeySigner {
    DEV_PRIVATE_KEYS[i].parse().expect("dev key")
}

fn encode<T: SignableTransaction<Signature>>(tx: T, sig: Signature) -> Bytes
where
    TxEnvelope: From<Signed<T>>,
{
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
}

fn sign<T: SignableTransaction<Signature>>(key: &PrivateKeySigner, mut tx: T) -> Bytes
where
    TxEnvelope: From<Signed<T>>,
{
    let sig = key.sign_transaction_sync(&mut tx).expect("sign");
    encode(tx, sig)
}

fn access_list() -> AccessList {
    AccessList(vec![
        AccessListItem {
            address: Address::repeat_byte(0xaa),
            storage_keys: vec![B256::repeat_byte(1), B256::ZERO],
        },
        AccessListItem {
            address: Address::repeat_byte(0xbb),
            storage_keys: vec![],
        },
    ])
}

/// One signed transaction of every allowed kind, from dev key `k`.
fn signed_txs(k: usize, nonce: u64) -> Vec<Bytes> {
    let key = signer(k);
    let to = TxKind::Call(signer((k + 1) % 10).address());
    let auth = Authorization {
        chain_id: U256::from(CHAIN_ID),
        address: Address::repeat_byte(0x77),
        nonce: nonce + 10,
    };
    let auth_sig = key.sign_hash_sync(&auth.signature_hash()).expect("sign");
    vec![
        // Legacy with EIP-155.
        sign(
            &key,
            TxLegacy {
                chain_id: Some(CHAIN_ID),
                nonce,
                gas_price: 1_500_000_000,
                gas_limit: 21_000,
                to,
                value: U256::from(10u64).pow(U256::from(18u8)),
                input: Bytes::new(),
            },
        ),
        // Legacy without chain id (pre-EIP-155).
        sign(
            &key,
            TxLegacy {
                chain_id: None,
                nonce: nonce + 1,
                gas_price: 7,
                gas_limit: 100_000,
                to: TxKind::Create,
                value: U256::ZERO,
                input: Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xf3]),
            },
        ),
        sign(
            &key,
            TxEip2930 {
                chain_id: CHAIN_ID,
                nonce: nonce + 2,
                gas_price: 2_000_000_000,
                gas_limit: 60_000,
                to,
                value: U256::from(123_456_789u64),
                access_list: access_list(),
                input: Bytes::from_static(b"hello"),
            },
        ),
        sign(
            &key,
            TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: nonce + 3,
                gas_limit: 21_000,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to,
                value: U256::from(1u8),
                access_list: Default::default(),
                input: Bytes::new(),
            },
        ),
        // EIP-1559 contract creation.
        sign(
            &key,
            TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: nonce + 4,
                gas_limit: 300_000,
                max_fee_per_gas: 3_000_000_000,
                max_priority_fee_per_gas: 0,
                to: TxKind::Create,
                value: U256::ZERO,
                access_list: access_list(),
                input: Bytes::from(vec![0x5b; 300]),
            },
        ),
        sign(
            &key,
            TxEip7702 {
                chain_id: CHAIN_ID,
                nonce: nonce + 5,
                gas_limit: 80_000,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1_000_000,
                to: key.address(),
                value: U256::ZERO,
                access_list: Default::default(),
                authorization_list: vec![auth.into_signed(auth_sig)],
                input: Bytes::new(),
            },
        ),
    ]
}

fn origin(number: u64) -> L1Origin {
    L1Origin {
        number,
        hash: keccak256(number.to_be_bytes()),
    }
}

fn realistic_batch() -> Batch {
    let mut blocks = Vec::new();
    for i in 0..8u64 {
        let transactions = if i == 3 {
            Vec::new() // an empty block
        } else {
            signed_txs(i as usize % 10, i * 100)
        };
        blocks.push(BatchBlock {
            timestamp: 1_750_000_000 + i,
            l1_origin: origin(22_000_000 + i / 3),
            transactions,
        });
    }
    Batch {
        parent_hash: B256::repeat_byte(0x42),
        first_block: 1_000,
        blocks,
    }
}

/// A small valid batch with one EIP-1559 transfer.
fn one_tx_batch() -> Batch {
    let tx = sign(
        &signer(0),
        TxEip1559 {
            chain_id: CHAIN_ID,
            nonce: 0,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::repeat_byte(0x11)),
            value: U256::from(5u64),
            access_list: Default::default(),
            input: Bytes::new(),
        },
    );
    Batch {
        parent_hash: B256::repeat_byte(1),
        first_block: 7,
        blocks: vec![BatchBlock {
            timestamp: 100,
            l1_origin: origin(5),
            transactions: vec![tx],
        }],
    }
}

fn fake_sig(seed: u8) -> Signature {
    Signature::new(
        U256::from_be_bytes([seed; 32]),
        U256::from_be_bytes([seed.wrapping_add(1); 32]),
        seed % 2 == 1,
    )
}

fn blob_tx() -> Bytes {
    let tx = TxEip4844 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 1,
        max_priority_fee_per_gas: 1,
        to: Address::repeat_byte(3),
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: vec![B256::repeat_byte(1)],
        max_fee_per_blob_gas: 1,
        input: Bytes::new(),
    };
    let mut out = Vec::new();
    Signed::new_unhashed(tx, fake_sig(1)).eip2718_encode(&mut out);
    out.into()
}

fn batch_with(transactions: Vec<Bytes>) -> Batch {
    Batch {
        parent_hash: B256::ZERO,
        first_block: 1,
        blocks: vec![BatchBlock {
            timestamp: 1,
            l1_origin: origin(1),
            transactions,
        }],
    }
}

// ---------------------------------------------------------------------------
// The body, rebuilt from the spec

const COLUMN_COUNT: usize = 24;
const BLOCK_TX_COUNTS: usize = 0;
const L1_HASH_FLAGS: usize = 3;
const L1_HASHES: usize = 4;
const TX_KINDS: usize = 5;
const NONCES: usize = 7;
const TO_INDICES: usize = 11;
const TO_ADDRESSES: usize = 12;
const VALUE_EXPONENTS: usize = 13;
const VALUE_MANTISSAS: usize = 14;
const INPUT_LENGTHS: usize = 15;
const ACCESS_LISTS: usize = 17;
const Y_PARITIES: usize = 19;
const SIG_S: usize = 21;
const RAW_LENGTHS: usize = 22;
const RAW_TXS: usize = 23;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = data[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return v;
        }
        shift += 7;
    }
}

#[derive(Clone, Debug)]
struct Body {
    parent_hash: [u8; 32],
    first_block: u64,
    block_count: u64,
    tx_count: u64,
    columns: Vec<Vec<u8>>,
}

impl Body {
    fn parse(body: &[u8]) -> Self {
        let mut pos = 32;
        let first_block = get_varint(body, &mut pos);
        let block_count = get_varint(body, &mut pos);
        let tx_count = get_varint(body, &mut pos);
        let mut columns = Vec::new();
        for _ in 0..COLUMN_COUNT {
            let len = get_varint(body, &mut pos) as usize;
            columns.push(body[pos..pos + len].to_vec());
            pos += len;
        }
        assert_eq!(pos, body.len());
        Self {
            parent_hash: body[..32].try_into().unwrap(),
            first_block,
            block_count,
            tx_count,
            columns,
        }
    }

    fn of(batch: &Batch) -> Self {
        Self::parse(&encode_body(batch).expect("valid batch"))
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.parent_hash.to_vec();
        put_varint(&mut out, self.first_block);
        put_varint(&mut out, self.block_count);
        put_varint(&mut out, self.tx_count);
        for c in &self.columns {
            put_varint(&mut out, c.len() as u64);
            out.extend_from_slice(c);
        }
        out
    }

    fn decode(&self) -> Result<Batch, BatchDecodeError> {
        let bytes = self.bytes();
        let direct = decode_body(&bytes);
        // Through the envelope, the outcome is the same.
        assert_eq!(decode_batch(&seal_body(&bytes).expect("seal")), direct);
        direct
    }

    /// Replaces the single transaction of `one_tx_batch` by an escaped raw one.
    fn escape_only_tx(&mut self, raw: &[u8]) {
        for c in [
            6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
        ] {
            self.columns[c].clear();
        }
        self.columns[TX_KINDS] = vec![0xff];
        put_varint(&mut self.columns[RAW_LENGTHS], raw.len() as u64);
        self.columns[RAW_TXS] = raw.to_vec();
    }
}

fn assert_round_trip(batch: &Batch) {
    let bytes = encode_batch(batch).expect("encode");
    assert_eq!(bytes[0], BATCH_VERSION);
    let back = decode_batch(&bytes).expect("decode");
    assert_eq!(&back, batch);
    // The body is canonical: decoding then encoding gives the same body.
    let body = open_body(&bytes).expect("open");
    assert_eq!(encode_body(&back).expect("re-encode"), body);
}

// ---------------------------------------------------------------------------
// Round trips

#[test]
fn realistic_batch_round_trips() {
    let batch = realistic_batch();
    assert_eq!(batch.first_block, 1_000);
    assert_eq!(batch.last_block(), 1_007);
    assert_eq!(batch.tx_count(), 42);
    assert_round_trip(&batch);
    // Transactions come back byte for byte, each a valid TxEnvelope of its type.
    let back = decode_batch(&encode_batch(&batch).unwrap()).unwrap();
    let types: Vec<u8> = back.blocks[0]
        .transactions
        .iter()
        .map(|t| {
            use alloy_eips::eip2718::{Decodable2718, Typed2718};
            TxEnvelope::decode_2718_exact(t).unwrap().ty()
        })
        .collect();
    assert_eq!(types, vec![0, 0, 1, 2, 2, 4]);
}

#[test]
fn columns_beat_the_raw_bytes() {
    // 200 EIP-1559 transfers between the dev accounts: the encoding is
    // smaller than the raw transactions and than their brotli compression.
    let mut transactions = Vec::new();
    for i in 0..200u64 {
        let k = (i % 10) as usize;
        transactions.push(sign(
            &signer(k),
            TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: i / 10,
                gas_limit: 21_000,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1_000_000,
                to: TxKind::Call(signer((k + 3) % 10).address()),
                value: U256::from((i + 1) * 10_000_000_000_000),
                access_list: Default::default(),
                input: Bytes::new(),
            },
        ));
    }
    let raw: usize = transactions.iter().map(|t| t.len()).sum();
    let batch = batch_with(transactions);
    let encoded = encode_batch(&batch).unwrap();
    assert_round_trip(&batch);
    let per_tx = encoded.len() as f64 / 200.0;
    assert!(
        encoded.len() < raw * 7 / 10,
        "{} vs raw {raw}",
        encoded.len()
    );
    // Signatures are 65 incompressible bytes per transaction.
    assert!(
        per_tx > 65.0 && per_tx < 75.0,
        "{per_tx} bytes per transfer"
    );
}

#[test]
fn extreme_values_round_trip() {
    let legacy = encode(
        TxLegacy {
            chain_id: Some(u64::MAX),
            nonce: u64::MAX,
            gas_price: u128::MAX,
            gas_limit: u64::MAX,
            to: TxKind::Call(Address::ZERO),
            value: U256::MAX,
            input: Bytes::new(),
        },
        fake_sig(1),
    );
    let eip1559 = encode(
        TxEip1559 {
            chain_id: 0,
            nonce: 0,
            gas_limit: 0,
            max_fee_per_gas: 0,
            max_priority_fee_per_gas: u128::MAX,
            to: TxKind::Call(Address::ZERO),
            value: U256::from(10u8).pow(U256::from(77u8)),
            access_list: Default::default(),
            input: Bytes::new(),
        },
        Signature::new(U256::ZERO, U256::MAX, false),
    );
    let batch = Batch {
        parent_hash: B256::repeat_byte(0xff),
        first_block: u64::MAX - 2,
        blocks: vec![
            BatchBlock {
                timestamp: u64::MAX,
                l1_origin: L1Origin {
                    number: u64::MAX,
                    hash: B256::ZERO,
                },
                transactions: vec![legacy.clone(), eip1559.clone()],
            },
            // Time and L1 number going backwards and wrapping: the codec
            // carries them; judging them is derivation's job.
            BatchBlock {
                timestamp: 0,
                l1_origin: L1Origin {
                    number: 0,
                    hash: B256::ZERO,
                },
                transactions: vec![eip1559, legacy],
            },
            BatchBlock {
                timestamp: u64::MAX,
                l1_origin: L1Origin {
                    number: 5,
                    hash: B256::repeat_byte(9),
                },
                transactions: vec![],
            },
        ],
    };
    assert_eq!(batch.last_block(), u64::MAX);
    assert_round_trip(&batch);
}

#[test]
fn repeated_to_addresses_are_stored_once() {
    let token = Address::repeat_byte(0x55);
    let txs: Vec<Bytes> = (0..50u64)
        .map(|n| {
            encode(
                TxEip1559 {
                    chain_id: CHAIN_ID,
                    nonce: n,
                    gas_limit: 60_000,
                    max_fee_per_gas: 1,
                    max_priority_fee_per_gas: 1,
                    to: TxKind::Call(token),
                    value: U256::ZERO,
                    access_list: Default::default(),
                    input: Bytes::new(),
                },
                fake_sig(n as u8),
            )
        })
        .collect();
    let body = Body::of(&batch_with(txs));
    assert_eq!(body.columns[TO_ADDRESSES], token.to_vec());
    let mut indices = vec![0u8];
    indices.extend(std::iter::repeat_n(1u8, 49));
    assert_eq!(body.columns[TO_INDICES], indices);
}

// ---------------------------------------------------------------------------
// Encoder errors

#[test]
fn encoder_refuses_an_empty_batch() {
    let batch = Batch {
        parent_hash: B256::ZERO,
        first_block: 1,
        blocks: vec![],
    };
    assert_eq!(encode_batch(&batch), Err(BatchEncodeError::EmptyBatch));
    assert_eq!(batch.last_block(), 1);
    assert_eq!(batch.tx_count(), 0);
}

#[test]
fn encoder_refuses_too_many_blocks() {
    let block = BatchBlock {
        timestamp: 1,
        l1_origin: origin(1),
        transactions: vec![],
    };
    let mut batch = batch_with(vec![]);
    batch.blocks = vec![block; MAX_BLOCKS_PER_BATCH + 1];
    assert_eq!(
        encode_batch(&batch),
        Err(BatchEncodeError::TooManyBlocks {
            count: MAX_BLOCKS_PER_BATCH + 1,
            max: MAX_BLOCKS_PER_BATCH
        })
    );
    batch.blocks.pop();
    assert_round_trip(&batch);
}

#[test]
fn encoder_refuses_too_many_transactions() {
    let tx = one_tx_batch().blocks[0].transactions[0].clone();
    let batch = batch_with(vec![tx; MAX_TXS_PER_BATCH + 1]);
    assert_eq!(
        encode_batch(&batch),
        Err(BatchEncodeError::TooManyTransactions {
            count: MAX_TXS_PER_BATCH + 1,
            max: MAX_TXS_PER_BATCH
        })
    );
}

#[test]
fn encoder_refuses_block_number_overflow() {
    let mut batch = realistic_batch();
    batch.first_block = u64::MAX - 6;
    assert_eq!(
        encode_batch(&batch),
        Err(BatchEncodeError::BlockNumberOverflow {
            first_block: u64::MAX - 6,
            blocks: 8
        })
    );
    batch.first_block = u64::MAX - 7;
    assert_round_trip(&batch);
}

fn big_tx(input_len: usize) -> Bytes {
    encode(
        TxLegacy {
            chain_id: Some(CHAIN_ID),
            nonce: 0,
            gas_price: 1,
            gas_limit: 30_000_000,
            to: TxKind::Create,
            value: U256::ZERO,
            input: Bytes::from(vec![0xab; input_len]),
        },
        fake_sig(3),
    )
}

#[test]
fn encoder_refuses_oversized_transactions() {
    let tx = big_tx(MAX_TX_BYTES);
    let size = tx.len();
    assert_eq!(
        encode_batch(&batch_with(vec![tx])),
        Err(BatchEncodeError::TransactionTooLarge {
            block: 0,
            index: 0,
            size,
            max: MAX_TX_BYTES
        })
    );
    // The largest allowed one passes.
    let fits = big_tx(MAX_TX_BYTES - 200);
    assert!(fits.len() <= MAX_TX_BYTES);
    assert_round_trip(&batch_with(vec![fits]));
}

#[test]
fn encoder_refuses_invalid_transactions() {
    let mut batch = realistic_batch();
    batch.blocks[2].transactions[4] = Bytes::from_static(&[0x02, 0xc0]);
    assert!(matches!(
        encode_batch(&batch),
        Err(BatchEncodeError::InvalidTransaction {
            block: 2,
            index: 4,
            ..
        })
    ));
    // Trailing bytes after a valid transaction.
    let mut batch = realistic_batch();
    let mut tx = batch.blocks[1].transactions[0].to_vec();
    tx.push(0);
    batch.blocks[1].transactions[0] = tx.into();
    assert!(matches!(
        encode_batch(&batch),
        Err(BatchEncodeError::InvalidTransaction {
            block: 1,
            index: 0,
            ..
        })
    ));
    // Empty bytes.
    assert!(matches!(
        encode_batch(&batch_with(vec![Bytes::new()])),
        Err(BatchEncodeError::InvalidTransaction {
            block: 0,
            index: 0,
            ..
        })
    ));
}

#[test]
fn encoder_refuses_blob_transactions() {
    let mut batch = realistic_batch();
    batch.blocks[4].transactions.push(blob_tx());
    assert_eq!(
        encode_batch(&batch),
        Err(BatchEncodeError::BlobTransaction { block: 4, index: 6 })
    );
}

#[test]
fn encoder_refuses_a_body_over_the_limit() {
    // 520 transactions of ~128 KiB: 66.5 MB of calldata.
    let tx = big_tx(MAX_TX_BYTES - 200);
    let batch = batch_with(vec![tx; 520]);
    assert!(matches!(
        encode_batch(&batch),
        Err(BatchEncodeError::BodyTooLarge { size, max: MAX_BODY_BYTES }) if size > MAX_BODY_BYTES
    ));
    assert!(matches!(
        seal_body(&vec![0; MAX_BODY_BYTES + 1]),
        Err(BatchEncodeError::BodyTooLarge { .. })
    ));
}

// ---------------------------------------------------------------------------
// Decoder errors: the envelope

#[test]
fn decoder_refuses_empty_input() {
    assert_eq!(decode_batch(&[]), Err(BatchDecodeError::Empty));
}

#[test]
fn decoder_refuses_unknown_versions() {
    let mut bytes = encode_batch(&one_tx_batch()).unwrap().to_vec();
    for v in [0u8, 2, 0xff] {
        bytes[0] = v;
        assert_eq!(
            decode_batch(&bytes),
            Err(BatchDecodeError::UnknownVersion(v))
        );
    }
}

#[test]
fn decoder_refuses_corrupt_compression() {
    let bytes = encode_batch(&realistic_batch()).unwrap();
    // Cut inside the stream.
    assert!(matches!(
        decode_batch(&bytes[..bytes.len() / 2]),
        Err(BatchDecodeError::Decompression(_))
    ));
    // Only the version byte.
    assert!(matches!(
        decode_batch(&[BATCH_VERSION]),
        Err(BatchDecodeError::Decompression(_))
    ));
    // Not brotli at all.
    assert!(matches!(
        decode_batch(&[BATCH_VERSION, 0xff, 0xff, 0xff, 0xff]),
        Err(BatchDecodeError::Decompression(_))
    ));
}

#[test]
fn decoder_refuses_bytes_after_the_stream() {
    let mut bytes = encode_batch(&one_tx_batch()).unwrap().to_vec();
    bytes.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        decode_batch(&bytes),
        Err(BatchDecodeError::TrailingCompressedBytes { extra: 3 })
    );
}

#[test]
fn decoder_caps_the_decompressed_size() {
    // A 64 MiB + 1 body of zeros compresses to a few bytes (a zip bomb).
    let zeros = vec![0u8; MAX_BODY_BYTES + 1];
    let params = brotli::enc::BrotliEncoderParams {
        quality: 1,
        ..Default::default()
    };
    let mut bomb = vec![BATCH_VERSION];
    brotli::BrotliCompress(&mut &zeros[..], &mut bomb, &params).unwrap();
    assert!(bomb.len() < MAX_BODY_BYTES / 100, "{} bytes", bomb.len());
    assert_eq!(
        decode_batch(&bomb),
        Err(BatchDecodeError::DecompressedTooLarge {
            max: MAX_BODY_BYTES
        })
    );
    // An uncompressed body over the limit is refused as well.
    assert_eq!(
        decode_body(&zeros),
        Err(BatchDecodeError::DecompressedTooLarge {
            max: MAX_BODY_BYTES
        })
    );
}

// ---------------------------------------------------------------------------
// Decoder errors: the body

#[test]
fn decoder_reports_truncation() {
    let body = encode_body(&realistic_batch()).unwrap();
    assert_eq!(
        decode_body(&body[..20]),
        Err(BatchDecodeError::Truncated {
            offset: 0,
            field: "parent_hash"
        })
    );
    assert_eq!(
        decode_body(&body[..32]),
        Err(BatchDecodeError::Truncated {
            offset: 32,
            field: "first_block"
        })
    );
    // The body ends before the last column's length.
    assert!(matches!(
        decode_body(&body[..body.len() - 1]),
        Err(BatchDecodeError::Truncated {
            field: "raw_txs length",
            ..
        })
    ));
    // A column cut short: its length says more than the body holds.
    let mut b = Body::of(&realistic_batch());
    b.columns[RAW_TXS] = vec![0; 10];
    let bytes = b.bytes();
    assert!(matches!(
        decode_body(&bytes[..bytes.len() - 1]),
        Err(BatchDecodeError::Truncated {
            field: "raw_txs",
            ..
        })
    ));
    // A column missing its last byte (lengths kept consistent).
    let mut b = Body::of(&realistic_batch());
    b.columns[SIG_S].pop();
    assert!(matches!(
        b.decode(),
        Err(BatchDecodeError::Truncated { field: "sig_s", .. })
    ));
}

#[test]
fn decoder_refuses_unused_bytes() {
    let mut body = encode_body(&one_tx_batch()).unwrap();
    let len = body.len();
    body.push(0);
    assert_eq!(
        decode_body(&body),
        Err(BatchDecodeError::TrailingBytes {
            offset: len,
            field: "body",
            extra: 1
        })
    );
    let mut b = Body::of(&one_tx_batch());
    b.columns[NONCES].push(0);
    assert!(matches!(
        b.decode(),
        Err(BatchDecodeError::TrailingBytes {
            field: "nonces",
            extra: 1,
            ..
        })
    ));
}

#[test]
fn decoder_refuses_an_empty_batch() {
    let mut b = Body::of(&one_tx_batch());
    b.block_count = 0;
    assert_eq!(b.decode(), Err(BatchDecodeError::EmptyBatch));
}

#[test]
fn decoder_refuses_too_many_blocks() {
    let mut b = Body::of(&one_tx_batch());
    b.block_count = MAX_BLOCKS_PER_BATCH as u64 + 1;
    assert_eq!(
        b.decode(),
        Err(BatchDecodeError::TooManyBlocks {
            count: MAX_BLOCKS_PER_BATCH as u64 + 1,
            max: MAX_BLOCKS_PER_BATCH
        })
    );
}

#[test]
fn decoder_refuses_too_many_transactions() {
    let mut b = Body::of(&one_tx_batch());
    b.tx_count = u64::MAX;
    assert_eq!(
        b.decode(),
        Err(BatchDecodeError::TooManyTransactions {
            count: u64::MAX,
            max: MAX_TXS_PER_BATCH
        })
    );
}

#[test]
fn decoder_checks_counts_before_allocating() {
    // 60,000 blocks declared, one byte of per-block counts.
    let mut b = Body::of(&one_tx_batch());
    b.block_count = 60_000;
    assert!(matches!(
        b.decode(),
        Err(BatchDecodeError::CountExceedsData {
            field: "block_count",
            count: 60_000,
            available: 1,
            ..
        })
    ));
    // A million transactions declared, one kind byte.
    let mut b = Body::of(&one_tx_batch());
    b.tx_count = 1_000_000;
    assert!(matches!(
        b.decode(),
        Err(BatchDecodeError::CountExceedsData {
            field: "tx_count",
            count: 1_000_000,
            available: 1,
            ..
        })
    ));
    // A huge column length: truncated, nothing allocated.
    let mut body = Body::of(&one_tx_batch()).bytes();
    let at = 32 + 1 + 1 + 1; // first column length
    body.splice(
        at..at + 1,
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
    );
    assert!(matches!(
        decode_body(&body),
        Err(BatchDecodeError::Truncated {
            field: "block_tx_counts",
            ..
        })
    ));
}

#[test]
fn decoder_refuses_inconsistent_tx_counts() {
    let mut b = Body::of(&one_tx_batch());
    b.columns[BLOCK_TX_COUNTS] = vec![0];
    assert_eq!(
        b.decode(),
        Err(BatchDecodeError::TxCountMismatch {
            sum: 0,
            declared: 1
        })
    );
}

#[test]
fn decoder_refuses_block_number_overflow() {
    let mut b = Body::of(&realistic_batch());
    b.first_block = u64::MAX;
    assert_eq!(
        b.decode(),
        Err(BatchDecodeError::BlockNumberOverflow {
            first_block: u64::MAX,
            blocks: 8
        })
    );
}

#[test]
fn decoder_refuses_non_canonical_fields() {
    let non_canonical = |b: &Body, field: &str| match b.decode() {
        Err(BatchDecodeError::NonCanonical { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected NonCanonical in {field}, got {other:?}"),
    };
    // A varint with a redundant zero byte (nonce 0 as 0x80 0x00).
    let mut b = Body::of(&one_tx_batch());
    assert_eq!(b.columns[NONCES], vec![0]);
    b.columns[NONCES] = vec![0x80, 0x00];
    non_canonical(&b, "nonces");
    // A mantissa with a leading zero byte (5 as [2, 0, 5]).
    let mut b = Body::of(&one_tx_batch());
    assert_eq!(b.columns[VALUE_MANTISSAS], vec![1, 5]);
    b.columns[VALUE_MANTISSAS] = vec![2, 0, 5];
    non_canonical(&b, "value_mantissas");
    // 500 must be written 5 * 10^2, not 50 * 10^1.
    let mut b = Body::of(&one_tx_batch());
    b.columns[VALUE_EXPONENTS] = vec![1];
    b.columns[VALUE_MANTISSAS] = vec![1, 50];
    non_canonical(&b, "value_mantissas");
    // 50 must be written 5 * 10^1, not 50 * 10^0.
    let mut b = Body::of(&one_tx_batch());
    b.columns[VALUE_EXPONENTS] = vec![0];
    b.columns[VALUE_MANTISSAS] = vec![1, 50];
    non_canonical(&b, "value_mantissas");
    // Zero with an exponent.
    let mut b = Body::of(&one_tx_batch());
    b.columns[VALUE_EXPONENTS] = vec![3];
    b.columns[VALUE_MANTISSAS] = vec![0];
    non_canonical(&b, "value_exponents");
    // An L1 hash repeated instead of flagged as the same.
    let mut two = one_tx_batch();
    two.blocks.push(BatchBlock {
        timestamp: 101,
        l1_origin: two.blocks[0].l1_origin,
        transactions: vec![],
    });
    let mut b = Body::of(&two);
    assert_eq!(b.columns[L1_HASH_FLAGS], vec![1, 0]);
    b.columns[L1_HASH_FLAGS] = vec![1, 1];
    let hash = b.columns[L1_HASHES].clone();
    b.columns[L1_HASHES].extend(hash);
    non_canonical(&b, "l1_hash_flags");
    // A `to` address repeated instead of referenced by index.
    let mut two_txs = one_tx_batch();
    let tx = two_txs.blocks[0].transactions[0].clone();
    two_txs.blocks[0].transactions.push(tx);
    let mut b = Body::of(&two_txs);
    assert_eq!(b.columns[TO_INDICES], vec![0, 1]);
    b.columns[TO_INDICES] = vec![0, 0];
    let addr = b.columns[TO_ADDRESSES].clone();
    b.columns[TO_ADDRESSES].extend(addr);
    non_canonical(&b, "to_addresses");
    // An escaped transaction that the columns hold exactly.
    let batch = one_tx_batch();
    let mut b = Body::of(&batch);
    b.escape_only_tx(&batch.blocks[0].transactions[0]);
    non_canonical(&b, "raw_txs");
}

#[test]
fn decoder_refuses_invalid_fields() {
    let invalid = |b: &Body, field: &str| match b.decode() {
        Err(BatchDecodeError::InvalidField { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected InvalidField in {field}, got {other:?}"),
    };
    let base = Body::of(&one_tx_batch());
    let mut b = base.clone();
    b.columns[Y_PARITIES] = vec![2];
    invalid(&b, "y_parities");
    let mut b = base.clone();
    b.columns[L1_HASH_FLAGS] = vec![2];
    invalid(&b, "l1_hash_flags");
    let mut b = base.clone();
    b.columns[L1_HASH_FLAGS] = vec![0];
    b.columns[L1_HASHES].clear();
    invalid(&b, "l1_hash_flags");
    let mut b = base.clone();
    b.columns[TO_INDICES] = vec![2];
    b.columns[TO_ADDRESSES].clear();
    invalid(&b, "to_indices");
    let mut b = base.clone();
    b.columns[VALUE_EXPONENTS] = vec![77];
    b.columns[VALUE_MANTISSAS] = vec![1, 12];
    invalid(&b, "value_exponents");
    let mut b = base.clone();
    b.columns[VALUE_MANTISSAS] = vec![33];
    b.columns[VALUE_MANTISSAS].extend([1u8; 33]);
    invalid(&b, "value_mantissas");
    let mut b = base.clone();
    b.columns[NONCES] = vec![0xff; 10];
    b.columns[NONCES].push(0x01);
    invalid(&b, "nonces");
    let mut b = base.clone();
    b.columns[ACCESS_LISTS] = vec![0x80]; // a string where a list belongs
    invalid(&b, "access_lists");
}

#[test]
fn decoder_refuses_unknown_tx_kinds() {
    for kind in [0x03u8, 0x05, 0x0c, 0x11, 0x12, 0x20, 0x80, 0xfe] {
        let mut b = Body::of(&one_tx_batch());
        b.columns[TX_KINDS] = vec![kind];
        assert_eq!(
            b.decode(),
            Err(BatchDecodeError::UnknownTxKind {
                block: 0,
                index: 0,
                kind
            }),
            "kind {kind:#x}"
        );
    }
}

#[test]
fn decoder_refuses_oversized_transactions() {
    let mut b = Body::of(&one_tx_batch());
    b.escape_only_tx(&[]);
    b.columns[RAW_LENGTHS].clear();
    put_varint(&mut b.columns[RAW_LENGTHS], MAX_TX_BYTES as u64 + 1);
    b.columns[RAW_TXS] = vec![0; MAX_TX_BYTES + 1];
    assert_eq!(
        b.decode(),
        Err(BatchDecodeError::TransactionTooLarge {
            block: 0,
            index: 0,
            size: MAX_TX_BYTES + 1,
            max: MAX_TX_BYTES
        })
    );
    // Calldata longer than a transaction may be.
    let mut b = Body::of(&one_tx_batch());
    b.columns[INPUT_LENGTHS].clear();
    put_varint(&mut b.columns[INPUT_LENGTHS], MAX_TX_BYTES as u64);
    b.columns[16] = vec![0; MAX_TX_BYTES];
    assert!(matches!(
        b.decode(),
        Err(BatchDecodeError::TransactionTooLarge {
            block: 0,
            index: 0,
            ..
        })
    ));
}

#[test]
fn decoder_refuses_invalid_escaped_transactions() {
    for raw in [&[0xc0][..], &[0x02, 0xc0], &[0x05, 0xc1, 0x80], &[0x7f]] {
        let mut b = Body::of(&one_tx_batch());
        b.escape_only_tx(raw);
        assert!(
            matches!(
                b.decode(),
                Err(BatchDecodeError::InvalidTransaction {
                    block: 0,
                    index: 0,
                    ..
                })
            ),
            "{raw:?}"
        );
    }
    // An escaped transaction with a trailing byte.
    let batch = one_tx_batch();
    let mut raw = batch.blocks[0].transactions[0].to_vec();
    raw.push(0);
    let mut b = Body::of(&batch);
    b.escape_only_tx(&raw);
    assert!(matches!(
        b.decode(),
        Err(BatchDecodeError::InvalidTransaction {
            block: 0,
            index: 0,
            ..
        })
    ));
}

#[test]
fn decoder_refuses_blob_transactions() {
    let mut b = Body::of(&one_tx_batch());
    b.escape_only_tx(&blob_tx());
    assert_eq!(
        b.decode(),
        Err(BatchDecodeError::BlobTransaction { block: 0, index: 0 })
    );
}

#[test]
fn errors_read_well() {
    let e = BatchDecodeError::Truncated {
        offset: 40,
        field: "nonces",
    };
    assert_eq!(
        e.to_string(),
        "body truncated at byte 40 while reading nonces"
    );
    assert_eq!(
        BatchDecodeError::UnknownVersion(2).to_string(),
        "unknown batch version 0x02 (this codec reads version 1)"
    );
    let e = BatchEncodeError::InvalidTransaction {
        block: 1,
        index: 2,
        reason: "x".into(),
    };
    assert_eq!(e.to_string(), "invalid transaction at block 1 index 2: x");
}

// ---------------------------------------------------------------------------
// Property tests

fn arb_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        any::<u64>().prop_map(U256::from),
        (1u64..1_000_000, 0u32..40)
            .prop_map(|(m, e)| U256::from(m).saturating_mul(U256::from(10u8).pow(U256::from(e)))),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ]
}

fn arb_address() -> impl Strategy<Value = Address> {
    // A small pool, so that addresses repeat, plus random ones.
    prop_oneof![
        (0u8..4).prop_map(Address::repeat_byte),
        any::<[u8; 20]>().prop_map(Address::from),
    ]
}

fn arb_access_list() -> impl Strategy<Value = AccessList> {
    prop::collection::vec(
        (
            arb_address(),
            prop::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 0..3),
        )
            .prop_map(|(address, storage_keys)| AccessListItem {
                address,
                storage_keys,
            }),
        0..3,
    )
    .prop_map(AccessList)
}

fn arb_auth() -> impl Strategy<Value = SignedAuthorization> {
    (
        arb_u256(),
        arb_address(),
        any::<u64>(),
        any::<u8>(),
        arb_u256(),
        arb_u256(),
    )
        .prop_map(|(chain_id, address, nonce, y, r, s)| {
            SignedAuthorization::new_unchecked(
                Authorization {
                    chain_id,
                    address,
                    nonce,
                },
                y,
                r,
                s,
            )
        })
}

fn arb_sig() -> impl Strategy<Value = Signature> {
    (arb_u256(), arb_u256(), any::<bool>()).prop_map(|(r, s, y)| Signature::new(r, s, y))
}

prop_compose! {
    fn arb_common()(
        chain_id in prop_oneof![Just(CHAIN_ID), any::<u64>()],
        nonce in prop_oneof![0u64..100, any::<u64>()],
        gas_limit in prop_oneof![Just(21_000u64), any::<u64>()],
        fee in prop_oneof![Just(1_000_000_000u128), any::<u128>()],
        tip in prop_oneof![Just(1u128), any::<u128>()],
        to in prop::option::weighted(0.9, arb_address()),
        value in arb_u256(),
        input in prop::collection::vec(any::<u8>(), 0..100),
        sig in arb_sig(),
    ) -> (u64, u64, u64, u128, u128, Option<Address>, U256, Bytes, Signature) {
        (chain_id, nonce, gas_limit, fee, tip, to, value, input.into(), sig)
    }
}

/// Any transaction the format accepts (signatures are random: decoding does
/// not check them).
fn arb_tx() -> impl Strategy<Value = Bytes> {
    (
        0u8..5,
        arb_common(),
        arb_access_list(),
        prop::collection::vec(arb_auth(), 0..3),
    )
        .prop_map(|(kind, c, access_list, authorization_list)| {
            let (chain_id, nonce, gas_limit, fee, tip, to, value, input, sig) = c;
            let to_kind = to.map_or(TxKind::Create, TxKind::Call);
            match kind {
                0 | 1 => encode(
                    TxLegacy {
                        chain_id: (kind == 0).then_some(chain_id),
                        nonce,
                        gas_price: fee,
                        gas_limit,
                        to: to_kind,
                        value,
                        input,
                    },
                    sig,
                ),
                2 => encode(
                    TxEip2930 {
                        chain_id,
                        nonce,
                        gas_price: fee,
                        gas_limit,
                        to: to_kind,
                        value,
                        access_list,
                        input,
                    },
                    sig,
                ),
                3 => encode(
                    TxEip1559 {
                        chain_id,
                        nonce,
                        gas_limit,
                        max_fee_per_gas: fee,
                        max_priority_fee_per_gas: tip,
                        to: to_kind,
                        value,
                        access_list,
                        input,
                    },
                    sig,
                ),
                _ => encode(
                    TxEip7702 {
                        chain_id,
                        nonce,
                        gas_limit,
                        max_fee_per_gas: fee,
                        max_priority_fee_per_gas: tip,
                        to: to.unwrap_or_default(),
                        value,
                        access_list,
                        authorization_list,
                        input,
                    },
                    sig,
                ),
            }
        })
}

fn arb_block() -> impl Strategy<Value = BatchBlock> {
    (
        prop_oneof![1_750_000_000u64..1_750_000_010, any::<u64>()],
        prop_oneof![100u64..103, any::<u64>()],
        prop_oneof![
            (0u8..3).prop_map(B256::repeat_byte),
            any::<[u8; 32]>().prop_map(B256::from)
        ],
        prop::collection::vec(arb_tx(), 0..5),
    )
        .prop_map(|(timestamp, number, hash, transactions)| BatchBlock {
            timestamp,
            l1_origin: L1Origin { number, hash },
            transactions,
        })
}

fn arb_batch() -> impl Strategy<Value = Batch> {
    (
        any::<[u8; 32]>(),
        prop_oneof![0u64..1_000_000, 0u64..=u64::MAX - 8],
        prop::collection::vec(arb_block(), 1..6),
    )
        .prop_map(|(parent, first_block, blocks)| Batch {
            parent_hash: B256::from(parent),
            first_block,
            blocks,
        })
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn arb_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(
        prop_oneof![
            4 => (any::<usize>(), 0u8..8).prop_map(|(i, bit)| Mutation::Flip(i, 1 << bit)),
            2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
            1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
            1 => any::<usize>().prop_map(Mutation::Delete),
            1 => any::<usize>().prop_map(Mutation::Truncate),
        ],
        1..4,
    )
}

fn mutate(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = data.len();
        match *m {
            Mutation::Flip(i, bit) if n > 0 => data[i % n] ^= bit,
            Mutation::Set(i, b) if n > 0 => data[i % n] = b,
            Mutation::Insert(i, b) => data.insert(i % (n + 1), b),
            Mutation::Delete(i) if n > 0 => {
                data.remove(i % n);
            }
            Mutation::Truncate(i) => data.truncate(i % (n + 1)),
            _ => {}
        }
    }
    data
}

/// Whatever a decoder accepts re-encodes to a batch that decodes to itself.
fn check_consistent(decoded: Result<Batch, BatchDecodeError>) -> Result<(), TestCaseError> {
    if let Ok(batch) = decoded {
        let again = encode_batch(&batch)
            .map_err(|e| TestCaseError::fail(format!("accepted batch does not re-encode: {e}")))?;
        prop_assert_eq!(decode_batch(&again), Ok(batch));
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::fuzz_tx::config(256))]

    #[test]
    fn random_batches_round_trip(batch in arb_batch()) {
        let bytes = encode_batch(&batch).expect("encode");
        prop_assert_eq!(decode_batch(&bytes), Ok(batch.clone()));
        let body = encode_body(&batch).unwrap();
        prop_assert_eq!(decode_body(&body), Ok(batch));
    }

    #[test]
    fn mutated_envelopes_never_panic(batch in arb_batch(), mutations in arb_mutations()) {
        let bytes = encode_batch(&batch).unwrap().to_vec();
        let mutated = mutate(bytes, &mutations);
        check_consistent(decode_batch(&mutated))?;
    }

    #[test]
    fn mutated_bodies_never_panic(batch in arb_batch(), mutations in arb_mutations()) {
        let body = encode_body(&batch).unwrap();
        let mutated = mutate(body, &mutations);
        let decoded = decode_body(&mutated);
        // Through the envelope: the same outcome.
        prop_assert_eq!(&decode_batch(&seal_body(&mutated).unwrap()), &decoded);
        // An accepted body is the one canonical encoding of what it decodes to.
        if let Ok(b) = &decoded {
            prop_assert_eq!(&encode_body(b).unwrap(), &mutated);
        }
        check_consistent(decoded)?;
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..400)) {
        check_consistent(decode_batch(&data))?;
        let mut versioned = vec![BATCH_VERSION];
        versioned.extend_from_slice(&data);
        check_consistent(decode_batch(&versioned))?;
        check_consistent(decode_body(&data))?;
        // Random bytes compressed properly: the body parser sees them.
        check_consistent(decode_batch(&seal_body(&data).unwrap()))?;
    }
}
