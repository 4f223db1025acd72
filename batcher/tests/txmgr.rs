//! The L1 transaction manager against a real Anvil.
//!
//! Tests that only need an automining chain share one Anvil, each with its own
//! dev key; tests that stop mining, spike the base fee or reorg get their own.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_eips::eip4844::builder::{SidecarCoder, SimpleCoder};
use alloy_primitives::{Address, B256, Bytes, U256, address, bytes};
use alloy_signer_local::PrivateKeySigner;
use common::anvil::{Anvil, free_port};
use rollup_batcher::txmgr::{
    BalanceCheck, BlobSidecarFormat, ConfirmationStatus, FeeBid, MAX_BLOBS_PER_TX, NetworkFees,
    RebroadcastOutcome, Sent, TxCandidate, TxManager, TxManagerConfig, TxManagerError,
    blob_sidecar, bump_bid, check_balance, initial_bid, max_blob_payload, max_cost,
};
use rollup_core::chain::DEV_PRIVATE_KEYS;
use serde_json::{Value, json};

const CHAIN_ID: u64 = 31337;
const SINK: Address = address!("0x00000000000000000000000000000000000c0ffe");
/// Where the always-reverting contract is installed.
const REVERTER: Address = address!("0x000000000000000000000000000000000000dead");
/// Runtime code: `revert(0, 4)` with memory holding the selector 0xdeadbeef.
const REVERTER_CODE: &str = "0x63deadbeef60e01b60005260046000fd";

fn fast_config() -> TxManagerConfig {
    TxManagerConfig {
        resubmit_after: Duration::from_millis(500),
        receipt_poll: Duration::from_millis(40),
        rpc_retry_initial: Duration::from_millis(50),
        rpc_retry_max: Duration::from_millis(200),
        // Anvil loads its KZG setup on the first blob transaction: seconds, on a busy machine.
        rpc_give_up_after: Duration::from_secs(30),
        rpc_timeout: Duration::from_secs(30),
        min_balance_wei: U256::ZERO,
        ..TxManagerConfig::default()
    }
}

fn dev_signer(i: usize) -> PrivateKeySigner {
    DEV_PRIVATE_KEYS[i].parse().expect("dev key")
}

fn manager(url: &str, key: usize, config: TxManagerConfig) -> TxManager {
    TxManager::connect(url, dev_signer(key), CHAIN_ID, config).expect("manager")
}

fn calldata(input: Bytes) -> TxCandidate {
    TxCandidate {
        to: SINK,
        input,
        ..Default::default()
    }
}

fn hex_u128(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().expect("hex string").trim_start_matches("0x"), 16).expect("hex")
}

/// Polls until `hash` is included (automine is quick, not synchronous).
async fn wait_included(mgr: &TxManager, hash: B256) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = mgr.confirmation_status(hash, 1).await.expect("status");
        if matches!(status, ConfirmationStatus::Confirmed { .. }) {
            return;
        }
        assert!(Instant::now() < deadline, "{hash} not included: {status:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Collects everything `tracing` writes on this thread while the guard lives.
struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    fn start() -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer_buf = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || BufWriter(writer_buf.clone()))
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        Self { buf, _guard: guard }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().expect("log buffer")).into_owned()
    }
}

struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ----- pure helpers -----

#[test]
fn blob_payload_limits_match_the_coder() {
    assert_eq!(max_blob_payload(0), 0);
    assert_eq!(max_blob_payload(1), 4095 * 31);
    let one = vec![7u8; max_blob_payload(1)];
    assert_eq!(SimpleCoder::default().required_fe(&one), 4096);
    assert_eq!(blob_sidecar(&one).expect("fits one blob").blobs.len(), 1);
    let two = vec![7u8; max_blob_payload(1) + 1];
    assert_eq!(blob_sidecar(&two).expect("needs two blobs").blobs.len(), 2);

    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sidecar = blob_sidecar(&data).expect("sidecar");
    assert_eq!(sidecar.blobs.len(), 3);
    let decoded = SimpleCoder::default()
        .decode_all(&sidecar.blobs)
        .expect("decodes");
    assert_eq!(decoded, vec![data]);

    assert!(matches!(blob_sidecar(&[]), Err(TxManagerError::Blob(_))));
    let too_big = vec![1u8; max_blob_payload(MAX_BLOBS_PER_TX) + 1];
    assert!(matches!(
        blob_sidecar(&too_big),
        Err(TxManagerError::Blob(_))
    ));
}

#[test]
fn fee_bids_bump_and_respect_caps() {
    let cfg = TxManagerConfig::default();
    let net = NetworkFees {
        base_fee: 10,
        priority_fee: 2,
        blob_base_fee: Some(5),
    };
    let bid = initial_bid(&net, &cfg).expect("bid");
    assert_eq!(
        bid,
        FeeBid {
            max_fee_per_gas: 22,
            max_priority_fee_per_gas: 2,
            max_fee_per_blob_gas: Some(10)
        }
    );
    // Above the cap but base + tip still fits: bid the cap.
    let capped = TxManagerConfig {
        max_fee_per_gas_cap: 15,
        ..cfg.clone()
    };
    assert_eq!(
        initial_bid(&net, &capped).expect("capped").max_fee_per_gas,
        15
    );
    // The network's minimum does not fit under the cap.
    let tight = TxManagerConfig {
        max_fee_per_gas_cap: 11,
        ..cfg.clone()
    };
    assert!(matches!(
        initial_bid(&net, &tight),
        Err(TxManagerError::FeeCapExceeded {
            needed: 12,
            cap: 11,
            ..
        })
    ));

    let prev = FeeBid {
        max_fee_per_gas: 100,
        max_priority_fee_per_gas: 10,
        max_fee_per_blob_gas: Some(4),
    };
    let quiet = NetworkFees {
        base_fee: 1,
        priority_fee: 1,
        blob_base_fee: Some(1),
    };
    // 20% on both 1559 caps, 100% (geth's minimum) on the blob cap.
    assert_eq!(
        bump_bid(&prev, &quiet, &cfg).expect("bump"),
        FeeBid {
            max_fee_per_gas: 120,
            max_priority_fee_per_gas: 12,
            max_fee_per_blob_gas: Some(8)
        }
    );
    // A bump below geth's 10% is raised to 10%.
    let small = TxManagerConfig {
        fee_bump_percent: 3,
        ..cfg.clone()
    };
    assert_eq!(
        bump_bid(&prev, &quiet, &small).expect("bump"),
        FeeBid {
            max_fee_per_gas: 110,
            max_priority_fee_per_gas: 11,
            max_fee_per_blob_gas: Some(8)
        }
    );
    // At least what the network asks for now.
    let busy = NetworkFees {
        base_fee: 1000,
        priority_fee: 50,
        blob_base_fee: Some(100),
    };
    assert_eq!(
        bump_bid(&prev, &busy, &cfg).expect("bump"),
        FeeBid {
            max_fee_per_gas: 2050,
            max_priority_fee_per_gas: 50,
            max_fee_per_blob_gas: Some(200)
        }
    );
    // Never above the cap; an error when even the minimum replacement exceeds it.
    let cap115 = TxManagerConfig {
        max_fee_per_gas_cap: 115,
        ..cfg.clone()
    };
    assert_eq!(
        bump_bid(&prev, &quiet, &cap115)
            .expect("bump")
            .max_fee_per_gas,
        115
    );
    let cap105 = TxManagerConfig {
        max_fee_per_gas_cap: 105,
        ..cfg.clone()
    };
    assert!(matches!(
        bump_bid(&prev, &quiet, &cap105),
        Err(TxManagerError::FeeCapExceeded {
            what: "max_fee_per_gas",
            ..
        })
    ));
    let blob_cap = TxManagerConfig {
        max_fee_per_blob_gas_cap: 7,
        ..cfg
    };
    assert!(matches!(
        bump_bid(&prev, &quiet, &blob_cap),
        Err(TxManagerError::FeeCapExceeded {
            what: "max_fee_per_blob_gas",
            needed: 8,
            cap: 7
        })
    ));
}

#[test]
fn balance_check_decides_warnings() {
    let bid = FeeBid {
        max_fee_per_gas: 10,
        max_priority_fee_per_gas: 1,
        max_fee_per_blob_gas: Some(2),
    };
    // 21000 gas * 10 + 2 blobs * 131072 * 2 + 5 value
    let cost = max_cost(21_000, &bid, 2, U256::from(5));
    assert_eq!(cost, U256::from(210_000 + 524_288 + 5));
    assert_eq!(
        check_balance(U256::from(100), U256::from(150), U256::ZERO),
        BalanceCheck::Insufficient {
            have: U256::from(100),
            need: U256::from(150)
        }
    );
    assert_eq!(
        check_balance(U256::from(200), U256::from(150), U256::from(100)),
        BalanceCheck::Low {
            remaining: U256::from(50)
        }
    );
    assert_eq!(
        check_balance(U256::from(300), U256::from(150), U256::from(100)),
        BalanceCheck::Sufficient
    );
}

// ----- against a shared automining Anvil -----

#[tokio::test]
async fn calldata_tx_is_mined() {
    let anvil = Anvil::shared();
    let mgr = manager(anvil.url(), 1, fast_config());
    let input = bytes!("0102030405");
    let mut seen = Vec::new();
    let receipt = mgr
        .send_and_wait(calldata(input.clone()), |s: &Sent| seen.push(s.clone()))
        .await
        .expect("mined");
    assert!(receipt.status());
    assert_eq!(seen.len(), 1);
    assert_eq!(receipt.transaction_hash, seen[0].hash);
    assert_eq!(receipt.from, mgr.address());
    assert_eq!(receipt.to, Some(SINK));
    let tx = anvil
        .rpc(
            "eth_getTransactionByHash",
            json!([receipt.transaction_hash]),
        )
        .await;
    assert_eq!(tx["input"], json!(input));
    assert_eq!(tx["type"], json!("0x2"));
    // The manager estimated the gas (21000 + calldata) and added its margin.
    assert!(
        seen[0].gas_limit > receipt.gas_used,
        "{} vs {}",
        seen[0].gas_limit,
        receipt.gas_used
    );
    assert!(mgr.balance().await.expect("balance") > U256::ZERO);
}

#[tokio::test]
async fn successive_sends_take_consecutive_nonces() {
    let anvil = Anvil::shared();
    let mgr = manager(anvil.url(), 2, fast_config());
    let start = hex_u128(
        &anvil
            .rpc("eth_getTransactionCount", json!([mgr.address(), "pending"]))
            .await,
    ) as u64;
    let mut sent = Vec::new();
    for i in 0..4u8 {
        sent.push(
            mgr.send(calldata(Bytes::from(vec![i])))
                .await
                .expect("send"),
        );
    }
    let nonces: Vec<u64> = sent.iter().map(|s| s.nonce).collect();
    assert_eq!(nonces, (start..start + 4).collect::<Vec<_>>());
    for s in &sent {
        wait_included(&mgr, s.hash).await;
    }
    // A manager started later (e.g. after a restart) continues from L1's pending nonce.
    let restarted = manager(anvil.url(), 2, fast_config());
    let next = restarted.send(calldata(bytes!("ff"))).await.expect("send");
    assert_eq!(next.nonce, start + 4);
}

#[tokio::test]
async fn stale_nonce_is_resynced() {
    let anvil = Anvil::shared();
    let a = manager(anvil.url(), 3, fast_config());
    let b = manager(anvil.url(), 3, fast_config());
    let first = a.send(calldata(bytes!("01"))).await.expect("a sends");
    // Someone else (here: a second manager on the same key) takes a's next nonce.
    let other = b.send(calldata(bytes!("02"))).await.expect("b sends");
    assert_eq!(other.nonce, first.nonce + 1);
    // a's tracked nonce is now too low: it resyncs from L1 and still gets through.
    let again = a.send(calldata(bytes!("03"))).await.expect("a resyncs");
    assert_eq!(again.nonce, first.nonce + 2);
    wait_included(&a, again.hash).await;
}

#[tokio::test]
async fn blob_tx_is_mined_with_matching_versioned_hashes() {
    let anvil = Anvil::shared();
    let mgr = manager(anvil.url(), 4, fast_config());
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let sidecar = blob_sidecar(&data).expect("sidecar");
    assert_eq!(sidecar.blobs.len(), 2);
    let expected: Vec<B256> = sidecar.versioned_hashes().collect();
    let mut seen = Vec::new();
    let receipt = mgr
        .send_and_wait(
            TxCandidate {
                to: SINK,
                input: bytes!("beef"),
                blobs: Some(sidecar),
                ..Default::default()
            },
            |s: &Sent| seen.push(s.clone()),
        )
        .await
        .expect("mined");
    assert!(receipt.status());
    assert_eq!(receipt.blob_gas_used, Some(2 * 131_072));
    assert!(seen[0].max_fee_per_blob_gas.is_some());
    let tx = anvil
        .rpc(
            "eth_getTransactionByHash",
            json!([receipt.transaction_hash]),
        )
        .await;
    assert_eq!(tx["type"], json!("0x3"));
    let on_chain: Vec<B256> =
        serde_json::from_value(tx["blobVersionedHashes"].clone()).expect("hashes");
    assert_eq!(on_chain, expected);
}

#[tokio::test]
async fn reverting_tx_reports_revert_data() {
    let anvil = Anvil::shared();
    anvil
        .rpc("anvil_setCode", json!([REVERTER, REVERTER_CODE]))
        .await;
    let mgr = manager(anvil.url(), 5, fast_config());
    let to_reverter = TxCandidate {
        to: REVERTER,
        input: bytes!("12345678"),
        ..Default::default()
    };

    // With the gas given, it is mined and reverts.
    let err = mgr
        .send_and_wait(
            TxCandidate {
                gas_limit: Some(100_000),
                ..to_reverter.clone()
            },
            |_: &Sent| {},
        )
        .await
        .expect_err("reverts");
    match err {
        TxManagerError::Reverted {
            receipt,
            revert_data,
        } => {
            assert!(!receipt.status());
            assert_eq!(revert_data, Some(bytes!("deadbeef")));
        }
        other => panic!("expected Reverted, got {other:?}"),
    }

    // Without, gas estimation already fails and nothing is sent.
    let nonce_before = hex_u128(
        &anvil
            .rpc("eth_getTransactionCount", json!([mgr.address(), "pending"]))
            .await,
    );
    let err = mgr
        .send_and_wait(to_reverter, |_: &Sent| {})
        .await
        .expect_err("would revert");
    match err {
        TxManagerError::WouldRevert { revert_data, .. } => {
            assert_eq!(revert_data, Some(bytes!("deadbeef")));
        }
        other => panic!("expected WouldRevert, got {other:?}"),
    }
    let nonce_after = hex_u128(
        &anvil
            .rpc("eth_getTransactionCount", json!([mgr.address(), "pending"]))
            .await,
    );
    assert_eq!(nonce_before, nonce_after);
}

#[tokio::test]
async fn balance_checks_refuse_and_warn() {
    let anvil = Anvil::shared();
    let signer = PrivateKeySigner::random();
    let address = signer.address();
    // Far too little for 21000 gas at ~1 gwei.
    anvil
        .rpc("anvil_setBalance", json!([address, "0x1000"]))
        .await;
    let mgr =
        TxManager::connect(anvil.url(), signer.clone(), CHAIN_ID, fast_config()).expect("mgr");
    match mgr.send(calldata(Bytes::new())).await {
        Err(TxManagerError::InsufficientFunds {
            address: a,
            have,
            need,
        }) => {
            assert_eq!(a, address);
            assert_eq!(have, U256::from(0x1000));
            assert!(need > have);
        }
        other => panic!("expected InsufficientFunds, got {other:?}"),
    }

    // Enough for one transaction but below the configured minimum: sent, with a warning.
    anvil
        .rpc("anvil_setBalance", json!([address, "0x2386f26fc10000"]))
        .await; // 0.01 ETH
    let config = TxManagerConfig {
        min_balance_wei: U256::from(1_000_000_000_000_000_000u128),
        ..fast_config()
    };
    let mgr = TxManager::connect(anvil.url(), signer, CHAIN_ID, config).expect("mgr");
    let logs = LogCapture::start();
    let receipt = mgr
        .send_and_wait(calldata(Bytes::new()), |_: &Sent| {})
        .await
        .expect("mined");
    assert!(receipt.status());
    let text = logs.text();
    assert!(
        text.contains("WARN") && text.contains("balance is running low"),
        "{text}"
    );
}

#[tokio::test]
async fn fee_cap_is_enforced() {
    let anvil = Anvil::shared();
    let config = TxManagerConfig {
        max_fee_per_gas_cap: 1_000,
        ..fast_config()
    };
    let mgr = manager(anvil.url(), 6, config);
    match mgr.send(calldata(Bytes::new())).await {
        Err(TxManagerError::FeeCapExceeded {
            what: "max_fee_per_gas",
            needed,
            cap: 1_000,
        }) => {
            assert!(needed > 1_000);
        }
        other => panic!("expected FeeCapExceeded, got {other:?}"),
    }
}

#[tokio::test]
async fn resume_after_restart_finds_the_receipt() {
    let anvil = Anvil::shared();
    let candidate = calldata(bytes!("abcdef"));
    let sent = manager(anvil.url(), 7, fast_config())
        .send(candidate.clone())
        .await
        .expect("send");
    // A new process: it has only what the old one persisted (mined meanwhile).
    let restarted = manager(anvil.url(), 7, fast_config());
    wait_included(&restarted, sent.hash).await;
    assert_eq!(
        restarted.rebroadcast(&sent.raw).await.expect("rebroadcast"),
        RebroadcastOutcome::NonceConsumed
    );
    let receipt = restarted
        .resume(candidate, vec![sent.clone()], |_: &Sent| {
            panic!("nothing to resend")
        })
        .await
        .expect("receipt");
    assert_eq!(receipt.transaction_hash, sent.hash);
}

// ----- with their own Anvil -----

#[tokio::test]
async fn stuck_tx_is_replaced_with_bumped_fees() {
    let anvil = Anvil::start_with(&["--no-mining"]);
    let mgr = Arc::new(manager(anvil.url(), 0, fast_config()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Sent>();
    let task = {
        let mgr = mgr.clone();
        tokio::spawn(async move {
            mgr.send_and_wait(calldata(bytes!("5717c4")), move |s: &Sent| {
                tx.send(s.clone()).expect("test listens");
            })
            .await
        })
    };
    let recv = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<Sent>| {
        tokio::time::timeout(Duration::from_secs(15), rx.recv())
            .await
            .expect("a (re)broadcast in time")
            .expect("sender alive")
    };
    let first = recv(&mut rx).await;
    assert_eq!(
        mgr.rebroadcast(&first.raw).await.expect("rebroadcast"),
        RebroadcastOutcome::AlreadyKnown
    );

    // The base fee jumps past the first bid: the next block leaves it out.
    let spike = first.max_fee_per_gas * 10;
    anvil
        .rpc(
            "anvil_setNextBlockBaseFeePerGas",
            json!([format!("{spike:#x}")]),
        )
        .await;
    anvil.mine().await;
    let block = anvil
        .rpc("eth_getBlockByNumber", json!(["latest", false]))
        .await;
    assert_eq!(
        block["transactions"],
        json!([]),
        "first bid is below the base fee"
    );

    // Replacements: same nonce, fees bumped by >= 20%, until one covers the new base fee.
    let mut sends = vec![first];
    loop {
        let s = recv(&mut rx).await;
        let prev = sends.last().expect("one");
        assert_eq!(s.nonce, prev.nonce);
        assert_ne!(s.hash, prev.hash);
        assert!(s.max_fee_per_gas >= prev.max_fee_per_gas * 12 / 10);
        assert!(s.max_priority_fee_per_gas >= prev.max_priority_fee_per_gas * 12 / 10);
        let covers = s.max_fee_per_gas >= spike;
        sends.push(s);
        if covers {
            break;
        }
    }
    // The first version is refused now (below the base fee, and replaced in the pool).
    assert_eq!(
        mgr.rebroadcast(&sends[0].raw).await.expect("rebroadcast"),
        RebroadcastOutcome::Underpriced
    );
    anvil.mine().await;
    let receipt = tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("in time")
        .expect("task")
        .expect("mined");
    assert!(receipt.status());
    let ours: Vec<B256> = sends.iter().map(|s| s.hash).collect();
    assert!(
        ours[1..].contains(&receipt.transaction_hash),
        "a replacement was mined"
    );
    assert!(receipt.effective_gas_price >= spike * 7 / 8);
    assert_eq!(
        mgr.rebroadcast(&sends[0].raw).await.expect("rebroadcast"),
        RebroadcastOutcome::NonceConsumed
    );
}

#[tokio::test]
async fn nonce_taken_by_a_foreign_tx() {
    let anvil = Anvil::start_with(&["--no-mining"]);
    let config = TxManagerConfig {
        resubmit_after: Duration::from_secs(60),
        ..fast_config()
    };
    let mgr = Arc::new(manager(anvil.url(), 0, config));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Sent>();
    let task = {
        let mgr = mgr.clone();
        tokio::spawn(async move {
            mgr.send_and_wait(calldata(bytes!("01")), move |s: &Sent| {
                tx.send(s.clone()).expect("test listens");
            })
            .await
        })
    };
    let first = rx.recv().await.expect("sent");
    // Another transaction of the same key and nonce, paying more, replaces ours (anvil's
    // dev accounts are unlocked, so eth_sendTransaction signs it).
    anvil
        .rpc(
            "eth_sendTransaction",
            json!([{
                "from": mgr.address(),
                "to": address!("0x0000000000000000000000000000000000000bad"),
                "value": "0x1",
                "gas": "0x5208",
                "nonce": format!("{:#x}", first.nonce),
                "maxFeePerGas": format!("{:#x}", first.max_fee_per_gas * 3),
                "maxPriorityFeePerGas": format!("{:#x}", first.max_priority_fee_per_gas * 3 + 1),
            }]),
        )
        .await;
    anvil.mine().await;
    let err = tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("in time")
        .expect("task")
        .expect_err("nonce taken");
    match err {
        TxManagerError::NonceTaken { nonce, ours } => {
            assert_eq!(nonce, first.nonce);
            assert_eq!(ours, vec![first.hash]);
        }
        other => panic!("expected NonceTaken, got {other:?}"),
    }
}

#[tokio::test]
async fn reorg_drops_an_included_tx() {
    let anvil = Anvil::start();
    let config = TxManagerConfig {
        confirmations: 3,
        ..fast_config()
    };
    let mgr = manager(anvil.url(), 0, config);
    let snapshot = anvil.snapshot().await;
    let mut sent = Vec::new();
    let receipt = mgr
        .send_and_wait(calldata(bytes!("0e0e")), |s: &Sent| sent.push(s.clone()))
        .await
        .expect("mined");
    let hash = receipt.transaction_hash;
    let block = receipt.block_number.expect("block");
    assert_eq!(
        mgr.confirmation_status(hash, 3).await.expect("status"),
        ConfirmationStatus::Pending { block, depth: 1 }
    );
    anvil.mine().await;
    anvil.mine().await;
    match mgr.wait_confirmed(hash).await.expect("confirmed") {
        ConfirmationStatus::Confirmed {
            block: b,
            block_hash,
            depth,
        } => {
            assert_eq!((b, depth), (block, 3));
            assert_eq!(Some(block_hash), receipt.block_hash);
        }
        other => panic!("expected Confirmed, got {other:?}"),
    }

    // L1 reorg: the blocks holding it are gone, and so is the transaction.
    anvil.revert(snapshot).await;
    assert_eq!(
        mgr.confirmation_status(hash, 3).await.expect("status"),
        ConfirmationStatus::Dropped
    );
    assert_eq!(
        mgr.wait_confirmed(hash).await.expect("status"),
        ConfirmationStatus::Dropped
    );

    // The caller resubmits what it persisted; it is included again.
    assert_eq!(
        mgr.rebroadcast(&sent[0].raw).await.expect("rebroadcast"),
        RebroadcastOutcome::Accepted(hash)
    );
    wait_included(&mgr, hash).await;
}

#[tokio::test]
async fn a_tx_dropped_from_the_l1_mempool_is_sent_again_with_bumped_fees() {
    let anvil = Anvil::start_with(&["--no-mining"]);
    let mgr = Arc::new(manager(anvil.url(), 0, fast_config()));
    let sent = Arc::new(Mutex::new(Vec::<Sent>::new()));
    let task = tokio::spawn({
        let (mgr, sent) = (mgr.clone(), sent.clone());
        async move {
            mgr.send_and_wait(calldata(bytes!("d0")), |s: &Sent| {
                sent.lock().expect("sent").push(s.clone())
            })
            .await
        }
    });
    let first = loop {
        if let Some(first) = sent.lock().expect("sent").first().cloned() {
            break first;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // L1 forgets it (a node restart, mempool eviction).
    anvil
        .rpc("anvil_dropTransaction", json!([first.hash]))
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while sent.lock().expect("sent").len() < 2 {
        assert!(Instant::now() < deadline, "no replacement was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anvil.set_automine(true).await;
    anvil.mine().await;
    let receipt = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("in time")
        .expect("task")
        .expect("mined");
    let replacement = sent.lock().expect("sent")[1].clone();
    assert_eq!(replacement.nonce, first.nonce);
    assert!(replacement.max_fee_per_gas > first.max_fee_per_gas);
    assert_ne!(
        receipt.transaction_hash, first.hash,
        "the dropped one cannot be mined"
    );
}

#[tokio::test]
async fn a_tx_behind_a_nonce_gap_is_given_up_and_the_nonce_resynced() {
    // L1 loses our earlier transaction (a node restarted from an older state): the one
    // after it can never be mined, whatever its fees.
    let anvil = Anvil::start_with(&["--no-mining"]);
    let mgr = manager(anvil.url(), 0, fast_config());
    let lost = mgr.send(calldata(bytes!("01"))).await.expect("first");
    let stuck = mgr.send(calldata(bytes!("02"))).await.expect("second");
    assert_eq!(stuck.nonce, lost.nonce + 1);
    anvil.rpc("anvil_dropTransaction", json!([lost.hash])).await;
    let err = mgr
        .resume(calldata(bytes!("02")), vec![stuck.clone()], |_: &Sent| {})
        .await
        .expect_err("stuck behind the gap");
    match err {
        TxManagerError::NonceGap { nonce, l1_next } => {
            assert_eq!((nonce, l1_next), (stuck.nonce, lost.nonce));
        }
        other => panic!("expected NonceGap, got {other:?}"),
    }
    // The next send takes L1's nonce again, and is mined.
    anvil
        .rpc("anvil_dropTransaction", json!([stuck.hash]))
        .await;
    anvil.set_automine(true).await;
    let resent = mgr.send(calldata(bytes!("03"))).await.expect("resent");
    assert_eq!(resent.nonce, lost.nonce);
    wait_included(&mgr, resent.hash).await;
}

#[tokio::test]
async fn l1_down_gives_up_after_the_configured_time() {
    let port = free_port(); // nothing listens there
    let config = TxManagerConfig {
        rpc_give_up_after: Duration::from_secs(1),
        ..fast_config()
    };
    let mgr = manager(&format!("http://127.0.0.1:{port}"), 0, config);
    let logs = LogCapture::start();
    let started = Instant::now();
    let err = mgr.balance().await.expect_err("L1 is down");
    let elapsed = started.elapsed();
    match &err {
        TxManagerError::L1Unavailable {
            url,
            method,
            attempts,
            ..
        } => {
            assert_eq!(url, &format!("http://127.0.0.1:{port}"));
            assert_eq!(*method, "eth_getBalance");
            assert!(*attempts >= 4, "{attempts} attempts");
        }
        other => panic!("expected L1Unavailable, got {other:?}"),
    }
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    let text = logs.text();
    assert!(
        text.contains("WARN")
            && text.contains(&format!("127.0.0.1:{port}"))
            && text.contains("retrying"),
        "{text}"
    );
    assert!(matches!(
        mgr.send(calldata(Bytes::new())).await,
        Err(TxManagerError::L1Unavailable { .. })
    ));
}

#[tokio::test]
async fn l1_coming_back_within_the_window_succeeds() {
    let port = free_port();
    let config = TxManagerConfig {
        rpc_give_up_after: Duration::from_secs(30),
        ..fast_config()
    };
    let mgr = manager(&format!("http://127.0.0.1:{port}"), 0, config);
    let task = tokio::spawn(async move {
        mgr.send_and_wait(calldata(bytes!("b0")), |_: &Sent| {})
            .await
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!task.is_finished(), "still retrying");
    let _anvil = Anvil::start_on(port, &[]);
    let receipt = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("in time")
        .expect("task")
        .expect("sent once L1 is back");
    assert!(receipt.status());
}

#[tokio::test]
async fn blob_tx_with_cell_proofs_on_osaka() {
    let anvil = Anvil::start_with(&["--hardfork", "osaka"]);
    let config = TxManagerConfig {
        blob_sidecar_format: BlobSidecarFormat::Eip7594,
        ..fast_config()
    };
    let mgr = manager(anvil.url(), 0, config);
    let sidecar = blob_sidecar(b"one small blob").expect("sidecar");
    let expected: Vec<B256> = sidecar.versioned_hashes().collect();
    let receipt = mgr
        .send_and_wait(
            TxCandidate {
                to: SINK,
                blobs: Some(sidecar),
                ..Default::default()
            },
            |_: &Sent| {},
        )
        .await
        .expect("mined");
    assert!(receipt.status());
    let tx = anvil
        .rpc(
            "eth_getTransactionByHash",
            json!([receipt.transaction_hash]),
        )
        .await;
    let on_chain: Vec<B256> =
        serde_json::from_value(tx["blobVersionedHashes"].clone()).expect("hashes");
    assert_eq!(on_chain, expected);
}
