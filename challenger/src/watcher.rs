//! Watches the Rollup contract and checks every posted state root: reads each
//! new commitment's batch from L1 alone (calldata or blobs), derives its L2
//! blocks from the genesis with the reference executor, and compares the
//! derived post-state root with the claimed one. The verdicts go to the logs
//! and to the status that the JSON endpoint serves.
//!
//! Not yet here (the dispute-game issue): opening and playing games on a wrong
//! root, persistence of the derived state (a restart re-derives from genesis).

use alloy_primitives::{Address, B256};
use parking_lot::RwLock;
use rollup_batcher::{
    reader::{BatchReader, PostedBatch, ReaderError},
    rollup_view::{ViewError, call_view},
};
use rollup_core::{chain::Genesis, derive::Deriver, l1::Rollup};
use serde::Serialize;
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// What the watcher needs.
#[derive(Clone, Debug)]
pub struct WatcherConfig {
    /// L1 JSON-RPC URL.
    pub l1_rpc_url: String,
    /// The Rollup contract.
    pub rollup: Address,
    /// The L2 genesis (must give the contract's genesis root).
    pub genesis: Genesis,
    /// L1 block to read logs from (the Rollup's deployment block, or 0).
    pub from_block: u64,
    /// Pause between checks.
    pub poll: Duration,
}

/// Watcher failures.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Reading L1 failed.
    #[error(transparent)]
    Reader(#[from] ReaderError),
    /// A view call failed.
    #[error(transparent)]
    View(#[from] ViewError),
    /// The genesis does not give the contract's genesis root.
    #[error("the genesis gives state root {ours}, the Rollup contract's genesis root is {theirs}")]
    GenesisMismatch {
        /// Root of our genesis.
        ours: B256,
        /// The contract's.
        theirs: B256,
    },
}

/// The verdict on one commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The claimed root is the derived one.
    Correct,
    /// The claimed root differs from the derived one: a fraud.
    WrongRoot {
        /// The root derivation gives.
        derived: B256,
    },
    /// The commitment starts from a root other than the derived chain's (it built on
    /// a wrong commitment).
    WrongPrevRoot {
        /// The derived chain's root at that point.
        derived: B256,
    },
    /// Its batch cannot be derived (undecodable data or a batch that breaks the
    /// derivation rules); later commitments are not checked until this is settled.
    Underivable {
        /// Why.
        reason: String,
    },
}

/// One checked commitment.
#[derive(Clone, Debug, Serialize)]
pub struct CheckedCommitment {
    /// Commitment index.
    pub index: u64,
    /// First L2 block.
    pub first_block: u64,
    /// Last L2 block.
    pub last_block: u64,
    /// L1 block of the submission.
    pub l1_block: u64,
    /// The claimed post-state root.
    pub claimed_root: B256,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// What the JSON endpoint shows.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    /// The Rollup contract.
    pub rollup: Address,
    /// Commitments checked.
    pub checked: u64,
    /// Of which correct.
    pub correct: u64,
    /// Of which not correct (wrong root, wrong previous root, underivable).
    pub disputed: u64,
    /// Last L2 block derived from L1.
    pub derived_head: u64,
    /// Its state root.
    pub derived_state_root: B256,
    /// The last commitment checked.
    pub last: Option<CheckedCommitment>,
    /// Every commitment that was not correct.
    pub problems: Vec<CheckedCommitment>,
    /// The last error reading L1, if the last check failed.
    pub last_error: Option<String>,
}

/// Checks every commitment, in index order.
#[derive(Debug)]
pub struct Watcher {
    config: WatcherConfig,
    reader: BatchReader,
    deriver: Deriver,
    next_index: u64,
    /// L1 block the next log scan starts at: the submission block of the last commitment
    /// read (every piece of a later commitment is staged after that submission).
    scan_from: u64,
    /// Set after an underivable commitment: nothing later can be derived.
    stuck: bool,
    status: Arc<RwLock<Status>>,
}

impl Watcher {
    /// A watcher at the genesis.
    pub fn new(config: WatcherConfig) -> Result<Self, WatchError> {
        let reader = BatchReader::new(&config.l1_rpc_url, config.rollup)?;
        let deriver = Deriver::from_genesis(&config.genesis);
        let status = Status {
            rollup: config.rollup,
            derived_state_root: deriver.head().0.state_root,
            ..Status::default()
        };
        Ok(Self {
            scan_from: config.from_block,
            config,
            reader,
            deriver,
            next_index: 0,
            stuck: false,
            status: Arc::new(RwLock::new(status)),
        })
    }

    /// The shared status.
    pub fn status(&self) -> Arc<RwLock<Status>> {
        self.status.clone()
    }

    /// Checks that our genesis is the contract's.
    pub async fn check_genesis(&self) -> Result<(), WatchError> {
        let l1 = alloy::providers::RootProvider::new_http(
            self.config
                .l1_rpc_url
                .parse()
                .map_err(|_| ReaderError::Url(self.config.l1_rpc_url.clone()))?,
        );
        let theirs = call_view(&l1, self.config.rollup, Rollup::genesisStateRootCall {}).await?;
        let ours = self.deriver.head().0.state_root;
        if ours != theirs {
            return Err(WatchError::GenesisMismatch { ours, theirs });
        }
        Ok(())
    }

    /// Reads and checks the commitments posted since the last call.
    pub async fn check_new(&mut self) -> Result<Vec<CheckedCommitment>, WatchError> {
        let posted = self
            .reader
            .batches_since(self.scan_from, self.next_index)
            .await?;
        let mut checked = Vec::new();
        for batch in posted {
            if batch.index != self.next_index {
                // Not yet readable in order (a gap in what the node returned): next time.
                break;
            }
            self.next_index += 1;
            self.scan_from = batch.l1_block;
            if batch.commitment.status == Rollup::Status::Invalidated {
                continue;
            }
            let result = self.check(&batch);
            self.record(&result);
            checked.push(result);
        }
        Ok(checked)
    }

    fn check(&mut self, batch: &PostedBatch) -> CheckedCommitment {
        let commitment = &batch.commitment;
        let verdict = if self.stuck {
            Verdict::Underivable {
                reason: "an earlier commitment could not be derived".into(),
            }
        } else if commitment.prevStateRoot != self.deriver.head().0.state_root {
            Verdict::WrongPrevRoot {
                derived: self.deriver.head().0.state_root,
            }
        } else {
            match batch.decode() {
                Err(e) => {
                    self.stuck = true;
                    Verdict::Underivable {
                        reason: format!("batch data: {e}"),
                    }
                }
                Ok(decoded)
                    if decoded.first_block != commitment.firstL2Block
                        || decoded.last_block() != commitment.lastL2Block =>
                {
                    self.stuck = true;
                    Verdict::Underivable {
                        reason: format!(
                            "batch holds blocks {}..={}, the commitment claims {}..={}",
                            decoded.first_block,
                            decoded.last_block(),
                            commitment.firstL2Block,
                            commitment.lastL2Block
                        ),
                    }
                }
                Ok(decoded) => match self.deriver.apply_batch(&decoded) {
                    Err(e) => {
                        self.stuck = true;
                        Verdict::Underivable {
                            reason: format!("derivation: {e}"),
                        }
                    }
                    Ok(_) => {
                        let derived = self.deriver.head().0.state_root;
                        if derived == commitment.postStateRoot {
                            Verdict::Correct
                        } else {
                            Verdict::WrongRoot { derived }
                        }
                    }
                },
            }
        };
        CheckedCommitment {
            index: batch.index,
            first_block: commitment.firstL2Block,
            last_block: commitment.lastL2Block,
            l1_block: batch.l1_block,
            claimed_root: commitment.postStateRoot,
            verdict,
        }
    }

    fn record(&self, checked: &CheckedCommitment) {
        match &checked.verdict {
            Verdict::Correct => tracing::info!(
                index = checked.index,
                first_block = checked.first_block,
                last_block = checked.last_block,
                root = %checked.claimed_root,
                "commitment checked: state root correct"
            ),
            verdict => tracing::error!(
                index = checked.index,
                first_block = checked.first_block,
                last_block = checked.last_block,
                claimed = %checked.claimed_root,
                ?verdict,
                "commitment checked: NOT correct"
            ),
        }
        let (head, _) = self.deriver.head();
        let mut status = self.status.write();
        status.checked += 1;
        if checked.verdict == Verdict::Correct {
            status.correct += 1;
        } else {
            status.disputed += 1;
            status.problems.push(checked.clone());
        }
        status.derived_head = head.number;
        status.derived_state_root = head.state_root;
        status.last = Some(checked.clone());
        status.last_error = None;
    }

    /// Checks until `cancel`, pausing `poll` between rounds; L1 errors are logged and retried.
    pub async fn run(mut self, cancel: CancellationToken) {
        loop {
            if let Err(error) = self.check_new().await {
                tracing::warn!(%error, "cannot read commitments from L1; retrying");
                self.status.write().last_error = Some(error.to_string());
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }
}
