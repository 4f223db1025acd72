//! Shared pieces of the end-to-end tests: a real anvil as L1, the Rollup
//! contract deployed from forge's build output, an in-process sequencer that
//! follows that L1, load, and the check that the chain derived from L1 alone is
//! the sequencer's chain, every block exactly once.

use crate::common::anvil::Anvil;
pub(crate) use crate::common::contracts::contract_bytecode;
use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolConstructor, sol};
use rollup_batcher::{
    config::DataKind,
    reader::BatchReader,
    service::{Batcher, BatcherConfig, StepOutcome},
};
use rollup_core::{
    chain::{DEV_PRIVATE_KEYS, Genesis},
    derive::Deriver,
    l1::Rollup,
};
use rollup_sequencer::{
    config::{Config, Running, launch},
    l1_origin::L1FollowConfig,
};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// L2 chain id of the test sequencers.
pub(crate) const CHAIN_ID: u64 = 42069;

sol! {
    /// The Rollup constructor, for deployment.
    contract RollupDeploy {
        constructor(address batcher_, uint256 bond_, uint256 challengePeriod_, bytes32 genesisStateRoot_);
    }
}

/// Logs of the in-process services, shown for failing tests (RUST_LOG filters).
fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_test_writer()
        .try_init();
}

/// The Rollup's creation code.
fn rollup_bytecode() -> Bytes {
    contract_bytecode("Rollup")
}

/// Deploys `code` (creation code with constructor arguments) from dev key 0.
pub(crate) async fn deploy_code(l1: &str, code: Vec<u8>) -> Address {
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(0)))
        .connect_http(l1.parse().expect("url"));
    let receipt = provider
        .send_transaction(TransactionRequest::default().with_deploy_code(code))
        .await
        .expect("send deployment")
        .get_receipt()
        .await
        .expect("deployment receipt");
    assert!(receipt.status(), "deployment reverted");
    receipt.contract_address.expect("created address")
}

/// Dev key `i` (funded on anvil and in the sequencer's dev genesis).
pub(crate) fn dev_key(i: usize) -> PrivateKeySigner {
    DEV_PRIVATE_KEYS[i].parse().expect("dev key")
}

/// Deploys a Rollup whose batcher is `batcher`, bond 0.01 ether, on `l1`.
pub(crate) async fn deploy_rollup(l1: &str, batcher: Address, genesis_root: B256) -> Address {
    let mut code = rollup_bytecode().to_vec();
    code.extend(
        RollupDeploy::constructorCall {
            batcher_: batcher,
            bond_: U256::from(10_000_000_000_000_000u64),
            challengePeriod_: U256::from(300),
            genesisStateRoot_: genesis_root,
        }
        .abi_encode(),
    );
    deploy_code(l1, code).await
}

/// An in-process sequencer following `l1`, with its data in a temporary folder.
pub(crate) struct Sequencer {
    /// The node.
    pub(crate) running: Option<Running>,
    /// Its HTTP URL.
    pub(crate) url: String,
    _dir: TempDir,
}

impl Sequencer {
    /// Starts a sequencer with `block_time` that follows `l1` for L1 origins.
    pub(crate) async fn start(l1: &str, block_time: Duration) -> Self {
        init_logs();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::dev(
            CHAIN_ID,
            format!("sqlite://{}/seq.db", dir.path().display()),
        );
        config.node.block_time = block_time;
        config.l1 = Some(L1FollowConfig {
            rpc_url: l1.into(),
            poll_interval: Duration::from_millis(100),
            confirmations: 0,
        });
        let running = launch(config).await.expect("launch the sequencer");
        Self {
            url: running.http_url(),
            running: Some(running),
            _dir: dir,
        }
    }

    /// Its genesis (to derive from).
    pub(crate) fn genesis(&self) -> Genesis {
        Genesis::dev(self.running.as_ref().expect("running").node.chain.clone())
    }

    /// Head number.
    pub(crate) fn head(&self) -> u64 {
        self.running.as_ref().expect("running").node.head_number()
    }

    /// Hashes of block `n`'s transactions, in order.
    pub(crate) async fn block_txs(&self, n: u64) -> Vec<B256> {
        self.running
            .as_ref()
            .expect("running")
            .node
            .store
            .block_txs(n)
            .await
            .expect("store")
            .into_iter()
            .map(|tx| *tx.tx.tx_hash())
            .collect()
    }

    /// Hash and state root of block `n`.
    pub(crate) async fn block(&self, n: u64) -> (B256, B256) {
        let (header, hash) = self
            .running
            .as_ref()
            .expect("running")
            .node
            .store
            .header_by_number(n)
            .await
            .expect("store")
            .expect("block exists");
        (hash, header.state_root)
    }
}

impl Drop for Sequencer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.cancel.cancel();
        }
    }
}

/// Sends `count` L2 transactions: transfers from dev keys 5..9 and, every tenth, a
/// contract creation (so that batches carry calldata-heavy transactions too).
pub(crate) async fn send_load(l2: &str, count: usize) {
    let mut senders = Vec::new();
    for i in 5..10 {
        let key = dev_key(i);
        let address = key.address();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(key))
            .connect_http(l2.parse().expect("url"));
        let nonce = provider
            .get_transaction_count(address)
            .pending()
            .await
            .expect("nonce");
        senders.push((provider, nonce));
    }
    let mut pending = Vec::new();
    for n in 0..count {
        let (provider, nonce) = &mut senders[n % 5];
        let tx = if n % 10 == 9 {
            // Init code that returns a 32-byte runtime of PUSH0s and STOP.
            TransactionRequest::default()
                .with_deploy_code(Bytes::from_static(&[0x60, 0x20, 0x60, 0x00, 0xf3]))
        } else {
            TransactionRequest::default()
                // Recipients far from the precompiles (some of which fail on empty input).
                .with_to(Address::left_padding_from(
                    &(0x10_000 + (n % 200) as u64).to_be_bytes(),
                ))
                .with_value(U256::from(1_000 + n as u64))
        }
        .with_nonce(*nonce)
        .with_chain_id(CHAIN_ID)
        .with_gas_limit(100_000)
        .with_max_fee_per_gas(10_000_000_000)
        .with_max_priority_fee_per_gas(1_000_000_000);
        *nonce += 1;
        pending.push(provider.send_transaction(tx).await.expect("send L2 tx"));
    }
    for tx in pending {
        let receipt = tx.get_receipt().await.expect("L2 receipt");
        assert!(receipt.status(), "L2 load transaction failed");
    }
}

/// A rollup under test: an Anvil as L1 with the Rollup contract deployed for
/// dev key `key` (the batcher's), and a sequencer following it (100 ms blocks)
/// that has included `txs` L2 transactions.
pub(crate) struct TestRollup {
    pub(crate) anvil: Anvil,
    pub(crate) sequencer: Sequencer,
    pub(crate) address: Address,
    pub(crate) key: PrivateKeySigner,
}

impl TestRollup {
    pub(crate) async fn start(key: usize, txs: usize) -> Self {
        let anvil = Anvil::start();
        let sequencer = Sequencer::start(anvil.url(), Duration::from_millis(100)).await;
        let (_, genesis_root) = sequencer.block(0).await;
        let key = dev_key(key);
        let address = deploy_rollup(anvil.url(), key.address(), genesis_root).await;
        send_load(&sequencer.url, txs).await;
        Self {
            anvil,
            sequencer,
            address,
            key,
        }
    }

    /// A calldata batcher for it, its store under `db`.
    pub(crate) async fn calldata_batcher(&self, db: &TempDir) -> Batcher {
        Batcher::new(batcher_config(
            &self.anvil,
            &self.sequencer.url,
            self.address,
            self.key.clone(),
            db,
            DataKind::Calldata,
        ))
        .await
        .expect("batcher starts")
    }
}

/// Batcher configuration for tests: small batches, no waiting.
pub(crate) fn batcher_config(
    anvil: &Anvil,
    l2: &str,
    rollup: Address,
    key: PrivateKeySigner,
    db: &TempDir,
    kind: DataKind,
) -> BatcherConfig {
    let mut config = BatcherConfig::defaults_for(key);
    config.l1_rpc_url = anvil.url().into();
    config.l2_rpc_url = l2.into();
    config.db_url = format!("sqlite://{}/batcher.db", db.path().display());
    config.rollup = rollup;
    config.data_kind = kind;
    config.max_blocks = 8;
    config.interval = Duration::ZERO;
    config.poll = Duration::from_millis(100);
    config.confirmations = 2;
    config.txmgr.resubmit_after = Duration::from_secs(5);
    config.txmgr.receipt_poll = Duration::from_millis(100);
    config
}

/// Runs `batcher` step by step until L1 holds every block up to `through`.
pub(crate) async fn post_through(batcher: &mut Batcher, l1: &str, rollup: Address, through: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while next_l2_block(l1, rollup).await <= through {
        assert!(
            Instant::now() < deadline,
            "the batcher did not post through block {through}"
        );
        match batcher.step().await {
            Ok(StepOutcome::Idle) => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(_) => {}
            Err(e) => panic!("batcher step failed: {e}"),
        }
    }
}

/// The Rollup's `nextL2Block()`.
pub(crate) async fn next_l2_block(l1: &str, rollup: Address) -> u64 {
    let provider = ProviderBuilder::new().connect_http(l1.parse().expect("url"));
    let output = provider
        .call(
            TransactionRequest::default()
                .to(rollup)
                .input(Bytes::from(Rollup::nextL2BlockCall {}.abi_encode()).into()),
        )
        .await
        .expect("nextL2Block");
    Rollup::nextL2BlockCall::abi_decode_returns(&output).expect("decode")
}

/// Reads every valid commitment back from L1, derives the chain from genesis with
/// the reference executor, and checks that it is the sequencer's chain through
/// `through`: same block hashes (so same transactions, order, timestamps, L1
/// origins and state roots), each block in exactly one commitment, in order.
/// Returns the number of commitments read.
pub(crate) async fn assert_l1_rederives(
    l1: &str,
    rollup: Address,
    sequencer: &Sequencer,
    through: u64,
) -> usize {
    let reader = BatchReader::new(l1, rollup).expect("reader");
    let posted = reader.batches(0).await.expect("read batches from L1");
    let mut deriver = Deriver::from_genesis(&sequencer.genesis());
    let mut commitments = 0;
    for batch in &posted {
        if batch.commitment.status == Rollup::Status::Invalidated {
            continue;
        }
        commitments += 1;
        let decoded = batch
            .decode()
            .unwrap_or_else(|e| panic!("commitment {} does not decode: {e}", batch.index));
        assert_eq!(decoded.first_block, batch.commitment.firstL2Block);
        assert_eq!(decoded.last_block(), batch.commitment.lastL2Block);
        let derived = deriver
            .apply_batch(&decoded)
            .unwrap_or_else(|e| panic!("commitment {} does not derive: {e}", batch.index));
        for block in &derived {
            assert!(block.skipped.is_empty(), "derivation skipped transactions");
            let (hash, root) = sequencer.block(block.block.number()).await;
            assert_eq!(
                block.block.hash,
                hash,
                "derived block {} differs from the sequencer's",
                block.block.number()
            );
            assert_eq!(block.block.header.state_root, root);
        }
        assert_eq!(
            derived.last().expect("blocks").block.header.state_root,
            batch.commitment.postStateRoot,
            "commitment {} claims another root than the derived chain",
            batch.index
        );
    }
    let (head, _) = deriver.head();
    assert!(
        head.number >= through,
        "L1 holds blocks through {} only, expected {through}",
        head.number
    );
    commitments
}

/// Submits blocks `first..=last` of the sequencer with `post_root` (or `data` instead of their
/// real encoding) as the batcher key `key` would: a fault injector when `post_root` is wrong.
#[allow(dead_code)] // the challenger's tests use it
pub(crate) async fn submit_faulty(
    anvil: &Anvil,
    sequencer: &Sequencer,
    rollup: Address,
    key: PrivateKeySigner,
    (first, last): (u64, u64),
    post_root: B256,
    data: Option<Bytes>,
) {
    let l2 = rollup_batcher::l2::L2Client::new(&sequencer.url).expect("l2");
    let parent = l2.block(first - 1).await.expect("l2").expect("parent");
    let blocks = l2.blocks(first, last).await.expect("blocks");
    let batch = rollup_core::batch::Batch {
        parent_hash: parent.hash,
        first_block: first,
        blocks: blocks.iter().map(|b| b.batch_block()).collect(),
    };
    let data = data.unwrap_or_else(|| rollup_core::batch::encode_batch(&batch).expect("encode"));
    let headers: Vec<_> = blocks.iter().map(|b| b.header.clone()).collect();
    let before = l2.recent_hashes(&parent).await.expect("recent hashes");
    let items = rollup_core::fault::batch_inputs(&batch, &headers, &before).expect("inputs");
    let call = Rollup::submitBatchCall {
        prevStateRoot: parent.header.state_root,
        postStateRoot: post_root,
        firstL2Block: first,
        lastL2Block: last,
        inputsRoot: rollup_core::fault::inputs_root(&items),
        batchData: data,
    };
    send_submit(anvil, key, rollup, call).await;
}

/// Sends `call` with the minimum bond from `key` and checks that the Rollup took it.
#[allow(dead_code)] // the challenger's tests use it
pub(crate) async fn send_submit(
    anvil: &Anvil,
    key: PrivateKeySigner,
    rollup: Address,
    call: Rollup::submitBatchCall,
) {
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(anvil.url().parse().expect("url"));
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .to(rollup)
                .input(Bytes::from(call.abi_encode()).into())
                .value(U256::from(10_000_000_000_000_000u64)),
        )
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "the faulty submission was refused");
}
