//! Replay and verify a store: re-executes every stored block from the genesis with the
//! sequential reference executor (through `rollup_core::derive`, exactly as the challenger
//! derives a batch) and checks that each stored block is the replayed one (hash, state
//! root, transactions, receipts), and that the state stored at the head hashes to the
//! head's state root. The crash suite (`sequencer/tests/chaos/`) runs it after every
//! restart; it reads only, so it may run beside a live node on the same database.

use crate::store::{Store, StoreError};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, Bytes};
use rollup_core::{
    batch::{Batch, BatchBlock},
    block::L1Origin,
    chain::Genesis,
    derive::{DeriveError, Deriver},
    trie::StateCommitment,
};

/// Blocks replayed per call of the deriver (it copies its state once per call).
const BLOCKS_PER_REPLAY: u64 = 256;

/// Why a store failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds no block 0.
    #[error("the store holds no genesis block")]
    Empty,
    /// A block below the stored head is missing.
    #[error("block {0} is missing below the stored head")]
    MissingBlock(u64),
    /// A stored value differs from the replayed one.
    #[error("block {number}: stored {field} {stored}, replay gives {replayed}")]
    Mismatch {
        /// Block number.
        number: u64,
        /// Which value (`hash`, `stateRoot`, `parentHash`, …).
        field: &'static str,
        /// The stored value.
        stored: String,
        /// The replayed value.
        replayed: String,
    },
    /// A stored block cannot be replayed at all.
    #[error("block {number} does not replay: {source}")]
    Replay {
        /// Block number.
        number: u64,
        /// Why.
        source: DeriveError,
    },
}

impl VerifyError {
    /// True when the error is about the state root (of a block or of the stored state).
    pub fn is_state_root(&self) -> bool {
        matches!(self, Self::Mismatch { field, .. } if field.starts_with("stateRoot"))
    }
}

/// One replayed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayedBlock {
    /// Block number.
    pub number: u64,
    /// Its hash (equal to the stored one).
    pub hash: B256,
    /// Its state root (equal to the stored one).
    pub state_root: B256,
    /// Transactions in it.
    pub txs: usize,
}

/// What a whole verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// The stored head, replayed.
    pub head: ReplayedBlock,
    /// Blocks replayed (genesis excluded).
    pub blocks: u64,
    /// Transactions replayed.
    pub txs: u64,
}

/// The reference chain, replayed block by block from a store; it can be advanced
/// as the store grows.
#[derive(Clone, Debug)]
pub struct Replayer {
    deriver: Deriver,
}

impl Replayer {
    /// A replayer at block 0 of `genesis`; the store's block 0 must be that genesis.
    pub async fn open(store: &Store, genesis: &Genesis) -> Result<Self, VerifyError> {
        let deriver = Deriver::from_genesis(genesis);
        let (header, hash) = deriver.head();
        let (stored, stored_hash) = store.header_by_number(0).await?.ok_or(VerifyError::Empty)?;
        check(0, "stateRoot", stored.state_root, header.state_root)?;
        check(0, "hash", stored_hash, hash)?;
        Ok(Self { deriver })
    }

    /// The replayed head.
    pub fn head(&self) -> ReplayedBlock {
        let (header, hash) = self.deriver.head();
        ReplayedBlock {
            number: header.number,
            hash,
            state_root: header.state_root,
            txs: 0,
        }
    }

    /// Replays the stored blocks after the replayed head up to the stored head (or
    /// `to`, when lower), checking each against the store. Returns the replayed blocks.
    pub async fn advance(
        &mut self,
        store: &Store,
        to: Option<u64>,
    ) -> Result<Vec<ReplayedBlock>, VerifyError> {
        let stored_head = store.head_number().await?.ok_or(VerifyError::Empty)?;
        let to = to.map_or(stored_head, |t| t.min(stored_head));
        let mut replayed = Vec::new();
        while self.deriver.head().0.number < to {
            let first = self.deriver.head().0.number + 1;
            let last = to.min(first + BLOCKS_PER_REPLAY - 1);
            replayed.extend(self.replay_range(store, first, last).await?);
        }
        Ok(replayed)
    }

    async fn replay_range(
        &mut self,
        store: &Store,
        first: u64,
        last: u64,
    ) -> Result<Vec<ReplayedBlock>, VerifyError> {
        let headers = store.headers_in_range(first, last).await?;
        let mut stored = Vec::with_capacity(headers.len());
        for (offset, (header, hash)) in headers.into_iter().enumerate() {
            let number = first + offset as u64;
            if header.number != number {
                return Err(VerifyError::MissingBlock(number));
            }
            let txs = store.block_txs(number).await?;
            stored.push((header, hash, txs));
        }
        if stored.len() as u64 != last - first + 1 {
            return Err(VerifyError::MissingBlock(first + stored.len() as u64));
        }
        let (_, head_hash) = self.deriver.head();
        check(first, "parentHash", stored[0].0.parent_hash, head_hash)?;
        let batch = Batch {
            parent_hash: head_hash,
            first_block: first,
            blocks: stored
                .iter()
                .map(|(header, _, txs)| BatchBlock {
                    timestamp: header.timestamp,
                    l1_origin: L1Origin::from_header(header).unwrap_or_default(),
                    transactions: txs
                        .iter()
                        .map(|t| Bytes::from(t.tx.inner().encoded_2718()))
                        .collect(),
                })
                .collect(),
        };
        let derived = self
            .deriver
            .apply_batch(&batch)
            .map_err(|source| VerifyError::Replay {
                number: first,
                source,
            })?;
        let mut replayed = Vec::with_capacity(derived.len());
        for ((header, hash, txs), derived) in stored.iter().zip(&derived) {
            let number = header.number;
            let block = &derived.block;
            if let Some((tx, why)) = derived.skipped.first() {
                return Err(VerifyError::Mismatch {
                    number,
                    field: "transactions",
                    stored: format!("{tx} included"),
                    replayed: format!("skipped ({why:?})"),
                });
            }
            check(
                number,
                "stateRoot",
                header.state_root,
                block.header.state_root,
            )?;
            check(
                number,
                "receiptsRoot",
                header.receipts_root,
                block.header.receipts_root,
            )?;
            check(number, "hash", *hash, block.hash)?;
            for (index, (ours, theirs)) in txs.iter().zip(&block.txs).enumerate() {
                if ours.receipt != theirs.receipt
                    || ours.gas_used != theirs.gas_used
                    || ours.contract_address != theirs.contract_address
                {
                    return Err(VerifyError::Mismatch {
                        number,
                        field: "receipt",
                        stored: format!("{index}: {:?}", ours.receipt),
                        replayed: format!("{index}: {:?}", theirs.receipt),
                    });
                }
            }
            replayed.push(ReplayedBlock {
                number,
                hash: block.hash,
                state_root: block.header.state_root,
                txs: block.txs.len(),
            });
        }
        Ok(replayed)
    }

    /// Recomputes the state root from the state the store holds at the replayed head
    /// (its account and storage history) and checks it against the replayed root.
    pub async fn check_stored_state(&self, store: &Store) -> Result<B256, VerifyError> {
        let head = self.head();
        let state = store.load_state(head.number).await?;
        let root = StateCommitment::from_state(&state).root();
        check(
            head.number,
            "stateRoot (stored state)",
            root,
            head.state_root,
        )?;
        Ok(root)
    }
}

/// Replays the whole store from `genesis` and checks every block and the stored state
/// at the head (see the module documentation).
pub async fn verify_store(store: &Store, genesis: &Genesis) -> Result<VerifyReport, VerifyError> {
    let mut replayer = Replayer::open(store, genesis).await?;
    let blocks = replayer.advance(store, None).await?;
    replayer.check_stored_state(store).await?;
    Ok(VerifyReport {
        head: replayer.head(),
        blocks: blocks.len() as u64,
        txs: blocks.iter().map(|b| b.txs as u64).sum(),
    })
}

fn check(
    number: u64,
    field: &'static str,
    stored: B256,
    replayed: B256,
) -> Result<(), VerifyError> {
    if stored == replayed {
        Ok(())
    } else {
        Err(VerifyError::Mismatch {
            number,
            field,
            stored: stored.to_string(),
            replayed: replayed.to_string(),
        })
    }
}
