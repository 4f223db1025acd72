//! The batcher's main loop. Each step reads the Rollup contract's head on L1
//! (the authority on what is posted: it accepts only the next contiguous L2
//! block range, so no block can be committed twice), builds the next batch
//! from the sequencer's blocks, and sends it, in several L1 transactions
//! (staged pieces) when it is larger than one can carry. A batch an L1 reorg
//! removed is noticed because the contract's head moves back, and is posted
//! again. Progress and every signed L1 transaction are kept in the store.

use crate::{
    config::DataKind,
    l2::{L2Block, L2Client, L2Error},
    rollup_view::{ViewError, call_view},
    store::{BatchStatus, L1TxRow, NewBatch, Store, StoreError},
    txmgr::{
        MAX_BLOBS_PER_TX, Sent, TxCandidate, TxManager, TxManagerConfig, TxManagerError,
        blob_sidecar, max_blob_payload,
    },
};
use alloy::{
    providers::{Provider, RootProvider},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolEvent};
use rollup_core::{
    batch::{BROTLI_QUALITY, Batch, BatchEncodeError, encode_body, seal_body_with_quality},
    fault::{InputsError, batch_inputs, inputs_root},
    l1::{Rollup, decode_rollup_error},
};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Everything the batcher needs.
#[derive(Clone, Debug)]
pub struct BatcherConfig {
    /// L1 JSON-RPC URL.
    pub l1_rpc_url: String,
    /// Sequencer JSON-RPC URL.
    pub l2_rpc_url: String,
    /// Database URL.
    pub db_url: String,
    /// Rollup contract address.
    pub rollup: Address,
    /// The batcher account.
    pub signer: PrivateKeySigner,
    /// Calldata or blobs.
    pub data_kind: DataKind,
    /// Most L2 blocks per batch.
    pub max_blocks: u64,
    /// Post at least this often while blocks wait.
    pub interval: Duration,
    /// Largest calldata piece.
    pub max_piece_bytes: usize,
    /// Most pieces (L1 transactions) per batch.
    pub max_pieces: usize,
    /// Brotli quality of the batch envelope, 0..=11 (11: smallest; 5: about 1% larger
    /// and about 50x faster to encode, see `make bench-batch`).
    pub compression_quality: u32,
    /// Bond per commitment; `None` = the contract's minimum.
    pub bond: Option<U256>,
    /// L1 confirmations after which a batch is final.
    pub confirmations: u64,
    /// Pause between steps.
    pub poll: Duration,
    /// L1 transaction management.
    pub txmgr: TxManagerConfig,
}

impl BatcherConfig {
    /// Defaults (local devnet URLs, SQLite under `data/`) for `signer`; the Rollup
    /// address must be set.
    pub fn defaults_for(signer: PrivateKeySigner) -> Self {
        Self {
            l1_rpc_url: "http://127.0.0.1:8545".into(),
            l2_rpc_url: "http://127.0.0.1:9545".into(),
            db_url: "sqlite://data/batcher.db".into(),
            rollup: Address::ZERO,
            signer,
            data_kind: DataKind::Calldata,
            max_blocks: 600,
            interval: Duration::from_secs(6),
            max_piece_bytes: 120_000,
            max_pieces: 16,
            compression_quality: BROTLI_QUALITY,
            bond: None,
            confirmations: 3,
            poll: Duration::from_millis(500),
            txmgr: TxManagerConfig::default(),
        }
    }
}

/// Batcher failures.
#[derive(Debug, thiserror::Error)]
pub enum BatcherError {
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sequencer failure.
    #[error(transparent)]
    L2(#[from] L2Error),
    /// L1 transaction failure.
    #[error(transparent)]
    Tx(#[from] TxManagerError),
    /// An L1 read failed.
    #[error("L1 {what}: {source}")]
    L1Read {
        /// What was read.
        what: &'static str,
        /// Cause.
        source: alloy::transports::TransportError,
    },
    /// An L1 answer did not decode.
    #[error("L1 {what}: undecodable answer: {detail}")]
    L1Decode {
        /// What was read.
        what: &'static str,
        /// Details.
        detail: String,
    },
    /// The batch could not be encoded.
    #[error(transparent)]
    Encode(#[from] BatchEncodeError),
    /// The blocks read from the sequencer do not match the batch built from them.
    #[error("inputs of the batch: {0}")]
    Inputs(#[from] InputsError),
    /// The configured key is not the contract's batcher.
    #[error("this key's address {ours} is not the Rollup's batcher {theirs}")]
    NotBatcher {
        /// Our address.
        ours: Address,
        /// The contract's batcher.
        theirs: Address,
    },
    /// The sequencer's chain does not continue from L1's head.
    #[error(
        "the sequencer's state root after block {block} is {sequencer}, but L1's latest commitment says {l1}; refusing to post"
    )]
    RootMismatch {
        /// The block.
        block: u64,
        /// The sequencer's root.
        sequencer: B256,
        /// L1's root.
        l1: B256,
    },
    /// One block alone is larger than a batch can carry.
    #[error("L2 block {block} encodes to {bytes} bytes, more than a batch can carry ({capacity})")]
    BlockTooLarge {
        /// The block.
        block: u64,
        /// Its encoded size.
        bytes: usize,
        /// The limit.
        capacity: usize,
    },
    /// The staged pieces on L1 are not the ones this batch staged (an L1 reorg removed
    /// some); the batch is built and staged again.
    #[error("L1 holds {staged} staged pieces, not the {expected} this batch staged")]
    StagingLost {
        /// Pieces staged on L1.
        staged: usize,
        /// Pieces this batch staged.
        expected: usize,
    },
    /// A view call of the Rollup contract failed.
    #[error(transparent)]
    View(#[from] ViewError),
    /// The URL does not parse.
    #[error("invalid L1 RPC URL {0:?}")]
    Url(String),
}

impl BatcherError {
    /// Whether retrying later can help (L1 or sequencer unreachable, a lost race).
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            Self::NotBatcher { .. }
                | Self::RootMismatch { .. }
                | Self::BlockTooLarge { .. }
                | Self::Url(_)
        )
    }
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// Nothing to post (or not yet time to).
    Idle,
    /// A batch was committed on L1.
    Posted {
        /// Commitment index.
        index: u64,
        /// First L2 block.
        first_block: u64,
        /// Last L2 block.
        last_block: u64,
        /// L1 transactions used.
        l1_txs: usize,
        /// Encoded batch size.
        bytes: usize,
    },
    /// L1's head had moved (another submission, a reorg): the batch was not
    /// committed and the next step starts from L1's new head.
    Superseded {
        /// Why.
        reason: String,
    },
}

/// The batcher.
#[derive(Debug)]
pub struct Batcher {
    config: BatcherConfig,
    l1: RootProvider,
    l2: L2Client,
    txmgr: TxManager,
    store: Store,
    bond: U256,
    last_post: Instant,
    recovered: bool,
}

impl Batcher {
    /// Connects to the store, L1 and the sequencer, and checks that the key is the batcher's.
    pub async fn new(config: BatcherConfig) -> Result<Self, BatcherError> {
        let url = config
            .l1_rpc_url
            .parse()
            .map_err(|_| BatcherError::Url(config.l1_rpc_url.clone()))?;
        let l1 = RootProvider::new_http(url);
        let store = Store::connect(&config.db_url).await?;
        let l2 = L2Client::new(&config.l2_rpc_url)?;
        let chain_id = l1
            .get_chain_id()
            .await
            .map_err(|source| BatcherError::L1Read {
                what: "eth_chainId",
                source,
            })?;
        let txmgr = TxManager::connect(
            &config.l1_rpc_url,
            config.signer.clone(),
            chain_id,
            config.txmgr.clone(),
        )?;
        let mut batcher = Self {
            l1,
            l2,
            txmgr,
            store,
            bond: U256::ZERO,
            last_post: Instant::now(),
            recovered: false,
            config,
        };
        let theirs = batcher.view(Rollup::batcherCall {}).await?;
        let ours = batcher.config.signer.address();
        if theirs != ours {
            return Err(BatcherError::NotBatcher { ours, theirs });
        }
        let minimum = batcher.view(Rollup::bondCall {}).await?;
        batcher.bond = batcher.config.bond.unwrap_or(minimum).max(minimum);
        Ok(batcher)
    }

    /// The store (for tests and tools).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs until `cancel`: a step, then a pause. Transient errors are logged and
    /// retried with backoff; a fatal one ends the loop.
    pub async fn run(mut self, cancel: CancellationToken) -> Result<(), BatcherError> {
        let mut backoff = self.config.poll;
        loop {
            let outcome = tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                outcome = self.step() => outcome,
            };
            let pause = match outcome {
                Ok(StepOutcome::Posted {
                    index,
                    first_block,
                    last_block,
                    l1_txs,
                    bytes,
                }) => {
                    tracing::info!(
                        index,
                        first_block,
                        last_block,
                        l1_txs,
                        bytes,
                        "batch committed on L1"
                    );
                    backoff = self.config.poll;
                    Duration::ZERO
                }
                Ok(StepOutcome::Superseded { reason }) => {
                    tracing::warn!(%reason, "batch not committed; starting again from L1's head");
                    self.config.poll
                }
                Ok(StepOutcome::Idle) => {
                    backoff = self.config.poll;
                    self.config.poll
                }
                Err(error) if error.is_transient() => {
                    tracing::warn!(%error, retry_in = ?backoff, "batcher step failed");
                    let pause = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    pause
                }
                Err(error) => {
                    tracing::error!(%error, "batcher stopped");
                    return Err(error);
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One step: recover (first time), reconcile with L1, then post the next batch when due.
    pub async fn step(&mut self) -> Result<StepOutcome, BatcherError> {
        if !self.recovered {
            self.recover().await?;
            self.recovered = true;
        }
        self.track_confirmations().await?;
        let next = self.view(Rollup::nextL2BlockCall {}).await?;
        let head = self.l2.head().await?;
        if head < next {
            return Ok(StepOutcome::Idle);
        }
        let waiting = head - next + 1;
        if waiting < self.config.max_blocks && self.last_post.elapsed() < self.config.interval {
            return Ok(StepOutcome::Idle);
        }
        self.post_from(next, head).await
    }

    /// After a restart: rebroadcasts what the previous run signed and did not see
    /// included, waits for it to settle, then marks those batches by what L1 says.
    async fn recover(&mut self) -> Result<(), BatcherError> {
        let sending = self.store.batches_in(&[BatchStatus::Sending]).await?;
        for batch in sending {
            let txs = self.store.l1_txs(batch.id).await?;
            for tx in &txs {
                if let Err(error) = self.txmgr.rebroadcast(&tx.raw).await {
                    tracing::debug!(%error, hash = %tx.hash, "rebroadcast after restart");
                }
            }
            // Whichever of them was mined with a commitment decides the batch's fate.
            let mut included = None;
            for tx in txs.iter().filter(|t| t.purpose == "submit") {
                if let Some(receipt) = self.wait_receipt(tx.hash).await?
                    && receipt.status()
                    && let Some(index) = committed_index(&receipt)
                {
                    included = Some((index, receipt));
                }
            }
            match included {
                Some((index, receipt)) => {
                    self.store
                        .mark_included(
                            batch.id,
                            index,
                            receipt.transaction_hash,
                            receipt.block_number.unwrap_or_default(),
                        )
                        .await?;
                    tracing::info!(
                        index,
                        first = batch.first_block,
                        last = batch.last_block,
                        "a batch sent before the restart is on L1"
                    );
                }
                None => {
                    self.store
                        .set_status(
                            batch.id,
                            BatchStatus::Failed,
                            Some("not committed before the batcher restarted; posted again"),
                        )
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// The receipt of `hash`, if L1 has one.
    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, BatcherError> {
        self.l1
            .get_transaction_receipt(hash)
            .await
            .map_err(|source| BatcherError::L1Read {
                what: "eth_getTransactionReceipt",
                source,
            })
    }

    /// Waits up to the resubmission delay for a receipt.
    async fn wait_receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, BatcherError> {
        let deadline = Instant::now() + self.config.txmgr.resubmit_after;
        loop {
            let receipt = self.receipt(hash).await?;
            if receipt.is_some() || Instant::now() >= deadline {
                return Ok(receipt);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Updates the confirmations of included batches; a batch whose transaction an L1
    /// reorg removed is marked dropped (its blocks are posted again from L1's head).
    async fn track_confirmations(&mut self) -> Result<(), BatcherError> {
        let open = self.store.batches_in(&[BatchStatus::Included]).await?;
        if open.is_empty() {
            return Ok(());
        }
        let latest = self
            .l1
            .get_block_number()
            .await
            .map_err(|source| BatcherError::L1Read {
                what: "eth_blockNumber",
                source,
            })?;
        for batch in open {
            let Some(hash) = batch.l1_tx_hash else {
                continue;
            };
            let receipt = self.receipt(hash).await?;
            match receipt.and_then(|r| r.block_number) {
                None => {
                    tracing::warn!(
                        first = batch.first_block,
                        last = batch.last_block,
                        l1_tx = %hash,
                        "an L1 reorg removed a batch; its blocks will be posted again"
                    );
                    self.store
                        .set_status(batch.id, BatchStatus::Dropped, None)
                        .await?;
                    self.txmgr.reset_nonce().await;
                }
                Some(block) => {
                    let confirmations = latest.saturating_sub(block) + 1;
                    if confirmations != batch.confirmations || Some(block) != batch.l1_block {
                        if Some(block) != batch.l1_block
                            && let Some(index) = batch.commitment_index
                        {
                            self.store
                                .mark_included(batch.id, index, hash, block)
                                .await?;
                        }
                        self.store
                            .set_confirmations(
                                batch.id,
                                confirmations,
                                confirmations >= self.config.confirmations,
                            )
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds and sends the batch that starts at `next` (L1's next expected block).
    async fn post_from(&mut self, next: u64, head: u64) -> Result<StepOutcome, BatcherError> {
        let last = head.min(next + self.config.max_blocks - 1);
        let parent = self
            .l2
            .block(next - 1)
            .await?
            .ok_or_else(|| L2Error::Inconsistent {
                number: next - 1,
                detail: "the sequencer does not have it".into(),
            })?;
        let l1_root = self.view(Rollup::latestStateRootCall {}).await?;
        if parent.header.state_root != l1_root {
            return Err(BatcherError::RootMismatch {
                block: next - 1,
                sequencer: parent.header.state_root,
                l1: l1_root,
            });
        }
        let mut blocks = self.l2.blocks(next, last).await?;
        if blocks.first().map(|b| b.header.parent_hash) != Some(parent.hash) {
            return Ok(StepOutcome::Idle);
        }
        let capacity = self.capacity();
        // Compressing is the costly part (brotli 11): start from the blocks whose raw
        // transactions would fit even at a poor ratio, then trim by the ratio observed.
        blocks.truncate(blocks_within(&blocks, capacity.saturating_mul(2)));
        let (batch, data) = loop {
            let batch = batch_of(&parent, &blocks);
            let data = seal_body_with_quality(
                &encode_body(&batch)?,
                self.config.compression_quality.min(BROTLI_QUALITY),
            )?;
            if data.len() <= capacity {
                break (batch, data);
            }
            if blocks.len() == 1 {
                return Err(BatcherError::BlockTooLarge {
                    block: blocks[0].number(),
                    bytes: data.len(),
                    capacity,
                });
            }
            let raw: usize = blocks.iter().map(L2Block::tx_bytes).sum();
            let budget = (raw as u128 * capacity as u128 * 95 / 100 / data.len() as u128) as usize;
            let keep = blocks_within(&blocks, budget).min(blocks.len() - 1);
            blocks.truncate(keep);
        };
        let post_root = blocks.last().expect("non-empty").header.state_root;
        let headers: Vec<_> = blocks.iter().map(|b| b.header.clone()).collect();
        let before = self.l2.recent_hashes(&parent).await?;
        let inputs_root = inputs_root(&batch_inputs(&batch, &headers, &before)?);
        let pieces = self.split(&data);
        let row = NewBatch {
            first_block: batch.first_block,
            last_block: batch.last_block(),
            tx_count: batch.tx_count() as u64,
            prev_state_root: l1_root,
            post_state_root: post_root,
            inputs_root,
            data_kind: self.config.data_kind.as_str(),
            data_bytes: data.len() as u64,
            pieces: pieces.len() as u64,
        };
        let id = self.store.insert_batch(&row).await?;
        let result = self.send_pieces(id, &row, pieces).await;
        self.last_post = Instant::now();
        match result {
            Ok((index, receipt, l1_txs)) => {
                self.store
                    .mark_included(
                        id,
                        index,
                        receipt.transaction_hash,
                        receipt.block_number.unwrap_or_default(),
                    )
                    .await?;
                Ok(StepOutcome::Posted {
                    index,
                    first_block: row.first_block,
                    last_block: row.last_block,
                    l1_txs,
                    bytes: data.len(),
                })
            }
            Err(BatcherError::Tx(TxManagerError::Reverted { revert_data, .. })) => {
                let reason = revert_data
                    .as_ref()
                    .and_then(|data| decode_rollup_error(data))
                    .unwrap_or_else(|| "reverted without a known reason".to_string());
                self.store
                    .set_status(id, BatchStatus::Failed, Some(&reason))
                    .await?;
                self.txmgr.reset_nonce().await;
                Ok(StepOutcome::Superseded { reason })
            }
            Err(BatcherError::Tx(TxManagerError::WouldRevert { message, .. })) => {
                self.store
                    .set_status(id, BatchStatus::Failed, Some(&message))
                    .await?;
                Ok(StepOutcome::Superseded { reason: message })
            }
            Err(error) => {
                self.store
                    .set_status(id, BatchStatus::Failed, Some(&error.to_string()))
                    .await?;
                Err(error)
            }
        }
    }

    /// Bytes one batch can carry.
    fn capacity(&self) -> usize {
        self.piece_capacity() * self.config.max_pieces
    }

    /// Bytes one L1 transaction carries.
    fn piece_capacity(&self) -> usize {
        match self.config.data_kind {
            DataKind::Calldata => self.config.max_piece_bytes,
            DataKind::Blobs => max_blob_payload(MAX_BLOBS_PER_TX),
        }
    }

    fn split(&self, data: &[u8]) -> Vec<Bytes> {
        data.chunks(self.piece_capacity())
            .map(Bytes::copy_from_slice)
            .collect()
    }

    /// Stages all pieces but the last and submits the last with the commitment.
    /// Returns the commitment index, the submit receipt and the number of L1 transactions.
    async fn send_pieces(
        &mut self,
        id: i64,
        row: &NewBatch,
        pieces: Vec<Bytes>,
    ) -> Result<(u64, TransactionReceipt, usize), BatcherError> {
        let mut l1_txs = 0;
        if self.view(Rollup::stagedPieceCountCall {}).await? > U256::ZERO {
            // Left over from an interrupted run or a reorg: built on data we no longer trust.
            self.send(
                id,
                "discard",
                self.call(Rollup::discardStagedCall {}, U256::ZERO),
            )
            .await?;
            l1_txs += 1;
        }
        let (last, staged) = pieces.split_last().expect("a batch has at least one piece");
        let mut expected: Vec<B256> = Vec::new();
        for piece in staged {
            let candidate = match self.config.data_kind {
                DataKind::Calldata => {
                    expected.push(alloy_primitives::keccak256(piece));
                    self.call(
                        Rollup::stageBatchDataCall {
                            piece: piece.clone(),
                        },
                        U256::ZERO,
                    )
                }
                DataKind::Blobs => {
                    let sidecar = blob_sidecar(piece)?;
                    expected.extend(sidecar.versioned_hashes());
                    TxCandidate {
                        blobs: Some(sidecar),
                        ..self.call(Rollup::stageBatchBlobsCall {}, U256::ZERO)
                    }
                }
            };
            self.send(id, "stage", candidate).await?;
            l1_txs += 1;
        }
        // The commitment takes whatever is staged: make sure that is exactly our pieces
        // (an L1 reorg may have removed a staging transaction in the meantime).
        let on_l1 = self.view(Rollup::stagedPiecesCall {}).await?;
        if on_l1 != expected {
            self.txmgr.reset_nonce().await;
            return Err(BatcherError::StagingLost {
                staged: on_l1.len(),
                expected: expected.len(),
            });
        }
        let candidate = match self.config.data_kind {
            DataKind::Calldata => self.call(
                Rollup::submitBatchCall {
                    prevStateRoot: row.prev_state_root,
                    postStateRoot: row.post_state_root,
                    firstL2Block: row.first_block,
                    lastL2Block: row.last_block,
                    inputsRoot: row.inputs_root,
                    batchData: last.clone(),
                },
                self.bond,
            ),
            DataKind::Blobs => TxCandidate {
                blobs: Some(blob_sidecar(last)?),
                ..self.call(
                    Rollup::submitBatchBlobsCall {
                        prevStateRoot: row.prev_state_root,
                        postStateRoot: row.post_state_root,
                        firstL2Block: row.first_block,
                        lastL2Block: row.last_block,
                        inputsRoot: row.inputs_root,
                    },
                    self.bond,
                )
            },
        };
        let receipt = self.send(id, "submit", candidate).await?;
        l1_txs += 1;
        let index = committed_index(&receipt).ok_or_else(|| BatcherError::L1Decode {
            what: "submit receipt",
            detail: "no BatchSubmitted log".into(),
        })?;
        Ok((index, receipt, l1_txs))
    }

    fn call<C: SolCall>(&self, call: C, value: U256) -> TxCandidate {
        TxCandidate {
            to: self.config.rollup,
            input: call.abi_encode().into(),
            value,
            gas_limit: None,
            blobs: None,
        }
    }

    /// Sends one L1 transaction and waits for it, recording every signed version.
    async fn send(
        &self,
        batch_id: i64,
        purpose: &'static str,
        candidate: TxCandidate,
    ) -> Result<TransactionReceipt, BatcherError> {
        let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel::<Sent>();
        let send = self.txmgr.send_and_wait(candidate, move |sent: &Sent| {
            let _ = sent_tx.send(sent.clone());
        });
        let store = self.store.clone();
        let record = async move {
            while let Some(sent) = sent_rx.recv().await {
                let row = L1TxRow {
                    hash: sent.hash,
                    batch_id,
                    purpose: purpose.into(),
                    nonce: sent.nonce,
                    raw: sent.raw.clone(),
                };
                if let Err(error) = store.insert_l1_tx(&row).await {
                    tracing::error!(%error, hash = %sent.hash, "cannot record a sent L1 transaction");
                }
            }
        };
        let (receipt, ()) = tokio::join!(send, record);
        Ok(receipt?)
    }

    /// Calls a view function of the Rollup contract at L1's latest block.
    async fn view<C: SolCall>(&self, call: C) -> Result<C::Return, BatcherError> {
        Ok(call_view(&self.l1, self.config.rollup, call).await?)
    }
}

/// How many leading blocks have at most `budget` bytes of raw transactions (at least one).
fn blocks_within(blocks: &[L2Block], budget: usize) -> usize {
    let mut total = 0usize;
    let mut count = 0;
    for block in blocks {
        total += block.tx_bytes();
        if total > budget && count > 0 {
            break;
        }
        count += 1;
    }
    count.max(1)
}

/// The batch of `blocks` on top of `parent`.
fn batch_of(parent: &L2Block, blocks: &[L2Block]) -> Batch {
    Batch {
        parent_hash: parent.hash,
        first_block: blocks[0].number(),
        blocks: blocks.iter().map(L2Block::batch_block).collect(),
    }
}

/// The commitment index a submit receipt's `BatchSubmitted` log names.
fn committed_index(receipt: &TransactionReceipt) -> Option<u64> {
    receipt.inner.logs().iter().find_map(|log| {
        Rollup::BatchSubmitted::decode_log(&log.inner)
            .ok()
            .map(|event| event.data.index.saturating_to())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(tx_bytes: usize) -> L2Block {
        L2Block {
            header: Default::default(),
            hash: B256::ZERO,
            transactions: vec![Bytes::from(vec![1u8; tx_bytes])],
        }
    }

    #[test]
    fn blocks_within_a_budget_keep_at_least_one() {
        let blocks: Vec<_> = [100, 200, 300, 400].into_iter().map(block).collect();
        assert_eq!(blocks_within(&blocks, 0), 1);
        assert_eq!(blocks_within(&blocks, 299), 1);
        assert_eq!(blocks_within(&blocks, 300), 2);
        assert_eq!(blocks_within(&blocks, 600), 3);
        assert_eq!(blocks_within(&blocks, 10_000), 4);
        assert_eq!(blocks_within(&[], 10), 1);
    }
}
