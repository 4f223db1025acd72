//! Watches the Rollup contract and checks every posted state root: reads each
//! new commitment's batch from L1 alone (calldata or blobs), derives its L2
//! blocks from the genesis with the reference executor, and compares the
//! derived post-state root with the claimed one. The verdicts go to the logs
//! and to the status that the JSON endpoint serves.
//!
//! For every commitment it derives, it also keeps what a dispute game over it needs (the
//! pre-state and the input items, from which `core`'s step trace is built on demand) and
//! checks the commitment's `inputsRoot` against the inputs it derived. Games themselves are
//! played by `games.rs`. A restart re-derives from genesis (the derived state is not stored).

use alloy_primitives::{Address, B256};
use parking_lot::RwLock;
use rollup_batcher::{
    reader::{BatchReader, PostedBatch, ReaderError},
    rollup_view::{ViewError, call_view},
};
use rollup_core::{
    chain::Genesis,
    derive::Deriver,
    fault::{InputItem, batch_inputs, inputs::BLOCK_HASH_HISTORY, inputs_root, trace::Trace},
    l1::Rollup,
    state::{StateReader as _, WorldState},
};
use serde::Serialize;
use std::{
    collections::BTreeMap,
    sync::{Arc, OnceLock},
    time::Duration,
};

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
    /// The posted `inputsRoot` is not the hash chain of the inputs its batch data carries: the
    /// commitment cannot be disputed on L1 (docs/fault-proof.md section 2) and is reported.
    InputsMismatch {
        /// The inputs root of the derived inputs.
        derived: B256,
        /// The root derivation gives.
        derived_root: B256,
    },
}

impl Verdict {
    /// The verdict's word, as stored and shown.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Correct => "correct",
            Self::WrongRoot { .. } => "wrong_root",
            Self::WrongPrevRoot { .. } => "wrong_prev_root",
            Self::Underivable { .. } => "underivable",
            Self::InputsMismatch { .. } => "inputs_mismatch",
        }
    }
}

/// What a dispute game over one derived commitment needs: its pre-state and input items,
/// with the step trace built from them on first use (building it computes a state root per
/// step, so only commitments that end up in a game pay for it).
#[derive(Debug)]
pub struct DisputeCase {
    /// Commitment index.
    pub index: u64,
    /// The commitment's `prevStateRoot`.
    pub prev_root: B256,
    /// The commitment's `inputsRoot` (equal to ours: mismatches get no case).
    pub inputs_root: B256,
    /// The post-state root derivation gives.
    pub derived_root: B256,
    genesis: Genesis,
    pre: WorldState,
    items: Vec<InputItem>,
    trace: OnceLock<Result<Arc<Trace>, String>>,
}

impl DisputeCase {
    /// The step trace of the commitment (built once). An error means the trace disagrees
    /// with derivation, which must never happen: we then refuse to play rather than lose.
    pub fn trace(&self) -> Result<Arc<Trace>, String> {
        self.trace
            .get_or_init(|| {
                let trace = Trace::new(
                    self.pre.clone(),
                    self.genesis.config.clone(),
                    self.items.clone(),
                )
                .map_err(|e| format!("trace of commitment {}: {e}", self.index))?;
                if trace.post_state_root() != self.derived_root {
                    return Err(format!(
                        "trace of commitment {} ends at root {}, derivation at {}",
                        self.index,
                        trace.post_state_root(),
                        self.derived_root
                    ));
                }
                Ok(Arc::new(trace))
            })
            .clone()
    }
}

/// Dispute cases by commitment index, shared with the game player.
pub type DisputeCases = Arc<RwLock<BTreeMap<u64, Arc<DisputeCase>>>>;

/// How many derived commitments keep their dispute case (older ones are past any challenge
/// window in practice; a game over an older one is played only if its case is still held).
pub const KEPT_CASES: usize = 256;

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
    /// The dispute games we play (clocks, positions, bonds).
    pub games: Vec<crate::games::GameInfo>,
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
    cases: DisputeCases,
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
            cases: DisputeCases::default(),
        })
    }

    /// The dispute cases of the commitments derived so far (the most recent [`KEPT_CASES`]).
    pub fn cases(&self) -> DisputeCases {
        self.cases.clone()
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
                Ok(decoded) => {
                    let pre = self.deriver.state().clone();
                    match self.deriver.apply_batch(&decoded) {
                        Err(e) => {
                            self.stuck = true;
                            Verdict::Underivable {
                                reason: format!("derivation: {e}"),
                            }
                        }
                        Ok(blocks) => self.judge(batch, &decoded, pre, &blocks),
                    }
                }
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

    /// The verdict on a derived commitment; keeps its dispute case when its inputs match.
    fn judge(
        &mut self,
        batch: &PostedBatch,
        decoded: &rollup_core::batch::Batch,
        mut pre: WorldState,
        blocks: &[rollup_core::derive::DerivedBlock],
    ) -> Verdict {
        let commitment = &batch.commitment;
        let derived_root = self.deriver.head().0.state_root;
        let headers: Vec<_> = blocks.iter().map(|b| b.block.header.clone()).collect();
        let first = decoded.first_block;
        let before: Vec<B256> = (first.saturating_sub(BLOCK_HASH_HISTORY)..first)
            .map(|m| pre.block_hash(m).unwrap_or_default())
            .collect();
        let items = match batch_inputs(decoded, &headers, &before) {
            Ok(items) => items,
            Err(e) => {
                return Verdict::Underivable {
                    reason: format!("inputs: {e}"),
                };
            }
        };
        let ours = inputs_root(&items);
        if ours != commitment.inputsRoot {
            return Verdict::InputsMismatch {
                derived: ours,
                derived_root,
            };
        }
        // BLOCKHASH inside the batch reads the batch's own earlier blocks too (kept beside the
        // 256 before it, which its first blocks still reach).
        pre.extend_block_hashes(blocks.iter().map(|b| (b.block.number(), b.block.hash)));
        let case = DisputeCase {
            index: batch.index,
            prev_root: commitment.prevStateRoot,
            inputs_root: ours,
            derived_root,
            genesis: self.config.genesis.clone(),
            pre,
            items,
            trace: OnceLock::new(),
        };
        let mut cases = self.cases.write();
        cases.insert(batch.index, Arc::new(case));
        while cases.len() > KEPT_CASES {
            cases.pop_first();
        }
        if derived_root == commitment.postStateRoot {
            Verdict::Correct
        } else {
            Verdict::WrongRoot {
                derived: derived_root,
            }
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
}
