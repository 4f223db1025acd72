//! Derivation: the L2 blocks a batch defines, rebuilt from the batch alone
//! (plus the genesis) with the sequential reference executor. This is what the
//! challenger runs on the batches it reads from L1, and what the batcher's
//! end-to-end test uses to prove that a posted batch carries the sequencer's
//! chain exactly.
//!
//! Rules, checked in this order for each block of a batch:
//! 1. the batch starts right after the deriver's head: `first_block = head + 1`
//!    and `parent_hash = hash(head)`;
//! 2. a block's timestamp is not below its parent's;
//! 3. a block's L1 origin number is not below its parent's;
//! 4. every transaction decodes and passes the stateless checks of
//!    [`crate::tx::check_envelope`] (chain id, type, signature, intrinsic gas, and
//!    [`crate::tx::check_provable`]: no call straight to a precompile the fault proof
//!    cannot prove as a transaction, no access list longer than an entry step warms);
//! 5. the transactions are executed in order by [`execute_block`]; one that is
//!    invalid against the state (nonce, balance, block gas) is skipped, exactly as
//!    the reference executor skips it, and reported in [`DerivedBlock::skipped`].
//!
//! A batch that breaks rule 1-4 derives nothing and leaves the deriver unchanged.

use crate::{
    batch::Batch,
    block::{L1Origin, SealedBlock, genesis_header, next_block_input, seal_block},
    chain::{ChainConfig, Genesis},
    error::TxRejection,
    executor::{ExecError, execute_block},
    state::{StateChanges, WorldState},
    trie::StateCommitment,
    tx::{IntakeError, decode_and_check},
};
use alloy_consensus::Header;
use alloy_primitives::B256;

/// Why a batch cannot be derived.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    /// The batch does not start right after the head.
    #[error("batch starts at block {got}, expected {expected}")]
    WrongFirstBlock {
        /// Head + 1.
        expected: u64,
        /// The batch's first block.
        got: u64,
    },
    /// The batch's parent is not the head.
    #[error("batch parent hash {got} is not the head's hash {expected}")]
    WrongParent {
        /// Hash of the head.
        expected: B256,
        /// The batch's parent hash.
        got: B256,
    },
    /// A block's timestamp is below its parent's.
    #[error("block {block}: timestamp {timestamp} below the parent's {parent}")]
    TimestampBeforeParent {
        /// Block number.
        block: u64,
        /// Its timestamp.
        timestamp: u64,
        /// The parent's.
        parent: u64,
    },
    /// A block's L1 origin is older than its parent's.
    #[error("block {block}: L1 origin {origin} below the parent's {parent}")]
    L1OriginWentBack {
        /// Block number.
        block: u64,
        /// Its L1 origin number.
        origin: u64,
        /// The parent's.
        parent: u64,
    },
    /// A transaction fails the stateless checks.
    #[error("block {block}, transaction {index}: {source}")]
    InvalidTransaction {
        /// Block number.
        block: u64,
        /// Position in the block.
        index: usize,
        /// Why.
        source: IntakeError,
    },
    /// Execution failed for a reason outside the transactions (state backend).
    #[error("block {block}: {source}")]
    Execution {
        /// Block number.
        block: u64,
        /// Why.
        source: ExecError,
    },
}

/// A derived block and the transactions its batch carried that execution skipped.
#[derive(Clone, Debug)]
pub struct DerivedBlock {
    /// The block, sealed exactly as the sequencer seals it.
    pub block: SealedBlock,
    /// Skipped transactions (hash and reason); empty for an honest sequencer's batch.
    pub skipped: Vec<(B256, TxRejection)>,
    /// The block's state changes (what a store persists for it).
    pub changes: StateChanges,
}

/// Derives the L2 chain batch by batch, holding the state at its head in memory.
#[derive(Clone, Debug)]
pub struct Deriver {
    chain: ChainConfig,
    state: WorldState,
    commitment: StateCommitment,
    head: Header,
    head_hash: B256,
}

impl Deriver {
    /// A deriver at block 0 of `genesis`.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        let mut state = genesis.state();
        let mut commitment = StateCommitment::from_state(&state);
        let head = genesis_header(&genesis.config, genesis.timestamp, commitment.root());
        let head_hash = head.hash_slow();
        state.record_block_hash(0, head_hash);
        Self {
            chain: genesis.config.clone(),
            state,
            commitment,
            head,
            head_hash,
        }
    }

    /// The head header and its hash.
    pub fn head(&self) -> (&Header, B256) {
        (&self.head, self.head_hash)
    }

    /// The state at the head.
    pub fn state(&self) -> &WorldState {
        &self.state
    }

    /// Derives the blocks of `batch` on top of the head and moves the head to its
    /// last block. On error nothing changes.
    pub fn apply_batch(&mut self, batch: &Batch) -> Result<Vec<DerivedBlock>, DeriveError> {
        let expected = self.head.number + 1;
        if batch.first_block != expected {
            return Err(DeriveError::WrongFirstBlock {
                expected,
                got: batch.first_block,
            });
        }
        if batch.parent_hash != self.head_hash {
            return Err(DeriveError::WrongParent {
                expected: self.head_hash,
                got: batch.parent_hash,
            });
        }
        // Stateless checks of the whole batch first, so that a bad batch changes nothing.
        let mut decoded = Vec::with_capacity(batch.blocks.len());
        let mut parent_timestamp = self.head.timestamp;
        let mut parent_origin = L1Origin::from_header(&self.head).unwrap_or_default().number;
        for (offset, block) in batch.blocks.iter().enumerate() {
            let number = expected + offset as u64;
            if block.timestamp < parent_timestamp {
                return Err(DeriveError::TimestampBeforeParent {
                    block: number,
                    timestamp: block.timestamp,
                    parent: parent_timestamp,
                });
            }
            if block.l1_origin.number < parent_origin {
                return Err(DeriveError::L1OriginWentBack {
                    block: number,
                    origin: block.l1_origin.number,
                    parent: parent_origin,
                });
            }
            parent_timestamp = block.timestamp;
            parent_origin = block.l1_origin.number;
            let txs = block
                .transactions
                .iter()
                .enumerate()
                .map(|(index, raw)| {
                    decode_and_check(raw, &self.chain).map_err(|source| {
                        DeriveError::InvalidTransaction {
                            block: number,
                            index,
                            source,
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            decoded.push(txs);
        }

        let mut next = self.clone();
        let mut derived = Vec::with_capacity(batch.blocks.len());
        for (block, txs) in batch.blocks.iter().zip(decoded) {
            let input = next_block_input(&next.chain, &next.head, next.head_hash, block.timestamp);
            let mut outcome =
                execute_block(&next.state, &next.chain, &input, txs).map_err(|source| {
                    DeriveError::Execution {
                        block: input.number,
                        source,
                    }
                })?;
            let skipped = std::mem::take(&mut outcome.rejected);
            next.commitment.apply(&outcome.changes);
            next.state.apply(&outcome.changes);
            let root = next.commitment.root();
            let changes = outcome.changes.clone();
            let sealed = seal_block(next.head_hash, &input, outcome, root, block.l1_origin);
            next.state.record_block_hash(sealed.number(), sealed.hash);
            next.head = sealed.header.clone();
            next.head_hash = sealed.hash;
            derived.push(DerivedBlock {
                block: sealed,
                skipped,
                changes,
            });
        }
        *self = next;
        Ok(derived)
    }
}
