//! End-to-end tests of the batcher against a real anvil and an in-process
//! sequencer: whatever the batcher posts (calldata or blobs, one or several L1
//! transactions per batch, across restarts, kill -9 and L1 reorgs), reading L1
//! alone re-derives exactly the sequencer's chain, every block once.

#[path = "../common/mod.rs"]
mod common;
mod harness;

use common::anvil::Anvil;
use harness::*;
use rollup_batcher::{
    config::DataKind,
    service::{Batcher, StepOutcome},
    store::BatchStatus,
};
use rollup_sequencer::{
    store::Store,
    sync_l1::{SyncConfig, sync_from_l1},
};
use std::time::Duration;

async fn run_case(kind: DataKind, max_piece_bytes: usize, txs: usize) {
    let anvil = Anvil::start();
    let sequencer = Sequencer::start(anvil.url(), Duration::from_millis(100)).await;
    let (_, genesis_root) = sequencer.block(0).await;
    let key = dev_key(2);
    let rollup = deploy_rollup(anvil.url(), key.address(), genesis_root).await;
    send_load(&sequencer.url, txs).await;
    let through = sequencer.head();
    let db = tempfile::tempdir().expect("tempdir");
    let mut config = batcher_config(&anvil, &sequencer.url, rollup, key, &db, kind);
    config.max_piece_bytes = max_piece_bytes;
    config.max_blocks = 2;
    let mut batcher = Batcher::new(config).await.expect("batcher starts");
    post_through(&mut batcher, anvil.url(), rollup, through).await;
    let commitments = assert_l1_rederives(anvil.url(), rollup, &sequencer, through).await;
    assert!(
        commitments >= 2,
        "expected several batches, got {commitments}"
    );
    // The store agrees with L1: contiguous ranges, nothing twice.
    let rows = batcher
        .store()
        .batches_in(&[BatchStatus::Included, BatchStatus::Final])
        .await
        .expect("rows");
    let mut next = 1;
    for row in &rows {
        assert_eq!(row.first_block, next, "store rows are not contiguous");
        next = row.last_block + 1;
    }
    assert!(next > through);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calldata_batches_rederive_the_sequencer_chain() {
    run_case(DataKind::Calldata, 120_000, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_larger_than_one_transaction_are_staged_in_pieces() {
    // 1,024-byte pieces: every batch spans several L1 transactions.
    run_case(DataKind::Calldata, 1024, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_batches_rederive_the_sequencer_chain() {
    run_case(DataKind::Blobs, 120_000, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_removed_by_an_l1_reorg_is_posted_again() {
    let setup = TestRollup::start(3, 60).await;
    let (anvil, sequencer, rollup) = (&setup.anvil, &setup.sequencer, setup.address);
    let db = tempfile::tempdir().expect("tempdir");
    let mut batcher = setup.calldata_batcher(&db).await;

    // Post one batch, then take L1 back to before it.
    let snapshot = anvil.snapshot().await;
    let first = loop {
        match batcher.step().await.expect("step") {
            StepOutcome::Posted { last_block, .. } => break last_block,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(next_l2_block(anvil.url(), rollup).await, first + 1);
    anvil.revert(snapshot).await;
    assert_eq!(
        next_l2_block(anvil.url(), rollup).await,
        1,
        "the reorg removed the batch"
    );

    // The batcher notices (its batch's receipt is gone) and posts the blocks again.
    let through = sequencer.head();
    post_through(&mut batcher, anvil.url(), rollup, through).await;
    let dropped = batcher
        .store()
        .batches_in(&[BatchStatus::Dropped])
        .await
        .expect("rows");
    assert_eq!(dropped.len(), 1, "the removed batch is recorded as dropped");
    assert_eq!(dropped[0].last_block, first);
    assert_l1_rederives(anvil.url(), rollup, sequencer, through).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_sequencer_store_is_rebuilt_from_l1_with_identical_blocks() {
    let setup = TestRollup::start(5, 120).await;
    let (anvil, sequencer, rollup) = (&setup.anvil, &setup.sequencer, setup.address);
    let through = sequencer.head();
    let db = tempfile::tempdir().expect("tempdir");
    let mut batcher = setup.calldata_batcher(&db).await;
    post_through(&mut batcher, anvil.url(), rollup, through).await;

    // An empty store (the sequencer's database wiped), rebuilt from L1 alone.
    let wiped = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite://{}/synced.db", wiped.path().display()))
        .await
        .expect("empty store");
    let sync = SyncConfig {
        l1_rpc_url: anvil.url().into(),
        rollup,
        from_block: 0,
    };
    let report = sync_from_l1(&store, &sequencer.genesis(), &sync)
        .await
        .expect("sync from L1");
    assert!(
        report.head >= through,
        "{report:?}, posted through {through}"
    );
    for n in 0..=report.head {
        let (hash, state_root) = sequencer.block(n).await;
        let (header, synced_hash) = store
            .header_by_number(n)
            .await
            .expect("store")
            .unwrap_or_else(|| panic!("block {n} missing after the sync"));
        assert_eq!(synced_hash, hash, "block {n} hash");
        assert_eq!(header.state_root, state_root, "block {n} state root");
        let sequenced: Vec<_> = sequencer.block_txs(n).await;
        let synced: Vec<_> = store
            .block_txs(n)
            .await
            .expect("store")
            .into_iter()
            .map(|tx| *tx.tx.tx_hash())
            .collect();
        assert_eq!(synced, sequenced, "block {n} transactions");
    }
    assert_eq!(report.head_hash, sequencer.block(report.head).await.0);
    assert_eq!(report.state_root, sequencer.block(report.head).await.1);

    // Syncing again over the rebuilt store writes nothing and agrees.
    let again = sync_from_l1(&store, &sequencer.genesis(), &sync)
        .await
        .expect("second sync");
    assert_eq!(again.blocks_written, 0, "{again:?}");
    assert_eq!(again.head_hash, report.head_hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_restart_posts_every_block_exactly_once() {
    let anvil = Anvil::start();
    let sequencer = Sequencer::start(anvil.url(), Duration::from_millis(100)).await;
    let (_, genesis_root) = sequencer.block(0).await;
    let key = dev_key(4);
    let rollup = deploy_rollup(anvil.url(), key.address(), genesis_root).await;
    let db = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}/batcher.db", db.path().display());
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_batcher"))
            .args([
                "--l1.rpc-url",
                anvil.url(),
                "--l2.rpc-url",
                &sequencer.url,
                "--db.url",
                &db_url,
                "--rollup.address",
                &rollup.to_string(),
                "--private-key",
                rollup_core::chain::DEV_PRIVATE_KEYS[4],
                "--batch.max-blocks",
                "3",
                "--batch.interval-ms",
                "0",
                "--batch.max-piece-bytes",
                "1024",
                "--poll-ms",
                "50",
                // Any quality decodes the same way; 5 keeps the test fast.
                "--batch.compression-quality",
                "5",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the batcher binary")
    };
    let load = tokio::spawn({
        let url = sequencer.url.clone();
        async move { send_load(&url, 150).await }
    });
    // Kill -9 at moments spread over the run, restart each time.
    let mut child = spawn();
    for delay_ms in [700u64, 350, 900, 500, 250] {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        child = spawn();
    }
    load.await.expect("load");
    let through = sequencer.head();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while next_l2_block(anvil.url(), rollup).await <= through {
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted batcher did not post through {through}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().expect("kill");
    child.wait().expect("reap");
    assert_l1_rederives(anvil.url(), rollup, &sequencer, through).await;
}

/// How long L1 stays down in the outage test: `L1_OUTAGE_SECS` (`make chaos` runs 60).
fn l1_outage() -> Duration {
    let secs = std::env::var("L1_OUTAGE_SECS")
        .ok()
        .map(|v| v.parse().expect("L1_OUTAGE_SECS is a number of seconds"))
        .unwrap_or(5);
    Duration::from_secs(secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_l1_outage_is_ridden_out_and_l1_restarts_from_its_saved_state() {
    // Anvil keeps its state in a file (written every second): killed with SIGKILL it
    // loses what it mined since the last write, like a crashed L1 node restarting from
    // disk, i.e. a reorg of its last blocks.
    let l1_dir = tempfile::tempdir().expect("tempdir");
    let state = l1_dir.path().join("l1-state.json").display().to_string();
    let l1_args = ["--state", state.as_str(), "--state-interval", "1"];
    let mut anvil = Some(Anvil::start_with(&l1_args));
    let (port, l1) = {
        let a = anvil.as_ref().expect("anvil");
        (a.port(), a.url().to_string())
    };
    let sequencer = Sequencer::start(&l1, Duration::from_millis(100)).await;
    let (_, genesis_root) = sequencer.block(0).await;
    let key = dev_key(6);
    let rollup = deploy_rollup(&l1, key.address(), genesis_root).await;
    let db = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}/batcher.db", db.path().display());
    let log_path = db.path().join("batcher.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut batcher = std::process::Command::new(env!("CARGO_BIN_EXE_batcher"))
        .args(["--l1.rpc-url", &l1, "--l2.rpc-url", &sequencer.url])
        .args(["--db.url", &db_url, "--rollup.address", &rollup.to_string()])
        .args(["--private-key", rollup_core::chain::DEV_PRIVATE_KEYS[6]])
        .args(["--batch.max-blocks", "4", "--batch.interval-ms", "0"])
        .args(["--poll-ms", "50", "--batch.compression-quality", "5"])
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start the batcher binary");
    let load = tokio::spawn({
        let url = sequencer.url.clone();
        async move { send_load(&url, 200).await }
    });

    // Some batches land, L1 saves its state, more batches land; then L1 dies.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while next_l2_block(&l1, rollup).await <= 4 {
        assert!(std::time::Instant::now() < deadline, "nothing was posted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let l1_head_before = anvil.as_ref().expect("anvil").block_number().await;
    let posted_before = next_l2_block(&l1, rollup).await - 1;
    drop(anvil.take()); // SIGKILL
    let outage = l1_outage();
    println!(
        "L1 killed at block {l1_head_before} (L2 posted through {posted_before}); down for {outage:?}"
    );
    tokio::time::sleep(outage).await;
    assert!(
        batcher.try_wait().expect("batcher status").is_none(),
        "the batcher exited while L1 was down:\n{}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
    let l2_head_during = sequencer.head();

    // L1 comes back on the same port from its saved state.
    let restarted = std::time::Instant::now();
    let anvil = Anvil::start_on(port, &l1_args);
    let l1_head_after = anvil.block_number().await;
    println!(
        "L1 restarted from its saved state at block {l1_head_after} ({} blocks lost)",
        l1_head_before.saturating_sub(l1_head_after)
    );
    load.await.expect("load");
    let through = sequencer.head();
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while next_l2_block(&l1, rollup).await <= through {
        assert!(
            std::time::Instant::now() < deadline,
            "after L1 came back the batcher did not post through {through}:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caught_up = restarted.elapsed();
    batcher.kill().expect("kill");
    batcher.wait().expect("reap");
    let log_text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let retries = log_text.matches("retrying").count() + log_text.matches("step failed").count();
    assert!(
        retries > 0,
        "the batcher logged no retry while L1 was down:\n{log_text}"
    );
    let commitments = assert_l1_rederives(&l1, rollup, &sequencer, through).await;
    let store = rollup_batcher::store::Store::connect(&db_url)
        .await
        .expect("batcher store");
    let dropped = store
        .batches_in(&[BatchStatus::Dropped])
        .await
        .expect("rows")
        .len();
    println!(
        "| L1 down s | L1 blocks lost | L2 posted before | L2 head while down | batches re-posted | commitments | posted through | caught up s |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {} | {posted_before} | {l2_head_during} | {dropped} | {commitments} | {through} | {:.1} |",
        outage.as_secs(),
        l1_head_before.saturating_sub(l1_head_after),
        caught_up.as_secs_f64()
    );
    println!(
        "{}",
        serde_json::json!({
            "l1_outage_secs": outage.as_secs(),
            "l1_blocks_lost": l1_head_before.saturating_sub(l1_head_after),
            "batches_reposted": dropped,
            "commitments": commitments,
            "l2_blocks_rederived": through,
            "caught_up_secs": (caught_up.as_secs_f64() * 10.0).round() / 10.0,
        })
    );
}
