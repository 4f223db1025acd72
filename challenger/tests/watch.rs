//! The challenger's watcher against a real anvil, a sequencer and the batcher:
//! every honest commitment is found correct from L1 data alone; a wrong root
//! and corrupt batch data posted by a faulty batcher are reported, with the
//! root derivation gives, in the logs and on the JSON status endpoint.

#[path = "../../batcher/tests/common/mod.rs"]
mod common;
#[path = "../../batcher/tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use alloy_primitives::{B256, Bytes};
use common::anvil::Anvil;
use harness::*;
use rollup_batcher::{config::DataKind, l2::L2Client, service::Batcher};
use rollup_challenger::{
    status::serve_status,
    watcher::{Verdict, Watcher, WatcherConfig},
};
use rollup_core::{
    batch::{Batch, encode_batch},
    l1::Rollup,
};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A watcher of `rollup` on `anvil` from L1 block 0, deriving from the sequencer's genesis.
fn watcher_of(anvil: &Anvil, rollup: alloy_primitives::Address, sequencer: &Sequencer) -> Watcher {
    Watcher::new(WatcherConfig {
        l1_rpc_url: anvil.url().into(),
        rollup,
        genesis: sequencer.genesis(),
        from_block: 0,
        poll: Duration::from_millis(50),
    })
    .expect("watcher")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_roots_pass_and_wrong_or_corrupt_ones_are_reported() {
    let anvil = Anvil::start();
    let sequencer = Sequencer::start(anvil.url(), Duration::from_millis(100)).await;
    let (_, genesis_root) = sequencer.block(0).await;
    let key = dev_key(2);
    let rollup = deploy_rollup(anvil.url(), key.address(), genesis_root).await;
    send_load(&sequencer.url, 80).await;
    let through = sequencer.head();
    let db = tempfile::tempdir().expect("tempdir");
    let mut config = batcher_config(
        &anvil,
        &sequencer.url,
        rollup,
        key.clone(),
        &db,
        DataKind::Calldata,
    );
    config.max_blocks = 3;
    let mut batcher = Batcher::new(config).await.expect("batcher");
    post_through(&mut batcher, anvil.url(), rollup, through).await;
    drop(batcher);

    let mut watcher = watcher_of(&anvil, rollup, &sequencer);
    watcher.check_genesis().await.expect("same genesis");
    let checked = watcher.check_new().await.expect("check");
    assert!(checked.len() >= 2, "several honest commitments");
    for c in &checked {
        assert_eq!(
            c.verdict,
            Verdict::Correct,
            "commitment {} wrongly flagged",
            c.index
        );
    }
    assert!(watcher.check_new().await.expect("again").is_empty());

    // A faulty batcher: the right blocks with a wrong root, then garbage.
    send_load(&sequencer.url, 10).await;
    let next = next_l2_block(anvil.url(), rollup).await;
    let head = sequencer.head();
    let (_, true_root) = sequencer.block(head).await;
    let wrong = B256::repeat_byte(0xee);
    submit_faulty(
        &anvil,
        &sequencer,
        rollup,
        key.clone(),
        (next, head),
        wrong,
        None,
    )
    .await;
    let flagged = watcher.check_new().await.expect("check");
    assert_eq!(flagged.len(), 1);
    assert_eq!(
        flagged[0].verdict,
        Verdict::WrongRoot { derived: true_root }
    );

    // The contract now builds on the wrong root; corrupt data on top of it.
    send_load(&sequencer.url, 5).await;
    let (first, last) = (head + 1, sequencer.head());
    let garbage = Rollup::submitBatchCall {
        prevStateRoot: wrong,
        postStateRoot: B256::repeat_byte(0x11),
        firstL2Block: first,
        lastL2Block: last,
        inputsRoot: B256::repeat_byte(0x12),
        batchData: Bytes::from_static(b"\x01 not brotli at all"),
    };
    send_submit(&anvil, key.clone(), rollup, garbage).await;
    let flagged = watcher.check_new().await.expect("check");
    assert_eq!(flagged.len(), 1);
    assert!(
        matches!(flagged[0].verdict, Verdict::WrongPrevRoot { derived } if derived == true_root),
        "a commitment on top of a wrong root is flagged: {:?}",
        flagged[0].verdict
    );

    // The status endpoint tells the same.
    let cancel = CancellationToken::new();
    let (addr, _server) = serve_status(
        "127.0.0.1:0".parse().expect("addr"),
        watcher.status(),
        cancel.clone(),
    )
    .await
    .expect("serve");
    let status: serde_json::Value = reqwest::get(format!("http://{addr}/status"))
        .await
        .expect("GET /status")
        .json()
        .await
        .expect("JSON");
    assert_eq!(status["checked"], checked.len() as u64 + 2);
    assert_eq!(status["disputed"], 2);
    assert_eq!(status["problems"][0]["verdict"], "wrong_root");
    assert_eq!(status["problems"][0]["derived"], format!("{true_root}"));
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_batch_data_is_underivable_not_a_panic() {
    let anvil = Anvil::start();
    let sequencer = Sequencer::start(anvil.url(), Duration::from_millis(100)).await;
    let (_, genesis_root) = sequencer.block(0).await;
    let key = dev_key(3);
    let rollup = deploy_rollup(anvil.url(), key.address(), genesis_root).await;
    send_load(&sequencer.url, 10).await;
    let head = sequencer.head();
    // Truncated real data, then plain garbage: both must be reported, never panic.
    let l2 = L2Client::new(&sequencer.url).expect("l2");
    let parent = l2.block(0).await.expect("l2").expect("genesis");
    let blocks = l2.blocks(1, head).await.expect("blocks");
    let encoded = encode_batch(&Batch {
        parent_hash: parent.hash,
        first_block: 1,
        blocks: blocks.iter().map(|b| b.batch_block()).collect(),
    })
    .expect("encode");
    let truncated = Bytes::copy_from_slice(&encoded[..encoded.len() / 2]);
    submit_faulty(
        &anvil,
        &sequencer,
        rollup,
        key.clone(),
        (1, head),
        B256::repeat_byte(0x22),
        Some(truncated),
    )
    .await;
    let mut watcher = watcher_of(&anvil, rollup, &sequencer);
    let flagged = watcher.check_new().await.expect("check");
    assert_eq!(flagged.len(), 1);
    assert!(
        matches!(&flagged[0].verdict, Verdict::Underivable { reason } if reason.starts_with("batch data")),
        "{:?}",
        flagged[0].verdict
    );

    // A well-formed batch whose transaction names another chain: the batch decodes but
    // breaks derivation rule 4, so it derives nothing. A second, independent watcher (another
    // honest node) reaches exactly the same verdict.
    let rollup = deploy_rollup(anvil.url(), key.address(), genesis_root).await;
    let mut batch = Batch {
        parent_hash: parent.hash,
        first_block: 1,
        blocks: blocks.iter().map(|b| b.batch_block()).collect(),
    };
    let block = batch
        .blocks
        .iter_mut()
        .find(|b| !b.transactions.is_empty())
        .expect("a block with transactions");
    let mut raw = block.transactions[0].to_vec();
    assert_eq!(raw[0], 2, "an EIP-1559 transaction");
    // 0x02 ‖ list header ‖ chain id 42069 = 0x82 0xa4 0x55: make it 42068.
    let header = if raw[1] >= 0xf8 {
        1 + (raw[1] - 0xf7) as usize
    } else {
        1
    };
    assert_eq!(&raw[1 + header..4 + header], &[0x82, 0xa4, 0x55]);
    raw[3 + header] ^= 1;
    block.transactions[0] = Bytes::from(raw);
    submit_faulty(
        &anvil,
        &sequencer,
        rollup,
        key.clone(),
        (1, head),
        B256::repeat_byte(0x23),
        Some(encode_batch(&batch).expect("encode")),
    )
    .await;
    let mut verdicts = Vec::new();
    for _ in 0..2 {
        let mut watcher = watcher_of(&anvil, rollup, &sequencer);
        let flagged = watcher.check_new().await.expect("check");
        assert_eq!(flagged.len(), 1);
        verdicts.push(flagged[0].verdict.clone());
    }
    assert!(
        matches!(&verdicts[0], Verdict::Underivable { reason } if reason.starts_with("derivation")),
        "{:?}",
        verdicts[0]
    );
    assert_eq!(verdicts[0], verdicts[1], "honest watchers agree");
}
