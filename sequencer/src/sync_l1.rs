//! Rebuilding the store from L1 (`sequencer --sync-from-l1`): every batch posted
//! to the Rollup contract is read back (`rollup_core::l1_reader`), derived from the
//! genesis with `rollup_core::derive` exactly as the challenger derives it, checked
//! against the commitment's claimed roots, and persisted through the normal store,
//! so that block hashes and state roots are the original sequencer's.
//!
//! On an empty database this rebuilds the chain; on a database that already holds
//! blocks, every stored block that L1 also carries must be the derived one (else
//! [`SyncError::Diverged`]) and the blocks beyond the stored head are appended. Blocks
//! the original sequencer had not posted yet are not on L1 and cannot be recovered.
//!
//! Rules follow the challenger's watcher (`challenger/src/watcher.rs`): invalidated
//! commitments are skipped; a commitment whose batch cannot be derived (undecodable,
//! another block range than it claims, or breaking `rollup_core::derive`'s rules)
//! derives nothing, and nothing after it can be derived; a commitment whose claimed
//! post-state root is not the derived one is a fraud under dispute: its blocks are
//! derived and stored (as the challenger derives them), then the sync stops. In both
//! cases every block derived so far stays stored (the challenger's derived head) and
//! the sync ends with an error naming the commitment: the node must not build on a
//! chain L1 has not settled. Once the dispute replaces or invalidates it, a new sync
//! goes on from there.

use crate::store::{Store, StoreError};
use alloy_primitives::{Address, B256};
use rollup_core::{
    block::SealedBlock,
    chain::Genesis,
    derive::Deriver,
    l1::Rollup,
    l1_reader::{BatchReader, ReaderError},
};

/// Where to read the batches.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// L1 JSON-RPC URL.
    pub l1_rpc_url: String,
    /// The Rollup contract.
    pub rollup: Address,
    /// The first L1 block whose logs are read (the Rollup's deployment block, or 0).
    pub from_block: u64,
}

/// What a sync did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// Commitments derived (invalidated ones not counted).
    pub commitments: u64,
    /// Blocks derived from L1.
    pub blocks_derived: u64,
    /// Of which newly written to the store (the others were already there, equal).
    pub blocks_written: u64,
    /// The store's head after the sync.
    pub head: u64,
    /// Its hash.
    pub head_hash: B256,
    /// Its state root.
    pub state_root: B256,
}

/// Why a sync failed or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Reading L1 failed.
    #[error(transparent)]
    Reader(#[from] ReaderError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configured genesis is not the one the Rollup contract was deployed with.
    #[error("the genesis gives state root {ours}, the Rollup contract's genesis root is {theirs}")]
    GenesisMismatch {
        /// Root of our genesis.
        ours: B256,
        /// The contract's.
        theirs: B256,
    },
    /// The store holds another chain than the genesis (or L1) defines.
    #[error("stored block {number} is {stored}, L1 derives {derived}")]
    Diverged {
        /// Block number.
        number: u64,
        /// The stored hash.
        stored: B256,
        /// The derived hash.
        derived: B256,
    },
    /// A commitment cannot be derived; blocks through `head` are stored.
    #[error("commitment {index} is underivable ({reason}); synced through block {head}")]
    Underivable {
        /// Commitment index.
        index: u64,
        /// Why.
        reason: String,
        /// The last block derived and stored.
        head: u64,
    },
    /// A commitment's claimed roots are not the derived ones; blocks through `head` are stored.
    #[error(
        "commitment {index} claims root {claimed}, derivation gives {derived}; synced through block {head}"
    )]
    WrongRoot {
        /// Commitment index.
        index: u64,
        /// The claimed (post- or previous) state root.
        claimed: B256,
        /// The derived one.
        derived: B256,
        /// The last block derived and stored.
        head: u64,
    },
}

/// Derives every batch posted to `config.rollup` from `genesis` and writes the blocks
/// `store` lacks. See the module documentation for the rules.
pub async fn sync_from_l1(
    store: &Store,
    genesis: &Genesis,
    config: &SyncConfig,
) -> Result<SyncReport, SyncError> {
    let reader = BatchReader::new(&config.l1_rpc_url, config.rollup)?;
    let mut deriver = Deriver::from_genesis(genesis);
    let (genesis_header, genesis_hash) = deriver.head();
    let theirs = reader.view(Rollup::genesisStateRootCall {}).await?;
    if theirs != genesis_header.state_root {
        return Err(SyncError::GenesisMismatch {
            ours: genesis_header.state_root,
            theirs,
        });
    }
    let mut stored_head = match store.head_number().await? {
        None => {
            // What `Node::open` writes for a fresh store.
            let block = SealedBlock {
                hash: genesis_hash,
                header: genesis_header.clone(),
                txs: vec![],
            };
            store.insert_genesis(&block, &genesis.state()).await?;
            store
                .set_meta("genesis", &serde_json::to_vec(genesis).unwrap_or_default())
                .await?;
            0
        }
        Some(head) => {
            check_stored(store, 0, genesis_hash).await?;
            head
        }
    };
    let mut report = SyncReport {
        commitments: 0,
        blocks_derived: 0,
        blocks_written: 0,
        head: 0,
        head_hash: genesis_hash,
        state_root: genesis_header.state_root,
    };
    let posted = reader.batches(config.from_block).await?;
    tracing::info!(commitments = posted.len(), stored_head, "syncing from L1");
    for batch in posted {
        let commitment = &batch.commitment;
        if commitment.status == Rollup::Status::Invalidated {
            continue;
        }
        let head = deriver.head().0.number;
        let derived_root = deriver.head().0.state_root;
        if commitment.prevStateRoot != derived_root {
            return Err(SyncError::WrongRoot {
                index: batch.index,
                claimed: commitment.prevStateRoot,
                derived: derived_root,
                head,
            });
        }
        let underivable = |reason: String| SyncError::Underivable {
            index: batch.index,
            reason,
            head,
        };
        let decoded = batch
            .decode()
            .map_err(|e| underivable(format!("batch data: {e}")))?;
        if decoded.first_block != commitment.firstL2Block
            || decoded.last_block() != commitment.lastL2Block
        {
            return Err(underivable(format!(
                "batch holds blocks {}..={}, the commitment claims {}..={}",
                decoded.first_block,
                decoded.last_block(),
                commitment.firstL2Block,
                commitment.lastL2Block
            )));
        }
        let blocks = deriver
            .apply_batch(&decoded)
            .map_err(|e| underivable(format!("derivation: {e}")))?;
        for derived in &blocks {
            let block = &derived.block;
            if block.number() <= stored_head {
                check_stored(store, block.number(), block.hash).await?;
            } else {
                store.insert_block(block, &derived.changes, &[]).await?;
                stored_head = block.number();
                report.blocks_written += 1;
            }
        }
        // The blocks are what derivation defines, whatever the commitment claims (the
        // challenger derives them too); a wrong claim stops the sync after them.
        let (post, _) = deriver.head();
        if post.state_root != commitment.postStateRoot {
            return Err(SyncError::WrongRoot {
                index: batch.index,
                claimed: commitment.postStateRoot,
                derived: post.state_root,
                head: post.number,
            });
        }
        report.commitments += 1;
        report.blocks_derived += blocks.len() as u64;
        tracing::info!(
            index = batch.index,
            first_block = commitment.firstL2Block,
            last_block = commitment.lastL2Block,
            "commitment derived from L1 and stored"
        );
    }
    let (header, hash) = store
        .header_by_number(stored_head)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("head block {stored_head} missing")))?;
    report.head = stored_head;
    report.head_hash = hash;
    report.state_root = header.state_root;
    Ok(report)
}

/// Checks that the stored block `number` has hash `derived`.
async fn check_stored(store: &Store, number: u64, derived: B256) -> Result<(), SyncError> {
    let stored = store
        .header_by_number(number)
        .await?
        .map(|(_, hash)| hash)
        .unwrap_or_default();
    if stored != derived {
        return Err(SyncError::Diverged {
            number,
            stored,
            derived,
        });
    }
    Ok(())
}
