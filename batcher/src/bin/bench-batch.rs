//! `bench-batch`: L1 bytes per L2 transaction of the batch codec
//! (`rollup_core::batch`) on the load generator's two workloads, compared with
//! general-purpose compressors run on the same raw transactions.
//!
//! Workloads (deterministic seed, real secp256k1 signatures, chain id 42069):
//! 1. ETH transfers: EIP-1559, 21,000 gas, 200 senders keyed as `loadgen`
//!    keys them, random recipients among the same 200 accounts, random values;
//! 2. ERC-20 `transfer(address,uint256)` calls to one token contract, same
//!    senders and recipients, random amounts.
//!
//! Blocks: 1 s apart, 250-350 transactions each, one new L1 origin every 12
//! blocks. Fees: the base fee walks ±10% per block around 1 gwei; each wallet
//! sets `maxFee = 2 * baseFee + tip` with a tip among a few common values.
//! Batches: consecutive whole blocks, as many as fit in one blob's usable
//! payload ([`BATCH_TARGET_BYTES`] = 4096 × 31 bytes once encoded).
//!
//! Prints a table, then as the last line one JSON object.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, sol};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rollup_core::batch::{
    Batch, BatchBlock, L1Origin, decode_batch, encode_batch, encode_body, seal_body_with_quality,
};
use serde_json::{Map, Value, json};
use std::{
    io::Write,
    time::{Duration, Instant},
};

sol! {
    function transfer(address to, uint256 amount) returns (bool);
}

/// Transactions per workload.
const TXS: usize = 10_000;
/// Senders (and recipients), as `loadgen --senders` defaults to.
const SENDERS: usize = 200;
/// Chain id of the devnet.
const CHAIN_ID: u64 = 42069;
/// Largest encoded batch: one blob's usable bytes (4096 field elements × 31 bytes).
const BATCH_TARGET_BYTES: usize = 4096 * 31;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Transfers,
    Erc20,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Transfers => "transfers",
            Workload::Erc20 => "erc20",
        }
    }
}

fn sender_keys() -> Vec<PrivateKeySigner> {
    (0..SENDERS)
        .map(|i| {
            let key = keccak256(format!("rollup-loadgen-sender-1-{i}"));
            PrivateKeySigner::from_bytes(&key).expect("valid key")
        })
        .collect()
}

/// The blocks of one workload.
fn generate(workload: Workload, seed: u64) -> Vec<BatchBlock> {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys = sender_keys();
    let addrs: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let token = Address::from_slice(&keccak256("bench-batch-token")[12..]);
    let mut nonces = [0u64; SENDERS];
    let mut funded = [false; SENDERS]; // recipient already holds the token
    let tips: [u128; 5] = [
        1_000_000,
        10_000_000,
        100_000_000,
        1_000_000_000,
        1_500_000_000,
    ];
    let mut base_fee: u128 = 1_000_000_000;
    let mut timestamp = 1_750_000_000u64;
    let mut l1 = L1Origin {
        number: 22_000_000,
        hash: B256::from(rng.random::<[u8; 32]>()),
    };
    let mut blocks = Vec::new();
    let mut made = 0;
    while made < TXS {
        let n = rng.random_range(250..=350).min(TXS - made);
        let mut transactions = Vec::with_capacity(n);
        for _ in 0..n {
            let s = rng.random_range(0..SENDERS);
            let mut r = rng.random_range(0..SENDERS);
            if r == s {
                r = (r + 1) % SENDERS;
            }
            let tip = tips[rng.random_range(0..tips.len())];
            let (to, value, input, gas_limit) = match workload {
                Workload::Transfers => {
                    // 0.00001 .. 1 ETH, five decimals.
                    let value =
                        U256::from(rng.random_range(1..=100_000u64)) * U256::from(10u64.pow(13));
                    (addrs[r], value, Bytes::new(), 21_000)
                }
                Workload::Erc20 => {
                    // Half round amounts, half full 18-decimal precision.
                    let amount = if rng.random_bool(0.5) {
                        U256::from(rng.random_range(1..=10_000u64)) * U256::from(10u64.pow(16))
                    } else {
                        U256::from(rng.random::<u64>()) * U256::from(rng.random_range(1..=1000u64))
                    };
                    let input = transferCall {
                        to: addrs[r],
                        amount,
                    }
                    .abi_encode();
                    // A wallet's estimate plus 20%: a first transfer to an
                    // account writes a fresh balance slot.
                    let estimate = if funded[r] { 34_706 } else { 51_806 };
                    funded[r] = true;
                    (token, U256::ZERO, input.into(), estimate * 6 / 5)
                }
            };
            let tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: nonces[s],
                gas_limit,
                max_fee_per_gas: 2 * base_fee + tip,
                max_priority_fee_per_gas: tip,
                to: TxKind::Call(to),
                value,
                access_list: Default::default(),
                input,
            };
            nonces[s] += 1;
            let sig = keys[s]
                .sign_hash_sync(&tx.signature_hash())
                .expect("signing");
            let env = TxEnvelope::from(tx.into_signed(sig));
            transactions.push(Bytes::from(env.encoded_2718()));
        }
        made += n;
        blocks.push(BatchBlock {
            timestamp,
            l1_origin: l1,
            transactions,
        });
        timestamp += 1;
        if blocks.len() % 12 == 0 {
            l1 = L1Origin {
                number: l1.number + 1,
                hash: B256::from(rng.random::<[u8; 32]>()),
            };
        }
        // Base fee walk: ±10%, kept between 0.5 and 2 gwei.
        let pct = rng.random_range(90..=110u128);
        base_fee = (base_fee * pct / 100).clamp(500_000_000, 2_000_000_000);
    }
    blocks
}

/// Splits `blocks` into batches of whole blocks, each encoding to at most
/// [`BATCH_TARGET_BYTES`] (a block that alone exceeds it gets its own batch).
fn make_batches(blocks: Vec<BatchBlock>) -> Vec<Batch> {
    let mut batches = Vec::new();
    let mut parent = keccak256("bench-batch-genesis");
    let mut number = 1u64;
    let mut current: Vec<BatchBlock> = Vec::new();
    let batch_of = |blocks: Vec<BatchBlock>, parent: B256, first: u64| Batch {
        parent_hash: parent,
        first_block: first,
        blocks,
    };
    for block in blocks {
        current.push(block);
        let trial = batch_of(current.clone(), parent, number);
        let size = encode_batch(&trial).expect("encode").len();
        if size > BATCH_TARGET_BYTES && current.len() > 1 {
            let last = current.pop().expect("non-empty");
            let n = current.len() as u64;
            batches.push(batch_of(std::mem::take(&mut current), parent, number));
            parent = keccak256(format!("block-{}", number + n - 1));
            number += n;
            current.push(last);
        }
    }
    if !current.is_empty() {
        batches.push(batch_of(current, parent, number));
    }
    batches
}

/// Concatenated raw transactions of a batch (the "rows" layout).
fn rows(batch: &Batch) -> Vec<u8> {
    batch
        .blocks
        .iter()
        .flat_map(|b| b.transactions.iter())
        .flat_map(|t| t.iter().copied())
        .collect()
}

fn zlib(data: &[u8], level: u32) -> usize {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).expect("zlib");
    e.finish().expect("zlib").len()
}

fn brotli(data: &[u8], quality: i32) -> usize {
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin: 24,
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).expect("brotli");
    out.len()
}

fn zstd_len(data: &[u8], level: i32) -> usize {
    zstd::bulk::compress(data, level).expect("zstd").len()
}

struct Report {
    txs: usize,
    batches: usize,
    raw: usize,
    ours: usize,
    encode: Duration,
    decode: Duration,
    /// (label, compressed bytes) of every variant measured.
    /// Label, total bytes, and the time the whole variant took (layout + compression).
    variants: Vec<(String, usize, Duration)>,
}

fn measure(workload: Workload) -> Report {
    let t = Instant::now();
    let blocks = generate(workload, 7);
    eprintln!(
        "{}: {} blocks signed in {:.1}s",
        workload.name(),
        blocks.len(),
        t.elapsed().as_secs_f64()
    );
    let batches = make_batches(blocks);
    let txs: usize = batches.iter().map(Batch::tx_count).sum();
    let raw: usize = batches.iter().map(|b| rows(b).len()).sum();

    // Our format, timed, with the round trip checked.
    let mut ours = 0;
    let mut encode = Duration::ZERO;
    let mut decode = Duration::ZERO;
    for batch in &batches {
        let t = Instant::now();
        let bytes = encode_batch(batch).expect("encode");
        encode += t.elapsed();
        let t = Instant::now();
        let back = decode_batch(&bytes).expect("decode");
        decode += t.elapsed();
        assert_eq!(&back, batch, "decode(encode(b)) != b");
        ours += bytes.len();
    }

    let mut variants: Vec<(String, usize, Duration)> = Vec::new();
    let mut add = |label: String, f: &dyn Fn(&Batch) -> usize| {
        let t = Instant::now();
        let total = batches.iter().map(f).sum();
        variants.push((label, total, t.elapsed()));
    };
    for level in [3, 9, 19, 22] {
        add(format!("rows+zstd-{level}"), &|b| zstd_len(&rows(b), level));
    }
    add("rows+zlib-6".into(), &|b| zlib(&rows(b), 6));
    add("rows+zlib-9".into(), &|b| zlib(&rows(b), 9));
    add("rows+brotli-11".into(), &|b| brotli(&rows(b), 11));
    add("columns (uncompressed)".into(), &|b| {
        encode_body(b).expect("body").len() + 1
    });
    for level in [3, 9, 19, 22] {
        add(format!("columns+zstd-{level}"), &|b| {
            1 + zstd_len(&encode_body(b).expect("body"), level)
        });
    }
    for quality in [5, 9, 11] {
        add(format!("columns+brotli-{quality}"), &|b| {
            seal_body_with_quality(&encode_body(b).expect("body"), quality)
                .expect("seal")
                .len()
        });
    }
    Report {
        txs,
        batches: batches.len(),
        raw,
        ours,
        encode,
        decode,
        variants,
    }
}

fn main() {
    let mut json_out = Map::new();
    for workload in [Workload::Transfers, Workload::Erc20] {
        let r = measure(workload);
        let per_tx = |bytes: usize| bytes as f64 / r.txs as f64;
        let get = |label: &str| {
            r.variants
                .iter()
                .find(|(l, _, _)| l == label)
                .map(|(_, v, _)| *v)
                .expect("measured")
        };
        let mb = r.raw as f64 / 1e6;
        println!();
        println!(
            "== {}: {} txs in {} batches, {} raw bytes ({:.1} B/tx) ==",
            workload.name(),
            r.txs,
            r.batches,
            r.raw,
            per_tx(r.raw)
        );
        println!(
            "{:<24} {:>10} {:>9} {:>8} {:>9}",
            "layout+compressor", "bytes", "B/tx", "ratio", "enc MB/s"
        );
        println!(
            "{:<24} {:>10} {:>9.2} {:>8.4}   <- the codec (version 1)",
            "encode_batch",
            r.ours,
            per_tx(r.ours),
            r.ours as f64 / r.raw as f64
        );
        for (label, bytes, took) in &r.variants {
            println!(
                "{:<24} {:>10} {:>9.2} {:>8.4} {:>9.2}",
                label,
                bytes,
                per_tx(*bytes),
                *bytes as f64 / r.raw as f64,
                mb / took.as_secs_f64()
            );
        }
        let enc_mbs = mb / r.encode.as_secs_f64();
        let dec_mbs = mb / r.decode.as_secs_f64();
        println!(
            "encode {enc_mbs:.2} MB/s, decode {dec_mbs:.2} MB/s (of raw transaction bytes, one core)"
        );
        let ratio = |bytes: usize| bytes as f64 / r.raw as f64;
        let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
        json_out.insert(
            workload.name().into(),
            json!({
                "txs": r.txs,
                "batches": r.batches,
                "raw_bytes_per_tx": round(per_tx(r.raw)),
                "l1_bytes_per_tx": round(per_tx(r.ours)),
                "ratio": round(ratio(r.ours)),
                "zlib_ratio": round(ratio(get("rows+zlib-9"))),
                "zlib6_ratio": round(ratio(get("rows+zlib-6"))),
                "brotli_ratio": round(ratio(get("rows+brotli-11"))),
                "zstd19_rows_ratio": round(ratio(get("rows+zstd-19"))),
                "encode_mb_s": round(enc_mbs),
                "decode_mb_s": round(dec_mbs),
            }),
        );
    }
    println!();
    println!("{}", Value::Object(json_out));
}
