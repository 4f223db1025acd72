//! Crash recovery of the `sequencer` binary (design invariant 3: nothing
//! acknowledged is lost): pooled transactions and sealed blocks survive
//! `kill -9` on SQLite and on Postgres, also in the middle of a stream of sends.

use crate::harness::{
    PgSchema, SequencerProcess, WAIT, dev_key, eip1559, hex_u64, sign, wait_until, within,
};
use alloy::primitives::{Address, B256, Bytes, U256};
use rollup_core::chain::DEV_ADDRESSES;
use serde_json::{Value, json};
use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

fn recipient(key: usize, nonce: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[0] = 0xee;
    bytes[1] = key as u8;
    bytes[12..].copy_from_slice(&nonce.to_be_bytes());
    Address::from(bytes)
}

/// Sends 4 x 5 transfers to a node whose next block is ten minutes away,
/// kills it with SIGKILL, restarts it and checks that every acknowledged
/// transaction is mined and that sealed blocks did not change.
async fn pooled_transactions_survive_kill_9(db_url: &str, dir: &Path) {
    let log = dir.join("sequencer.log");
    let mut seq = SequencerProcess::start(db_url, 600_000, &log).await;
    let rpc = seq.rpc.clone();
    // The builder's first tick seals block 1 at once; the next one is ten minutes away.
    wait_until("block 1", WAIT, || {
        let rpc = rpc.clone();
        async move { (rpc.block_number().await >= 1).then_some(()) }
    })
    .await;

    let mut acked: Vec<(B256, Address, u64)> = Vec::new();
    for key in 0..4 {
        for nonce in 0..5u64 {
            let to = recipient(key, nonce);
            let value = 1_000 + nonce;
            let (_, raw) = sign(&dev_key(key), eip1559(nonce, to, U256::from(value), 21_000)).await;
            acked.push((seq.rpc.send_raw_ok(&raw).await, to, value));
        }
    }
    for (hash, ..) in &acked {
        let tx = seq
            .rpc
            .result("eth_getTransactionByHash", json!([hash]))
            .await;
        assert!(
            tx.is_object() && tx["blockNumber"].is_null(),
            "{hash} should be pooled, not mined: {tx}"
        );
    }
    for address in &DEV_ADDRESSES[..4] {
        assert_eq!(seq.rpc.nonce(*address, "pending").await, 5);
    }
    let head_before = seq.rpc.block("latest").await;
    seq.kill9();

    let mut seq = SequencerProcess::start(db_url, 0, &log).await;
    let old_head = seq
        .rpc
        .block(head_before["number"].as_str().expect("number"))
        .await;
    for field in [
        "number",
        "hash",
        "stateRoot",
        "parentHash",
        "transactionsRoot",
        "receiptsRoot",
    ] {
        assert_eq!(
            old_head[field], head_before[field],
            "block {} changed across kill -9: {field}",
            head_before["number"]
        );
    }
    let mut receipts = Vec::new();
    for (hash, to, value) in &acked {
        let receipt = seq.rpc.wait_receipt(*hash, WAIT).await;
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        assert!(
            hex_u64(&receipt["blockNumber"]) > hex_u64(&head_before["number"]),
            "{receipt}"
        );
        assert_eq!(seq.rpc.balance(*to, "latest").await, U256::from(*value));
        receipts.push(receipt);
    }
    for address in &DEV_ADDRESSES[..4] {
        assert_eq!(seq.rpc.nonce(*address, "latest").await, 5);
    }
    let head_after = seq.rpc.block("latest").await;
    seq.kill9();

    // Nothing is pooled now, so a restart seals nothing: the head is exactly the same.
    let seq = SequencerProcess::start(db_url, 0, &log).await;
    let head = seq.rpc.block("latest").await;
    for field in ["number", "hash", "stateRoot"] {
        assert_eq!(
            head[field], head_after[field],
            "head {field} changed across a restart: {head} vs {head_after}"
        );
    }
    for ((hash, ..), receipt) in acked.iter().zip(&receipts) {
        assert_eq!(
            &seq.rpc
                .result("eth_getTransactionReceipt", json!([hash]))
                .await,
            receipt,
            "receipt of {hash}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_transactions_and_blocks_survive_kill_9_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}/seq.db", dir.path().display());
    pooled_transactions_survive_kill_9(&db_url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_transactions_and_blocks_survive_kill_9_on_postgres() {
    let Some(pg) = PgSchema::create().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    pooled_transactions_survive_kill_9(&pg.url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_transactions_survive_kill_9_under_a_stream_of_sends() {
    const KEYS: usize = 4;
    const PER_KEY: u64 = 200;
    const SEND_WINDOW: u64 = 32;
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}/seq.db", dir.path().display());
    let log = dir.path().join("sequencer.log");

    let mut signed: Vec<Vec<(B256, Bytes)>> = Vec::new();
    for key in 0..KEYS {
        let mut txs = Vec::new();
        for nonce in 0..PER_KEY {
            let (envelope, raw) = sign(
                &dev_key(key),
                eip1559(nonce, recipient(key, nonce), U256::from(1u64), 21_000),
            )
            .await;
            txs.push((*envelope.tx_hash(), raw));
        }
        signed.push(txs);
    }

    let mut seq = SequencerProcess::start(&db_url, 0, &log).await;
    let acked: Arc<Mutex<Vec<(usize, u64, B256)>>> = Arc::default();
    let refused: Arc<Mutex<Vec<Value>>> = Arc::default();
    let mut senders = Vec::new();
    for (key, txs) in signed.into_iter().enumerate() {
        let (rpc, acked, refused) = (seq.rpc.clone(), acked.clone(), refused.clone());
        let from = dev_key(key).address();
        senders.push(tokio::spawn(async move {
            for (nonce, (hash, raw)) in txs.into_iter().enumerate() {
                // Stay within the pool's per-sender window (64 nonces ahead of
                // the chain): a node whose blocks lag may refuse more, and
                // that backpressure is not what this test is about.
                if nonce as u64 >= SEND_WINDOW {
                    loop {
                        match rpc
                            .try_call("eth_getTransactionCount", json!([from, "latest"]))
                            .await
                        {
                            Ok(r) if hex_u64(&r["result"]) + SEND_WINDOW > nonce as u64 => break,
                            Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                            Err(e) => {
                                eprintln!("sender {key} stops at nonce {nonce}: {e}");
                                return;
                            }
                        }
                    }
                }
                match rpc.try_call("eth_sendRawTransaction", json!([raw])).await {
                    Ok(response) if response.get("result").is_some() => {
                        assert_eq!(response["result"], json!(hash), "returned hash");
                        acked.lock().expect("lock").push((key, nonce as u64, hash));
                    }
                    Ok(response) => {
                        refused.lock().expect("lock").push(response);
                        return;
                    }
                    // The node is gone (or, before the kill, unreachable): not acknowledged.
                    Err(e) => {
                        eprintln!("sender {key} stops at nonce {nonce}: {e}");
                        return;
                    }
                }
            }
        }));
    }
    // Kill while sends are in flight and blocks are being sealed.
    let rpc = seq.rpc.clone();
    let counter = acked.clone();
    let early_refusals = refused.clone();
    wait_until(
        "100 acknowledged sends and a few blocks",
        Duration::from_secs(60),
        || {
            let (rpc, counter) = (rpc.clone(), counter.clone());
            let refusals = early_refusals.lock().expect("lock").clone();
            async move {
                // Before the kill nothing may be refused: say what was, at once.
                assert!(
                    refusals.is_empty(),
                    "sends refused before the kill: {refusals:?}"
                );
                let n = counter.lock().expect("lock").len();
                (n >= 100 && rpc.block_number().await >= 3).then_some(())
            }
        },
    )
    .await;
    seq.kill9();
    for sender in senders {
        within("a sender to stop", WAIT, sender)
            .await
            .expect("sender task");
    }
    let refused = refused.lock().expect("lock").clone();
    assert!(
        refused.is_empty(),
        "valid sends were refused before the crash: {refused:?}"
    );
    let acked = acked.lock().expect("lock").clone();
    let total = (KEYS as u64 * PER_KEY) as usize;
    assert!(
        acked.len() < total,
        "the kill came before all {total} sends were acknowledged"
    );

    let seq = SequencerProcess::start(&db_url, 0, &log).await;
    // Every acknowledged hash gets a successful receipt (the restored pool is mined at once).
    let mut remaining = acked.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !remaining.is_empty() {
        let mut still = Vec::new();
        for (key, nonce, hash) in remaining {
            let receipt = seq
                .rpc
                .result("eth_getTransactionReceipt", json!([hash]))
                .await;
            if receipt.is_null() {
                still.push((key, nonce, hash));
            } else {
                assert_eq!(receipt["status"], "0x1", "{receipt}");
            }
        }
        remaining = still;
        assert!(
            remaining.is_empty() || std::time::Instant::now() < deadline,
            "{} of {} acknowledged transactions have no receipt 60 s after the restart (key, nonce, hash): {:?}",
            remaining.len(),
            acked.len(),
            &remaining[..remaining.len().min(10)]
        );
        if !remaining.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for (key, address) in DEV_ADDRESSES.iter().enumerate().take(KEYS) {
        let highest = acked
            .iter()
            .filter(|(k, ..)| *k == key)
            .map(|(_, n, _)| n + 1)
            .max()
            .unwrap_or(0);
        let nonce = seq.rpc.nonce(*address, "latest").await;
        assert!(
            nonce >= highest,
            "dev {key}: nonce {nonce} after restart, but nonce {} was acknowledged",
            highest - 1
        );
    }
}
